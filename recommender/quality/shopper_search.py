"""Search by photo as shoppers use it: the shopper-photo tasks of ../shared/docs/EVALUATION.md.

For each kind (recommender/shopper_photos.py) and each query product: is the
photographed product found (``hit1``, ``hit10``: it is in the catalogue, not excluded), and
how many of the top 10 share its article type and colour with it excluded (``p10_article``,
``p10_article_colour``). Both searches go through the search-by-photo code path as served.
"""

from __future__ import annotations

import base64
import random
import statistics
import time
from collections.abc import Callable, Sequence
from io import BytesIO

from PIL import Image

from recommender.quality.metrics import K, QueryResult, Truth, score
from recommender.quality.progress import StageProgress, stage_counter
from recommender.selectors import product_list_by_photo, product_search_by_photo
from recommender.shopper_photos import (
    KINDS,
    NOTHING,
    ShopperPhoto,
    empty_photo,
    shopper_photo,
)
from shop.models import Product

DEFAULT_SHOPPER_QUERIES = 300
SCENE_CLUTTER = (3, 6)  # other catalogue products about the room, at least and at most
EXAMPLES_PER_KIND = 3
EXAMPLE_SIDE = 120  # pixels, the longer side of an example photo in the report
EXAMPLE_RESULTS = 5


def product_photos(product_ids: Sequence[int]) -> dict[int, bytes]:
    """The primary photo bytes of those products that have one."""
    photos = {}
    products = Product.objects.prefetch_related("images").in_bulk(list(product_ids))
    for pid, product in products.items():
        image = product.primary_image
        if image is not None:
            with image.image.open("rb") as handle:
                photos[pid] = handle.read()
    return photos


def shopper_queries(
    kind: str, sample: Sequence[int], catalogue: Sequence[int], *, seed: int
) -> list[tuple[tuple[int, ...], tuple[int, ...]]]:
    """``(products in the photo, clutter)`` for each photo of ``kind``: one photo per sampled
    product, or for ``several`` the sample in groups of two or three."""
    rng = random.Random(f"{seed}-{kind}")
    if kind == "several":
        groups, start = [], 0
        while start < len(sample) - 1:
            size = min(rng.choice((2, 3)), len(sample) - start)
            groups.append((tuple(sample[start : start + size]), ()))
            start += size
        return groups
    queries = []
    for pid in sample:
        clutter = ()
        if kind == "scene":
            others = [other for other in catalogue if other != pid]
            clutter = tuple(rng.sample(others, min(len(others), rng.randint(*SCENE_CLUTTER))))
        queries.append(((pid,), clutter))
    return queries


def run_shopper_kind(
    kind: str,
    sample: Sequence[int],
    catalogue: Sequence[int],
    truths: dict[int, Truth],
    *,
    seed: int,
    progress: Callable[[int], None] | None = None,
) -> tuple[dict, list[dict]]:
    """The figures of one kind, and a few example photos with their top results."""
    queries = shopper_queries(kind, sample, catalogue, seed=seed)
    needed = {pid for products, clutter in queries for pid in (*products, *clutter)}
    photos = product_photos(sorted(needed))
    hits1, hits10, unsure, excluded, examples = [], [], [], [], []
    for products, clutter in queries:
        if not all(pid in photos for pid in products):
            continue  # a product without a photo cannot be photographed
        clutter = tuple(pid for pid in clutter if pid in photos)
        photo = shopper_photo(kind, photos, products, seed=seed, clutter=clutter)
        search = product_search_by_photo(photo=photo.jpeg, k=K)
        found = [r.product.pk for r in search.results]
        unsure.append(search.unsure)
        for target in products:
            hits1.append(found[:1] == [target])
            hits10.append(target in found)
            start = time.perf_counter()
            others = product_list_by_photo(photo=photo.jpeg, k=K, exclude=target)
            seconds = time.perf_counter() - start
            excluded.append(QueryResult(target, [r.product.pk for r in others], seconds))
        if len(examples) < EXAMPLES_PER_KIND:
            examples.append(_example(photo, found))
        if progress:
            progress(1)
    if not excluded:
        return {}, []
    labels = score(excluded, truths)
    figures = {
        "hit1": statistics.fmean(hits1),
        "hit10": statistics.fmean(hits10),
        "unsure": statistics.fmean(unsure),
        "p10_article": labels.p10_article,
        "p10_article_colour": labels.p10_article_colour,
        "latency_ms_median": labels.latency_ms_median,
        "latency_ms_p95": labels.latency_ms_p95,
        "queries": len(excluded),
    }
    return figures, examples


def run_shopper(
    sample: Sequence[int],
    truths: dict[int, Truth],
    *,
    seed: int,
    kinds: Sequence[str] = KINDS,
    progress: StageProgress | None = None,
) -> tuple[dict, dict]:
    """Every kind: ``({kind: figures}, {kind: examples})``."""
    catalogue = sorted(truths)
    figures, examples = {}, {}
    for kind in kinds:
        step = stage_counter(progress, f"shopper {kind}", len(sample))
        figures[kind], examples[kind] = run_shopper_kind(
            kind, sample, catalogue, truths, seed=seed, progress=step
        )
    step = stage_counter(progress, "shopper photos of no product", len(sample))
    figures[NOTHING] = run_nothing(len(sample), seed=seed, progress=step)
    return figures, examples


def run_nothing(count: int, *, seed: int, progress: Callable[[int], None] | None = None) -> dict:
    """Photos with no product in them: how often search says that nothing looks like them."""
    unsure = []
    for number in range(count):
        unsure.append(
            product_search_by_photo(
                photo=empty_photo(seed=seed * 100_003 + number).jpeg, k=K
            ).unsure
        )
        if progress:
            progress(1)
    return {"unsure": statistics.fmean(unsure), "queries": count} if unsure else {}


def _example(photo: ShopperPhoto, found: list[int]) -> dict:
    """The query photo and its top results as small JPEGs (base64, for the report)."""
    shown = found[:EXAMPLE_RESULTS]
    thumbnails = product_photos(shown)
    return {
        "products": list(photo.products),
        "photo": _thumbnail(photo.jpeg),
        "results": [
            {"product": pid, "photo": _thumbnail(thumbnails[pid]) if pid in thumbnails else ""}
            for pid in shown
        ],
    }


def _thumbnail(photo: bytes) -> str:
    with Image.open(BytesIO(photo)) as image:
        image.thumbnail((EXAMPLE_SIDE, EXAMPLE_SIDE))
        buffer = BytesIO()
        image.convert("RGB").save(buffer, "JPEG", quality=75)
    return base64.b64encode(buffer.getvalue()).decode()
