"""Rail and photo-search latency and recall, against exact brute force in numpy, in one run.

    .venv/bin/python manage.py migrate && .venv/bin/python manage.py import_catalogue PATH
    .venv/bin/python manage.py reindex
    .venv/bin/python -m bench.query_latency [--queries 200] [--seed 0]

Reads whatever catalogue the database holds (use ../shared/data/fashion-dev). Brute force is
the original method: every vector in memory, one matrix product per query, the same weighted
score; its latency excludes loading the vectors. Recall@10 is the share of the exact top 10
that the shop's indexed query returns. Search by photo also borrows its neighbours' text (see
recommender/selectors.py), so its results are not the image-only brute force's: for it the
table gives the overlap with the original method, not a recall.
"""

from __future__ import annotations

import argparse
import os
import random
import time

import django
import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    django.setup()

    from django.conf import settings

    from recommender.models import ProductEmbedding
    from recommender.selectors import index_live, product_list_by_photo, product_list_similar
    from recommender.services import encoder_for
    from shop.models import Product

    index = index_live()
    if index is None:
        raise SystemExit("no live index: run `manage.py reindex` first")
    rows = list(
        ProductEmbedding.objects.filter(index=index, image__isnull=False, product__is_active=True)
        .order_by("product_id")
        .values_list("product_id", "image", "text")
    )
    ids = np.array([product_id for product_id, _, _ in rows])
    images = np.stack([np.asarray(image, np.float32) for _, image, _ in rows])
    width = max((max(t.indices(), default=0) for _, _, t in rows if t is not None), default=0) + 1
    texts = np.zeros((len(rows), width), np.float32)
    for i, (_, _, text) in enumerate(rows):
        if text is not None:
            texts[i, text.indices()] = text.values()
    w_image, w_text = settings.RECOMMENDER_IMAGE_WEIGHT, settings.RECOMMENDER_TEXT_WEIGHT
    encoder = encoder_for(index)
    products = Product.objects.in_bulk(ids.tolist())
    sample = random.Random(args.seed).sample(range(len(ids)), min(args.queries, len(ids)))

    timings: dict[str, list[float]] = {k: [] for k in ("rail", "rail_bf", "photo", "photo_bf")}
    recall: dict[str, list[float]] = {"rail": [], "photo": []}
    for i in sample:
        product = products[int(ids[i])]
        start = time.perf_counter()
        rail = product_list_similar(product=product, k=10)
        timings["rail"].append(time.perf_counter() - start)
        start = time.perf_counter()
        score = w_image * (images @ images[i]) + w_text * (texts @ texts[i])
        score[i] = -np.inf
        exact = set(ids[np.argpartition(-score, 10)[:10]].tolist())
        timings["rail_bf"].append(time.perf_counter() - start)
        recall["rail"].append(len(exact & {r.product.pk for r in rail}) / 10)

        photo = product.primary_image.image.read()
        start = time.perf_counter()
        found = product_list_by_photo(photo=photo, k=10, exclude=product.pk)
        timings["photo"].append(time.perf_counter() - start)
        start = time.perf_counter()
        query = encoder.encode_bytes(photo)
        score = images @ query
        score[i] = -np.inf
        exact = set(ids[np.argpartition(-score, 10)[:10]].tolist())
        timings["photo_bf"].append(time.perf_counter() - start)
        recall["photo"].append(len(exact & {r.product.pk for r in found}) / 10)

    def ms(values, q):
        return f"{1000 * np.percentile(values, q):.1f}"

    print(
        f"{len(ids)} products, {len(sample)} queries, encoder {index.encoder}, "
        f"{os.cpu_count()} cores\n"
    )
    print("| query | median ms | p95 ms | recall@10 vs exact |\n|---|---:|---:|---:|")
    print(
        f"| rail, shop (HNSW candidates + exact re-rank in SQL) | {ms(timings['rail'], 50)} | "
        f"{ms(timings['rail'], 95)} | {np.mean(recall['rail']):.3f} |"
    )
    print(
        f"| rail, numpy brute force | {ms(timings['rail_bf'], 50)} | "
        f"{ms(timings['rail_bf'], 95)} | 1 |"
    )
    print(
        f"| photo search, shop (encode + HNSW) | {ms(timings['photo'], 50)} | "
        f"{ms(timings['photo'], 95)} | overlap {np.mean(recall['photo']):.3f} |"
    )
    print(
        f"| photo search, encode + numpy brute force, image only (the original method) | "
        f"{ms(timings['photo_bf'], 50)} | {ms(timings['photo_bf'], 95)} | 1 |"
    )


if __name__ == "__main__":
    main()
