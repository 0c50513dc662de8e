"""An unreachable database, wherever in the request it is met, is a 503 with Retry-After: the
shop's page (rendered without the session it cannot read) or the API's JSON."""

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.db import InterfaceError, OperationalError
from django.test import Client
from django.urls import reverse

from tests.factories.catalogue import ProductFactory

pytestmark = pytest.mark.django_db

LOST = "connection to server on socket failed: No such file or directory"


def lost_connection(*args, **kwargs):
    raise OperationalError(LOST)


class DatabaseDownMiddleware:
    """A middleware that reads the database before the view, as sessions and logins do."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        raise InterfaceError("connection already closed")


@pytest.fixture
def client():
    return Client(raise_request_exception=False)


def assert_unavailable_page(response):
    assert response.status_code == 503
    assert response["Content-Type"].startswith("text/html")
    assert int(response["Retry-After"]) > 0
    assert "Back in a moment" in response.content.decode()


def assert_unavailable_json(response):
    assert response.status_code == 503
    assert int(response["Retry-After"]) > 0
    body = response.json()
    assert body["error"] == "unavailable" and body["detail"]


def test_a_view_that_loses_the_database_gives_503_page_or_json(client, monkeypatch):
    product = ProductFactory()
    monkeypatch.setattr("shop.views.catalogue.category_top", lost_connection)
    monkeypatch.setattr("shop.api.views.product_list_similar", lost_connection)
    assert_unavailable_page(client.get(reverse("shop:home")))
    assert_unavailable_json(client.get(reverse("api:product-similar", args=[product.pk])))


def test_a_middleware_that_loses_the_database_gives_503(client, settings):
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, f"{__name__}.DatabaseDownMiddleware"]
    assert_unavailable_page(client.get(reverse("shop:home")))
    assert_unavailable_json(client.get(reverse("api:product-list")))


def test_the_503_page_does_not_read_the_session_it_could_not_read(client, monkeypatch):
    # The cart's context processor reads the session; the 503 page must not try again.
    monkeypatch.setattr(SessionStore, "load", lost_connection)
    client.cookies["sessionid"] = "abcdefghijklmnopqrstuvwxyz012345"
    assert_unavailable_page(client.get(reverse("shop:cart")))


def test_an_error_raised_from_a_lost_connection_is_503(client, monkeypatch):
    def wrapped(**kwargs):
        try:
            lost_connection()
        except OperationalError as error:
            raise RuntimeError("could not load the home page") from error

    monkeypatch.setattr("shop.views.catalogue.category_top", wrapped)
    assert_unavailable_page(client.get(reverse("shop:home")))


def test_any_other_error_is_still_a_500(client, monkeypatch):
    def broken(**kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr("shop.views.catalogue.category_top", broken)
    response = client.get(reverse("shop:home"))
    assert response.status_code == 500 and "Retry-After" not in response
    assert b"Something went wrong on our side" in response.content
