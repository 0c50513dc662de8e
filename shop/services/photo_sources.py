"""Photos that catalogues give as URLs (``ProductPhotoSource``): fetched by workers, never in a
web request, checked like an upload, stored as the product's photo at their place."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from config.broker import enqueue
from shop.events import product_changes_announce
from shop.images import InvalidImage, check_image
from shop.models import ProductPhotoSource
from shop.photo_fetch import FetchLimits, PhotoFetchError, photo_fetch

logger = logging.getLogger(__name__)


def photo_sources_fetch_queue(*, source_ids: Iterable[int]) -> None:
    """Queue a fetch of each source once the current transaction commits. A message that
    cannot be sent is caught up by ``photo_sources_pending_queue`` (beat)."""
    from shop.tasks import fetch_product_photo  # the tasks call these services

    source_ids = sorted(set(source_ids))
    if source_ids:
        transaction.on_commit(
            lambda: [enqueue(fetch_product_photo, source_id) for source_id in source_ids]
        )


def photo_sources_pending_queue(*, older_than_seconds: int) -> int:
    """Queue again the sources still waiting after ``older_than_seconds`` (a lost message, a
    broker that was down during the import); returns how many."""
    cutoff = timezone.now() - timezone.timedelta(seconds=older_than_seconds)
    pending = ProductPhotoSource.objects.filter(status=ProductPhotoSource.Status.PENDING).filter(
        product__updated_at__lt=cutoff
    )
    source_ids = list(pending.values_list("pk", flat=True))
    photo_sources_fetch_queue(source_ids=source_ids)
    return len(source_ids)


def fetch_limits() -> FetchLimits:
    return FetchLimits(
        max_bytes=settings.SHOP_PHOTO_FETCH_MAX_BYTES,
        connect_timeout=settings.SHOP_PHOTO_FETCH_CONNECT_TIMEOUT,
        read_timeout=settings.SHOP_PHOTO_FETCH_READ_TIMEOUT,
        deadline_seconds=settings.SHOP_PHOTO_FETCH_DEADLINE,
        max_redirects=settings.SHOP_PHOTO_FETCH_MAX_REDIRECTS,
        allow_loopback=settings.SHOP_PHOTO_FETCH_ALLOW_LOOPBACK,
    )


def photo_source_fetch(*, source_id: int, last_attempt: bool = True) -> ProductPhotoSource | None:
    """Fetch, check and store one source's photo. Idempotent: a fetched source is left alone.

    A refusal (private address, too large, not an image...) marks the source failed with its
    reason; a temporary failure (server down, timeout) is raised as ``PhotoFetchError`` for the
    task to retry, and marked failed only on the ``last_attempt``.
    """
    from shop.services.catalogue import product_image_store, product_images_order

    source = ProductPhotoSource.objects.filter(pk=source_id).select_related("product").first()
    if source is None or source.status == ProductPhotoSource.Status.FETCHED:
        return source  # deleted by a later import, or done by an earlier delivery
    try:
        photo = check_image(photo_fetch(source.url, fetch_limits()))
    except PhotoFetchError as error:
        if error.temporary and not last_attempt:
            raise
        return _failed(source, str(error))
    except InvalidImage as error:
        return _failed(source, f"not a usable image: {error}")
    with transaction.atomic():
        locked = ProductPhotoSource.objects.select_for_update().filter(pk=source.pk).first()
        if locked is None or locked.status == ProductPhotoSource.Status.FETCHED:
            return locked
        image = product_image_store(
            product=source.product,
            photo=photo,
            alt_text=locked.alt_text,
            position=locked.position,
        )
        image.is_primary = False  # decided below, among the product's photos
        image.save()
        locked.image, locked.status, locked.reason = image, ProductPhotoSource.Status.FETCHED, ""
        locked.attempted_at = timezone.now()
        locked.save(update_fields=["image", "status", "reason", "attempted_at"])
        product_images_order(product_ids=[locked.product_id])
        product_changes_announce(product_ids=[locked.product_id])
    return locked


def photo_source_fail(*, source_id: int, reason: str) -> None:
    """Mark a source that is not fetched yet as failed, with ``reason`` for the admin."""
    ProductPhotoSource.objects.filter(pk=source_id).exclude(
        status=ProductPhotoSource.Status.FETCHED
    ).update(
        status=ProductPhotoSource.Status.FAILED, reason=reason[:300], attempted_at=timezone.now()
    )


def _failed(source: ProductPhotoSource, reason: str) -> ProductPhotoSource:
    logger.info("Photo %s of product %s failed: %s", source.url, source.product_id, reason)
    photo_source_fail(source_id=source.pk, reason=reason)
    source.refresh_from_db()
    return source
