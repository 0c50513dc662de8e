"""Behaviour rails measured on recorded events, offline, with a time split.

The earlier ``train_share`` of the views (by time) is what the shop would have known; the
later shoppers' sessions are replayed: after each product a shopper viewed, does the rail of
that product hold the next different product they viewed? Four rails answer, each with ``k``
products: the most viewed products (popularity), the look-alike rail (content: photo and
words), "also viewed" fitted on the earlier part (behaviour), and the blend of the two the
product page shows (``RECOMMENDER_BEHAVIOUR_SHARE`` of the places to behaviour, at least half
here so that the blend is measured; from neighbours that enough shoppers back,
``behaviour_trusted``). Figures: hit@k, MRR (the reciprocal rank of the next
product, 0 when absent) and coverage (the share of the catalogue's products that the rails
recommend at least once).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime
from itertools import pairwise
from operator import itemgetter

import numpy as np

from recommender.behaviour.neighbours import neighbours_compute
from recommender.models import ShopperEvent
from recommender.selectors import product_list_similar_scores
from recommender.selectors.behaviour import behaviour_trusted, rail_blend
from shop.models import Product

RAILS = ("popularity", "content", "behaviour", "blend")


class ReplayError(ValueError):
    pass


def behaviour_replay(*, train_share: float = 0.8, k: int = 10, share: float = 0.5) -> dict:
    views = list(
        ShopperEvent.objects.filter(kind=ShopperEvent.Kind.VIEW, product_id__isnull=False)
        .order_by("occurred_at")
        .values_list("visitor", "product_id", "occurred_at")
    )
    if len(views) < 50:
        raise ReplayError(f"{len(views)} product views recorded: too few to replay (50 at least)")
    split_at: datetime = views[int(train_share * len(views))][2]
    first_seen: dict[str, datetime] = {}
    for visitor, _, at in views:
        first_seen.setdefault(visitor, at)
    train = [(v, p, at) for v, p, at in views if at < split_at]
    later: dict[str, list[int]] = defaultdict(list)
    for visitor, product, _ in views:
        if first_seen[visitor] >= split_at:  # sessions that began after the split
            later[visitor].append(product)

    neighbours: dict[int, list[tuple[int, int]]] = defaultdict(list)  # (product, shoppers)
    ages = np.array([(split_at - at).total_seconds() / 86400 for _, _, at in train])
    for a, b, _, shoppers in neighbours_compute(
        np.array([v for v, _, _ in train]), np.array([p for _, p, _ in train]), ages
    ):
        neighbours[a].append((b, shoppers))
    popular = [product for product, _ in Counter(p for _, p, _ in train).most_common(k + 1)]
    content: dict[int, list[int]] = {}

    def rail(name: str, product: int) -> list[int]:
        if name == "popularity":
            return [p for p in popular if p != product][:k]
        if name == "behaviour":
            return [neighbour for neighbour, _ in neighbours[product][:k]]
        if product not in content:
            scores = product_list_similar_scores(product=Product(pk=product), k=k)
            content[product] = [pk for pk, *_ in scores]
        if name == "content":
            return content[product]
        trusted = behaviour_trusted(neighbours[product], shoppers=itemgetter(1))
        behaviour = [neighbour for neighbour, _ in trusted[:k]]
        return rail_blend(content[product], behaviour, share=share, k=k, key=int)

    hits, ranks, shown = Counter(), defaultdict(float), defaultdict(set)
    steps = 0
    for products in later.values():
        path = [p for i, p in enumerate(products) if i == 0 or p != products[i - 1]]
        for current, following in pairwise(path):
            steps += 1
            for name in RAILS:
                recommended = rail(name, current)
                shown[name].update(recommended)
                if following in recommended:
                    hits[name] += 1
                    ranks[name] += 1 / (recommended.index(following) + 1)
    if not steps:
        raise ReplayError("no shopper after the split viewed two products: nothing to replay")
    catalogue = Product.objects.filter(is_active=True).count()
    return {
        "views": len(views),
        "train_views": len(train),
        "sessions": len(later),
        "steps": steps,
        "k": k,
        "share": share,
        "rails": {
            name: {
                "hit": hits[name] / steps,
                "mrr": ranks[name] / steps,
                "coverage": len(shown[name]) / max(catalogue, 1),
            }
            for name in RAILS
        },
    }
