"""``request.visitor`` for the views that record events; the visitor's cookie once one was
recorded, and their "recently viewed" cookie when it changed."""

from __future__ import annotations

from recommender.behaviour import privacy
from recommender.behaviour.recording import Visitor


class VisitorMiddleware:
    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        request.visitor = visitor = Visitor(request)
        response = self.get_response(request)
        if visitor.new_token:
            response.set_cookie(
                privacy.VISITOR_COOKIE,
                visitor.new_token,
                max_age=privacy.COOKIE_MAX_AGE,
                httponly=True,
                samesite="Lax",
                secure=request.is_secure(),
            )
        if visitor.recently_viewed_changed:
            response.set_signed_cookie(
                privacy.RECENTLY_VIEWED_COOKIE,
                ".".join(map(str, visitor.recently_viewed)),
                salt=privacy.RECENTLY_VIEWED_COOKIE,
                max_age=privacy.COOKIE_MAX_AGE,
                httponly=True,
                samesite="Lax",
                secure=request.is_secure(),
            )
        return response
