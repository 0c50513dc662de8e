"""Writes to the catalogue and orders, for callers that should not care which module does what.

- ``catalogue``: categories, products and their photos (changes announced on commit).
- ``catalogue_import``: a catalogue file, in batches.
- ``orders``: placing an order from a cart, moving it on.
- ``demo``: made-up prices for demo catalogues.
"""

from shop.services.catalogue import (
    category_get_or_create,
    product_images_ensure_primary,
    product_save,
    product_variants_sync,
    products_set_active,
)
from shop.services.catalogue_import import IMPORT_BATCH_SIZE, ImportReport, catalogue_import
from shop.services.demo import products_set_demo_prices
from shop.services.orders import ORDER_CONTACT_FIELDS, OrderError, order_place, order_set_status

__all__ = [
    "IMPORT_BATCH_SIZE",
    "ORDER_CONTACT_FIELDS",
    "ImportReport",
    "OrderError",
    "catalogue_import",
    "category_get_or_create",
    "order_place",
    "order_set_status",
    "product_images_ensure_primary",
    "product_save",
    "product_variants_sync",
    "products_set_active",
    "products_set_demo_prices",
]
