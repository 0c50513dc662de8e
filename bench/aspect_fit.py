"""Pad or crop? Image-only retrieval quality of each way of squaring product photos.

    .venv/bin/python -m bench.aspect_fit [--catalogue ../shared/data/fashion-dev] [--queries 2000]

Encodes every photo of the catalogue both ways with EfficientNet-Lite0 and reports, for a fixed
sample of queries (seed 0), precision@10 of exact cosine search by image alone: the share of
the 10 nearest photos with the query's article type, and with its article type and colour.
"""

from __future__ import annotations

import argparse
import csv
import random
import time
from pathlib import Path

import numpy as np

from recommender.encoders import load_encoder

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--catalogue", type=Path, default=ROOT.parent / "shared/data/fashion-dev")
    parser.add_argument("--queries", type=int, default=2000)
    args = parser.parse_args()

    with (args.catalogue / "styles.csv").open(newline="", encoding="utf-8") as handle:
        rows = [
            r
            for r in csv.DictReader(handle)
            if (args.catalogue / f"images/{r['id']}.jpg").is_file()
        ]
    photos = [
        (i, (args.catalogue / f"images/{r['id']}.jpg").read_bytes()) for i, r in enumerate(rows)
    ]
    article = np.array([r["articleType"] for r in rows])
    colour = np.array([r["baseColour"] for r in rows])
    sample = random.Random(0).sample(range(len(rows)), min(args.queries, len(rows)))

    print(f"{len(rows)} products, {len(sample)} queries, efficientnet_lite0, image only, exact\n")
    print("| fit | p10_article | p10_article_colour | encode s |\n|---|---:|---:|---:|")
    for fit in ("pad", "crop"):
        encoder = load_encoder("efficientnet_lite0", fit=fit, cache_dir=ROOT / "var/cache")
        start = time.perf_counter()
        vectors = np.zeros((len(rows), encoder.dim), np.float32)
        for batch in encoder.encode_stream(photos):
            vectors[batch.keys] = batch.vectors
        seconds = time.perf_counter() - start
        same_article, same_both = [], []
        for q in sample:
            scores = vectors @ vectors[q]
            scores[q] = -np.inf
            top = np.argpartition(-scores, 10)[:10]
            same_article.append(np.mean(article[top] == article[q]))
            same_both.append(np.mean((article[top] == article[q]) & (colour[top] == colour[q])))
        print(f"| {fit} | {np.mean(same_article):.3f} | {np.mean(same_both):.3f} | {seconds:.0f} |")


if __name__ == "__main__":
    main()
