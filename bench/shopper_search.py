"""Search by a shopper's photo: latency and the exact item found, with and without finding the
product in the photo, side by side on the same photos in one run.

    .venv/bin/python manage.py migrate && .venv/bin/python manage.py import_catalogue PATH
    .venv/bin/python manage.py reindex
    .venv/bin/python -m bench.shopper_search [--queries 100] [--seed 0]

The photos are the evaluation's shopper photos (recommender/shopper_photos.py) of a
fixed sample of the catalogue in the database. "Whole photo" is search by photo as it was
before localisation (``find_product=False``, no look-alike first); "shop" is the search as
served. Each photo is searched both ways, alternately, so that the machine's noise falls on
both alike.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import time

import django

KINDS = ("surface", "scene", "detail", "several")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    django.setup()

    from django.test import override_settings

    from recommender.quality.shopper_search import product_photos, shopper_queries
    from recommender.selectors import product_list_by_photo
    from recommender.shopper_photos import shopper_photo
    from shop.models import Product

    catalogue = sorted(Product.objects.filter(is_active=True).values_list("pk", flat=True))
    sample = sorted(random.Random(args.seed).sample(catalogue, min(args.queries, len(catalogue))))
    print(f"{len(catalogue):,} products, {len(sample)} photos per kind, 2 cores\n")
    print("| photo | search | median ms | p95 ms | found first | found in top 10 |")
    print("|---|---|---:|---:|---:|---:|")
    product_list_by_photo(photo=product_photos(sample[:1])[sample[0]], k=10)  # load the model
    for kind in KINDS:
        queries = shopper_queries(kind, sample, catalogue, seed=args.seed)
        photos = product_photos(
            sorted({p for group, clutter in queries for p in (*group, *clutter)})
        )
        made = [
            shopper_photo(kind, photos, group, seed=args.seed, clutter=clutter)
            for group, clutter in queries
            if all(pid in photos for pid in (*group, *clutter))
        ]
        measured = {"whole photo": ([], [], []), "shop": ([], [], [])}
        for photo in made:
            for way in measured:
                shop = way == "shop"
                with override_settings(**({} if shop else {"RECOMMENDER_PHOTO_CLOSEST_FIRST": 0})):
                    start = time.perf_counter()
                    results = product_list_by_photo(photo=photo.jpeg, k=10, find_product=shop)
                    milliseconds = 1000 * (time.perf_counter() - start)
                found = [r.product.pk for r in results]
                times, first, top = measured[way]
                times.append(milliseconds)
                first += [found[:1] == [pid] for pid in photo.products]
                top += [pid in found for pid in photo.products]
        for way, (times, first, top) in measured.items():
            times.sort()
            p95 = times[min(len(times) - 1, round(0.95 * len(times)) - 1)]
            print(
                f"| {kind} | {way} | {statistics.median(times):.0f} | {p95:.0f} | "
                f"{statistics.fmean(first):.2f} | {statistics.fmean(top):.2f} |"
            )


if __name__ == "__main__":
    main()
