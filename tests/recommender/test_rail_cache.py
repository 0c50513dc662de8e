"""Rails through the shared cache: asked of the index once, until a switch, a refit or the
product's own new vectors; never showing a product gone or out of the filters since."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from recommender.models import ProductEmbedding, VectorIndex
from recommender.selectors import product_list_similar
from shop.selectors import ProductFilters
from tests.factories.catalogue import ProductFactory
from tests.factories.recommender import ProductEmbeddingFactory, random_index, random_unit_vector

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop_of_twelve():
    products = ProductFactory.create_batch(12)
    return products, random_index(products)


def rail_ids(product, **options) -> list[int]:
    return [similar.product.pk for similar in product_list_similar(product=product, **options)]


def asks_the_index(product, **options) -> bool:
    """Whether the rail of ``product`` searched the HNSW index (the ranking's statement sets
    ``hnsw.ef_search``), rather than coming from the cache."""
    with CaptureQueriesContext(connection) as queries:
        rail_ids(product, cached=True, **options)
    return any("hnsw.ef_search" in query["sql"] for query in queries.captured_queries)


def test_a_rail_is_ranked_once_then_served_from_the_cache(shop_of_twelve):
    products, _ = shop_of_twelve
    assert asks_the_index(products[0], k=5)
    assert not asks_the_index(products[0], k=5)
    assert rail_ids(products[0], k=5, cached=True) == rail_ids(products[0], k=5)
    # Other weights, sizes and filters are other rails.
    assert asks_the_index(products[0], k=6)
    assert asks_the_index(products[0], k=5, image_weight=1.0, text_weight=0.0)
    assert asks_the_index(products[0], k=5, filters=ProductFilters(in_stock=True))
    assert not asks_the_index(products[0], k=5, filters=ProductFilters(in_stock=True))


def test_a_switch_a_refit_or_the_products_new_vectors_ask_the_index_again(shop_of_twelve):
    products, index = shop_of_twelve
    assert asks_the_index(products[0], k=5)

    VectorIndex.objects.filter(pk=index.pk).update(text_fitted_at=timezone.now())  # a refit
    assert asks_the_index(products[0], k=5)
    assert not asks_the_index(products[0], k=5)

    row = ProductEmbedding.objects.get(index=index, product=products[0])  # a new photo
    row.image = random_unit_vector(999)
    row.save()
    assert asks_the_index(products[0], k=5)

    VectorIndex.objects.filter(pk=index.pk).update(state=VectorIndex.State.RETIRED)
    switched = random_index(products)  # another index goes live
    assert switched.pk != index.pk and asks_the_index(products[0], k=5)


def test_products_gone_hidden_or_out_of_the_filters_since_are_left_out(shop_of_twelve):
    products, _ = shop_of_twelve
    in_stock = ProductFilters(in_stock=True)
    first, second, third, *_ = rail_ids(products[0], k=5, cached=True, filters=in_stock)
    by_pk = {product.pk: product for product in products}
    by_pk[first].delete()
    by_pk[second].is_active = False
    by_pk[second].save()
    by_pk[third].stock = 0
    by_pk[third].save()

    assert not asks_the_index(products[0], k=5, filters=in_stock)  # still the cached ranking
    rail = rail_ids(products[0], k=5, cached=True, filters=in_stock)
    assert len(rail) == 2 and not {first, second, third} & set(rail)
    assert third in rail_ids(products[0], k=5, cached=True)  # out of stock: still in plain rails


def test_without_a_cache_time_every_rail_asks_the_index(shop_of_twelve, settings):
    settings.RECOMMENDER_RAIL_CACHE_SECONDS = 0
    products, _ = shop_of_twelve
    assert asks_the_index(products[0], k=5)
    assert asks_the_index(products[0], k=5)


def test_a_product_not_indexed_yet_has_no_rail_until_it_is(shop_of_twelve):
    _, index = shop_of_twelve
    newcomer = ProductFactory()
    assert rail_ids(newcomer, k=5, cached=True) == []
    ProductEmbeddingFactory(index=index, product=newcomer)
    assert len(rail_ids(newcomer, k=5, cached=True)) == 5
