"""Rate limits on the admin login and the storefront's search by photo: a 429 that says why and
when to come back, per client address, which a client cannot choose by sending X-Forwarded-For.
"""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client, RequestFactory
from django.urls import reverse
from rest_framework.throttling import ScopedRateThrottle

from config.ratelimits import client_address
from tests.factories import jpeg_bytes

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"
LOGIN = reverse("admin:login")
SEARCH = reverse("shop:photo_search")


@pytest.fixture
def boss(django_user_model):
    return django_user_model.objects.create_superuser("boss", password=PASSWORD)


@pytest.fixture
def behind_one_proxy(settings):
    """As in docker-compose: nginx in front, which appends the client to X-Forwarded-For."""
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}


def guess(client: Client, password: str = "wrong", **extra):
    return client.post(LOGIN, {"username": "boss", "password": password}, **extra)


def search(client: Client, *, fragment: bool = False, **extra):
    headers = {"Vitrine-Fragment": "results"} if fragment else {}
    photo = SimpleUploadedFile("p.jpg", jpeg_bytes(), "image/jpeg")
    return client.post(SEARCH, {"photo": photo}, headers=headers, **extra)


def assert_limited(response, message: str) -> None:
    assert response.status_code == 429
    assert message in response.content.decode()
    assert 1 <= int(response["Retry-After"]) <= 60  # seconds, within the minute's window


# The admin login -----------------------------------------------------------------------------


def test_login_attempts_over_the_limit_get_a_429_that_says_when_to_retry(settings, boss):
    settings.LOGIN_RATE = "3/min"
    client = Client()
    assert [guess(client).status_code for _ in range(3)] == [200, 200, 200]
    limited = guess(client, PASSWORD)  # even the right password: nothing is checked now
    assert_limited(limited, "Too many login attempts from your address")
    assert f"wait {limited['Retry-After']} seconds" in limited.content.decode()
    assert "_auth_user_id" not in client.session
    # Reading the login page is not an attempt.
    assert client.get(LOGIN).status_code == 200


def test_another_client_still_logs_in_while_one_is_limited(settings, boss):
    settings.LOGIN_RATE = "2/min"
    for _ in range(3):
        guess(Client(), REMOTE_ADDR="203.0.113.7")
    assert guess(Client(), REMOTE_ADDR="203.0.113.7").status_code == 429
    other = Client()
    assert guess(other, PASSWORD, REMOTE_ADDR="198.51.100.2").status_code == 302
    assert other.get(reverse("admin:index")).status_code == 200


def test_a_forwarded_for_header_does_not_dodge_the_login_limit(settings, boss):
    settings.LOGIN_RATE = "2/min"
    statuses = [guess(Client(), HTTP_X_FORWARDED_FOR=f"10.0.0.{n}").status_code for n in range(4)]
    assert statuses == [200, 200, 429, 429]


def test_behind_a_proxy_each_client_is_counted_by_the_address_the_proxy_saw(
    settings, boss, behind_one_proxy
):
    settings.LOGIN_RATE = "2/min"
    proxy = {"REMOTE_ADDR": "172.18.0.5"}  # every request comes from nginx
    # What the client wrote in the header itself (left) changes nothing; nginx appends the
    # address it saw (right).
    forged = [f"10.0.0.{n}, 203.0.113.7" for n in range(3)]
    statuses = [guess(Client(), HTTP_X_FORWARDED_FOR=xff, **proxy).status_code for xff in forged]
    assert statuses == [200, 200, 429]
    neighbour = guess(Client(), HTTP_X_FORWARDED_FOR="198.51.100.2", **proxy)
    assert neighbour.status_code == 200  # another client behind the same proxy


# The storefront's search by photo ------------------------------------------------------------


def test_photo_searches_over_the_limit_get_the_page_with_a_message(settings, monkeypatch):
    settings.PHOTO_SEARCH_RATE = "2/min"
    client = Client()
    assert [search(client).status_code for _ in range(2)] == [200, 200]

    searched = []
    monkeypatch.setattr("shop.views.products_by_photo", lambda **kw: searched.append(kw) or [])
    page = search(client)
    assert_limited(page, "You have searched by photo many times in a short while")
    assert searched == []  # the photo was not even looked at
    content = page.content.decode()
    assert "<h1>Search by photo</h1>" in content and 'id="photo-search"' in content  # try again
    assert f"wait {page['Retry-After']} seconds" in content

    # The page's script asks for the results alone: it gets the same message, to show as is.
    fragment = search(client, fragment=True)
    assert_limited(fragment, "You have searched by photo many times")
    assert (
        "<h1>" not in fragment.content.decode() and "Too many searches" in fragment.content.decode()
    )
    # Looking at the page and browsing are not searches.
    assert client.get(SEARCH).status_code == 200
    assert client.get(reverse("shop:search")).status_code == 200


def test_other_clients_search_by_photo_while_one_is_limited(settings):
    settings.PHOTO_SEARCH_RATE = "1/min"
    search(Client(), REMOTE_ADDR="203.0.113.7")
    assert search(Client(), REMOTE_ADDR="203.0.113.7").status_code == 429
    assert search(Client(), REMOTE_ADDR="198.51.100.2").status_code == 200


def test_a_forwarded_for_header_does_not_dodge_the_photo_search_limit(settings):
    settings.PHOTO_SEARCH_RATE = "2/min"
    statuses = [search(Client(), HTTP_X_FORWARDED_FOR=f"10.0.0.{n}").status_code for n in range(3)]
    assert statuses == [200, 200, 429]


def test_the_api_keeps_its_own_photo_search_budget(settings, monkeypatch):
    """PHOTO_SEARCH_RATE counts the pages' searches, API_PHOTO_SEARCH_RATE the API's."""
    settings.PHOTO_SEARCH_RATE = "1/min"
    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", {"photo_search": "1/min"})
    client = Client()
    assert [search(client).status_code for _ in range(2)] == [200, 429]
    api = reverse("api:photo-search")
    photo = {"photo": SimpleUploadedFile("p.jpg", jpeg_bytes(), "image/jpeg")}
    assert client.post(api, photo).status_code == 200
    photo = {"photo": SimpleUploadedFile("p.jpg", jpeg_bytes(), "image/jpeg")}
    assert client.post(api, photo).status_code == 429


# The client's address ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("proxies", "remote", "forwarded", "expected"),
    [
        (0, "203.0.113.7", None, "203.0.113.7"),
        (0, "203.0.113.7", "10.0.0.1", "203.0.113.7"),  # no proxy: the header is the client's
        (1, "172.18.0.5", "10.0.0.1, 203.0.113.7", "203.0.113.7"),  # what nginx appended
        (1, "172.18.0.5", None, "172.18.0.5"),  # no header: the socket
        (2, "172.18.0.5", "10.0.0.1, 203.0.113.7, 192.0.2.9", "203.0.113.7"),
        (0, "2001:db8::1", None, "2001:db8::1"),
    ],
)
def test_the_limits_key_on_the_address_drfs_throttles_use(
    settings, proxies, remote, forwarded, expected
):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": proxies}
    headers = {"HTTP_X_FORWARDED_FOR": forwarded} if forwarded else {}
    request = RequestFactory().post("/", REMOTE_ADDR=remote, **headers)
    assert client_address(request) == expected
    assert ScopedRateThrottle().get_ident(request) == expected  # the API's key: the same


def test_a_forwarded_for_that_is_not_an_address_counts_as_the_socket(settings, behind_one_proxy):
    """A proxy that passes the client's header on without appending to it (misconfigured)."""
    request = RequestFactory().post("/", REMOTE_ADDR="172.18.0.5", HTTP_X_FORWARDED_FOR="junk")
    assert client_address(request) == "172.18.0.5"
    settings.LOGIN_RATE = "1/min"
    guess(Client(), REMOTE_ADDR="172.18.0.5", HTTP_X_FORWARDED_FOR="junk")
    assert (
        guess(Client(), REMOTE_ADDR="172.18.0.5", HTTP_X_FORWARDED_FOR="junk2").status_code == 429
    )
