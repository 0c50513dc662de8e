"""Rails from what shoppers do: "also viewed" and "bought together" fitted from the recorded
events (item kNN), and the shopper's own "recently viewed"."""

from datetime import UTC, datetime

import numpy as np
import pytest
from django.test import Client
from django.urls import reverse

from recommender.behaviour import recording
from recommender.behaviour.experiments import rail_configuration_forget
from recommender.behaviour.neighbours import behaviour_neighbours_refit, neighbours_compute
from recommender.behaviour.storing import shopper_events_store
from recommender.models import BehaviourFit, BehaviourNeighbour, ShopperEvent
from recommender.selectors import (
    product_list_also_viewed,
    product_list_bought_together,
    product_list_picked_for,
    rail_blend,
)
from tests.factories.catalogue import ProductFactory
from tests.factories.orders import CONTACT
from tests.factories.recommender import random_index

pytestmark = pytest.mark.django_db

BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0"
NOW = datetime.now(UTC)


@pytest.fixture(autouse=True)
def empty_outbox():
    recording.outbox.take(10**9)
    yield
    recording.outbox.take(10**9)


def views(*pairs: tuple[str, int], age_days: float = 0.0) -> tuple[np.ndarray, ...]:
    """(visitor, product) pairs as the refit reads them, all ``age_days`` old."""
    visitors = np.array([visitor for visitor, _ in pairs])
    products = np.array([product for _, product in pairs])
    return visitors, products, np.full(len(pairs), age_days)


def neighbours_of(product: int, found) -> list[int]:
    return [b for a, b, _, _ in found if a == product]


def test_products_viewed_by_the_same_shoppers_are_neighbours_and_a_single_shopper_is_not_enough():
    pairs = [(f"v{n}", product) for n in range(5) for product in (1, 2)]  # 1 and 2: 5 shoppers
    pairs += [("w1", 1), ("w1", 3), ("w2", 1), ("w2", 3)]  # 1 and 3: 2 shoppers
    pairs += [("x", 1), ("x", 4)]  # 1 and 4: one shopper only
    found = neighbours_compute(*views(*pairs))
    assert neighbours_of(1, found) == [2, 3]
    assert neighbours_of(2, found) == [1] and neighbours_of(4, found) == []
    shoppers = {(a, b): n for a, b, _, n in found}
    assert shoppers[(1, 2)] == 5 and shoppers[(1, 3)] == 2


def test_a_product_everyone_views_is_not_everyones_first_neighbour():
    pairs = [(f"v{n}", product) for n in range(6) for product in (1, 2, 99)]
    pairs += [(f"crowd{n}", 99) for n in range(200)]  # 99: the home page's hero product
    assert neighbours_of(1, neighbours_compute(*views(*pairs))) == [2, 99]


def test_recent_shoppers_weigh_more_than_those_of_months_ago():
    recent = views(*[(f"r{n}", p) for n in range(3) for p in (1, 2)], age_days=1)
    old = views(*[(f"o{n}", p) for n in range(3) for p in (1, 3)], age_days=60)
    together = [np.concatenate(parts) for parts in zip(recent, old, strict=True)]
    assert neighbours_of(1, neighbours_compute(*together)) == [2, 3]


@pytest.fixture
def shop():
    products = [ProductFactory(title=f"Shirt {n}", price="20.00", stock=50) for n in range(8)]
    random_index(products)
    return products


def visit(products, *, buy=()):
    """One shopper viewing ``products`` (then buying ``buy``), through the storefront."""
    client = Client(headers={"user-agent": BROWSER})
    for product in products:
        client.get(reverse("shop:product", args=[product.slug]))
    for product in buy:
        client.post(reverse("shop:cart_add", args=[product.pk]), {"quantity": 1})
    if buy:
        form = client.get(reverse("shop:checkout")).context["form"]
        hidden = {name: form.initial[name] for name in ("checkout_token", "expected_total")}
        client.post(reverse("shop:checkout"), {**CONTACT, **hidden})
    return client


def refit():
    shopper_events_store(events=recording.outbox.take(10**9))
    return behaviour_neighbours_refit()


def test_the_product_page_shows_what_shoppers_who_viewed_it_also_viewed_and_why(shop):
    a, b, c, lonely = shop[0], shop[1], shop[2], shop[7]
    for _ in range(3):
        visit([a, b])
    visit([a, c])
    visit([a, c])
    fit = refit()
    assert fit.events == ShopperEvent.objects.filter(kind="view").count()
    assert BehaviourFit.objects.latest() == fit

    page = Client(headers={"user-agent": BROWSER}).get(reverse("shop:product", args=[a.slug]))
    also = page.context["also_viewed"]
    assert [item.product for item in also] == [b, c]
    assert also[0].why == "3 shoppers viewed both"
    content = page.content.decode()
    assert "Shoppers who viewed this also viewed" in content and "3 shoppers viewed both" in content
    assert f"/p/{b.slug}/?rail=also_viewed&amp;pos=1" in content
    # A product nobody viewed with another: its page shows the look-alikes alone.
    page = Client(headers={"user-agent": BROWSER}).get(reverse("shop:product", args=[lonely.slug]))
    assert page.context["also_viewed"] == [] and page.context["rail"]
    assert "Shoppers who viewed this also viewed" not in page.content.decode()


def test_products_bought_by_the_same_shoppers_are_often_bought_together(shop):
    a, b, c = shop[0], shop[1], shop[2]
    visit([a], buy=[a, b])
    visit([a], buy=[a, b])
    visit([c], buy=[c])
    refit()
    assert [item.product for item in product_list_bought_together(product=a)] == [b]
    assert product_list_bought_together(product=c) == []
    page = Client(headers={"user-agent": BROWSER}).get(reverse("shop:product", args=[b.slug]))
    assert "Often bought together" in page.content.decode()


def test_a_neighbour_no_longer_on_sale_is_left_out(shop):
    a, b, c = shop[0], shop[1], shop[2]
    for _ in range(2):
        visit([a, b, c])
    refit()
    b.is_active = False
    b.save()
    c.delete()
    assert product_list_also_viewed(product=a) == []


def test_a_refit_replaces_the_previous_one(shop):
    a, b = shop[0], shop[1]
    for _ in range(2):
        visit([a, b])
    refit()
    ShopperEvent.objects.all().delete()
    refit()
    assert product_list_also_viewed(product=a) == []


def test_recently_viewed_shows_the_shoppers_own_latest_products_first(shop):
    shopper = visit([shop[0], shop[1], shop[2]])
    page = shopper.get(reverse("shop:product", args=[shop[3].slug]))
    assert page.context["recently_viewed"] == [shop[2], shop[1], shop[0]]
    assert "Recently viewed" in page.content.decode()
    page = shopper.get(reverse("shop:product", args=[shop[1].slug]))  # never itself
    assert page.context["recently_viewed"] == [shop[3], shop[2], shop[0]]
    # Impressions of each rail the page showed.
    shopper_events_store(events=recording.outbox.take(10**9))
    last = ShopperEvent.objects.filter(kind="impression", product_id=shop[1].pk)
    assert set(last.values_list("rail", flat=True)) == {"similar", "recently_viewed"}


def test_a_shopper_who_asks_not_to_be_tracked_gets_no_recently_viewed(shop):
    client = Client(headers={"user-agent": BROWSER, "sec-gpc": "1"})
    for product in shop[:3]:
        page = client.get(reverse("shop:product", args=[product.slug]))
    assert page.context["recently_viewed"] == []


def test_the_look_alike_rail_can_take_a_share_from_behaviour(shop, settings):
    a, b = shop[0], shop[1]
    for _ in range(2):
        visit([a, b])
    refit()
    url = reverse("shop:product", args=[a.slug])
    looks = Client(headers={"user-agent": BROWSER}).get(url).context["rail"]
    settings.RECOMMENDER_BEHAVIOUR_SHARE = 0.5
    rail_configuration_forget()  # a process reads the configuration every few seconds
    # Two shoppers are too few to move a look-alike: the rail stays as it was.
    settings.RECOMMENDER_BEHAVIOUR_SHARE_MIN_SHOPPERS = 3
    rail = Client(headers={"user-agent": BROWSER}).get(url).context["rail"]
    assert [item.product for item in rail] == [item.product for item in looks]

    settings.RECOMMENDER_BEHAVIOUR_SHARE_MIN_SHOPPERS = 2
    blended = Client(headers={"user-agent": BROWSER}).get(url).context["rail"]
    # b is in both rails: first, and it says it is there for what shoppers did.
    assert blended[0].product == b and blended[0].why == "2 shoppers viewed both"
    assert [item.product for item in blended[1:]] == [i.product for i in looks if i.product != b]


def test_reciprocal_rank_fusion_puts_what_both_rails_hold_first():
    looks, behaviour = [1, 2, 3, 4, 5], [9, 4, 8]
    assert rail_blend(looks, behaviour, share=0.5, k=5, key=int) == [4, 1, 9, 2, 3]
    assert rail_blend(looks, behaviour, share=0.0, k=5, key=int) == looks
    assert rail_blend(looks, behaviour, share=1.0, k=3, key=int) == behaviour


def test_recently_viewed_stays_on_the_shoppers_device_and_a_forged_list_is_ignored(shop):
    shopper = visit([shop[0], shop[1]])
    assert "sessionid" not in shopper.cookies  # nothing kept on the server for it
    cookie = shopper.cookies["vitrine_recent"]
    assert cookie["httponly"] and str(shop[0].pk) in cookie.value
    shopper.cookies["vitrine_recent"] = f"{shop[5].pk}.{shop[6].pk}"  # unsigned: made up
    page = shopper.get(reverse("shop:product", args=[shop[2].slug]))
    assert page.status_code == 200 and page.context["recently_viewed"] == []


def test_a_returning_shopper_gets_picks_from_what_they_viewed_and_what_others_viewed_with_it(
    shop,
):
    a, b, c = shop[0], shop[1], shop[2]
    for _ in range(3):
        visit([a, b])
    refit()
    returning = visit([a])
    home = returning.get(reverse("shop:home"))
    picked = home.context["picked"]
    assert picked and a not in [item.product for item in picked]
    assert picked[0].product == b and picked[0].why == f"Shoppers who viewed {a.title} viewed it"
    assert "Picked for you" in home.content.decode()
    assert f"/p/{b.slug}/?rail=picked_for_you&amp;pos=1" in home.content.decode()
    # A first visit, or a shopper who is not recorded, gets no picks.
    assert Client(headers={"user-agent": BROWSER}).get(reverse("shop:home")).context["picked"] == []
    private = Client(headers={"user-agent": BROWSER, "dnt": "1"})
    private.get(reverse("shop:product", args=[c.slug]))
    assert private.get(reverse("shop:home")).context["picked"] == []


def test_a_pick_says_which_viewed_product_it_comes_from_most(shop):
    viewed, pick = [shop[0], shop[1], shop[3]], shop[2]
    for source, score in zip(viewed, (0.3, 0.2, 0.4), strict=True):  # the last, once 0.5 is summed
        BehaviourNeighbour.objects.create(
            kind="also_viewed", product=source, neighbour=pick, score=score, shoppers=2
        )
    picked = product_list_picked_for(product_ids=[p.pk for p in viewed], k=3)
    (item,) = [item for item in picked if item.product == pick]
    assert item.why == f"Shoppers who viewed {shop[3].title} viewed it"
