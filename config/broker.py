"""Sending work to the Celery workers without ever failing the caller."""

from __future__ import annotations

import logging

logger = logging.getLogger(__name__)


def enqueue(task, *args, countdown: float | None = None) -> bool:
    """Send ``task``; if the broker is down, log it and go on: the sweep queues the work later.

    A shop admin's save must never fail because Redis is restarting.
    """
    try:
        task.apply_async(args, countdown=countdown, retry=False)
    except Exception as error:  # kombu raises transport-specific errors
        logger.warning("Could not queue %s (%s)", task.name, error)
        return False
    return True
