"""A shop imported from a Shopify export, in a real browser: the product page's gallery and its
size choice, the cart and the order by variant, and the admin's variants and photo URLs.

The catalogue is drawn home goods (shop/sample_catalogue.py), three photos and two sizes per
product, its photos read beside the file. No encoder is needed: the pages read no index.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from shop.models import Order, Product, ProductPhotoSource
from shop.sample_catalogue import write_sample_shopify_catalogue
from shop.services import catalogue_import
from tests.browser.accessibility import assert_accessible
from tests.browser.checkout import checkout_fill
from tests.browser.test_admin_pages import PASSWORD, log_in
from tests.factories.staff import staff_user

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"


@pytest.fixture
def home_goods(tmp_path, media_root, transactional_db) -> Product:
    """Five drawn home goods; returns the black mug (Small and Large, three photos)."""
    report = catalogue_import(path=write_sample_shopify_catalogue(tmp_path / "home", products=5))
    assert report.created == 5 and not report.errors, str(report)
    return Product.objects.get(external_id="black-mug-0")


def test_a_shopper_sees_the_gallery_chooses_a_size_and_orders_it(
    new_shop_page, home_goods, csp_violations
):
    mug = home_goods
    small, large = mug.variants.order_by("position")
    page = new_shop_page()
    page.goto(reverse("shop:product", args=[mug.slug]))

    gallery = page.locator(".gallery .thumbs img")
    expect(gallery).to_have_count(3)
    expect(page.locator(".price.big")).to_have_text(f"From {small.price} EUR")
    size = page.get_by_label("Size")
    expect(size.locator("option")).to_have_text(
        [
            re.compile(rf"^Small · {small.price} EUR"),
            re.compile(rf"^Large · {large.price} EUR"),
        ]
    )
    assert_accessible(page)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / "product-variants-desktop.png", full_page=True)

    size.select_option(index=1)
    page.get_by_label("Quantity").fill("2")
    page.get_by_role("button", name="Add to cart").click()
    expect(page.locator(".messages")).to_contain_text("Added Black Mug No. 0 (Large) to your cart.")

    page.goto(reverse("shop:cart"))
    expect(page.locator("table.cart .variant")).to_have_text(["Large"])
    expect(page.locator("table.cart .total")).to_have_text(f"{large.price * 2} EUR")
    page.screenshot(path=SCREENSHOTS / "cart-variant-desktop.png", full_page=True)
    page.get_by_role("link", name="Check out").click()
    checkout_fill(page)
    page.get_by_role("button", name=re.compile("Place order")).click()
    expect(page.locator("h1")).to_contain_text("Thank you")
    order = Order.objects.get()
    assert list(order.lines.values_list("title", "sku", "quantity")) == [
        ("Black Mug No. 0 (Large)", large.sku, 2)
    ]
    large_before = large.stock
    large.refresh_from_db()
    assert large.stock == large_before - 2

    phone = new_shop_page(viewport={"width": 390, "height": 844}, is_mobile=True)
    phone.goto(reverse("shop:product", args=[mug.slug]))
    expect(phone.get_by_label("Size")).to_be_visible()
    phone.screenshot(path=SCREENSHOTS / "product-variants-phone.png", full_page=True)


def test_staff_edit_variants_inline_and_see_why_a_photo_url_failed(
    new_shop_page, home_goods, csp_violations
):
    mug = home_goods
    ProductPhotoSource.objects.create(
        product=mug,
        url="http://10.1.2.3/mug-side.jpg",
        position=3,
        status=ProductPhotoSource.Status.FAILED,
        reason="10.1.2.3 is a private, link-local or reserved address",
    )
    staff_user("owner", password=PASSWORD, superuser=True)
    page = new_shop_page()
    change = reverse("admin:shop_product_change", args=[mug.pk])
    log_in(page, "owner", then=change)

    variants = page.locator("#variants-group")
    expect(variants.get_by_role("textbox", name="Options")).to_have_count(2)
    expect(variants.get_by_role("textbox", name="Options").first).to_have_value("Small")
    expect(page.locator("#photo_sources-group")).to_contain_text(
        "10.1.2.3 is a private, link-local or reserved address"
    )
    page.screenshot(path=SCREENSHOTS / "admin-product-variants.png", full_page=True)

    variants.get_by_role("spinbutton", name="Stock").first.fill("7")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator(".messagelist")).to_contain_text("was changed successfully")
    mug.refresh_from_db()
    assert mug.stock == 7 + mug.variants.get(option_values=["Large"]).stock
