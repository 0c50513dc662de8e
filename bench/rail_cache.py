"""A rail's cost through the cache, side by side: uncached, on a miss (cold) and on a hit (warm).

    .venv/bin/python manage.py migrate && .venv/bin/python manage.py import_catalogue PATH
    .venv/bin/python manage.py reindex
    .venv/bin/python -m bench.rail_cache [--products 300] [--rounds 2]

In the configured shop (its cache: ``CACHE_URL``, else each process's own memory), for the same
random products: ``product_list_similar`` as the evaluation calls it (never cached), then as
pages and the API call it (``cached=True``) on an empty cache, then again on the cache that run
filled. Each round measures the three in turn; the rail is the whole answer, products loaded.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    import django

    django.setup()
    from django.conf import settings
    from django.core.cache import cache

    from recommender.selectors import index_live, product_list_similar
    from shop.models import Product

    if index_live() is None:
        raise SystemExit("no live index: run `manage.py reindex` first")
    products = list(Product.objects.filter(is_active=True))
    sample = random.Random(args.seed).sample(products, min(args.products, len(products)))
    for product in sample[:20]:  # connections, query plans
        product_list_similar(product=product)

    def timed(cached: bool) -> tuple[float, float]:
        times = []
        for product in sample:
            start = time.perf_counter()
            product_list_similar(product=product, cached=cached)
            times.append((time.perf_counter() - start) * 1000)
        times.sort()
        return statistics.median(times), times[int(len(times) * 0.95)]

    rows: dict[str, list[tuple[float, float]]] = {}
    for _ in range(args.rounds):
        rows.setdefault("uncached (as the evaluation asks)", []).append(timed(False))
        cache.clear()
        rows.setdefault("cached, a miss (ranked, then stored)", []).append(timed(True))
        rows.setdefault("cached, a hit", []).append(timed(True))
    backend = settings.CACHES["default"]["BACKEND"].rsplit(".", 1)[-1]
    print(
        f"{len(products)} products, {len(sample)} rails of 10 per row and round, cache "
        f"{backend}, RECOMMENDER_RAIL_CACHE_SECONDS {settings.RECOMMENDER_RAIL_CACHE_SECONDS}\n"
    )
    rounds = " | ".join(f"round {i + 1}: median / p95 ms" for i in range(args.rounds))
    print(f"| rail | {rounds} |")
    print("|---|" + "---:|" * args.rounds)
    for name, values in rows.items():
        print(f"| {name} | " + " | ".join(f"{m:.1f} / {p95:.1f}" for m, p95 in values) + " |")


if __name__ == "__main__":
    main()
