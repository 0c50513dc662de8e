"""Server time of storefront pages: product page (with its rail) and a search by photo.

    .venv/bin/python manage.py migrate && .venv/bin/python manage.py import_catalogue PATH
    .venv/bin/python manage.py reindex
    .venv/bin/python -m bench.page_latency [--requests 200] [--seed 0]

Django's test client calls the whole stack in this process (middleware, session, views,
selectors, templates, thumbnails) against the real database, without a network or a web
server in front: the time the server spends on a request. Thumbnails and the encoder are
warmed up first, as they are in a running shop. Queries are drawn at random with a seed.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import time

import django


def summary(name: str, seconds: list[float]) -> str:
    ms = sorted(1000 * s for s in seconds)
    p95 = ms[min(len(ms) - 1, round(0.95 * len(ms)))]
    return f"| {name} | {len(ms)} | {statistics.median(ms):.1f} | {p95:.1f} |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    django.setup()

    from django.conf import settings
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.test import Client
    from django.urls import reverse

    from recommender.selectors import index_live
    from shop.models import Product

    index = index_live()
    if index is None:
        raise SystemExit("no live index: run `manage.py reindex` first")
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    rng = random.Random(args.seed)
    products = list(Product.objects.filter(is_active=True).prefetch_related("images"))
    sample = rng.sample(products, min(args.requests, len(products)))
    client = Client()

    def timed_get(url: str) -> float:
        start = time.perf_counter()
        response = client.get(url)
        elapsed = time.perf_counter() - start
        assert response.status_code == 200, (url, response.status_code)
        return elapsed

    def timed_photo(product: Product) -> float:
        with product.primary_image.image.open("rb") as photo:
            data = photo.read()
        start = time.perf_counter()
        response = client.post(
            reverse("shop:photo_search"),
            {"photo": SimpleUploadedFile("photo.jpg", data, "image/jpeg")},
            headers={"Vitrine-Fragment": "results"},
        )
        elapsed = time.perf_counter() - start
        assert response.status_code == 200 and b"results-grid" in response.content, (
            response.status_code
        )
        return elapsed

    urls = [reverse("shop:product", args=[product.slug]) for product in sample]
    # Warm-up: thumbnails of every product on these pages, the encoder, the caches.
    for url in urls:
        client.get(url)
    photos = [product for product in sample if product.primary_image]
    for product in photos[:5]:
        timed_photo(product)

    pages = [timed_get(url) for url in urls]
    searches = [timed_photo(product) for product in photos]
    print(
        f"{os.cpu_count()} cores, {len(products)} products, index #{index.pk} {index.encoder}, "
        f"seed {args.seed}\n"
    )
    print("| request | n | median ms | p95 ms |\n|---|---:|---:|---:|")
    print(summary("product page (rail of 10)", pages))
    print(summary("search by photo (24 results)", searches))


if __name__ == "__main__":
    main()
