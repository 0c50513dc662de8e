"""Who is recorded, and under which name.

Nothing is recorded for a crawler, for a browser that asks not to be tracked (Do Not Track,
Global Privacy Control), with ``EVENTS_ENABLED`` off, or, with ``EVENTS_REQUIRE_CONSENT`` on,
before the shopper has said yes. A recorded visitor carries a random cookie of no meaning; what
is stored is a keyed hash of it under the day's salt. Salts are random, kept in the database
for two days and then deleted (storing.py), so that a visit's events belong together while two
days of one shopper's events cannot be linked, by anyone. The IP address, the user agent and
the session key are never stored.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
from datetime import date

from crawlerdetect import CrawlerDetect
from django.conf import settings
from django.http import HttpRequest

from recommender.models import VisitorSalt

VISITOR_COOKIE = "vitrine_visitor"
CONSENT_COOKIE = "vitrine_consent"
RECENTLY_VIEWED_COOKIE = "vitrine_recent"
CONSENTED = "yes"
REFUSED = "no"
COOKIE_MAX_AGE = 365 * 24 * 3600

_crawlers = CrawlerDetect()
_salts: dict[date, bytes] = {}
_salts_lock = threading.Lock()


def recording_allowed(request: HttpRequest) -> bool:
    """Whether what this request's shopper does may be recorded at all."""
    if not settings.EVENTS_ENABLED:
        return False
    meta = request.META
    if meta.get("HTTP_DNT") == "1" or meta.get("HTTP_SEC_GPC") == "1":
        return False
    if settings.EVENTS_REQUIRE_CONSENT and request.COOKIES.get(CONSENT_COOKIE) != CONSENTED:
        return False
    agent = meta.get("HTTP_USER_AGENT", "")
    # Every browser names itself; a client that does not is a script.
    return bool(agent) and not _crawlers.isCrawler(agent)


def consent_asked(request: HttpRequest) -> bool:
    """Whether the storefront should ask this shopper for consent (not yet answered, and not
    already refused by the browser itself)."""
    return (
        settings.EVENTS_ENABLED
        and settings.EVENTS_REQUIRE_CONSENT
        and request.COOKIES.get(CONSENT_COOKIE) not in (CONSENTED, REFUSED)
        and request.META.get("HTTP_DNT") != "1"
        and request.META.get("HTTP_SEC_GPC") != "1"
    )


def visitor_token_new() -> str:
    return secrets.token_urlsafe(16)


def visitor_pseudonym(token: str, *, day: date) -> str:
    """The name under which ``token``'s events of ``day`` are stored."""
    return hmac.new(_salt(day), token.encode(), hashlib.sha256).hexdigest()[:32]


def _salt(day: date) -> bytes:
    salt = _salts.get(day)
    if salt is None:
        with _salts_lock:
            row, _ = VisitorSalt.objects.get_or_create(
                day=day, defaults={"salt": secrets.token_bytes(32)}
            )
            for old in [known for known in _salts if known < day]:
                del _salts[old]  # forgotten here too, not only in the database
            salt = _salts[day] = bytes(row.salt)
    return salt
