"""Rate limits on the forms that guard a password or cost the shop most: the admin login and the
storefront's search by photo. (The API's photo search has DRF's throttle: ``photo_search`` in
``REST_FRAMEWORK``.)

Counted with django-ratelimit in the default cache, per client address: the address DRF's
throttles use (see ``client_address``), so that neither a client that sends X-Forwarded-For nor
one that goes through the API instead of the pages is counted differently. Only POSTs count:
reading the login page or the search page costs nothing. Rates come from settings
(``LOGIN_RATE``, ``PHOTO_SEARCH_RATE``), read at each request.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from functools import wraps

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django_ratelimit.core import get_usage
from rest_framework.throttling import BaseThrottle

LOGIN_LIMITED = (
    "Too many login attempts from your address. Please wait {seconds} seconds before trying again."
)


# The key of requests that carry no address at all (a server on a Unix socket with no proxy in
# front): they share one bucket.
UNKNOWN_CLIENT = "0.0.0.0"


def client_address(request: HttpRequest) -> str:
    """The client's address, as DRF's throttles see it (``RATELIMIT_IP_META_KEY``).

    With ``NUM_PROXIES`` 0 (no proxy) the socket's address; behind N trusted proxies the Nth
    address from the right of X-Forwarded-For, which those proxies wrote. Something that is not
    an address there (a proxy that does not append to the header) counts as the socket's.
    """
    for address in (BaseThrottle().get_ident(request), request.META.get("REMOTE_ADDR")):
        try:
            ipaddress.ip_address(address)
        except ValueError:
            continue
        return address
    return UNKNOWN_CLIENT


def post_limit_exceeded(request: HttpRequest, *, group: str, rate: str) -> int | None:
    """Count this request against its client's limit if it is a POST.

    Returns None within the limit, else the seconds until the client may post again (the end
    of its current window). IPv6 clients are counted per /64, as one machine usually has many
    addresses in it (django-ratelimit's default).
    """
    usage = get_usage(request, group=group, key="ip", rate=rate, method="POST", increment=True)
    if usage is None or not usage["should_limit"]:
        return None
    return max(usage["time_left"], 1)


def too_many_requests(request: HttpRequest, *, message: str, retry_after: int) -> HttpResponse:
    """429 with the message and a Retry-After header, on a small page of its own."""
    response = render(request, "429.html", {"message": message}, status=429)
    response["Retry-After"] = str(retry_after)
    return response


def limit_posts(*, group: str, rate_setting: str, message: str) -> Callable:
    """Decorate a view: over the limit, a POST gets the 429 page instead of the view.

    ``message`` may name ``{seconds}``, the wait. For views with no page of their own to say it
    in (the admin login); the storefront's photo search says it in its own results.
    """

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def limited(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            rate = getattr(settings, rate_setting)
            retry_after = post_limit_exceeded(request, group=group, rate=rate)
            if retry_after is not None:
                text = message.format(seconds=retry_after)
                return too_many_requests(request, message=text, retry_after=retry_after)
            return view(request, *args, **kwargs)

        return limited

    return decorator
