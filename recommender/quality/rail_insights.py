"""What shoppers did with each rail, from the recorded events: the admin's proof that rails
sell (Insights).

Attribution: an add to cart or an order line counts for a rail when the shopper's last click
on that product, in the same browser session, was on that rail (recording.rail_lead). An
impression is a rail served in a page, seen or not (no script measures scrolling).
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from django.db import connection

from recommender.models import ShopperEvent

RAIL_LABELS = {
    "similar": "Visually similar",
    "also_viewed": "Shoppers who viewed this also viewed",
    "bought_together": "Often bought together",
    "recently_viewed": "Recently viewed",
    "you_may_like": "You may also like (cart)",
    "": "No rail (found otherwise)",
}
ATTRIBUTION = (
    "An add to cart or an order line counts for a rail when the shopper's last click on that "
    "product, in the same browser session, was on that rail. An impression is a rail served in a "
    "page, whether or not the shopper scrolled to it."
)


@dataclass
class RailFigures:
    rail: str
    impressions: int = 0
    clicks: int = 0
    cart_adds: int = 0
    orders: int = 0  # order lines
    revenue: Decimal = Decimal(0)
    daily: dict[date, dict[str, float]] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return RAIL_LABELS.get(self.rail, self.rail)

    @property
    def click_through(self) -> float | None:
        return self.clicks / self.impressions if self.impressions else None

    @property
    def cart_rate(self) -> float | None:
        """Adds to cart per click."""
        return self.cart_adds / self.clicks if self.clicks else None


def rail_figures(*, days: int = 30, now: datetime | None = None) -> list[RailFigures]:
    """Each rail's impressions, clicks, adds to cart, orders and revenue over the last ``days``,
    with the same per day; rails in RAIL_LABELS's order, "no rail" last (orders only)."""
    now = now or datetime.now(UTC)
    since = (
        (now - timedelta(days=days - 1))
        .astimezone(UTC)
        .replace(hour=0, minute=0, second=0, microsecond=0)
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT (occurred_at AT TIME ZONE 'UTC')::date, rail, kind, count(*), "
            f"coalesce(sum(amount), 0) FROM {ShopperEvent._meta.db_table} "
            "WHERE occurred_at >= %s AND occurred_at <= %s AND kind = ANY(%s) "
            "GROUP BY 1, 2, 3",
            [since, now, ["impression", "click", "cart_add", "order"]],
        )
        rows = cursor.fetchall()
    rails = {rail: RailFigures(rail) for rail in RAIL_LABELS}
    counted = {"impression": "impressions", "click": "clicks", "cart_add": "cart_adds"}
    for day, rail, kind, count, amount in rows:
        figures = rails.setdefault(rail, RailFigures(rail))
        today = figures.daily.setdefault(day, {"impressions": 0, "clicks": 0, "revenue": 0.0})
        if kind == "order":
            figures.orders += count
            figures.revenue += amount
            today["revenue"] += float(amount)
        else:
            setattr(figures, counted[kind], getattr(figures, counted[kind]) + count)
            if kind in ("impression", "click"):
                today[counted[kind]] += count
    return [figures for figures in rails.values() if figures.impressions or figures.orders]


def rail_plot_png(figures: list[RailFigures], *, days: int, now: datetime | None = None) -> bytes:
    """Click-through rate and revenue per day over the last ``days``, a line per rail."""
    from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
    from matplotlib.figure import Figure

    plot = Figure(figsize=(9, 5.5), layout="constrained")
    ctr_axes, revenue_axes = plot.subplots(2, 1, sharex=True)
    for rail in figures:
        dates = sorted(rail.daily)
        if rail.impressions:
            shown = [(d, rail.daily[d]) for d in dates if rail.daily[d]["impressions"]]
            ctr = [100 * day["clicks"] / day["impressions"] for _, day in shown]
            ctr_axes.plot([d for d, _ in shown], ctr, "o-", label=rail.label)
        revenue = [rail.daily[d]["revenue"] for d in dates]
        revenue_axes.plot(dates, revenue, "o-", label=rail.label)
    ctr_axes.set_ylabel("click-through (%)")
    revenue_axes.set_ylabel("revenue attributed")
    revenue_axes.legend(fontsize="small")
    today = (now or datetime.now(UTC)).astimezone(UTC).date()
    locator = AutoDateLocator()
    revenue_axes.xaxis.set_major_locator(locator)
    revenue_axes.xaxis.set_major_formatter(ConciseDateFormatter(locator))
    revenue_axes.set_xlim(today - timedelta(days=days - 1), today + timedelta(days=1))
    for axes in (ctr_axes, revenue_axes):
        axes.grid(alpha=0.3)
    buffer = io.BytesIO()
    plot.savefig(buffer, format="png", dpi=90)
    return buffer.getvalue()
