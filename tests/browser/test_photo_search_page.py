"""The search-by-photo page as a shopper finds it, at 1280x900 and on a 390x844 touch phone:
the review of issue 20 (focus you can see, a file that is not a photo, results in sight, crop
nudges that do not lock the shopper out, a handle a finger can hit, scores explained, axe-core).

Most tests need no catalogue: the page's behaviour does not depend on what the shop sells, and
where results must be on the page, the search is answered with factory products.
"""

from __future__ import annotations

import re

import pytest
from PIL import Image, ImageChops
from playwright.sync_api import Page, expect

from tests.browser.accessibility import assert_accessible
from tests.browser.test_storefront import (
    PHONE,
    QUERY_PHOTO_ID,
    is_photo_search,
    photo_input,
    record_photo_searches,
    search_photo,
)
from tests.factories.catalogue import jpeg_bytes

pytestmark = [pytest.mark.browser, pytest.mark.slow]

WHITE, BLACK = (255, 255, 255), (0, 0, 0)


# Helpers -------------------------------------------------------------------------------------


def pick_photo(page: Page, data: bytes, *, name: str = "photo.jpg") -> None:
    """Choose a photo and wait for the search it starts."""
    with page.expect_response(is_photo_search):
        photo_input(page).set_input_files(
            files=[{"name": name, "mimeType": "image/jpeg", "buffer": data}]
        )


def answer_with_products(monkeypatch, *, count: int = 12, suggestions: bool = False) -> None:
    """The live server answers every photo search with ``count`` factory products (or, with
    ``suggestions``, with none within the filters and ``count`` outside them)."""
    from recommender.selectors import PhotoSearch
    from recommender.selectors.ranking import SimilarProduct
    from shop.views import photos as views
    from tests.factories.catalogue import ProductFactory

    found = [SimilarProduct(p, 0.8, 0.9, 0.5, 0.7, 0.3) for p in ProductFactory.create_batch(count)]
    monkeypatch.setattr(views, "index_live", lambda: object())
    monkeypatch.setattr(
        views,
        "product_search_by_photo",
        lambda **kwargs: PhotoSearch(results=[] if suggestions else found, match=0.9),
    )
    monkeypatch.setattr(views, "product_list_by_photo", lambda **kwargs: found)


def keyboard_select_area(page: Page):
    """Open the crop box from the keyboard (so the browser shows its focus), and wait for the
    search it starts."""
    button = page.get_by_role("button", name="Select the item in the photo")
    button.focus()
    with page.expect_response(is_photo_search):
        page.keyboard.press("Enter")
    box = page.get_by_role("group", name=re.compile("^Search area"))
    expect(box).to_be_focused()
    return box


def luminance(rgb) -> float:
    def channel(value: int) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(v) for v in rgb[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a, b) -> float:
    light, dark = sorted((luminance(a), luminance(b)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def screenshot(page: Page, selector: str, path) -> Image.Image:
    page.locator(selector).screenshot(path=path, animations="disabled")
    return Image.open(path).convert("RGB")


def top_of(page: Page, selector: str) -> float:
    """Where an element starts, in CSS pixels from the top of the screen as it is scrolled."""
    return page.locator(selector).first.evaluate("e => e.getBoundingClientRect().top")


# Defect 8: focus you can see -----------------------------------------------------------------


@pytest.mark.parametrize("photo_colour", [WHITE, BLACK], ids=["white-photo", "black-photo"])
def test_the_crop_box_focus_ring_shows_on_a_white_and_on_a_black_photo(
    shop_page, transactional_db, tmp_path, photo_colour
):
    shop_page.goto("/search/photo/")
    pick_photo(shop_page, jpeg_bytes(colour=photo_colour, size=(400, 400)))
    box = keyboard_select_area(shop_page)
    focused = screenshot(shop_page, "#crop-stage", tmp_path / "focused.png")
    box.evaluate("box => box.blur()")
    unfocused = screenshot(shop_page, "#crop-stage", tmp_path / "unfocused.png")

    # What the focus changed on screen, and how much of it stands out from the photo.
    changed = ImageChops.difference(focused, unfocused).convert("L").point(lambda v: v > 24)
    ring = [
        pixel
        for pixel, moved in zip(focused.getdata(), changed.getdata(), strict=True)
        if moved and contrast(pixel, photo_colour) >= 3
    ]
    width, height = (round(v) for v in box.evaluate("b => [b.offsetWidth, b.offsetHeight]"))
    assert len(ring) >= 2 * 2 * (width + height), (
        f"the focus changes {len(ring)} pixels with 3:1 contrast against the photo, "
        f"not a 2 px ring around the {width}x{height} box"
    )


def test_take_a_photo_is_a_button_you_can_tab_to_that_opens_the_camera(new_shop_page):
    page = new_shop_page(**PHONE)
    page.goto("/search/photo/")
    photo_input(page).focus()
    page.keyboard.press("Tab")
    camera = page.get_by_role("button", name="Take a photo")
    expect(camera).to_be_focused()
    box = camera.bounding_box()
    assert box["width"] >= 24 and box["height"] >= 24
    outline = camera.evaluate(
        "b => { const s = getComputedStyle(b); return [s.outlineStyle, s.outlineWidth]; }"
    )
    assert outline[0] != "none" and float(outline[1].removesuffix("px")) >= 2, outline
    # Enter opens the camera's file input, within the key press's user activation (what a
    # browser needs to show its chooser). Playwright's own "filechooser" event is not used: in
    # headless Chromium it went missing for about one press in three while the click was there.
    page.evaluate(
        """() => {
            window.cameraOpened = [];
            document.getElementById("camera").addEventListener("click", (event) => {
                window.cameraOpened.push([event.target.getAttribute("capture"),
                                          navigator.userActivation.isActive]);
            });
        }"""
    )
    page.keyboard.press("Enter")
    assert page.evaluate("window.cameraOpened") == [["environment", True]]


# Defect 10: a file named .jpg that is not a photo ---------------------------------------------


def test_a_file_named_jpg_that_is_not_a_photo_gets_no_preview_and_is_not_uploaded(
    shop_page, monkeypatch
):
    searched = record_photo_searches(monkeypatch)
    shop_page.goto("/search/photo/")
    posts = []
    shop_page.on("request", lambda request: request.method == "POST" and posts.append(request))
    photo_input(shop_page).set_input_files(
        files=[{"name": "holiday.jpg", "mimeType": "image/jpeg", "buffer": b"Not a photo.\n"}]
    )
    panel = shop_page.locator(".error-panel")
    expect(panel).to_have_attribute("role", "alert")
    expect(panel).to_contain_text("could not read this file")
    expect(shop_page.locator("#preview")).to_be_hidden()
    expect(shop_page.get_by_role("button", name="Select the item in the photo")).to_be_hidden()
    shop_page.wait_for_timeout(600)  # longer than a crop change waits before it searches
    expect(panel).to_be_visible()  # the error stays
    assert photo_input(shop_page).evaluate("input => input.files.length") == 0
    assert posts == [] and searched == []


# Results in sight --------------------------------------------------------------------------


@pytest.mark.fashion_dev
def test_on_a_desktop_the_results_start_beside_the_photo_within_the_first_screen(
    shop_page, catalogue
):
    shop_page.goto("/search/photo/")
    search_photo(shop_page, catalogue.photo(QUERY_PHOTO_ID))
    first = shop_page.locator(".results-grid .product-card").first
    where = first.evaluate(
        "card => { const r = card.getBoundingClientRect(); return [r.left, r.top + scrollY]; }"
    )
    photo = shop_page.locator("#preview-image").bounding_box()
    assert where[1] + 100 <= 900, f"the first result starts at y = {where[1]} px"
    assert where[0] >= photo["x"] + photo["width"], "the results are beside the photo"
    assert shop_page.evaluate("scrollY") == 0  # nothing had to move


def test_on_a_phone_a_search_brings_the_results_into_view_and_a_crop_nudge_does_not(
    new_shop_page, monkeypatch
):
    answer_with_products(monkeypatch)
    page = new_shop_page(**PHONE)
    page.goto("/search/photo/")
    pick_photo(page, jpeg_bytes(size=(300, 400)))
    expect(page.locator(".results-grid .product-card").first).to_be_in_viewport()
    expect(page.locator("#results-heading")).to_be_in_viewport()

    with page.expect_response(is_photo_search):
        page.get_by_role("button", name="Select the item in the photo").tap()
    # Back up to the photo to nudge the crop: the refreshed results stay where they are, out
    # of sight below it.
    page.evaluate("window.scrollTo(0, 0)")
    expect(page.locator("#crop-box")).to_be_focused()
    with page.expect_response(is_photo_search):
        page.keyboard.press("ArrowDown")
    page.wait_for_timeout(300)
    assert page.evaluate("scrollY") == 0
    expect(page.locator("#crop-box")).to_be_focused()
    expect(page.locator(".results-grid .product-card").first).not_to_be_in_viewport()
    # The shopper can see that the results changed, and go to them.
    jump = page.get_by_role("link", name=re.compile(r"^See the \d+ results"))
    expect(jump).to_be_in_viewport()
    jump.tap()
    expect(page.locator(".results-grid .product-card").first).to_be_in_viewport()


def test_the_results_say_they_are_being_searched(shop_page, monkeypatch):
    answer_with_products(monkeypatch)
    shop_page.goto("/search/photo/")
    pick_photo(shop_page, jpeg_bytes())
    # Hold the next answer back to see the page while it waits.
    held = []
    shop_page.route("**/search/photo/", lambda route: held.append(route))
    shop_page.locator("#photo-submit").click()
    busy = shop_page.locator("#photo-busy")
    expect(busy).to_be_visible()
    expect(busy).to_have_text("Searching…")
    held[0].continue_()
    expect(busy).to_be_hidden()


# The rate limit counts photos, not crop nudges -----------------------------------------------


def test_nudging_the_crop_box_does_not_use_up_the_photo_search_limit(
    shop_page, transactional_db, settings
):
    settings.PHOTO_SEARCH_RATE = "2/min"  # the live server runs in this process
    shop_page.goto("/search/photo/")
    pick_photo(shop_page, jpeg_bytes())
    keyboard_select_area(shop_page)
    statuses = []
    for _ in range(4):
        with shop_page.expect_response(is_photo_search) as response:
            shop_page.keyboard.press("ArrowRight")
        statuses.append(response.value.status)
    assert statuses == [200] * 4
    expect(shop_page.locator(".error-panel")).to_have_count(0)


# The crop handle ---------------------------------------------------------------------------


def test_the_crop_resize_handle_is_a_target_of_at_least_24_px(new_shop_page, monkeypatch):
    record_photo_searches(monkeypatch)
    page = new_shop_page(**PHONE)
    page.goto("/search/photo/")
    pick_photo(page, jpeg_bytes(size=(400, 400)))
    page.get_by_role("button", name="Select the item in the photo").tap()
    handle = page.locator(".crop-handle")
    box = handle.bounding_box()
    assert box["width"] >= 24 and box["height"] >= 24, box
    # Its target is the whole of it: a touch near its edge still lands on it.
    edge = {"x": box["x"] + 2, "y": box["y"] + box["height"] / 2}
    target = page.evaluate(
        "([x, y]) => document.elementFromPoint(x, y).className", [edge["x"], edge["y"]]
    )
    assert target == "crop-handle"


# Look and Words ----------------------------------------------------------------------------


def test_look_and_words_are_explained_once_in_visible_text(shop_page, monkeypatch):
    answer_with_products(monkeypatch, count=4, suggestions=True)
    shop_page.goto("/search/photo/?gender=Men")  # a filter that nothing matches
    pick_photo(shop_page, jpeg_bytes())
    rail = shop_page.locator("#photo-results .rail")
    expect(rail.locator(".product-card")).to_have_count(4)
    expect(rail.locator(".why").first).to_contain_text("Look 81%")
    note = rail.get_by_text(re.compile(r"^Look and Words: how much of each match"))
    expect(note).to_have_count(1)
    expect(note).to_be_visible()


# axe-core ------------------------------------------------------------------------------------


def test_axe_finds_nothing_serious_on_the_empty_page_and_after_an_error(shop_page, monkeypatch):
    record_photo_searches(monkeypatch)
    shop_page.goto("/search/photo/")
    assert_accessible(shop_page)
    photo_input(shop_page).set_input_files(
        files=[{"name": "notes.jpg", "mimeType": "image/jpeg", "buffer": b"Buy milk.\n"}]
    )
    expect(shop_page.locator(".error-panel")).to_be_visible()
    assert_accessible(shop_page)


@pytest.mark.parametrize("screen", ["desktop", "phone"])
def test_axe_finds_nothing_serious_with_a_photo_its_crop_box_and_results(
    new_shop_page, monkeypatch, screen
):
    answer_with_products(monkeypatch)
    page = new_shop_page(**PHONE) if screen == "phone" else new_shop_page()
    page.goto("/search/photo/")
    pick_photo(page, jpeg_bytes(size=(300, 400)))
    expect(page.locator(".results-grid .product-card").first).to_be_visible()
    with page.expect_response(is_photo_search):
        page.get_by_role("button", name="Select the item in the photo").click()
    assert_accessible(page)
