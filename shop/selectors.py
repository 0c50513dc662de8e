"""Reads from the catalogue: listings, filters, text search, categories."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.contrib.postgres.search import SearchQuery, SearchRank, SearchVector
from django.core.cache import cache
from django.db.models import Count, F, Q, QuerySet
from django.db.models.functions import Substr

from shop.models import Category, Product

# Title words count more than description words in the text search.
SEARCH_VECTOR = SearchVector("title", weight="A", config="english") + SearchVector(
    "description", weight="B", config="english"
)


@dataclass(frozen=True)
class ProductFilters:
    """What a shopper narrowed a list to; the same filters apply to rails and photo search."""

    category: Category | None = None  # this category and everything below it
    gender: str = ""
    colour: str = ""
    price_min: Decimal | None = None
    price_max: Decimal | None = None
    in_stock: bool = False

    def as_q(self, prefix: str = "") -> Q:
        """The filters as a ``Q`` on Product, or on a model reaching it through ``prefix``."""
        conditions = {}
        if self.category is not None:
            conditions["category__path__startswith"] = self.category.path
        if self.gender:
            conditions["gender"] = self.gender
        if self.colour:
            conditions["colour__iexact"] = self.colour
        if self.price_min is not None:
            conditions["price__gte"] = self.price_min
        if self.price_max is not None:
            conditions["price__lte"] = self.price_max
        if self.in_stock:
            conditions["stock__gt"] = 0
        return Q(**{prefix + name: value for name, value in conditions.items()})


NO_FILTERS = ProductFilters()
COLOUR_CHOICES_SECONDS = 300

SORTS = {
    "new": ("-created_at", "-id"),
    "price": (F("price").asc(nulls_last=True), "id"),
    "-price": (F("price").desc(nulls_last=True), "id"),
    "title": ("title", "id"),
}


def product_list_storefront(
    *, filters: ProductFilters = NO_FILTERS, search: str = "", sort: str = "new"
) -> QuerySet[Product]:
    """Active products under ``filters``; with ``search``, the matches best first.

    ``search`` is PostgreSQL full-text search (English stemming, web-search syntax: quotes,
    ``or``, ``-word``) over titles and descriptions.
    """
    products = (
        Product.objects.filter(is_active=True)
        .filter(filters.as_q())
        .select_related("category")
        .prefetch_related("images")
    )
    if search.strip():
        query = SearchQuery(search, search_type="websearch", config="english")
        products = products.annotate(
            document=SEARCH_VECTOR, rank=SearchRank(SEARCH_VECTOR, query)
        ).filter(document=query)
        if sort == "relevance":
            return products.order_by("-rank", "-id")
    return products.order_by(*SORTS.get(sort, SORTS["new"]))


def product_get_storefront(*, slug: str) -> Product | None:
    return (
        Product.objects.filter(is_active=True, slug=slug)
        .select_related("category")
        .prefetch_related("images")
        .first()
    )


def category_top(*, limit: int = 8) -> list[Category]:
    """Top-level categories with the most active products (counted over their subtrees)."""
    return _with_counts(list(Category.objects.get_root_nodes()), path_length=Category.steplen)[
        :limit
    ]


def category_children(*, category: Category) -> list[Category]:
    """Sub-categories that hold active products, most products first."""
    return _with_counts(
        list(Category.objects.get_children(category)),
        path_length=len(category.path) + Category.steplen,
    )


def _with_counts(categories: list[Category], *, path_length: int) -> list[Category]:
    """``categories`` (all at one depth) that hold active products, with ``product_count``."""
    counts = dict(
        Product.objects.filter(is_active=True, category__isnull=False)
        .annotate(branch=Substr("category__path", 1, path_length))
        .values_list("branch")
        .annotate(count=Count("id"))
    )
    for category in categories:
        category.product_count = counts.get(category.path, 0)
    held = [category for category in categories if category.product_count]
    return sorted(held, key=lambda category: (-category.product_count, category.name))


def colour_choices() -> list[str]:
    """Colours of active products, for filter menus; a few minutes stale at most."""

    def colours():
        return list(
            Product.objects.filter(is_active=True)
            .exclude(colour="")
            .order_by("colour")
            .values_list("colour", flat=True)
            .distinct()
        )

    return cache.get_or_set("shop:colour-choices", colours, COLOUR_CHOICES_SECONDS)
