"""The shop's models by sub-domain; import them from here."""

from shop.models.catalogue import (
    IMAGE_EXTENSIONS,
    Category,
    Gender,
    Product,
    ProductImage,
    ProductPhotoField,
    ProductPhotoFile,
    Season,
    currency_code,
    default_currency,
    product_image_upload_to,
    reject_nul_characters,
)
from shop.models.orders import Order, OrderLine, order_reference

__all__ = [
    "IMAGE_EXTENSIONS",
    "Category",
    "Gender",
    "Order",
    "OrderLine",
    "Product",
    "ProductImage",
    "ProductPhotoField",
    "ProductPhotoFile",
    "Season",
    "currency_code",
    "default_currency",
    "order_reference",
    "product_image_upload_to",
    "reject_nul_characters",
]
