"""Requests that queued longer than REQUEST_QUEUE_TIMEOUT are turned away before any work."""

import time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.factories.catalogue import ProductFactory

pytestmark = pytest.mark.django_db


def stamped(seconds_ago: float) -> dict:
    return {"HTTP_X_REQUEST_START": f"t={time.time() - seconds_ago:.3f}"}


def test_a_request_that_queued_too_long_is_a_503_with_retry_after_and_no_query(client, settings):
    settings.REQUEST_QUEUE_TIMEOUT = 5
    product = ProductFactory()
    with CaptureQueriesContext(connection) as queries:
        page = client.get(f"/p/{product.slug}/", **stamped(6))
        api = client.get("/api/v1/products/", **stamped(6))
    assert page.status_code == 503 and "very busy" in page.content.decode()
    assert page["Retry-After"] == "5"
    assert api.status_code == 503 and api.json()["error"] == "busy"
    assert len(queries) == 0  # turned away at the door: not a database query


@pytest.mark.parametrize(
    "header",
    [
        lambda: {},  # no proxy in front
        lambda: stamped(1),  # queued, but not for long
        lambda: {"HTTP_X_REQUEST_START": "t=not-a-time"},
        lambda: stamped(-3600),  # a clock ahead
    ],
    ids=["no header", "queued briefly", "not a time", "clock ahead"],
)
def test_other_requests_are_served(client, settings, header):
    settings.REQUEST_QUEUE_TIMEOUT = 5
    # Stamped now, not when the tests were collected (minutes ago in a full run).
    assert client.get(f"/p/{ProductFactory().slug}/", **header()).status_code == 200


def test_a_timeout_of_zero_turns_the_check_off(client, settings):
    settings.REQUEST_QUEUE_TIMEOUT = 0
    assert client.get(f"/p/{ProductFactory().slug}/", **stamped(3600)).status_code == 200
