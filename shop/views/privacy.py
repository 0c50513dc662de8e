"""The shopper's answer to the consent banner (shown when EVENTS_REQUIRE_CONSENT is on)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from recommender.behaviour import privacy
from shop.views.buying import _safe_next


@require_POST
def consent(request: HttpRequest) -> HttpResponse:
    answer = privacy.CONSENTED if request.POST.get("answer") == "yes" else privacy.REFUSED
    response = redirect(_safe_next(request) or "shop:home")
    response.set_cookie(
        privacy.CONSENT_COOKIE,
        answer,
        max_age=privacy.COOKIE_MAX_AGE,
        httponly=True,
        samesite="Lax",
        secure=request.is_secure(),
    )
    if answer == privacy.REFUSED:
        response.delete_cookie(privacy.VISITOR_COOKIE)
    return response
