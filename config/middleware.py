"""Requests turned away at the door: bodies too large (413), requests queued too long (503);
and a bound on the photo decoding one request may cause."""

import time

from django.conf import settings
from django.http import HttpResponse

from config.errors import api_error, service_unavailable
from shop.images import request_photo_budget


class RequestSizeLimitMiddleware:
    """413 for bodies over ``REQUEST_MAX_BYTES`` (a photo of at most 10 MB plus form fields).

    Django streams large uploads to a temporary file before any view can look at their size;
    this stops them at the door instead. Behind a proxy, set the proxy's limit too (nginx
    ``client_max_body_size``), since chunked requests carry no length.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        limit = settings.REQUEST_MAX_BYTES
        if length > limit:
            message = f"The request is larger than {limit // (1024 * 1024)} MB."
            if request.path.startswith("/api/"):
                return api_error("too_large", message, status=413)
            return HttpResponse(message, status=413, content_type="text/plain; charset=utf-8")
        return self.get_response(request)


class RequestQueueDeadlineMiddleware:
    """503 at once for requests that waited in the queue longer than ``REQUEST_QUEUE_TIMEOUT``.

    Past capacity, requests wait in the listen queue for a free worker; served in turn, every
    one of them would come back later than the shopper waits, and the shop would spend all its
    time on answers nobody reads. The proxy in front stamps each request with the time it came
    in (nginx: ``X-Request-Start: t=${msec}``, see config/nginx); a request that waited too long
    is turned away before it costs anything, so the workers catch up with the queue. A request
    without the header (no proxy) is served as usual; a client that sends an old one only turns
    its own request away.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        timeout = settings.REQUEST_QUEUE_TIMEOUT
        started = _request_start(request.META.get("HTTP_X_REQUEST_START", ""))
        if timeout and started is not None and time.time() - started > timeout:
            return busy_response(request)
        return self.get_response(request)


def _request_start(header: str) -> float | None:
    """Seconds since the epoch from ``t=1764131234.567`` (nginx's ``$msec``), else None."""
    try:
        return float(header.removeprefix("t="))
    except ValueError:
        return None


BUSY = "The shop is very busy right now. Please try again in a few seconds."


def busy_response(request) -> HttpResponse:
    return service_unavailable(request, error="busy", detail=BUSY, retry_after=5)


class PhotoBudgetMiddleware:
    """Each request's photo checks decode at most ``PHOTO_DECODE_MB_PER_REQUEST`` in all.

    One photo is bounded by ``shop.images.MAX_DECODED_BYTES``; this bounds a request with many
    (the admin's photo rows): past the budget a photo is refused like any unusable one, with
    the reason.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        with request_photo_budget(settings.PHOTO_DECODE_MB_PER_REQUEST * 2**20):
            return self.get_response(request)
