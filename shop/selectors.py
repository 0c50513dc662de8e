"""Reads from the catalogue."""

from django.db.models import QuerySet

from shop.models import Product


def product_list_storefront() -> QuerySet[Product]:
    """Products a shopper may see, newest first, with their images in one extra query."""
    return (
        Product.objects.filter(is_active=True)
        .select_related("category")
        .prefetch_related("images")
        .order_by("-created_at", "-id")
    )
