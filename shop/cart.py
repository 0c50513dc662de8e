"""The shopper's cart, kept in their session: product (and variant) ids and quantities, never
prices.

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

from shop.models import Product, ProductVariant

SESSION_KEY = "cart"
MAX_QUANTITY = 99
# Different products in one cart. More is not a shopper's cart, and each line costs the cart
# page (its suggestions ask the recommender for more the more lines there are).
MAX_LINES = 50


class CartError(ValueError):
    """The cart was not changed; the message says why, for the shopper."""


def line_key(product_id: int, variant_id: int | None = None) -> str:
    """A cart line's key in the session: ``"12"``, or ``"12:40"`` for variant 40 of product 12."""
    return str(product_id) if variant_id is None else f"{product_id}:{variant_id}"


def line_ids(key: str) -> tuple[int, int | None]:
    product_id, _, variant_id = key.partition(":")
    return int(product_id), int(variant_id) if variant_id else None


@dataclass
class CartLine:
    product: Product
    quantity: int
    cart_currency: str = ""
    variant: ProductVariant | None = None

    @property
    def key(self) -> str:
        return line_key(self.product.pk, self.variant.pk if self.variant else None)

    @property
    def name(self) -> str:
        return f"{self.product.title} ({self.variant.name})" if self.variant else self.product.title

    @property
    def unit_price(self) -> Decimal | None:
        return self.variant.unit_price if self.variant else self.product.price

    @property
    def stock(self) -> int:
        return self.variant.stock if self.variant else self.product.stock

    @property
    def subtotal(self) -> Decimal:
        return (self.unit_price or Decimal(0)) * self.quantity

    @property
    def problem(self) -> str:
        """Why this line cannot be checked out as it is ("" when it can)."""
        if self.variant is None and self.product.variants.all():
            return f"choose the {self.product.options_label} you want"
        if not self.product.is_active or self.unit_price is None or self.stock <= 0:
            return "no longer available"
        if self.quantity > self.stock:
            return f"only {self.stock} left"
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

    def quantity(self, product_id: int, variant_id: int | None = None) -> int:
        return self._items.get(line_key(product_id, variant_id), 0)

    def set(
        self, product_id: int, quantity: int, variant_id: int | None = None
    ) -> tuple[CartLine, int]:
        """Set a line's quantity (at least 1), capped by the stock.

        Returns the line and the quantity set. Raises ``CartError`` (and changes nothing)
        when the product may not go in the cart: not shown in the shop, no price or stock, a
        product with variants without one of them, a currency other than the cart's, or no
        room for another line.
        """
        product = Product.objects.filter(pk=product_id, is_active=True).first()
        if product is None:
            raise CartError("This product is not in the shop.")
        variant = None
        if variant_id is not None:
            variant = ProductVariant.objects.filter(pk=variant_id, product=product).first()
            if variant is None:
                raise CartError(f"{product.title} has no such option.")
        elif product.variants.exists():
            raise CartError(f"Choose the {product.options_label} of {product.title} you want.")
        line = CartLine(product, 0, variant=variant)
        if not product.is_active or line.unit_price is None or line.stock <= 0:
            raise CartError(f"{line.name} cannot be bought at the moment.")
        key = line.key
        if key not in self._items and len(self._items) >= MAX_LINES:
            raise CartError(
                f"Your cart holds {MAX_LINES} different products, as many as it can: check "
                "out or remove some first."
            )
        currency = self._currency(excluding=key)
        if currency and product.currency != currency:
            raise CartError(
                f"{product.title} is priced in {product.currency} and your cart in {currency}: "
                "order it separately."
            )
        line.quantity = min(quantity, line.stock, MAX_QUANTITY)
        self._items[key] = line.quantity
        self._save()
        return line, line.quantity

    def remove(self, product_id: int, variant_id: int | None = None) -> None:
        self._items.pop(line_key(product_id, variant_id), None)
        self._save()

    def clear(self) -> None:
        self._items = {}
        self._save()

    def items(self) -> dict[tuple[int, int | None], int]:
        """(product id, variant id or None) -> quantity, for ``order_place``."""
        return {line_ids(key): quantity for key, quantity in self._items.items()}

    def lines(self) -> list[CartLine]:
        """The cart's lines in the order they were added; products or variants that were
        deleted or hidden since are dropped."""
        ids = list(self.items())
        products = (
            Product.objects.filter(pk__in={pid for pid, _ in ids}, is_active=True)
            .select_related("category")
            .prefetch_related("images", "variants")
            .in_bulk()
        )
        # Each product's own variants (prefetched): a key naming another's finds nothing.
        variants = {(p.pk, v.pk): v for p in products.values() for v in p.variants.all()}
        lines = []
        for (pid, vid), quantity in self.items().items():
            variant = variants.get((pid, vid))
            if pid not in products or (vid is not None and variant is None):
                continue  # deleted or hidden since
            lines.append(CartLine(products[pid], quantity, variant=variant))
        if len(lines) != len(self._items):
            self._items = {line.key: line.quantity for line in lines}
            self._save()
        currency = lines[0].product.currency if lines else ""
        for line in lines:
            line.cart_currency = currency
        return lines

    def _currency(self, *, excluding: str) -> str:
        """The cart's currency without the line ``excluding``: its first line's, as ``lines``
        says ("" for no other line)."""
        others = [line_ids(key)[0] for key in self._items if key != excluding]
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
