"""The catalogue: products, their photos, the admin's product form."""

from io import BytesIO

import factory
from django.core.files.base import ContentFile
from PIL import Image

from shop.models import Product, ProductImage, ProductVariant
from shop.services import category_get_or_create


def jpeg_bytes(colour=(200, 30, 30), size=(60, 80)) -> bytes:
    buffer = BytesIO()
    Image.new("RGB", size, colour).save(buffer, "JPEG")
    return buffer.getvalue()


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    title = factory.Sequence(lambda n: f"Test Shirt {n}")
    slug = factory.Sequence(lambda n: f"test-shirt-{n}")
    price = "19.99"
    stock = 5
    colour = "Red"
    gender = "Men"
    category = factory.LazyFunction(
        lambda: category_get_or_create(names=["Apparel", "Topwear", "Shirts"])
    )


class ProductImageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ProductImage

    product = factory.SubFactory(ProductFactory)
    image = factory.LazyFunction(lambda: ContentFile(jpeg_bytes(), name="photo.jpg"))
    is_primary = True
    sha256 = factory.Sequence(lambda n: f"{n:064x}")


def inline_management_form(prefix: str, total: int = 0, initial: int = 0) -> dict:
    return {
        f"{prefix}-TOTAL_FORMS": str(total),
        f"{prefix}-INITIAL_FORMS": str(initial),
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
    }


def admin_product_form(photo, *, title: str, slug: str, **fields) -> dict:
    """The admin's "add product" form with one photo, as a browser would post it."""
    category = category_get_or_create(names=["Apparel", "Topwear", "Shirts"])
    return {
        "title": title,
        "slug": slug,
        "description": "",
        "category": category.pk,
        "price": "39.00",
        "currency": "EUR",
        "stock": "4",
        "is_active": "on",
        "gender": "Men",
        "colour": "White",
        "season": "",
        "usage": "",
        "year": "",
        "attributes": "{}",
        "option_names": "[]",
        "external_id": "",
        **inline_management_form("variants"),
        **inline_management_form("photo_sources"),
        "images-TOTAL_FORMS": "1",
        "images-INITIAL_FORMS": "0",
        "images-MIN_NUM_FORMS": "0",
        "images-MAX_NUM_FORMS": "1000",
        "images-0-image": photo,
        "images-0-alt_text": "",
        "images-0-position": "0",
        **fields,
    }


class ProductVariantFactory(factory.django.DjangoModelFactory):
    """A variant of a product whose options are Size and Colour."""

    class Meta:
        model = ProductVariant

    product = factory.SubFactory(ProductFactory, option_names=["Size", "Colour"])
    sku = factory.Sequence(lambda n: f"SKU-{n}")
    option_values = factory.Sequence(lambda n: [f"Size {n}", "Blue"])
    colour = "Blue"
    price = "24.00"
    stock = 3
