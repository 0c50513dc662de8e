"""Orders in the admin: read as placed, moved through their statuses by the order service."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError

from shop import services
from shop.models import Order, OrderLine


class OrderLineInline(admin.TabularInline):
    model = OrderLine
    fields = ["product", "title", "sku", "unit_price", "quantity", "subtotal"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False  # an order records what was sold; lines are not edited afterwards

    @admin.display(description="subtotal")
    def subtotal(self, line: OrderLine):
        return line.subtotal


def _set_status(status: str):
    def action(modeladmin, request, queryset):
        changed = 0
        for order in queryset:
            try:
                services.order_set_status(order=order, status=status)
                changed += 1
            except services.OrderError as error:
                modeladmin.message_user(request, str(error), messages.ERROR)
        modeladmin.message_user(
            request, f"{changed} order(s) marked {Order.Status(status).label.lower()}."
        )

    action.__name__ = f"mark_{status}"
    action.short_description = f"Mark selected orders as {Order.Status(status).label.lower()}"
    return action


class OrderAdminForm(forms.ModelForm):
    class Meta:
        model = Order
        fields = ["status", *services.ORDER_CONTACT_FIELDS]

    def clean_status(self) -> str:
        status = self.cleaned_data["status"]
        if self.instance.status == Order.Status.CANCELLED and status != Order.Status.CANCELLED:
            raise ValidationError("A cancelled order stays cancelled: its stock was given back.")
        return status


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    form = OrderAdminForm
    list_display = ["reference", "created_at", "full_name", "email", "total", "currency", "status"]
    list_filter = ["status", "created_at"]
    search_fields = ["reference", "full_name", "email", "lines__title"]
    date_hierarchy = "created_at"
    inlines = [OrderLineInline]
    readonly_fields = ["reference", "total", "currency", "created_at", "updated_at"]
    fieldsets = [
        (
            None,
            {"fields": ["reference", "status", "total", "currency", "created_at", "updated_at"]},
        ),
        ("Contact", {"fields": ["full_name", "email", "phone"]}),
        ("Shipping", {"fields": ["address", "address_extra", "city", "postcode", "country"]}),
    ]
    actions = [
        _set_status(status) for status in Order.Status.values if status != "awaiting_payment"
    ]

    def has_add_permission(self, request) -> bool:
        return False  # orders come from checkout

    def save_model(self, request, obj: Order, form, change: bool) -> None:
        """A status change goes through the service: cancelling gives the stock back."""
        new_status = obj.status
        if change and "status" in form.changed_data:
            obj.status = form.initial["status"]
            super().save_model(request, obj, form, change)
            services.order_set_status(order=obj, status=new_status)
            obj.refresh_from_db()
        else:
            super().save_model(request, obj, form, change)
