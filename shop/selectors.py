"""Reads from the catalogue: listings, filters, text search, categories."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.contrib.postgres.search import SearchQuery, SearchRank, SearchVectorField
from django.core.cache import cache
from django.db import connection
from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet
from django.db.models.expressions import RawSQL
from django.db.models.functions import Substr

from shop.models import Category, Gender, Product, ProductVariant
from shop.search import query_alternatives, query_correct, query_normalise

# Each product's search document, kept by the database (shop/migrations/0006): title and
# category path words weigh most, then description, then attributes (colour, gender, usage).
SEARCH_DOCUMENT = RawSQL('"shop_product"."search_document"', [], output_field=SearchVectorField())
SEARCH_VOCABULARY_SECONDS = 300


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
        colour = Q()
        if self.colour:
            # The product's own colour, or any of its variants' (a shirt sold in blue and red).
            variant = ProductVariant.objects.filter(
                product_id=OuterRef(f"{prefix}id"), colour__iexact=self.colour
            )
            colour = Q(**{f"{prefix}colour__iexact": self.colour}) | Q(Exists(variant))
        if self.price_min is not None:
            conditions["price__gte"] = self.price_min
        if self.price_max is not None:
            conditions["price__lte"] = self.price_max
        if self.in_stock:
            conditions["stock__gt"] = 0
        return colour & Q(**{prefix + name: value for name, value in conditions.items()})


NO_FILTERS = ProductFilters()
FILTER_CHOICES_SECONDS = 300

SORTS = {
    "new": ("-created_at", "-id"),
    "price": (F("price").asc(nulls_last=True), "id"),
    "-price": (F("price").desc(nulls_last=True), "id"),
    "title": ("title", "id"),
}


@dataclass(frozen=True)
class ProductSearch:
    """A text search's products, and the words it searched for: the shopper's, or, where
    those found nothing, the catalogue's nearest words to them."""

    products: QuerySet[Product]
    query: str
    searched: str

    @property
    def corrected(self) -> bool:
        return self.searched != self.query


def product_list_storefront(
    *, filters: ProductFilters = NO_FILTERS, search: str = "", sort: str = "new"
) -> QuerySet[Product]:
    """Active products under ``filters``; with ``search``, the matches best first, for the words
    as given: no "did you mean" (a client that gets no products knows there are none; the
    storefront's page corrects, and says so, through ``product_search_storefront``)."""
    if search.strip():
        return _products_matching(filters, search, sort)
    return _products_storefront(filters).order_by(*SORTS.get(sort, SORTS["new"]))


def product_search_storefront(
    *, filters: ProductFilters = NO_FILTERS, search: str, sort: str = "relevance"
) -> ProductSearch:
    """Active products under ``filters`` that match ``search``, best first by default.

    PostgreSQL full-text search (English stemming, web-search syntax: quotes, ``or``,
    ``-word``) over each product's search document (title, category path, description,
    attributes). Hyphenated and split words are also searched joined ("t-shirt", "t shirt"
    and "tshirt" find the same products); where nothing matches, the query's unknown words
    are replaced by the catalogue's nearest ones ("sandels" -> "sandals") and searched again.
    """
    products = _products_matching(filters, search, sort)
    if not products.exists():
        corrected = query_correct(search, search_vocabulary())
        if corrected != query_normalise(search):  # some word was replaced
            return ProductSearch(
                products=_products_matching(filters, corrected, sort),
                query=search,
                searched=corrected,
            )
    return ProductSearch(products=products, query=search, searched=search)


def _products_storefront(filters: ProductFilters) -> QuerySet[Product]:
    return (
        Product.objects.filter(is_active=True)
        .filter(filters.as_q())
        .select_related("category")
        .prefetch_related("images")
    )


def _products_matching(filters: ProductFilters, search: str, sort: str) -> QuerySet[Product]:
    query = None
    for alternative in query_alternatives(search):
        this = SearchQuery(alternative, search_type="websearch", config="english")
        query = this if query is None else query | this
    products = (
        _products_storefront(filters)
        .alias(document=SEARCH_DOCUMENT)
        .filter(document=query)
        .annotate(rank=SearchRank(SEARCH_DOCUMENT, query))
    )
    if sort == "relevance":
        return products.order_by("-rank", "-id")
    return products.order_by(*SORTS.get(sort, SORTS["new"]))


def search_vocabulary() -> dict[str, int]:
    """The words of active products' titles and colours and of category names, lower case,
    each with the number of products it is in (a category name counts once): what "did you
    mean" picks from. A few minutes stale at most."""

    def words() -> dict[str, int]:
        with connection.cursor() as cursor:
            cursor.execute(
                """
                SELECT word, ndoc FROM ts_stat($$
                    SELECT to_tsvector('simple', title || ' ' || colour)
                    FROM shop_product WHERE is_active
                $$)
                UNION ALL
                SELECT DISTINCT word, 1
                FROM shop_category, regexp_split_to_table(lower(name), '[^[:alpha:]]+') AS word
                """
            )
            counts: dict[str, int] = {}
            for word, count in cursor.fetchall():
                if word.isalpha():
                    counts[word] = counts.get(word, 0) + count
            return counts

    return cache.get_or_set("shop:search-vocabulary", words, SEARCH_VOCABULARY_SECONDS)


def product_get_storefront(*, slug: str) -> Product | None:
    return (
        Product.objects.filter(is_active=True, slug=slug)
        .select_related("category")
        .prefetch_related("images", "variants")
        .first()
    )


def category_top(*, limit: int = 8) -> list[Category]:
    """Top-level categories with the most active products (counted over their subtrees)."""
    return _with_counts(list(Category.objects.get_root_nodes()), path_length=Category.steplen)[
        :limit
    ]


def category_menu() -> list[tuple[str, str]]:
    """``(name, slug)`` of the top categories, for the header of every page; a few minutes
    stale at most."""

    def menu():
        return [(category.name, category.slug) for category in category_top()]

    return cache.get_or_set("shop:category-menu", menu, FILTER_CHOICES_SECONDS)


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


def filter_choices() -> dict[str, list[str]]:
    """What the filter menus offer: the colours of active products (their variants' too) and
    their genders (none in a shop that sells no clothes: no gender menu). A few minutes stale
    at most."""

    def choices():
        active = Product.objects.filter(is_active=True)
        own = active.exclude(colour="").values_list("colour")
        of_variants = (
            ProductVariant.objects.filter(product__is_active=True)
            .exclude(colour="")
            .values_list("colour")
        )
        genders = set(active.exclude(gender="").values_list("gender", flat=True).distinct())
        return {
            "colours": sorted({colour for (colour,) in own.union(of_variants)}),
            "genders": [gender for gender in Gender.values if gender in genders],
        }

    return cache.get_or_set("shop:filter-choices", choices, FILTER_CHOICES_SECONDS)
