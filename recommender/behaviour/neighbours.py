"""Products that shoppers' behaviour ties together: item-to-item collaborative filtering on the
recorded events (item kNN, as in Amazon's "customers who bought this also bought", Linden,
Smith and York 2003; Deshpande and Karypis 2004), with SciPy's sparse matrices.

Each shopper (a visitor's pseudonym: one day) is a row of products they viewed (or ordered),
each weighted by how recent it is (halved every ``RECOMMENDER_BEHAVIOUR_HALF_LIFE_DAYS``). Two
products' score is the cosine of their columns, shrunk by ``SHRINK`` so that a pair seen by two
shoppers does not outrank one seen by fifty: popular products are not everyone's neighbours.
Pairs fewer than ``RECOMMENDER_BEHAVIOUR_MIN_SHOPPERS`` shoppers share are left out. The best
``RECOMMENDER_BEHAVIOUR_NEIGHBOURS`` per product are stored, replacing the previous fit at once.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import numpy as np
from django.conf import settings
from django.db import connection, transaction
from scipy import sparse

from recommender.models import BehaviourFit, BehaviourNeighbour, ShopperEvent
from shop.models import Product

CHUNK = 200_000  # rows read at a time
SHRINK = 5.0  # added to the cosine's denominator: (co-occurrence) / (norms + SHRINK)
# Which events make each kind of neighbour.
EVENT_KINDS = {
    BehaviourNeighbour.Kind.ALSO_VIEWED: ShopperEvent.Kind.VIEW,
    BehaviourNeighbour.Kind.BOUGHT_TOGETHER: ShopperEvent.Kind.ORDER,
}


def behaviour_neighbours_refit(*, now: datetime | None = None) -> BehaviourFit:
    """Refit every kind of neighbour from the events of the last
    ``RECOMMENDER_BEHAVIOUR_DAYS`` and store them in place of the previous fit."""
    started = time.monotonic()
    now = now or datetime.now(UTC)
    rows, events = [], 0
    for kind, event_kind in EVENT_KINDS.items():
        visitors, products, ages = _interactions(event_kind, now=now)
        events += len(products)
        rows += [
            BehaviourNeighbour(
                kind=kind, product_id=a, neighbour_id=b, score=score, shoppers=shoppers
            )
            for a, b, score, shoppers in neighbours_compute(visitors, products, ages)
        ]
    existing = set(Product.objects.values_list("pk", flat=True))  # deleted since the events
    rows = [row for row in rows if row.product_id in existing and row.neighbour_id in existing]
    with transaction.atomic():
        BehaviourNeighbour.objects.all().delete()
        BehaviourNeighbour.objects.bulk_create(rows, batch_size=5000)
        return BehaviourFit.objects.create(
            fitted_at=now,
            events=events,
            products=len({row.product_id for row in rows}),
            seconds=time.monotonic() - started,
        )


def _interactions(event_kind: str, *, now: datetime) -> tuple[np.ndarray, ...]:
    """(visitor, product, age in days) of each distinct pair in the window, the latest time.

    Streamed in chunks as numbers: a visitor is the first 52 bits of the MD5 of its pseudonym
    (exact in a float64; two of ten million visitors share one about once in a hundred fits, a
    harmless merge). Ten million pairs take about 250 MB instead of gigabytes of strings."""
    since = now - timedelta(days=settings.RECOMMENDER_BEHAVIOUR_DAYS)
    chunks = []
    with transaction.atomic(), connection.chunked_cursor() as cursor:
        cursor.execute(
            "SELECT ('x' || left(md5(visitor), 13))::bit(52)::bigint, product_id, "
            "(EXTRACT(EPOCH FROM %s - max(occurred_at)) / 86400)::float8 "
            f"FROM {ShopperEvent._meta.db_table} "
            "WHERE kind = %s AND occurred_at >= %s AND occurred_at <= %s "
            "AND product_id IS NOT NULL GROUP BY visitor, product_id",
            [now, event_kind, since, now],
        )
        while rows := cursor.fetchmany(CHUNK):
            chunks.append(np.array(rows, dtype=np.float64))
    found = np.concatenate(chunks) if chunks else np.zeros((0, 3))
    return found[:, 0].astype(np.int64), found[:, 1].astype(np.int64), found[:, 2]


def neighbours_compute(
    visitors: np.ndarray, products: np.ndarray, ages: np.ndarray
) -> list[tuple[int, int, float, int]]:
    """(product, neighbour, score, shoppers) for the best neighbours of each product, from one
    row per distinct (visitor, product) and its age in days."""
    if len(products) == 0:
        return []
    visitor_ids, visitor_rows = np.unique(visitors, return_inverse=True)
    product_ids, product_columns = np.unique(products, return_inverse=True)
    shape = (len(visitor_ids), len(product_ids))
    decay = 0.5 ** (np.maximum(ages, 0) / settings.RECOMMENDER_BEHAVIOUR_HALF_LIFE_DAYS)
    weighted = sparse.csr_matrix((decay, (visitor_rows, product_columns)), shape=shape)
    seen = sparse.csr_matrix((np.ones(len(products)), (visitor_rows, product_columns)), shape)
    # Both products of the same pattern (every weight is positive), their entries in step.
    together, shoppers = (weighted.T @ weighted).tocsr(), (seen.T @ seen).tocsr()
    together.sort_indices()
    shoppers.sort_indices()
    norms = np.sqrt(together.diagonal())
    minimum = settings.RECOMMENDER_BEHAVIOUR_MIN_SHOPPERS
    top = settings.RECOMMENDER_BEHAVIOUR_NEIGHBOURS
    found = []
    for column in range(len(product_ids)):
        start, end = together.indptr[column], together.indptr[column + 1]
        others, co = together.indices[start:end], together.data[start:end]
        counts = shoppers.data[start:end]
        keep = (others != column) & (counts >= minimum)
        if not keep.any():
            continue
        others, co, counts = others[keep], co[keep], counts[keep]
        scores = co / (norms[column] * norms[others] + SHRINK)
        best = np.argsort(-scores, kind="stable")[:top]
        found += [
            (int(product_ids[column]), int(product_ids[o]), float(score), int(count))
            for o, score, count in zip(others[best], scores[best], counts[best], strict=True)
        ]
    return found
