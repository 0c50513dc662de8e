"""Photos that catalogues give as URLs (``ProductPhotoSource``): fetched by workers, never in a
web request, checked like an upload, stored as the product's photo at their place."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from io import BytesIO
from itertools import groupby
from operator import attrgetter

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from PIL import Image

from config.broker import enqueue
from shop.events import product_photo_changes_announce
from shop.images import CheckedImage, InvalidImage, check_image
from shop.models import ProductImage, ProductPhotoSource
from shop.photo_decoding import load_reduced
from shop.photo_fetch import FetchLimits, PhotoFetchError, photo_fetch
from shop.thumbnails import WIDTHS, thumbnails_make

logger = logging.getLogger(__name__)


# Photos per task: a few products' worth, so that their embedding is one batch too (a task per
# photo spent more on messages than on photos: bench/README.md, "Shopify import").
PHOTO_FETCH_TASK_SIZE = 24


def photo_sources_fetch_queue(*, sources: Iterable[ProductPhotoSource]) -> None:
    """Queue the fetch of these sources once the current transaction commits, a few products'
    photos per task, each product's photos in one task. A message that cannot be sent is
    caught up by ``photo_sources_pending_queue`` (beat)."""
    from shop.tasks import fetch_product_photos  # the tasks call these services

    by_product: dict[int, list[int]] = {}
    for source in sources:
        by_product.setdefault(source.product_id, []).append(source.pk)
    batches, batch = [], []
    for source_ids in by_product.values():
        if batch and len(batch) + len(source_ids) > PHOTO_FETCH_TASK_SIZE:
            batches.append(batch)
            batch = []
        batch += source_ids
    batches += [batch] if batch else []
    for batch in batches:
        transaction.on_commit(lambda batch=batch: enqueue(fetch_product_photos, batch))


def photo_sources_pending_queue(*, older_than_seconds: int) -> int:
    """Queue again the sources still waiting after ``older_than_seconds`` (a lost message, a
    broker that was down during the import); returns how many."""
    cutoff = timezone.now() - timezone.timedelta(seconds=older_than_seconds)
    pending = ProductPhotoSource.objects.filter(status=ProductPhotoSource.Status.PENDING).filter(
        product__updated_at__lt=cutoff
    )
    sources = list(pending.only("pk", "product_id"))
    photo_sources_fetch_queue(sources=sources)
    return len(sources)


def fetch_limits() -> FetchLimits:
    return FetchLimits(
        max_bytes=settings.SHOP_PHOTO_FETCH_MAX_BYTES,
        connect_timeout=settings.SHOP_PHOTO_FETCH_CONNECT_TIMEOUT,
        read_timeout=settings.SHOP_PHOTO_FETCH_READ_TIMEOUT,
        deadline_seconds=settings.SHOP_PHOTO_FETCH_DEADLINE,
        max_redirects=settings.SHOP_PHOTO_FETCH_MAX_REDIRECTS,
        allow_loopback=settings.SHOP_PHOTO_FETCH_ALLOW_LOOPBACK,
    )


def photo_sources_fetch(
    *, source_ids: Iterable[int], last_attempt: bool = True, attempted: list[int] | None = None
) -> list[int]:
    """Fetch, check and store these sources' photos; returns the ids that failed for now (a
    server down, a timeout), to try again, unless ``last_attempt``, which marks them failed.

    A refusal (private address, too large, not an image...) marks the source failed with its
    reason. Idempotent: a fetched source is left alone. Each product's photos are stored
    together; the products whose photos were stored are announced once, together (their
    embedding is one batch). Each source is appended to ``attempted`` as its fetch starts (the
    caller learns which one a time limit cut short).
    """
    sources = (
        ProductPhotoSource.objects.filter(pk__in=list(source_ids), status__in=PENDING_OR_FAILED)
        .select_related("product")
        .order_by("product_id", "position", "pk")
    )
    limits = fetch_limits()
    stored, again = [], []
    for product_id, product_sources in groupby(sources, key=attrgetter("product_id")):
        checked = []
        for source in product_sources:
            if attempted is not None:
                attempted.append(source.pk)
            try:
                checked.append((source, check_image(photo_fetch(source.url, limits))))
            except PhotoFetchError as error:
                if error.temporary and not last_attempt:
                    again.append(source.pk)
                else:
                    _failed(source, str(error))
            except InvalidImage as error:
                _failed(source, f"not a usable image: {error}")
        images = _store(checked) if checked else []
        for image, photo in images:
            with Image.open(BytesIO(photo.data)) as pixels:
                thumbnails_make(image, load_reduced(pixels, at_least=max(WIDTHS)))
        if images:
            stored.append(product_id)
    product_photo_changes_announce(product_ids=stored)
    return again


def photo_sources_unsettled(*, source_ids: Iterable[int]) -> list[int]:
    """Those of these sources neither fetched nor failed."""
    return list(
        ProductPhotoSource.objects.filter(
            pk__in=list(source_ids), status=ProductPhotoSource.Status.PENDING
        ).values_list("pk", flat=True)
    )


PENDING_OR_FAILED = [ProductPhotoSource.Status.PENDING, ProductPhotoSource.Status.FAILED]


@transaction.atomic
def _store(checked: list[tuple[ProductPhotoSource, CheckedImage]]):
    """Store one product's fetched photos at their places, in one transaction; returns the
    ``(image, photo)`` pairs stored (none for a source another delivery of the same message
    stored first)."""
    from shop.services.catalogue import product_image_store, product_images_order

    locked = {
        source.pk: source
        for source in ProductPhotoSource.objects.select_for_update().filter(
            pk__in=[source.pk for source, _ in checked]
        )
    }
    stored = []
    for source, photo in checked:
        fresh = locked.get(source.pk)
        if fresh is None or fresh.status == ProductPhotoSource.Status.FETCHED:
            continue
        image = product_image_store(
            product=source.product, photo=photo, alt_text=fresh.alt_text, position=fresh.position
        )
        image.is_primary = False  # decided below, among the product's photos
        stored.append((fresh, image, photo))
    if not stored:
        return []
    ProductImage.objects.bulk_create([image for _, image, _ in stored])
    now = timezone.now()
    for fresh, image, _ in stored:
        fresh.image, fresh.status, fresh.reason, fresh.attempted_at = (
            image,
            ProductPhotoSource.Status.FETCHED,
            "",
            now,
        )
    ProductPhotoSource.objects.bulk_update(
        [fresh for fresh, _, _ in stored], ["image", "status", "reason", "attempted_at"]
    )
    product_images_order(product_ids=[checked[0][0].product_id])
    return [(image, photo) for _, image, photo in stored]


def photo_sources_fail(*, source_ids: Iterable[int], reason: str) -> None:
    """Mark the sources not fetched yet as failed, with ``reason`` for the admin."""
    ProductPhotoSource.objects.filter(pk__in=list(source_ids)).exclude(
        status=ProductPhotoSource.Status.FETCHED
    ).update(
        status=ProductPhotoSource.Status.FAILED, reason=reason[:300], attempted_at=timezone.now()
    )


def _failed(source: ProductPhotoSource, reason: str) -> None:
    logger.info("Photo %s of product %s failed: %s", source.url, source.product_id, reason)
    photo_sources_fail(source_ids=[source.pk], reason=reason)
