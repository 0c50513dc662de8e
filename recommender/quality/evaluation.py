"""Recommendation quality, measured as ../shared/docs/EVALUATION.md defines it.

Two tasks on whatever catalogue the database holds: the **rail** (a product's own "visually
similar" top 10, default settings, no filters) and the **photo** search (only the product's
photo bytes, through the search-by-photo code path, the product itself excluded). Ground truth
is each product's article type (its finest category) and colour. The metrics are pure
functions of the results (``score``), so they are tested on hand-made catalogues.
"""

from __future__ import annotations

import math
import random
import statistics
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

from django.conf import settings
from django.db.models import F
from django.utils import timezone

from recommender.documents import category_paths
from recommender.encoding import IndexOutdated
from recommender.selectors import index_live, product_list_by_photo, product_list_similar
from recommender.selectors.searches import PHOTO_FEEDBACK_NEIGHBOURS, PHOTO_FEEDBACK_SHARPNESS
from shop.models import Product

K = 10
DEFAULT_QUERIES = 2000


@dataclass(frozen=True)
class Truth:
    article: str
    colour: str


@dataclass(frozen=True)
class QueryResult:
    query: int  # product id
    results: list[int]  # product ids, best first
    seconds: float


@dataclass(frozen=True)
class TaskScore:
    p10_article: float
    p10_article_colour: float
    ndcg10: float
    coverage: float
    latency_ms_median: float
    latency_ms_p95: float
    queries: int

    def as_dict(self) -> dict:
        return asdict(self)


def score(results: Sequence[QueryResult], truths: dict[int, Truth], *, k: int = K) -> TaskScore:
    """The protocol's metrics for one task. ``truths`` covers the whole catalogue.

    Precision divides by ``k`` even when a list is shorter: a missing result is a miss.
    nDCG's ideal is the best list the catalogue allows for that query (itself excluded); a
    query with no peer of its article type scores 0 (nothing right could be shown).
    """
    if not results:
        raise ValueError("no queries to score")
    pairs = Counter((t.article, t.colour) for t in truths.values())
    articles = Counter(t.article for t in truths.values())
    article_hits = colour_hits = 0
    ndcgs, seconds, shown = [], [], set()
    for result in results:
        query = truths[result.query]
        top = result.results[:k]
        gains = [_gain(query, truths[pid]) for pid in top]
        article_hits += sum(gain >= 1 for gain in gains)
        colour_hits += sum(gain == 2 for gain in gains)
        # What the catalogue could have offered, the query itself excluded (as _gain counts).
        peers = articles[query.article] - 1 if query.article else 0
        same_pair = pairs[(query.article, query.colour)] - 1 if peers and query.colour else 0
        same_article = peers - same_pair
        ideal = ([2] * same_pair + [1] * same_article + [0] * k)[:k]
        ideal_dcg = _dcg(ideal)
        ndcgs.append(_dcg(gains) / ideal_dcg if ideal_dcg else 0.0)
        seconds.append(result.seconds)
        shown.update(top)
    n = len(results)
    ms = sorted(1000 * s for s in seconds)
    return TaskScore(
        p10_article=article_hits / (k * n),
        p10_article_colour=colour_hits / (k * n),
        ndcg10=statistics.fmean(ndcgs),
        coverage=len(shown) / len(truths),
        latency_ms_median=statistics.median(ms),
        latency_ms_p95=ms[min(n - 1, math.ceil(0.95 * n) - 1)],
        queries=n,
    )


def _gain(query: Truth, other: Truth) -> int:
    """Unknown (blank) article types or colours never match, not even each other."""
    if not query.article or other.article != query.article:
        return 0
    return 2 if query.colour and other.colour == query.colour else 1


def _dcg(gains: Sequence[int]) -> float:
    return sum(gain / math.log2(rank + 2) for rank, gain in enumerate(gains))


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


# Called as progress(stage, done, total) while an evaluation runs.
StageProgress = Callable[[str, int, int], None]


def evaluate(
    *,
    queries: int = DEFAULT_QUERIES,
    seed: int = 0,
    experiments: bool = True,
    progress: StageProgress | None = None,
) -> dict:
    """Both tasks on the catalogue in the database: ``{"rail", "photo", "config"}``, and with
    ``experiments`` the report's sweeps and maps (``"weights"``, ``"pca"``, ``"maps"``).

    Raises ``EvaluationError`` when there is nothing to evaluate.
    """
    # Not at the top: the experiments import this module's metrics.
    from recommender.quality import experiments as lab

    if queries < 1:
        raise EvaluationError("the sample needs at least 1 query")
    index = index_live()
    if index is None:
        raise EvaluationError("No live index: run `manage.py reindex` first.")
    truths = catalogue_truths()
    if len(truths) < 2:
        raise EvaluationError("The catalogue needs at least 2 active products to compare.")
    sample = query_sample(truths, queries=queries, seed=seed)
    figures = {}
    for task, run in (("rail", run_rail), ("photo", run_photo)):
        try:
            results = run(sample, progress=_counter(progress, task, len(sample)))
        except IndexOutdated as error:
            raise EvaluationError(str(error)) from error
        if not results:
            raise EvaluationError(f"No product in the sample can be a {task} query (no photos?).")
        figures[task] = score(results, truths).as_dict()
    image_weight, text_weight = settings.RECOMMENDER_IMAGE_WEIGHT, settings.RECOMMENDER_TEXT_WEIGHT
    figures["config"] = {
        "encoder": index.encoder,
        "encoder_version": index.encoder_version,
        "index": index.pk,
        "image_weight": image_weight,
        "text_weight": text_weight,
        "candidates": settings.RECOMMENDER_CANDIDATES,
        "photo_feedback_rounds": settings.RECOMMENDER_PHOTO_FEEDBACK_ROUNDS,
        "photo_feedback_neighbours": PHOTO_FEEDBACK_NEIGHBOURS,
        "photo_feedback_sharpness": PHOTO_FEEDBACK_SHARPNESS,
        "text_field_weight": (index.text_model or {}).get("field_weight", 0.0),
        "catalogue_products": len(truths),
        "queries": len(sample),
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
    """``figures`` without the maps' coordinates (they live in the report's pictures)."""
    maps = [
        {key: value for key, value in entry.items() if key not in ("labels", "t-SNE", "UMAP")}
        | {
            method: {"agreement": entry[method]["agreement"]}
            for method in ("t-SNE", "UMAP")
            if method in entry
        }
        for entry in figures.get("maps", [])
    ]
    return {**figures, "maps": maps} if "maps" in figures else figures


class EvaluationError(Exception):
    """The evaluation cannot run (no index, no products, a bad sample size)."""


def _counter(progress: StageProgress | None, stage: str, total: int):
    if progress is None:
        return None
    done = 0
    progress(stage, done, total)

    def step(n: int) -> None:
        nonlocal done
        done += n
        progress(stage, done, total)

    return step
