"""Made-up, repeatable prices for demo catalogues that have none (fashion-dev)."""

from __future__ import annotations

import zlib
from decimal import Decimal

from shop.models import Category, Product

DEMO_PRICE_BASE = {"Apparel": 35, "Footwear": 70, "Accessories": 25, "Personal Care": 15}


def products_set_demo_prices(*, default_base: int = 20) -> int:
    """Give every product without a price a plausible, repeatable one (demo catalogues only).

    Public fashion catalogues carry no prices; a demo shop whose products cannot be bought
    shows little. The price depends only on the product's top category and external id.
    """
    updated = []
    roots = {root.path: root.name for root in Category.objects.get_root_nodes()}
    unpriced = Product.objects.filter(price__isnull=True).select_related("category")
    for product in unpriced.iterator(chunk_size=1000):
        root = roots.get(product.category.path[: Category.steplen]) if product.category else ""
        base = DEMO_PRICE_BASE.get(root, default_base)
        spread = zlib.crc32((product.external_id or product.slug).encode()) % 100 / 100
        product.price = Decimal(round(base * (0.5 + 1.5 * spread))) - Decimal("0.01")
        product.price = max(product.price, Decimal("0.99"))
        updated.append(product)
    Product.objects.bulk_update(updated, ["price"], batch_size=1000)
    return len(updated)
