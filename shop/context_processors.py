from shop.cart import Cart
from shop.selectors import category_menu


def cart(request) -> dict:
    """The number of items in the cart, for the header on every page."""
    return {"cart_count": len(Cart(request.session)) if hasattr(request, "session") else 0}


def categories(request) -> dict:
    """The top categories, for the header's menu on every page (lazily: a page that never
    shows the header, such as the API's, never asks)."""
    return {"category_menu": category_menu}
