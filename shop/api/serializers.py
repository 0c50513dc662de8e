"""REST API representations. Serializers validate and shape data; writes go through services."""

from __future__ import annotations

from collections.abc import Mapping

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.fields import empty

from recommender.behaviour.recording import RAIL_LINK_MAX_POSITION, RAILS
from recommender.models import ShopperEvent
from shop import forms as shop_forms
from shop.images import MAX_IMAGE_BYTES, InvalidImage, check_image
from shop.models import Category, Gender, Product, ProductImage, ProductVariant
from shop.selectors import ProductFilters


class CategorySlugField(serializers.SlugRelatedField):
    """A category by slug. Text PostgreSQL cannot hold (NUL) is refused before any query."""

    def __init__(self, **kwargs):
        super().__init__(slug_field="slug", queryset=Category.objects.all(), **kwargs)

    def to_internal_value(self, data):
        if not isinstance(data, str) or "\x00" in data:
            self.fail("invalid")
        return super().to_internal_value(data)


class CategorySerializer(serializers.ModelSerializer):
    parent = serializers.SerializerMethodField(help_text="Slug of the parent category, if any.")

    class Meta:
        model = Category
        fields = ["id", "name", "slug", "description", "depth", "parent"]

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_parent(self, category: Category) -> str | None:
        parent = self.context.get("parents", {}).get(category.path[: -Category.steplen])
        return parent.slug if parent else None


class ProductImageSerializer(serializers.ModelSerializer):
    url = serializers.ImageField(source="image", read_only=True, use_url=True)

    class Meta:
        model = ProductImage
        fields = ["id", "url", "width", "height", "alt_text", "is_primary"]


class ProductVariantSerializer(serializers.ModelSerializer):
    options = serializers.DictField(
        child=serializers.CharField(),
        read_only=True,
        help_text='Option name -> value, e.g. {"Size": "M", "Colour": "Blue"}.',
    )
    price = serializers.DecimalField(
        source="unit_price", max_digits=10, decimal_places=2, read_only=True, allow_null=True
    )

    class Meta:
        model = ProductVariant
        fields = ["id", "sku", "options", "price", "compare_at_price", "stock"]


class ProductSerializer(serializers.ModelSerializer):
    category = CategorySlugField(allow_null=True, required=False)
    images = ProductImageSerializer(many=True, read_only=True)
    variants = ProductVariantSerializer(
        many=True,
        read_only=True,
        help_text="What can be bought: empty for a product sold as it is. The product's "
        "price is then the lowest of its variants', its stock theirs added up.",
    )
    is_purchasable = serializers.BooleanField(read_only=True)
    url = serializers.HyperlinkedIdentityField(view_name="api:product-detail")

    class Meta:
        model = Product
        fields = [
            "id",
            "url",
            "title",
            "slug",
            "description",
            "price",
            "currency",
            "stock",
            "is_purchasable",
            "category",
            "gender",
            "colour",
            "season",
            "usage",
            "year",
            "attributes",
            "images",
            "option_names",
            "variants",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["created_at", "updated_at", "option_names"]


class ProductWriteSerializer(serializers.ModelSerializer):
    """What staff send to create or change a product; an optional photo (multipart) replaces
    the primary one. The photo is checked like an admin upload before anything is saved."""

    slug = serializers.SlugField(max_length=255, required=False)
    category = CategorySlugField(allow_null=True, required=False)
    photo = serializers.FileField(
        write_only=True, required=False, help_text="JPEG, PNG, WebP or GIF, at most 10 MB."
    )

    class Meta:
        model = Product
        fields = [
            "title",
            "slug",
            "description",
            "price",
            "currency",
            "stock",
            "is_active",
            "category",
            "gender",
            "colour",
            "season",
            "usage",
            "year",
            "attributes",
            "photo",
        ]

    def validate_photo(self, upload):
        return _checked_photo(upload)

    def validate_attributes(self, attributes):
        if not isinstance(attributes, dict):
            raise serializers.ValidationError(
                'An object of names and values, e.g. {"fit": "slim"}.'
            )
        return attributes


def _checked_photo(upload):
    if upload.size > MAX_IMAGE_BYTES:
        raise serializers.ValidationError(
            f"The file is larger than {MAX_IMAGE_BYTES // (1024 * 1024)} MB."
        )
    try:
        return check_image(upload.read())
    except InvalidImage as error:
        raise serializers.ValidationError(f"Not a usable photo: {error}.") from error


class FilterParamsSerializer(serializers.Serializer):
    """The filters shared by product lists, rails and photo search."""

    category = serializers.CharField(
        max_length=140,
        required=False,
        allow_blank=True,
        help_text="Slug of a category: it and everything below it.",
    )
    # Empty means "any", as in a web form.
    gender = serializers.ChoiceField(choices=Gender.choices, required=False, allow_blank=True)
    colour = serializers.CharField(max_length=40, required=False, allow_blank=True)
    price_min = serializers.DecimalField(
        max_digits=10, decimal_places=2, min_value=0, required=False
    )
    price_max = serializers.DecimalField(
        max_digits=10, decimal_places=2, min_value=0, required=False
    )
    in_stock = serializers.BooleanField(required=False, default=False)
    many_valued: tuple[str, ...] = ()  # fields that may repeat in a query string or form

    def to_internal_value(self, data):
        """A repeated single-valued field (``?gender=Men&gender=Women``) is an error, not a
        silent "the last one wins"."""
        if hasattr(data, "getlist"):
            repeated = {
                name: ["Give one value."]
                for name in self.fields
                if name not in self.many_valued and len(data.getlist(name)) > 1
            }
            if repeated:
                raise serializers.ValidationError(repeated)
        return super().to_internal_value(data)

    def validate_category(self, slug: str) -> Category | None:
        if not slug:
            return None
        category = Category.objects.filter(slug=slug).first()
        if category is None:
            raise serializers.ValidationError(f"No category {slug!r}.")
        return category

    def validate(self, data):
        low, high = data.get("price_min"), data.get("price_max")
        if low is not None and high is not None and low > high:
            raise serializers.ValidationError({"price_min": "Above price_max."})
        return data

    def filters(self) -> ProductFilters:
        data = self.validated_data
        return ProductFilters(
            category=data.get("category"),
            gender=data.get("gender", ""),
            colour=data.get("colour", ""),
            price_min=data.get("price_min"),
            price_max=data.get("price_max"),
            in_stock=data.get("in_stock", False),
        )


class ProductListParamsSerializer(FilterParamsSerializer):
    q = serializers.CharField(
        max_length=200,
        required=False,
        allow_blank=True,
        help_text="Full-text search in titles and descriptions.",
    )
    sort = serializers.ChoiceField(
        choices=["relevance", *(value for value, _ in shop_forms.SORT_CHOICES)],
        required=False,
        allow_blank=True,
        help_text="Default (or empty): relevance with q, otherwise new.",
    )


class SimilarParamsSerializer(FilterParamsSerializer):
    k = serializers.IntegerField(min_value=1, max_value=100, default=10)
    image_weight = serializers.FloatField(min_value=0, max_value=1, required=False)
    text_weight = serializers.FloatField(min_value=0, max_value=1, required=False)


class PhotoSearchSerializer(FilterParamsSerializer):
    many_valued = ("crop",)
    photo = serializers.FileField(help_text="JPEG, PNG, WebP or GIF, at most 10 MB. Not stored.")
    k = serializers.IntegerField(min_value=1, max_value=100, default=24)
    crop = serializers.ListField(
        child=serializers.FloatField(min_value=0, max_value=1),
        min_length=4,
        max_length=4,
        required=False,
        help_text="Search only this region: left, top, width, height as fractions of the photo "
        "(e.g. one of the boxes that search/photo/items/ found).",
    )
    whole_photo = serializers.BooleanField(
        default=False,
        help_text="Search the photo (or the crop) as it is, without looking for the product in it.",
    )

    def validate_photo(self, upload):
        return _checked_photo(upload).data

    def validate_crop(self, box):
        left, top, width, height = box
        if width <= 0 or height <= 0 or left + width > 1.0001 or top + height > 1.0001:
            raise serializers.ValidationError("The box must lie inside the photo.")
        return tuple(box)


class SimilarProductSerializer(serializers.Serializer):
    score = serializers.FloatField(
        help_text="image_weight x image_score + text_weight x text_score"
    )
    image_score = serializers.FloatField(help_text="Cosine similarity of the photos.")
    text_score = serializers.FloatField(help_text="Cosine similarity of the TF-IDF texts.")
    product = ProductSerializer()


class PhotoItemSerializer(serializers.Serializer):
    box = serializers.ListField(
        child=serializers.FloatField(),
        min_length=4,
        max_length=4,
        help_text="left, top, width, height as fractions of the photo; send it back as crop to "
        "search this product.",
    )
    match = serializers.FloatField(
        help_text="Image cosine of the catalogue product that looks most like it."
    )


class PhotoSearchResultSerializer(serializers.Serializer):
    items = PhotoItemSerializer(
        many=True,
        help_text="Products found in the photo, largest first (empty for a product on a plain "
        "background).",
    )
    searched = serializers.ListField(
        child=serializers.FloatField(),
        allow_null=True,
        help_text="The region the results are for (one of the items, or the crop); null: the "
        "whole photo.",
    )
    unsure = serializers.BooleanField(
        help_text="Nothing in the catalogue looks much like the photo: it may show no product "
        "the shop sells, or a very small one."
    )
    results = SimilarProductSerializer(many=True)


class EmbeddingStatusSerializer(serializers.Serializer):
    status = serializers.ChoiceField(
        choices=["not_indexed", "pending", "done", "failed"],
        help_text="not_indexed: no live index yet, or the product is not in it.",
    )
    error = serializers.CharField(allow_blank=True)
    encoder = serializers.CharField(allow_blank=True)
    index = serializers.IntegerField(allow_null=True)
    updated_at = serializers.DateTimeField(allow_null=True)


VISITOR_HELP = (
    "Your front end's own random identifier of the shopper (never a user id, an email or an "
    "address): the shop stores a keyed hash of it that changes every day."
)
EVENTS_PER_REQUEST = 500


class ShopperEventSerializer(serializers.Serializer):
    """One thing the shopper did, as the storefront records it (ShopperEvent)."""

    visitor = serializers.CharField(
        min_length=16,
        max_length=64,
        required=False,
        help_text=f"The shopper who did it, if not the request's `visitor`. {VISITOR_HELP}",
    )
    kind = serializers.ChoiceField(choices=ShopperEvent.Kind.choices)
    product = serializers.IntegerField(
        min_value=1,
        required=False,
        help_text="The product viewed, clicked, added or ordered; for an impression, the "
        "product whose page showed the rail.",
    )
    rail = serializers.ChoiceField(
        choices=RAILS,
        required=False,
        help_text="The rail shown or clicked, or that led the shopper to the product added or "
        "ordered.",
    )
    position = serializers.IntegerField(
        min_value=1, max_value=RAIL_LINK_MAX_POSITION, required=False, help_text="Of a click."
    )
    shown = serializers.ListField(
        child=serializers.IntegerField(min_value=1),
        max_length=RAIL_LINK_MAX_POSITION,
        required=False,
        help_text="An impression's products, in their order.",
    )
    quantity = serializers.IntegerField(min_value=1, max_value=10_000, required=False)
    amount = serializers.DecimalField(
        max_digits=12,
        decimal_places=2,
        min_value=0,
        required=False,
        help_text="An order line's total, in the shop's currency.",
    )
    query = serializers.CharField(max_length=200, required=False, allow_blank=True)
    results = serializers.IntegerField(min_value=0, required=False)

    def run_validation(self, data=empty):
        """Each field by its own rules (DRF's fields), for the fields the event gives only.
        DRF's Serializer walks every declared field of every event, then serializer-wide
        validators this one has none of: at 500 events a request that was three quarters of
        the request's time, in a web process that serves pages."""
        if not isinstance(data, Mapping):
            return super().run_validation(data)  # DRF's own error
        valid, errors = {}, {}
        for name, value in data.items():
            if (field := self.fields.get(name)) is None:
                continue  # DRF ignores fields it does not know; so does this
            try:
                valid[name] = field.run_validation(value)
            except serializers.ValidationError as error:
                errors[name] = error.detail
        if "kind" not in data:
            errors["kind"] = [self.fields["kind"].error_messages["required"]]
        if errors:
            raise serializers.ValidationError(errors)
        return valid


class ShopperEventsSerializer(serializers.Serializer):
    visitor = serializers.CharField(
        min_length=16,
        max_length=64,
        required=False,
        help_text=f"The shopper of every event that names none. {VISITOR_HELP}",
    )
    events = ShopperEventSerializer(many=True, min_length=1, max_length=EVENTS_PER_REQUEST)

    def validate(self, data):
        """Every event with its shopper: its own ``visitor``, else the request's."""
        default = data.get("visitor")
        if default is None and any("visitor" not in event for event in data["events"]):
            raise serializers.ValidationError(
                {"visitor": ["Give the shopper: for the request, or for each event."]}
            )
        data["events"] = [{"visitor": default, **event} for event in data["events"]]
        return data
