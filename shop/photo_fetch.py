"""Fetching a product photo from a URL that a catalogue gave, without letting the catalogue
point the shop at its own network (server-side request forgery).

Every address a host name resolves to is checked before connecting, and the connection goes to
the checked address (a second DNS answer cannot swap it); each redirect is checked the same way
and their number is capped; the connection and each read have timeouts, the body a deadline
and a byte limit counted while it streams (a server that trickles its headers is cut off by the
task's time limit, shop/tasks.py). No Django here: the caller
passes the limits (settings ``SHOP_PHOTO_FETCH_*``) and checks the bytes (shop.images).
"""

from __future__ import annotations

import ipaddress
import socket
import time
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import urllib3

USER_AGENT = "Vitrine-photo-fetcher/1 (+https://github.com/vitrine)"
REDIRECT_STATUSES = {301, 302, 303, 307, 308}
CHUNK_BYTES = 64 * 1024


class PhotoFetchError(Exception):
    """The photo cannot be had from this URL; the message says why, for the shop admin."""

    # Worth trying again later (the server is down or busy), as opposed to refused for good.
    temporary = False


class PhotoFetchUnavailable(PhotoFetchError):
    temporary = True


@dataclass(frozen=True)
class FetchLimits:
    max_bytes: int
    connect_timeout: float = 5.0
    read_timeout: float = 10.0
    deadline_seconds: float = 30.0
    max_redirects: int = 3
    # Only for tests and the bench, whose photo servers run on this machine.
    allow_loopback: bool = False


def photo_fetch(url: str, limits: FetchLimits) -> bytes:
    """The body of ``url`` after at most ``limits.max_redirects`` redirects, or
    ``PhotoFetchError``. Never connects to a private, loopback or link-local address."""
    deadline = time.monotonic() + limits.deadline_seconds
    for _ in range(limits.max_redirects + 1):
        response = _get(url, limits)
        try:
            if response.status in REDIRECT_STATUSES:
                location = response.headers.get("Location", "")
                if not location:
                    raise PhotoFetchError(f"HTTP {response.status} without a Location")
                url = urljoin(url, location)
                continue
            if response.status == 429 or response.status >= 500:
                raise PhotoFetchUnavailable(f"HTTP {response.status} from {_host(url)}")
            if response.status != 200:
                raise PhotoFetchError(f"HTTP {response.status}")
            return _read_body(response, limits, deadline)
        finally:
            response.release_conn()
    raise PhotoFetchError(f"more than {limits.max_redirects} redirects")


def address_refusal(address: str, *, allow_loopback: bool) -> str:
    """Why the shop may not connect to ``address`` ("" when it may)."""
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    if ip.is_loopback:
        return "" if allow_loopback else "a loopback address"
    if ip.is_global and not ip.is_multicast:
        return ""
    return "a private, link-local or reserved address"


def _get(url: str, limits: FetchLimits) -> urllib3.BaseHTTPResponse:
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"}:
        raise PhotoFetchError(f"{parts.scheme or 'no'} scheme: only http(s) URLs are fetched")
    if not parts.hostname:
        raise PhotoFetchError("the URL has no host")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise PhotoFetchError("the URL's port is not a number") from None
    address = _checked_address(parts.hostname, port, limits.allow_loopback)
    timeout = urllib3.Timeout(connect=limits.connect_timeout, read=limits.read_timeout)
    if parts.scheme == "https":
        # Connect to the checked address, verify the certificate for the host name.
        pool = urllib3.HTTPSConnectionPool(
            address,
            port,
            timeout=timeout,
            retries=False,
            server_hostname=parts.hostname,
            assert_hostname=parts.hostname,
        )
    else:
        pool = urllib3.HTTPConnectionPool(address, port, timeout=timeout, retries=False)
    target = parts.path or "/"
    if parts.query:
        target += f"?{parts.query}"
    host = parts.hostname if parts.port is None else f"{parts.hostname}:{parts.port}"
    try:
        return pool.urlopen(
            "GET",
            target,
            headers={"Host": host, "User-Agent": USER_AGENT, "Accept": "image/*"},
            redirect=False,
            preload_content=False,
        )
    except urllib3.exceptions.HTTPError as error:
        raise PhotoFetchUnavailable(f"cannot reach {parts.hostname}: {_reason(error)}") from None


def _checked_address(host: str, port: int, allow_loopback: bool) -> str:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as error:
        raise PhotoFetchUnavailable(f"cannot resolve {host}: {error}") from None
    addresses = [info[4][0] for info in infos]
    # Every answer is checked, not just the one used: a mixed answer is a warning sign.
    for address in addresses:
        refusal = address_refusal(address, allow_loopback=allow_loopback)
        if refusal:
            if host.strip("[]") == address:
                raise PhotoFetchError(f"{address} is {refusal}")
            raise PhotoFetchError(f"{host} resolves to {address}, {refusal}")
    if not addresses:
        raise PhotoFetchUnavailable(f"cannot resolve {host}")
    return addresses[0]


def _read_body(response, limits: FetchLimits, deadline: float) -> bytes:
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > limits.max_bytes:
        raise PhotoFetchError(f"the photo is larger than {_megabytes(limits.max_bytes)}")
    body = bytearray()
    try:
        # read1: at most one read from the socket, so that a trickle still meets the deadline.
        while chunk := response.read1(CHUNK_BYTES):
            body += chunk
            if len(body) > limits.max_bytes:
                raise PhotoFetchError(f"the photo is larger than {_megabytes(limits.max_bytes)}")
            if time.monotonic() > deadline:
                raise PhotoFetchError(
                    f"the photo took longer than {limits.deadline_seconds:g} s to arrive"
                )
    except urllib3.exceptions.HTTPError as error:
        raise PhotoFetchUnavailable(f"the transfer broke off: {_reason(error)}") from None
    return bytes(body)


def _reason(error: Exception) -> str:
    reason = getattr(error, "reason", None) or error
    return str(reason).split(": ", 1)[-1][:200]


def _host(url: str) -> str:
    return urlsplit(url).hostname or url


def _megabytes(count: int) -> str:
    return f"{count / 2**20:g} MB"
