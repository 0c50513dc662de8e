"""The admin's Insights page in a real browser: the latest figures and the sandboxed report,
starting an evaluation and following its progress live, and who may see the page at all.

No evaluation is measured here: runs are written to the database directly, as a worker would
write them. Starting one sends its task through the test settings' in-memory broker, which no
worker reads, so the run stays queued until the test moves it on.
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse
from django.utils import formats, timezone
from playwright.sync_api import Page, expect

from recommender.models import EvaluationRun
from recommender.quality.report import render
from recommender.shopper_photos import KIND_DESCRIPTIONS
from tests.factories.staff import staff_user

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "var" / "screenshots"
INSIGHTS = reverse("admin:recommender_evaluationrun_changelist")
LOGIN = reverse("admin:login")
PASSWORD = "correct horse battery staple"
POLL_WAIT_MS = 10_000  # insights.js polls every 2 s
HEADLINE_LABELS = [
    "Task",
    "P@10 article type",
    "P@10 type + colour",
    "nDCG@10",
    "coverage",
    "median latency (ms)",
    "p95 latency (ms)",
    "colour agreement",
    "shape agreement",
]
SHOPPER_LABELS = [
    "Query photo",
    "found first",
    "found in top 10",
    "\u201cnothing like it\u201d note",
    "P@10 article type",
    "P@10 type + colour",
    "median latency (ms)",
    "p95 latency (ms)",
]


def figures(*, rail: float, photo: float, encoder: str, index: int) -> dict:
    """What ``evaluation.evaluate`` returns without its experiments: both tasks and the config.

    ``rail`` and ``photo`` are each task's P@10 article type, so that two runs can be told apart.
    """

    def task(p10_article: float) -> dict:
        return {
            "p10_article": p10_article,
            "p10_article_colour": 0.5,
            "ndcg10": 0.7,
            "coverage": 0.9,
            "latency_ms_median": 12.0,
            "latency_ms_p95": 30.25,
            "colour_agreement": 0.41,
            "shape_agreement": 0.795,
            "queries": 40,
        }

    def shopper(hit10: float) -> dict:
        return {
            "hit1": hit10 - 0.1,
            "hit10": hit10,
            "unsure": 0.01,
            "p10_article": 0.6,
            "p10_article_colour": 0.2,
            "latency_ms_median": 80.0,
            "latency_ms_p95": 120.5,
            "queries": 30,
        }

    return {
        "rail": task(rail),
        "photo": task(photo),
        "shopper": {
            "surface": shopper(photo + 0.2),
            "scene": shopper(photo - 0.3),
            "nothing": {"unsure": 0.45, "queries": 30},
        },
        "config": {
            "encoder": encoder,
            "encoder_version": f"{encoder}-weights-1",
            "index": index,
            "image_weight": 0.7,
            "text_weight": 0.3,
            "candidates": 100,
            "photo_feedback_rounds": 1,
            "catalogue_products": 300,
            "queries": 40,
            "seed": 1,
            "measured_at": "2026-11-25T10:00:00+00:00",
        },
    }


EARLIER = figures(rail=0.812, photo=0.623, encoder="efficientnet_lite0", index=7)
LATER = figures(rail=0.874, photo=0.691, encoder="resnet50", index=8)


def headline_rows(run_figures: dict) -> list[list[str]]:
    """The headline table's body as the page should show it (three decimals)."""
    names = ["p10_article", "p10_article_colour", "ndcg10", "coverage"]
    names += ["latency_ms_median", "latency_ms_p95", "colour_agreement", "shape_agreement"]
    return [
        [task.capitalize(), *(f"{run_figures[task][name]:.3f}" for name in names)]
        for task in ("rail", "photo")
    ]


def shopper_rows(run_figures: dict) -> list[list[str]]:
    names = ["hit1", "hit10", "unsure", "p10_article", "p10_article_colour"]
    names += ["latency_ms_median", "latency_ms_p95"]
    return [
        [
            f"{kind.capitalize()}: {KIND_DESCRIPTIONS[kind]}",
            *(f"{row[name]:.3f}" if name in row else "—" for name in names),
        ]
        for kind, row in run_figures["shopper"].items()
    ]


def done_run(*, run_figures: dict, requested_by=None, finished_ago=timedelta(0)) -> EvaluationRun:
    finished = timezone.now() - finished_ago
    run = EvaluationRun.objects.create(
        status=EvaluationRun.Status.DONE,
        requested_by=requested_by,
        queries=40,
        seed=1,
        started_at=finished - timedelta(minutes=2),
        finished_at=finished,
        figures=run_figures,
        report_html=render(run_figures),
    )
    # Requested when it started (``created_at`` is set on creation, whatever it is given).
    EvaluationRun.objects.filter(pk=run.pk).update(
        created_at=run.started_at, updated_at=run.finished_at
    )
    return run


def log_in(page: Page, username: str) -> None:
    """Through the admin's own login form, which then leads to the Insights page."""
    page.goto(f"{LOGIN}?next={INSIGHTS}")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(re.escape(INSIGHTS) + "$"))
    expect(
        page.get_by_role("heading", name="Insights: recommendation quality", level=1)
    ).to_be_visible()


def table_rows(page: Page, selector: str) -> list[list[str]]:
    return page.locator(selector).evaluate_all(
        "rows => rows.map(row => [...row.cells].map(cell => cell.textContent.trim()))"
    )


def expect_headline(page: Page, run_figures: dict) -> None:
    table = page.locator("table.insights-headline")
    expect(table.locator("tbody tr")).to_have_count(2)
    assert table_rows(page, "table.insights-headline thead tr") == [HEADLINE_LABELS]
    assert table_rows(page, "table.insights-headline tbody tr") == headline_rows(run_figures)
    assert table_rows(page, "table.insights-shopper thead tr") == [SHOPPER_LABELS]
    assert table_rows(page, "table.insights-shopper tbody tr") == shopper_rows(run_figures)


@pytest.fixture
def insights_user(transactional_db):
    """Staff who may see the page and start runs, without being a superuser."""
    return staff_user("analyst", "view_evaluationrun", "add_evaluationrun", password=PASSWORD)


def test_staff_see_the_latest_figures_and_its_report_in_a_sandboxed_frame(shop_page, insights_user):
    run = done_run(run_figures=EARLIER, requested_by=insights_user, finished_ago=timedelta(hours=3))
    log_in(shop_page, "analyst")

    summary = shop_page.locator(".insights-summary")
    when = formats.localize(timezone.localtime(run.finished_at))
    finished = rf"Evaluation #{run.pk} finished {re.escape(when)} \(3\s+hours ago\)"
    expect(summary).to_contain_text(re.compile(finished + r", started by analyst\."))
    expect(summary.locator("strong")).to_have_text("efficientnet_lite0")
    expect(summary).to_contain_text("(efficientnet_lite0-weights-1), index #7;")
    expect(summary).to_contain_text("40 queries (seed 1) over 300 products.")
    expect_headline(shop_page, EARLIER)
    expect(shop_page.locator("#evaluation-progress")).to_have_count(0)  # nothing under way

    # The report, in a frame with no scripts and an origin of its own.
    frame_element = shop_page.get_by_title(f"Full report of evaluation #{run.pk}")
    expect(frame_element).to_have_attribute("sandbox", "")
    frame_element.scroll_into_view_if_needed()
    frame = frame_element.element_handle().content_frame()
    assert frame is not None and frame.url.endswith(f"/evaluationrun/{run.pk}/report/")
    expect(frame.get_by_role("heading", name="Recommendation quality", level=1)).to_be_visible()
    expect(frame.locator("caption")).to_have_text("Headline")
    expect(frame.get_by_role("row", name=re.compile(r"^rail 0\.812 0\.500"))).to_be_visible()
    assert frame.evaluate("window.origin") == "null"

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    screenshot = SCREENSHOTS / "insights-desktop.png"
    shop_page.screenshot(path=screenshot, full_page=True)
    assert screenshot.stat().st_size > 20_000

    # The same report on a page of its own, in a new tab.
    with shop_page.context.expect_page() as opened:
        shop_page.get_by_role("link", name="Open the full report").click()
    report = opened.value
    report.wait_for_load_state()
    assert report.url.endswith(f"/evaluationrun/{run.pk}/report/")
    expect(report).to_have_title("Vitrine recommendation quality")
    expect(report.get_by_role("heading", name="Recommendation quality", level=1)).to_be_visible()
    expect(report.get_by_role("row", name=re.compile(r"^photo 0\.623 0\.500"))).to_be_visible()


def test_a_new_evaluation_shows_its_progress_live_then_its_figures(
    shop_page, insights_user, memory_queue
):
    earlier = done_run(run_figures=EARLIER, finished_ago=timedelta(days=1))
    log_in(shop_page, "analyst")
    expect_headline(shop_page, EARLIER)

    start = shop_page.get_by_role("button", name="Run a new evaluation")
    expect(start).to_be_enabled()
    start.click()

    expect(shop_page.locator(".messagelist")).to_contain_text(re.compile(r"is queued\."))
    expect(shop_page).to_have_url(re.compile(re.escape(INSIGHTS) + "$"))
    run = EvaluationRun.objects.exclude(pk=earlier.pk).get()
    assert (run.status, run.requested_by) == (EvaluationRun.Status.QUEUED, insights_user)
    message = memory_queue.get(timeout=2)  # sent, and no worker will take it
    assert message.headers["task"] == "recommender.tasks.run_evaluation"
    assert message.payload[0] == [run.pk]
    expect(shop_page.locator(".messagelist")).to_have_text(f"Evaluation #{run.pk} is queued.")
    panel = shop_page.locator("#evaluation-progress")
    expect(panel.get_by_role("heading", name=f"Evaluation #{run.pk} is queued")).to_be_visible()
    bar = panel.locator("progress")
    text = panel.locator("#evaluation-text")
    expect(text).to_have_attribute("aria-live", "polite")
    expect(text).to_have_text("Waiting for a worker to start it…")
    assert bar.evaluate("bar => bar.position") == -1  # indeterminate: nothing to count yet
    expect(start).to_be_disabled()
    expect(shop_page.locator("#one-at-a-time")).to_contain_text(f"when #{run.pk} finishes")
    expect_headline(shop_page, EARLIER)  # the previous report stays until a new one is done

    # Tag this document: a reload would replace it with an untagged one.
    shop_page.evaluate("document.documentElement.dataset.loadedBefore = 'yes'")
    EvaluationRun.objects.filter(pk=run.pk).update(
        status=EvaluationRun.Status.RUNNING,
        started_at=timezone.now(),
        updated_at=timezone.now(),
        stage="rail",
        done=5,
        total=10,
    )
    expect(text).to_have_text("Rail task: 50%", timeout=POLL_WAIT_MS)
    expect(panel.get_by_role("heading")).to_have_text(f"Evaluation #{run.pk} is running")
    expect(bar).to_have_js_property("max", 10)
    expect(bar).to_have_js_property("value", 5)
    expect(shop_page.locator("html[data-loaded-before]")).to_have_count(1)  # no reload

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    screenshot = SCREENSHOTS / "insights-progress-desktop.png"
    shop_page.screenshot(path=screenshot, full_page=True)
    assert screenshot.stat().st_size > 20_000

    with shop_page.expect_event("load", timeout=POLL_WAIT_MS):
        now = timezone.now()
        EvaluationRun.objects.filter(pk=run.pk).update(
            status=EvaluationRun.Status.DONE,
            finished_at=now,
            updated_at=now,
            done=10,
            figures=LATER,
            report_html=render(LATER),
        )
    expect(shop_page.locator("html[data-loaded-before]")).to_have_count(0)  # reloaded itself
    expect(shop_page.locator("#evaluation-progress")).to_have_count(0)
    summary = shop_page.locator(".insights-summary")
    expect(summary).to_contain_text(f"Evaluation #{run.pk} finished")
    expect(summary).to_contain_text("started by analyst.")
    expect(summary.locator("strong")).to_have_text("resnet50")
    expect_headline(shop_page, LATER)
    expect(shop_page.get_by_title(f"Full report of evaluation #{run.pk}")).to_be_attached()
    expect(start).to_be_enabled()


def test_customers_who_are_not_staff_are_sent_to_the_admin_login(
    shop_page, live_server, transactional_db
):
    done_run(run_figures=EARLIER)
    # The shop has no login page of its own: the customer's session is made server-side.
    shopper = get_user_model().objects.create_user("shopper", password=PASSWORD)
    client = Client()
    client.force_login(shopper)
    session = client.cookies["sessionid"]
    shop_page.context.add_cookies(
        [{"name": session.key, "value": session.value, "url": live_server.url}]
    )

    response = shop_page.goto(INSIGHTS)
    assert response is not None and response.ok
    expect(shop_page).to_have_url(re.compile(re.escape(f"{LOGIN}?next={INSIGHTS}") + "$"))
    expect(shop_page.locator(".errornote")).to_contain_text(
        "You are authenticated as shopper, but are not authorized to access this page."
    )
    expect(shop_page.get_by_role("button", name="Log in")).to_be_visible()
    expect(shop_page.get_by_text("Insights: recommendation quality")).to_have_count(0)
    expect(shop_page.locator("table.insights-headline")).to_have_count(0)
