"""What a shopper sees and does in a real browser: photo search, rails, the cart and checkout.

Each test imports the first 300 fashion-dev products into the live server's database (priced,
5 in stock each) and indexes them, then drives headless Chromium against it.
"""

from __future__ import annotations

import base64
import re
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from shop.models import Order, Product
from tests.browser.checkout import checkout_fill
from tests.factories.catalogue import jpeg_bytes

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "var" / "screenshots"
# A real product photo from fashion-dev that is not among the imported 300: "Flying Machine Men
# Ydc Blue Shirts". Shirts are 22 of the 300 imported products (7%).
QUERY_PHOTO_ID = "10482"
PAGE_WEIGHT_LIMIT = 200 * 1024  # bytes of HTML, CSS, JS... on first load, images not counted
PHONE = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
}
DESKTOP = {"viewport": {"width": 1280, "height": 900}}


# Helpers -------------------------------------------------------------------------------------


def product_of(href: str) -> Product:
    """The product a card's link leads to (``/p/<slug>/``, maybe with a query string)."""
    match = re.match(r"^/p/([^/?#]+)/", href)
    assert match, f"not a product link: {href}"
    return Product.objects.select_related("category").get(slug=match.group(1))


def card_links(page: Page, cards: str) -> list[str]:
    return page.locator(f"{cards} a").evaluate_all(
        "links => links.map(a => a.getAttribute('href'))"
    )


def first_of(category: str) -> Product:
    """The first imported product of an article type (fashion-dev's file order)."""
    return Product.objects.filter(category__name=category, is_active=True).order_by("pk").first()


def drop_file(page: Page, data: bytes, name: str, mime: str) -> None:
    """Drag a file from the desktop and drop it on the page, as a shopper's mouse would."""
    transfer = page.evaluate_handle(
        """([encoded, name, type]) => {
            const bytes = Uint8Array.from(atob(encoded), (c) => c.charCodeAt(0));
            const transfer = new DataTransfer();
            transfer.items.add(new File([bytes], name, { type }));
            return transfer;
        }""",
        [base64.b64encode(data).decode(), name, mime],
    )
    for event in ("dragenter", "dragover", "drop"):
        page.dispatch_event("body", event, {"dataTransfer": transfer})
    transfer.dispose()


def is_photo_search(response) -> bool:
    return response.url.endswith("/search/photo/") and response.request.method == "POST"


def record_photo_searches(monkeypatch, *, whole_photo: list | None = None) -> list:
    """The crop boxes the live server searched with (it runs in this process), in order; and
    into ``whole_photo``, whether each searched the photo as it is."""
    from shop.views import photos as views

    boxes = []
    search = views.product_search_by_photo

    def recording(**kwargs):
        boxes.append(kwargs["box"])
        if whole_photo is not None:
            whole_photo.append(not kwargs["find_product"])
        return search(**kwargs)

    monkeypatch.setattr(views, "product_search_by_photo", recording)
    return boxes


def photo_input(page: Page):
    return page.get_by_label("Choose a photo")


def search_photo(page: Page, data: bytes) -> None:
    """Pick a photo with the file chooser and wait for its results."""
    with page.expect_response(is_photo_search) as response:
        photo_input(page).set_input_files(
            files=[{"name": "photo.jpg", "mimeType": "image/jpeg", "buffer": data}]
        )
    assert response.value.status == 200
    expect(page.locator(".results-grid .product-card").first).to_be_visible()


def mark_results(page: Page) -> None:
    """Tag the results grid on the page, so that a new one (from a new search) can be told."""
    page.locator(".results-grid").evaluate("grid => { grid.dataset.stale = 'yes'; }")


def expect_new_results(page: Page) -> None:
    expect(page.locator(".results-grid:not([data-stale])")).to_have_count(1)
    expect(page.locator(".results-grid .product-card").first).to_be_visible()


def record_responses(page: Page) -> list:
    responses = []
    page.on("response", lambda response: responses.append(response))
    return responses


def sideways_overflow(page: Page) -> int:
    """How many CSS pixels wider than the screen the page is: what a shopper scrolls sideways."""
    return page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )


def settle(page: Page) -> None:
    """Wait until the page has loaded every photo, lazy ones included, and check none broke."""
    page.wait_for_load_state("networkidle")
    # Lazy photos below the fold wait for a scroll that a full-page screenshot never makes:
    # ask for them now (the lazy attribute itself is checked by the view tests).
    page.evaluate(
        """() => document.querySelectorAll('img[loading="lazy"]')
            .forEach((image) => { image.loading = "eager"; })"""
    )
    # A function, not an expression: Playwright evaluates an expression again at each poll,
    # which the pages' CSP refuses (no 'unsafe-eval'); a function is evaluated once.
    page.wait_for_function("() => [...document.images].every((image) => image.complete)")
    broken = page.evaluate(
        "[...document.images].filter((i) => !i.naturalWidth).map((i) => i.currentSrc || i.src)"
    )
    assert broken == [], f"photos that did not load on {page.url}: {broken}"


# Tests ---------------------------------------------------------------------------------------


@pytest.mark.fashion_dev
def test_dropping_a_photo_on_the_page_finds_products_that_look_like_it(shop_page, catalogue):
    query = next(row for row in catalogue.unimported if row["id"] == QUERY_PHOTO_ID)
    assert query["id"] not in catalogue.rows and query["articleType"] == "Shirts"

    shop_page.goto("/search/photo/")
    expect(shop_page.get_by_role("heading", name="Search by photo", level=1)).to_be_visible()
    expect(shop_page.locator("#preview-image")).to_be_hidden()
    with shop_page.expect_response(is_photo_search) as response:
        drop_file(shop_page, catalogue.photo(QUERY_PHOTO_ID), "photo.jpg", "image/jpeg")
    assert response.value.status == 200

    # The shopper sees their photo, and products that look like it.
    preview = shop_page.locator("#preview-image")
    expect(preview).to_be_visible()
    assert preview.evaluate("image => image.complete && image.naturalWidth") > 0
    cards = shop_page.locator(".results-grid .product-card")
    expect(cards.first).to_be_visible()
    expect(
        shop_page.get_by_role("heading", name=re.compile(r"products that look like your photo"))
    ).to_be_visible()
    results = [product_of(href) for href in card_links(shop_page, ".results-grid .product-card")]
    assert 5 <= len(results) <= 24
    top = Counter(product.category.name for product in results[:5])
    assert top["Shirts"] >= 3, f"first 5 results: {[p.title for p in results[:5]]}"


@pytest.mark.fashion_dev
def test_product_page_shows_ten_visually_similar_products_other_than_itself(shop_page, catalogue):
    product = first_of("Tshirts")
    shop_page.goto(f"/p/{product.slug}/")
    expect(shop_page.get_by_role("heading", name=product.title, level=1)).to_be_visible()

    rail = shop_page.get_by_role("region", name="Visually similar")
    expect(rail).to_be_visible()
    expect(rail.locator(".rail-items .product-card")).to_have_count(10)
    shown = [product_of(href) for href in card_links(shop_page, ".rail-items .product-card")]
    assert len(shown) == 10 and len(set(shown)) == 10
    assert product not in shown
    # It is a rail of look-alikes: T-shirts lead it.
    assert Counter(p.category.name for p in shown[:5])["Tshirts"] >= 3


@pytest.mark.fashion_dev
def test_shopper_buys_two_products_and_the_order_awaits_payment(shop_page, catalogue):
    shirt = first_of("Tshirts")
    shoes = first_of("Casual Shoes")
    assert shirt.price and shoes.price and shirt.stock == shoes.stock == 5
    cart_link = shop_page.get_by_role("navigation", name="Shop").get_by_role(
        "link", name=re.compile("^Cart")
    )

    for count, product in enumerate((shirt, shoes), start=1):
        shop_page.goto(f"/p/{product.slug}/")
        shop_page.get_by_role("button", name="Add to cart").click()
        expect(shop_page.get_by_role("status")).to_contain_text(
            f"Added {product.title} to your cart."
        )
        expect(shop_page.locator(".in-cart")).to_contain_text("1 in your cart")
        expect(cart_link.locator(".badge")).to_have_text(str(count))

    cart_link.click()
    expect(shop_page.get_by_role("heading", name="Your cart", level=1)).to_be_visible()
    expect(shop_page.locator("table.cart tbody tr")).to_have_count(2)
    quantity = shop_page.get_by_label(f"Quantity of {shirt.title}")
    quantity.fill("3")
    shop_page.locator("form.quantity").filter(has=quantity).get_by_role(
        "button", name="Update"
    ).click()
    total = shirt.price * 3 + shoes.price
    expect(shop_page.get_by_label(f"Quantity of {shirt.title}")).to_have_value("3")
    expect(shop_page.locator("table.cart .total")).to_have_text(f"{total} EUR")
    expect(cart_link.locator(".badge")).to_have_text("4")

    shop_page.get_by_role("link", name="Check out").click()
    expect(shop_page.get_by_role("heading", name="Checkout", level=1)).to_be_visible()
    expect(shop_page.locator(".summary .total")).to_have_text(f"Total {total} EUR")
    checkout_fill(shop_page)
    shop_page.get_by_role("button", name="Place order").click()

    expect(
        shop_page.get_by_role("heading", name="Thank you, Ada Lovelace", level=1)
    ).to_be_visible()
    reference = shop_page.locator(".order-reference").inner_text().strip()
    assert reference
    expect(shop_page.locator(".confirmation")).to_contain_text("awaiting payment")
    expect(shop_page.locator("table.cart .total")).to_have_text(f"{total} EUR")
    expect(cart_link.locator(".badge")).to_have_text("0")

    order = Order.objects.get(reference=reference)
    assert order.status == "awaiting_payment" == Order.Status.AWAITING_PAYMENT
    assert order.total == total and order.currency == "EUR"
    assert (order.full_name, order.email, order.city) == (
        "Ada Lovelace",
        "ada@example.com",
        "London",
    )
    lines = {line.product_id: line for line in order.lines.all()}
    assert len(lines) == 2
    assert (lines[shirt.pk].quantity, lines[shirt.pk].unit_price) == (3, shirt.price)
    assert (lines[shoes.pk].quantity, lines[shoes.pk].unit_price) == (1, shoes.price)
    assert sum((line.subtotal for line in lines.values()), Decimal(0)) == total
    shirt.refresh_from_db()
    shoes.refresh_from_db()
    assert (shirt.stock, shoes.stock) == (2, 4)


@pytest.mark.fashion_dev
def test_a_file_that_is_not_a_photo_is_refused_with_a_message(shop_page, catalogue):
    shop_page.goto("/search/photo/")
    with shop_page.expect_response(is_photo_search) as response:
        photo_input(shop_page).set_input_files(
            files=[{"name": "notes.txt", "mimeType": "text/plain", "buffer": b"Buy milk.\n"}]
        )
    assert response.value.status == 400

    panel = shop_page.locator(".error-panel")
    expect(panel).to_be_visible()
    expect(panel).to_have_attribute("role", "alert")
    expect(panel).to_contain_text("not an image")
    expect(shop_page.locator(".results-grid")).to_have_count(0)
    expect(shop_page.locator("#preview-image")).to_be_hidden()


def test_too_many_searches_are_explained_in_place_and_the_photo_stays(
    shop_page, transactional_db, settings
):
    settings.PHOTO_SEARCH_RATE = "1/min"  # the live server runs in this process
    shop_page.goto("/search/photo/")
    photo = {"name": "photo.jpg", "mimeType": "image/jpeg", "buffer": jpeg_bytes()}
    with shop_page.expect_response(is_photo_search) as response:
        photo_input(shop_page).set_input_files(files=[photo])
    assert response.value.status == 200  # searched (an empty shop: nothing matches)

    with shop_page.expect_response(is_photo_search) as response:
        shop_page.locator("#photo-submit").click()
    assert response.value.status == 429
    panel = shop_page.locator(".error-panel")
    expect(panel).to_have_attribute("role", "alert")
    expect(panel.get_by_role("heading", name="Too many searches")).to_be_focused()
    wait = response.value.headers["retry-after"]
    expect(panel).to_contain_text(f"Please wait {wait} seconds and try again")
    expect(shop_page.locator("#preview-image")).to_be_visible()  # ready for another try


@pytest.mark.fashion_dev
def test_crop_box_moves_and_resizes_from_the_keyboard_and_refreshes_results(
    shop_page, catalogue, monkeypatch
):
    searched = record_photo_searches(monkeypatch)
    shop_page.goto("/search/photo/")
    search_photo(shop_page, catalogue.photo(QUERY_PHOTO_ID))
    crop = {name: shop_page.locator(f'input[name="crop_{name}"]') for name in "xywh"}
    assert [crop[name].input_value() for name in "xywh"] == ["", "", "", ""]
    box = shop_page.get_by_role("group", name=re.compile("^Search area"))
    expect(box).to_be_hidden()

    mark_results(shop_page)
    with shop_page.expect_response(is_photo_search) as response:
        shop_page.get_by_role("button", name="Select the item in the photo").click()
        # At once, before the search that the new box starts (400 ms later).
        expect(box).to_be_visible()
        expect(box).to_be_focused()
    assert response.value.status == 200
    expect_new_results(shop_page)
    x, y, width, height = (float(crop[name].input_value()) for name in "xywh")
    assert (x, y, width, height) == (0.15, 0.15, 0.7, 0.7)
    assert searched == [None, pytest.approx((x, y, width, height))]

    mark_results(shop_page)
    expect(box).to_be_focused()  # the refresh left the focus on the box
    with shop_page.expect_response(is_photo_search) as response:
        shop_page.keyboard.press("ArrowRight")
    assert response.value.status == 200
    moved = float(crop["x"].input_value())
    assert moved == pytest.approx(x + 0.02)
    assert [float(crop[name].input_value()) for name in "ywh"] == [y, width, height]
    assert searched[-1] == pytest.approx((moved, y, width, height))
    expect_new_results(shop_page)

    mark_results(shop_page)
    expect(box).to_be_focused()
    with shop_page.expect_response(is_photo_search) as response:
        shop_page.keyboard.press("Shift+ArrowRight")
    assert response.value.status == 200
    wider = float(crop["w"].input_value())
    assert wider == pytest.approx(width + 0.02)
    assert [float(crop[name].input_value()) for name in "xyh"] == [moved, y, height]
    assert searched[-1] == pytest.approx((moved, y, wider, height))
    assert len(searched) == 4
    expect_new_results(shop_page)


def shopper_photo_of(catalogue, kind: str, products: list[Product]) -> bytes:
    from recommender.shopper_photos import shopper_photo

    # Keyed 1, 2... rather than by pk: the photo's layout is drawn from its keys.
    photos = {n: catalogue.photo(p.external_id) for n, p in enumerate(products, 1)}
    return shopper_photo(kind, photos, list(photos), seed=5).jpeg


def crop_of(page: Page) -> tuple[float, ...] | None:
    values = [page.locator(f'input[name="crop_{name}"]').input_value() for name in "xywh"]
    return None if values == ["", "", "", ""] else tuple(float(v) for v in values)


@pytest.mark.fashion_dev
def test_the_product_in_a_shoppers_photo_is_preselected_as_the_crop(
    shop_page, catalogue, monkeypatch
):
    whole_photo = []
    searched = record_photo_searches(monkeypatch, whole_photo=whole_photo)
    handbag = first_of("Handbags")
    shop_page.goto("/search/photo/")
    search_photo(shop_page, shopper_photo_of(catalogue, "surface", [handbag]))
    # The shop found the handbag on the table: its box is the crop, the results are for it.
    box = shop_page.get_by_role("group", name=re.compile("^Search area"))
    expect(box).to_be_visible()
    x, y, width, height = crop_of(shop_page)
    assert 0.05 < width * height < 0.9 and x > 0.01 and y > 0.01  # around the product, inside
    assert searched == [None] and whole_photo == [False]  # one search: the box came with it
    results = [product_of(href) for href in card_links(shop_page, ".results-grid .product-card")]
    assert handbag in results[:10]
    expect(shop_page.locator("#photo-items")).to_be_hidden()  # one product: nothing to choose

    # Still the shopper's to change: the whole photo, as it is.
    mark_results(shop_page)
    with shop_page.expect_response(is_photo_search):
        shop_page.get_by_role("button", name="Use the whole photo").click()
    expect_new_results(shop_page)
    expect(box).to_be_hidden()
    assert crop_of(shop_page) is None  # not pre-selected again
    assert searched == [None, None] and whole_photo == [False, True]


@pytest.mark.fashion_dev
def test_a_photo_of_several_products_offers_each_as_a_choice(shop_page, catalogue, monkeypatch):
    searched = record_photo_searches(monkeypatch)
    handbag, shoes = first_of("Handbags"), first_of("Casual Shoes")
    shop_page.goto("/search/photo/")
    search_photo(shop_page, shopper_photo_of(catalogue, "several", [handbag, shoes]))
    chooser = shop_page.locator("#photo-items")
    expect(chooser).to_be_visible()
    choices = chooser.get_by_role("button", name=re.compile(r"^Product \d of \d in your photo$"))
    count = choices.count()
    assert count >= 2
    # The one searched is pressed, and it is the crop box.
    pressed = [choices.nth(i).get_attribute("aria-pressed") for i in range(count)]
    assert pressed.count("true") == 1
    first_choice = crop_of(shop_page)
    assert first_choice is not None
    # Each choice shows its part of the photo.
    drawn = choices.first.locator("canvas").evaluate(
        "canvas => canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height)"
        ".data.some((value, i) => i % 4 < 3 && value < 200)"
    )
    assert drawn

    other = pressed.index("false")
    mark_results(shop_page)
    with shop_page.expect_response(is_photo_search) as response:
        choices.nth(other).click()
    assert response.value.status == 200
    expect_new_results(shop_page)
    expect(choices.nth(other)).to_have_attribute("aria-pressed", "true")
    chosen = crop_of(shop_page)
    assert chosen != first_choice and searched[-1] == pytest.approx(chosen, abs=1e-4)
    expect(chooser).to_be_visible()  # the choices stay while the shopper compares
    assert choices.count() == count


def test_the_results_dim_while_a_photo_search_is_busy(shop_page):
    shop_page.goto("/search/photo/")
    # What the results look like at the moment the search starts, and once it has answered.
    shop_page.evaluate(
        """() => {
            const results = document.getElementById("photo-results");
            window.opacities = [];
            new MutationObserver(() => window.opacities.push(getComputedStyle(results).opacity))
                .observe(results, { attributes: true, attributeFilter: ["aria-busy"] });
        }"""
    )
    with shop_page.expect_response(is_photo_search):
        photo_input(shop_page).set_input_files(
            files=[{"name": "photo.jpg", "mimeType": "image/jpeg", "buffer": jpeg_bytes()}]
        )
    expect(shop_page.locator("#photo-results[aria-busy]")).to_have_count(0)
    assert shop_page.evaluate("window.opacities") == ["0.5", "1"]


def test_a_failed_checkout_takes_the_focus_to_a_summary_that_leads_to_each_field(
    shop_page, transactional_db
):
    from tests.factories.catalogue import ProductFactory

    product = ProductFactory()
    shop_page.goto(f"/p/{product.slug}/")
    shop_page.get_by_role("button", name="Add to cart").click()
    expect(shop_page.get_by_role("status")).to_contain_text("Added")
    shop_page.goto("/checkout/")
    shop_page.get_by_label("Full name", exact=True).fill("Ada Lovelace")
    shop_page.get_by_label("Email", exact=True).fill("not-an-email")
    shop_page.get_by_role("button", name="Place order").click()

    summary = shop_page.locator(".error-summary")
    expect(summary).to_be_focused()
    expect(summary.get_by_role("heading", name="Please check these details")).to_be_visible()
    email = shop_page.get_by_label("Email", exact=True)
    expect(email).to_have_accessible_description(re.compile("valid email", re.I))
    summary.get_by_role("link", name=re.compile("^Email")).click()
    expect(email).to_be_focused()


def test_a_tap_on_the_photo_is_not_a_crop(new_shop_page, monkeypatch):
    searched = record_photo_searches(monkeypatch)
    page = new_shop_page(**PHONE)
    page.goto("/search/photo/")
    with page.expect_response(is_photo_search):
        photo_input(page).set_input_files(
            files=[{"name": "photo.jpg", "mimeType": "image/jpeg", "buffer": jpeg_bytes()}]
        )
    page.locator("#preview-image").tap()
    page.wait_for_timeout(600)  # longer than a crop change waits before it searches
    assert crop_of(page) is None and len(searched) == 1


def test_a_file_over_10_mb_is_deselected_so_search_does_not_upload_it(shop_page, monkeypatch):
    searched = record_photo_searches(monkeypatch)
    shop_page.goto("/search/photo/")
    big = {"name": "huge.jpg", "mimeType": "image/jpeg", "buffer": b"\xff" * (10 * 2**20 + 1)}
    photo_input(shop_page).set_input_files(files=[big])
    expect(shop_page.locator(".error-panel")).to_contain_text("This file is too large")
    assert photo_input(shop_page).evaluate("input => input.files.length") == 0
    shop_page.locator("#photo-submit").click()  # the browser asks for a photo instead
    shop_page.wait_for_timeout(300)
    assert searched == []


def test_crop_box_keeps_the_focus_when_its_results_refresh(shop_page):
    # No catalogue needed: the focus moves whatever the results say.
    shop_page.goto("/search/photo/")
    with shop_page.expect_response(is_photo_search):
        photo_input(shop_page).set_input_files(
            files=[{"name": "photo.jpg", "mimeType": "image/jpeg", "buffer": jpeg_bytes()}]
        )
    box = shop_page.get_by_role("group", name=re.compile("^Search area"))
    heading = "#results-heading"
    shop_page.locator(heading).evaluate("heading => { heading.dataset.stale = 'yes'; }")
    with shop_page.expect_response(is_photo_search):
        shop_page.get_by_role("button", name="Select the item in the photo").click()
        expect(box).to_be_focused()
    expect(shop_page.locator(f"{heading}:not([data-stale])")).to_have_count(1)  # refreshed
    expect(box).to_be_focused(timeout=1_000)


def test_photo_search_fits_a_phone_screen(new_shop_page):
    page = new_shop_page(**PHONE)  # no catalogue needed: the empty page is already too wide
    page.goto("/search/photo/")
    expect(page.get_by_label("Choose a photo")).to_be_attached()
    assert sideways_overflow(page) == 0


@pytest.mark.fashion_dev
def test_screenshots_for_the_readme_at_phone_and_desktop_widths(new_shop_page, catalogue):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    product = first_of("Tshirts")
    written = []
    for size, options in (("phone", PHONE), ("desktop", DESKTOP)):
        page = new_shop_page(**options)
        for name, path in (("home", "/"), ("product", f"/p/{product.slug}/")):
            page.goto(path)
            settle(page)
            target = SCREENSHOTS / f"{name}-{size}.png"
            page.screenshot(path=target, full_page=True)
            written.append(target)
            assert sideways_overflow(page) == 0, target.name
        page.goto("/search/photo/")
        search_photo(page, catalogue.photo(QUERY_PHOTO_ID))
        settle(page)  # its width on a phone: test_photo_search_fits_a_phone_screen
        target = SCREENSHOTS / f"photo-search-{size}.png"
        page.screenshot(path=target, full_page=True)
        written.append(target)

    for target in written:
        assert target.is_file() and target.stat().st_size > 20_000, target


@pytest.mark.fashion_dev
def test_first_load_of_each_page_weighs_under_200_kb_without_photos(new_shop_page, catalogue):
    product = first_of("Tshirts")
    weights = {}
    for path in ("/", f"/p/{product.slug}/", "/search/photo/"):
        page = new_shop_page()  # a fresh context: empty cache, as on a first visit
        responses = record_responses(page)
        page.goto(path)
        page.wait_for_load_state("networkidle")

        # Everything but photos: the HTML, style sheets, scripts, fonts...
        counted = [r for r in responses if r.request.resource_type not in ("image", "media")]
        assert any(r.request.resource_type == "document" for r in counted)
        sizes = {}
        for response in counted:
            transfer = response.request.sizes()
            sizes[response.url] = transfer["responseHeadersSize"] + transfer["responseBodySize"]
        # And by the browser's own account (the Performance API's transfer sizes).
        performance = page.evaluate(
            """() => [
                ...performance.getEntriesByType("navigation"),
                ...performance.getEntriesByType("resource"),
            ]
                .filter((entry) => entry.initiatorType !== "img")
                .reduce((sum, entry) => sum + entry.transferSize, 0)"""
        )
        weights[path] = (sum(sizes.values()), performance, sizes)

    print(weights)
    for path, (total, performance, sizes) in weights.items():
        assert total < PAGE_WEIGHT_LIMIT, (path, sizes)
        assert performance < PAGE_WEIGHT_LIMIT, (path, performance)
