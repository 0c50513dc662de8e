"""Orders: placing one from a cart (taking the stock under locks) and moving it on."""

from __future__ import annotations

import uuid
from decimal import Decimal

from django.db import transaction
from django.db.models import F

from shop.models import Order, OrderLine, Product, ProductVariant


class OrderError(Exception):
    """The order cannot be placed as asked; ``problems`` says why, per product."""

    def __init__(self, problems: dict[int, str]):
        self.problems = problems
        super().__init__("; ".join(problems.values()))


ORDER_CONTACT_FIELDS = (
    "full_name",
    "email",
    "phone",
    "address",
    "address_extra",
    "city",
    "postcode",
    "country",
)


@transaction.atomic
def order_place(
    *,
    items: dict[int | tuple[int, int | None], int],
    contact: dict[str, str],
    checkout_token: uuid.UUID | None = None,
    expected_total: Decimal | None = None,
) -> Order:
    """Record an order awaiting payment for ``items``, taking the stock. Keys are a product id,
    or (product id, variant id) for a product sold by variant (what ``Cart.items`` gives).

    Products and variants are locked while their stock is checked and taken, so two shoppers
    can never buy the last item twice. Prices are the catalogue's at this moment; with
    ``expected_total`` (what the shopper was shown), a different total stops the order.
    Nothing is written when any line cannot be sold (``OrderError`` says which and why).
    The same ``checkout_token`` twice returns the first order instead of placing a second:
    callers pass only tokens they gave this shopper (the checkout page binds them to the
    session), or one shopper's token would return another's order.
    """
    if not items:
        raise OrderError({0: "the cart is empty"})
    wanted = {(key if isinstance(key, tuple) else (key, None)): n for key, n in items.items()}
    # Locked in id order, products before variants, as order_set_status does: no deadlocks.
    products = (
        Product.objects.select_for_update().order_by("pk").in_bulk({pid for pid, _ in wanted})
    )
    variants = (
        ProductVariant.objects.select_for_update()
        .order_by("pk")
        .in_bulk([vid for _, vid in wanted if vid is not None])
    )
    # Checked under the locks: a concurrent submit of the same page has committed by now.
    if checkout_token and (done := Order.objects.filter(checkout_token=checkout_token).first()):
        return done
    with_variants = set(
        ProductVariant.objects.filter(product__in=list(products)).values_list(
            "product_id", flat=True
        )
    )
    problems = {}
    lines = []
    for (pid, vid), quantity in wanted.items():
        product, variant = products.get(pid), variants.get(vid)
        if variant is not None and variant.product_id != pid:
            variant = None
        name = product.title if product else "A product"
        if variant is not None:
            name = f"{name} ({variant.name})"
        price = variant.unit_price if variant else product.price if product else None
        stock = variant.stock if variant else product.stock if product else 0
        if (
            product is None
            or not product.is_active
            or price is None
            or (vid is not None and variant is None)
            or (variant is None and pid in with_variants)
        ):
            problems[pid, vid] = f"{name} is no longer available"
        elif quantity > stock or stock <= 0:
            problems[pid, vid] = f"only {stock} of {name} left"
        else:
            lines.append(
                OrderLine(
                    product=product,
                    variant=variant,
                    sku=variant.sku if variant else "",
                    title=name,
                    unit_price=price,
                    quantity=quantity,
                )
            )
    currencies = {product.currency for product in products.values()}
    if len(currencies) > 1:
        problems[0] = "the cart mixes currencies; order them separately"
    if problems:
        raise OrderError(problems)

    total = sum(line.unit_price * line.quantity for line in lines)
    if expected_total is not None and total != expected_total:
        raise OrderError({0: f"prices changed since you opened checkout: the total is now {total}"})
    order = Order.objects.create(
        **{name: contact.get(name, "") for name in ORDER_CONTACT_FIELDS},
        total=total,
        currency=currencies.pop(),
        checkout_token=checkout_token,
    )
    for line in lines:
        line.order = order
    OrderLine.objects.bulk_create(lines)
    for line in lines:
        _stock_move(line, -line.quantity)
    return order


def _stock_move(line: OrderLine, change: int) -> None:
    """Take (negative ``change``) or give back stock for ``line``: the variant's, and the
    product's, which adds its variants' up."""
    Product.objects.filter(pk=line.product_id).update(stock=F("stock") + change)
    if line.variant_id is not None:
        ProductVariant.objects.filter(pk=line.variant_id).update(stock=F("stock") + change)


def order_set_status(*, order: Order, status: str) -> Order:
    """Move an order on (paid, shipped) or cancel it; a cancelled order gives its stock back."""
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order.pk)
        if status == order.status:
            return order
        if order.status == Order.Status.CANCELLED:
            raise OrderError({0: f"order {order.reference} is cancelled"})
        if status == Order.Status.CANCELLED:
            # Rows are locked in id order, as order_place does: no deadlock between them.
            for line in order.lines.exclude(product=None).order_by("product_id", "variant_id"):
                _stock_move(line, line.quantity)
        order.status = status
        order.save(update_fields=["status", "updated_at"])
    return order
