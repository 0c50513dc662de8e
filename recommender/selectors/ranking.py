"""The ranking engine under every rail and search: ``score = w_image * image cosine + w_text *
text cosine`` (0.7 / 0.3 by default). Each HNSW index (image, text) proposes its nearest
neighbours under the same filters, the image index from short projections of the vectors
(recommender/projection.py), and the union is ranked exactly by the weighted score over the
full vectors. A product without an image vector scores on text alone."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Expression, F, FloatField, Subquery, Value
from django.db.models.functions import Cast, Coalesce
from pgvector import HalfVector, SparseVector, Vector
from pgvector.django import CosineDistance

from recommender import projection
from recommender.models import ProductEmbedding
from shop.models import Product


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


# Every read answers at most this many products, whoever asks (a page, the API, a cart of many
# lines): what reaches the index stays within what it can do, and what one request costs.
MAX_RESULTS = 100

# pgvector's ceiling for hnsw.ef_search: asking for more is an error, not a slower search.
MAX_EF_SEARCH = 1000


def _candidates(k: int, wanted: int | None = None) -> int:
    """How many neighbours each index proposes for ``k`` results (``wanted``, else
    RECOMMENDER_CANDIDATES)."""
    return min(max(k, wanted or settings.RECOMMENDER_CANDIDATES), MAX_EF_SEARCH)


def _rail_configuration(
    image_weight: float | None, text_weight: float | None, candidates: int | None
) -> tuple[float, float, int]:
    """The given weights and candidates, or the rails' where none is given: an experiment's
    promoted arm, else the settings' (recommender/behaviour/experiments.py)."""
    from recommender.behaviour.experiments import rail_configuration_default

    default = rail_configuration_default()
    return (
        default["image_weight"] if image_weight is None else image_weight,
        default["text_weight"] if text_weight is None else text_weight,
        default["candidates"] if candidates is None else candidates,
    )


@dataclass(frozen=True)
class _Query:
    """What a ranking compares with, as SQL expressions (None: that vector is absent)."""

    image: Expression | None = None
    projected: Expression | None = None
    text: Expression | None = None
    # The columns ``image`` is ranked against, and ``projected`` proposed from: the encoder's
    # space, or the shopper space (both the same short vector there).
    image_field: str = "image"
    projected_field: str = "image_projected"

    @classmethod
    def of_shopper_photo(cls, image: np.ndarray, text: SparseVector | None) -> _Query:
        """A shopper's photo in the index's shopper space (``ShopperSpace.apply``)."""
        shopper = _typed(HalfVector(image), "image_shopper")
        return cls(
            image=shopper,
            projected=shopper,
            text=None if text is None else _typed(text, "text"),
            image_field="image_shopper",
            projected_field="image_shopper",
        )

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


def _top(
    index, query: _Query, k, image_weight, text_weight, filters, exclude=None, candidates=None
) -> list[tuple]:
    """``(product_id, score, image_score, text_score)`` of the ``k`` best (at most
    ``MAX_RESULTS``), best first, from ``candidates`` proposals per index (default:
    RECOMMENDER_CANDIDATES).

    One statement: each HNSW index proposes its nearest products under the filters (the
    image index from the projections), and the union is ranked exactly over full vectors.
    """
    embeddings = ProductEmbedding.objects.filter(
        filters.as_q(prefix="product__"), index=index, product__is_active=True
    )
    if exclude is not None:
        embeddings = embeddings.exclude(product_id=exclude)
    k = min(k, MAX_RESULTS)
    candidates = _candidates(k, candidates)
    proposals = [
        embeddings.filter(**{f"{field}__isnull": False})
        .order_by(CosineDistance(field, vector))
        .values("product_id")[:candidates]
        for field, vector in ((query.projected_field, query.projected), ("text", query.text))
        if vector is not None
    ]
    if not proposals:
        return []
    top = _scored(
        index, query, proposals[0].union(*proposals[1:]), image_weight, text_weight
    ).order_by("-score", "product_id")[:k]
    with transaction.atomic(), connection.cursor() as cursor:
        # Transaction-local: how far each graph search looks, and that filtered scans keep
        # going until they find enough rows (pgvector >= 0.8).
        cursor.execute(
            "SELECT set_config('hnsw.ef_search', %s, true), "
            "set_config('hnsw.iterative_scan', 'relaxed_order', true)",
            [str(max(candidates, 40))],  # 40: pgvector's default
        )
        return list(top)


def _scored(index, query: _Query, product_ids, image_weight: float, text_weight: float):
    """``(product_id, score, image_score, text_score)`` rows of ``product_ids`` (a list or a
    subquery), unordered."""
    zero = Value(0.0, output_field=FloatField())
    scores = {
        f"{name}_score": zero
        if vector is None
        else Coalesce(1.0 - CosineDistance(field, vector), zero)
        for name, field, vector in (
            ("image", query.image_field, query.image),
            ("text", "text", query.text),
        )
    }
    return (
        ProductEmbedding.objects.filter(index=index, product_id__in=product_ids)
        .annotate(**scores)
        .annotate(score=image_weight * F("image_score") + text_weight * F("text_score"))
        .values_list("product_id", "score", "image_score", "text_score")
    )


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


def _typed(vector, field: str):
    """``vector`` as a query parameter of the type of ProductEmbedding's ``field``."""
    return Cast(Value(vector.to_text()), ProductEmbedding._meta.get_field(field))
