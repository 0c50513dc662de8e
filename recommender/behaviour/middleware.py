"""``request.visitor`` for the views that record events, and the visitor's cookie once one was
recorded."""

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
        return response
