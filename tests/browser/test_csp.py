"""The Content-Security-Policy in a real browser: it blocks what it should, and the pages that
the storefront tests do not cover (the admin, the API's documentation) work under it.

Every browser test fails on a violation (conftest.py), so these tests only need to open the
pages and check that they did their job.
"""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from playwright.sync_api import Page, expect

from shop.services import category_get_or_create
from tests.factories.catalogue import ProductImageFactory
from tests.factories.orders import OrderLineFactory

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PASSWORD = "correct horse battery staple"
INJECTED = "<script>document.documentElement.dataset.injected = 'ran';</script>"


def test_an_inline_script_slipped_into_a_page_is_blocked_and_reported(
    shop_page: Page, csp_violations
):
    """What an attacker's markup would do (say, through a template that forgot to escape)."""

    def inject(route):
        response = route.fetch()
        body = response.text().replace("</main>", f"</main>{INJECTED}")
        route.fulfill(response=response, body=body)

    shop_page.route("**/cart/", inject)
    response = shop_page.goto("/cart/")
    assert response is not None and response.ok
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert INJECTED in shop_page.content()  # the script is in the page...
    expect(shop_page.get_by_role("heading", level=1)).to_be_visible()
    assert shop_page.evaluate("document.documentElement.dataset.injected") is None  # ...idle

    csp_violations.flush()
    blocked = [line for line in csp_violations if "script-src" in line and "inline" in line]
    assert blocked, csp_violations  # and the check that guards every browser test saw it
    csp_violations.clear()  # provoked on purpose: not a failure of this test


@pytest.fixture
def admin_user(transactional_db):
    return get_user_model().objects.create_superuser("boss", password=PASSWORD)


def test_staff_log_in_and_use_the_admin_under_the_policy(shop_page: Page, admin_user):
    image = ProductImageFactory()
    product = image.product
    category_get_or_create(names=["Footwear", "Shoes"])
    order = OrderLineFactory(product=product, unit_price="19.99").order

    shop_page.goto(reverse("admin:index"))
    expect(shop_page).to_have_url(re.compile(re.escape(reverse("admin:login"))))
    shop_page.get_by_label("Username").fill("boss")
    shop_page.get_by_label("Password").fill(PASSWORD)
    shop_page.get_by_role("button", name="Log in").click()
    expect(shop_page.get_by_role("heading", name="Site administration")).to_be_visible()

    pages = {
        reverse("admin:shop_product_changelist"): product.title,
        reverse("admin:shop_product_change", args=[product.pk]): product.title,
        reverse("admin:shop_product_add"): "Add product",
        reverse("admin:shop_category_changelist"): "Footwear",  # treebeard's tree
        reverse("admin:shop_order_changelist"): order.reference,
        reverse("admin:shop_order_change", args=[order.pk]): order.reference,
    }
    for url, text in pages.items():
        response = shop_page.goto(url)
        assert response is not None and response.ok, url
        expect(shop_page.locator("#content")).to_contain_text(text)
        shop_page.wait_for_load_state("networkidle")  # its scripts ran, its images loaded

    # The product's photo shows in its change list (images are 'self' in img-src).
    shop_page.goto(reverse("admin:shop_product_changelist"))
    thumbnail = shop_page.locator("#result_list img").first
    expect(thumbnail).to_be_visible()
    assert thumbnail.evaluate("image => image.naturalWidth") > 0
    # Fitted into its square by the stylesheet (static/css/admin.css), not by a style attribute.
    assert thumbnail.evaluate("image => getComputedStyle(image).objectFit") == "contain"


def test_the_api_documentation_works_under_the_policy(
    shop_page: Page, csp_violations, transactional_db
):
    shop_page.goto("/api/schema/swagger/")
    expect(shop_page.get_by_role("heading", name=re.compile("Vitrine API"))).to_be_visible()
    operation = shop_page.locator(".opblock-summary-path", has_text="/api/v1/search/photo/")
    expect(operation.first).to_be_visible()
    operation.first.click()  # opens the operation, as a reader would
    expect(shop_page.get_by_role("button", name="Try it out").first).to_be_visible()

    shop_page.goto("/api/schema/redoc/")
    expect(shop_page.get_by_role("heading", name=re.compile("Vitrine API"))).to_be_visible()
    expect(shop_page.get_by_text("/api/v1/search/photo/").first).to_be_attached()
    search = shop_page.get_by_placeholder("Search...")
    search.fill("photo")  # searched in Redoc's worker
    expect(shop_page.locator("[data-role='search:results']")).to_contain_text("photo")
    shop_page.wait_for_load_state("networkidle")
    # Redoc's "API docs by Redocly" logo comes from cdn.redoc.ly: blocked (nothing from other
    # sites), and Redoc hides it. Any other violation still fails the test.
    csp_violations.flush()
    csp_violations[:] = [line for line in csp_violations if "cdn.redoc.ly/" not in line]

    # DRF's browsable API, which a browser gets from the API's own URLs.
    shop_page.goto("/api/v1/products/")
    expect(shop_page.get_by_role("heading", name="Product List")).to_be_visible()
    shop_page.wait_for_load_state("networkidle")
