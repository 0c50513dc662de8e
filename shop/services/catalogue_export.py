"""The catalogue written out as a Shopify product CSV: what ``import_catalogue`` reads back
(a round trip gives the same products, variants and photos), and what Shopify imports.

Fields Shopify has no column for (colour, gender, season, usage, year) go into metafield
columns, ``Name (product.metafields.vitrine.key)``, as Shopify's own export writes metafields.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from html import escape
from typing import TextIO

from shop.catalogue_formats.shopify import EXPORT_HEADER, METAFIELDS
from shop.models import Product

EXPORT_BATCH = 500


class ExportError(Exception):
    """The catalogue cannot be written as asked; the message says why."""


def catalogue_export_shopify(*, out: TextIO, base_url: str = "") -> int:
    """Write every product to ``out``; returns how many. Photo URLs that storage gives as
    paths (``/media/...``) are made absolute with ``base_url``, the shop's address."""
    writer = csv.DictWriter(out, fieldnames=EXPORT_HEADER)
    writer.writeheader()
    count = 0
    products = (
        Product.objects.select_related("category")
        .prefetch_related("images", "variants")
        .order_by("pk")
    )
    paths: dict[int | None, str] = {None: ""}  # category id -> "Home > Lighting"
    for product in products.iterator(chunk_size=EXPORT_BATCH):
        if product.category_id not in paths:
            paths[product.category_id] = str(product.category)
        writer.writerows(_lines(product, paths[product.category_id], base_url))
        count += 1
    return count


def _lines(product: Product, category: str, base_url: str) -> Iterator[dict]:
    images = sorted(product.images.all(), key=lambda image: (image.position, image.pk))
    variants = list(product.variants.all())
    first = {
        "Handle": product.external_id or product.slug,
        "Title": product.title,
        "Body (HTML)": "".join(
            f"<p>{escape(line)}</p>" for line in product.description.splitlines() if line.strip()
        ),
        "Vendor": product.attributes.get("Vendor", ""),
        # Type, not Product Category: Shopify checks the latter against its own taxonomy.
        "Type": category,
        "Tags": product.attributes.get("Tags", ""),
        "Published": "TRUE" if product.is_active else "FALSE",
        "Status": "active" if product.is_active else "draft",
    }
    first |= {column: str(getattr(product, name) or "") for column, name in METAFIELDS.items()}
    names = product.option_names
    if names:
        for i, name in enumerate(names, start=1):
            first[f"Option{i} Name"] = name
    else:
        first["Option1 Name"] = "Title"
    rows = []
    for variant in variants or [None]:
        row = {"Handle": first["Handle"]}
        if variant is None or not names:
            row["Option1 Value"] = "Default Title"
        else:
            for i, value in enumerate(variant.option_values, start=1):
                row[f"Option{i} Value"] = value
        price = variant.unit_price if variant else product.price
        row |= {
            "Variant SKU": variant.sku if variant else "",
            "Variant Inventory Qty": variant.stock if variant else product.stock,
            "Variant Price": "" if price is None else price,
            "Variant Compare At Price": (variant.compare_at_price or "") if variant else "",
        }
        rows.append(row)
    for position, image in enumerate(images, start=1):
        if position > len(rows):
            rows.append({"Handle": first["Handle"]})
        rows[position - 1] |= {
            "Image Src": _absolute(image.image.url, base_url),
            "Image Position": position,
            "Image Alt Text": image.alt_text,
        }
    rows[0] = first | rows[0]
    yield from rows


def _absolute(url: str, base_url: str) -> str:
    if url.startswith(("http://", "https://")):
        return url
    if not base_url:
        raise ExportError(
            f"photos are served from {url.rsplit('/', 1)[0]}/: give the shop's address "
            "(--base-url https://shop.example.com) so that the file's photo URLs work elsewhere"
        )
    return base_url.rstrip("/") + url
