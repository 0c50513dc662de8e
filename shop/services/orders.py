"""Orders: placing one from a cart (taking the stock under locks) and moving it on."""

from __future__ import annotations

import uuid
from decimal import Decimal

from django.db import transaction
from django.db.models import F

from shop.models import Order, OrderLine, Product


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
    items: dict[int, int],
    contact: dict[str, str],
    checkout_token: uuid.UUID | None = None,
    expected_total: Decimal | None = None,
) -> Order:
    """Record an order awaiting payment for ``items`` (product id -> quantity), taking the stock.

    Products are locked while their stock is checked and taken, so two shoppers can never
    buy the last item twice. Prices are the catalogue's at this moment; with
    ``expected_total`` (what the shopper was shown), a different total stops the order.
    Nothing is written when any line cannot be sold (``OrderError`` says which and why).
    The same ``checkout_token`` twice returns the first order instead of placing a second:
    callers pass only tokens they gave this shopper (the checkout page binds them to the
    session), or one shopper's token would return another's order.
    """
    if not items:
        raise OrderError({0: "the cart is empty"})
    products = Product.objects.select_for_update().order_by("pk").in_bulk(list(items))
    # Checked under the locks: a concurrent submit of the same page has committed by now.
    if checkout_token and (done := Order.objects.filter(checkout_token=checkout_token).first()):
        return done
    problems = {}
    for product_id, quantity in items.items():
        product = products.get(product_id)
        if product is None or not product.is_purchasable:
            name = product.title if product else "A product"
            problems[product_id] = f"{name} is no longer available"
        elif quantity > product.stock:
            problems[product_id] = f"only {product.stock} of {product.title} left"
    currencies = {product.currency for product in products.values()}
    if len(currencies) > 1:
        problems[0] = "the cart mixes currencies; order them separately"
    if problems:
        raise OrderError(problems)

    lines = [
        OrderLine(
            product=products[pid],
            title=products[pid].title,
            unit_price=products[pid].price,
            quantity=quantity,
        )
        for pid, quantity in items.items()
    ]
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
    for pid, quantity in items.items():
        Product.objects.filter(pk=pid).update(stock=F("stock") - quantity)
    return order


def order_set_status(*, order: Order, status: str) -> Order:
    """Move an order on (paid, shipped) or cancel it; a cancelled order gives its stock back."""
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order.pk)
        if status == order.status:
            return order
        if order.status == Order.Status.CANCELLED:
            raise OrderError({0: f"order {order.reference} is cancelled"})
        if status == Order.Status.CANCELLED:
            # Product rows are locked in id order, as order_place does: no deadlock between them.
            for line in order.lines.exclude(product=None).order_by("product_id"):
                Product.objects.filter(pk=line.product_id).update(stock=F("stock") + line.quantity)
        order.status = status
        order.save(update_fields=["status", "updated_at"])
    return order
