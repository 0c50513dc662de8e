"""The shopper space: learnt at index build from shopper photos of the catalogue's own
products, it is where search by photo ranks (recommender/shopper_space.py)."""

import numpy as np
import pytest

from recommender.shopper_space import DIMENSIONS, ShopperSpace, shopper_space_fit


def unit(vectors: np.ndarray) -> np.ndarray:
    return vectors / np.linalg.norm(vectors, axis=-1, keepdims=True)


def test_shopper_photos_land_next_to_their_product_even_for_products_it_never_saw():
    # Products are random directions; a shopper's photo of one adds a room: large strays
    # along a few directions that have nothing to do with the product.
    rng = np.random.default_rng(0)
    dim, products = 320, 600
    catalogue = unit(rng.standard_normal((products, dim)))
    rooms = rng.standard_normal((6, dim))

    def photographed(ids):
        room = rng.standard_normal((len(ids), len(rooms))) @ rooms * 0.4
        return unit(catalogue[ids] + room + 0.05 * rng.standard_normal((len(ids), dim)))

    learnt, unseen = np.arange(400), np.arange(400, products)
    space = shopper_space_fit(catalogue, photographed(learnt), catalogue[learnt])

    def found(query, candidates):
        return np.mean(np.argmax(query @ candidates.T, axis=1) == unseen)

    photos = photographed(unseen)
    assert found(photos, catalogue) < 0.5  # the room outweighs the product
    assert found(space.apply(photos), space.apply(catalogue)) > 0.95


def test_a_space_maps_to_unit_vectors_and_survives_storage():
    rng = np.random.default_rng(1)
    catalogue = unit(rng.standard_normal((300, 280)))
    space = shopper_space_fit(catalogue, catalogue + 0.1, catalogue)
    mapped = space.apply(catalogue[:5])
    assert mapped.shape == (5, DIMENSIONS) and mapped.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(mapped, axis=1), 1, atol=1e-5)
    assert space.apply(catalogue[0]).shape == (DIMENSIONS,)
    stored = ShopperSpace.from_bytes(space.to_bytes())
    np.testing.assert_array_equal(stored.apply(catalogue[:5]), mapped)


@pytest.fixture
def catalogue(sample_catalogue, settings):
    """The drawn catalogue indexed with a shopper space learnt from all 48 products."""
    from recommender.services import index_build

    settings.RECOMMENDER_SHOPPER_SPACE_PRODUCTS = 48
    return index_build(encoder="efficientnet_lite0")


@pytest.mark.slow
@pytest.mark.django_db
def test_an_index_learns_its_shopper_space_and_maps_every_product_into_it(catalogue):
    from recommender.models import ProductEmbedding
    from recommender.services import product_embeddings_refresh
    from recommender.shopper_index import index_shopper_space

    space = index_shopper_space(catalogue)
    assert space is not None and space.matrix.shape == (1280, DIMENSIONS)
    rows = ProductEmbedding.objects.filter(index=catalogue)
    assert rows.count() == 48 and not rows.filter(image_shopper__isnull=True).exists()
    for row in rows[:5]:
        expected = space.apply(np.asarray(row.image))
        np.testing.assert_allclose(np.asarray(row.image_shopper), expected, atol=2e-3)
    # A product whose photo changes later is mapped with the same space.
    row = rows.first()
    ProductEmbedding.objects.filter(pk=row.pk).update(image_shopper=None, image_sha256="")
    product_embeddings_refresh(product_ids=[row.product_id])
    row.refresh_from_db()
    np.testing.assert_allclose(
        np.asarray(row.image_shopper), space.apply(np.asarray(row.image)), atol=2e-3
    )


@pytest.mark.slow
@pytest.mark.django_db
def test_search_by_photo_ranks_in_the_shopper_space(catalogue):
    from recommender.selectors import product_list_by_photo, product_search_by_photo
    from recommender.selectors.searches import product_list_photo_duplicates
    from recommender.shopper_index import index_shopper_space
    from recommender.shopper_photos import shopper_photo
    from shop.models import Product

    space = index_shopper_space(catalogue)
    bag = Product.objects.get(title="Vitrine Women Blue Handbag")
    studio = bag.primary_image.image.read()
    # A catalogue photo is its own product's, in either space.
    found = product_list_by_photo(photo=studio, k=3, borrow_text=False)
    assert {r.product.title for r in found[:2]} == {bag.title, "Vitrine Men Blue Handbag"}
    assert found[0].image_score == pytest.approx(1, abs=2e-3)
    # The scores are the shopper space's cosines, not the encoder's.
    on_table = shopper_photo("surface", {1: studio}, (1,), seed=0).jpeg
    search = product_search_by_photo(photo=on_table, k=4, borrow_text=False)
    assert all(r.product.category.name == "Handbags" for r in search.results)
    encoder_space = product_search_by_photo(
        photo=on_table, k=4, borrow_text=False, shopper_photo=False
    )
    assert [r.image_score for r in search.results] != [r.image_score for r in encoder_space.results]
    assert search.match == pytest.approx(encoder_space.match)  # "unsure" reads the encoder's
    # With the borrowed text, the closest look-alike in the shopper space leads.
    hybrid = product_search_by_photo(photo=on_table, k=4).results
    alone = [r.product for r in search.results if r.image_score == search.results[0].image_score]
    assert hybrid[0].product in alone
    # A copy of a catalogue photo is looked for in the encoder's space (its threshold's).
    assert space is not None
    bag.images.create(image=bag.primary_image.image.name, sha256="0" * 64, is_primary=False)
    assert product_list_photo_duplicates(product=bag) == []  # the photo already indexed


@pytest.mark.slow
@pytest.mark.django_db
def test_too_small_a_catalogue_learns_no_space_and_search_keeps_the_encoders(
    sample_catalogue, settings
):
    from recommender.models import ProductEmbedding
    from recommender.selectors import product_list_by_photo
    from recommender.services import index_build
    from recommender.shopper_index import MIN_LEARNING_PRODUCTS
    from shop.models import Product

    settings.RECOMMENDER_SHOPPER_SPACE_PRODUCTS = MIN_LEARNING_PRODUCTS - 1
    index = index_build(encoder="efficientnet_lite0")
    assert index.shopper_space is None
    assert not ProductEmbedding.objects.filter(image_shopper__isnull=False).exists()
    photo = Product.objects.get(title="Vitrine Men Red Tshirt").primary_image.image.read()
    found = product_list_by_photo(photo=photo, k=2)
    assert found[0].image_score == pytest.approx(1, abs=1e-4)


@pytest.mark.slow
@pytest.mark.django_db
def test_the_new_index_serves_while_its_shopper_space_is_learnt(
    sample_catalogue, settings, monkeypatch
):
    from recommender import shopper_index
    from recommender.selectors import index_live, product_list_by_photo
    from recommender.selectors.index_status import shopper_space_get
    from recommender.services import index_build
    from shop.models import Product

    settings.RECOMMENDER_SHOPPER_SPACE_PRODUCTS = 24
    photo = Product.objects.get(title="Vitrine Men Red Tshirt").primary_image.image.read()
    during = []

    def photographed(*args, **kwargs):
        if not during:  # the first shopper photo: the index is already live, without a space
            live = index_live()
            found = product_list_by_photo(photo=photo, k=2)
            during.append((live, shopper_space_get(live), found))
        return make(*args, **kwargs)

    make = shopper_index.shopper_photo
    monkeypatch.setattr(shopper_index, "shopper_photo", photographed)
    index = index_build(encoder="efficientnet_lite0")
    [(live, space, found)] = during
    assert live == index and space is None
    assert found[0].image_score == pytest.approx(1, abs=1e-4)  # in the encoder's space
    assert shopper_space_get(index_live()) is not None  # asked again once stored


@pytest.mark.slow
@pytest.mark.django_db
def test_a_failed_learning_leaves_the_new_index_live_and_searching(
    sample_catalogue, settings, monkeypatch, capsys
):
    from django.core.management import call_command

    from recommender import shopper_index
    from recommender.selectors import index_live, product_list_by_photo
    from shop.models import Product

    def crash(*args, **kwargs):
        raise MemoryError("the worker ran out of memory")

    settings.RECOMMENDER_SHOPPER_SPACE_PRODUCTS = 24
    monkeypatch.setattr(shopper_index, "shopper_space_fit", crash)
    call_command("reindex", encoder="efficientnet_lite0")
    assert "No shopper space" in capsys.readouterr().out
    index = index_live()
    assert index is not None and index.state == "live"
    photo = Product.objects.get(title="Vitrine Men Red Tshirt").primary_image.image.read()
    assert product_list_by_photo(photo=photo, k=2)[0].image_score == pytest.approx(1, abs=1e-4)
