"""Storefront forms: they turn query strings and posts into filters, cart changes and orders."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError

from shop.cart import MAX_QUANTITY
from shop.images import MAX_IMAGE_BYTES, InvalidImage, check_image
from shop.models import Category, Gender, Order
from shop.selectors import ProductFilters
from shop.services import ORDER_CONTACT_FIELDS

SORT_CHOICES = [
    ("new", "Newest"),
    ("price", "Price: low to high"),
    ("-price", "Price: high to low"),
    ("title", "Name"),
]


class ProductFilterForm(forms.Form):
    """The filters of a product list, read from the query string; bad values are ignored."""

    gender = forms.ChoiceField(choices=[("", "Any"), *Gender.choices], required=False)
    colour = forms.ChoiceField(choices=[("", "Any")], required=False)
    price_min = forms.DecimalField(
        label="Min price", min_value=0, max_digits=10, decimal_places=2, required=False
    )
    price_max = forms.DecimalField(
        label="Max price", min_value=0, max_digits=10, decimal_places=2, required=False
    )
    in_stock = forms.BooleanField(label="In stock only", required=False)

    def __init__(self, *args, colours: list[str] = (), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["colour"].choices = [("", "Any"), *((c, c) for c in colours)]

    def clean(self):
        data = super().clean()
        low, high = data.get("price_min"), data.get("price_max")
        if low is not None and high is not None and low > high:
            raise ValidationError("The minimum price is above the maximum.")
        return data

    def filters(self, category: Category | None = None) -> ProductFilters:
        """The valid part of what was asked: one bad field does not drop the others."""
        data = {}
        if self.is_bound:
            self.is_valid()
            data = {
                name: value for name, value in self.cleaned_data.items() if name not in self.errors
            }
            if "__all__" in self.errors:  # a price range upside down: ignore the range
                data.pop("price_min", None)
                data.pop("price_max", None)
        return ProductFilters(
            category=category,
            gender=data.get("gender") or "",
            colour=data.get("colour") or "",
            price_min=data.get("price_min"),
            price_max=data.get("price_max"),
            in_stock=bool(data.get("in_stock")),
        )

    @property
    def active(self) -> bool:
        return self.filters() != ProductFilters()


class SortForm(forms.Form):
    sort = forms.ChoiceField(choices=SORT_CHOICES, required=False)

    def value(self, default: str = "new") -> str:
        return (self.cleaned_data.get("sort") if self.is_valid() else "") or default


class QuantityForm(forms.Form):
    quantity = forms.IntegerField(min_value=0, max_value=MAX_QUANTITY, initial=1)


class CheckoutForm(forms.ModelForm):
    # From the checkout page as it was shown: a resubmitted page places no second order, and
    # a total that changed meanwhile stops the order.
    checkout_token = forms.UUIDField(widget=forms.HiddenInput)
    expected_total = forms.DecimalField(max_digits=12, decimal_places=2, widget=forms.HiddenInput)

    class Meta:
        model = Order
        fields = list(ORDER_CONTACT_FIELDS)
        widgets = {
            "full_name": forms.TextInput(attrs={"autocomplete": "name"}),
            "email": forms.EmailInput(attrs={"autocomplete": "email"}),
            "phone": forms.TextInput(attrs={"autocomplete": "tel", "type": "tel"}),
            "address": forms.TextInput(attrs={"autocomplete": "address-line1"}),
            "address_extra": forms.TextInput(attrs={"autocomplete": "address-line2"}),
            "city": forms.TextInput(attrs={"autocomplete": "address-level2"}),
            "postcode": forms.TextInput(attrs={"autocomplete": "postal-code"}),
            "country": forms.TextInput(attrs={"autocomplete": "country-name"}),
        }

    def invalid_fields(self) -> list[forms.BoundField]:
        """The fields the shopper must correct, for the page's error summary."""
        return [field for field in self.visible_fields() if field.errors]


class ProductPhotoFormField(forms.ImageField):
    """A product photo in a model form (the admin's photo inline).

    Django's image field judges a file by its name's extension, then opens it with every
    Pillow plugin (TIFF, EPS, PSD, ...) and answers "not an image or a corrupted image" for
    all that fails. Here ``check_image`` alone decides, from the bytes, and the message says
    why: a JPEG called ``IMG_0001`` is a photo, a BMP is refused whatever it is called, and
    only Pillow's JPEG, PNG, WebP and GIF readers see what was uploaded.
    """

    default_validators = []

    def to_python(self, data):
        upload = forms.FileField.to_python(self, data)  # name, emptiness; not Pillow
        if upload is None:
            return None
        try:
            if upload.size > MAX_IMAGE_BYTES:  # before reading a byte of it
                raise InvalidImage(f"the file is larger than {MAX_IMAGE_BYTES // (1024 * 1024)} MB")
            upload.seek(0)
            check_image(upload.read())
        except InvalidImage as error:
            raise ValidationError(
                f"Upload a valid image. This photo cannot be used: {error}.",
                code="invalid_image",
            ) from error
        finally:
            upload.seek(0)
        return upload


class PhotoSearchForm(forms.Form):
    """A shopper's photo (checked, never stored), an optional crop box (fractions) and whether
    to search the whole photo as it is."""

    photo = forms.FileField(
        label="Photo",
        help_text=f"JPEG, PNG, WebP or GIF, up to {MAX_IMAGE_BYTES // (1024 * 1024)} MB.",
        widget=forms.ClearableFileInput(attrs={"accept": "image/*"}),
    )
    crop_x = forms.FloatField(min_value=0, max_value=1, required=False, widget=forms.HiddenInput)
    crop_y = forms.FloatField(min_value=0, max_value=1, required=False, widget=forms.HiddenInput)
    crop_w = forms.FloatField(min_value=0.01, max_value=1, required=False, widget=forms.HiddenInput)
    crop_h = forms.FloatField(min_value=0.01, max_value=1, required=False, widget=forms.HiddenInput)
    # Set when the shopper asks for the whole photo: it is then searched as it is, without
    # looking for the product in it (which would pick the same product again).
    whole_photo = forms.BooleanField(required=False, widget=forms.HiddenInput)

    def clean_photo(self) -> bytes:
        upload = self.cleaned_data["photo"]
        if upload.size > MAX_IMAGE_BYTES:  # before reading or decoding a byte of it
            raise ValidationError(
                f"This file is too large ({upload.size / 1024 / 1024:.1f} MB); "
                f"photos can be up to {MAX_IMAGE_BYTES // (1024 * 1024)} MB."
            )
        try:
            return check_image(upload.read()).data
        except InvalidImage as error:
            raise ValidationError(f"We could not use this file: {error}.") from error

    def clean(self):
        data = super().clean()
        box = [data.get(name) for name in ("crop_x", "crop_y", "crop_w", "crop_h")]
        if all(value is None for value in box):
            data["box"] = None
        elif any(value is None for value in box):
            raise ValidationError("The crop box is incomplete; select the area again.")
        elif box[0] + box[2] > 1.0001 or box[1] + box[3] > 1.0001:
            raise ValidationError("The crop box goes outside the photo; select the area again.")
        else:
            data["box"] = tuple(box)
        return data
