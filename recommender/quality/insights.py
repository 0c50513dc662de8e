"""Insights: recommendation quality measured in the background, for the admin.

Services (writes) and selectors (reads) of ``EvaluationRun``. The measuring is
``evaluation.evaluate``; the Celery task ``tasks.run_evaluation`` calls
``evaluation_run_execute``, which records progress, the figures and the HTML report.
"""

from __future__ import annotations

import logging
import threading
import time
from contextlib import contextmanager
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from config.broker import enqueue
from recommender.models import EvaluationRun
from recommender.quality import evaluation, report
from recommender.selectors import index_live

logger = logging.getLogger(__name__)

Status = EvaluationRun.Status
# A queued or running run that showed no sign of life for this long has lost its worker
# (killed, or never picked up): it no longer blocks a new run. A running one beats every minute.
STALE_AFTER = timedelta(minutes=10)
HEARTBEAT_SECONDS = 60
KEEP_RUNS = 20
PROGRESS_EVERY_SECONDS = 0.5
MAX_QUERIES = 100_000
# Never fetched with the many runs a page lists: a report may be a few MB.
HEAVY_FIELDS = ("figures", "report_html")


def evaluation_run_start(*, user, queries: int, seed: int) -> EvaluationRun:
    """Record a run and queue it after commit; refused while another run is under way.

    If the broker is down the run is marked failed with the reason (the request stays on
    record, the admin can start again later). Returns the run as it stands after queueing.
    """
    if not 1 <= queries <= MAX_QUERIES:
        raise ValidationError(f"The number of queries must be between 1 and {MAX_QUERIES}.")
    try:
        with transaction.atomic():
            _fail_stale_run()
            _forget_old_runs()
            run = EvaluationRun.objects.create(requested_by=user, queries=queries, seed=seed)
            transaction.on_commit(lambda: _enqueue(run.pk))
    except IntegrityError as error:  # another admin started one at the same moment
        raise ValidationError("An evaluation has just been started; wait for it.") from error
    run.refresh_from_db(fields=["status", "error", "finished_at"])
    return run


def _forget_old_runs() -> None:
    """Keep the latest KEEP_RUNS ended runs: each holds a report of a megabyte or so."""
    ended = EvaluationRun.objects.exclude(status__in=EvaluationRun.ACTIVE)
    keep = list(ended.values_list("pk", flat=True)[:KEEP_RUNS])
    ended.exclude(pk__in=keep).delete()


def _fail_stale_run() -> None:
    current = EvaluationRun.objects.select_for_update().filter(status__in=EvaluationRun.ACTIVE)
    current = current.defer(*HEAVY_FIELDS).first()
    if current is None:
        return
    if not evaluation_run_is_stale(current):
        raise ValidationError(
            f"Evaluation #{current.pk} is {current.status}: one evaluation at a time. "
            "Wait for it to finish."
        )
    minutes = int(STALE_AFTER.total_seconds() // 60)
    _finish(
        current.pk,
        status=Status.FAILED,
        error=f"Abandoned: no progress for {minutes} minutes (its worker stopped or never "
        "picked it up).",
    )


def _enqueue(run_id: int) -> None:
    # Not at the top: the tasks module imports this one (its task runs the evaluation).
    from recommender import tasks

    if not enqueue(tasks.run_evaluation, run_id):
        _finish(
            run_id,
            status=Status.FAILED,
            error="Could not queue the evaluation: the task broker is unavailable. Nothing was "
            "measured; start it again once the broker is back.",
        )


def evaluation_run_execute(*, run_id: int) -> None:
    """Run the evaluation of ``run_id``, saving progress; store figures and report, or the error.

    Idempotent for a redelivered message: a run already done or failed is left alone; one
    still "running" lost its worker mid-way and starts over (the seed fixes the sample).
    """
    run = _claim(run_id)
    if run is None:
        return
    try:
        with _heartbeat(run.pk):
            figures = evaluation.evaluate(
                queries=run.queries, seed=run.seed, progress=_progress_saver(run.pk)
            )
            html = report.render(figures)
    except evaluation.EvaluationError as error:
        _finish(run.pk, status=Status.FAILED, error=str(error))
        return
    except Exception as error:
        # Recorded for the admin, re-raised for the worker's log and error tracking.
        _finish(run.pk, status=Status.FAILED, error=f"Unexpected error: {error!r}")
        raise
    _finish(run.pk, status=Status.DONE, figures=evaluation.summary(figures), report_html=html)


@contextmanager
def _heartbeat(run_id: int):
    """Touch the run every HEARTBEAT_SECONDS while it works, also inside long steps that report
    no progress (fitting t-SNE, say): only a run whose worker is gone goes stale."""
    stop = threading.Event()

    def beat() -> None:
        try:
            while not stop.wait(HEARTBEAT_SECONDS):
                EvaluationRun.objects.filter(pk=run_id, status=Status.RUNNING).update(
                    updated_at=timezone.now()
                )
        finally:
            connection.close()  # this thread's own connection

    thread = threading.Thread(target=beat, name=f"evaluation-{run_id}-heartbeat", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def _claim(run_id: int) -> EvaluationRun | None:
    with transaction.atomic():
        run = EvaluationRun.objects.select_for_update().filter(pk=run_id).first()
        if run is None or run.status not in EvaluationRun.ACTIVE:
            logger.info("Evaluation #%s is %s: nothing to do", run_id, run and run.status)
            return None
        if run.status == Status.RUNNING and not evaluation_run_is_stale(run):
            # Another worker has it and is alive (its heartbeat is recent): never run it twice.
            logger.info("Evaluation #%s is running elsewhere: nothing to do", run_id)
            return None
        run.status, run.started_at = Status.RUNNING, timezone.now()
        run.stage, run.done, run.total, run.error = "", 0, 0, ""
        run.save(update_fields=["status", "started_at", "stage", "done", "total", "error"])
        return run


def _progress_saver(run_id: int):
    """``progress(stage, done, total)`` saving at most every ~0.5 s, and at each stage's edges."""
    last_stage, last_saved = None, 0.0

    def save(stage: str, done: int, total: int) -> None:
        nonlocal last_stage, last_saved
        now = time.monotonic()
        edge = stage != last_stage or done >= total
        if not edge and now - last_saved < PROGRESS_EVERY_SECONDS:
            return
        last_stage, last_saved = stage, now
        EvaluationRun.objects.filter(pk=run_id, status=Status.RUNNING).update(
            stage=stage, done=done, total=total, updated_at=timezone.now()
        )

    return save


def _finish(run_id: int, *, status: str, **fields) -> None:
    """End a queued or running run; one already ended (given up as stale) stays as it is."""
    now = timezone.now()
    ended = EvaluationRun.objects.filter(pk=run_id, status__in=EvaluationRun.ACTIVE).update(
        status=status, finished_at=now, updated_at=now, **fields
    )
    if not ended:
        logger.warning("Evaluation #%s had already ended; its %s result is dropped", run_id, status)


def evaluation_run_latest() -> EvaluationRun | None:
    """The newest finished evaluation (its report left out: ``evaluation_run_report``)."""
    return (
        EvaluationRun.objects.filter(status=Status.DONE)
        .select_related("requested_by")
        .defer("report_html")
        .first()
    )


def evaluation_run_current() -> EvaluationRun | None:
    """The run queued or running, if any (stale or not: see ``evaluation_run_is_stale``)."""
    return (
        EvaluationRun.objects.filter(status__in=EvaluationRun.ACTIVE).defer(*HEAVY_FIELDS).first()
    )


def evaluation_runs_recent(*, limit: int = 10) -> list[EvaluationRun]:
    return list(EvaluationRun.objects.select_related("requested_by").defer(*HEAVY_FIELDS)[:limit])


def evaluation_run_report(*, run_id: int) -> str | None:
    """The HTML report of a finished run; None when there is none."""
    return (
        EvaluationRun.objects.filter(pk=run_id, status=Status.DONE)
        .values_list("report_html", flat=True)
        .first()
    )


def evaluation_report_outdated(run: EvaluationRun | None) -> str:
    """Why ``run``'s figures may no longer describe the shop ("" when they still do)."""
    if run is None or not run.figures:
        return ""
    config, index = run.figures["config"], index_live()
    if index is None:
        return "There is no live index now."
    if config.get("index") != index.pk:
        return f"The shop now uses index #{index.pk} ({index.encoder} {index.encoder_version})."
    return ""


def evaluation_run_is_stale(run: EvaluationRun) -> bool:
    return run.status in EvaluationRun.ACTIVE and timezone.now() - run.updated_at > STALE_AFTER


def evaluation_run_status() -> dict:
    """What the progress panel polls: the active run, else the newest (so an end is seen)."""
    current = evaluation_run_current()
    run = current or EvaluationRun.objects.defer(*HEAVY_FIELDS).first()
    if run is None:
        return {"active": False, "run": None}
    return {
        "active": current is not None,
        "run": {
            "id": run.pk,
            "status": run.status,
            "stage": run.stage,
            "done": run.done,
            "total": run.total,
            "error": run.error,
            "text": run.progress_text,
            "stale": evaluation_run_is_stale(run),
        },
    }
