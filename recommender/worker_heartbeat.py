"""Is a worker running? Each Celery worker writes a heartbeat while it consumes tasks, and the
admin reads it to tell the shop owner plainly when none is (new products would stay pending).

Why a heartbeat in the database rather than asking the workers (``inspect().ping()``): the admin
answers at once whether a worker runs or not, where a ping waits out its whole timeout exactly
when none is there; the database is shared by every process of every deployment (the embedded
default's cache is per process); and a worker busy with a long task still beats, since the
heartbeat is a thread of the worker's main process, not a task queued behind the others.

The heartbeat is a consumer bootstep (config/celery_app.py adds it): it starts once the worker
is connected to its broker and consuming, and stops when the connection is lost or the worker
shuts down, removing its row so that a worker stopped on purpose is known gone at once. A worker
killed outright stops writing, and its row is stale after ``FRESH_SECONDS``.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta

from celery import bootsteps

logger = logging.getLogger(__name__)

BEAT_SECONDS = 10
FRESH_SECONDS = 60  # six beats missed: the worker is gone (or cannot reach the database)


def worker_heartbeat_record(*, hostname: str) -> None:
    from django.utils import timezone

    from recommender.models import WorkerHeartbeat

    WorkerHeartbeat.objects.update_or_create(
        hostname=hostname, defaults={"seen_at": timezone.now()}
    )


def worker_heartbeat_clear(*, hostname: str) -> None:
    from recommender.models import WorkerHeartbeat

    WorkerHeartbeat.objects.filter(hostname=hostname).delete()


def worker_last_seen() -> tuple[bool, datetime | None]:
    """Whether a worker beat within ``FRESH_SECONDS``, and when the latest one last did."""
    from django.db.models import Max
    from django.utils import timezone

    from recommender.models import WorkerHeartbeat

    latest = WorkerHeartbeat.objects.aggregate(latest=Max("seen_at"))["latest"]
    alive = latest is not None and latest >= timezone.now() - timedelta(seconds=FRESH_SECONDS)
    return alive, latest


def no_worker_warning() -> str | None:
    """What the admin tells the shop owner when no worker runs; None while one does."""
    from django.utils.timesince import timesince

    alive, latest = worker_last_seen()
    if alive:
        return None
    last = f" (one was last heard from {timesince(latest)} ago)" if latest else ""
    return (
        f"No indexing worker is running{last}: new products wait as \u201cpending\u201d, and "
        "Insights evaluations as \u201cwaiting\u201d, until one starts. The shop started with "
        "manage.py runshop starts its own; otherwise start one with: "
        "celery -A config.celery_app worker"
    )


def _beat(hostname: str, stopped: threading.Event) -> None:
    from django.db import DatabaseError, connection

    failing = False
    while True:
        try:
            worker_heartbeat_record(hostname=hostname)
        except DatabaseError as error:  # the database is down: the admin is down with it
            # Said once, not every beat; and again once it works.
            if not failing:
                logger.warning("worker heartbeat not recorded (retrying quietly): %s", error)
            failing = True
        else:
            if failing:
                logger.info("worker heartbeat recorded again")
            failing = False
        finally:
            connection.close()  # this thread's own; none held open between beats
        if stopped.wait(BEAT_SECONDS):
            break
    try:
        worker_heartbeat_clear(hostname=hostname)
    except DatabaseError as error:
        logger.warning("worker heartbeat not cleared: %s", error)
    finally:
        connection.close()


class Heartbeat(bootsteps.StartStopStep):
    """A consumer bootstep: beats while the worker is connected and consuming."""

    requires = ("celery.worker.consumer.tasks:Tasks",)

    def __init__(self, parent, **kwargs):
        super().__init__(parent, **kwargs)
        self._stopped: threading.Event | None = None
        self._thread: threading.Thread | None = None

    def start(self, parent) -> None:
        self._stopped = threading.Event()
        self._thread = threading.Thread(
            target=_beat, args=(parent.hostname, self._stopped), name="heartbeat", daemon=True
        )
        self._thread.start()

    def stop(self, parent) -> None:
        if self._thread is not None:
            self._stopped.set()
            self._thread.join(timeout=10)
            self._thread = None

    shutdown = stop
