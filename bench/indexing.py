"""Index build throughput through the shop's own code path, photos on disk to vectors in PostgreSQL.

    .venv/bin/python -m bench.indexing [--products 1024] [--encoder efficientnet_lite0]

Imports the first N fashion-dev products into a throwaway database (created and dropped on
the configured server, as the test runner does), then times ``index_build``: TF-IDF fit, photo
reads, decode, model, and the vector rows with their HNSW index written. The same photos
through ``ImageEncoder.encode`` on pre-decoded batches give the bare rate beside it.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from bench.throwaway import throwaway_shop

ROOT = Path(__file__).resolve().parents[1]


def subset_catalogue(source: Path, count: int, folder: Path) -> Path:
    """A catalogue of the first ``count`` rows of ``source``, sharing its photo folder."""
    lines = (source / "styles.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    (folder / "styles.csv").write_text("".join(lines[: count + 1]), encoding="utf-8")
    (folder / "images").symlink_to(source / "images")
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=1024)
    parser.add_argument("--encoder", default="efficientnet_lite0")
    parser.add_argument("--catalogue", type=Path, default=ROOT.parent / "shared/data/fashion-dev")
    args = parser.parse_args()

    with throwaway_shop() as work:
        import numpy as np

        from recommender import services as recommender_services
        from recommender.models import ProductEmbedding
        from shop.services import catalogue_import

        catalogue = subset_catalogue(args.catalogue, args.products, work)
        report = catalogue_import(path=catalogue)
        count = report.created
        encoder = recommender_services.encoder_load(args.encoder)

        start = time.perf_counter()
        recommender_services.index_build(encoder=args.encoder)
        build_seconds = time.perf_counter() - start
        done = ProductEmbedding.objects.filter(status="done", image__isnull=False).count()

        photos = sorted((args.catalogue / "images").glob("*.jpg"))[: args.products]
        decoded = np.stack([encoder.decode(path.read_bytes()) for path in photos])
        encoder.encode(decoded[: encoder.batch_size])  # warm-up
        start = time.perf_counter()
        encoder.encode(decoded)
        bare_rate = len(decoded) / (time.perf_counter() - start)

    build_rate = count / build_seconds
    print(f"{os.cpu_count()} cores, {count} fashion-dev products, encoder {args.encoder}")
    print("\n| what | images/s | note |\n|---|---:|---|")
    print(f"| {args.encoder} bare model, pre-decoded | {bare_rate:.1f} | |")
    print(
        f"| index_build, files to PostgreSQL | {build_rate:.1f} | "
        f"{build_seconds:.1f} s, {done} vectors, {build_rate / bare_rate:.0%} of bare |"
    )


if __name__ == "__main__":
    main()
