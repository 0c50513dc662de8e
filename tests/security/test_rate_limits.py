"""Rate limits on the admin login and the storefront's search by photo: a 429 that says why and
when to come back, per client address, which a client cannot choose by sending X-Forwarded-For.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client, RequestFactory
from django.urls import reverse
from rest_framework.throttling import ScopedRateThrottle

from config.ratelimits import client_address
from tests.factories.catalogue import jpeg_bytes

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
    monkeypatch.setattr(
        "shop.views.photos.product_list_by_photo", lambda **kw: searched.append(kw) or []
    )
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


CROP = {"crop_x": "0.1", "crop_y": "0.1", "crop_w": "0.5", "crop_h": "0.5"}


def refine(client: Client, photo: bytes, **extra):
    """What the page's script posts when the shopper nudges the crop box of ``photo``."""
    upload = SimpleUploadedFile("p.jpg", photo, "image/jpeg")
    headers = {"Vitrine-Fragment": "results", "Vitrine-Refine": "yes"}
    return client.post(SEARCH, {"photo": upload, **CROP}, headers=headers, **extra)


def new_photo(client: Client, photo: bytes, **extra):
    return client.post(SEARCH, {"photo": SimpleUploadedFile("p.jpg", photo, "image/jpeg")}, **extra)


PHOTOS = [jpeg_bytes(colour=(20 * n, 30, 30)) for n in range(4)]  # four different photos


def test_crop_nudges_of_a_searched_photo_do_not_use_up_the_photo_budget(settings):
    settings.PHOTO_SEARCH_RATE = "2/min"
    client = Client()
    assert new_photo(client, PHOTOS[0]).status_code == 200
    # The review's shopper: 28 arrow-key nudges locked them out at 30 searches a minute.
    assert {refine(client, PHOTOS[0]).status_code for _ in range(6)} == {200}
    # A new photo still counts, so uploading many photos is limited as before.
    assert new_photo(client, PHOTOS[1]).status_code == 200
    assert new_photo(client, PHOTOS[2]).status_code == 429
    assert refine(client, PHOTOS[1]).status_code == 200  # its own refinements still work


def test_refining_a_photo_without_end_is_still_limited(settings):
    settings.PHOTO_SEARCH_RATE = "1/min"  # so 4 refinements a minute
    client = Client()
    assert new_photo(client, PHOTOS[0]).status_code == 200
    assert [refine(client, PHOTOS[0]).status_code for _ in range(5)] == [200] * 4 + [429]
    assert 1 <= int(refine(client, PHOTOS[0])["Retry-After"]) <= 60


def test_a_refinement_of_a_photo_never_counted_counts_as_a_new_photo(settings):
    """The header alone buys nothing: a client cannot call every upload a refinement."""
    settings.PHOTO_SEARCH_RATE = "2/min"
    client = Client()
    assert [refine(client, photo).status_code for photo in PHOTOS[:3]] == [200, 200, 429]


def test_a_photo_counted_for_one_client_is_new_to_another(settings):
    settings.PHOTO_SEARCH_RATE = "1/min"
    assert new_photo(Client(), PHOTOS[0], REMOTE_ADDR="203.0.113.7").status_code == 200
    other = {"REMOTE_ADDR": "198.51.100.2"}
    assert new_photo(Client(), PHOTOS[1], **other).status_code == 200
    # Refining the first client's photo is a new photo here: over this client's budget.
    assert refine(Client(), PHOTOS[0], **other).status_code == 429


def test_searching_the_same_photo_again_without_the_script_counts(settings):
    """The Search button, or the form without JavaScript: a search the shopper asked for."""
    settings.PHOTO_SEARCH_RATE = "2/min"
    client = Client()
    assert [new_photo(client, PHOTOS[0]).status_code for _ in range(3)] == [200, 200, 429]


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


def test_the_api_photo_search_budget_is_per_address_however_many_accounts_it_holds(
    monkeypatch, django_user_model
):
    """DRF counts logged-in users per account: each account an address held added 30/min."""
    from rest_framework.test import APIClient

    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", {"photo_search": "2/min"})
    statuses = []
    for number in range(4):
        client = APIClient(REMOTE_ADDR="203.0.113.7")
        client.force_authenticate(django_user_model.objects.create_user(f"shopper{number}"))
        photo = {"photo": SimpleUploadedFile("p.jpg", jpeg_bytes(), "image/jpeg")}
        statuses.append(client.post(reverse("api:photo-search"), photo).status_code)
    assert statuses == [200, 200, 429, 429]
    other = APIClient(REMOTE_ADDR="198.51.100.2")
    photo = {"photo": SimpleUploadedFile("p.jpg", jpeg_bytes(), "image/jpeg")}
    assert other.post(reverse("api:photo-search"), photo).status_code == 200


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


# The documented deployment: a TLS terminator, then nginx, then gunicorn ------------------------

ROOT = Path(__file__).resolve().parents[2]
TLS_TERMINATOR, NGINX = "10.0.0.2", "172.18.0.5"


def compose_num_proxies() -> int:
    """DJANGO_NUM_PROXIES as docker-compose.yml sets it when .env says nothing."""
    app = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["x-app"]
    default = re.fullmatch(
        r"\$\{DJANGO_NUM_PROXIES:-(\d+)\}", app["environment"]["DJANGO_NUM_PROXIES"]
    )
    assert default, "docker-compose.yml takes DJANGO_NUM_PROXIES from .env, with a default"
    return int(default.group(1))


def through_the_proxies(client: str, *, sent: str = "") -> dict:
    """What gunicorn gets for a request from ``client``: the TLS terminator appends the
    client's address to X-Forwarded-For, nginx appends the terminator's
    ($proxy_add_x_forwarded_for) and connects itself. ``sent``: a header the client made up."""
    chain = [address for address in (sent, client, TLS_TERMINATOR) if address]
    return {"REMOTE_ADDR": NGINX, "HTTP_X_FORWARDED_FOR": ", ".join(chain)}


@pytest.fixture
def documented_deployment(settings):
    assert "$proxy_add_x_forwarded_for" in (ROOT / "config/nginx/default.conf").read_text()
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": compose_num_proxies()}


def test_behind_the_documented_proxies_each_client_has_a_login_bucket_of_its_own(
    settings, boss, documented_deployment
):
    settings.LOGIN_RATE = "3/min"
    for _ in range(3):
        guess(Client(), **through_the_proxies("203.0.113.7"))
    assert guess(Client(), **through_the_proxies("203.0.113.7")).status_code == 429
    # Another member of staff, behind the same two proxies, still logs in.
    assert guess(Client(), PASSWORD, **through_the_proxies("198.51.100.2")).status_code == 302
    # A header the limited client makes up does not give it a new bucket.
    spoofed = through_the_proxies("203.0.113.7", sent="192.0.2.99")
    assert guess(Client(), **spoofed).status_code == 429


def test_behind_the_documented_proxies_photo_search_is_counted_per_client(
    settings, documented_deployment
):
    settings.PHOTO_SEARCH_RATE = "2/min"
    first, second = through_the_proxies("203.0.113.7"), through_the_proxies("198.51.100.2")
    assert [search(Client(), **first).status_code for _ in range(3)][-1] == 429
    assert search(Client(), **second).status_code == 200


def test_counting_one_proxy_behind_two_put_every_client_in_one_bucket(rf):
    """The review's finding, kept as a check that the tests above can fail: with the old
    setting every client is the TLS terminator."""
    from django.test import override_settings

    with override_settings(REST_FRAMEWORK={"NUM_PROXIES": 1}):
        seen = {
            client_address(rf.get("/", **through_the_proxies(client)))
            for client in ("203.0.113.7", "198.51.100.2")
        }
    assert seen == {TLS_TERMINATOR}


def test_a_request_without_any_address_is_counted_not_a_500():
    """A WSGI server on a Unix socket sends no REMOTE_ADDR (schemathesis's calls neither)."""
    from config.ratelimits import UNKNOWN_CLIENT

    request = RequestFactory().post("/")
    del request.META["REMOTE_ADDR"]
    assert client_address(request) == UNKNOWN_CLIENT


@pytest.mark.parametrize(
    ("rate", "refinements"),
    [("30/min", "120/60s"), ("10/5m", "40/300s"), ("100/10s", "400/10s"), ("5/d", "20/86400s")],
)
def test_the_refinement_budget_follows_every_rate_that_django_ratelimit_reads(
    settings, rate, refinements
):
    from shop.photo_search_limit import _refine_rate

    settings.PHOTO_SEARCH_RATE = rate
    assert _refine_rate() == refinements
