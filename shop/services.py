"""Writes to the catalogue. Each service owns its transaction."""

from __future__ import annotations

import hashlib
import uuid
import zlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import F
from django.utils.text import slugify

from shop.catalog_csv import Catalog, CatalogRow, RowError
from shop.events import product_changes_announce
from shop.images import CheckedImage, InvalidImage, check_image
from shop.models import Category, Order, OrderLine, Product, ProductImage

IMPORT_BATCH_SIZE = 500
OPTIONAL_COLUMNS_CLEARED = {"price": None, "description": "", "stock": 0}


def category_get_or_create(*, names: Sequence[str]) -> Category | None:
    """The category at ``names`` (root first), creating the missing levels."""
    category = None
    for name in names:
        siblings = (
            Category.objects.get_children(category)
            if category
            else Category.objects.get_root_nodes()
        )
        found = siblings.filter(name=name).first()
        if found is None:
            slug = _free_slug(Category, slugify(name) or "category", category)
            if category is None:
                found = Category.objects.add_root({"name": name, "slug": slug})
            else:
                # Re-read the parent: treebeard needs its current path and child count.
                parent = Category.objects.get(pk=category.pk)
                found = Category.objects.add_child(parent, {"name": name, "slug": slug})
        category = found
    return category


def _free_slug(model, slug: str, parent: Category | None = None) -> str:
    if not model.objects.filter(slug=slug).exists():
        return slug
    if parent is not None and not model.objects.filter(slug=f"{parent.slug}-{slug}").exists():
        return f"{parent.slug}-{slug}"
    return f"{slug}-{uuid.uuid4().hex[:6]}"


def products_set_active(*, product_ids: Iterable[int], active: bool) -> int:
    """Show or hide products in the storefront; returns how many changed."""
    return (
        Product.objects.filter(pk__in=list(product_ids))
        .exclude(is_active=active)
        .update(is_active=active)
    )


def product_images_ensure_primary(*, product: Product) -> None:
    """A product with photos always has a primary one: the first, unless one was chosen."""
    images = product.images.order_by("position", "id")
    if images.exists() and not images.filter(is_primary=True).exists():
        images.filter(pk=images.first().pk).update(is_primary=True)


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


def catalog_import(
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
    catalog = Catalog.open(path)
    report = ImportReport()
    seen: dict[str, int] = {}
    categories: dict[tuple[str, ...], Category | None] = {}  # names -> category, across batches
    batch: list[CatalogRow] = []
    for row in catalog.rows():
        if isinstance(row, CatalogRow) and row.external_id in seen:
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

    _assign_slugs(new_products)
    Product.objects.bulk_create(new_products)
    # A re-imported photo replaces the old one; its file goes once the new one is committed.
    replaced = [old for _, _, _, old in new_images if old is not None]
    ProductImage.objects.filter(pk__in=[old.pk for old in replaced]).delete()
    for old in replaced:
        transaction.on_commit(lambda name=old.image.name: default_storage.delete(name))
    to_create = []
    for product, row, image, _ in new_images:
        product_image = ProductImage(
            product=product, is_primary=True, sha256=image.sha256, alt_text=row.title
        )
        product_image.image.save(f"upload{image.extension}", ContentFile(image.data), save=False)
        # After the save: Django measures a just-saved ContentFile from its end, i.e. as empty.
        product_image.width, product_image.height = image.width, image.height
        saved_files.append(product_image.image.name)
        to_create.append(product_image)
    ProductImage.objects.bulk_create(to_create)
    # Embedding happens in batches on the workers, after this batch commits.
    product_changes_announce(product_ids=[p.pk for p in new_products] + updated_ids)


def _apply_row(product: Product, row: CatalogRow, category: Category | None) -> bool:
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


def _assign_slugs(products: list[Product]) -> None:
    wanted = [(p, slugify(f"{p.title[:200]} {p.external_id}") or "product") for p in products]
    taken = set(
        Product.objects.filter(slug__in=[slug for _, slug in wanted]).values_list("slug", flat=True)
    )
    for product, slug in wanted:
        if slug in taken:
            slug = f"{slug}-{uuid.uuid4().hex[:6]}"
        taken.add(slug)
        product.slug = slug


class OrderError(Exception):
    """The order cannot be placed as asked; ``problems`` says why, per product."""

    def __init__(self, problems: dict[int, str]):
        self.problems = problems
        super().__init__("; ".join(problems.values()))


ORDER_CONTACT_FIELDS = (
    "full_name",
    "email",
    "phone",
    "address",
    "address_extra",
    "city",
    "postcode",
    "country",
)


@transaction.atomic
def order_place(
    *,
    items: dict[int, int],
    contact: dict[str, str],
    checkout_token: uuid.UUID | None = None,
    expected_total: Decimal | None = None,
) -> Order:
    """Record an order awaiting payment for ``items`` (product id -> quantity), taking the stock.

    Products are locked while their stock is checked and taken, so two shoppers can never
    buy the last item twice. Prices are the catalogue's at this moment; with
    ``expected_total`` (what the shopper was shown), a different total stops the order.
    Nothing is written when any line cannot be sold (``OrderError`` says which and why).
    The same ``checkout_token`` twice returns the first order instead of placing a second:
    callers pass only tokens they gave this shopper (the checkout page binds them to the
    session), or one shopper's token would return another's order.
    """
    if not items:
        raise OrderError({0: "the cart is empty"})
    products = Product.objects.select_for_update().order_by("pk").in_bulk(list(items))
    # Checked under the locks: a concurrent submit of the same page has committed by now.
    if checkout_token and (done := Order.objects.filter(checkout_token=checkout_token).first()):
        return done
    problems = {}
    for product_id, quantity in items.items():
        product = products.get(product_id)
        if product is None or not product.is_purchasable:
            name = product.title if product else "A product"
            problems[product_id] = f"{name} is no longer available"
        elif quantity > product.stock:
            problems[product_id] = f"only {product.stock} of {product.title} left"
    currencies = {product.currency for product in products.values()}
    if len(currencies) > 1:
        problems[0] = "the cart mixes currencies; order them separately"
    if problems:
        raise OrderError(problems)

    lines = [
        OrderLine(
            product=products[pid],
            title=products[pid].title,
            unit_price=products[pid].price,
            quantity=quantity,
        )
        for pid, quantity in items.items()
    ]
    total = sum(line.unit_price * line.quantity for line in lines)
    if expected_total is not None and total != expected_total:
        raise OrderError({0: f"prices changed since you opened checkout: the total is now {total}"})
    order = Order.objects.create(
        **{name: contact.get(name, "") for name in ORDER_CONTACT_FIELDS},
        total=total,
        currency=currencies.pop(),
        checkout_token=checkout_token,
    )
    for line in lines:
        line.order = order
    OrderLine.objects.bulk_create(lines)
    for pid, quantity in items.items():
        Product.objects.filter(pk=pid).update(stock=F("stock") - quantity)
    return order


def order_set_status(*, order: Order, status: str) -> Order:
    """Move an order on (paid, shipped) or cancel it; a cancelled order gives its stock back."""
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order.pk)
        if status == order.status:
            return order
        if order.status == Order.Status.CANCELLED:
            raise OrderError({0: f"order {order.reference} is cancelled"})
        if status == Order.Status.CANCELLED:
            # Product rows are locked in id order, as order_place does: no deadlock between them.
            for line in order.lines.exclude(product=None).order_by("product_id"):
                Product.objects.filter(pk=line.product_id).update(stock=F("stock") + line.quantity)
        order.status = status
        order.save(update_fields=["status", "updated_at"])
    return order


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


def product_save(
    *, product: Product | None = None, fields: dict, photo: CheckedImage | None = None
) -> Product:
    """Create a product (``product`` None) or change one; ``photo`` becomes its primary photo.

    Model validation runs first (nothing is written when it fails: ``ValidationError``). The
    embedding is queued after commit, as for an admin save; a replaced photo's file is deleted
    once the new one is committed.
    """
    product = product or Product()
    for name, value in fields.items():
        setattr(product, name, value)
    if not product.slug:
        product.slug = _free_product_slug(product.title)
    product.full_clean()
    with transaction.atomic():
        product.save()
        if photo is not None:
            old = list(product.images.all())
            product.images.all().delete()
            for image in old:
                transaction.on_commit(lambda name=image.image.name: default_storage.delete(name))
            product_image = ProductImage(
                product=product, is_primary=True, sha256=photo.sha256, alt_text=product.title
            )
            product_image.image.save(
                f"upload{photo.extension}", ContentFile(photo.data), save=False
            )
            product_image.width, product_image.height = photo.width, photo.height
            product_image.save()
        product_changes_announce(product_ids=[product.pk])
    return product


def _free_product_slug(title: str) -> str:
    slug = slugify(title)[:240] or "product"
    if Product.objects.filter(slug=slug).exists():
        slug = f"{slug}-{uuid.uuid4().hex[:6]}"
    return slug
