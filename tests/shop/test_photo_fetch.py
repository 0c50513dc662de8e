"""Photo URLs from a catalogue are fetched without ever reaching the shop's own network, and
without letting a hostile server hold a worker or its memory."""

import time

import pytest

from shop.photo_fetch import (
    FetchLimits,
    PhotoFetchError,
    address_refusal,
    photo_fetch,
)
from tests.factories.catalogue import jpeg_bytes
from tests.shop.photo_server import PhotoServer

LOOPBACK_ALLOWED = FetchLimits(max_bytes=1024 * 1024, allow_loopback=True, deadline_seconds=2)


@pytest.fixture
def server():
    with PhotoServer() as server:
        server.photos["/shoe.jpg"] = jpeg_bytes()
        yield server


@pytest.mark.parametrize(
    ("address", "allowed"),
    [
        ("93.184.216.34", True),
        ("2606:2800:220:1:248:1893:25c8:1946", True),
        ("127.0.0.1", False),
        ("127.8.9.10", False),
        ("::1", False),
        ("10.0.0.7", False),
        ("172.16.4.4", False),
        ("192.168.1.1", False),
        ("169.254.169.254", False),  # cloud metadata
        ("100.64.0.1", False),  # carrier-grade NAT
        ("0.0.0.0", False),
        ("224.0.0.1", False),
        ("fe80::1", False),
        ("fd00::1", False),
        ("::ffff:10.0.0.1", False),  # an IPv4 private address in IPv6 dress
        ("::ffff:127.0.0.1", False),
    ],
)
def test_only_public_addresses_may_be_fetched(address, allowed):
    assert (address_refusal(address, allow_loopback=False) == "") is allowed


def test_a_photo_is_fetched_from_a_server_the_settings_allow(server):
    assert photo_fetch(server.url("/shoe.jpg"), LOOPBACK_ALLOWED) == server.photos["/shoe.jpg"]


def test_loopback_is_refused_by_default_and_nothing_is_sent(server):
    limits = FetchLimits(max_bytes=1024 * 1024)
    for url in (server.url("/shoe.jpg"), server.url("/shoe.jpg").replace("127.0.0.1", "localhost")):
        with pytest.raises(
            PhotoFetchError, match=r"(is|127\.0\.0\.1,) a loopback address"
        ) as refused:
            photo_fetch(url, limits)
        assert not refused.value.temporary
    assert server.requests == []


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("/redirect-private", "10.11.12.13 is a private"),
        ("/redirect-metadata", "169.254.169.254 is a private"),
    ],
)
def test_a_redirect_to_a_private_address_is_refused_before_connecting(server, path, reason):
    with pytest.raises(PhotoFetchError, match=reason):
        photo_fetch(server.url(path), LOOPBACK_ALLOWED)
    # The only request made was the first one, to the allowed server.
    assert server.requests == [path]


def test_redirects_are_followed_and_capped(server):
    assert photo_fetch(server.url("/redirect-to/shoe.jpg"), LOOPBACK_ALLOWED)
    with pytest.raises(PhotoFetchError, match="more than 3 redirects"):
        photo_fetch(server.url("/redirect-loop"), LOOPBACK_ALLOWED)
    assert server.requests.count("/redirect-loop/4") == 0


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("/two-gigabytes", "larger than 1 MB"),  # refused on its Content-Length
        ("/huge-unannounced", "larger than 1 MB"),  # counted while it streams
        ("/never-ends", "took longer than 2 s"),
    ],
)
def test_a_body_too_large_or_too_slow_is_cut_off(server, path, reason):
    started = time.monotonic()
    with pytest.raises(PhotoFetchError, match=reason) as refused:
        photo_fetch(server.url(path), LOOPBACK_ALLOWED)
    assert not refused.value.temporary
    assert time.monotonic() - started < 10


def test_server_errors_are_temporary_and_client_errors_final(server):
    server.failures_left["/shoe.jpg"] = 1
    with pytest.raises(PhotoFetchError, match="HTTP 503") as busy:
        photo_fetch(server.url("/shoe.jpg"), LOOPBACK_ALLOWED)
    assert busy.value.temporary
    with pytest.raises(PhotoFetchError, match="HTTP 404") as missing:
        photo_fetch(server.url("/gone.jpg"), LOOPBACK_ALLOWED)
    assert not missing.value.temporary


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("file:///etc/passwd", "only http"),
        ("ftp://example.com/a.jpg", "only http"),
        ("http:///no-host.jpg", "no host"),
        ("http://example.com:http/a.jpg", "port"),
    ],
)
def test_urls_that_are_not_plain_http_are_refused(url, reason):
    with pytest.raises(PhotoFetchError, match=reason):
        photo_fetch(url, LOOPBACK_ALLOWED)


def test_a_server_that_is_down_is_temporary():
    with PhotoServer() as gone:
        url = gone.url("/shoe.jpg")
    with pytest.raises(PhotoFetchError, match=r"cannot reach 127\.0\.0\.1") as down:
        photo_fetch(url, LOOPBACK_ALLOWED)
    assert down.value.temporary
