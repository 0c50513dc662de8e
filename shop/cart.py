"""The shopper's cart, kept in their session: product ids and quantities, never prices.

Prices, titles and stock are read fresh from the catalogue every time the cart is shown, so a
cart never sells at a stale price; lines whose product can no longer be bought say so.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from shop.models import Product

SESSION_KEY = "cart"
MAX_QUANTITY = 99


@dataclass
class CartLine:
    product: Product
    quantity: int

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
        return ""


class Cart:
    def __init__(self, session):
        self._session = session
        self._items: dict[str, int] = dict(session.get(SESSION_KEY, {}))

    def __len__(self) -> int:
        """Number of items (quantities added up), as shown on the cart link."""
        return sum(self._items.values())

    def quantity(self, product_id: int) -> int:
        return self._items.get(str(product_id), 0)

    def set(self, product: Product, quantity: int) -> int:
        """Set a line's quantity, capped by the stock; 0 removes it. Returns what was set."""
        quantity = max(0, min(quantity, product.stock, MAX_QUANTITY))
        if quantity:
            self._items[str(product.pk)] = quantity
        else:
            self._items.pop(str(product.pk), None)
        self._save()
        return quantity

    def remove(self, product_id: int) -> None:
        self._items.pop(str(product_id), None)
        self._save()

    def clear(self) -> None:
        self._items = {}
        self._save()

    def items(self) -> dict[int, int]:
        return {int(product_id): quantity for product_id, quantity in self._items.items()}

    def lines(self) -> list[CartLine]:
        """The cart's lines in the order they were added; vanished products are dropped."""
        products = (
            Product.objects.filter(pk__in=self.items())
            .select_related("category")
            .prefetch_related("images")
            .in_bulk()
        )
        if len(products) != len(self._items):
            self._items = {key: n for key, n in self._items.items() if int(key) in products}
            self._save()
        return [CartLine(products[product_id], n) for product_id, n in self.items().items()]

    def _save(self) -> None:
        self._session[SESSION_KEY] = self._items
        self._session.modified = True


def cart_total(lines: list[CartLine]) -> Decimal:
    return sum((line.subtotal for line in lines), Decimal(0))
