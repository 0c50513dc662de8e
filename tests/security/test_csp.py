"""The Content-Security-Policy header: strict on every page, wider only where a page needs it.

That the pages work under it, and that it blocks an injected script, is shown in a real browser
(tests/browser/test_csp.py and every other browser test: they fail on any violation).
"""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from recommender.models import EvaluationRun
from tests.factories.catalogue import ProductFactory

pytestmark = pytest.mark.django_db

STRICT = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' blob:",
    "object-src": "'none'",
    "base-uri": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}


def policy(response) -> dict[str, str]:
    """The header as directive -> sources (django-csp does not keep the directives' order)."""
    header = response["Content-Security-Policy"]
    directives = (part.strip().split(" ", 1) for part in header.split(";"))
    return {name: rest[0] if rest else "" for name, *rest in directives}


@pytest.fixture
def staff(django_user_model) -> Client:
    client = Client()
    client.force_login(django_user_model.objects.create_superuser("boss", password="pw"))
    return client


def test_storefront_pages_get_the_strict_policy(client):
    product = ProductFactory()
    for url in (
        reverse("shop:home"),
        reverse("shop:product", args=[product.slug]),
        reverse("shop:search") + "?q=shirt",
        reverse("shop:photo_search"),
        reverse("shop:cart"),
        "/no-such-page/",
        reverse("admin:login"),
    ):
        response = client.get(url)
        assert response.status_code in (200, 404), url
        assert policy(response) == STRICT, url


def test_the_admin_gets_the_strict_policy(staff):
    product = ProductFactory()
    for url in (
        reverse("admin:index"),
        reverse("admin:shop_product_change", args=[product.pk]),
        reverse("admin:shop_category_changelist"),
        reverse("admin:recommender_evaluationrun_changelist"),  # Insights (its script: static/)
    ):
        response = staff.get(url)
        assert response.status_code == 200, url
        assert policy(response) == STRICT, url


def test_the_429_page_gets_the_strict_policy(client, settings):
    settings.LOGIN_RATE = "1/min"
    for _ in range(2):
        response = client.post(reverse("admin:login"), {"username": "x", "password": "y"})
    assert response.status_code == 429 and policy(response) == STRICT


def test_the_insights_report_may_style_itself_and_nothing_more(staff):
    run = EvaluationRun.objects.create(
        status=EvaluationRun.Status.DONE, queries=10, seed=0, report_html="<p>Report</p>"
    )
    response = staff.get(reverse("admin:recommender_evaluationrun_report", args=[run.pk]))
    assert response.status_code == 200
    assert policy(response) == {
        "default-src": "'none'",  # no script, font, frame or connection at all
        "style-src": "'unsafe-inline'",  # its own <style>
        "img-src": "data:",  # its plots
        "base-uri": "'none'",
        "form-action": "'none'",
        "frame-ancestors": "'self'",  # framed by the Insights page only
        "sandbox": "",  # no scripts, an opaque origin, even when opened on its own
    }
    assert response["X-Frame-Options"] == "SAMEORIGIN"


def test_swagger_ui_adds_only_data_images(client):
    page = client.get(reverse("swagger"))
    assert page.status_code == 200
    assert policy(page) == {**STRICT, "img-src": "'self' blob: data:"}
    assert b"<script>" not in page.content and b"<style>" not in page.content
    script = client.get(reverse("swagger") + "?script")  # its start-up script, as a file
    assert script.status_code == 200 and script["Content-Type"].startswith("application/javascript")


def test_redoc_adds_inline_style_elements_data_images_and_a_blob_worker(client):
    page = client.get(reverse("redoc"))
    assert page.status_code == 200
    assert policy(page) == {
        **STRICT,
        "img-src": "'self' blob: data:",
        "style-src-elem": "'self' 'unsafe-inline'",  # scripts and style attributes stay strict
        "worker-src": "blob:",
    }
    assert b"<script>" not in page.content and b"fonts.googleapis.com" not in page.content


def test_the_browsable_api_gets_the_strict_policy(client):
    response = client.get(reverse("api:product-list"), HTTP_ACCEPT="text/html")
    assert response.status_code == 200 and b"<html" in response.content
    assert policy(response) == STRICT
    assert b"<style>" not in response.content
