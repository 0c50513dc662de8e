"""Which index is live, its text model and shopper space, and each product's embedding in it."""

from __future__ import annotations

from django.db.models import CharField, OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce

from recommender.models import ProductEmbedding, VectorIndex
from recommender.shopper_space import ShopperSpace
from shop.models import Product


def index_live() -> VectorIndex | None:
    """The live index, its text model and shopper space left in the database
    (``text_model_get`` and ``shopper_space_get`` have them)."""
    live = VectorIndex.objects.defer("text_model", "shopper_space")
    return live.filter(state=VectorIndex.State.LIVE).first()


# Parsed text models by (index, fit time): a fit is read and parsed once per process.
_text_models: dict[tuple[int, object], dict | None] = {}


def text_model_get(index: VectorIndex) -> dict | None:
    key = (index.pk, index.text_fitted_at)
    if key not in _text_models:
        model = VectorIndex.objects.filter(pk=index.pk).values_list("text_model", flat=True)
        _text_models.clear()  # only the latest fit is ever asked for
        _text_models[key] = model.first()
    return _text_models[key]


# An index's shopper space never changes once stored: read and parsed once per process. It is
# stored minutes after the index goes live, so its absence is asked again each time (cheap).
_shopper_spaces: dict[tuple[int, object], ShopperSpace] = {}


def shopper_space_get(index: VectorIndex) -> ShopperSpace | None:
    key = (index.pk, index.created_at)
    if key not in _shopper_spaces:
        data = VectorIndex.objects.filter(pk=index.pk).values_list("shopper_space", flat=True)
        stored = data.first()
        if not stored:
            return None
        _shopper_spaces.clear()  # only the live index's is ever asked for
        _shopper_spaces[key] = ShopperSpace.from_bytes(bytes(stored))
    return _shopper_spaces[key]


def product_embedding_get(
    *, product: Product
) -> tuple[VectorIndex, ProductEmbedding | None] | None:
    """The live index and this product's row in it (None: not indexed yet)."""
    index = index_live()
    if index is None:
        return None
    row = ProductEmbedding.objects.filter(index=index, product=product).defer(
        "image", "image_projected", "image_shopper", "colour", "text"
    )
    return index, row.first()


def product_embedding_status(*, product: Product) -> str | None:
    """This product's embedding in the live index: done, failed or pending (no row yet); None
    when there is no live index."""
    embedding = product_embedding_get(product=product)
    if embedding is None:
        return None
    _, row = embedding
    return row.status if row else ProductEmbedding.Status.PENDING


def product_annotate_embedding_status(products: QuerySet[Product]) -> QuerySet[Product]:
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
