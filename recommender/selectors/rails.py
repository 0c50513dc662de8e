"""The "visually similar" rails: a product's, and a cart's ("you may also like")."""

from __future__ import annotations

from django.db.models import Q

from recommender.models import ProductEmbedding
from recommender.selectors.index_status import index_live
from recommender.selectors.ranking import (
    SimilarProduct,
    _Query,
    _rail_configuration,
    _top,
    _with_products,
)
from shop.models import Product
from shop.selectors import NO_FILTERS, ProductFilters


def product_list_similar(
    *,
    product: Product,
    k: int = 10,
    image_weight: float | None = None,
    text_weight: float | None = None,
    candidates: int | None = None,
    filters: ProductFilters = NO_FILTERS,
) -> list[SimilarProduct]:
    """The ``k`` best products for ``product``'s rail, never the product itself."""
    image_weight, text_weight, candidates = _rail_configuration(
        image_weight, text_weight, candidates
    )
    scores = product_list_similar_scores(
        product=product,
        k=k,
        image_weight=image_weight,
        text_weight=text_weight,
        candidates=candidates,
        filters=filters,
    )
    return _with_products(scores, image_weight, text_weight)


def product_list_similar_scores(
    *,
    product: Product,
    k: int = 10,
    image_weight: float | None = None,
    text_weight: float | None = None,
    candidates: int | None = None,
    filters: ProductFilters = NO_FILTERS,
) -> list[tuple[int, float, float, float]]:
    """``product_list_similar`` as ``(product_id, score, image_score, text_score)``, best first:
    the index's answer, without loading the products."""
    index = index_live()
    row = (
        index
        and ProductEmbedding.objects.filter(index=index, product=product)
        .annotate(has_image=Q(image__isnull=False), has_text=Q(text__isnull=False))
        .only("pk")
        .first()
    )
    if not row:
        return []
    image_weight, text_weight, candidates = _rail_configuration(
        image_weight, text_weight, candidates
    )
    query = _Query.of_stored(
        row, image=bool(image_weight and row.has_image), text=bool(text_weight and row.has_text)
    )
    return _top(
        index, query, k, image_weight, text_weight, filters, product.pk, candidates=candidates
    )


def product_list_you_may_like(*, products: list[Product], k: int = 10) -> list[SimilarProduct]:
    """Products like any of ``products`` (a cart), best first, none of ``products`` themselves."""
    chosen = {product.pk for product in products}
    best: dict[int, SimilarProduct] = {}
    for product in products[:5]:
        # Enough to leave k once the cart's own products are dropped (MAX_RESULTS at most).
        for similar in product_list_similar(product=product, k=k + len(chosen)):
            known = best.get(similar.product.pk)
            if similar.product.pk not in chosen and (known is None or similar.score > known.score):
                best[similar.product.pk] = similar
    return sorted(best.values(), key=lambda similar: -similar.score)[:k]
