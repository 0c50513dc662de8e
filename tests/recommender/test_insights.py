"""The admin's Insights page: who may see it, starting an evaluation in the background, its
progress, figures and report, on the real database; end to end through a real worker on Redis."""

import os
import time
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from config.celery_app import app as celery_app
from recommender.models import EvaluationRun
from recommender.quality import evaluation, insights, report
from recommender.quality.insights import evaluation_run_execute, evaluation_run_start
from recommender.quality.report import render
from recommender.services import index_build
from shop.services import category_get_or_create
from tests.conftest import celery_broker_at
from tests.factories.catalogue import ProductFactory, ProductImageFactory, jpeg_bytes
from tests.factories.staff import staff_user
from tests.process_output import celery_worker

pytestmark = pytest.mark.django_db
INSIGHTS = reverse("admin:recommender_evaluationrun_changelist")
STATUS = reverse("admin:recommender_evaluationrun_status")
REDIS_URL = "redis://127.0.0.1:6379/12"
METRICS = {
    "p10_article": 0.812,
    "p10_article_colour": 0.5,
    "ndcg10": 0.7,
    "coverage": 0.9,
    "latency_ms_median": 12.0,
    "latency_ms_p95": 30.0,
    "queries": 40,
}
FIGURES = {
    "rail": METRICS,
    "photo": {**METRICS, "p10_article": 0.623},
    "config": {
        "encoder": "efficientnet_lite0",
        "encoder_version": "imagenet-57934424",
        "index": 7,
        "image_weight": 0.7,
        "text_weight": 0.3,
        "candidates": 100,
        "catalogue_products": 300,
        "queries": 40,
        "seed": 1,
        "measured_at": "2026-11-25T10:00:00+00:00",
    },
}


def report_url(run: EvaluationRun) -> str:
    return reverse("admin:recommender_evaluationrun_report", args=[run.pk])


def done_run(**fields) -> EvaluationRun:
    return EvaluationRun.objects.create(
        status="done",
        queries=40,
        seed=1,
        finished_at=timezone.now(),
        figures=FIGURES,
        report_html=render(FIGURES),
        **fields,
    )


@pytest.fixture
def viewer(client):
    client.force_login(staff_user("viewer", "view_evaluationrun"))
    return client


@pytest.fixture
def starter(client):
    client.force_login(staff_user("starter", "view_evaluationrun", "add_evaluationrun"))
    return client


@pytest.fixture
def small_catalogue():
    """Six real products with photos (three red shirts, three blue bags), indexed."""
    bags = category_get_or_create(names=["Accessories", "Bags", "Handbags"])
    for n, (colour, rgb, category) in enumerate(
        [("Red", (200, 30, 30), None)] * 3 + [("Blue", (30, 30, 200), bags)] * 3
    ):
        product = ProductFactory(colour=colour, **({"category": category} if category else {}))
        photo = ContentFile(jpeg_bytes(rgb, size=(120 + n, 160)), name=f"p{n}.jpg")
        ProductImageFactory(product=product, image=photo)
    return index_build(encoder="efficientnet_lite0")


# Who may see and use the page


def test_anonymous_visitors_are_sent_to_the_admin_login(client):
    for url in (INSIGHTS, STATUS, report_url(done_run())):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/admin/login/")


def test_logged_in_customers_who_are_not_staff_are_sent_to_the_login(client):
    client.force_login(get_user_model().objects.create_user("shopper", password="pw"))
    response = client.get(INSIGHTS)
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")


def test_staff_without_the_permission_are_refused(client):
    client.force_login(staff_user("clerk"))
    run = done_run()
    for url in (INSIGHTS, STATUS, report_url(run)):
        assert client.get(url).status_code == 403
    assert client.post(INSIGHTS, {"queries": 5, "seed": 0}).status_code == 403
    assert EvaluationRun.objects.count() == 1


def test_viewers_see_the_latest_report_but_cannot_start_a_run(viewer):
    done_run()
    latest = done_run()
    EvaluationRun.objects.create(status="failed", queries=5, error="No live index: run reindex")
    page = viewer.get(INSIGHTS).content.decode()
    assert "Insights: recommendation quality" in page
    assert f"Evaluation #{latest.pk} finished" in page
    assert "efficientnet_lite0" in page and "imagenet-57934424" in page
    assert "0.812" in page and "0.623" in page  # rail and photo P@10 article type
    assert f'<iframe class="insights-report" src="{report_url(latest)}" sandbox' in page
    assert "failed: No live index: run reindex" in page  # the newest run's failure, on top
    assert 'src="/static/js/insights.js"' in page and "<script>" not in page
    assert "Run a new evaluation" not in page
    assert viewer.post(INSIGHTS, {"queries": 5, "seed": 0}).status_code == 403


def test_the_admin_index_lists_insights_under_the_recommender(admin_client):
    page = admin_client.get(reverse("admin:index")).content.decode()
    assert f'<a href="{INSIGHTS}"' in page and ">Insights</a>" in page


# Starting a run


def test_starting_a_run_records_it_and_queues_the_task_after_commit(
    starter, memory_queue, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = starter.post(INSIGHTS, {"queries": "5", "seed": "3"})
    assert response.status_code == 302
    run = EvaluationRun.objects.get()
    assert (run.status, run.queries, run.seed) == ("queued", 5, 3)
    assert run.requested_by.username == "starter"

    message = memory_queue.get(timeout=2)
    assert message.headers["task"] == "recommender.tasks.run_evaluation"
    assert message.payload[0] == [run.pk]

    page = starter.get(INSIGHTS).content.decode()
    assert f"Evaluation #{run.pk} is queued." in page  # the confirmation message
    assert f'data-run="{run.pk}"' in page and "Waiting for a worker" in page


def test_a_second_run_is_refused_while_one_is_running(starter):
    running = EvaluationRun.objects.create(status="running", queries=2000, stage="rail")
    response = starter.post(INSIGHTS, {"queries": "5", "seed": "0"})
    assert response.status_code == 200
    assert (
        f"Evaluation #{running.pk} is running: one evaluation at a time"
        in response.content.decode()
    )
    assert EvaluationRun.objects.count() == 1


def test_invalid_settings_are_refused_by_the_form(starter):
    response = starter.post(INSIGHTS, {"queries": "0", "seed": "-1"})
    assert response.status_code == 200 and EvaluationRun.objects.count() == 0
    assert "greater than or equal to 1" in response.content.decode()


def test_a_stale_run_no_longer_blocks_and_is_marked_failed(admin_user):
    stale = EvaluationRun.objects.create(status="running", queries=2000)
    EvaluationRun.objects.filter(pk=stale.pk).update(
        updated_at=timezone.now() - insights.STALE_AFTER - timedelta(seconds=1)
    )
    run = evaluation_run_start(user=admin_user, queries=5, seed=0)
    stale.refresh_from_db()
    assert run.status == "queued"
    assert stale.status == "failed" and "no progress for 10 minutes" in stale.error


def test_a_run_that_cannot_be_queued_is_marked_failed_with_the_reason(
    admin_user, django_capture_on_commit_callbacks
):
    previous = celery_app.conf.broker_url
    celery_app.conf.broker_url = "redis://127.0.0.1:1/0"  # nothing listens there
    celery_app._pool, celery_app.amqp._producer_pool = None, None
    try:
        with django_capture_on_commit_callbacks(execute=True):
            run = evaluation_run_start(user=admin_user, queries=5, seed=0)
    finally:
        celery_app.conf.broker_url = previous
        celery_app._pool, celery_app.amqp._producer_pool = None, None
    run.refresh_from_db()
    assert run.status == "failed" and "broker is unavailable" in run.error
    # Nothing is left blocking: the next start is accepted.
    assert evaluation_run_start(user=admin_user, queries=5, seed=0).status == "queued"


def test_the_service_refuses_a_sample_of_no_queries(admin_user):
    with pytest.raises(ValidationError):
        evaluation_run_start(user=admin_user, queries=0, seed=0)


# Running it (what the task does)


@pytest.mark.slow
def test_executing_a_run_on_a_small_catalogue_stores_figures_report_and_progress(
    small_catalogue,
):
    run = EvaluationRun.objects.create(queries=4, seed=0)
    evaluation_run_execute(run_id=run.pk)
    run.refresh_from_db()
    assert run.status == "done" and run.error == ""
    assert run.started_at <= run.finished_at
    assert run.figures["rail"]["queries"] == 4 and run.figures["photo"]["queries"] == 4
    assert run.figures["config"]["encoder"] == "efficientnet_lite0"
    assert run.figures["config"]["index"] == small_catalogue.pk
    assert "Recommendation quality" in run.report_html
    # The last stage, complete: the PCA sweep (six products are too few to draw maps).
    assert run.stage == "pca" and run.done == run.total > 0
    assert [row["image_weight"] for row in run.figures["weights"]][-1] == 1.0


def test_executing_without_an_index_marks_the_run_failed_with_the_reason():
    run = EvaluationRun.objects.create(queries=5)
    evaluation_run_execute(run_id=run.pk)
    run.refresh_from_db()
    assert run.status == "failed" and run.finished_at
    assert run.error == "No live index: run `manage.py reindex` first."


def test_an_unexpected_error_is_recorded_then_raised(monkeypatch):
    def broken(**kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(evaluation, "evaluate", broken)
    run = EvaluationRun.objects.create(queries=5)
    with pytest.raises(RuntimeError):
        evaluation_run_execute(run_id=run.pk)
    run.refresh_from_db()
    assert run.status == "failed" and "disk full" in run.error


def test_a_redelivered_message_for_a_finished_run_does_nothing(monkeypatch):
    monkeypatch.setattr(evaluation, "evaluate", lambda **kw: pytest.fail("evaluated again"))
    run = done_run()
    evaluation_run_execute(run_id=run.pk)
    run.refresh_from_db()
    assert run.status == "done" and run.figures == FIGURES


def test_progress_is_saved_on_each_stage_change_and_end_but_throttled_within(monkeypatch):
    seen = []

    def fake_evaluate(*, queries, seed, progress):
        def row():
            r = EvaluationRun.objects.get(pk=run.pk)
            return (r.status, r.stage, r.done, r.total)

        progress("rail", 0, 100)
        seen.append(row())
        progress("rail", 1, 100)  # within 0.5 s of the last save: not written
        seen.append(row())
        progress("rail", 100, 100)
        seen.append(row())
        progress("photo", 0, 50)
        seen.append(row())
        time.sleep(insights.PROGRESS_EVERY_SECONDS)
        progress("photo", 7, 50)
        seen.append(row())
        return FIGURES

    monkeypatch.setattr(evaluation, "evaluate", fake_evaluate)
    run = EvaluationRun.objects.create(queries=100)
    evaluation_run_execute(run_id=run.pk)
    assert seen == [
        ("running", "rail", 0, 100),
        ("running", "rail", 0, 100),
        ("running", "rail", 100, 100),
        ("running", "photo", 0, 50),
        ("running", "photo", 7, 50),
    ]
    run.refresh_from_db()
    assert run.status == "done" and run.figures == FIGURES


# What the page's script and frame read


def test_status_endpoint_reports_the_active_run_then_its_end(viewer):
    assert viewer.get(STATUS).json() == {"active": False, "run": None}
    run = EvaluationRun.objects.create(
        status="running", queries=2000, stage="rail", done=120, total=2000
    )
    assert viewer.get(STATUS).json() == {
        "active": True,
        "run": {
            "id": run.pk,
            "status": "running",
            "stage": "rail",
            "done": 120,
            "total": 2000,
            "error": "",
            "text": "Rail task: 0%",
            "stale": False,
        },
    }
    EvaluationRun.objects.filter(pk=run.pk).update(status="failed", error="worker lost")
    body = viewer.get(STATUS).json()
    assert body["active"] is False
    assert (body["run"]["id"], body["run"]["status"], body["run"]["error"]) == (
        run.pk,
        "failed",
        "worker lost",
    )


def test_the_report_is_served_sandboxed_and_frameable_by_the_admin_only(viewer):
    run = done_run()
    response = viewer.get(report_url(run))
    assert response.status_code == 200
    assert "sandbox" in response["Content-Security-Policy"].split("; ")  # whole: test_csp.py
    assert response["X-Frame-Options"] == "SAMEORIGIN"
    assert response.content.decode() == run.report_html
    queued = EvaluationRun.objects.create(queries=5)
    assert viewer.get(report_url(queued)).status_code == 404


# End to end: the admin's button, a real worker, real Redis


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_run_started_in_the_admin_is_measured_by_a_worker(
    small_catalogue, admin_client, settings
):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "VITRINE_TEST_WORKER_DATABASE": connection.settings_dict["NAME"],
        "DJANGO_MEDIA_ROOT": str(settings.MEDIA_ROOT),
    }
    with celery_broker_at(REDIS_URL), celery_worker(env, "-b", REDIS_URL, "worker") as output:
        assert admin_client.post(INSIGHTS, {"queries": "3", "seed": "0"}).status_code == 302
        run = EvaluationRun.objects.get()
        deadline = time.monotonic() + 120
        while admin_client.get(STATUS).json()["active"] and time.monotonic() < deadline:
            time.sleep(0.5)
        run.refresh_from_db()
        assert run.status == "done", f"{run.status} {run.error}\n{output.everything()}"
    assert run.figures["rail"]["queries"] == 3
    page = admin_client.get(INSIGHTS).content.decode()
    assert f"Evaluation #{run.pk} finished" in page
    assert "Recommendation quality" in admin_client.get(report_url(run)).content.decode()


def test_progress_is_worded_in_whole_tenths_per_stage():
    run = EvaluationRun(status="queued", stage="", done=0, total=0)
    assert run.progress_text == "Waiting for a worker to start it…"
    run.status = "running"
    assert run.progress_text == "Starting…"
    run.stage, run.done, run.total = "photo", 199, 2000
    assert run.progress_text == "Photo task: 0%"
    run.done = 1999
    assert run.progress_text == "Photo task: 90%"
    run.stage, run.done, run.total = "pca", 12, 12
    assert run.progress_text == "PCA sweep: 100%"


def test_a_running_run_with_a_live_worker_is_never_started_twice(monkeypatch):
    monkeypatch.setattr(evaluation, "evaluate", lambda **kw: pytest.fail("evaluated twice"))
    run = EvaluationRun.objects.create(queries=5, status="running", started_at=timezone.now())
    evaluation_run_execute(run_id=run.pk)  # a second delivery while the first worker beats
    run.refresh_from_db()
    assert run.status == "running"


def test_a_run_given_up_as_stale_stays_failed_when_its_worker_finishes_late(
    monkeypatch, admin_user
):
    def slow_evaluate(*, queries, seed, progress):
        # Meanwhile an admin starts a new run: this one looked stale and is given up.
        EvaluationRun.objects.filter(pk=run.pk).update(
            updated_at=timezone.now() - insights.STALE_AFTER * 2
        )
        evaluation_run_start(user=admin_user, queries=5, seed=0)
        progress("rail", 1, 5)  # the old worker goes on: its progress is not written
        return FIGURES

    monkeypatch.setattr(evaluation, "evaluate", slow_evaluate)
    run = EvaluationRun.objects.create(queries=5)
    evaluation_run_execute(run_id=run.pk)
    run.refresh_from_db()
    assert run.status == "failed" and "Abandoned" in run.error and run.figures is None
    assert run.stage == ""  # the late progress was dropped too


@pytest.mark.django_db(transaction=True)  # the heartbeat writes from its own thread
def test_the_heartbeat_keeps_a_long_silent_step_from_going_stale(monkeypatch):
    monkeypatch.setattr(insights, "HEARTBEAT_SECONDS", 0.05)
    beats = []

    def silent_evaluate(*, queries, seed, progress):
        first = EvaluationRun.objects.get(pk=run.pk).updated_at
        time.sleep(0.5)  # a t-SNE fit, say: no progress calls
        beats.append(EvaluationRun.objects.get(pk=run.pk).updated_at > first)
        return FIGURES

    monkeypatch.setattr(evaluation, "evaluate", silent_evaluate)
    monkeypatch.setattr(report, "render", lambda figures: "<html></html>")
    run = EvaluationRun.objects.create(queries=5)
    evaluation_run_execute(run_id=run.pk)
    assert beats == [True]
    run.refresh_from_db()
    assert run.status == "done"


def test_the_page_says_when_the_latest_report_measured_another_index(viewer):
    from tests.factories.recommender import VectorIndexFactory

    live = VectorIndexFactory()
    EvaluationRun.objects.filter(pk=done_run().pk).update(
        figures={**FIGURES, "config": {**FIGURES["config"], "index": live.pk + 1}}
    )
    page = viewer.get(reverse("admin:recommender_evaluationrun_changelist")).content.decode()
    assert f"These figures describe index #{live.pk + 1}" in page
    assert f"The shop now uses index #{live.pk}" in page and "Only a new evaluation" in page
    EvaluationRun.objects.update(
        figures={**FIGURES, "config": {**FIGURES["config"], "index": live.pk}}
    )
    page = viewer.get(reverse("admin:recommender_evaluationrun_changelist")).content.decode()
    assert "These figures describe" not in page  # the report measured what the shop serves


def test_only_the_latest_ended_runs_are_kept(admin_user, monkeypatch):
    monkeypatch.setattr(insights, "KEEP_RUNS", 2)
    old = [done_run() for _ in range(3)]
    evaluation_run_start(user=admin_user, queries=5, seed=0)
    assert set(EvaluationRun.objects.values_list("pk", flat=True)) == {
        old[1].pk,
        old[2].pk,
        EvaluationRun.objects.latest("pk").pk,
    }
