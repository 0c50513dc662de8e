"""The cart in the session, checkout, orders and their admin."""

import re
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from shop.cart import MAX_LINES
from shop.models import Order, ProductVariant
from shop.services import OrderError, order_place, order_set_status, product_variants_sync
from tests.factories.catalogue import ProductFactory, ProductVariantFactory
from tests.factories.orders import CONTACT

pytestmark = pytest.mark.django_db


def checkout(client, **changes):
    """Open the checkout page and submit it, as a shopper does."""
    form = client.get(reverse("shop:checkout")).context["form"]
    hidden = {name: form.initial[name] for name in ("checkout_token", "expected_total")}
    return client.post(reverse("shop:checkout"), {**CONTACT, **hidden, **changes})


def add(client, product, quantity=1):
    return client.post(reverse("shop:cart_add", args=[product.pk]), {"quantity": quantity})


def cart_lines(client):
    return {
        line.product.title: line.quantity
        for line in client.get(reverse("shop:cart")).context["lines"]
    }


def test_add_change_remove_and_totals(client):
    shirt = ProductFactory(title="Shirt", price="20.00", stock=5)
    shoes = ProductFactory(title="Shoes", price="55.50", stock=5)
    add(client, shirt, 2)
    add(client, shoes)
    add(client, shirt)  # adds up
    response = client.get(reverse("shop:cart"))
    assert cart_lines(client) == {"Shirt": 3, "Shoes": 1}
    assert response.context["totals"] == {"EUR": Decimal("115.50")}
    assert b"115.50 EUR" in response.content
    assert client.get(reverse("shop:home")).context["cart_count"] == 4

    client.post(reverse("shop:cart_update", args=[shirt.pk]), {"quantity": 1})
    assert cart_lines(client) == {"Shirt": 1, "Shoes": 1}
    client.post(reverse("shop:cart_update", args=[shoes.pk]), {"quantity": 1, "remove": ""})
    assert cart_lines(client) == {"Shirt": 1}
    client.post(reverse("shop:cart_update", args=[shirt.pk]), {"quantity": 0})
    assert cart_lines(client) == {}


def test_adding_more_than_the_stock_is_capped_and_explained(client):
    shirt = ProductFactory(title="Shirt", stock=2)
    response = add(client, shirt, 5)
    assert cart_lines(client) == {"Shirt": 2}
    messages = [str(m) for m in response.wsgi_request._messages]
    assert messages == ["Only 2 of Shirt in stock: 2 in your cart."]


@pytest.mark.parametrize("quantity", ["0", "-1", "abc", "1000", ""])
def test_bad_quantities_are_refused_and_the_cart_is_unchanged(client, quantity):
    shirt = ProductFactory(title="Shirt")
    add(client, shirt, 1)
    response = client.post(reverse("shop:cart_add", args=[shirt.pk]), {"quantity": quantity})
    assert response.status_code == 302
    assert cart_lines(client) == {"Shirt": 1}


@pytest.mark.parametrize("fields", [{"price": None}, {"stock": 0}])
def test_unpurchasable_products_cannot_be_added(client, fields):
    product = ProductFactory(title="Nope", **fields)
    response = add(client, product)
    assert cart_lines(client) == {}
    assert [str(m) for m in response.wsgi_request._messages] == [
        "Nope cannot be bought at the moment."
    ]


def test_add_to_cart_needs_post_and_an_existing_product(client):
    shirt = ProductFactory()
    assert client.get(reverse("shop:cart_add", args=[shirt.pk])).status_code == 405
    assert client.post(reverse("shop:cart_add", args=[999999]), {"quantity": 1}).status_code == 404


def test_add_to_cart_goes_back_only_to_this_site(client):
    shirt = ProductFactory()
    url = reverse("shop:cart_add", args=[shirt.pk])
    inside = client.post(url, {"quantity": 1, "next": "/search/?q=x"})
    assert inside.url == "/search/?q=x"
    outside = client.post(url, {"quantity": 1, "next": "https://evil.example/"})
    assert outside.url == reverse("shop:product", args=[shirt.slug])


def test_a_line_that_became_unavailable_blocks_checkout_and_says_why(client):
    shirt = ProductFactory(title="Shirt", stock=3)
    add(client, shirt, 3)
    shirt.stock = 1
    shirt.save()
    response = client.get(reverse("shop:cart"))
    assert response.context["can_checkout"] is False
    assert b"Only 1 left" in response.content
    shirt.delete()
    assert cart_lines(client) == {}  # a deleted product leaves the cart quietly


def test_checkout_records_an_order_awaiting_payment_and_takes_the_stock(client):
    shirt = ProductFactory(title="Shirt", price="20.00", stock=5)
    shoes = ProductFactory(title="Shoes", price="55.50", stock=1)
    add(client, shirt, 2)
    add(client, shoes)
    assert client.get(reverse("shop:checkout")).status_code == 200
    response = checkout(client)
    order = Order.objects.get()
    assert response.status_code == 302 and response.url == reverse(
        "shop:order", args=[order.reference]
    )
    assert order.status == "awaiting_payment" and order.total == Decimal("95.50")
    assert [(line.title, line.quantity, line.unit_price) for line in order.lines.all()] == [
        ("Shirt", 2, Decimal("20.00")),
        ("Shoes", 1, Decimal("55.50")),
    ]
    shirt.refresh_from_db()
    shoes.refresh_from_db()
    assert (shirt.stock, shoes.stock) == (3, 0)
    confirmation = client.get(response.url)
    assert order.reference.encode() in confirmation.content and b"95.50" in confirmation.content
    assert cart_lines(client) == {}  # the cart is emptied


def test_checkout_form_errors_keep_the_cart_and_show_each_problem(client):
    add(client, ProductFactory(title="Shirt"))
    response = checkout(client, email="not-an-email", city="")
    assert response.status_code == 200
    assert set(response.context["form"].errors) == {"email", "city"}
    assert Order.objects.count() == 0
    assert cart_lines(client) == {"Shirt": 1}


def test_checkout_errors_are_tied_to_their_inputs_and_summed_up_first(client):
    add(client, ProductFactory(title="Shirt"))
    content = checkout(client, email="not-an-email", city="").content.decode()
    ids = set(re.findall(r'\bid="([^"]+)"', content))
    described = re.findall(r'aria-describedby="([^"]+)"', content)
    assert described and all(set(value.split()) <= ids for value in described), described
    assert re.search(
        r'<input[^>]*aria-describedby="id_email_error"[^>]*aria-invalid="true"', content
    ) or re.search(r'<input[^>]*aria-invalid="true"[^>]*aria-describedby="id_email_error"', content)
    summary = re.search(r'<div class="error-summary"[^>]*>(.*?)</div>', content, re.S)
    assert summary and "autofocus" in summary.group(0)  # the focus lands on what to fix
    assert re.findall(r'href="#(id_\w+)"', summary.group(1)) == ["id_email", "id_city"]


def test_checkout_of_an_empty_cart_goes_back_to_the_cart(client):
    response = client.get(reverse("shop:checkout"))
    assert response.status_code == 302 and response.url == reverse("shop:cart")


def test_stock_sold_meanwhile_stops_the_order_and_nothing_is_written(client):
    shirt = ProductFactory(title="Shirt", stock=2)
    add(client, shirt, 2)
    form = client.get(reverse("shop:checkout")).context["form"]
    shirt.stock = 1  # someone else bought one while this shopper typed their address
    shirt.save()
    hidden = {name: form.initial[name] for name in ("checkout_token", "expected_total")}
    response = client.post(reverse("shop:checkout"), {**CONTACT, **hidden})
    assert response.url == reverse("shop:cart")
    assert Order.objects.count() == 0
    shirt.refresh_from_db()
    assert shirt.stock == 1
    messages = [str(m) for m in response.wsgi_request._messages]
    assert messages[-1] == "Your order was not placed: only 1 of Shirt left."


def test_order_page_is_only_for_the_session_that_placed_it(client, django_user_model):
    add(client, ProductFactory())
    checkout(client)
    order = Order.objects.get()
    url = reverse("shop:order", args=[order.reference])
    assert client.get(url).status_code == 200
    stranger = Client()
    assert stranger.get(url).status_code == 404
    stranger.force_login(django_user_model.objects.create_user("bob", password="x"))
    assert stranger.get(url).status_code == 404


def test_order_place_refuses_an_empty_cart_and_mixed_currencies():
    with pytest.raises(OrderError):
        order_place(items={}, contact=CONTACT)
    euro = ProductFactory(currency="EUR")
    pound = ProductFactory(currency="GBP")
    with pytest.raises(OrderError, match="mixes currencies"):
        order_place(items={euro.pk: 1, pound.pk: 1}, contact=CONTACT)
    assert Order.objects.count() == 0


def test_cancelling_gives_the_stock_back_once_and_cannot_be_undone():
    shirt = ProductFactory(stock=3)
    order = order_place(items={shirt.pk: 2}, contact=CONTACT)
    order_set_status(order=order, status="cancelled")
    order_set_status(order=order, status="cancelled")
    shirt.refresh_from_db()
    assert shirt.stock == 3
    with pytest.raises(OrderError):
        order_set_status(order=order, status="paid")


def test_admin_lists_orders_and_changes_their_status(admin_client):
    shirt = ProductFactory(stock=3)
    order = order_place(items={shirt.pk: 1}, contact=CONTACT)
    listing = admin_client.get(reverse("admin:shop_order_changelist"))
    assert order.reference.encode() in listing.content and b"Awaiting payment" in listing.content
    response = admin_client.post(
        reverse("admin:shop_order_changelist"),
        {"action": "mark_shipped", "_selected_action": [order.pk]},
    )
    assert response.status_code == 302
    order.refresh_from_db()
    assert order.status == "shipped"
    change = reverse("admin:shop_order_change", args=[order.pk])
    assert admin_client.get(change).status_code == 200
    form = {
        **CONTACT,
        "status": "cancelled",
        "lines-TOTAL_FORMS": "1",
        "lines-INITIAL_FORMS": "1",
        "lines-MIN_NUM_FORMS": "0",
        "lines-MAX_NUM_FORMS": "1000",
        "lines-0-id": order.lines.get().pk,
        "lines-0-order": order.pk,
    }
    assert admin_client.post(change, form).status_code == 302
    order.refresh_from_db()
    shirt.refresh_from_db()
    assert order.status == "cancelled" and shirt.stock == 3  # stock given back by the service
    again = admin_client.post(change, {**form, "status": "paid"})
    assert again.status_code == 200 and b"stays cancelled" in again.content


def test_submitting_the_same_checkout_page_twice_places_one_order(client):
    shirt = ProductFactory(title="Shirt", stock=5)
    add(client, shirt, 2)
    form = client.get(reverse("shop:checkout")).context["form"]
    data = {**CONTACT, **{n: form.initial[n] for n in ("checkout_token", "expected_total")}}
    first = client.post(reverse("shop:checkout"), data)
    add(client, shirt, 2)  # the cart was emptied; the double click carries the old page
    second = client.post(reverse("shop:checkout"), data)
    assert Order.objects.count() == 1
    assert first.url == second.url == reverse("shop:order", args=[Order.objects.get().reference])
    shirt.refresh_from_db()
    assert shirt.stock == 3


def test_a_price_change_after_the_checkout_page_stops_the_order(client):
    shirt = ProductFactory(title="Shirt", price="20.00")
    add(client, shirt)
    form = client.get(reverse("shop:checkout")).context["form"]
    shirt.price = "25.00"
    shirt.save()
    data = {**CONTACT, **{n: form.initial[n] for n in ("checkout_token", "expected_total")}}
    response = client.post(reverse("shop:checkout"), data)
    assert Order.objects.count() == 0 and response.url == reverse("shop:cart")
    messages = [str(m) for m in response.wsgi_request._messages]
    assert "prices changed since you opened checkout: the total is now 25.00" in messages[-1]


def test_a_checkout_post_without_the_page_token_is_refused(client):
    add(client, ProductFactory())
    response = client.post(reverse("shop:checkout"), CONTACT)
    assert response.status_code == 200 and Order.objects.count() == 0
    assert b"This checkout page is out of date" in response.content


def test_product_page_survives_non_object_attributes(client):
    product = ProductFactory(attributes=["not", "an", "object"])
    assert client.get(reverse("shop:product", args=[product.slug])).status_code == 200


def test_a_line_over_the_stock_can_still_be_removed(client):
    shirt = ProductFactory(title="Shirt", stock=3)
    add(client, shirt, 3)
    shirt.stock = 0
    shirt.save()
    page = client.get(reverse("shop:cart")).content.decode()
    assert "formnovalidate" in page and 'max="' not in page.split("qty-")[1][:200]


# What a review of the running shop found ------------------------------------------------------


def update(client, product, quantity):
    return client.post(reverse("shop:cart_update", args=[product.pk]), {"quantity": quantity})


def messages_of(response) -> list[str]:
    return [str(message) for message in response.wsgi_request._messages]


def test_a_hidden_product_enters_the_cart_by_no_path_and_is_never_shown(client):
    """Once, a quantity change put any product in the cart by id, hidden or not."""
    hidden = ProductFactory(title="Secret Prototype", is_active=False, stock=5)
    assert add(client, hidden).status_code == 404
    response = update(client, hidden, 1)
    assert messages_of(response) == ["This product is not in the shop."]
    assert cart_lines(client) == {}
    add(client, ProductFactory(title="Shirt"))
    update(client, hidden, 1)
    for page in ("shop:cart", "shop:checkout"):
        assert "Secret Prototype" not in client.get(reverse(page)).content.decode()


def test_an_unpriced_product_enters_the_cart_by_no_path(client):
    unpriced = ProductFactory(title="Unpriced", price=None)
    response = update(client, unpriced, 1)
    assert messages_of(response) == ["Unpriced cannot be bought at the moment."]
    assert cart_lines(client) == {}


def test_a_product_hidden_after_it_went_in_leaves_the_cart(client):
    shirt = ProductFactory(title="Shirt")
    add(client, shirt)
    shirt.is_active = False
    shirt.save()
    assert cart_lines(client) == {}
    assert client.get(reverse("shop:checkout")).url == reverse("shop:cart")


def test_the_cart_holds_a_bounded_number_of_lines(client):
    """~990 lines once cost 4 s a cart page, and 991 a 500 (hnsw.ef_search out of range)."""
    products = ProductFactory.create_batch(MAX_LINES + 1)
    for product in products[:MAX_LINES]:
        add(client, product)
    refused = add(client, products[-1])
    assert f"holds {MAX_LINES} different products" in messages_of(refused)[-1]
    refused = update(client, products[-1], 1)
    assert f"holds {MAX_LINES} different products" in messages_of(refused)[-1]
    assert len(cart_lines(client)) == MAX_LINES
    # A line already in the cart still changes.
    update(client, products[0], 3)
    assert cart_lines(client)[products[0].title] == 3


def test_a_session_holding_more_lines_than_allowed_counts_only_the_first(client):
    products = ProductFactory.create_batch(MAX_LINES + 5)
    session = client.session
    session["cart"] = {str(product.pk): 1 for product in products}
    session.save()
    assert len(cart_lines(client)) == MAX_LINES


def test_a_cart_never_adds_up_two_currencies(client):
    shirt = ProductFactory(title="Shirt", price="20.00")
    cap = ProductFactory(title="Cap", price="10.00", currency="USD")
    add(client, shirt)
    refused = add(client, cap)
    assert messages_of(refused)[-1] == (
        "Cap is priced in USD and your cart in EUR: order it separately."
    )
    assert cart_lines(client) == {"Shirt": 1}
    # Repriced in another currency after it went in: a total per currency, and no checkout.
    scarf = ProductFactory(title="Scarf", price="15.00")
    add(client, scarf)
    scarf.currency = "USD"
    scarf.save()
    page = client.get(reverse("shop:cart"))
    assert page.context["totals"] == {"EUR": Decimal("20.00"), "USD": Decimal("15.00")}
    assert page.context["can_checkout"] is False
    assert "Priced in USD, the rest of your cart in EUR" in page.content.decode()
    assert client.get(reverse("shop:checkout")).url == reverse("shop:cart")


def test_another_sessions_checkout_token_does_not_hand_over_its_order(client):
    """Posting a token seen on someone else's page once returned their order (name, email,
    address) to the new session."""
    first = Client()
    add(first, ProductFactory(title="Shirt"))
    form = first.get(reverse("shop:checkout")).context["form"]
    token = form.initial["checkout_token"]
    placed = checkout(first)
    assert placed.status_code == 302 and Order.objects.count() == 1
    theirs = Order.objects.get()

    add(client, ProductFactory(title="Shoes", price="19.99"))
    client.get(reverse("shop:checkout"))
    stranger = {**CONTACT, "full_name": "Mallory", "email": "m@example.com"}
    response = client.post(
        reverse("shop:checkout"),
        {**stranger, "checkout_token": str(token), "expected_total": "19.99"},
    )
    assert response.status_code == 200 and Order.objects.count() == 1
    assert "This checkout page has expired" in response.content.decode()
    assert client.get(reverse("shop:order", args=[theirs.reference])).status_code == 404
    assert CONTACT["address"] not in response.content.decode()
    # Its own page (the one just shown, with a fresh token) places its own order.
    assert checkout(client, full_name="Mallory").status_code == 302
    assert Order.objects.count() == 2


@pytest.fixture
def shirt_in_sizes():
    """A shirt sold in two sizes of its own price and stock (product_variants_sync as the
    admin and the import leave it)."""
    shirt = ProductFactory(title="Linen Shirt", option_names=["Size", "Colour"], colour="Blue")
    small = ProductVariantFactory(
        product=shirt, sku="LIN-S", option_values=["S", "Blue"], price="30.00", stock=2
    )
    large = ProductVariantFactory(
        product=shirt, sku="LIN-L", option_values=["L", "Red"], price="35.00", stock=4
    )
    product_variants_sync(product=shirt)
    shirt.refresh_from_db()
    return shirt, small, large


def test_a_product_sold_in_sizes_goes_in_the_cart_as_the_size_chosen(client, shirt_in_sizes):
    shirt, small, large = shirt_in_sizes
    page = client.get(reverse("shop:product", args=[shirt.slug])).content.decode()
    assert "From 30.00 EUR" in page
    assert re.search(rf'<option value="{small.pk}"[^>]*>S / Blue · 30.00 EUR · only 2 left', page)

    response = add(client, shirt, 1)  # no size chosen
    messages = [str(m) for m in response.wsgi_request._messages]
    assert messages == ["Choose the size / colour of Linen Shirt you want."]
    client.post(reverse("shop:cart_add", args=[shirt.pk]), {"quantity": 5, "variant": small.pk})
    client.post(reverse("shop:cart_add", args=[shirt.pk]), {"quantity": 1, "variant": large.pk})
    lines = client.get(reverse("shop:cart")).context["lines"]
    assert [(line.name, line.quantity, line.subtotal) for line in lines] == [
        ("Linen Shirt (S / Blue)", 2, Decimal("60.00")),  # capped at the size's stock
        ("Linen Shirt (L / Red)", 1, Decimal("35.00")),
    ]
    # Another product's variant is not this one's.
    other = ProductVariantFactory(sku="OTHER")
    client.post(reverse("shop:cart_add", args=[shirt.pk]), {"quantity": 1, "variant": other.pk})
    assert len(client.get(reverse("shop:cart")).context["lines"]) == 2

    client.post(reverse("shop:cart_update", args=[shirt.pk]), {"quantity": 2, "variant": large.pk})
    response = checkout(client)
    order = Order.objects.get()
    assert response.url == reverse("shop:order", args=[order.reference])
    assert order.total == Decimal("130.00")
    assert list(order.lines.values_list("title", "sku", "unit_price", "quantity")) == [
        ("Linen Shirt (S / Blue)", "LIN-S", Decimal("30.00"), 2),
        ("Linen Shirt (L / Red)", "LIN-L", Decimal("35.00"), 2),
    ]
    small.refresh_from_db(), large.refresh_from_db(), shirt.refresh_from_db()
    assert (small.stock, large.stock, shirt.stock) == (0, 2, 2)

    order_set_status(order=order, status=Order.Status.CANCELLED)
    small.refresh_from_db(), large.refresh_from_db(), shirt.refresh_from_db()
    assert (small.stock, large.stock, shirt.stock) == (2, 4, 6)


def test_a_size_sold_out_meanwhile_stops_the_order(client, shirt_in_sizes):
    shirt, small, _ = shirt_in_sizes
    client.post(reverse("shop:cart_add", args=[shirt.pk]), {"quantity": 2, "variant": small.pk})
    form = client.get(reverse("shop:checkout")).context["form"]
    ProductVariant.objects.filter(pk=small.pk).update(stock=1)  # sold while the page was open
    hidden = {name: form.initial[name] for name in ("checkout_token", "expected_total")}
    response = client.post(reverse("shop:checkout"), {**CONTACT, **hidden})
    assert response.url == reverse("shop:cart")
    assert not Order.objects.exists()
    assert [str(m) for m in response.wsgi_request._messages] == [
        "Your order was not placed: only 1 of Linen Shirt (S / Blue) left."
    ]
    with pytest.raises(OrderError, match=r"only 1 of Linen Shirt \(S / Blue\) left"):
        order_place(items={(shirt.pk, small.pk): 2}, contact=CONTACT)
    with pytest.raises(OrderError, match="Linen Shirt is no longer available"):
        order_place(items={shirt.pk: 1}, contact=CONTACT)  # a size must be chosen


def test_the_colour_filter_finds_a_product_by_any_of_its_variants(client, shirt_in_sizes):
    shirt, _, _ = shirt_in_sizes
    ProductFactory(title="Plain Tee", colour="White")
    shirts = shirt.category
    listed = client.get(reverse("shop:category", args=[shirts.slug]), {"colour": "Red"})
    assert [product.title for product in listed.context["page"]] == ["Linen Shirt"]
    colours = listed.context["filter_form"].fields["colour"]
    assert {"Blue", "Red", "White"} <= {value for value, _ in colours.choices}
