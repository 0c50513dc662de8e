"""Importing a catalogue file (shop/catalogue_formats) in batches that commit one by one:
products updated in place by id, their photos and variants made to match the file, bad
products skipped and reported. Photos given as URLs are fetched by workers after the batch
commits (shop/services/photo_sources.py)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from django.core.files.storage import default_storage
from django.db import transaction
from django.utils.text import slugify

from shop.catalogue_formats import CatalogueRow, Mapping, RowError, catalogue_open
from shop.events import product_changes_announce
from shop.images import CheckedImage, InvalidImage, check_image
from shop.models import (
    Category,
    Product,
    ProductImage,
    ProductPhotoSource,
    ProductVariant,
)
from shop.services.catalogue import (
    category_get_or_create,
    product_image_store,
    product_images_delete,
    product_images_order,
    unique_slugs,
)
from shop.services.photo_sources import photo_sources_fetch_queue

IMPORT_BATCH_SIZE = 500

OPTIONAL_COLUMNS_CLEARED = {"price": None, "description": "", "stock": 0}
VARIANT_FIELDS = ("option_values", "price", "compare_at_price", "stock", "colour")


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)
    # Photos left out of a product that was imported (a product's only photo failing skips it).
    photo_errors: list[RowError] = field(default_factory=list)
    photos_to_fetch: int = 0

    @property
    def skipped(self) -> int:
        return len(self.errors)

    def __str__(self) -> str:
        summary = (
            f"{self.created} created, {self.updated} updated, {self.unchanged} unchanged, "
            f"{self.skipped} skipped"
        )
        if self.photo_errors:
            summary += f", {len(self.photo_errors)} photos skipped"
        if self.photos_to_fetch:
            summary += f", {self.photos_to_fetch} photos queued to fetch"
        return summary


def catalogue_import(
    *,
    path: Path | str,
    mapping: Mapping | None = None,
    default_stock: int = 0,
    progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """Import a catalogue file (Kaggle layout, Shopify export, or any file with ``mapping``).
    Idempotent: keyed on the external id (Shopify's Handle).

    Bad products (unparseable line, missing or broken only photo, bad values) are reported
    with their line number and skipped; the rest is imported. Batches commit one at a time, so
    an interrupted import keeps what it finished and a re-run completes it.
    """
    catalogue = catalogue_open(path, mapping=mapping)
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


# A photo file's bytes are already stored for the product: nothing to decode or write.
@dataclass(frozen=True)
class StoredPhoto:
    sha256: str


def _import_batch(rows, default_stock, report, progress, categories) -> None:
    batch_size = len(rows)
    rows = _skus_check(rows, report)
    checked = _local_photos_check(rows, report)
    rows = [row for row in rows if row.external_id not in checked.skipped]

    saved_files: list[str] = []
    try:
        with transaction.atomic():
            _write_batch(rows, checked.photos, default_stock, report, saved_files, categories)
    except BaseException:
        for name in saved_files:  # the rows were rolled back; do not leave their files behind
            default_storage.delete(name)
        raise
    if progress:
        progress(batch_size)


def _skus_check(rows: list[CatalogueRow], report: ImportReport) -> list[CatalogueRow]:
    """Rows whose variants' SKUs no other product has (in the shop or earlier in the batch); the
    others are skipped and reported."""
    skus = {v.sku for row in rows for v in row.variants or () if v.sku}
    owners = dict(
        ProductVariant.objects.filter(sku__in=skus).values_list("sku", "product__external_id")
    )
    kept = []
    for row in rows:
        taken = [
            v.sku
            for v in row.variants or ()
            if owners.get(v.sku, row.external_id) != row.external_id
        ]
        if taken:
            report.errors.append(
                RowError(
                    row.line,
                    row.external_id,
                    f"SKU {taken[0]} belongs to product {owners[taken[0]]}",
                )
            )
            continue
        owners.update({v.sku: row.external_id for v in row.variants or () if v.sku})
        kept.append(row)
    return kept


@dataclass
class CheckedPhotos:
    # (external id, photo's place in the row) -> what to store
    photos: dict[tuple[str, int], CheckedImage | StoredPhoto] = field(default_factory=dict)
    skipped: set[str] = field(default_factory=set)


def _local_photos_check(rows: list[CatalogueRow], report: ImportReport) -> CheckedPhotos:
    """Read and check the photo files of ``rows``; those whose bytes the product already has
    are not decoded again. A product whose only photo fails is skipped, as a product page
    without its photo; otherwise a failed photo is left out and reported."""
    stored: dict[str, set[str]] = {}
    for external_id, sha256 in ProductImage.objects.filter(
        product__external_id__in=[row.external_id for row in rows]
    ).values_list("product__external_id", "sha256"):
        stored.setdefault(external_id, set()).add(sha256)
    result = CheckedPhotos()
    for row in rows:
        for place, photo in enumerate(row.photos):
            if photo.path is None:
                continue
            try:
                data = photo.path.read_bytes()
                sha256 = hashlib.sha256(data).hexdigest()
                if sha256 in stored.get(row.external_id, ()):
                    result.photos[row.external_id, place] = StoredPhoto(sha256)
                else:
                    result.photos[row.external_id, place] = check_image(data)
            except InvalidImage as error:
                reason = f"image {photo.path.name}: {error}"
            except OSError as error:
                reason = f"image unreadable: {error}"
            else:
                continue
            if len(row.photos) == 1:
                report.errors.append(RowError(row.line, row.external_id, reason))
                result.skipped.add(row.external_id)
            else:
                report.photo_errors.append(RowError(row.line, row.external_id, reason))
    return result


def _write_batch(rows, photos, default_stock, report, saved_files, categories) -> None:
    existing = Product.objects.prefetch_related("images", "photo_sources", "variants").in_bulk(
        [row.external_id for row in rows], field_name="external_id"
    )
    products = []
    for row in rows:
        key = tuple(row.categories)
        if key not in categories:
            categories[key] = category_get_or_create(names=row.categories)
        product = existing.get(row.external_id) or Product(
            external_id=row.external_id, stock=default_stock
        )
        products.append((product, row, _apply_row(product, row, categories[key])))

    new_products = [product for product, _, _ in products if product.pk is None]
    wanted = [[slugify(f"{p.title[:200]} {p.external_id}") or "product"] for p in new_products]
    for product, slug in zip(new_products, unique_slugs(Product, wanted), strict=True):
        product.slug = slug
    Product.objects.bulk_create(new_products)

    changes = BatchChanges()
    announced = []
    created = {id(product) for product in new_products}
    for product, row, changed in products:
        is_new = id(product) in created
        photos_changed = _photos_sync(product, row, photos, changes, is_new=is_new)
        variants_changed = row.variants is not None and _variants_sync(
            product, row, changes, is_new=is_new
        )
        if is_new:
            report.created += 1
        elif changed or photos_changed or variants_changed:
            if changed:
                product.save()
            report.updated += 1
        else:
            report.unchanged += 1
            continue
        announced.append(product.pk)

    # A re-imported photo replaces the old one; its file goes once the new one is committed.
    product_images_delete(images=changes.images_deleted)
    ProductPhotoSource.objects.filter(pk__in=changes.sources_deleted).delete()
    saved_files += [image.image.name for image in changes.images_created]
    ProductImage.objects.bulk_create(changes.images_created)
    ProductImage.objects.bulk_update(changes.images_moved, ["position", "alt_text"])
    ProductPhotoSource.objects.bulk_create(changes.sources_created)
    ProductPhotoSource.objects.bulk_update(
        changes.sources_moved, ["position", "alt_text", "status", "reason"]
    )
    ProductVariant.objects.filter(pk__in=changes.variants_deleted).delete()
    ProductVariant.objects.bulk_update(changes.variants_changed, ["sku", *VARIANT_FIELDS])
    ProductVariant.objects.bulk_create(changes.variants_created)
    product_images_order(product_ids=changes.photos_of)
    to_fetch = changes.sources_created + changes.sources_requeued
    report.photos_to_fetch += len(to_fetch)
    photo_sources_fetch_queue(sources=to_fetch)
    # Embedding happens in batches on the workers, after this batch commits.
    product_changes_announce(product_ids=announced)


@dataclass
class BatchChanges:
    images_created: list[ProductImage] = field(default_factory=list)
    images_moved: list[ProductImage] = field(default_factory=list)
    images_deleted: list[ProductImage] = field(default_factory=list)
    sources_created: list[ProductPhotoSource] = field(default_factory=list)
    sources_moved: list[ProductPhotoSource] = field(default_factory=list)
    sources_requeued: list[ProductPhotoSource] = field(default_factory=list)
    sources_deleted: list[int] = field(default_factory=list)
    variants_created: list[ProductVariant] = field(default_factory=list)
    variants_changed: list[ProductVariant] = field(default_factory=list)
    variants_deleted: list[int] = field(default_factory=list)
    photos_of: set[int] = field(default_factory=set)


def _photos_sync(product, row, photos, changes: BatchChanges, *, is_new: bool) -> bool:
    """Make ``product``'s photos the row's, in its order; True when something changed.

    A row without photos leaves the product's as they are (an admin may have added some)."""
    if not row.photos:
        return False
    images = [] if is_new else list(product.images.all())
    sources = {} if is_new else {source.url: source for source in product.photo_sources.all()}
    kept_images: set[int] = set()
    kept_sources: set[int] = set()
    changed = False
    for place, photo in enumerate(row.photos):
        if photo.url:
            source = sources.get(photo.url)
            if source is None:
                changes.sources_created.append(
                    ProductPhotoSource(
                        product=product, url=photo.url, position=place, alt_text=photo.alt_text
                    )
                )
                changed = True
                continue
            kept_sources.add(source.pk)
            kept_images.add(source.image_id)
            if source.status == ProductPhotoSource.Status.FAILED:
                # A re-import tries a failed URL again (its server may be fixed); a fetched one
                # is never fetched twice.
                source.status, source.reason = ProductPhotoSource.Status.PENDING, ""
                changes.sources_requeued.append(source)
            if (source.position, source.alt_text) != (place, photo.alt_text) or (
                source in changes.sources_requeued
            ):
                source.position, source.alt_text = place, photo.alt_text
                changes.sources_moved.append(source)
                changed = True
            image = next((i for i in images if i.pk == source.image_id), None)
            changed |= image is not None and _image_move(image, place, photo.alt_text, changes)
            continue
        checked = photos.get((row.external_id, place))
        if isinstance(checked, StoredPhoto):
            image = next(
                (i for i in images if i.sha256 == checked.sha256 and i.pk not in kept_images),
                None,  # the same file twice in one row: stored once
            )
            if image is not None:
                kept_images.add(image.pk)
                changed |= _image_move(image, place, photo.alt_text, changes)
        elif checked is not None:  # None: the photo failed its check and was reported
            changes.images_created.append(
                product_image_store(
                    product=product, photo=checked, alt_text=photo.alt_text, position=place
                )
            )
            changed = True
    for source in sources.values():
        if source.pk not in kept_sources:
            changes.sources_deleted.append(source.pk)
            changed = True
    for image in images:
        if image.pk not in kept_images:
            changes.images_deleted.append(image)
            changed = True
    if changed:
        changes.photos_of.add(product.pk)
    return changed


def _image_move(image: ProductImage, place: int, alt_text: str, changes: BatchChanges) -> bool:
    if (image.position, image.alt_text) == (place, alt_text):
        return False
    image.position, image.alt_text = place, alt_text
    changes.images_moved.append(image)
    return True


def _variants_sync(product, row, changes: BatchChanges, *, is_new: bool) -> bool:
    """Make ``product``'s variants the row's: matched by SKU, or by option values when the
    variant has none; True when something changed."""
    existing = [] if is_new else list(product.variants.all())
    by_sku = {v.sku: v for v in existing if v.sku}
    by_options = {tuple(v.option_values): v for v in existing if not v.sku}
    kept: set[int] = set()
    changed = False
    for position, wanted in enumerate(row.variants):
        variant = (
            by_sku.get(wanted.sku) if wanted.sku else by_options.get(tuple(wanted.option_values))
        )
        values = {
            "option_values": wanted.option_values,
            "price": wanted.price,
            "compare_at_price": wanted.compare_at_price,
            "stock": wanted.stock,
            "colour": _option_colour(row.option_names or [], wanted.option_values),
        }
        if variant is None:
            changes.variants_created.append(
                ProductVariant(product=product, sku=wanted.sku, position=position, **values)
            )
            changed = True
            continue
        kept.add(variant.pk)
        values["position"] = position
        if any(getattr(variant, name) != value for name, value in values.items()):
            for name, value in values.items():
                setattr(variant, name, value)
            changes.variants_changed.append(variant)
            changed = True
    gone = [v.pk for v in existing if v.pk not in kept]
    changes.variants_deleted += gone
    return changed or bool(gone)


def _option_colour(option_names: list[str], option_values: list[str]) -> str:
    return ProductVariant(option_values=option_values).colour_from_options(option_names)


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
    if row.active is not None:
        values["is_active"] = row.active
    if row.option_names is not None:
        values["option_names"] = row.option_names
    changed = False
    for name, value in values.items():
        if getattr(product, name) != value:
            setattr(product, name, value)
            changed = True
    return changed
