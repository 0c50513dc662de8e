"""Several photos per product: what search by photo and the rails get from them.

    .venv/bin/python -m bench.several_photos --products 100

Draws a catalogue of home goods with three photos each (a front view, a turned and nearer view,
a close-up: shop/sample_catalogue.py), imports it through the Shopify path into a throwaway
database and indexes it with EfficientNet-Lite0. Then:

- **search by a product's other photos** (``evaluate``'s "other photos" task): the product
  first, and in the top 10, with and without the other photos' vectors;
- **rails by image alone** (exact cosine over every product, k = 10), ranking products by their
  primary photos, by the mean of all their photos, or by the closest pair of photos: the share
  of the top 10 in the query's category (p10_article) and in its category and colour.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from bench.throwaway import throwaway_shop

K = 10


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=100)
    parser.add_argument("--encoder", default="auto", help="the index's encoder")
    args = parser.parse_args()

    with throwaway_shop() as work:
        from recommender.models import PhotoEmbedding, ProductEmbedding
        from recommender.quality.evaluation import run_other_photos
        from recommender.selectors import searches
        from recommender.services import index_build
        from shop.models import Product
        from shop.sample_catalogue import write_sample_shopify_catalogue
        from shop.services import catalogue_import

        started = time.monotonic()
        csv_path = write_sample_shopify_catalogue(work / "home", products=args.products)
        catalogue_import(path=csv_path)
        index = index_build(encoder=args.encoder)
        print(
            f"{args.products} products drawn, imported and indexed in "
            f"{time.monotonic() - started:.0f} s",
            flush=True,
        )
        sample = sorted(Product.objects.values_list("pk", flat=True))
        with_others = run_other_photos(sample)
        closest = searches._closest_other_photo
        searches._closest_other_photo = lambda *a: None  # primary photos only
        try:
            without = run_other_photos(sample)
        finally:
            searches._closest_other_photo = closest

        truths = {
            pk: (category, colour)
            for pk, category, colour in Product.objects.values_list("pk", "category_id", "colour")
        }
        primary = {
            pk: vector
            for pk, vector in ProductEmbedding.objects.filter(index=index).values_list(
                "product_id", "image"
            )
        }
        photos: dict[int, list[np.ndarray]] = {pk: [v] for pk, v in primary.items()}
        for pk, vector in PhotoEmbedding.objects.filter(index=index).values_list(
            "product_id", "image"
        ):
            photos[pk].append(vector)
        ids = sorted(primary)
        rails = {
            "primary photo (the shop's rails)": rail_scores(
                ids, truths, unit(np.stack([primary[pk] for pk in ids]))
            ),
            "mean of all photos": rail_scores(
                ids, truths, unit(np.stack([unit(np.stack(photos[pk])).mean(0) for pk in ids]))
            ),
            "closest pair of photos": closest_pair_scores(ids, truths, photos),
        }

    print(f"\n{args.products} drawn home goods, 3 photos each, {index.encoder}, 2 cores\n")
    print("| search by a product's other photo | photos | the product first | in the top 10 |")
    print("|---|---:|---:|---:|")
    for name, figures in (("primary photos only", without), ("every photo", with_others)):
        print(
            f"| {name} | {figures['queries']} | {figures['hit@1']:.3f} | {figures['hit@10']:.3f} |"
        )
    print("\n| rail by image alone, ranking by | p10_article | p10_article_colour |")
    print("|---|---:|---:|")
    for name, (article, colour) in rails.items():
        print(f"| {name} | {article:.3f} | {colour:.3f} |")


def unit(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    return vectors / np.linalg.norm(vectors, axis=-1, keepdims=True)


def rail_scores(ids, truths, vectors: np.ndarray) -> tuple[float, float]:
    similarity = vectors @ vectors.T
    np.fill_diagonal(similarity, -np.inf)
    return _precision(ids, truths, similarity)


def closest_pair_scores(ids, truths, photos) -> tuple[float, float]:
    stacked = [unit(np.stack(photos[pk])) for pk in ids]
    flat = np.concatenate(stacked)
    owner = np.concatenate([[i] * len(s) for i, s in enumerate(stacked)])
    pairs = flat @ flat.T
    similarity = np.full((len(ids), len(ids)), -np.inf, dtype=np.float32)
    for i in range(len(ids)):
        rows = pairs[owner == i].max(axis=0)
        np.maximum.at(similarity[i], owner, rows)
    np.fill_diagonal(similarity, -np.inf)
    return _precision(ids, truths, similarity)


def _precision(ids, truths, similarity) -> tuple[float, float]:
    top = np.argsort(-similarity, axis=1)[:, :K]
    article = colour = 0.0
    for i, row in enumerate(top):
        category, shade = truths[ids[i]]
        found = [truths[ids[j]] for j in row]
        article += sum(c == category for c, _ in found) / K
        colour += sum(c == category and s == shade for c, s in found) / K
    return article / len(ids), colour / len(ids)


if __name__ == "__main__":
    main()
