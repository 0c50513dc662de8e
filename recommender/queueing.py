"""Queueing the index's work for products that changed, or that staff want re-embedded."""

from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from config.broker import enqueue
from recommender import tasks
from recommender.models import VectorIndex


def product_changes_queue(*, product_ids: Iterable[int]) -> None:
    """Products were created or edited: queue their embedding and a text refit.

    The catalogue's ``products_changed`` event calls this once its transaction committed
    (recommender/receivers.py). Called inside a transaction, the work is queued when it
    commits: a worker never reads rows that are not there yet.
    """
    product_ids = sorted(set(product_ids))
    if not product_ids:
        return
    VectorIndex.objects.exclude(state=VectorIndex.State.RETIRED).update(
        text_changed_at=timezone.now()
    )
    for start in range(0, len(product_ids), tasks.EMBED_TASK_SIZE):
        batch = product_ids[start : start + tasks.EMBED_TASK_SIZE]
        transaction.on_commit(lambda batch=batch: enqueue(tasks.embed_products, batch))
    transaction.on_commit(
        lambda: enqueue(tasks.refit_text_index, countdown=settings.RECOMMENDER_TEXT_REFIT_DELAY)
    )


def product_photo_changes_queue(*, product_ids: Iterable[int]) -> None:
    """Products' photos changed (and nothing else): queue their embedding, after commit."""
    product_ids = sorted(set(product_ids))
    for start in range(0, len(product_ids), tasks.EMBED_TASK_SIZE):
        batch = product_ids[start : start + tasks.EMBED_TASK_SIZE]
        transaction.on_commit(lambda batch=batch: enqueue(tasks.embed_products, batch))


def products_reembed(*, product_ids: list[int]) -> int:
    """Queue these products to be encoded again even if their photo did not change."""
    for start in range(0, len(product_ids), tasks.EMBED_TASK_SIZE):
        enqueue(tasks.embed_products, product_ids[start : start + tasks.EMBED_TASK_SIZE], True)
    return len(product_ids)
