"""Storefront pages, by what the shopper does: browse the catalogue, buy (cart, checkout,
order), search by photo. Thin: read the request, call a selector or service, render."""

from shop.views.buying import cart, cart_add, cart_update, checkout, order
from shop.views.catalogue import category, home, product, search
from shop.views.photos import photo_search
from shop.views.privacy import consent

__all__ = [
    "cart",
    "cart_add",
    "cart_update",
    "category",
    "checkout",
    "consent",
    "home",
    "order",
    "photo_search",
    "product",
    "search",
]
