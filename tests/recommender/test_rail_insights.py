"""Insights' proof that rails sell: impressions, clicks, adds to cart, orders and revenue per
rail, from the recorded events, with the attribution rule on the page."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils.html import escape

from recommender.behaviour import recording
from recommender.behaviour.storing import shopper_events_store
from recommender.quality.rail_insights import ATTRIBUTION, rail_figures
from tests.factories.staff import staff_user

pytestmark = pytest.mark.django_db

NOW = datetime(2031, 6, 30, 12, tzinfo=UTC)
INSIGHTS = reverse("admin:recommender_evaluationrun_changelist")


def events(kind: str, count: int, *, days_ago: int = 0, **fields) -> list[dict]:
    at = (NOW - timedelta(days=days_ago)).isoformat()
    return [
        recording._event(f"{n:032d}", kind=kind, **fields) | {"occurred_at": at}
        for n in range(count)
    ]


@pytest.fixture
def history():
    shopper_events_store(
        events=[
            *events("impression", 10, rail="similar", shown=[1, 2, 3]),
            *events("impression", 4, days_ago=1, rail="also_viewed", shown=[4]),
            *events("click", 3, rail="similar", position=2, product_id=2),
            *events("click", 1, days_ago=1, rail="also_viewed", position=1, product_id=4),
            *events("cart_add", 2, rail="similar", product_id=2, quantity=1),
            *events("order", 1, rail="similar", product_id=2, quantity=2, amount="40.00"),
            *events("order", 1, product_id=9, quantity=1, amount="19.50"),  # no rail led there
            *events("impression", 50, days_ago=40, rail="similar", shown=[1]),  # too long ago
            *events("view", 20, product_id=1),  # not a rail's doing
        ]
    )


def test_each_rail_has_its_impressions_clicks_carts_orders_and_revenue(history):
    figures = {rail.rail: rail for rail in rail_figures(days=30, now=NOW)}
    assert list(figures) == ["similar", "also_viewed", ""]
    similar = figures["similar"]
    assert (similar.impressions, similar.clicks, similar.cart_adds, similar.orders) == (10, 3, 2, 1)
    assert similar.click_through == pytest.approx(0.3)
    assert similar.cart_rate == pytest.approx(2 / 3)
    assert similar.revenue == Decimal("40.00")
    assert figures["also_viewed"].click_through == pytest.approx(0.25)
    assert figures["also_viewed"].cart_rate == 0
    unattributed = figures[""]
    assert (unattributed.orders, unattributed.revenue) == (1, Decimal("19.50"))
    assert unattributed.click_through is None
    assert len(similar.daily) == 1 and len(figures["also_viewed"].daily) == 1


def test_the_insights_page_shows_the_rails_and_how_orders_are_attributed(
    client, history, monkeypatch
):
    monkeypatch.setattr("recommender.quality.rail_insights.datetime", FrozenNow)
    client.force_login(staff_user("analyst", "view_evaluationrun"))
    page = client.get(INSIGHTS).content.decode()
    assert "Rails: what shoppers did with them (last 30 days)" in page
    assert '<th scope="row">Visually similar</th><td>10</td><td>3</td><td>30%</td>' in page
    assert "No rail (found otherwise)" in page and "19.50" in page
    assert escape(ATTRIBUTION) in page
    plot = client.get(reverse("admin:recommender_evaluationrun_rails_plot"))
    assert plot.status_code == 200 and plot["Content-Type"] == "image/png"
    assert plot.content.startswith(b"\x89PNG")


def test_the_rail_figures_need_the_insights_permission(client, history):
    client.force_login(staff_user("clerk", "view_order"))
    assert client.get(reverse("admin:recommender_evaluationrun_rails_plot")).status_code == 403


def test_a_shop_without_recorded_rails_says_so(client):
    client.force_login(staff_user("analyst", "view_evaluationrun"))
    page = client.get(INSIGHTS).content.decode()
    assert "No rail has been shown to a recorded shopper in the last 30 days." in page
    assert reverse("admin:recommender_evaluationrun_rails_plot") not in page


class FrozenNow(datetime):
    @classmethod
    def now(cls, tz=None):
        return NOW
