"""Celery tasks of the catalogue: thin, take ids, idempotent."""

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import InterfaceError, OperationalError

from shop.services.photo_sources import (
    photo_sources_fail,
    photo_sources_fetch,
    photo_sources_pending_queue,
    photo_sources_unsettled,
)

PHOTO_FETCH_RETRIES = 4


@shared_task(
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=(OperationalError, InterfaceError),
    max_retries=PHOTO_FETCH_RETRIES,
    # A server that trickles its headers byte by byte is cut off here.
    soft_time_limit=settings.SHOP_PHOTO_FETCH_DEADLINE * 2 + 30,
    time_limit=settings.SHOP_PHOTO_FETCH_DEADLINE * 2 + 60,
)
def fetch_product_photos(self, source_ids: list[int]) -> None:
    """Fetch these photos; those whose server is down for now are tried again with backoff
    (30 s, 60 s, 120 s, 240 s), then reported."""
    last_attempt = self.request.retries >= PHOTO_FETCH_RETRIES
    attempted: list[int] = []
    try:
        again = photo_sources_fetch(
            source_ids=source_ids, last_attempt=last_attempt, attempted=attempted
        )
    except SoftTimeLimitExceeded:
        # The photo in flight took too long; the others not stored yet are tried again now.
        photo_sources_fail(source_ids=attempted[-1:], reason="the photo's server took too long")
        rest = photo_sources_unsettled(source_ids=source_ids)
        if rest:
            raise self.retry(args=[rest], countdown=0) from None
        return
    if again:
        raise self.retry(
            args=[again],
            countdown=settings.SHOP_PHOTO_FETCH_RETRY_SECONDS * 2**self.request.retries,
        )


@shared_task
def fetch_pending_photos() -> int:
    """Queue photos still waiting long after their import (lost messages)."""
    return photo_sources_pending_queue(older_than_seconds=settings.SHOP_PHOTO_FETCH_SWEEP_SECONDS)
