"""The storefront's photo-search rate limit counts photos, not every refinement of one.

A shopper who nudges the crop box or changes a filter searches the same photo again, and the
page's script says so (``Vitrine-Refine: yes``). Such a search of a photo this client has
already had counted (the same bytes, by their SHA-256, from the same address, in the last
``SEEN_FOR`` seconds) is counted against a refinement budget of its own,
``REFINEMENTS_PER_PHOTO`` times ``PHOTO_SEARCH_RATE``, instead of the photo budget. Every other
search counts as a photo: a new photo, the Search button, a form posted without the script, and
a "refinement" of a photo the client never had counted (the header alone buys nothing). So
uploading many photos is limited as before, and a client that refines one photo without end is
still stopped, only later.
"""

from __future__ import annotations

import hashlib
import re

from django.conf import settings
from django.core.cache import cache
from django.core.files.uploadedfile import UploadedFile
from django.http import HttpRequest

from config.ratelimits import client_address, post_limit_exceeded

REFINEMENTS_PER_PHOTO = 4
SEEN_FOR = 30 * 60  # seconds a counted photo may be refined from the refinement budget
REFINE_HEADER = "Vitrine-Refine"

_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def photo_search_limit_exceeded(request: HttpRequest) -> int | None:
    """Count this POST against its client's photo or refinement budget (see the module).

    Returns None within the budget, else the seconds until the client may search again.
    """
    photo = request.FILES.get("photo")
    seen = f"photo-search:seen:{client_address(request)}:{_digest(photo)}" if photo else None
    if seen and request.headers.get(REFINE_HEADER) == "yes" and cache.get(seen):
        return post_limit_exceeded(request, group="photo-search-refine", rate=_refine_rate())
    retry_after = post_limit_exceeded(
        request, group="photo-search", rate=settings.PHOTO_SEARCH_RATE
    )
    if retry_after is None and seen:
        cache.set(seen, True, SEEN_FOR)
    return retry_after


def _digest(photo: UploadedFile) -> str:
    digest = hashlib.sha256()
    for chunk in photo.chunks():
        digest.update(chunk)
    photo.seek(0)  # the form reads it next
    return digest.hexdigest()


def _refine_rate() -> str:
    """``PHOTO_SEARCH_RATE`` in django-ratelimit's syntax ("30/min", "10/5m", "100/10s") with
    its count times REFINEMENTS_PER_PHOTO."""
    rate = re.fullmatch(r"(\d+)/(\d*)([smhd])\w*", settings.PHOTO_SEARCH_RATE.strip().lower())
    count, periods, unit = rate.groups()
    return f"{int(count) * REFINEMENTS_PER_PHOTO}/{int(periods or 1) * _PERIODS[unit]}s"
