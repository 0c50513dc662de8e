"""The catalogue in the admin: the category tree, products with their photos."""

import hashlib

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.forms.models import BaseInlineFormSet
from django.forms.utils import pretty_name
from django.utils.html import format_html
from treebeard.admin import TreeAdmin
from treebeard.forms import movenodeform_factory

from shop import services
from shop.events import product_changes_announce
from shop.models import (
    Category,
    Product,
    ProductImage,
    ProductPhotoSource,
    ProductVariant,
)

THUMBNAIL_PX = 64


def thumbnail_html(image: ProductImage | None, size: int = THUMBNAIL_PX) -> str:
    if image is None or not image.image:
        return "—"
    return format_html(
        # Sized by attributes, fitted by static/css/admin.css: the CSP allows no inline style.
        '<img src="{}" alt="" loading="lazy" width="{}" height="{}" class="product-thumbnail">',
        image.image.url,
        size,
        size,
    )


@admin.register(Category)
class CategoryAdmin(TreeAdmin):
    # Treebeard's, with names for its show/hide links (axe: link-name).
    change_list_template = "admin/shop/category/change_list.html"
    form = movenodeform_factory(Category)
    list_display = ["name", "slug"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}


class ProductImageForm(forms.ModelForm):
    class Meta:
        model = ProductImage
        fields = ["image", "alt_text", "is_primary", "position"]

    def clean_image(self):
        upload = self.cleaned_data["image"]
        if upload and "image" in self.changed_data:
            # Its form field (shop.forms.ProductPhotoFormField) has checked the photo already.
            upload.seek(0)
            self.instance.sha256 = hashlib.sha256(upload.read()).hexdigest()
            upload.seek(0)
        return upload


class LabelledInlineFormSet(BaseInlineFormSet):
    def add_fields(self, form, index):
        super().add_fields(form, index)
        # A table's inputs have no <label> of their own: each says which column it is in.
        for name, field in form.fields.items():
            field.widget.attrs.setdefault("aria-label", str(field.label or pretty_name(name)))


class ProductImageFormSet(LabelledInlineFormSet):
    def clean(self):
        super().clean()
        kept = [f for f in self.forms if f.cleaned_data and not f.cleaned_data.get("DELETE")]
        if sum(bool(f.cleaned_data.get("is_primary")) for f in kept) > 1:
            raise ValidationError("Only one photo can be the primary one.")


class ProductImageInline(admin.TabularInline):
    model = ProductImage
    form = ProductImageForm
    formset = ProductImageFormSet
    extra = 1
    fields = ["preview", "image", "alt_text", "is_primary", "position"]
    readonly_fields = ["preview"]
    # Django's, with a name for its two header cells that have none (axe: empty-table-header).
    template = "admin/shop/productimage/tabular.html"

    @admin.display(description="Preview")
    def preview(self, obj):
        return thumbnail_html(obj, size=120)


class ProductVariantForm(forms.ModelForm):
    # The option values as a shop admin reads them, "M / Blue", in the product's option order.
    options = forms.CharField(
        required=False, help_text="Values of the product's options, in order, separated by /."
    )

    class Meta:
        model = ProductVariant
        fields = ["options", "sku", "price", "compare_at_price", "stock", "position"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["options"].initial = " / ".join(self.instance.option_values)

    def clean_options(self):
        values = [v.strip() for v in self.cleaned_data["options"].split("/") if v.strip()]
        self.instance.option_values = values
        return values


class ProductVariantFormSet(LabelledInlineFormSet):
    def clean(self):
        super().clean()
        names = self.instance.option_names
        kept = [f for f in self.forms if f.cleaned_data and not f.cleaned_data.get("DELETE")]
        seen = set()
        for form in kept:
            values = tuple(form.cleaned_data.get("options", []))
            if len(values) != len(names):
                wanted = ", ".join(names) if names else "no options (the product has none)"
                raise ValidationError(f"Variant {' / '.join(values) or '(none)'}: give {wanted}.")
            if names and values in seen:
                raise ValidationError(f"Two variants are both {' / '.join(values)}.")
            seen.add(values)


class ProductVariantInline(admin.TabularInline):
    model = ProductVariant
    form = ProductVariantForm
    formset = ProductVariantFormSet
    extra = 0
    template = "admin/shop/productimage/tabular.html"


class ProductPhotoSourceInline(admin.TabularInline):
    """Photos given as URLs by an imported catalogue: what became of each."""

    model = ProductPhotoSource
    verbose_name_plural = "photos from URLs"
    fields = ["url", "position", "status", "reason", "attempted_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    template = "admin/shop/productimage/tabular.html"

    def has_add_permission(self, request, obj=None):
        return False


class CategorySubtreeFilter(admin.SimpleListFilter):
    """Filter by a category and everything below it."""

    title = "category"
    parameter_name = "category"

    def lookups(self, request, model_admin):
        return [
            (c.pk, f"{'— ' * (c.depth - 1)}{c.name}") for c in Category.objects.order_by("path")
        ]

    def queryset(self, request, queryset):
        if not self.value():
            return queryset
        category = Category.objects.filter(pk=self.value()).first()
        if category is None:
            return queryset.none()
        return queryset.filter(category__path__startswith=category.path)


class InStockFilter(admin.SimpleListFilter):
    title = "stock"
    parameter_name = "in_stock"

    def lookups(self, request, model_admin):
        return [("yes", "In stock"), ("no", "Out of stock")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(stock__gt=0)
        if self.value() == "no":
            return queryset.filter(Q(stock=0))
        return queryset


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    # Styles: static/css/admin.css, on every admin page (templates/admin/base_site.html).
    # Narrow enough for the recommender's embedding column to fit at 1,280 px, sidebar open.
    list_display = ["thumbnail", "title", "category_name", "price_label", "stock", "is_active"]
    # The title only: a photo link would be a second, nameless link to the same page.
    list_display_links = ["title"]
    list_filter = [CategorySubtreeFilter, "gender", "colour", "is_active", InStockFilter]
    list_select_related = ["category"]
    list_per_page = 50
    search_fields = ["title", "description", "external_id", "slug"]
    prepopulated_fields = {"slug": ["title"]}
    readonly_fields = ["main_photo", "created_at", "updated_at"]
    inlines = [ProductImageInline, ProductVariantInline, ProductPhotoSourceInline]
    actions = ["activate", "deactivate"]
    fieldsets = [
        (None, {"fields": ["main_photo", "title", "slug", "description", "category"]}),
        ("Selling", {"fields": ["price", "currency", "stock", "is_active"]}),
        ("Variants", {"fields": ["option_names"]}),
        ("Attributes", {"fields": ["gender", "colour", "season", "usage", "year", "attributes"]}),
        ("Catalogue", {"fields": ["external_id", "created_at", "updated_at"]}),
    ]

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if obj is not None:
            return fieldsets
        # A new product has no primary photo to show yet: its photos are the form's first part.
        return [
            (name, {**options, "fields": [f for f in options["fields"] if f != "main_photo"]})
            for name, options in fieldsets
        ]

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        response = super().changeform_view(request, object_id, form_url, extra_context)
        # A refused save (a photo that cannot be used, say) shows the form with its errors, as
        # Django's admin does, but as a 400: scripts and logs see that nothing was saved.
        context = getattr(response, "context_data", None) or {}
        if request.method == "POST" and response.status_code == 200 and context.get("errors"):
            response.status_code = 400
        return response

    def get_readonly_fields(self, request, obj=None):
        readonly = super().get_readonly_fields(request, obj)
        # A product with variants sells at their prices and stock (product_variants_sync).
        if obj is not None and obj.variants.exists():
            return [*readonly, "price", "stock"]
        return readonly

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        services.product_variants_sync(product=form.instance)
        # Inside the admin's transaction: listeners hear of it once it commits.
        product_changes_announce(product_ids=[form.instance.pk])

    def save_formset(self, request, form, formset, change):
        if formset.model is not ProductImage:
            return super().save_formset(request, form, formset, change)
        images = formset.save(commit=False)
        for image in formset.deleted_objects:
            image.delete()
        # Demote before promoting, so that "one primary photo" holds after every statement.
        for image in sorted(images, key=lambda image: image.is_primary):
            image.save()
        formset.save_m2m()
        services.product_images_ensure_primary(product=form.instance)

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("images")

    @admin.display(description="Photo")
    def thumbnail(self, obj):
        return thumbnail_html(obj.primary_image, size=40)

    @admin.display(description="Category", ordering="category__path")
    def category_name(self, obj):
        # Its own name; the full path in a tooltip (the filter on the right shows the tree).
        if obj.category is None:
            return "—"
        return format_html('<span title="{}">{}</span>', obj.category, obj.category.name)

    @admin.display(description="Price", ordering="price")
    def price_label(self, obj):
        return "—" if obj.price is None else f"{obj.price} {obj.currency}"

    @admin.display(description="Primary photo")
    def main_photo(self, obj):
        return thumbnail_html(obj.primary_image, size=240)

    @admin.action(description="Activate selected products (show in the shop)")
    def activate(self, request, queryset):
        changed = services.products_set_active(
            product_ids=queryset.values_list("pk", flat=True), active=True
        )
        self.message_user(request, f"{changed} product(s) activated.", messages.SUCCESS)

    @admin.action(description="Deactivate selected products (hide from the shop)")
    def deactivate(self, request, queryset):
        changed = services.products_set_active(
            product_ids=queryset.values_list("pk", flat=True), active=False
        )
        self.message_user(request, f"{changed} product(s) deactivated.", messages.SUCCESS)
