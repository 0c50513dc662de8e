"""The behaviour rails at scale: a refit over 10 million recorded events, and the rails' latency
at 100,000 products.

    .venv/bin/python -m bench.behaviour [--products 100000] [--events 10000000] [--queries 500]

In a throwaway embedded PostgreSQL (its own data folder, deleted afterwards): ``--products``
bare products (COPY), then ``--events`` product views written by PostgreSQL itself over the last
30 days (each day its partition): sessions of five views by one pseudonym, each within one of
1,000 "tastes" of 100 products, so that co-views have structure to find; plus one order line per
50 views, in baskets of two. Then ``behaviour_neighbours_refit`` (timed, with the process's peak
memory), and "also viewed" and "bought together" rails (``product_list_also_viewed``, products
fetched and all) for ``--queries`` random products that have neighbours. Last, what staff wait
for: Insights' "Rails" section over 30 days and a rail experiment's results (3 times each).
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import shutil
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.scale import configure_server

SESSION = 5  # views per pseudonym
TASTES = 1000
TASTE_SIZE = 100  # products per taste


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=100_000)
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--queries", type=int, default=500)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="vitrine-behaviour-"))
    os.environ.update(
        VITRINE_VAR_DIR=str(work),
        DJANGO_SETTINGS_MODULE="config.settings.local",
        DJANGO_MEDIA_ROOT=str(work / "media"),
    )
    shared_buffers = configure_server(work / "postgres")
    try:
        print(run(args) + f"- PostgreSQL shared_buffers: {shared_buffers}.")
    finally:
        from django.db import connections

        connections.close_all()
        shutil.rmtree(work, ignore_errors=True)


def run(args) -> str:
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from recommender.behaviour.neighbours import behaviour_neighbours_refit
    from recommender.behaviour.storing import shopper_event_partitions_ensure
    from recommender.models import BehaviourNeighbour
    from recommender.selectors import product_list_also_viewed, product_list_bought_together
    from shop.models import Product

    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO shop_product (id, external_id, slug, title, description, price, "
            "currency, stock, is_active, gender, colour, season, usage, year, attributes, "
            "created_at, updated_at) SELECT n, 'b' || n, 'product-' || n, 'Product ' || n, '', "
            "19.99, 'EUR', 10, true, 'Men', 'Blue', '', '', NULL, '{}', now(), now() "
            "FROM generate_series(1, %s) AS n",
            [args.products],
        )
    products_seconds = time.perf_counter() - started
    now = datetime.now(UTC)
    shopper_event_partitions_ensure(days=[(now - timedelta(days=d)).date() for d in range(31)])
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("SELECT setseed(%s)", [args.seed / 1000])
        # Session s: taste s % TASTES, views of random products of that taste, one time.
        cursor.execute(
            "INSERT INTO recommender_shopperevent (id, occurred_at, kind, visitor, product_id, "
            "rail, shown, query, arm) "
            "SELECT gen_random_uuid(), %(now)s - (hashint4(n / %(session)s) & 2147483647) "
            "  %% (30 * 86400) * interval '1 second' + (n %% %(session)s) * interval '1 minute', "
            "'view', md5((n / %(session)s)::text), "
            "1 + ((((n / %(session)s) %% %(tastes)s) * %(size)s "
            "  + (random() * (%(size)s - 1))::int) %% %(products)s), '', '{}', '', '' "
            "FROM generate_series(0, %(events)s - 1) AS n",
            {
                "now": now - timedelta(minutes=10),
                "session": SESSION,
                "tastes": TASTES,
                "size": TASTE_SIZE,
                "products": args.products,
                "events": args.events,
            },
        )
        # Order lines: one per 50 views, baskets of two products of one taste.
        cursor.execute(
            "INSERT INTO recommender_shopperevent (id, occurred_at, kind, visitor, product_id, "
            "rail, shown, query, arm, quantity, amount) "
            "SELECT gen_random_uuid(), occurred_at, 'order', visitor, product_id, '', '{}', '', "
            "'', 1, 19.99 FROM recommender_shopperevent "
            "WHERE kind = 'view' AND (hashtext(id::text) & 2147483647) % 25 = 0"
        )
        cursor.execute("ANALYZE recommender_shopperevent")
        cursor.execute("SELECT kind, count(*) FROM recommender_shopperevent GROUP BY kind")
        counts = dict(cursor.fetchall())
    events_seconds = time.perf_counter() - started

    started = time.perf_counter()
    fit = behaviour_neighbours_refit()
    refit_seconds = time.perf_counter() - started
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    rng = random.Random(args.seed)
    with_neighbours = list(
        BehaviourNeighbour.objects.values_list("product_id", flat=True).distinct()[:50_000]
    )
    sample = rng.sample(with_neighbours, min(args.queries, len(with_neighbours)))
    timings = {"also viewed": [], "bought together": []}
    for name, selector in (
        ("also viewed", product_list_also_viewed),
        ("bought together", product_list_bought_together),
    ):
        for product_id in sample[:50]:  # warm-up
            selector(product=Product(pk=product_id), k=10)
        for product_id in sample:
            started = time.perf_counter()
            selector(product=Product(pk=product_id), k=10)
            timings[name].append((time.perf_counter() - started) * 1000)
    neighbours = BehaviourNeighbour.objects.count()
    staff_pages = staff_reads()
    lines = [
        f"{args.products:,} products (written in {products_seconds:.0f} s); "
        f"{counts.get('view', 0):,} views and {counts.get('order', 0):,} order lines over 30 days "
        f"(written in {events_seconds:.0f} s), sessions of {SESSION} views within {TASTES:,} "
        f"tastes of {TASTE_SIZE} products",
        "",
        "| step | figure |",
        "|---|---|",
        f"| refit (read, fit, store) | {refit_seconds:.0f} s, {fit.events:,} distinct "
        f"(shopper, product) pairs, {fit.products:,} products given neighbours, "
        f"{neighbours:,} neighbours stored |",
        f"| peak memory of the process | {peak_mib:,.0f} MiB |",
    ]
    for name, values in timings.items():
        ordered = sorted(values)
        p95 = ordered[int(0.95 * (len(ordered) - 1))]
        lines.append(
            f"| {name} rail, {len(values)} products | median {statistics.median(values):.1f} ms, "
            f"p95 {p95:.1f} ms |"
        )
    for name, seconds in staff_pages.items():
        lines.append(f"| {name} | median of 3: {statistics.median(seconds):.2f} s |")
    return "\n".join(lines) + "\n"


def staff_reads() -> dict[str, list[float]]:
    """Seconds to compute Insights' rails section and an experiment's results, 3 times each."""
    from recommender.behaviour import experiments
    from recommender.quality.rail_insights import rail_figures

    experiment = experiments.experiment_start(
        name="bench",
        arm_a=experiments.rail_configuration_default(),
        arm_b={"image_weight": 1, "text_weight": 0, "behaviour_share": 0},
    )
    # As if it had run the whole 30 days: its results read them all.
    type(experiment).objects.filter(pk=experiment.pk).update(
        started_at=datetime.now(UTC) - timedelta(days=30)
    )
    experiment.refresh_from_db()
    reads = {
        "Insights: rails over 30 days": lambda: rail_figures(days=30),
        "Rail experiment: results over 30 days": lambda: experiments.experiment_results(
            experiment=experiment
        ),
    }
    timings = {}
    for name, read in reads.items():
        timings[name] = []
        for _ in range(3):
            started = time.perf_counter()
            read()
            timings[name].append(time.perf_counter() - started)
    return timings


if __name__ == "__main__":
    main()
