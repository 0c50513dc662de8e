"""Reads from the vector index: "visually similar" rails and search by photo.

The score of a product for a query is ``w_image * image cosine + w_text * text cosine``
(0.7 / 0.3 by default). Each HNSW index (image, text) proposes its nearest neighbours under
the same filters, and the union is ranked exactly by the weighted score. A product without an
image vector scores on text alone, in its own rail and in others'.

A shopper's photo has no text, so search by photo borrows it: the text of the catalogue
products the photo most resembles, weighted by how closely (pseudo-relevance feedback), then
ranks with the same weighted score. The catalogue's own categories and colours, not the
photo's, steer the results (docs/evaluation/README.md has the figures).
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass

import numpy as np
from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, FloatField, OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Cast, Coalesce
from pgvector import SparseVector, Vector
from pgvector.django import CosineDistance, MaxInnerProduct

from recommender import text_model
from recommender.encoders.preprocessing import Box
from recommender.models import IMAGE_INDEX_FIELDS, TEXT_DIMENSIONS, ProductEmbedding, VectorIndex
from recommender.services import encoder_for, sparse_vector
from shop.models import Product
from shop.selectors import NO_FILTERS, ProductFilters


@dataclass(frozen=True)
class SimilarProduct:
    product: Product
    score: float
    image_score: float
    text_score: float
    image_weight: float = 0.0
    text_weight: float = 0.0

    @property
    def image_share(self) -> float:
        """How much of the score the photos gave (the rest came from the text), 0 to 1."""
        image_part = self.image_weight * max(self.image_score, 0.0)
        text_part = self.text_weight * max(self.text_score, 0.0)
        return image_part / (image_part + text_part) if image_part + text_part > 0 else 0.0

    @property
    def text_share(self) -> float:
        return 1.0 - self.image_share if self.image_share or self.text_score > 0 else 0.0


def live_index() -> VectorIndex | None:
    return VectorIndex.objects.filter(state=VectorIndex.State.LIVE).first()


def similar_products(
    *,
    product: Product,
    k: int = 10,
    image_weight: float | None = None,
    text_weight: float | None = None,
    filters: ProductFilters = NO_FILTERS,
) -> list[SimilarProduct]:
    """The ``k`` best products for ``product``'s rail, never the product itself."""
    index = live_index()
    query = index and ProductEmbedding.objects.filter(index=index, product=product).first()
    if not query:
        return []
    image_weight = settings.RECOMMENDER_IMAGE_WEIGHT if image_weight is None else image_weight
    text_weight = settings.RECOMMENDER_TEXT_WEIGHT if text_weight is None else text_weight
    image = np.asarray(query.image, np.float32) if query.image is not None else None
    text = query.text if text_weight else None
    return _ranked(
        index,
        image if image_weight else None,
        text,
        k,
        image_weight,
        text_weight,
        filters,
        exclude=product.pk,
    )


def products_by_photo(
    *,
    photo: bytes,
    box: Box | None = None,
    k: int = 10,
    filters: ProductFilters = NO_FILTERS,
    exclude: int | None = None,
    borrow_text: bool = True,
) -> list[SimilarProduct]:
    """The ``k`` products that look most like ``photo`` (bytes; never stored).

    ``box`` limits the query to that region of the photo (fractions: left, top, width, height).
    ``borrow_text=False`` ranks by the photo alone (image cosine is then the score).
    Raises ``recommender.encoders.UnreadableImage`` for bytes that are not a photo.
    """
    index = live_index()
    if index is None:
        return []
    image = encoder_for(index).encode_bytes(photo, box)
    image_weight, text_weight = settings.RECOMMENDER_IMAGE_WEIGHT, settings.RECOMMENDER_TEXT_WEIGHT
    text = None
    rounds = settings.RECOMMENDER_PHOTO_FEEDBACK_ROUNDS if borrow_text and text_weight else 0
    for _ in range(rounds):
        weights = (image_weight, text_weight) if text else (1.0, 0.0)
        nearest = _top(index, image, text, PHOTO_FEEDBACK_NEIGHBOURS, *weights, filters, exclude)
        text = _borrowed_text(index, nearest) or text
    if text is None:
        return _ranked(index, image, None, k, 1.0, 0.0, filters, exclude=exclude)
    return _ranked(index, image, text, k, image_weight, text_weight, filters, exclude=exclude)


# The photo's text is that of its nearest products, each weighted exp(SHARPNESS * (score - 1)):
# the closest few dominate. Both chosen on the tuning half of fashion-dev (evaluation report).
PHOTO_FEEDBACK_NEIGHBOURS = 10
PHOTO_FEEDBACK_SHARPNESS = 30.0


def _borrowed_text(index: VectorIndex, nearest: list[tuple]) -> SparseVector | None:
    weights = {
        product_id: math.exp(PHOTO_FEEDBACK_SHARPNESS * (score - 1.0))
        for product_id, score, *_ in nearest
    }
    texts = ProductEmbedding.objects.filter(
        index=index, product_id__in=weights, text__isnull=False
    ).values_list("product_id", "text")
    total: dict[int, float] = defaultdict(float)
    for product_id, text in texts:
        for dimension, value in zip(text.indices(), text.values(), strict=True):
            total[dimension] += weights[product_id] * value
    norm = math.sqrt(sum(value * value for value in total.values()))
    if not norm:
        return None
    return SparseVector({d: v / norm for d, v in total.items()}, TEXT_DIMENSIONS)


def products_by_text(
    *, text: str, k: int = 10, filters: ProductFilters = NO_FILTERS
) -> list[SimilarProduct]:
    """The ``k`` products whose text is closest to ``text`` in the index's TF-IDF space.

    Catches what full-text search misses (partial words are not stemmed matches, but
    catalogue words such as colours and categories still count).
    """
    index = live_index()
    if index is None or not index.text_model:
        return []
    row = text_model.transform(index.text_model, [text])[0]
    if not row.nnz:
        return []
    query = dict(zip(row.indices.tolist(), row.data.tolist(), strict=True))
    # Candidates come from an exact scan, not the HNSW index: a typed query shares a few rare
    # words with a few products and is orthogonal to all the rest, a flat landscape in which a
    # graph search gets lost. The inner product with a words-only query touches only the
    # words. The candidates are then ranked by their words alone: a stored vector also holds
    # its field tokens, which would favour products with fewer fields (no category, colour).
    candidates = max(k, settings.RECOMMENDER_CANDIDATES)
    text_query = Cast(Value(sparse_vector(row).to_text()), ProductEmbedding._meta.get_field("text"))
    stored = (
        ProductEmbedding.objects.filter(
            filters.as_q(prefix="product__"), index=index, product__is_active=True
        )
        .filter(text__isnull=False)
        .annotate(distance=MaxInnerProduct("text", text_query))
        .filter(distance__lt=0)  # shares at least one word
        .order_by("distance", "product_id")
        .values_list("product_id", "text")[:candidates]
    )
    words = text_model.word_dimensions(index.text_model)
    scored = []
    for product_id, vector in stored:
        similarity = words_similarity(query, vector, words=words)
        scored.append((product_id, similarity, 0.0, similarity))
    best = sorted(scored, key=lambda row: (-row[1], row[0]))[:k]
    return _with_products(best, 0.0, 1.0)


def words_similarity(query: dict[int, float], vector: SparseVector, *, words: int) -> float:
    """Cosine of a typed query (unit, words only) with the words part of a stored vector."""
    pairs = [(d, v) for d, v in zip(vector.indices(), vector.values(), strict=True) if d < words]
    norm = math.sqrt(sum(v * v for _, v in pairs))
    return sum(query.get(d, 0.0) * v for d, v in pairs) / norm if norm else 0.0


def products_you_may_like(*, products: list[Product], k: int = 10) -> list[SimilarProduct]:
    """Products like any of ``products`` (a cart), best first, none of ``products`` themselves."""
    chosen = {product.pk for product in products}
    best: dict[int, SimilarProduct] = {}
    for product in products[:5]:
        for similar in similar_products(product=product, k=k + len(chosen)):
            known = best.get(similar.product.pk)
            if similar.product.pk not in chosen and (known is None or similar.score > known.score):
                best[similar.product.pk] = similar
    return sorted(best.values(), key=lambda similar: -similar.score)[:k]


def _ranked(index, image, text, k, image_weight, text_weight, filters, *, exclude):
    top = _top(index, image, text, k, image_weight, text_weight, filters, exclude)
    return _with_products(top, image_weight, text_weight)


def _with_products(top: list[tuple], image_weight: float, text_weight: float):
    """``SimilarProduct`` for each ``(product_id, score, image_score, text_score)``, in order."""
    products = (
        Product.objects.select_related("category")
        .prefetch_related("images")
        .in_bulk([product_id for product_id, *_ in top])
    )
    return [
        SimilarProduct(products[product_id], score, image, text, image_weight, text_weight)
        for product_id, score, image, text in top
    ]


def _top(index, image, text, k, image_weight, text_weight, filters, exclude) -> list[tuple]:
    """``(product_id, score, image_score, text_score)`` of the ``k`` best, best first."""
    embeddings = ProductEmbedding.objects.filter(
        filters.as_q(prefix="product__"), index=index, product__is_active=True
    )
    if exclude is not None:
        embeddings = embeddings.exclude(product_id=exclude)
    image_field, _ = IMAGE_INDEX_FIELDS[index.encoder]
    indexed_image = Cast("image", image_field)
    image_query = Cast(Value(Vector(image).to_text()), image_field) if image is not None else None
    text_query = (
        Cast(Value(text.to_text()), ProductEmbedding._meta.get_field("text")) if text else None
    )
    candidates_per_index = max(k, settings.RECOMMENDER_CANDIDATES)

    candidates: set[int] = set()
    with transaction.atomic(), connection.cursor() as cursor:
        # Filtered HNSW scans keep going until they find enough rows (pgvector >= 0.8).
        cursor.execute("SET LOCAL hnsw.iterative_scan = relaxed_order")
        cursor.execute("SET LOCAL hnsw.ef_search = %s", [max(candidates_per_index, 40)])
        if image_query is not None:
            candidates.update(
                embeddings.filter(encoder=index.encoder, image__isnull=False)
                .order_by(CosineDistance(indexed_image, image_query))
                .values_list("product_id", flat=True)[:candidates_per_index]
            )
        if text_query is not None:
            candidates.update(
                embeddings.filter(text__isnull=False)
                .order_by(CosineDistance("text", text_query))
                .values_list("product_id", flat=True)[:candidates_per_index]
            )
    # Ranked in SQL so that only the top k rows (and their products) reach Python.
    zero = Value(0.0, output_field=FloatField())
    image_score = (
        Coalesce(1.0 - CosineDistance(indexed_image, image_query), zero)
        if image_query is not None
        else zero
    )
    text_score = (
        Coalesce(1.0 - CosineDistance("text", text_query), zero) if text_query is not None else zero
    )
    top = (
        ProductEmbedding.objects.filter(index=index, product_id__in=candidates)
        .annotate(image_score=image_score, text_score=text_score)
        .annotate(score=image_weight * F("image_score") + text_weight * F("text_score"))
        .order_by("-score", "product_id")
        .values_list("product_id", "score", "image_score", "text_score")[:k]
    )
    return list(top)


def embedding_status(*, product: Product) -> tuple[VectorIndex, ProductEmbedding | None] | None:
    """The live index and this product's row in it (None: not indexed yet)."""
    index = live_index()
    if index is None:
        return None
    row = ProductEmbedding.objects.filter(index=index, product=product).defer("image", "text")
    return index, row.first()


def with_embedding_status(products: QuerySet[Product]) -> QuerySet[Product]:
    """Annotate ``embedding_status`` (pending, done, failed or None) from the live index."""
    status = ProductEmbedding.objects.filter(
        index__state=VectorIndex.State.LIVE, product=OuterRef("pk")
    ).values("status")[:1]
    return products.annotate(embedding_status=Subquery(status))
