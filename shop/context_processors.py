from shop.cart import Cart


def cart(request) -> dict:
    """The number of items in the cart, for the header on every page."""
    return {"cart_count": len(Cart(request.session)) if hasattr(request, "session") else 0}
