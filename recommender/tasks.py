"""Celery tasks: thin, take ids, idempotent, retried on transient database errors."""

from celery import shared_task
from django.conf import settings
from django.db import InterfaceError, OperationalError

from config.broker import enqueue
from recommender.behaviour.neighbours import behaviour_neighbours_refit
from recommender.behaviour.storing import shopper_events_expire, shopper_events_store
from recommender.indexing import index_build, product_embeddings_refresh
from recommender.quality import insights
from recommender.sweep import products_needing_embedding, text_refit_overdue
from recommender.text_index import text_index_refit_when_quiet

EMBED_TASK_SIZE = 64  # products per message: small enough to retry cheaply

TRANSIENT = (OperationalError, InterfaceError)
# Safe to run twice: acknowledged after the work, so a killed worker's messages are redelivered.
IDEMPOTENT = {
    "acks_late": True,
    "reject_on_worker_lost": True,
    "autoretry_for": TRANSIENT,
    "retry_backoff": True,
    "max_retries": 8,
}


@shared_task(**IDEMPOTENT)
def embed_products(product_ids: list[int], force: bool = False) -> None:
    product_embeddings_refresh(product_ids=product_ids, force=force)


@shared_task(**IDEMPOTENT)
def refit_text_index() -> None:
    wait = text_index_refit_when_quiet(quiet_seconds=settings.RECOMMENDER_TEXT_REFIT_DELAY)
    if wait > 0:
        enqueue(refit_text_index, countdown=wait)


@shared_task(**IDEMPOTENT)
def sweep_embeddings() -> int:
    """Queue every product whose vectors are missing or out of date, and a text refit whose
    message was lost or whose catalogue event never arrived; returns how many products."""
    product_ids = products_needing_embedding()
    for start in range(0, len(product_ids), EMBED_TASK_SIZE):
        enqueue(embed_products, product_ids[start : start + EMBED_TASK_SIZE])
    if text_refit_overdue():
        enqueue(refit_text_index)
    return len(product_ids)


@shared_task
def build_index(encoder: str | None = None) -> int:
    """Build a new index and make it live (``manage.py reindex`` in the background)."""
    return index_build(encoder=encoder).pk


# Not retried, and acknowledged on receipt: a run takes minutes to hours, longer than a broker
# waits before redelivering an unacknowledged message, and must never run twice at once. A run
# whose worker died goes stale (no heartbeat) and the admin starts a new one.
# A large catalogue's sweeps and maps outlast the default task limits (CELERY_TASK_TIME_LIMIT).
@shared_task(acks_late=False, soft_time_limit=4 * 3600, time_limit=4 * 3600 + 300)
def run_evaluation(run_id: int) -> None:
    """Measure recommendation quality for the admin's Insights page."""
    insights.evaluation_run_execute(run_id=run_id)


@shared_task(**IDEMPOTENT)
def store_shopper_events(events: list[dict]) -> int:
    """Store a batch of recorded shopper events (the events themselves: they exist nowhere else)."""
    return shopper_events_store(events=events)


@shared_task(**IDEMPOTENT)
def expire_shopper_events() -> list[str]:
    return shopper_events_expire()


@shared_task(**IDEMPOTENT)
def refit_behaviour_rails() -> int:
    """Refit "also viewed" and "bought together" from the recorded events."""
    return behaviour_neighbours_refit().products
