"""Celery tasks of the catalogue: thin, take ids, idempotent."""

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import InterfaceError, OperationalError

from shop.photo_fetch import PhotoFetchError
from shop.services.photo_sources import (
    photo_source_fail,
    photo_source_fetch,
    photo_sources_pending_queue,
)

PHOTO_FETCH_RETRIES = 4


@shared_task(
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=(OperationalError, InterfaceError),
    max_retries=PHOTO_FETCH_RETRIES,
    # A server that trickles its headers byte by byte is cut off here.
    soft_time_limit=settings.SHOP_PHOTO_FETCH_DEADLINE + 15,
    time_limit=settings.SHOP_PHOTO_FETCH_DEADLINE + 30,
)
def fetch_product_photo(self, source_id: int) -> None:
    last_attempt = self.request.retries >= PHOTO_FETCH_RETRIES
    try:
        photo_source_fetch(source_id=source_id, last_attempt=last_attempt)
    except SoftTimeLimitExceeded:
        photo_source_fail(source_id=source_id, reason="the photo's server took too long")
    except PhotoFetchError as error:  # temporary: the server may be back later
        raise self.retry(
            exc=error, countdown=settings.SHOP_PHOTO_FETCH_RETRY_SECONDS * 2**self.request.retries
        ) from None


@shared_task
def fetch_pending_photos() -> int:
    """Queue photos still waiting long after their import (lost messages)."""
    return photo_sources_pending_queue(older_than_seconds=settings.SHOP_PHOTO_FETCH_SWEEP_SECONDS)
