"""Who may reach what: the admin (Insights included), the API's writes and orders are closed to
anonymous visitors and to customers, open to staff; every state-changing form needs its CSRF
token. Each refusal is checked beside an acceptance, so that the refusal is the policy's doing.
"""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from recommender.models import EvaluationRun
from shop.models import Order, Product
from tests.factories.catalogue import ProductFactory, admin_product_form, jpeg_bytes
from tests.factories.orders import CONTACT
from tests.factories.staff import INSIGHTS_VIEWER, ORDER_CLERK, PRODUCT_EDITOR, staff_user

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"


@pytest.fixture
def customer(django_user_model):
    """Someone with an account who is not staff."""
    return django_user_model.objects.create_user("customer", password=PASSWORD)


@pytest.fixture
def boss(django_user_model):
    return django_user_model.objects.create_superuser("boss", password=PASSWORD)


def logged_in(user, **options) -> Client:
    client = Client(**options)
    client.force_login(user)
    return client


def place_order(client: Client) -> str:
    """Buy a product through the storefront, as a shopper; the order's reference."""
    product = ProductFactory()
    client.post(reverse("shop:cart_add", args=[product.pk]), {"quantity": 1})
    form = client.get(reverse("shop:checkout")).context["form"]
    hidden = {name: form.initial[name] for name in ("checkout_token", "expected_total")}
    response = client.post(reverse("shop:checkout"), {**CONTACT, **hidden})
    assert response.status_code == 302, response.content
    return response["Location"].rstrip("/").rsplit("/", 1)[-1]


# The admin ---------------------------------------------------------------------------------


@pytest.fixture
def admin_urls() -> list[str]:
    product = ProductFactory()
    order = Order.objects.get(reference=place_order(Client()))
    run = EvaluationRun.objects.create(
        status=EvaluationRun.Status.DONE, queries=10, seed=0, report_html="<p>Report</p>"
    )
    return [
        reverse("admin:index"),
        reverse("admin:shop_product_changelist"),
        reverse("admin:shop_product_change", args=[product.pk]),
        reverse("admin:shop_order_changelist"),
        reverse("admin:shop_order_change", args=[order.pk]),
        reverse("admin:recommender_evaluationrun_changelist"),  # the Insights page
        reverse("admin:recommender_evaluationrun_status"),  # its progress, as JSON
        reverse("admin:recommender_evaluationrun_report", args=[run.pk]),
    ]


@pytest.mark.parametrize("who", ["anonymous", "customer"])
def test_visitors_and_customers_are_sent_to_the_admin_login(who, customer, admin_urls):
    client = Client() if who == "anonymous" else logged_in(customer)
    for url in admin_urls:
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"] == f"{reverse('admin:login')}?next={url}", url
    # Nor do they get in through the login form.
    login = Client()
    response = login.post(reverse("admin:login"), {"username": "customer", "password": PASSWORD})
    assert response.status_code == 200 and b"correct username and password" in response.content
    assert login.get(admin_urls[0]).status_code == 302


def test_staff_reach_every_admin_page(boss, admin_urls):
    client = Client()
    response = client.post(reverse("admin:login"), {"username": "boss", "password": PASSWORD})
    assert response.status_code == 302
    for url in admin_urls:
        assert client.get(url).status_code == 200, url


def test_staff_without_a_permission_are_refused_that_page(admin_urls):
    clerk = logged_in(staff_user("clerk", "view_order"))
    assert clerk.get(admin_urls[0]).status_code == 200  # the index
    assert clerk.get(admin_urls[3]).status_code == 200  # orders: permitted
    for url in [admin_urls[2], *admin_urls[5:]]:  # a product, Insights and its JSON and report
        assert clerk.get(url).status_code == 403, url


# The API's writes ----------------------------------------------------------------------------


def api_as(kind: str, user) -> APIClient:
    """``anonymous``, or ``user`` by ``token`` or ``session`` (with the session's CSRF token)."""
    client = APIClient(enforce_csrf_checks=True)
    if kind == "token":
        client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    elif kind == "session":
        client.force_login(user)
        client.get(reverse("shop:photo_search"))  # a page with a form: sets the CSRF cookie
        client.credentials(HTTP_X_CSRFTOKEN=client.cookies["csrftoken"].value)
    return client


def api_writes(client: APIClient) -> dict[str, int]:
    product = ProductFactory(title="Before")
    detail = reverse("api:product-detail", args=[product.pk])
    new = {"title": "API Shirt", "price": "25.00", "stock": 4}
    return {
        "create": client.post(reverse("api:product-list"), new, format="json").status_code,
        "update": client.put(detail, {**new, "slug": "api-shirt-2"}, format="json").status_code,
        "partial": client.patch(detail, {"title": "After"}, format="json").status_code,
        "delete": client.delete(detail).status_code,
        "embedding": client.get(reverse("api:product-embedding", args=[product.pk])).status_code,
    }


def test_anonymous_clients_cannot_write_through_the_api():
    assert set(api_writes(api_as("anonymous", None)).values()) == {401}
    assert set(Product.objects.values_list("title", flat=True)) == {"Before"}


@pytest.mark.parametrize("kind", ["token", "session"])
def test_customers_cannot_write_through_the_api(kind, customer):
    assert set(api_writes(api_as(kind, customer)).values()) == {403}
    assert set(Product.objects.values_list("title", flat=True)) == {"Before"}


@pytest.mark.parametrize("kind", ["token", "session"])
def test_staff_write_through_the_api(kind, boss):
    statuses = api_writes(api_as(kind, boss))
    # No one deletes products through the API (the admin deactivates them): 405 for staff too.
    assert statuses == {
        "create": 201,
        "update": 200,
        "partial": 200,
        "delete": 405,
        "embedding": 200,
    }
    assert set(Product.objects.values_list("title", flat=True)) == {"API Shirt", "After"}


# The staff-permission matrix: each API write and staff read, as Django's model permissions
# decide in the admin (a review found any staff account could reprice products).

ROLES = {
    "superuser": lambda: staff_user("boss2", *PRODUCT_EDITOR, superuser=True),
    "product editor": lambda: staff_user("editor", *PRODUCT_EDITOR),
    "order clerk": lambda: staff_user("clerk", *ORDER_CLERK),
    "insights viewer": lambda: staff_user("analyst", *INSIGHTS_VIEWER),
    "customer": lambda: get_user_model().objects.create_user("buyer", password=PASSWORD),
}
ALLOWED = {"create": 201, "update": 200, "reprice": 200, "hidden": 200, "embedding": 200}
REFUSED = {"create": 403, "update": 403, "reprice": 403, "hidden": 404, "embedding": 403}
EXPECTED = {
    "superuser": ALLOWED,
    "product editor": ALLOWED,
    "order clerk": REFUSED,
    "insights viewer": REFUSED,
    "customer": REFUSED,
}


def api_matrix(client: APIClient) -> dict[str, int]:
    product = ProductFactory(title="Before", price="19.99")
    hidden = ProductFactory(title="Hidden", is_active=False)
    detail = reverse("api:product-detail", args=[product.pk])
    new = {"title": "API Shirt", "price": "25.00", "stock": 4}
    return {
        "create": client.post(reverse("api:product-list"), new, format="json").status_code,
        "update": client.put(detail, {**new, "slug": "api-shirt-2"}, format="json").status_code,
        "reprice": client.patch(detail, {"price": "0.01"}, format="json").status_code,
        "hidden": client.get(reverse("api:product-detail", args=[hidden.pk])).status_code,
        "embedding": client.get(reverse("api:product-embedding", args=[product.pk])).status_code,
    }


@pytest.mark.parametrize("kind", ["token", "session"])
@pytest.mark.parametrize("role", list(ROLES))
def test_api_writes_and_staff_reads_follow_the_model_permissions(role, kind):
    statuses = api_matrix(api_as(kind, ROLES[role]()))
    assert statuses == EXPECTED[role]
    titles = set(Product.objects.values_list("title", flat=True))
    if EXPECTED[role] is REFUSED:
        assert titles == {"Before", "Hidden"}
        assert str(Product.objects.get(title="Before").price) == "19.99"
    else:
        assert titles == {"API Shirt", "Hidden"}


def test_anonymous_clients_get_the_matrix_as_401s_and_no_hidden_product():
    assert api_matrix(api_as("anonymous", None)) == {
        **REFUSED,
        "create": 401,
        "update": 401,
        "reprice": 401,
        "embedding": 401,
    }


# Orders --------------------------------------------------------------------------------------


def test_an_order_is_seen_only_by_the_session_that_placed_it(customer, boss):
    shopper = Client()
    reference = place_order(shopper)
    url = reverse("shop:order", args=[reference])
    page = shopper.get(url)
    assert page.status_code == 200 and reference in page.content.decode()
    for other in (Client(), logged_in(customer), logged_in(boss)):
        assert other.get(url).status_code == 404
    # Guessing is no better: a wrong reference is the same 404.
    assert shopper.get(reverse("shop:order", args=["ABCDEFGHJK"])).status_code == 404


# CSRF ----------------------------------------------------------------------------------------


def csrf_token(response) -> str:
    """The token in the page's form, as a browser would send it back."""
    match = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', response.content)
    assert match, "the page has no CSRF token in a form"
    return match.group(1).decode()


def post_both_ways(client: Client, page: str, url: str, data, **extra) -> tuple[int, int]:
    """POST ``data`` to ``url`` without a token, then with the one from ``page``'s form."""
    without = client.post(url, data() if callable(data) else data, **extra).status_code
    token = csrf_token(client.get(page))
    fields = data() if callable(data) else data
    with_token = client.post(url, {**fields, "csrfmiddlewaretoken": token}, **extra).status_code
    return without, with_token


def test_storefront_forms_need_their_csrf_token():
    product = ProductFactory(stock=5)
    client = Client(enforce_csrf_checks=True)
    product_page = reverse("shop:product", args=[product.slug])

    add = reverse("shop:cart_add", args=[product.pk])
    refused = client.post(add, {"quantity": 1})
    assert refused.status_code == 403 and b"reload the page" in refused.content
    assert post_both_ways(client, product_page, add, {"quantity": 1}) == (403, 302)

    update = reverse("shop:cart_update", args=[product.pk])
    cart = reverse("shop:cart")
    assert post_both_ways(client, cart, update, {"quantity": 2}) == (403, 302)
    assert client.get(cart).context["lines"][0].quantity == 2

    checkout = reverse("shop:checkout")
    form = client.get(checkout).context["form"]
    hidden = {name: form.initial[name] for name in ("checkout_token", "expected_total")}
    assert post_both_ways(client, checkout, checkout, {**CONTACT, **hidden}) == (403, 302)

    search = reverse("shop:photo_search")

    def photo():
        return {"photo": SimpleUploadedFile("p.jpg", jpeg_bytes(), "image/jpeg")}

    assert post_both_ways(client, search, search, photo) == (403, 200)


def test_admin_forms_need_their_csrf_token(boss):
    client = Client(enforce_csrf_checks=True)
    login = reverse("admin:login")
    credentials = {"username": "boss", "password": PASSWORD}
    assert post_both_ways(client, login, login, credentials) == (403, 302)

    add = reverse("admin:shop_product_add")

    def product():
        photo = SimpleUploadedFile("p.jpg", jpeg_bytes(), "image/jpeg")
        return admin_product_form(photo, title="Admin Shirt", slug="admin-shirt")

    assert post_both_ways(client, add, add, product) == (403, 302)
    assert Product.objects.filter(slug="admin-shirt").count() == 1

    insights = reverse("admin:recommender_evaluationrun_changelist")
    assert post_both_ways(client, insights, insights, {"queries": 10, "seed": 0}) == (403, 302)
    assert EvaluationRun.objects.count() == 1


def test_api_writes_with_a_session_need_the_csrf_header(boss):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(boss)
    client.get(reverse("shop:photo_search"))  # a page with a form: sets the CSRF cookie
    url = reverse("api:product-list")
    new = {"title": "API Shirt", "price": "25.00", "stock": 4}
    refused = client.post(url, new, format="json")
    assert refused.status_code == 403 and "CSRF" in refused.json()["detail"]
    token = client.cookies["csrftoken"].value
    assert client.post(url, new, format="json", HTTP_X_CSRFTOKEN=token).status_code == 201
    # A token (not a cookie) is not forgeable cross-site, so token requests need no CSRF token.
    token_client = api_as("token", boss)
    assert token_client.post(url, {**new, "title": "Other"}, format="json").status_code == 201
