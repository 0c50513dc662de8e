"""The catalogue: categories (a tree), products, their photos."""

import uuid
from pathlib import PurePath

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q, Value
from django.db.models.fields.files import ImageFieldFile
from treebeard.mp_tree import MP_Node

from shop.images import image_extension


def reject_nul_characters(value) -> None:
    """PostgreSQL stores no NUL character (U+0000) in text or JSON: refuse one anywhere in
    ``value`` (keys included) as invalid input, instead of failing in the database."""
    if isinstance(value, dict):
        for key, item in value.items():
            reject_nul_characters(key)
            reject_nul_characters(item)
    elif isinstance(value, list):
        for item in value:
            reject_nul_characters(item)
    elif isinstance(value, str) and "\x00" in value:
        raise ValidationError("Null characters are not allowed.", code="null_characters")


class Category(MP_Node):
    """A node of the category tree (Kaggle: masterCategory > subCategory > articleType)."""

    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=140, unique=True)
    description = models.TextField(blank=True)

    # No node_order_by: sorted insertion renumbers siblings' paths, which would make every
    # category object already in memory (an import holds many) stale.

    class Meta:
        verbose_name_plural = "categories"

    def __str__(self) -> str:
        return " > ".join(node.name for node in [*Category.objects.get_ancestors(self), self])


class Gender(models.TextChoices):
    MEN = "Men"
    WOMEN = "Women"
    BOYS = "Boys"
    GIRLS = "Girls"
    UNISEX = "Unisex"


class Season(models.TextChoices):
    SPRING = "Spring"
    SUMMER = "Summer"
    FALL = "Fall"
    WINTER = "Winter"


def default_currency() -> str:
    return settings.SHOP_CURRENCY


currency_code = RegexValidator(r"^[A-Z]{3}$", "Use a three-letter ISO 4217 code, e.g. EUR.")


# Shopify's limit, and what a product page's selects can show.
MAX_OPTIONS = 3
COLOUR_OPTION_NAMES = {"color", "colour"}


def option_names_validate(value) -> None:
    reject_nul_characters(value)
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise ValidationError("Give a list of option names.", code="option_names")
    if len(value) > MAX_OPTIONS:
        raise ValidationError(f"At most {MAX_OPTIONS} options.", code="option_names")


class Product(models.Model):
    # Text search reads a ``search_document`` column that PostgreSQL triggers keep from the
    # fields below (shop/migrations/0006): a field renamed or removed here needs them redone.
    external_id = models.CharField(
        max_length=64,
        unique=True,
        null=True,
        blank=True,
        help_text="Identifier in the catalogue this product was imported from.",
    )
    title = models.CharField(max_length=255)
    slug = models.SlugField(max_length=255, unique=True)
    description = models.TextField(blank=True)
    price = models.DecimalField(
        max_digits=10,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
        help_text="Leave empty to show the product without selling it.",
    )
    currency = models.CharField(max_length=3, default=default_currency, validators=[currency_code])
    stock = models.PositiveIntegerField(default=0)
    is_active = models.BooleanField("active", default=True, db_index=True)
    category = models.ForeignKey(
        Category, on_delete=models.PROTECT, null=True, blank=True, related_name="products"
    )
    gender = models.CharField(max_length=10, choices=Gender, blank=True)
    colour = models.CharField(max_length=40, blank=True, db_index=True)
    season = models.CharField(max_length=10, choices=Season, blank=True)
    usage = models.CharField(max_length=40, blank=True)
    year = models.PositiveSmallIntegerField(null=True, blank=True)
    attributes = models.JSONField(
        default=dict,
        blank=True,
        validators=[reject_nul_characters],
        help_text="Free-form attributes.",
    )
    option_names = models.JSONField(
        default=list,
        # In the database too: code from before this field (a deploy's old processes, older
        # migrations' states) inserts products without it.
        db_default=Value([], output_field=models.JSONField()),
        blank=True,
        validators=[option_names_validate],
        help_text='What the variants differ by, in order, e.g. ["Size", "Colour"].',
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(price__gte=0), name="product_price_not_negative"),
            models.CheckConstraint(
                condition=Q(currency__regex=r"^[A-Z]{3}$"), name="product_currency_iso_code"
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_purchasable(self) -> bool:
        """Shown products can lack a price or stock; only these can go into a cart."""
        return self.is_active and self.price is not None and self.stock > 0

    @property
    def options_label(self) -> str:
        """What a shopper chooses among the variants, in words: "size / colour"."""
        return " / ".join(self.option_names).lower() or "option"

    @property
    def primary_image(self) -> "ProductImage | None":
        images = list(self.images.all())  # uses prefetch_related("images") when present
        return next((image for image in images if image.is_primary), images[0] if images else None)


IMAGE_EXTENSIONS = {".jpg", ".jpeg", ".png", ".webp", ".gif"}


def product_image_upload_to(instance: "ProductImage", filename: str) -> str:
    """A random name: uploads never collide, and the client's name never reaches the path.

    ``filename`` is ``photo`` plus the extension of the file's content (``ProductPhotoFile``).
    """
    extension = PurePath(filename).suffix.lower()
    if extension not in IMAGE_EXTENSIONS:
        extension = ""
    name = uuid.uuid4().hex
    return f"products/{name[:2]}/{name}{extension}"


class ProductPhotoFile(ImageFieldFile):
    """A product photo's file, named by what its bytes are, whatever the uploader called it.

    Every way a photo is stored (admin form, API, catalogue import) ends in ``save``; the
    extension decides the type every server gives the file (Django's static view, nginx, S3),
    so a PNG sent as ``photo.gif`` or a JPEG sent as ``page.html`` is stored as what it is.
    """

    def save(self, name, content, save=True):
        content.seek(0)
        extension = image_extension(content.read(12))
        content.seek(0)
        super().save(f"photo{extension}", content, save)


class ProductPhotoField(models.ImageField):
    """An image field whose files are named by their content and whose form field (the
    admin's) does not judge a photo by its file name either."""

    attr_class = ProductPhotoFile

    def formfield(self, **kwargs):
        from shop.forms import ProductPhotoFormField  # shop.forms imports this module

        return super().formfield(**{"form_class": ProductPhotoFormField, **kwargs})


class ProductImage(models.Model):
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="images")
    image = ProductPhotoField(
        upload_to=product_image_upload_to, width_field="width", height_field="height"
    )
    width = models.PositiveIntegerField(editable=False, null=True)
    height = models.PositiveIntegerField(editable=False, null=True)
    alt_text = models.CharField(max_length=255, blank=True)
    is_primary = models.BooleanField("primary", default=False)
    position = models.PositiveSmallIntegerField(default=0)
    sha256 = models.CharField(
        max_length=64, editable=False, db_index=True, help_text="Hash of the image file's bytes."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-is_primary", "position", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["product"],
                condition=Q(is_primary=True),
                name="one_primary_image_per_product",
            )
        ]

    def __str__(self) -> str:
        return f"Image of {self.product}"


class ProductVariant(models.Model):
    """One buyable version of a product (a size, a colour): its own SKU, price and stock.

    Products without variants are sold as they are; a product with variants is sold only as
    one of them. Rails and search show products, never variants.
    """

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="variants")
    sku = models.CharField("SKU", max_length=64, blank=True)
    option_values = models.JSONField(
        default=list,
        blank=True,
        validators=[reject_nul_characters],
        help_text='Values of the product\'s options, in the same order, e.g. ["M", "Blue"].',
    )
    # Kept apart so that the storefront's colour filter can find a product by any variant.
    colour = models.CharField(max_length=40, blank=True, db_index=True, editable=False)
    price = models.DecimalField(
        max_digits=10,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
        help_text="Leave empty for the product's price.",
    )
    compare_at_price = models.DecimalField(
        max_digits=10, decimal_places=2, null=True, blank=True, validators=[MinValueValidator(0)]
    )
    stock = models.PositiveIntegerField(default=0)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["sku"], condition=~Q(sku=""), name="variant_sku_unique"
            ),
            models.CheckConstraint(condition=Q(price__gte=0), name="variant_price_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.product} ({self.name})" if self.option_values else str(self.product)

    @property
    def name(self) -> str:
        return " / ".join(self.option_values) or self.sku or "Default"

    @property
    def unit_price(self):
        return self.price if self.price is not None else self.product.price

    def options(self) -> dict[str, str]:
        return dict(zip(self.product.option_names, self.option_values, strict=False))

    def colour_from_options(self, option_names: list[str]) -> str:
        return next(
            (
                value
                for name, value in zip(option_names, self.option_values, strict=False)
                if name.strip().lower() in COLOUR_OPTION_NAMES
            ),
            "",
        )


class ProductPhotoSource(models.Model):
    """A product photo given by URL in an imported catalogue, fetched by a worker.

    It records what happened to the URL, so that a failed photo shows its reason in the admin
    and a re-import fetches only URLs it has not fetched before.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting to be fetched"
        FETCHED = "fetched", "Fetched"
        FAILED = "failed", "Failed"

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="photo_sources")
    url = models.URLField(max_length=2000)
    position = models.PositiveSmallIntegerField(default=0)
    alt_text = models.CharField(max_length=255, blank=True)
    status = models.CharField(max_length=10, choices=Status, default=Status.PENDING)
    reason = models.CharField(max_length=300, blank=True, help_text="Why the fetch failed.")
    image = models.OneToOneField(
        ProductImage,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="source",
    )
    attempted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["product", "url"], name="photo_source_once_per_product")
        ]

    def __str__(self) -> str:
        return self.url
