"""Reads from the vector index: "visually similar" rails and search by photo.

The score of a product for a query is ``w_image * image cosine + w_text * text cosine``
(0.7 / 0.3 by default). Each HNSW index (image, text) proposes its nearest neighbours under
the same filters, the image index from short projections of the vectors
(recommender/projection.py), and the union is ranked exactly by the weighted score over the
full vectors. A product without an image vector scores on text alone, in its own rail and in
others'.

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
from django.db.models import (
    CharField,
    Expression,
    F,
    FloatField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Cast, Coalesce
from pgvector import HalfVector, SparseVector, Vector
from pgvector.django import CosineDistance, MaxInnerProduct

from recommender import projection, text_model
from recommender.encoders.preprocessing import Box
from recommender.models import TEXT_DIMENSIONS, ProductEmbedding, VectorIndex
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
    """The live index, its text model left in the database (``fitted_text_model`` has it)."""
    return VectorIndex.objects.defer("text_model").filter(state=VectorIndex.State.LIVE).first()


# Parsed text models by (index, fit time): a fit is read and parsed once per process.
_text_models: dict[tuple[int, object], dict | None] = {}


def fitted_text_model(index: VectorIndex) -> dict | None:
    key = (index.pk, index.text_fitted_at)
    if key not in _text_models:
        model = VectorIndex.objects.filter(pk=index.pk).values_list("text_model", flat=True)
        _text_models.clear()  # only the latest fit is ever asked for
        _text_models[key] = model.first()
    return _text_models[key]


def similar_products(
    *,
    product: Product,
    k: int = 10,
    image_weight: float | None = None,
    text_weight: float | None = None,
    filters: ProductFilters = NO_FILTERS,
) -> list[SimilarProduct]:
    """The ``k`` best products for ``product``'s rail, never the product itself."""
    image_weight, text_weight = _weights(image_weight, text_weight)
    scores = similar_product_scores(
        product=product, k=k, image_weight=image_weight, text_weight=text_weight, filters=filters
    )
    return _with_products(scores, image_weight, text_weight)


def similar_product_scores(
    *,
    product: Product,
    k: int = 10,
    image_weight: float | None = None,
    text_weight: float | None = None,
    filters: ProductFilters = NO_FILTERS,
) -> list[tuple[int, float, float, float]]:
    """``similar_products`` as ``(product_id, score, image_score, text_score)``, best first:
    the index's answer, without loading the products."""
    index = live_index()
    row = (
        index
        and ProductEmbedding.objects.filter(index=index, product=product)
        .annotate(has_image=Q(image__isnull=False), has_text=Q(text__isnull=False))
        .only("pk")
        .first()
    )
    if not row:
        return []
    image_weight, text_weight = _weights(image_weight, text_weight)
    query = _Query.of_stored(
        row, image=bool(image_weight and row.has_image), text=bool(text_weight and row.has_text)
    )
    return _top(index, query, k, image_weight, text_weight, filters, exclude=product.pk)


def _weights(image_weight: float | None, text_weight: float | None) -> tuple[float, float]:
    """The given weights, or the settings' where none is given."""
    return (
        settings.RECOMMENDER_IMAGE_WEIGHT if image_weight is None else image_weight,
        settings.RECOMMENDER_TEXT_WEIGHT if text_weight is None else text_weight,
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
    image_weight, text_weight = _weights(None, None)
    text = None
    rounds = settings.RECOMMENDER_PHOTO_FEEDBACK_ROUNDS if borrow_text and text_weight else 0
    for _ in range(rounds):
        weights = (image_weight, text_weight) if text else (1.0, 0.0)
        query = _Query.of_vectors(image, text)
        nearest = _top(index, query, PHOTO_FEEDBACK_NEIGHBOURS, *weights, filters, exclude)
        text = _borrowed_text(index, nearest) or text
    if text is None:
        return _ranked(index, _Query.of_vectors(image, None), k, 1.0, 0.0, filters, exclude)
    query = _Query.of_vectors(image, text)
    return _ranked(index, query, k, image_weight, text_weight, filters, exclude)


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
    model = index and fitted_text_model(index)
    if not model:
        return []
    row = text_model.transform(model, [text])[0]
    if not row.nnz:
        return []
    query = dict(zip(row.indices.tolist(), row.data.tolist(), strict=True))
    # Candidates come from an exact scan, not the HNSW index: a typed query shares a few rare
    # words with a few products and is orthogonal to all the rest, a flat landscape in which a
    # graph search gets lost. The inner product with a words-only query touches only the
    # words. The candidates are then ranked by their words alone: a stored vector also holds
    # its field tokens, which would favour products with fewer fields (no category, colour).
    k = min(k, MAX_RESULTS)
    candidates = _candidates(k)
    text_query = _typed(sparse_vector(row), "text")
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
    words = text_model.word_dimensions(model)
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
        # Enough to leave k once the cart's own products are dropped (MAX_RESULTS at most).
        for similar in similar_products(product=product, k=k + len(chosen)):
            known = best.get(similar.product.pk)
            if similar.product.pk not in chosen and (known is None or similar.score > known.score):
                best[similar.product.pk] = similar
    return sorted(best.values(), key=lambda similar: -similar.score)[:k]


def _ranked(index, query, k, image_weight, text_weight, filters, exclude):
    top = _top(index, query, k, image_weight, text_weight, filters, exclude)
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


@dataclass(frozen=True)
class _Query:
    """What a ranking compares with, as SQL expressions (None: that vector is absent)."""

    image: Expression | None = None
    projected: Expression | None = None
    text: Expression | None = None

    @classmethod
    def of_vectors(cls, image: np.ndarray | None, text: SparseVector | None) -> _Query:
        """A query sent with the statement (a shopper's photo, its borrowed text)."""
        return cls(
            image=None if image is None else _typed(Vector(image), "image"),
            projected=(
                None
                if image is None
                else _typed(HalfVector(projection.project(image)), "image_projected")
            ),
            text=None if text is None else _typed(text, "text"),
        )

    @classmethod
    def of_stored(cls, row: ProductEmbedding, *, image: bool, text: bool) -> _Query:
        """A product's own vectors, read by the database itself (never sent back and forth)."""
        stored = ProductEmbedding.objects.filter(pk=row.pk)
        return cls(
            image=Subquery(stored.values("image")) if image else None,
            projected=Subquery(stored.values("image_projected")) if image else None,
            text=Subquery(stored.values("text")) if text else None,
        )


def _top(index, query: _Query, k, image_weight, text_weight, filters, exclude=None) -> list[tuple]:
    """``(product_id, score, image_score, text_score)`` of the ``k`` best (at most
    ``MAX_RESULTS``), best first.

    One statement: each HNSW index proposes its nearest products under the filters (the
    image index from the projections), and the union is ranked exactly over full vectors.
    """
    embeddings = ProductEmbedding.objects.filter(
        filters.as_q(prefix="product__"), index=index, product__is_active=True
    )
    if exclude is not None:
        embeddings = embeddings.exclude(product_id=exclude)
    k = min(k, MAX_RESULTS)
    candidates = _candidates(k)
    proposals = [
        embeddings.filter(**{f"{field}__isnull": False})
        .order_by(CosineDistance(field, vector))
        .values("product_id")[:candidates]
        for field, vector in (("image_projected", query.projected), ("text", query.text))
        if vector is not None
    ]
    if not proposals:
        return []
    zero = Value(0.0, output_field=FloatField())
    scores = {
        f"{field}_score": zero
        if vector is None
        else Coalesce(1.0 - CosineDistance(field, vector), zero)
        for field, vector in (("image", query.image), ("text", query.text))
    }
    top = (
        ProductEmbedding.objects.filter(
            index=index, product_id__in=proposals[0].union(*proposals[1:])
        )
        .annotate(**scores)
        .annotate(score=image_weight * F("image_score") + text_weight * F("text_score"))
        .order_by("-score", "product_id")
        .values_list("product_id", "score", "image_score", "text_score")[:k]
    )
    with transaction.atomic(), connection.cursor() as cursor:
        # Transaction-local: how far each graph search looks, and that filtered scans keep
        # going until they find enough rows (pgvector >= 0.8).
        cursor.execute(
            "SELECT set_config('hnsw.ef_search', %s, true), "
            "set_config('hnsw.iterative_scan', 'relaxed_order', true)",
            [str(max(candidates, 40))],  # 40: pgvector's default
        )
        return list(top)


# Every read answers at most this many products, whoever asks (a page, the API, a cart of many
# lines): what reaches the index stays within what it can do, and what one request costs.
MAX_RESULTS = 100
# pgvector's ceiling for hnsw.ef_search: asking for more is an error, not a slower search.
MAX_EF_SEARCH = 1000


def _candidates(k: int) -> int:
    """How many neighbours each index proposes for ``k`` results (RECOMMENDER_CANDIDATES)."""
    return min(max(k, settings.RECOMMENDER_CANDIDATES), MAX_EF_SEARCH)


def _typed(vector, field: str):
    """``vector`` as a query parameter of the type of ProductEmbedding's ``field``."""
    return Cast(Value(vector.to_text()), ProductEmbedding._meta.get_field(field))


def embedding_status(*, product: Product) -> tuple[VectorIndex, ProductEmbedding | None] | None:
    """The live index and this product's row in it (None: not indexed yet)."""
    index = live_index()
    if index is None:
        return None
    row = ProductEmbedding.objects.filter(index=index, product=product).defer(
        "image", "image_projected", "text"
    )
    return index, row.first()


def with_embedding_status(products: QuerySet[Product]) -> QuerySet[Product]:
    """Annotate ``embedding_status`` from the live index: done, failed or pending, None when
    there is no live index. A product without a row in it is pending: its message is queued,
    or was lost with a broker outage or a crashed worker and the periodic sweep will queue it.
    """
    live = VectorIndex.objects.filter(state=VectorIndex.State.LIVE)
    row_status = ProductEmbedding.objects.filter(
        index__state=VectorIndex.State.LIVE, product=OuterRef("pk")
    ).values("status")[:1]
    pending_if_live = live.values(status=Value(ProductEmbedding.Status.PENDING))[:1]
    return products.annotate(
        embedding_status=Coalesce(
            Subquery(row_status), Subquery(pending_if_live), output_field=CharField()
        )
    )
