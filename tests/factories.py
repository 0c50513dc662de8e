"""factory_boy factories for the catalogue."""

from io import BytesIO

import factory
from django.core.files.base import ContentFile
from PIL import Image

from shop.models import Product, ProductImage
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
