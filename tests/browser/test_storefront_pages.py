"""The storefront's pages as an outside review found them (issue 20): each defect reproduced in
headless Chromium at desktop and phone sizes, and axe-core on every page a shopper reaches."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from shop.models import Order, Product
from tests.browser.accessibility import accessibility_violations
from tests.browser.checkout import checkout_fill
from tests.browser.test_storefront import DESKTOP, PHONE, first_of
from tests.factories.catalogue import ProductFactory

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def add_to_cart(page: Page, product: Product) -> None:
    page.goto(f"/p/{product.slug}/")
    page.get_by_role("button", name="Add to cart").click()
    expect(page.get_by_role("status")).to_contain_text(f"Added {product.title}")


def place_order(page: Page) -> str:
    page.goto("/checkout/")
    checkout_fill(page)
    page.get_by_role("button", name="Place order").click()
    expect(page.get_by_role("heading", name=re.compile("^Thank you"))).to_be_visible()
    return page.locator(".order-reference").inner_text().strip()


def visible_share(page: Page, selector: str) -> float:
    """The share of the element's area that the shopper can see: inside the window and inside
    every scrolling box around it."""
    return page.evaluate(
        """(selector) => {
            const element = document.activeElement.closest(selector);
            let rect = element.getBoundingClientRect();
            const area = rect.width * rect.height;
            let box = { left: 0, top: 0, right: innerWidth, bottom: innerHeight };
            for (let node = element.parentElement; node; node = node.parentElement) {
                const style = getComputedStyle(node);
                if (/(auto|scroll|hidden)/.test(style.overflowX + style.overflowY)) {
                    const clip = node.getBoundingClientRect();
                    box = {
                        left: Math.max(box.left, clip.left), top: Math.max(box.top, clip.top),
                        right: Math.min(box.right, clip.right),
                        bottom: Math.min(box.bottom, clip.bottom),
                    };
                }
            }
            const width = Math.min(rect.right, box.right) - Math.max(rect.left, box.left);
            const height = Math.min(rect.bottom, box.bottom) - Math.max(rect.top, box.top);
            return Math.max(0, width) * Math.max(0, height) / area;
        }""",
        selector,
    )


# Defects ---------------------------------------------------------------------------------------


@pytest.mark.fashion_dev
@pytest.mark.parametrize("size", ["phone", "desktop"])
def test_tabbing_through_the_rail_shows_each_focused_card_whole(new_shop_page, catalogue, size):
    page = new_shop_page(**(PHONE if size == "phone" else DESKTOP))
    page.goto(f"/p/{first_of('Tshirts').slug}/")
    cards = page.locator("#similar ~ ul .product-card a")
    expect(cards).to_have_count(10)
    cards.first.focus()
    for position in range(10):
        assert visible_share(page, "a") > 0.99, f"card {position + 1}"
        # The focus ring (3 px outside the link) is not cut by the rail either.
        ring_clipped = page.evaluate(
            """() => {
                const link = document.activeElement.getBoundingClientRect();
                const rail = document.activeElement.closest('.rail-items').getBoundingClientRect();
                return link.top - 5 < rail.top || link.bottom + 5 > rail.bottom;
            }"""
        )
        assert not ring_clipped, f"card {position + 1}"
        page.keyboard.press("Tab")


@pytest.mark.fashion_dev
def test_an_upside_down_price_range_is_explained_where_the_shopper_looks(new_shop_page, catalogue):
    for options in (DESKTOP, PHONE):
        page = new_shop_page(**options)
        page.goto("/search/?q=shirt&price_min=80&price_max=20")
        message = page.get_by_role("alert").filter(has_text="price")
        expect(message).to_be_visible()
        expect(message).to_contain_text("minimum price is above the maximum")


@pytest.mark.fashion_dev
def test_a_new_products_page_says_that_its_photo_is_being_indexed(shop_page, catalogue):
    pending = ProductFactory(title="A shirt added after indexing", price=10, stock=3)
    shop_page.goto(f"/p/{pending.slug}/")
    note = shop_page.locator("#similar ~ .rail-note")
    expect(note).to_contain_text("This product is new")
    expect(note).not_to_contain_text("once the catalogue has been indexed")
    # An indexed product's page has its rail.
    shop_page.goto(f"/p/{first_of('Tshirts').slug}/")
    expect(shop_page.locator("#similar ~ ul .product-card")).to_have_count(10)


def test_the_shop_has_a_favicon(shop_page):
    response = shop_page.goto("/favicon.ico")
    assert response.ok, response.status
    assert response.headers["content-type"].startswith("image/")
    shop_page.goto("/")
    icon = shop_page.locator("link[rel='icon']").get_attribute("href")
    assert shop_page.request.get(icon).ok


@pytest.mark.fashion_dev
def test_the_cart_badge_and_the_confirmation_speak_plainly(shop_page, catalogue):
    shirt = first_of("Tshirts")
    add_to_cart(shop_page, shirt)
    badge = shop_page.locator(".cart-link")
    expect(badge).to_have_accessible_name("Cart 1 item")
    reference = place_order(shop_page)
    order = Order.objects.get(reference=reference)
    row = shop_page.locator("table.cart tbody tr").first
    expect(row.locator("td").first).to_have_text(f"{order.lines.get().unit_price} EUR")


# Friction --------------------------------------------------------------------------------------


@pytest.mark.fashion_dev
def test_after_apply_on_a_phone_the_results_are_in_view(new_shop_page, catalogue):
    page = new_shop_page(**PHONE)
    page.goto("/search/?q=shirt")
    page.get_by_text("Filters", exact=True).click()
    page.get_by_label("Gender").select_option(label="Men")
    page.get_by_role("button", name="Apply").click()
    expect(page).to_have_url(re.compile("gender="))
    first = page.locator(".list-results .product-card").first
    expect(first).to_be_in_viewport()
    expect(page.locator(".filter-panel")).not_to_have_attribute("open", "")
    expect(page.locator("summary")).to_contain_text("Filters (1 on)")


@pytest.mark.fashion_dev
def test_the_header_leads_to_the_top_categories(shop_page, catalogue):
    shop_page.goto("/cart/")
    menu = shop_page.get_by_role("navigation", name="Categories")
    links = menu.get_by_role("link")
    expect(links.first).to_be_visible()
    top = first_of("Tshirts").category.get_root().name  # Apparel
    menu.get_by_role("link", name=top).click()
    expect(shop_page.get_by_role("heading", name=top, level=1)).to_be_visible()


@pytest.mark.fashion_dev
def test_the_rail_shows_that_it_scrolls(shop_page, catalogue):
    shop_page.goto(f"/p/{first_of('Tshirts').slug}/")
    rail = shop_page.get_by_role("region", name="Visually similar")
    forward = rail.get_by_role("button", name="Next products")
    back = rail.get_by_role("button", name="Previous products")
    expect(back).to_be_disabled()
    before = rail.locator("ul").evaluate("list => list.scrollLeft")
    forward.click()
    shop_page.wait_for_function(
        "(before) => document.querySelector('.rail-items').scrollLeft > before + 100", arg=before
    )
    expect(back).to_be_enabled()


# Accessibility ---------------------------------------------------------------------------------


@pytest.mark.fashion_dev
@pytest.mark.parametrize("size", ["phone", "desktop"])
def test_axe_finds_nothing_serious_on_the_storefront_pages(new_shop_page, catalogue, size):
    page = new_shop_page(**(PHONE if size == "phone" else DESKTOP))
    shirt = first_of("Tshirts")
    category = shirt.category
    found = {}

    def check(name: str) -> None:
        page.wait_for_load_state("networkidle")
        found[name] = accessibility_violations(page)

    for name, path in (
        ("home", "/"),
        ("category", f"/c/{category.slug}/"),
        ("search", "/search/?q=shirt"),
        ("no match", "/search/?q=jeans+sandals"),
        ("filters with an error", "/search/?q=shirt&price_min=80&price_max=20"),
        ("product", f"/p/{shirt.slug}/"),
        ("empty cart", "/cart/"),
        ("missing page", "/no-such-page/"),
    ):
        page.goto(path)
        check(name)
    add_to_cart(page, shirt)
    page.goto("/cart/")
    check("cart")
    page.goto("/checkout/")
    check("checkout")
    page.get_by_role("button", name="Place order").click()
    expect(page.locator(".error-summary")).to_be_visible()
    check("checkout with errors")
    place_order(page)
    check("order confirmation")

    failing = {name: lines for name, lines in found.items() if lines}
    assert not failing, "\n".join(
        f"{name}:\n  " + "\n  ".join(lines) for name, lines in failing.items()
    )
