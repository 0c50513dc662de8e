"""Text search in a real browser: a search page never scrolls sideways (issue 20, defect 1),
and a misspelt search shows what the shop has (defect 9)."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.fashion_dev, pytest.mark.slow]

DESKTOP = {"viewport": {"width": 1280, "height": 900}}
PHONE = {"viewport": {"width": 390, "height": 844}, "has_touch": True, "is_mobile": True}

NO_MATCH_QUERIES = [
    "jeans sandals",  # both words known, no product has both: the suggestions rail shows
    "jeans" + "s" * 195,  # one 200-character word
    " ".join(["jeans sandals"] * 15)[:200],  # 200 characters of words
]


def document_width(page) -> int:
    return page.evaluate("document.documentElement.scrollWidth")


@pytest.mark.parametrize("device", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_a_search_with_no_match_fits_the_window(new_shop_page, catalogue, device):
    page = new_shop_page(**device)
    for query in NO_MATCH_QUERIES:
        page.goto("/search/?" + urlencode({"q": query}))
        expect(page.get_by_text("No products match")).to_be_visible()
        if query == "jeans sandals":
            expect(page.get_by_role("heading", name="You may also like")).to_be_visible()
        width = device["viewport"]["width"]
        assert document_width(page) <= width, f"{query[:30]!r}: {document_width(page)} px"


def test_a_misspelt_search_shows_the_nearest_words_products(shop_page, catalogue):
    shop_page.goto("/search/?q=sandels")
    expect(shop_page.get_by_text("Showing results for “sandals”")).to_be_visible()
    results = shop_page.locator(".list-results > .product-grid > li")
    expect(results.first).to_be_visible()
    assert results.count() > 0
    expect(shop_page.get_by_role("heading", name="You may also like")).to_have_count(0)
