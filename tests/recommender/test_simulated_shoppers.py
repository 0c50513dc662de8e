"""Simulated shoppers browse a real storefront over HTTP, and what they do is recorded like any
shopper's: views, rail clicks, carts and orders, each matching what the simulator says it did."""

from collections import Counter

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from recommender.behaviour import recording
from recommender.behaviour.simulated_shoppers import (
    BROWSER,
    Product,
    shoppers_simulate,
    styles_draw,
)
from recommender.behaviour.storing import shopper_events_store
from recommender.models import ShopperEvent
from shop.models import Order
from shop.models import Product as CatalogueProduct
from shop.services import category_get_or_create
from tests.factories.catalogue import ProductFactory
from tests.factories.recommender import random_index

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

CATEGORIES = ["Shirts", "Jeans", "Casual Shoes"]
COLOURS = ["Blue", "White", "Black"]


@pytest.fixture
def shop():
    recording.outbox.take(10**9)
    products = []
    for category_name in CATEGORIES:
        category = category_get_or_create(names=["Apparel", category_name])
        for n in range(9):
            products.append(
                ProductFactory(
                    title=f"{category_name} {n}",
                    category=category,
                    colour=COLOURS[n % 3],
                    gender="Men",
                    stock=50,
                )
            )
    random_index(products)
    yield products
    recording.outbox.take(10**9)


def catalogue() -> list[Product]:
    return [
        Product(*row)
        for row in CatalogueProduct.objects.values_list(
            "slug", "gender", "category__slug", "colour"
        )
    ]


def test_styles_are_drawn_from_what_the_catalogue_has(shop):
    styles = styles_draw(catalogue(), count=5, seed=1)
    slugs = {p.category.slug for p in shop}
    assert len(styles) == 5
    for style in styles:
        assert style.gender == "Men" and 2 <= len(style.categories) <= 3
        assert set(style.categories) <= slugs and set(style.colours) <= set(COLOURS)
    assert styles == styles_draw(catalogue(), count=5, seed=1)  # the seed decides


def test_simulated_shoppers_browse_click_buy_and_are_recorded_as_they_did(shop, live_server):
    tally = shoppers_simulate(
        base_url=live_server.url,
        catalogue=catalogue(),
        visitors=8,
        seed=3,
        concurrency=2,
        cart_rate=0.6,
        checkout_rate=1.0,
    )
    assert not tally.errors
    assert tally.visitors == 8 and tally.views >= 24
    assert tally.rail_clicks > 0 and tally.cart_adds > 0 and tally.orders > 0

    shopper_events_store(events=recording.outbox.take(10**9))
    kinds = Counter(ShopperEvent.objects.values_list("kind", flat=True))
    assert kinds["view"] == tally.views
    assert kinds["click"] == tally.rail_clicks
    assert kinds["cart_add"] == tally.cart_adds
    orders = Order.objects.filter(email="simulated-shopper@example.invalid")
    assert orders.count() == tally.orders
    assert kinds["order"] == sum(order.lines.count() for order in orders)
    # Each simulated visitor is one pseudonymous visitor; clicks carry their rail and position.
    assert ShopperEvent.objects.values("visitor").distinct().count() == 8
    clicked_rails = set(ShopperEvent.objects.filter(kind="click").values_list("rail", flat=True))
    assert "similar" in clicked_rails and clicked_rails <= set(recording.RAILS)


def test_the_command_reports_what_the_shoppers_did_and_refuses_a_bad_address(shop, live_server):
    call_command("simulate_shoppers", live_server.url, "--visitors", "2", "--concurrency", "1")
    with pytest.raises(CommandError, match="http"):
        call_command("simulate_shoppers", "localhost:8000")


def test_the_simulator_says_it_is_one():
    assert "VitrineSimulatedShopper" in BROWSER
