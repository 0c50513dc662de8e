"""The shopper's cart, kept in their session: product ids and quantities, never prices.

Prices, titles and stock are read fresh from the catalogue every time the cart is shown, so a
cart never sells at a stale price; lines whose product can no longer be bought say so.

One rule decides what may go in, whichever page asks (add, change a quantity): an active
product with a price and stock, in the cart's currency, while the cart has room. A product
that is hidden afterwards leaves the cart as one that is deleted does: a cart never shows what
the storefront does not.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from shop.models import Product

SESSION_KEY = "cart"
MAX_QUANTITY = 99
# Different products in one cart. More is not a shopper's cart, and each line costs the cart
# page (its suggestions ask the recommender for more the more lines there are).
MAX_LINES = 50


class CartError(ValueError):
    """The cart was not changed; the message says why, for the shopper."""


@dataclass
class CartLine:
    product: Product
    quantity: int
    cart_currency: str = ""

    @property
    def subtotal(self) -> Decimal:
        return (self.product.price or Decimal(0)) * self.quantity

    @property
    def problem(self) -> str:
        """Why this line cannot be checked out as it is ("" when it can)."""
        if not self.product.is_purchasable:
            return "no longer available"
        if self.quantity > self.product.stock:
            return f"only {self.product.stock} left"
        if self.cart_currency and self.product.currency != self.cart_currency:
            return (
                f"priced in {self.product.currency}, the rest of your cart in "
                f"{self.cart_currency}: order it separately"
            )
        return ""


class Cart:
    def __init__(self, session):
        self._session = session
        # A session from before the cap may hold more lines: only the first MAX_LINES count.
        self._items: dict[str, int] = dict(list(session.get(SESSION_KEY, {}).items())[:MAX_LINES])

    def __len__(self) -> int:
        """Number of items (quantities added up), as shown on the cart link."""
        return sum(self._items.values())

    def quantity(self, product_id: int) -> int:
        return self._items.get(str(product_id), 0)

    def set(self, product_id: int, quantity: int) -> tuple[Product, int]:
        """Set a line's quantity (at least 1), capped by the stock.

        Returns the product and the quantity set. Raises ``CartError`` (and changes nothing)
        when the product may not go in the cart: not shown in the shop, no price or stock, a
        currency other than the cart's, or no room for another line.
        """
        product = Product.objects.filter(pk=product_id, is_active=True).first()
        if product is None:
            raise CartError("This product is not in the shop.")
        if not product.is_purchasable:
            raise CartError(f"{product.title} cannot be bought at the moment.")
        key = str(product.pk)
        if key not in self._items and len(self._items) >= MAX_LINES:
            raise CartError(
                f"Your cart holds {MAX_LINES} different products, as many as it can: check "
                "out or remove some first."
            )
        currency = self._currency(excluding=product.pk)
        if currency and product.currency != currency:
            raise CartError(
                f"{product.title} is priced in {product.currency} and your cart in {currency}: "
                "order it separately."
            )
        quantity = min(quantity, product.stock, MAX_QUANTITY)
        self._items[key] = quantity
        self._save()
        return product, quantity

    def remove(self, product_id: int) -> None:
        self._items.pop(str(product_id), None)
        self._save()

    def clear(self) -> None:
        self._items = {}
        self._save()

    def items(self) -> dict[int, int]:
        return {int(product_id): quantity for product_id, quantity in self._items.items()}

    def lines(self) -> list[CartLine]:
        """The cart's lines in the order they were added; products that were deleted or hidden
        since are dropped."""
        products = (
            Product.objects.filter(pk__in=self.items(), is_active=True)
            .select_related("category")
            .prefetch_related("images")
            .in_bulk()
        )
        if len(products) != len(self._items):
            self._items = {key: n for key, n in self._items.items() if int(key) in products}
            self._save()
        ordered = [products[product_id] for product_id in self.items()]
        currency = ordered[0].currency if ordered else ""
        return [CartLine(product, self.quantity(product.pk), currency) for product in ordered]

    def _currency(self, *, excluding: int) -> str:
        """The cart's currency without ``excluding``: its first line's, as ``lines`` says ("" for
        no other line)."""
        others = [int(key) for key in self._items if int(key) != excluding]
        shown = Product.objects.filter(pk__in=others, is_active=True)
        currencies = dict(shown.values_list("pk", "currency"))
        return next((currencies[pk] for pk in others if pk in currencies), "")

    def _save(self) -> None:
        self._session[SESSION_KEY] = self._items
        self._session.modified = True


def cart_totals(lines: list[CartLine]) -> dict[str, Decimal]:
    """What the lines cost, by currency: a cart that mixes them (a product repriced in another
    currency after it went in) is never added up into one figure."""
    totals: dict[str, Decimal] = {}
    for line in lines:
        currency = line.product.currency
        totals[currency] = totals.get(currency, Decimal(0)) + line.subtotal
    return totals
