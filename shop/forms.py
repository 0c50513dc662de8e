"""Storefront forms: they turn query strings and posts into filters, cart changes and orders."""

from __future__ import annotations

import re
import unicodedata
from functools import cache

import phonenumbers
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

    def __init__(
        self, *args, colours: list[str] = (), genders: list[str] = Gender.values, **kwargs
    ):
        super().__init__(*args, **kwargs)
        self.fields["colour"].choices = [("", "Any"), *((c, c) for c in colours)]
        if genders:
            self.fields["gender"].choices = [("", "Any"), *((g, g) for g in genders)]
        else:  # a catalogue without genders (home goods, food) shows no gender menu
            del self.fields["gender"]

    def clean(self):
        data = super().clean()
        low, high = data.get("price_min"), data.get("price_max")
        if low is not None and high is not None and low > high:
            raise ValidationError(
                "The minimum price is above the maximum: prices are not filtered."
            )
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

    @property
    def active_count(self) -> int:
        """How many filters narrow the list (a price range counts once)."""
        filters = self.filters()
        price = filters.price_min is not None or filters.price_max is not None
        return sum(map(bool, (filters.gender, filters.colour, price, filters.in_stock)))


class SortForm(forms.Form):
    sort = forms.ChoiceField(choices=SORT_CHOICES, required=False)

    def value(self, default: str = "new") -> str:
        return (self.cleaned_data.get("sort") if self.is_valid() else "") or default


class QuantityForm(forms.Form):
    quantity = forms.IntegerField(min_value=0, max_value=MAX_QUANTITY, initial=1)
    # Which variant (size, colour) of a product sold by variant; absent for the others.
    variant = forms.IntegerField(required=False, min_value=1)


# Names: letters of any script (with their combining marks: Devanagari vowel signs, say),
# and the punctuation names are written with.
NAME_PUNCTUATION = frozenset(" -'\u2019.,\u00b7\u30fb")  # ・ as in ジョン・スミス
# Every country's postcodes: letters and digits, spaced or hyphenated (SW1A 1AA, 10115,
# 01310-100, 100-0001, D02 X285), with at least one digit (checked apart).
POSTCODE = re.compile(r"[0-9A-Z]{1,8}(?:[ -][0-9A-Z]{1,8})?")
# What shoppers type for a country besides its name (which ``phone_region`` knows).
COUNTRY_ALIASES = {
    "uk": "GB",
    "u.k.": "GB",
    "great britain": "GB",
    "britain": "GB",
    "england": "GB",
    "scotland": "GB",
    "wales": "GB",
    "northern ireland": "GB",
    "usa": "US",
    "u.s.a.": "US",
    "us": "US",
    "u.s.": "US",
    "united states of america": "US",
    "america": "US",
}
COUNTRY_NAME_LANGUAGES = ("en", "de", "fr", "es", "pt", "it", "nl", "ja", "zh", "hi")


def _is_letter(char: str) -> bool:
    return unicodedata.category(char)[0] in "LM"


def _country_key(name: str) -> str:
    return " ".join(name.casefold().split())


@cache
def _regions_by_country_name() -> dict[str, str]:
    """Each country's name in a few languages, from libphonenumber's own data, to its region."""
    from phonenumbers import geocoder

    names = {}
    for region in phonenumbers.SUPPORTED_REGIONS:
        example = phonenumbers.example_number(region)
        if example is None:
            continue
        for language in COUNTRY_NAME_LANGUAGES:
            if name := geocoder.country_name_for_number(example, language):
                names.setdefault(_country_key(name), region)
    return names


def phone_region(country: str) -> str | None:
    """The phone region (ISO 3166 code) of a country as a shopper wrote it, if known."""
    key = _country_key(country)
    if key.upper() in phonenumbers.SUPPORTED_REGIONS:
        return key.upper()
    return COUNTRY_ALIASES.get(key) or _regions_by_country_name().get(key)


def phone_normalise(phone: str, *, country: str) -> str:
    """The number in E.164 (+442079460958): in international form (+ or 00) from anywhere, or
    as dialled at home in ``country``; ValidationError with what to write otherwise."""
    region = phone_region(country)
    if phone.lstrip().startswith("00"):  # the international prefix of most countries
        phone = "+" + phone.lstrip()[2:]
    example = "+44 20 7946 0958"
    try:
        number = phonenumbers.parse(phone, region)
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        if region is None and not phone.lstrip().startswith("+"):
            message = f"Enter the phone number with its country code, e.g. {example}."
        else:
            message = f"Enter a phone number that can be dialled, e.g. {example}."
        raise ValidationError(message, code="invalid_phone")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


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

    def clean_full_name(self) -> str:
        name = " ".join(self.cleaned_data["full_name"].split())
        letters = sum(_is_letter(char) for char in name)
        if letters < 2 or any(not (_is_letter(char) or char in NAME_PUNCTUATION) for char in name):
            raise ValidationError(
                "Enter your full name as it goes on the parcel, in letters "
                "(spaces, hyphens, apostrophes and full stops are fine).",
                code="invalid_name",
            )
        return name

    def clean_city(self) -> str:
        city = " ".join(self.cleaned_data["city"].split())
        if not any(_is_letter(char) for char in city):
            raise ValidationError("Enter the town or city in letters.", code="invalid_city")
        return city

    def clean_postcode(self) -> str:
        postcode = " ".join(self.cleaned_data["postcode"].split()).upper()
        if postcode and not (POSTCODE.fullmatch(postcode) and any(c.isdigit() for c in postcode)):
            raise ValidationError(
                "Enter the postcode as it is written on letters there, e.g. SW1A 1AA, "
                "10115 or 100-0001 (letters, digits, spaces and hyphens).",
                code="invalid_postcode",
            )
        return postcode

    def clean_country(self) -> str:
        country = " ".join(self.cleaned_data["country"].split())
        if sum(_is_letter(char) for char in country) < 2:
            raise ValidationError("Enter the country's name.", code="invalid_country")
        return country

    def clean(self):
        data = super().clean()
        # After the country: a number written as at home is read as that country's.
        if data.get("phone"):
            try:
                data["phone"] = phone_normalise(data["phone"], country=data.get("country", ""))
            except ValidationError as error:
                self.add_error("phone", error)
        return data

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
