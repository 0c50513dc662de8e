"""The report's experiments, on the live index's own vectors with exact (brute-force) cosine:

- the image/text weight sweep of the rail, 0 to 1 in steps of 0.1;
- PCA of the image vectors: cumulative explained variance and rail quality per component count;
- 2-D maps (t-SNE, UMAP) of the image vectors, by master category and, for the largest master
  category, by article type, each with a number for how clean its clusters are.

Exact search here, so that a sweep measures the ranking and not the HNSW approximation; the
headline figures (``evaluation.run_rail``) go through the shop's own indexed code path.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from dataclasses import dataclass

import numpy as np
from scipy import sparse

from recommender.models import ProductEmbedding, VectorIndex
from recommender.quality.metrics import K, QueryResult, Truth, score

WEIGHTS = [round(0.1 * step, 1) for step in range(11)]
PCA_COMPONENTS = (2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)
PCA_FIT_MAX_PRODUCTS = 20_000  # PCA is fitted on a sample of a large catalogue
MAP_MAX_PRODUCTS = 6_000  # t-SNE and UMAP take minutes beyond this on two cores
MAP_NEIGHBOURS = 10
EXPERIMENT_MAX_PRODUCTS = 20_000
QUERY_CHUNK = 256  # queries scored at once: bounds memory on large catalogues
QUALITY = ("p10_article", "p10_article_colour", "ndcg10", "coverage")


@dataclass(frozen=True)
class Vectors:
    """The live index's vectors of every active product, rows in ``ids`` order."""

    ids: np.ndarray  # product ids, ascending
    image: np.ndarray  # (n, d) unit rows; zeros for a product without an image vector
    text: sparse.csr_matrix  # (n, D) unit rows; empty for a product without text

    def rows(self, product_ids) -> np.ndarray:
        wanted = np.asarray(product_ids)
        rows = np.minimum(np.searchsorted(self.ids, wanted), max(len(self.ids) - 1, 0))
        if len(self.ids) == 0 or not np.array_equal(self.ids[rows], wanted):
            raise ValueError("some products have no vectors in this index")
        return rows


def experiment_products(product_ids, *, seed: int = 0) -> list[int]:
    """The catalogue the experiments run on: all of it, or a fixed sample of a large one
    (exact search over every product for every query and setting would take hours)."""
    product_ids = sorted(product_ids)
    if len(product_ids) <= EXPERIMENT_MAX_PRODUCTS:
        return product_ids
    return sorted(random.Random(seed).sample(product_ids, EXPERIMENT_MAX_PRODUCTS))


def live_vectors(index: VectorIndex, product_ids=None) -> Vectors:
    """The vectors of ``index`` for its active products (only ``product_ids``, if given)."""
    embeddings = ProductEmbedding.objects.filter(index=index, product__is_active=True).order_by(
        "product_id"
    )
    if product_ids is not None:
        embeddings = embeddings.filter(product_id__in=list(product_ids))
    ids, images, texts = [], [], []
    for product_id, image, text in embeddings.values_list("product_id", "image", "text"):
        ids.append(product_id)
        images.append(image)
        texts.append(text)
    dim = next((len(image) for image in images if image is not None), 1)
    image = np.zeros((len(ids), dim), np.float32)
    for row, vector in enumerate(images):
        if vector is not None:
            image[row] = vector
    text_rows = [t.to_coo().tocsr() if t is not None else None for t in texts]
    width = next((t.shape[1] for t in text_rows if t is not None), 1)
    empty = sparse.csr_matrix((1, width), dtype=np.float32)
    text = sparse.vstack([t if t is not None else empty for t in text_rows], format="csr")
    return Vectors(np.asarray(ids), image, text.astype(np.float32))


def exact_rail(
    vectors: Vectors,
    sample,
    *,
    image_weight: float,
    text_weight: float,
    image: np.ndarray | None = None,
) -> list[QueryResult]:
    """The rail of each sampled product by exact weighted cosine (``image``: other vectors)."""
    image = vectors.image if image is None else image
    results = []
    rows = vectors.rows(sample)
    for start in range(0, len(rows), QUERY_CHUNK):
        chunk = rows[start : start + QUERY_CHUNK]
        began = time.perf_counter()
        scores = np.zeros((len(chunk), len(vectors.ids)), np.float32)
        if image_weight:
            scores += image_weight * (image[chunk] @ image.T)
        if text_weight:
            scores += text_weight * (vectors.text[chunk] @ vectors.text.T).toarray()
        scores[np.arange(len(chunk)), chunk] = -np.inf  # never the product itself
        k = min(K, len(vectors.ids) - 1)
        top = np.argpartition(-scores, k - 1, axis=1)[:, :k]
        order = np.argsort(-np.take_along_axis(scores, top, axis=1), axis=1, kind="stable")
        top = np.take_along_axis(top, order, axis=1)
        seconds = (time.perf_counter() - began) / len(chunk)
        results += [
            QueryResult(int(vectors.ids[row]), vectors.ids[found].tolist(), seconds)
            for row, found in zip(chunk, top, strict=True)
        ]
    return results


def _quality(results, truths) -> dict:
    scored = score(results, truths).as_dict()
    return {name: scored[name] for name in QUALITY}


def weight_sweep(vectors: Vectors, sample, truths: dict[int, Truth], progress=None) -> list[dict]:
    rows = []
    for step, weight in enumerate(WEIGHTS):
        results = exact_rail(vectors, sample, image_weight=weight, text_weight=round(1 - weight, 1))
        rows.append({"image_weight": weight, **_quality(results, truths)})
        if progress:
            progress("weights", step + 1, len(WEIGHTS))
    return rows


def pca_sweep(
    vectors: Vectors,
    sample,
    truths: dict[int, Truth],
    *,
    image_weight: float,
    text_weight: float,
    seed: int = 0,
    progress=None,
) -> dict | None:
    """Rail quality with the image vectors kept to ``c`` PCA components, image alone and in
    the hybrid, for a range of ``c``; the last row is the vectors as indexed.

    ``explained`` is the cumulative explained variance by component count (1-based).
    """
    from sklearn.decomposition import PCA

    has_image = np.flatnonzero(np.linalg.norm(vectors.image, axis=1) > 0)
    if len(has_image) < 2:
        return None  # nothing to decompose: no product has a photo vector
    rng = np.random.default_rng(seed)
    fit_rows = (
        np.sort(rng.choice(has_image, PCA_FIT_MAX_PRODUCTS, replace=False))
        if len(has_image) > PCA_FIT_MAX_PRODUCTS
        else has_image
    )
    most = min(len(fit_rows), vectors.image.shape[1])
    pca = PCA(n_components=most, svd_solver="full").fit(vectors.image[fit_rows])
    explained = np.cumsum(pca.explained_variance_ratio_)
    coordinates = pca.transform(vectors.image[has_image]).astype(np.float32)
    for_90 = int(np.searchsorted(explained, 0.90) + 1)
    counts = sorted({c for c in PCA_COMPONENTS if c < most} | {min(for_90, most)})

    def kept(count: int) -> np.ndarray:
        # Rebuilt from ``count`` components, the mean added back: only information is lost,
        # cosine is measured as on the index's own vectors (all components give them back).
        rebuilt = np.zeros_like(vectors.image)
        rebuilt[has_image] = coordinates[:, :count] @ pca.components_[:count] + pca.mean_
        return _unit(rebuilt)

    rows = []
    for step, count in enumerate([*counts, None]):
        if count is None:  # the vectors as indexed, no PCA
            reduced, variance = vectors.image, 1.0
        else:
            reduced = kept(count)
            variance = float(explained[count - 1])
        row = {"components": count or vectors.image.shape[1], "pca": count is not None}
        row["explained_variance"] = variance
        row["image_only"] = _quality(
            exact_rail(vectors, sample, image_weight=1.0, text_weight=0.0, image=reduced), truths
        )
        row["hybrid"] = _quality(
            exact_rail(
                vectors, sample, image_weight=image_weight, text_weight=text_weight, image=reduced
            ),
            truths,
        )
        rows.append(row)
        if progress:
            progress("pca", step + 1, len(counts) + 1)
    return {
        "explained": [round(float(v), 5) for v in explained],
        "components_for_90": for_90,
        "fitted_on": len(fit_rows),
        "rows": rows,
    }


def maps(
    vectors: Vectors, labels: dict[str, dict[int, str]], *, seed: int = 0, progress=None
) -> list[dict]:
    """t-SNE and UMAP maps of the image vectors, one pair per labelling.

    ``labels`` maps a title ("master category", "article type in Apparel") to product labels;
    products without a label or an image vector are left out. Each map carries its
    ``agreement``: the share of a product's 10 nearest neighbours on the map with its label,
    beside the same share in the original vectors (what a map can at best show).
    """
    from sklearn.decomposition import PCA
    from sklearn.manifold import TSNE

    rng = np.random.default_rng(seed)
    result = []
    steps = 2 * len(labels)
    for number, (title, labelled) in enumerate(labels.items()):
        has_image = np.linalg.norm(vectors.image, axis=1) > 0
        rows = np.flatnonzero(has_image & np.isin(vectors.ids, list(labelled)))
        if len(rows) > MAP_MAX_PRODUCTS:
            rows = np.sort(rng.choice(rows, MAP_MAX_PRODUCTS, replace=False))
        if len(rows) < MAP_NEIGHBOURS + 2:
            continue
        points = vectors.image[rows]
        names = [labelled[int(pid)] for pid in vectors.ids[rows]]
        entry = {"title": title, "labels": names, "products": len(rows)}
        entry["agreement_original"] = _agreement(points, names, metric="cosine")
        reduced = PCA(n_components=min(50, len(rows) - 1, points.shape[1])).fit_transform(points)
        perplexity = min(30.0, (len(rows) - 1) / 3)
        tsne = TSNE(perplexity=perplexity, init="pca", random_state=seed).fit_transform(reduced)
        if progress:
            progress("maps", 2 * number + 1, steps)
        embedding = _umap(points, seed)
        if progress:
            progress("maps", 2 * number + 2, steps)
        for method, coords in (("t-SNE", tsne), ("UMAP", embedding)):
            entry[method] = {
                "coords": np.round(coords, 3).tolist(),
                "agreement": _agreement(coords, names, metric="euclidean"),
            }
        result.append(entry)
    return result


def _umap(points: np.ndarray, seed: int) -> np.ndarray:
    import umap  # imports numba: seconds, so only when a map is drawn

    neighbours = min(15, len(points) - 1)
    reducer = umap.UMAP(
        n_neighbors=neighbours, min_dist=0.1, metric="cosine", random_state=seed, n_jobs=1
    )
    return reducer.fit_transform(points)


def _agreement(points: np.ndarray, names: list[str], *, metric: str) -> float:
    """Share of each point's nearest neighbours that carry its label, averaged."""
    from sklearn.neighbors import NearestNeighbors

    k = min(MAP_NEIGHBOURS, len(points) - 1)
    finder = NearestNeighbors(n_neighbors=k, metric=metric).fit(points)
    _, found = finder.kneighbors()  # no argument: each point is left out of its own neighbours
    label = np.asarray(names)
    return float((label[found] == label[:, None]).mean())


def map_labels(truths: dict[int, Truth], masters: dict[int, str]) -> dict[str, dict[int, str]]:
    """Master category for every product; article type within the largest master category."""
    largest = Counter(m for m in masters.values() if m).most_common(1)
    labels = {"master category": {pid: m for pid, m in masters.items() if m}}
    if largest:
        name = largest[0][0]
        labels[f"article type in {name}"] = {
            pid: truths[pid].article
            for pid, master in masters.items()
            if master == name and pid in truths and truths[pid].article
        }
    return labels


def _unit(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)
