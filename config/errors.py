"""Errors Django answers itself (server errors, requests it cannot read): the API's JSON format
under /api/, the shop's page elsewhere.

A database that cannot be reached (restarting, failing over, out of connections) is not a bug
in the shop: such a request gets a 503 with ``Retry-After``, and the next request, once the
database is back, reconnects on its own (``CONN_HEALTH_CHECKS``). Django sends every exception
that escapes a view or a middleware (sessions and authentication read the database too) to
``handler500`` inside its ``except`` block, so this one place sees them all.
"""

import sys

from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.db import InterfaceError, OperationalError
from django.http import HttpResponse, JsonResponse
from django.template import TemplateDoesNotExist, loader
from django.utils.html import escape
from django.views.defaults import bad_request as django_bad_request
from django.views.defaults import server_error as django_server_error

RETRY_AFTER_SECONDS = 30
UNAVAILABLE = (OperationalError, InterfaceError)


def api_error_body(error: str, detail: str, *, fields: dict | None = None) -> dict:
    """The API's one error body: ``{"error": code, "detail": message}``, with ``fields`` (each
    field's messages) for invalid input. DRF's errors (``shop.api.policies.exception_handler``)
    and the responses made outside DRF (``api_error``) are all built here."""
    body = {"error": error, "detail": detail}
    if fields is not None:
        body["fields"] = fields
    return body


def api_error(error: str, detail: str, *, status: int) -> JsonResponse:
    """An error response in the API's format, for responses made outside DRF."""
    return JsonResponse(api_error_body(error, detail), status=status)


def server_error(request):
    if database_unavailable(sys.exc_info()[1]):
        return service_unavailable(request)
    if request.path.startswith("/api/"):
        detail = "Something went wrong on our side; it has been logged. Please try again."
        return api_error("server_error", detail, status=500)
    return django_server_error(request)


def bad_request(request, exception):
    """400 for a request Django refuses to read (too many files or fields, a body too large
    to hold in memory): the API's JSON under /api/, saying what was wrong."""
    if not request.path.startswith("/api/"):
        return django_bad_request(request, exception)
    limits = {
        TooManyFilesSent: "The request has too many files (send one photo).",
        TooManyFieldsSent: "The request has too many fields.",
        RequestDataTooBig: "The request's fields are too large.",
    }
    detail = next(
        (text for kind, text in limits.items() if isinstance(exception, kind)),
        "The request could not be read.",
    )
    return api_error("bad_request", detail, status=400)


def database_unavailable(error: BaseException | None) -> bool:
    """Whether ``error``, or an error it was raised from, is the database being out of reach."""
    while error is not None:
        if isinstance(error, UNAVAILABLE):
            return True
        error = error.__cause__
    return False


UNAVAILABLE_DETAIL = "The shop is briefly unavailable. Please try again in a moment."


def service_unavailable(
    request,
    *,
    error: str = "unavailable",
    detail: str = UNAVAILABLE_DETAIL,
    retry_after: int = RETRY_AFTER_SECONDS,
) -> HttpResponse:
    """503 with ``Retry-After``: JSON under /api/, else the self-contained 503 page."""
    if request.path.startswith("/api/"):
        response = api_error(error, detail, status=503)
    else:
        try:
            # No request: context processors (the cart) would read the session from the database.
            body = loader.get_template("503.html").render({"detail": detail})
        except TemplateDoesNotExist:
            body = f"<h1>Back in a moment</h1><p>{escape(detail)}</p>"
        response = HttpResponse(body, status=503)
    response["Retry-After"] = str(retry_after)
    return response
