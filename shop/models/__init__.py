"""The shop's models by sub-domain; import them from here."""

from shop.models.catalogue import (
    COLOUR_OPTION_NAMES,
    IMAGE_EXTENSIONS,
    MAX_OPTIONS,
    Category,
    Gender,
    Product,
    ProductImage,
    ProductPhotoField,
    ProductPhotoFile,
    ProductPhotoSource,
    ProductVariant,
    Season,
    currency_code,
    default_currency,
    product_image_upload_to,
    reject_nul_characters,
)
from shop.models.orders import Order, OrderLine, order_reference

__all__ = [
    "COLOUR_OPTION_NAMES",
    "IMAGE_EXTENSIONS",
    "MAX_OPTIONS",
    "Category",
    "Gender",
    "Order",
    "OrderLine",
    "Product",
    "ProductImage",
    "ProductPhotoField",
    "ProductPhotoFile",
    "ProductPhotoSource",
    "ProductVariant",
    "Season",
    "currency_code",
    "default_currency",
    "order_reference",
    "product_image_upload_to",
    "reject_nul_characters",
]
