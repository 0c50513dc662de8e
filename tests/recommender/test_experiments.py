"""The report's experiments on hand-made vectors with known answers."""

import numpy as np
import pytest
from scipy import sparse

from recommender.quality import experiments as lab
from recommender.quality import report
from recommender.quality.evaluation import summary
from recommender.quality.metrics import Truth

# Six products: images pair 1-2, 3-4, 5-6; texts pair 1-3, 2-4, 5-6. Articles follow the text.
IDS = np.array([1, 2, 3, 4, 5, 6])
IMAGE = np.array([[1, 0, 0], [1, 0.1, 0], [0, 1, 0], [0, 1, 0.1], [0, 0, 1], [0.1, 0, 1]])
TEXT = np.array([[1, 0, 0], [0, 1, 0], [1, 0.1, 0], [0, 1, 0.1], [0, 0, 1], [0, 0.1, 1]])
TRUTHS = {
    1: Truth("shirt", "red"),
    2: Truth("shoe", "red"),
    3: Truth("shirt", "blue"),
    4: Truth("shoe", "blue"),
    5: Truth("bag", "black"),
    6: Truth("bag", "black"),
}


def unit(rows):
    rows = np.asarray(rows, np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


VECTORS = lab.Vectors(IDS, unit(IMAGE), sparse.csr_matrix(unit(TEXT)))


def first_results(results):
    return {r.query: r.results[0] for r in results}


def test_exact_rail_follows_the_weights_and_never_returns_the_query():
    by_image = lab.exact_rail(VECTORS, IDS, image_weight=1.0, text_weight=0.0)
    by_text = lab.exact_rail(VECTORS, IDS, image_weight=0.0, text_weight=1.0)
    assert first_results(by_image) == {1: 2, 2: 1, 3: 4, 4: 3, 5: 6, 6: 5}
    assert first_results(by_text) == {1: 3, 2: 4, 3: 1, 4: 2, 5: 6, 6: 5}
    assert all(r.query not in r.results and len(r.results) == 5 for r in by_image)


def test_weight_sweep_measures_each_weighting():
    rows = lab.weight_sweep(VECTORS, IDS, TRUTHS)
    assert [row["image_weight"] for row in rows] == lab.WEIGHTS
    text_only, image_only = rows[0], rows[-1]
    # Every list holds the whole (tiny) catalogue, so only the order tells: the text puts each
    # product's one same-type peer first, the image only for the bags.
    assert text_only["ndcg10"] == pytest.approx(1.0)
    assert image_only["ndcg10"] < 0.8
    assert text_only["p10_article"] == image_only["p10_article"] == pytest.approx(0.1)


def test_pca_sweep_finds_the_components_that_matter():
    rng = np.random.default_rng(0)
    basis = np.linalg.qr(rng.normal(size=(16, 3)))[0].T  # 3 directions in 16 dimensions
    points = unit(rng.normal(size=(40, 3)) * [5, 2, 0.2] @ basis + 3 * basis[0])
    ids = np.arange(1, 41)
    truths = {int(i): Truth(f"type{i % 4}", "red") for i in ids}
    vectors = lab.Vectors(ids, points, sparse.csr_matrix(unit(np.eye(40)[:, :16] + 1e-3)))
    result = lab.pca_sweep(vectors, ids[:10], truths, image_weight=0.7, text_weight=0.3)
    assert result["explained"][2] == pytest.approx(1.0, abs=1e-4)  # three directions hold it all
    assert result["components_for_90"] <= 2
    by_count = {row["components"]: row for row in result["rows"] if row["pca"]}
    raw = result["rows"][-1]
    assert not raw["pca"] and raw["components"] == 16
    # Rebuilt from the three real directions, the vectors rank exactly as the originals.
    assert by_count[4]["image_only"] == raw["image_only"]
    assert by_count[4]["hybrid"] == raw["hybrid"]


@pytest.mark.slow  # UMAP compiles with numba on first use
def test_maps_of_separate_groups_keep_them_apart_and_the_report_draws_them():
    rng = np.random.default_rng(1)
    centres = np.eye(8)[:3] * 4
    points = unit(np.repeat(centres, 30, axis=0) + rng.normal(scale=0.3, size=(90, 8)) + 1)
    ids = np.arange(1, 91)
    vectors = lab.Vectors(ids, points, sparse.csr_matrix((90, 4), dtype=np.float32))
    labels = {"group": {int(i): f"g{(i - 1) // 30}" for i in ids}}
    (entry,) = lab.maps(vectors, labels)
    assert entry["agreement_original"] == pytest.approx(1.0)
    assert entry["t-SNE"]["agreement"] > 0.9 and entry["UMAP"]["agreement"] > 0.9
    assert len(entry["UMAP"]["coords"]) == 90

    headline = {"p10_article": 0.5, "p10_article_colour": 0.2, "ndcg10": 0.4, "coverage": 0.9}
    headline |= {"latency_ms_median": 10.0, "latency_ms_p95": 20.0}
    config = {"queries": 6, "seed": 0, "catalogue_products": 6, "encoder": "x"}
    config |= {"encoder_version": "1", "measured_at": "now", "image_weight": 0.7}
    figures = {"rail": headline, "photo": headline, "config": config, "maps": [entry]}
    figures["weights"] = lab.weight_sweep(VECTORS, IDS, TRUTHS)
    html = report.render(figures)
    assert html.count("data:image/png;base64,") == 2  # the weights; the map (both panels)
    assert "neighbour agreement" in html.lower()
    slim = summary(figures)
    assert "coords" not in str(slim["maps"]) and slim["maps"][0]["UMAP"]["agreement"] > 0.9


def test_labels_with_dollar_signs_are_drawn_as_text_not_math():
    """A category named like matplotlib math ("$\\frac{$") once failed every report."""
    names = ["$\\frac{$", "Socks $5$", "Shirts"] * 4
    coords = [[float(i), float(i % 3)] for i in range(len(names))]
    entry = {"title": "$\\frac{$ and friends", "labels": names, "products": len(names)}
    entry |= {"agreement_original": 0.5}
    entry |= {method: {"coords": coords, "agreement": 0.5} for method in ("t-SNE", "UMAP")}
    headline = {"p10_article": 0.5, "p10_article_colour": 0.2, "ndcg10": 0.4, "coverage": 0.9}
    headline |= {"latency_ms_median": 10.0, "latency_ms_p95": 20.0}
    config = {"queries": 6, "seed": 0, "catalogue_products": 6, "encoder": "x"}
    config |= {"encoder_version": "1", "measured_at": "now", "image_weight": 0.7}
    figures = {"rail": headline, "photo": headline, "config": config, "maps": [entry]}
    html = report.render(figures)
    assert "Map: $\\frac{$ and friends" in html
    assert html.count("data:image/png;base64,") == 1
