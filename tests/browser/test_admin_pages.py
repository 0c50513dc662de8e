"""The admin pages a shop owner uses, in a real browser: axe-core finds nothing serious or
critical on any of them, the product list fits a 1,280 px screen and filters by embedding
status, the add form starts with the photo, and the owner is told when no worker runs.

Logged in through the admin's own login page. No encoder is loaded: the live index holds
random vectors (tests/factories/recommender.py), as the admin only reads statuses.
"""

from __future__ import annotations

import re
import uuid

import pytest
from django.urls import reverse
from playwright.sync_api import Page, expect

from recommender.behaviour import experiments, recording
from recommender.behaviour.storing import shopper_events_store
from recommender.worker_heartbeat import worker_heartbeat_record
from shop.services import category_get_or_create
from tests.browser.accessibility import assert_accessible
from tests.factories.catalogue import ProductFactory, ProductImageFactory
from tests.factories.orders import OrderFactory, OrderLineFactory
from tests.factories.recommender import ProductEmbeddingFactory, random_index
from tests.factories.staff import staff_user

pytestmark = [pytest.mark.browser, pytest.mark.slow]

LOGIN = reverse("admin:login")
PRODUCTS = reverse("admin:shop_product_changelist")
INSIGHTS = reverse("admin:recommender_evaluationrun_changelist")
PASSWORD = "correct horse battery staple"
NO_WORKER = "No indexing worker is running: new products wait"


@pytest.fixture
def owner(transactional_db):
    return staff_user("owner", password=PASSWORD, superuser=True)


@pytest.fixture
def shop(media_root, transactional_db):
    """Products with photos, in each embedding status, and an order."""
    done, pending, failed = (
        ProductImageFactory(product__title=title).product
        for title in ("Indigo Denim Jacket", "Linen Summer Shirt", "Canvas Tote Bag")
    )
    # A catalogue's long titles and category names wrap; they do not widen the table.
    ProductFactory(
        title="Wool Scarf Without Photo, Hand-Knitted in the Outer Hebrides from Undyed Yarn",
        category=category_get_or_create(names=["Accessories", "Scarves", "Scarves and Stoles"]),
    )
    index = random_index([done])
    ProductEmbeddingFactory(index=index, product=pending, status="pending")
    ProductEmbeddingFactory(index=index, product=failed, status="failed", error="unreadable")
    order = OrderFactory()
    OrderLineFactory(order=order, product=done)
    return {"done": done, "pending": pending, "failed": failed, "order": order}


def log_in(page: Page, username: str, then: str) -> None:
    """Through the admin's own login form, which then leads to ``then``."""
    page.goto(f"{LOGIN}?next={then}")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(re.escape(then) + "$"))


def assert_accessible_under_csp(page: Page, csp_violations) -> None:
    """axe-core's verdict, with the page's own CSP violations checked first: axe's preloading of
    the page's style sheets (into <style> elements, which the policy blocks) reports its own on
    change forms, and those are not the page's."""
    csp_violations.flush()
    assert not csp_violations, "\n".join(csp_violations)
    assert_accessible(page)
    csp_violations.flush()
    csp_violations.clear()


def test_the_admin_pages_a_shop_uses_have_no_serious_accessibility_violation(
    shop_page, owner, shop, csp_violations
):
    shop_page.goto(LOGIN)
    assert_accessible_under_csp(shop_page, csp_violations)
    log_in(shop_page, "owner", then=PRODUCTS)
    # Insights with rail figures, and an experiment running.
    shown = recording._event("v" * 32, kind="impression", rail="similar", shown=[1, 2])
    shopper_events_store(events=[shown, shown | {"id": str(uuid.uuid4())}])
    experiments.experiment_start(
        name="More words",
        arm_a={"image_weight": 0.7, "text_weight": 0.3, "behaviour_share": 0, "candidates": 100},
        arm_b={"image_weight": 0.5, "text_weight": 0.5, "behaviour_share": 0},
    )
    pages = {
        "product list": PRODUCTS,
        "product add": reverse("admin:shop_product_add"),
        "product change": reverse("admin:shop_product_change", args=[shop["done"].pk]),
        "order list": reverse("admin:shop_order_changelist"),
        "order change": reverse("admin:shop_order_change", args=[shop["order"].pk]),
        "category list": reverse("admin:shop_category_changelist"),
        "Insights": INSIGHTS,
        "rail experiments": reverse("admin:recommender_railexperiment_changelist"),
    }
    for name, url in pages.items():
        shop_page.goto(url)
        expect(shop_page.locator("#content h1")).to_be_visible()
        if name == "category list":  # its show/hide links are drawn by a script
            expect(shop_page.locator("a.treebeard-collapse").first).to_have_attribute(
                "aria-label", "Subcategories of Apparel"
            )
        assert_accessible_under_csp(shop_page, csp_violations)


def test_the_product_list_fits_1280_px_and_filters_by_embedding_status(shop_page, owner, shop):
    log_in(shop_page, "owner", then=PRODUCTS)  # the fixture's viewport is 1,280 px wide
    results = shop_page.locator("#changelist .results")
    embedding = shop_page.get_by_role("columnheader", name="Embedding")
    expect(embedding).to_be_visible()
    # Nothing scrolls sideways, and the column ends inside the window.
    assert results.evaluate("el => el.scrollWidth <= el.clientWidth")
    box = embedding.bounding_box()
    assert box["x"] + box["width"] <= 1280

    shop_page.locator("#changelist-filter").get_by_role("link", name="Failed").click()
    expect(shop_page).to_have_url(re.compile(r"embedding=failed"))
    rows = shop_page.locator("#result_list tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Canvas Tote Bag")
    expect(rows.first.locator("td.field-embedding")).to_have_text("failed")

    shop_page.locator("#changelist-filter").get_by_role("link", name="Pending").click()
    expect(rows).to_have_count(2)  # queued, and not in the live index yet
    expect(shop_page.locator("#result_list")).to_contain_text("Linen Summer Shirt")
    expect(shop_page.locator("#result_list")).to_contain_text("Wool Scarf Without Photo")


def test_the_add_form_starts_with_the_photo(shop_page, owner, shop):
    log_in(shop_page, "owner", then=reverse("admin:shop_product_add"))
    photo = shop_page.get_by_label("Image", exact=True).first
    title = shop_page.locator("#id_title")  # "Title" would match the photos' "Alt text" too
    expect(photo).to_be_attached()
    expect(title).to_be_visible()
    assert photo.bounding_box()["y"] < title.bounding_box()["y"]


def test_the_owner_is_told_plainly_when_no_worker_is_running(shop_page, owner, shop):
    log_in(shop_page, "owner", then=PRODUCTS)
    for url in (PRODUCTS, reverse("admin:shop_product_add"), INSIGHTS):
        shop_page.goto(url)
        expect(shop_page.locator("#worker-warning")).to_contain_text(NO_WORKER)

    worker_heartbeat_record(hostname="celery@shop")  # as a running worker does every 10 s
    for url in (PRODUCTS, reverse("admin:shop_product_add"), INSIGHTS):
        shop_page.goto(url)
        expect(shop_page.locator("#content h1")).to_be_visible()
        expect(shop_page.get_by_text(NO_WORKER)).to_have_count(0)
