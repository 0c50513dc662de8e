"""The "visually similar" rails: a product's, and a cart's ("you may also like")."""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.core.cache import cache
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
    cached: bool = False,
) -> list[SimilarProduct]:
    """The ``k`` best products for ``product``'s rail, never the product itself.

    ``cached``: the ranking may come from the shared cache (pages and the API; see
    ``product_list_similar_scores_cached``); products gone, hidden or out of the filters since
    are left out of it.
    """
    image_weight, text_weight, candidates = _rail_configuration(
        image_weight, text_weight, candidates
    )
    rank = product_list_similar_scores_cached if cached else product_list_similar_scores
    scores = rank(
        product=product,
        k=k,
        image_weight=image_weight,
        text_weight=text_weight,
        candidates=candidates,
        filters=filters,
    )
    if cached:
        still = set(
            Product.objects.filter(filters.as_q(), is_active=True)
            .filter(pk__in=[product_id for product_id, *_ in scores])
            .values_list("pk", flat=True)
        )
        scores = [row for row in scores if row[0] in still]
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
    row = index and _embedding(index, product)
    if not row:
        return []
    image_weight, text_weight, candidates = _rail_configuration(
        image_weight, text_weight, candidates
    )
    return _ranked(index, row, product, k, image_weight, text_weight, candidates, filters)


def product_list_similar_scores_cached(
    *,
    product: Product,
    k: int,
    image_weight: float,
    text_weight: float,
    candidates: int,
    filters: ProductFilters,
) -> list[tuple[int, float, float, float]]:
    """``product_list_similar_scores`` through the shared cache, for
    ``RECOMMENDER_RAIL_CACHE_SECONDS``.

    The key holds the live index, its text fit and when this product's own vectors last
    changed, besides the weights, candidates and filters: a switch, a refit or a new photo of
    the product asks the index again at once, with no sweep of the cache. Other products'
    changes (a new product that belongs in the rail) show once the entry expires.
    """
    index = index_live()
    row = index and _embedding(index, product)
    if not row:
        return []
    ranking = (index, row, product, k, image_weight, text_weight, candidates, filters)
    if not settings.RECOMMENDER_RAIL_CACHE_SECONDS:
        return _ranked(*ranking)
    fitted = index.text_fitted_at.isoformat() if index.text_fitted_at else ""
    key = _rail_cache_key(
        index.pk,
        fitted,
        product.pk,
        row.updated_at.isoformat(),
        k,
        image_weight,
        text_weight,
        candidates,
        *_filters_key(filters),
    )
    scores = cache.get(key)
    if scores is None:
        scores = _ranked(*ranking)
        cache.set(key, scores, settings.RECOMMENDER_RAIL_CACHE_SECONDS)
    return [tuple(score) for score in scores]


def _embedding(index, product: Product) -> ProductEmbedding | None:
    """``product``'s row in ``index``: which of its vectors exist, and when they changed."""
    return (
        ProductEmbedding.objects.filter(index=index, product=product)
        .annotate(has_image=Q(image__isnull=False), has_text=Q(text__isnull=False))
        .only("pk", "updated_at")
        .first()
    )


def _ranked(index, row, product, k, image_weight, text_weight, candidates, filters):
    query = _Query.of_stored(
        row, image=bool(image_weight and row.has_image), text=bool(text_weight and row.has_text)
    )
    return _top(
        index, query, k, image_weight, text_weight, filters, product.pk, candidates=candidates
    )


def _rail_cache_key(*parts) -> str:
    """A short cache key of ``parts`` (memcached-safe: no spaces, under 250 characters)."""
    return "rail:" + hashlib.sha256(repr(parts).encode()).hexdigest()


def _filters_key(filters: ProductFilters) -> tuple:
    category = filters.category.pk if filters.category is not None else None
    return (
        category,
        filters.gender,
        filters.colour.lower(),
        str(filters.price_min),
        str(filters.price_max),
        filters.in_stock,
    )


def product_list_you_may_like(*, products: list[Product], k: int = 10) -> list[SimilarProduct]:
    """Products like any of ``products`` (a cart), best first, none of ``products`` themselves."""
    chosen = {product.pk for product in products}
    best: dict[int, SimilarProduct] = {}
    for product in products[:5]:
        # Enough to leave k once the cart's own products are dropped (MAX_RESULTS at most).
        for similar in product_list_similar(product=product, k=k + len(chosen), cached=True):
            known = best.get(similar.product.pk)
            if similar.product.pk not in chosen and (known is None or similar.score > known.score):
                best[similar.product.pk] = similar
    return sorted(best.values(), key=lambda similar: -similar.score)[:k]
