"""Orders: what a checkout placed, line by line, at the prices of that moment."""

from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.crypto import get_random_string

from shop.models.catalogue import Product, ProductVariant, currency_code


def order_reference() -> str:
    """Short, unguessable, easy to read out on the phone (no 0/O, 1/I)."""
    return get_random_string(10, allowed_chars="ABCDEFGHJKLMNPQRSTUVWXYZ23456789")


class Order(models.Model):
    class Status(models.TextChoices):
        AWAITING_PAYMENT = "awaiting_payment", "Awaiting payment"
        PAID = "paid", "Paid"
        SHIPPED = "shipped", "Shipped"
        CANCELLED = "cancelled", "Cancelled"

    reference = models.CharField(max_length=12, unique=True, default=order_reference)
    status = models.CharField(
        max_length=20, choices=Status, default=Status.AWAITING_PAYMENT, db_index=True
    )
    full_name = models.CharField(max_length=200)
    email = models.EmailField()
    phone = models.CharField(max_length=40, blank=True)
    address = models.CharField("street address", max_length=255)
    address_extra = models.CharField("apartment, suite, etc.", max_length=255, blank=True)
    city = models.CharField(max_length=120)
    # Optional: addresses in Hong Kong, the UAE and elsewhere have none.
    postcode = models.CharField(max_length=20, blank=True)
    country = models.CharField(max_length=80)
    total = models.DecimalField(max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3, validators=[currency_code])
    # One per checkout page: a second submit of the same page (double click, retry after a
    # timeout) finds this order instead of placing another.
    checkout_token = models.UUIDField(null=True, blank=True, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(total__gte=0), name="order_total_not_negative"),
        ]

    def __str__(self) -> str:
        return f"Order {self.reference}"


class OrderLine(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    # Kept when the product is later deleted: the line records what was sold, and for how much.
    product = models.ForeignKey(
        Product, on_delete=models.SET_NULL, null=True, related_name="order_lines"
    )
    variant = models.ForeignKey(
        ProductVariant, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    sku = models.CharField("SKU", max_length=64, blank=True, db_default="")
    title = models.CharField(max_length=255, help_text="With the variant, e.g. Shirt (M / Blue).")
    unit_price = models.DecimalField(max_digits=10, decimal_places=2)
    quantity = models.PositiveIntegerField(validators=[MinValueValidator(1)])

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(quantity__gte=1), name="order_line_quantity_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.title}"

    @property
    def subtotal(self):
        return self.unit_price * self.quantity
