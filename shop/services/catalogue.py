"""Writes to the catalogue: categories, products and their photos. Each service owns its
transaction; a change is announced to listeners (shop/events.py) once it commits."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from itertools import groupby
from operator import itemgetter

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Model
from django.utils.text import slugify

from shop.events import product_changes_announce
from shop.images import CheckedImage
from shop.models import Category, Product, ProductImage, ProductVariant


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
            slug = slugify(name) or "category"
            # A name used elsewhere in the tree ("Shoes" for men and women) takes its parent's.
            options = [slug, f"{category.slug}-{slug}"] if category else [slug]
            slug = unique_slugs(Category, [options])[0]
            if category is None:
                found = Category.objects.add_root({"name": name, "slug": slug})
            else:
                # Re-read the parent: treebeard needs its current path and child count.
                parent = Category.objects.get(pk=category.pk)
                found = Category.objects.add_child(parent, {"name": name, "slug": slug})
        category = found
    return category


def unique_slugs(model: type[Model], wanted: Sequence[Sequence[str]]) -> list[str]:
    """A slug for each entry of ``wanted``: its first candidate that no ``model`` row and no
    earlier entry has, else the first with a random suffix. One query for them all."""
    taken = set(
        model.objects.filter(slug__in={slug for options in wanted for slug in options}).values_list(
            "slug", flat=True
        )
    )
    chosen = []
    for options in wanted:
        slug = next((s for s in options if s not in taken), f"{options[0]}-{uuid.uuid4().hex[:6]}")
        taken.add(slug)
        chosen.append(slug)
    return chosen


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
        product.slug = unique_slugs(Product, [[slugify(product.title)[:240] or "product"]])[0]
    product.full_clean()
    with transaction.atomic():
        product.save()
        if photo is not None:
            product_images_delete(images=product.images.all())
            product_image_store(product=product, photo=photo, alt_text=product.title).save()
        product_changes_announce(product_ids=[product.pk])
    return product


def product_image_store(
    *, product: Product, photo: CheckedImage, alt_text: str, position: int = 0
) -> ProductImage:
    """``photo`` stored in media as ``product``'s photo at ``position`` (primary at 0): the file
    is written, the row is not (the caller saves it, or creates many at once)."""
    product_image = ProductImage(
        product=product,
        is_primary=position == 0,
        position=position,
        sha256=photo.sha256,
        alt_text=alt_text,
    )
    product_image.image.save(f"upload{photo.extension}", ContentFile(photo.data), save=False)
    # After the save: Django measures a just-saved ContentFile from its end, i.e. as empty.
    product_image.width, product_image.height = photo.width, photo.height
    return product_image


def product_variants_sync(*, product: Product) -> None:
    """After a product's variants changed: each variant's colour from its options, and the
    product's price (the lowest of its variants') and stock (theirs added up), which the
    storefront's cards, filters and sorting read."""
    variants = list(ProductVariant.objects.filter(product=product))
    if not variants:
        return
    for variant in variants:
        variant.colour = variant.colour_from_options(product.option_names)
    ProductVariant.objects.bulk_update(variants, ["colour"])
    prices = [v.price for v in variants if v.price is not None]
    product.price = min(prices) if prices else product.price
    product.stock = sum(v.stock for v in variants)
    product.save(update_fields=["price", "stock", "updated_at"])


def product_images_order(*, product_ids: Iterable[int]) -> None:
    """Make each product's first photo by position its primary one (catalogue files give photos
    in order; a photo fetched later may come before the ones already there).

    One read of the products' photos, then updates of the rows that change only (none when
    the flags are right already): the old primary photo first, since a product may never have
    two at any moment (a unique index)."""
    photos = ProductImage.objects.filter(product_id__in=set(product_ids)).order_by(
        "product_id", "position", "id"
    )
    demote, promote = [], []
    for _, images in groupby(photos.values_list("product_id", "pk", "is_primary"), itemgetter(0)):
        (_, first, first_is_primary), *others = images
        demote += [pk for _, pk, is_primary in others if is_primary]
        promote += [] if first_is_primary else [first]
    if demote:
        ProductImage.objects.filter(pk__in=demote).update(is_primary=False)
    if promote:
        ProductImage.objects.filter(pk__in=promote).update(is_primary=True)


def product_images_delete(*, images: Iterable[ProductImage]) -> None:
    """Delete these photos: the rows now, the files once the transaction commits (a rollback
    keeps both)."""
    images = list(images)
    ProductImage.objects.filter(pk__in=[image.pk for image in images]).delete()
    for image in images:
        transaction.on_commit(lambda name=image.image.name: default_storage.delete(name))
