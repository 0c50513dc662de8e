"""Recommendation quality, measured as ../shared/docs/EVALUATION.md defines it.

Two tasks on whatever catalogue the database holds: the **rail** (a product's own "visually
similar" top 10, default settings, no filters) and the **photo** search (only the product's
photo bytes, through the search-by-photo code path, the product itself excluded). Ground truth
is each product's article type (its finest category) and colour. The metrics are pure
functions of the results (metrics.py), tested on hand-made catalogues.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence

from django.conf import settings
from django.db.models import F
from django.utils import timezone

from recommender.behaviour.experiments import rail_configuration_default
from recommender.documents import category_paths
from recommender.encoding import IndexOutdated
from recommender.quality import experiments as lab
from recommender.quality.looks import Look, look_of, look_score
from recommender.quality.metrics import K, QueryResult, Truth, score
from recommender.quality.progress import StageProgress, stage_counter
from recommender.quality.shopper_search import DEFAULT_SHOPPER_QUERIES, product_photos, run_shopper
from recommender.selectors import index_live, product_list_by_photo, product_list_similar
from recommender.selectors.searches import PHOTO_FEEDBACK_NEIGHBOURS, PHOTO_FEEDBACK_SHARPNESS
from shop.models import Product, ProductImage

DEFAULT_QUERIES = 2000


def catalogue_truths() -> dict[int, Truth]:
    """Article type (the product's own, finest category) and colour of every active product."""
    rows = Product.objects.filter(is_active=True).values_list("pk", F("category__name"), "colour")
    return {pk: Truth(article or "", (colour or "").lower()) for pk, article, colour in rows}


def query_sample(truths: dict[int, Truth], *, queries: int, seed: int) -> list[int]:
    """The fixed sample: the same products for every configuration compared."""
    ids = sorted(truths)
    return sorted(random.Random(seed).sample(ids, min(queries, len(ids))))


def run_rail(
    sample: Sequence[int], *, progress: Callable[[int], None] | None = None, **rail_options
) -> list[QueryResult]:
    products = Product.objects.in_bulk(list(sample))
    results = []
    for pid in sample:
        start = time.perf_counter()
        rail = product_list_similar(product=products[pid], k=K, **rail_options)
        results.append(QueryResult(pid, [r.product.pk for r in rail], time.perf_counter() - start))
        if progress:
            progress(1)
    return results


def run_photo(
    sample: Sequence[int], *, progress: Callable[[int], None] | None = None
) -> list[QueryResult]:
    products = Product.objects.prefetch_related("images").in_bulk(list(sample))
    results = []
    for pid in sample:
        image = products[pid].primary_image
        if image is None:
            continue  # no photo: not a photo query
        with image.image.open("rb") as handle:
            photo = handle.read()
        start = time.perf_counter()
        found = product_list_by_photo(photo=photo, k=K, exclude=pid)
        results.append(QueryResult(pid, [r.product.pk for r in found], time.perf_counter() - start))
        if progress:
            progress(1)
    return results


def run_other_photos(
    sample: Sequence[int], *, progress: Callable[[int], None] | None = None
) -> dict:
    """Search by each of the sample's other photos (a back view, a detail: not the primary
    one), the product not excluded: is that product found first, or in the top 10? Empty for a
    catalogue of one photo per product."""
    photos = ProductImage.objects.filter(
        product_id__in=list(sample), is_primary=False, product__is_active=True
    ).order_by("product_id", "position", "pk")
    first = top = count = 0
    for image in photos.iterator():
        with image.image.open("rb") as handle:
            photo = handle.read()
        found = [r.product.pk for r in product_list_by_photo(photo=photo, k=K)]
        count += 1
        first += found[:1] == [image.product_id]
        top += image.product_id in found
        if progress:
            progress(1)
    if not count:
        return {}
    return {"queries": count, "hit@1": first / count, f"hit@{K}": top / count}


LOOK_BATCH = 500  # photos read at a time


def product_looks(
    product_ids: Sequence[int], *, progress: Callable[[int], None] | None = None
) -> dict[int, Look]:
    """The look (dominant colour, silhouette) of each product that has a photo."""
    looks = {}
    for start in range(0, len(product_ids), LOOK_BATCH):
        batch = product_ids[start : start + LOOK_BATCH]
        looks |= {pid: look_of(photo) for pid, photo in product_photos(batch).items()}
        if progress:
            progress(len(batch))
    return looks


def evaluate(
    *,
    queries: int = DEFAULT_QUERIES,
    seed: int = 0,
    experiments: bool = True,
    shopper_queries: int = DEFAULT_SHOPPER_QUERIES,
    progress: StageProgress | None = None,
) -> dict:
    """Both tasks on the catalogue in the database: ``{"rail", "photo", "config"}``, each with
    its label and look metrics; search by the sampled products' other photos where they have
    several (``"other_photos"``: exact item first and in the top 10); search by shopper-like
    photos of the first ``shopper_queries`` sampled products (``"shopper"`` by kind,
    ``"shopper_examples"``; 0 leaves it out); and with ``experiments`` the report's sweeps and
    maps (``"weights"``, ``"pca"``, ``"maps"``).

    Raises ``EvaluationError`` when there is nothing to evaluate.
    """
    if queries < 1:
        raise EvaluationError("the sample needs at least 1 query")
    index = index_live()
    if index is None:
        raise EvaluationError("No live index: run `manage.py reindex` first.")
    truths = catalogue_truths()
    if len(truths) < 2:
        raise EvaluationError("The catalogue needs at least 2 active products to compare.")
    sample = query_sample(truths, queries=queries, seed=seed)
    figures, answers = {}, {}
    for task, run in (("rail", run_rail), ("photo", run_photo)):
        try:
            results = run(sample, progress=stage_counter(progress, task, len(sample)))
        except IndexOutdated as error:
            raise EvaluationError(str(error)) from error
        if not results:
            raise EvaluationError(f"No product in the sample can be a {task} query (no photos?).")
        figures[task] = score(results, truths).as_dict()
        answers[task] = [(result.query, result.results) for result in results]
    shown = {pid for pairs in answers.values() for query, found in pairs for pid in (query, *found)}
    looks = product_looks(sorted(shown), progress=stage_counter(progress, "looks", len(shown)))
    for task, pairs in answers.items():
        figures[task] |= look_score(pairs, looks).as_dict()
    others = ProductImage.objects.filter(product_id__in=sample, is_primary=False).count()
    if others:
        figures["other_photos"] = run_other_photos(
            sample, progress=stage_counter(progress, "other photos", others)
        )
    if shopper_queries:
        figures["shopper"], figures["shopper_examples"] = run_shopper(
            sample[:shopper_queries], truths, seed=seed, progress=progress
        )
    # The rails' configuration outside experiments: an evaluation never measures an arm.
    rails = rail_configuration_default()
    image_weight, text_weight = rails["image_weight"], rails["text_weight"]
    figures["config"] = {
        "encoder": index.encoder,
        "encoder_version": index.encoder_version,
        "index": index.pk,
        "image_weight": image_weight,
        "text_weight": text_weight,
        "candidates": rails["candidates"],
        "photo_feedback_rounds": settings.RECOMMENDER_PHOTO_FEEDBACK_ROUNDS,
        "photo_feedback_neighbours": PHOTO_FEEDBACK_NEIGHBOURS,
        "photo_feedback_sharpness": PHOTO_FEEDBACK_SHARPNESS,
        "text_field_weight": (index.text_model or {}).get("field_weight", 0.0),
        "catalogue_products": len(truths),
        "queries": len(sample),
        "shopper_queries": min(shopper_queries, len(sample)),
        "seed": seed,
        "measured_at": timezone.now().isoformat(timespec="seconds"),
    }
    if experiments:
        vectors = lab.live_vectors(index, lab.experiment_products(truths, seed=seed))
        # Over the products that have vectors (all, once indexing is complete) and, in a large
        # catalogue, over a fixed sample of them.
        known = set(vectors.ids.tolist())
        truths_known = {pid: truth for pid, truth in truths.items() if pid in known}
        sample_known = [pid for pid in sample if pid in known]
        figures["experiments"] = {"products": len(known), "queries": len(sample_known)}
        figures["weights"] = lab.weight_sweep(vectors, sample_known, truths_known, progress)
        figures["pca"] = lab.pca_sweep(
            vectors,
            sample_known,
            truths_known,
            image_weight=image_weight,
            text_weight=text_weight,
            seed=seed,
            progress=progress,
        )
        paths = category_paths()
        masters = {
            pk: paths[category][0] if category in paths else ""
            for pk, category in Product.objects.filter(is_active=True).values_list(
                "pk", "category_id"
            )
        }
        figures["maps"] = lab.maps(
            vectors, lab.map_labels(truths_known, masters), seed=seed, progress=progress
        )
    now = index_live()
    if now is None or (now.pk, now.text_fitted_at) != (index.pk, index.text_fitted_at):
        raise EvaluationError(
            "The index changed while it was being measured (a reindex or a text refit): "
            "run the evaluation again."
        )
    return figures


def summary(figures: dict) -> dict:
    """``figures`` without the maps' coordinates and the example photos (they live in the
    report's pictures)."""
    maps = [
        {key: value for key, value in entry.items() if key not in ("labels", "t-SNE", "UMAP")}
        | {
            method: {"agreement": entry[method]["agreement"]}
            for method in ("t-SNE", "UMAP")
            if method in entry
        }
        for entry in figures.get("maps", [])
    ]
    figures = {key: value for key, value in figures.items() if key != "shopper_examples"}
    return {**figures, "maps": maps} if "maps" in figures else figures


class EvaluationError(Exception):
    """The evaluation cannot run (no index, no products, a bad sample size)."""
