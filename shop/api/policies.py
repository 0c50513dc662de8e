"""API-wide policies named in settings.REST_FRAMEWORK: who may write or see hidden products,
page size, error bodies.

Kept apart from the views: DRF imports these while its own views module is still loading.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, permissions
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import PageNumberPagination
from rest_framework.throttling import ScopedRateThrottle

from config.errors import api_error_body
from config.ratelimits import client_address


def sees_hidden_products(user) -> bool:
    """Whether ``user`` may read inactive products and embedding status: staff who may view
    products in the admin (its view or change permission), as the admin decides."""
    return bool(
        user
        and user.is_active
        and user.is_staff
        and (user.has_perm("shop.view_product") or user.has_perm("shop.change_product"))
    )


class StaffModelPermissionsOrReadOnly(permissions.DjangoModelPermissions):
    """Anyone may read; a write needs what the admin would ask for the same change: a staff
    account with Django's model permission on the view's model (``add_product`` to create,
    ``change_product`` to change). Being staff is not enough: an order clerk cannot reprice
    products."""

    def has_permission(self, request, view) -> bool:
        if request.method in permissions.SAFE_METHODS:
            return True
        return bool(request.user.is_staff and super().has_permission(request, view))


class HiddenProductReader(permissions.BasePermission):
    """Staff who may view products in the admin (``sees_hidden_products``)."""

    def has_permission(self, request, view) -> bool:
        return sees_hidden_products(request.user)


class AddressScopedRateThrottle(ScopedRateThrottle):
    """DRF's scoped throttle, counted per client address for everyone. DRF counts a logged-in
    user per account, which gives one address a budget for every account it holds."""

    def get_cache_key(self, request, view) -> str:
        return self.cache_format % {"scope": self.scope, "ident": client_address(request)}


class ProductPagination(PageNumberPagination):
    page_size = 24
    page_size_query_param = "page_size"
    max_page_size = 100

    def get_page_size(self, request) -> int:
        """DRF falls back to the default for a bad ``page_size``; a client deserves a 400."""
        raw = request.query_params.get(self.page_size_query_param, "")
        if raw == "":
            return self.page_size
        if not raw.isdigit() or not 1 <= int(raw) <= self.max_page_size:
            message = f"A whole number from 1 to {self.max_page_size}."
            raise ValidationError({self.page_size_query_param: [message]})
        return int(raw)


def exception_handler(exc, context):
    """Every API error as ``{"error": code, "detail": message, "fields": {...}}``."""
    if isinstance(exc, Http404):
        exc = exceptions.NotFound(str(exc) or None)
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    elif isinstance(exc, DjangoValidationError):
        exc = ValidationError(exc.message_dict if hasattr(exc, "error_dict") else exc.messages)
    from rest_framework.views import exception_handler as drf_exception_handler

    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    data = response.data
    code = getattr(exc, "default_code", "error")
    if isinstance(exc, ValidationError):
        fields = data if isinstance(data, dict) else {"non_field_errors": data}
        fields = {name: _messages(value) for name, value in fields.items()}
        first = next(iter(fields.items()), ("", [""]))
        body = api_error_body("invalid", f"{first[0]}: {first[1][0]}", fields=fields)
    else:
        detail = data.get("detail", data) if isinstance(data, dict) else data
        body = api_error_body(code, str(detail))
    response.data = body
    return response


def _messages(value) -> list[str]:
    if isinstance(value, dict):
        return [f"{key}: {message}" for key, item in value.items() for message in _messages(item)]
    if isinstance(value, list):
        return [message for item in value for message in _messages(item)]
    return [str(value)]
