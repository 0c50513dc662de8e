"""Pages with what shoppers do: the consent banner, and a product page with its behaviour rails,
in headless Chromium (named as a desktop browser: its own user agent says HeadlessChrome, which
counts as a crawler and is never recorded), with axe-core at phone and desktop sizes."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from recommender.behaviour import recording
from recommender.models import BehaviourNeighbour
from tests.browser.accessibility import accessibility_violations
from tests.browser.test_storefront import DESKTOP, PHONE
from tests.factories.catalogue import ProductImageFactory
from tests.factories.recommender import random_index

pytestmark = [pytest.mark.browser, pytest.mark.slow]

BROWSER = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 "
    "Safari/537.36"
)
BANNER = "Nothing is noted until you say yes."


@pytest.fixture
def shop(transactional_db):
    recording.outbox.take(10**9)
    products = [ProductImageFactory(product__title=f"Lamp {n}").product for n in range(8)]
    random_index(products)
    for kind in BehaviourNeighbour.Kind:
        for neighbour in products[1:4]:
            BehaviourNeighbour.objects.create(
                kind=kind, product=products[0], neighbour=neighbour, score=0.5, shoppers=3
            )
    yield products
    recording.outbox.take(10**9)


@pytest.mark.parametrize("size", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_the_consent_banner_asks_once_and_nothing_is_recorded_before_yes(
    new_shop_page, shop, settings, size
):
    settings.EVENTS_REQUIRE_CONSENT = True
    page = new_shop_page(**size, user_agent=BROWSER)
    page.goto(f"/p/{shop[0].slug}/")
    banner = page.get_by_role("form", name="Recommendations from what you look at")
    expect(banner).to_contain_text(BANNER)
    assert accessibility_violations(page) == []
    assert len(recording.outbox) == 0

    banner.get_by_role("button", name="Yes").click()
    expect(page).to_have_url(f"{page.url.split('/p/')[0]}/p/{shop[0].slug}/")
    expect(page.get_by_text(BANNER)).to_have_count(0)
    kinds = [event["kind"] for event in recording.outbox.take(10**9)]
    assert kinds[:2] == ["view", "impression"]


@pytest.mark.parametrize("size", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_a_product_page_with_its_behaviour_rails_reads_well_and_its_clicks_are_recorded(
    new_shop_page, shop, size
):
    page = new_shop_page(**size, user_agent=BROWSER)
    page.goto(f"/p/{shop[5].slug}/")  # so that "Recently viewed" has something
    page.goto(f"/p/{shop[0].slug}/")
    for heading in (
        "Visually similar",
        "Often bought together",
        "Shoppers who viewed this also viewed",
        "Recently viewed",
    ):
        expect(page.get_by_role("heading", name=heading)).to_be_visible()
    expect(page.get_by_text("3 shoppers viewed both").first).to_be_visible()
    assert accessibility_violations(page) == []

    recording.outbox.take(10**9)
    also_viewed = page.locator("section[aria-labelledby=also-viewed]")
    also_viewed.get_by_role("link").nth(1).click()
    expect(page).to_have_url(f"{page.url.split('/p/')[0]}/p/{shop[2].slug}/?rail=also_viewed&pos=2")
    clicks = [e for e in recording.outbox.take(10**9) if e["kind"] == "click"]
    assert [(c["rail"], c["position"], c["product_id"]) for c in clicks] == [
        ("also_viewed", 2, shop[2].pk)
    ]
