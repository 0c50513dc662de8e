"""Importing a catalogue file (shop/catalogue_csv.py) in batches that commit one by one: rows
updated in place by id, photos checked and stored once, bad rows skipped and reported."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from django.core.files.storage import default_storage
from django.db import transaction
from django.utils.text import slugify

from shop.catalogue_csv import Catalogue, CatalogueRow, RowError
from shop.events import product_changes_announce
from shop.images import CheckedImage, InvalidImage, check_image
from shop.models import Category, Product, ProductImage
from shop.services.catalogue import (
    category_get_or_create,
    product_image_store,
    product_images_delete,
    unique_slugs,
)

IMPORT_BATCH_SIZE = 500

OPTIONAL_COLUMNS_CLEARED = {"price": None, "description": "", "stock": 0}


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)

    @property
    def skipped(self) -> int:
        return len(self.errors)

    def __str__(self) -> str:
        return (
            f"{self.created} created, {self.updated} updated, {self.unchanged} unchanged, "
            f"{self.skipped} skipped"
        )


def catalogue_import(
    *,
    path: Path | str,
    default_stock: int = 0,
    progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """Import a Kaggle-layout catalogue. Idempotent: keyed on the external id.

    Bad rows (unparseable line, missing or broken image, bad values) are reported with their
    line number and skipped; the rest is imported. Batches commit one at a time, so an
    interrupted import keeps what it finished and a re-run completes it.
    """
    catalogue = Catalogue.open(path)
    report = ImportReport()
    seen: dict[str, int] = {}
    categories: dict[tuple[str, ...], Category | None] = {}  # names -> category, across batches
    batch: list[CatalogueRow] = []
    for row in catalogue.rows():
        if isinstance(row, CatalogueRow) and row.external_id in seen:
            row = RowError(
                row.line, row.external_id, f"duplicate id, first on line {seen[row.external_id]}"
            )
        if isinstance(row, RowError):
            report.errors.append(row)
            if progress:
                progress(1)
            continue
        seen[row.external_id] = row.line
        batch.append(row)
        if len(batch) >= IMPORT_BATCH_SIZE:
            _import_batch(batch, default_stock, report, progress, categories)
            batch = []
    if batch:
        _import_batch(batch, default_stock, report, progress, categories)
    report.errors.sort(key=lambda error: error.line)
    return report


def _import_batch(rows, default_stock, report, progress, categories) -> None:
    batch_size = len(rows)
    # Photos whose bytes are already stored as the primary image need no decoding.
    stored = dict(
        ProductImage.objects.filter(
            product__external_id__in=[row.external_id for row in rows], is_primary=True
        ).values_list("product__external_id", "sha256")
    )
    images: dict[str, CheckedImage | None] = {}
    for row in rows:
        try:
            data = row.image_path.read_bytes()
            if stored.get(row.external_id) == hashlib.sha256(data).hexdigest():
                images[row.external_id] = None  # unchanged
            else:
                images[row.external_id] = check_image(data)
        except InvalidImage as error:
            report.errors.append(
                RowError(row.line, row.external_id, f"image {row.image_path.name}: {error}")
            )
        except OSError as error:
            report.errors.append(RowError(row.line, row.external_id, f"image unreadable: {error}"))
    rows = [row for row in rows if row.external_id in images]

    saved_files: list[str] = []
    try:
        with transaction.atomic():
            _write_batch(rows, images, default_stock, report, saved_files, categories)
    except BaseException:
        for name in saved_files:  # the rows were rolled back; do not leave their files behind
            default_storage.delete(name)
        raise
    if progress:
        progress(batch_size)


def _write_batch(rows, images, default_stock, report, saved_files, categories) -> None:
    existing = Product.objects.prefetch_related("images").in_bulk(
        [row.external_id for row in rows], field_name="external_id"
    )
    new_products, new_images, updated_ids = [], [], []
    for row in rows:
        key = tuple(row.categories)
        if key not in categories:
            categories[key] = category_get_or_create(names=row.categories)
        product = existing.get(row.external_id) or Product(
            external_id=row.external_id, stock=default_stock
        )
        changed = _apply_row(product, row, categories[key])
        image = images[row.external_id]  # None: the stored photo has the same bytes
        if image is not None:
            new_images.append((product, row, image, product.primary_image if product.pk else None))
        if product.pk is None:
            new_products.append(product)
            report.created += 1
        elif changed or image is not None:
            if changed:
                product.save()
            updated_ids.append(product.pk)
            report.updated += 1
        else:
            report.unchanged += 1

    wanted = [[slugify(f"{p.title[:200]} {p.external_id}") or "product"] for p in new_products]
    for product, slug in zip(new_products, unique_slugs(Product, wanted), strict=True):
        product.slug = slug
    Product.objects.bulk_create(new_products)
    # A re-imported photo replaces the old one; its file goes once the new one is committed.
    product_images_delete(images=[old for _, _, _, old in new_images if old is not None])
    to_create = []
    for product, row, image, _ in new_images:
        to_create.append(product_image_store(product=product, photo=image, alt_text=row.title))
        saved_files.append(to_create[-1].image.name)
    ProductImage.objects.bulk_create(to_create)
    # Embedding happens in batches on the workers, after this batch commits.
    product_changes_announce(product_ids=[p.pk for p in new_products] + updated_ids)


def _apply_row(product: Product, row: CatalogueRow, category: Category | None) -> bool:
    """Copy the row's fields onto ``product``; True when something changed."""
    values = {
        "title": row.title,
        "category_id": category.pk if category else None,
        "gender": row.gender,
        "colour": row.colour,
        "season": row.season,
        "usage": row.usage,
        "year": row.year,
        "attributes": {**product.attributes, **row.attributes},
    }
    # Optional columns only overwrite when the file has them; an empty cell clears the value.
    for name, cleared in OPTIONAL_COLUMNS_CLEARED.items():
        if name in row.columns:
            values[name] = cleared if getattr(row, name) is None else getattr(row, name)
    if "currency" in row.columns and row.currency:
        values["currency"] = row.currency
    changed = False
    for name, value in values.items():
        if getattr(product, name) != value:
            setattr(product, name, value)
            changed = True
    return changed
