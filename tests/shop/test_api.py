"""The REST API: every endpoint, permission and error, on the real database."""

from io import StringIO
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse
from rest_framework.test import APIClient
from rest_framework.throttling import ScopedRateThrottle

from shop.models import Product
from shop.services import category_get_or_create
from tests.factories.catalogue import (
    ProductFactory,
    ProductImageFactory,
    ProductVariantFactory,
    jpeg_bytes,
)
from tests.factories.recommender import ProductEmbeddingFactory, random_index

pytestmark = pytest.mark.django_db

SCHEMA_FILE = Path(__file__).resolve().parents[2] / "docs" / "openapi.yaml"


def assert_error(response, status: int, error: str):
    assert response.status_code == status, response.content
    body = response.json()
    assert body["error"] == error and body["detail"], body
    return body


def test_committed_schema_matches_the_code():
    """docs/openapi.yaml is what the code generates (regenerate with `make schema`)."""
    generated = StringIO()
    call_command("spectacular", "--validate", stdout=generated)
    assert SCHEMA_FILE.read_text() == generated.getvalue(), "run `make schema` and commit it"


def test_schema_swagger_and_redoc_are_served_without_a_cdn(api):
    schema = api.get("/api/schema/")
    assert schema.status_code == 200 and b"/api/v1/search/photo/" in schema.content
    for url in ("/api/schema/swagger/", "/api/schema/redoc/"):
        page = api.get(url)
        assert page.status_code == 200
        assert (
            b"cdn.jsdelivr" not in page.content
            and b"/static/drf_spectacular_sidecar/" in page.content
        )


def test_product_list_filters_searches_and_pages(api):
    shirts = category_get_or_create(names=["Apparel", "Topwear", "Shirts"])
    ProductFactory(title="Red Linen Shirt", colour="Red", gender="Men", category=shirts)
    ProductFactory(
        title="Blue Oxford Shirt", colour="Blue", gender="Women", category=shirts, stock=0
    )
    ProductFactory(
        title="Canvas Sneakers", colour="White", category=category_get_or_create(names=["Footwear"])
    )
    ProductFactory(title="Hidden Shirt", is_active=False)
    url = reverse("api:product-list")

    everything = api.get(url).json()
    assert everything["count"] == 3 and "Hidden Shirt" not in [
        p["title"] for p in everything["results"]
    ]
    assert {p["title"] for p in api.get(url, {"q": "shirts"}).json()["results"]} == {
        "Red Linen Shirt",
        "Blue Oxford Shirt",
    }
    assert [
        p["title"]
        for p in api.get(url, {"category": "topwear", "in_stock": "true"}).json()["results"]
    ] == ["Red Linen Shirt"]
    page = api.get(url, {"page_size": 2, "sort": "title"}).json()
    assert [p["title"] for p in page["results"]] == ["Blue Oxford Shirt", "Canvas Sneakers"]
    assert page["next"].endswith("page=2&page_size=2&sort=title")


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"price_min": "abc"}, "price_min"),
        ({"price_min": "50", "price_max": "10"}, "price_min"),
        ({"gender": "Martian"}, "gender"),
        ({"category": "no-such-category"}, "category"),
        ({"sort": "random"}, "sort"),
        ({"q": "x" * 201}, "q"),
    ],
)
def test_bad_list_parameters_are_400_with_the_field(api, params, field):
    body = assert_error(api.get(reverse("api:product-list"), params), 400, "invalid")
    assert field in body["fields"]


def test_bad_page_is_404_in_the_api_format(api):
    ProductFactory()
    assert_error(api.get(reverse("api:product-list"), {"page": 99}), 404, "not_found")


def test_product_detail_and_its_photo(api):
    image = ProductImageFactory(product__title="Shirt")
    body = api.get(reverse("api:product-detail", args=[image.product_id])).json()
    assert body["title"] == "Shirt" and body["is_purchasable"] is True
    assert body["images"][0]["url"].startswith("http://testserver/media/products/")
    assert body["category"] == "shirts"


def test_inactive_product_is_hidden_from_the_public_but_not_from_staff(api, staff_api):
    product = ProductFactory(is_active=False)
    url = reverse("api:product-detail", args=[product.pk])
    assert_error(api.get(url), 404, "not_found")
    assert staff_api.get(url).status_code == 200


def test_unknown_api_url_is_a_json_404(api):
    assert_error(api.get("/api/v1/nothing/here/"), 404, "not_found")


def test_categories_are_listed_as_a_flat_tree(api):
    category_get_or_create(names=["Apparel", "Topwear", "Shirts"])
    body = api.get(reverse("api:category-list")).json()
    assert [(c["slug"], c["depth"], c["parent"]) for c in body] == [
        ("apparel", 1, None),
        ("topwear", 2, "apparel"),
        ("shirts", 3, "topwear"),
    ]
    assert api.get(reverse("api:category-detail", args=["topwear"])).json()["name"] == "Topwear"
    assert_error(api.get(reverse("api:category-detail", args=["nope"])), 404, "not_found")


def test_similar_before_indexing_is_an_empty_list(api):
    product = ProductFactory()
    response = api.get(reverse("api:product-similar", args=[product.pk]))
    assert response.status_code == 200 and response.json() == []


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"k": 0}, "k"),
        ({"k": 101}, "k"),
        ({"image_weight": 2}, "image_weight"),
        ({"gender": "x"}, "gender"),
    ],
)
def test_similar_refuses_bad_parameters(api, params, field):
    product = ProductFactory()
    body = assert_error(
        api.get(reverse("api:product-similar", args=[product.pk]), params), 400, "invalid"
    )
    assert field in body["fields"]


def test_similar_of_an_unknown_product_is_404(api):
    assert_error(api.get(reverse("api:product-similar", args=[999999])), 404, "not_found")


def test_anonymous_and_non_staff_cannot_write(api, shopper_api):
    product = ProductFactory(title="Before")
    assert_error(api.post(reverse("api:product-list"), {"title": "x"}), 401, "not_authenticated")
    assert_error(
        shopper_api.patch(reverse("api:product-detail", args=[product.pk]), {"title": "After"}),
        403,
        "permission_denied",
    )
    product.refresh_from_db()
    assert product.title == "Before"
    assert_error(
        api.get(reverse("api:product-embedding", args=[product.pk])), 401, "not_authenticated"
    )
    assert_error(
        shopper_api.get(reverse("api:product-embedding", args=[product.pk])),
        403,
        "permission_denied",
    )


def test_staff_read_a_products_embedding_status_and_failure_reason(staff_api):
    done, failed = (image.product for image in ProductImageFactory.create_batch(2))
    index = random_index([done])
    ProductEmbeddingFactory(index=index, product=failed, status="failed", error="unreadable image")

    def status(product):
        return staff_api.get(reverse("api:product-embedding", args=[product.pk])).json()

    assert status(done) | {"updated_at": None} == {
        "status": "done",
        "error": "",
        "encoder": "efficientnet_lite0",
        "index": index.pk,
        "updated_at": None,
    }
    assert status(done)["updated_at"]
    assert (status(failed)["status"], status(failed)["error"]) == ("failed", "unreadable image")


def test_staff_create_a_product_with_a_photo_and_its_embedding_is_queued(
    staff_api, django_capture_on_commit_callbacks, monkeypatch
):
    queued = []
    monkeypatch.setattr(
        "recommender.queueing.enqueue", lambda task, *args, **kw: queued.append((task.name, args))
    )
    category_get_or_create(names=["Apparel", "Topwear", "Shirts"])
    photo = jpeg_bytes(size=(120, 160))
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_api.post(
            reverse("api:product-list"),
            {
                "title": "API Shirt",
                "price": "25.00",
                "stock": 4,
                "category": "shirts",
                "gender": "Men",
                "colour": "Green",
                "photo": SimpleUploadedFile("p.jpg", photo, "image/jpeg"),
            },
            format="multipart",
        )
    assert response.status_code == 201, response.content
    body = response.json()
    product = Product.objects.get(pk=body["id"])
    assert body["slug"] == "api-shirt" and product.category.slug == "shirts"
    assert product.primary_image.width == 120 and body["images"][0]["height"] == 160
    assert ("recommender.tasks.embed_products", ([product.pk],)) in queued

    status = staff_api.get(reverse("api:product-embedding", args=[product.pk])).json()
    assert status == {
        "status": "not_indexed",
        "error": "",
        "encoder": "",
        "index": None,
        "updated_at": None,
    }


def test_staff_update_replaces_the_photo_and_validates(
    staff_api, media_root, django_capture_on_commit_callbacks
):
    image = ProductImageFactory(product__title="Old")
    old_file = media_root / image.image.name
    url = reverse("api:product-detail", args=[image.product_id])
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_api.patch(
            url,
            {
                "title": "New",
                "photo": SimpleUploadedFile("n.png", jpeg_bytes(size=(30, 30)), "image/jpeg"),
            },
            format="multipart",
        )
    assert response.status_code == 200, response.content
    assert response.json()["title"] == "New" and response.json()["images"][0]["width"] == 30
    assert not old_file.exists()

    bad = staff_api.patch(
        url, {"photo": SimpleUploadedFile("x.jpg", b"not a photo")}, format="multipart"
    )
    assert "photo" in assert_error(bad, 400, "invalid")["fields"]
    for payload, field in (
        ({"price": "-1"}, "price"),
        ({"currency": "euro"}, "currency"),
        ({"gender": "x"}, "gender"),
    ):
        assert (
            field
            in assert_error(staff_api.patch(url, payload, format="json"), 400, "invalid")["fields"]
        )
    taken = ProductFactory(slug="taken")
    assert (
        "slug"
        in assert_error(staff_api.patch(url, {"slug": taken.slug}, format="json"), 400, "invalid")[
            "fields"
        ]
    )


def test_photo_search_refuses_bad_uploads_with_a_clear_message(api):
    url = reverse("api:photo-search")
    body = assert_error(api.post(url, {}, format="multipart"), 400, "invalid")
    assert "photo" in body["fields"]
    text = SimpleUploadedFile("notes.txt", b"hello", "text/plain")
    assert (
        "not an image"
        in assert_error(api.post(url, {"photo": text}, format="multipart"), 400, "invalid")[
            "detail"
        ]
    )
    photo = SimpleUploadedFile("p.jpg", jpeg_bytes(), "image/jpeg")
    crop = {"photo": photo, "crop": [0.5, 0, 0.8, 1]}
    assert "crop" in assert_error(api.post(url, crop, format="multipart"), 400, "invalid")["fields"]
    assert api.get(url).status_code == 405


@pytest.mark.slow
def test_photo_search_items_returns_the_products_found_and_searches_a_chosen_one(
    api, sample_catalogue
):
    from recommender.services import index_build
    from recommender.shopper_photos import shopper_photo

    index_build(encoder="efficientnet_lite0")
    handbag = Product.objects.get(title="Vitrine Women Blue Handbag")
    trouser = Product.objects.get(title="Vitrine Men Yellow Trouser")
    # Keyed 1, 2 rather than by pk: the photo's layout is drawn from its keys.
    photos = {n: p.primary_image.image.read() for n, p in enumerate((handbag, trouser), 1)}
    photo = shopper_photo("several", photos, (1, 2), seed=3).jpeg

    def post(url, **fields):
        upload = SimpleUploadedFile("p.jpg", photo, "image/jpeg")
        return api.post(reverse(url), {"photo": upload, "k": 3, **fields}, format="multipart")

    body = post("api:photo-search-items").json()
    assert set(body) == {"items", "searched", "unsure", "results"}
    assert len(body["items"]) >= 2 and body["unsure"] is False and len(body["results"]) == 3
    assert body["searched"] in [item["box"] for item in body["items"]]
    # A chosen box, sent back as crop: results for that product, on either endpoint.
    kinds = set()
    for item in body["items"][:2]:
        chosen = post("api:photo-search", crop=item["box"]).json()
        kinds.add(frozenset(r["product"]["category"] for r in chosen))
    assert len(kinds) == 2  # two products, two kinds of results
    whole = post("api:photo-search-items", whole_photo="true").json()
    assert whole["items"] == [] and whole["searched"] is None


def test_photo_search_does_not_fetch_urls(api):
    response = api.post(
        reverse("api:photo-search"), {"photo": "http://127.0.0.1/x.jpg"}, format="multipart"
    )
    assert "photo" in assert_error(response, 400, "invalid")["fields"]


def test_photo_search_is_rate_limited_with_a_429(api, settings):
    from rest_framework.settings import api_settings

    rates = {**api_settings.DEFAULT_THROTTLE_RATES, "photo_search": "2/min"}
    original = ScopedRateThrottle.THROTTLE_RATES
    ScopedRateThrottle.THROTTLE_RATES = rates
    try:
        url = reverse("api:photo-search")
        statuses = [
            api.post(
                url, {"photo": SimpleUploadedFile("n.txt", b"x")}, format="multipart"
            ).status_code
            for _ in range(3)
        ]
        assert statuses == [400, 400, 429]
        limited = api.post(url, {"photo": SimpleUploadedFile("n.txt", b"x")}, format="multipart")
        assert_error(limited, 429, "throttled")
        assert int(limited["Retry-After"]) > 0
    finally:
        ScopedRateThrottle.THROTTLE_RATES = original


def test_requests_over_the_size_limit_are_413_unread(api, settings):
    settings.REQUEST_MAX_BYTES = 1000
    response = api.post(
        reverse("api:photo-search"),
        {"photo": SimpleUploadedFile("p.jpg", jpeg_bytes(size=(400, 400)))},
        format="multipart",
    )
    assert_error(response, 413, "too_large")
    page = api.post(reverse("shop:photo_search"), {"x": "y" * 2000})
    assert page.status_code == 413 and page["Content-Type"].startswith("text/plain")


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/categories/%00/",
        "/api/v1/products/?q=%00",
        "/api/v1/products/?category=%00",
        "/api/v1/products/1.5/",
        "/api/v1/products/abc/similar/",
    ],
)
def test_text_postgresql_cannot_hold_is_a_4xx_not_a_500(api, url):
    """Found by schemathesis: a NUL in a category slug reached PostgreSQL and failed there."""
    response = api.get(url)
    assert response.status_code in (400, 404) and response.json()["error"]


def test_staff_write_with_a_nul_category_is_refused(staff_api):
    response = staff_api.post(reverse("api:product-list"), {"title": "x", "category": "\x00"})
    assert "category" in assert_error(response, 400, "invalid")["fields"]


def test_session_writes_need_the_csrf_token(django_user_model):
    staff = django_user_model.objects.create_user("s", password="x", is_staff=True)
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(staff)
    response = client.post("/api/v1/nothing/", {})  # a plain Django view under /api/
    assert response.status_code == 404  # exempt: it changes nothing
    session_write = client.post(reverse("api:product-list"), {"title": "x"})
    assert_error(session_write, 403, "permission_denied")
    assert "CSRF" in session_write.json()["detail"]


@pytest.mark.parametrize(
    ("params", "field"),
    [({"gender": ["Men", "Women"]}, "gender"), ({"page_size": "0"}, "page_size")],
)
def test_repeated_or_out_of_range_parameters_are_400(api, params, field):
    ProductFactory()
    body = assert_error(api.get(reverse("api:product-list"), params), 400, "invalid")
    assert field in body["fields"]


def test_a_server_error_is_json_under_the_api_and_a_page_elsewhere(monkeypatch):
    def broken(**kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr("shop.api.views.product_list_similar", broken)
    monkeypatch.setattr("shop.views.catalogue.category_top", lambda **kwargs: broken())
    client = APIClient(raise_request_exception=False)
    product = ProductFactory()
    api_error = client.get(reverse("api:product-similar", args=[product.pk]))
    assert api_error.status_code == 500
    assert api_error.json()["error"] == "server_error"
    page = client.get(reverse("shop:home"))
    assert page.status_code == 500 and b"Something went wrong on our side" in page.content


def test_staff_attributes_must_be_an_object(staff_api):
    product = ProductFactory()
    url = reverse("api:product-detail", args=[product.pk])
    response = staff_api.patch(url, {"attributes": ["x"]}, format="json")
    assert "attributes" in assert_error(response, 400, "invalid")["fields"]
    assert staff_api.patch(url, {"attributes": {"fit": "slim"}}, format="json").status_code == 200


def test_the_rate_limit_cannot_be_dodged_with_a_forwarded_for_header(api):
    original = ScopedRateThrottle.THROTTLE_RATES
    ScopedRateThrottle.THROTTLE_RATES = {"photo_search": "2/min"}
    try:
        url = reverse("api:photo-search")
        statuses = [
            api.post(
                url,
                {"photo": SimpleUploadedFile("n.txt", b"x")},
                format="multipart",
                HTTP_X_FORWARDED_FOR=f"10.0.0.{n}",
            ).status_code
            for n in range(3)
        ]
        assert statuses == [400, 400, 429]
    finally:
        ScopedRateThrottle.THROTTLE_RATES = original


def test_photo_search_after_an_upgrade_says_it_is_being_rebuilt_with_a_503(api, client):
    from recommender.models import VectorIndex
    from recommender.services import index_predates_preprocessing

    # An index built before the photos were trimmed: its vectors must not meet new ones.
    index = VectorIndex.objects.create(
        encoder="efficientnet_lite0", encoder_version="imagenet-57934424", state="live"
    )
    assert index_predates_preprocessing(index)
    photo = SimpleUploadedFile("p.jpg", jpeg_bytes(), "image/jpeg")
    response = api.post(reverse("api:photo-search"), {"photo": photo}, format="multipart")
    assert "being rebuilt" in assert_error(response, 503, "search_unavailable")["detail"]
    page = client.post(
        reverse("shop:photo_search"),
        {"photo": SimpleUploadedFile("p.jpg", jpeg_bytes(), "image/jpeg")},
        headers={"Vitrine-Fragment": "results"},
    )
    assert page.status_code == 503 and "being rebuilt" in page.content.decode()


# Bad input is a 400 in the API's error format, never a 500 or an HTML page ------------------


@pytest.mark.parametrize(
    "attributes", [{"fit": "slim\u0000"}, {"fit\u0000": "slim"}, {"a": ["\u0000"]}]
)
def test_a_nul_character_in_attributes_is_a_400_not_a_database_error(staff_api, attributes):
    new = {"title": "NUL Shirt", "price": "10.00", "attributes": attributes}
    response = staff_api.post(reverse("api:product-list"), new, format="json")
    assert response.status_code == 400
    assert response.json()["fields"] == {"attributes": ["Null characters are not allowed."]}
    assert not Product.objects.filter(title="NUL Shirt").exists()


def test_a_nul_character_in_attributes_is_an_admin_form_error(admin_client):
    from tests.factories.catalogue import admin_product_form

    photo = SimpleUploadedFile("p.jpg", jpeg_bytes(), "image/jpeg")
    form = admin_product_form(photo, title="NUL", slug="nul", attributes='{"a": "x\\u0000y"}')
    response = admin_client.post(reverse("admin:shop_product_add"), form)
    assert response.status_code == 400
    assert "Null characters are not allowed." in response.content.decode()
    assert not Product.objects.filter(slug="nul").exists()


def test_too_many_files_in_one_request_get_the_api_error_body(api, client, settings):
    files = {
        f"photo{n}": SimpleUploadedFile(f"{n}.jpg", b"x", "image/jpeg")
        for n in range(settings.DATA_UPLOAD_MAX_NUMBER_FILES + 1)
    }
    response = api.post(reverse("api:photo-search"), files, format="multipart")
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert response.json() == {
        "error": "bad_request",
        "detail": "The request has too many files (send one photo).",
    }
    # The storefront keeps Django's own page.
    page = client.post(reverse("shop:photo_search"), files)
    assert page.status_code == 400 and page["Content-Type"].startswith("text/html")


def test_a_product_shows_its_variants_with_their_options_prices_and_stock(api):
    small = ProductVariantFactory(option_values=["S", "Blue"], sku="TEE-S", price="20.00", stock=2)
    product = small.product
    ProductVariantFactory(
        product=product, option_values=["M", "Red"], sku="TEE-M", price=None, stock=0
    )
    Product.objects.filter(pk=product.pk).update(price="18.00")

    body = api.get(reverse("api:product-detail", args=[product.pk])).json()
    assert body["option_names"] == ["Size", "Colour"]
    assert [(v["sku"], v["options"], v["price"], v["stock"]) for v in body["variants"]] == [
        ("TEE-S", {"Size": "S", "Colour": "Blue"}, "20.00", 2),
        ("TEE-M", {"Size": "M", "Colour": "Red"}, "18.00", 0),  # no price of its own
    ]
    listed = api.get(reverse("api:product-list")).json()["results"]
    assert [len(p["variants"]) for p in listed] == [2]
