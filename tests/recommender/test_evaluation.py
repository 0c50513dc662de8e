"""The quality protocol (../shared/docs/EVALUATION.md): metrics with known answers, and the
`evaluate` command end to end on real fashion-dev products."""

import json
import math

import pytest
from django.core.management import CommandError, call_command

from recommender.quality.metrics import QueryResult, Truth, score

# A hand-made catalogue: 3 red shirts, 2 blue shirts, 2 red shoes, 1 bag.
TRUTHS = {
    1: Truth("shirt", "red"),
    2: Truth("shirt", "red"),
    3: Truth("shirt", "red"),
    4: Truth("shirt", "blue"),
    5: Truth("shirt", "blue"),
    6: Truth("shoe", "red"),
    7: Truth("shoe", "red"),
    8: Truth("bag", "black"),
}


def dcg(gains):
    return sum(g / math.log2(i + 2) for i, g in enumerate(gains))


def test_precision_ndcg_coverage_and_latency_by_hand():
    results = [
        # Query 1 (red shirt): red shirt, blue shirt, red shoe, then nothing (k=4 here).
        QueryResult(1, [2, 4, 6], 0.010),
        # Query 8 (the only bag): nothing of its kind exists.
        QueryResult(8, [1, 6, 7, 4], 0.030),
    ]
    got = score(results, TRUTHS, k=4)
    assert got.p10_article == pytest.approx((2 + 0) / 8)  # missing results count as misses
    assert got.p10_article_colour == pytest.approx((1 + 0) / 8)
    ideal_1 = dcg([2, 2, 1, 1])  # two other red shirts, then the blue ones
    expected_1 = dcg([2, 1, 0]) / ideal_1
    assert got.ndcg10 == pytest.approx((expected_1 + 0.0) / 2)  # no ideal: 0, not a division error
    assert got.coverage == pytest.approx(len({2, 4, 6, 1, 7}) / 8)
    assert (got.latency_ms_median, got.latency_ms_p95, got.queries) == (20.0, 30.0, 2)


def test_a_perfect_ranking_scores_one():
    perfect = score([QueryResult(4, [5, 1, 2, 3], 0.001)], TRUTHS, k=4)
    assert perfect.ndcg10 == pytest.approx(1.0)
    assert perfect.p10_article == 1.0 and perfect.p10_article_colour == 0.25


def test_unknown_article_or_colour_never_matches():
    truths = {1: Truth("", ""), 2: Truth("", ""), 3: Truth("shirt", ""), 4: Truth("shirt", "")}
    got = score([QueryResult(1, [2], 0.0), QueryResult(3, [4], 0.0)], truths, k=1)
    assert got.p10_article == 0.5  # blank types do not match each other; shirts do
    assert got.p10_article_colour == 0.0  # blank colours do not match each other
    assert got.ndcg10 == pytest.approx(0.5)  # the shirt query got its best possible list


def test_scoring_nothing_is_an_error():
    with pytest.raises(ValueError):
        score([], TRUTHS)


@pytest.mark.django_db
def test_evaluate_refuses_to_run_without_an_index():
    with pytest.raises(CommandError, match="reindex"):
        call_command("evaluate", "--queries", "5")


@pytest.mark.slow
@pytest.mark.fashion_dev
@pytest.mark.django_db
def test_evaluate_end_to_end_on_fashion_dev(fashion_dev, tmp_path):
    from recommender.services import index_build
    from shop.services import catalogue_import

    subset = tmp_path / "catalogue"
    subset.mkdir()
    lines = (fashion_dev / "styles.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    (subset / "styles.csv").write_text("".join(lines[:301]), encoding="utf-8")
    (subset / "images").symlink_to(fashion_dev / "images")
    catalogue_import(path=subset)
    index_build(encoder="efficientnet_lite0")

    out = tmp_path / "figures.json"
    report = tmp_path / "report.html"
    call_command(
        "evaluate",
        *("--queries", "40", "--shopper-queries", "12", "--seed", "1"),
        *("--json", out, "--report", report),
    )
    figures = json.loads(out.read_text())
    assert set(figures) == {
        *("rail", "photo", "shopper", "config", "experiments", "weights", "pca", "maps"),
    }
    assert figures["experiments"] == {"products": 300, "queries": 40}
    for task in ("rail", "photo"):
        assert set(figures[task]) >= {
            "p10_article",
            "p10_article_colour",
            "ndcg10",
            "coverage",
            "latency_ms_median",
            "latency_ms_p95",
            "colour_agreement",
            "shape_agreement",
        }
        assert figures[task]["queries"] == 40
        assert (
            0 < figures[task]["colour_agreement"] <= 1 and 0 < figures[task]["shape_agreement"] <= 1
        )
    # Shopper photos: every kind, 12 photos (several: 12 products in groups of two or three).
    # And as many photos with no product in them: how often search says nothing looks like them.
    shopper = figures["shopper"]
    assert list(shopper) == ["surface", "scene", "detail", "several", "nothing"]
    assert all(shopper[kind]["queries"] == 12 for kind in ("surface", "scene", "detail", "nothing"))
    assert 10 <= shopper["several"]["queries"] <= 12
    for kind in ("surface", "scene", "detail", "several"):
        row = shopper[kind]
        assert 0 <= row["hit1"] <= row["hit10"] <= 1 and 0 <= row["p10_article"] <= 1
        assert 0 <= row["unsure"] <= 1
    assert set(shopper["nothing"]) == {"unsure", "queries"}
    # The note is for photos of nothing the shop sells, far more than for photos of its products.
    assert shopper["nothing"]["unsure"] > shopper["surface"]["unsure"]
    # A product on a plain surface is found far more often than chance (1 in 300 per slot).
    assert figures["shopper"]["surface"]["hit10"] >= 0.5
    # Real products, real encoder: far better than chance (the largest type is ~15% of these).
    assert figures["rail"]["p10_article"] > 0.6 and figures["photo"]["p10_article"] > 0.5
    assert figures["config"]["encoder"] == "efficientnet_lite0"
    assert figures["config"]["catalogue_products"] == 300
    # The sweeps: every weight from 0 to 1, PCA up to the vectors as indexed, both maps.
    assert [row["image_weight"] for row in figures["weights"]] == [i / 10 for i in range(11)]
    default = next(row for row in figures["weights"] if row["image_weight"] == 0.7)
    # Exact search at the default weights agrees with the shop's HNSW path on the same sample.
    assert abs(default["p10_article"] - figures["rail"]["p10_article"]) <= 0.02
    assert figures["pca"]["rows"][-1]["components"] == 1280
    assert figures["pca"]["explained"][-1] == pytest.approx(1.0, abs=1e-4)
    assert [m["title"] for m in figures["maps"]] == ["master category", "article type in Apparel"]
    assert all(0 < m["UMAP"]["agreement"] <= 1 for m in figures["maps"])
    html = report.read_text()
    assert "Recommendation quality" in html and html.count("data:image/png;base64,") == 4
    # The shopper-photo examples: 3 per kind, each the query photo and its top 5.
    assert "Search by a shopper's photo" in html
    assert html.count('<img class="query" src="data:image/jpeg;base64,') == 12
    assert "http" not in html.replace("http-equiv", "")  # self-contained: nothing fetched


def test_split_catalogue_writes_one_half_by_id_and_links_the_photos(tmp_path):
    from recommender.quality.splits import split_of

    source = tmp_path / "catalogue"
    (source / "images").mkdir(parents=True)
    ids = [str(n) for n in range(1000, 1200)]
    rows = "".join(
        f"{i},Men,Apparel,Topwear,Tshirts,Blue,Summer,2012,Casual,Shirt {i}\n" for i in ids
    )
    header = "id,gender,masterCategory,subCategory,articleType,baseColour,season,year,usage,"
    (source / "styles.csv").write_text(header + "productDisplayName\n" + rows, encoding="utf-8")
    halves = {}
    for split in ("tuning", "held-out"):
        call_command("split_catalogue", source, split, tmp_path / split)
        lines = (tmp_path / split / "styles.csv").read_text(encoding="utf-8").splitlines()
        assert lines[0].startswith("id,gender")
        halves[split] = {line.split(",")[0] for line in lines[1:]}
        assert all(split_of(i) == split for i in halves[split])
        assert (tmp_path / split / "images").resolve() == (source / "images").resolve()
    assert halves["tuning"] | halves["held-out"] == set(ids)
    assert 70 < len(halves["held-out"]) < 130  # about half
    with pytest.raises(CommandError, match="exists already"):
        call_command("split_catalogue", source, "tuning", tmp_path / "tuning")


def test_split_catalogue_copies_kaggle_quirks_as_they_are(tmp_path):
    from recommender.quality.splits import split_of

    source = tmp_path / "catalogue"
    (source / "images").mkdir(parents=True)
    header = "id,gender,masterCategory,subCategory,articleType,baseColour,season,year,usage,"
    # A byte-order mark, and a title with an unquoted comma (the Kaggle file has both).
    rows = [
        f"{i},Men,Apparel,Topwear,Tshirts,Blue,Summer,2012,Casual,Tee, slim {i}\n"
        for i in range(40)
    ]
    text = "\ufeff" + header + "productDisplayName\n" + "".join(rows)
    (source / "styles.csv").write_text(text, encoding="utf-8")
    call_command("split_catalogue", source, "held-out", tmp_path / "out")
    lines = (tmp_path / "out" / "styles.csv").read_text(encoding="utf-8").splitlines()
    expected = [r.rstrip("\n") for r in rows if split_of(r.split(",")[0]) == "held-out"]
    assert lines[1:] == expected and lines[0].startswith("id,")
