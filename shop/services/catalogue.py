"""Writes to the catalogue: categories, products and their photos. Each service owns its
transaction; a change is announced to listeners (shop/events.py) once it commits."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils.text import slugify

from shop.events import product_changes_announce
from shop.images import CheckedImage
from shop.models import Category, Product, ProductImage


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
