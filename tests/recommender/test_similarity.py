"""Building the index and ranking rails and photo searches, on the real database and encoder."""

import random
from collections import Counter
from io import BytesIO

import numpy as np
import pytest
from django.core.management import call_command
from PIL import Image
from skimage.color import deltaE_ciede2000, rgb2lab

from recommender import projection
from recommender.encoders import UnreadableImage
from recommender.models import ProductEmbedding, VectorIndex
from recommender.selectors import (
    index_live,
    product_list_by_photo,
    product_list_similar,
    product_list_similar_scores,
    product_search_by_photo,
)
from recommender.services import index_build, product_embeddings_refresh
from shop.models import Product, ProductImage
from shop.sample_catalogue import COLOURS, _draw
from shop.selectors import ProductFilters
from shop.services import catalogue_import

pytestmark = [pytest.mark.slow, pytest.mark.django_db]


@pytest.fixture
def catalogue(indexed_catalogue):
    """48 drawn products: 4 article types x 6 colours x 2 genders, indexed."""
    return indexed_catalogue


def article(product: Product) -> str:
    return product.category.name


def test_index_build_records_its_encoder_and_embeds_every_product(catalogue):
    index = index_live()
    assert index == catalogue and index.state == "live"
    assert (
        index.encoder == "efficientnet_lite0" and index.encoder_version == "imagenet-57934424+trim1"
    )
    assert index.text_model and index.text_fitted_at
    rows = ProductEmbedding.objects.filter(index=index)
    assert rows.count() == 48
    assert set(rows.values_list("status", flat=True)) == {"done"}
    assert all(len(row.image) == 1280 and row.text is not None for row in rows)
    # What the HNSW index searches: each vector's projection (float16 in the database).
    for row in rows[:5]:
        expected = projection.project(np.asarray(row.image))
        np.testing.assert_allclose(np.asarray(row.image_projected), expected, atol=1e-3)
    # Each photo's own colour, CIELAB: the drawing's, not the white around it.
    red = rows.get(product__title="Vitrine Men Red Tshirt").colour
    assert deltaE_ciede2000(red, rgb2lab(np.array([[COLOURS["Red"]]], np.uint8))[0, 0]) < 3


def test_rail_has_k_products_never_itself_with_both_scores(catalogue):
    product = Product.objects.get(title="Vitrine Men Red Tshirt")
    rail = product_list_similar(product=product, k=10)
    assert len(rail) == 10 and product not in [r.product for r in rail]
    assert all(0 < r.image_score <= 1 and 0 <= r.text_score <= 1 for r in rail)
    assert [r.score for r in rail] == sorted((r.score for r in rail), reverse=True)
    first = rail[0]
    assert first.score == pytest.approx(0.7 * first.image_score + 0.3 * first.text_score)
    # The same ranking without the products loaded.
    scores = product_list_similar_scores(product=product, k=10)
    assert [(pk, score) for pk, score, *_ in scores] == [(r.product.pk, r.score) for r in rail]
    # The drawn T-shirts look alike and share words: they lead the rail.
    assert Counter(article(r.product) for r in rail[:5])["Tshirts"] >= 4


def test_weights_can_be_overridden_per_call(catalogue):
    product = Product.objects.get(title="Vitrine Women Blue Handbag")
    image_only = product_list_similar(product=product, k=5, image_weight=1, text_weight=0)
    assert all(r.score == pytest.approx(r.image_score) for r in image_only)
    text_only = product_list_similar(product=product, k=5, image_weight=0, text_weight=1)
    assert all(r.score == pytest.approx(r.text_score) for r in text_only)


def test_filters_still_return_k_products_when_k_match(catalogue):
    product = Product.objects.get(title="Vitrine Men Red Tshirt")
    women = product_list_similar(product=product, k=10, filters=ProductFilters(gender="Women"))
    assert len(women) == 10 and {r.product.gender for r in women} == {"Women"}
    green = product_list_similar(product=product, k=10, filters=ProductFilters(colour="green"))
    assert len(green) == 8  # fewer than k match: all of them (4 articles x 2 genders)
    assert {r.product.colour for r in green} == {"Green"}


def test_inactive_products_never_appear(catalogue):
    product = Product.objects.get(title="Vitrine Men Red Tshirt")
    hidden = product_list_similar(product=product, k=1)[0].product
    Product.objects.filter(pk=hidden.pk).update(is_active=False)
    assert hidden not in [r.product for r in product_list_similar(product=product, k=47)]


def test_product_without_photo_gets_a_text_rail_and_appears_in_others_by_text(catalogue):
    bare = Product.objects.get(title="Vitrine Men Black Handbag")
    ProductImage.objects.filter(product=bare).delete()
    product_embeddings_refresh(product_ids=[bare.pk])
    row = ProductEmbedding.objects.get(index=catalogue, product=bare)
    assert row.image is None and row.status == "done"

    rail = product_list_similar(product=bare, k=5)
    assert len(rail) == 5 and all(r.image_score == 0 and r.text_score > 0 for r in rail)
    sibling = Product.objects.get(title="Vitrine Women Black Handbag")
    others = product_list_similar(product=sibling, k=47)
    entry = next(r for r in others if r.product == bare)
    assert entry.image_score == 0 and entry.score == pytest.approx(0.3 * entry.text_score)


def test_a_broken_photo_marks_only_that_product_failed(catalogue, media_root):
    broken, fine = Product.objects.order_by("pk")[:2]
    photo = broken.primary_image
    (media_root / photo.image.name).write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    ProductImage.objects.filter(pk=photo.pk).update(sha256="0" * 64)  # "the photo changed"
    ProductImage.objects.filter(pk=fine.primary_image.pk).update(sha256="1" * 64)
    product_embeddings_refresh(product_ids=[broken.pk, fine.pk])
    rows = {r.product_id: r for r in ProductEmbedding.objects.filter(index=catalogue)}
    assert rows[broken.pk].status == "failed" and "unreadable image" in rows[broken.pk].error
    assert rows[fine.pk].status == "done" and rows[fine.pk].image_sha256 == "1" * 64


def test_a_product_indexed_before_photos_had_a_colour_gets_one_on_refresh(catalogue):
    # An index built before this version: no colours, search by photo as before.
    before = product_list_by_photo(photo=drawn_photo("bag", (120, 20, 20)), k=8)
    ProductEmbedding.objects.update(colour=None)
    product = Product.objects.get(title="Vitrine Women Blue Handbag")
    after = product_list_by_photo(photo=drawn_photo("bag", (120, 20, 20)), k=8)
    assert [r.product for r in after] != [r.product for r in before]
    product_embeddings_refresh(product_ids=[product.pk])
    row = ProductEmbedding.objects.get(index=catalogue, product=product)
    assert row.colour is not None and row.status == "done"


def test_unchanged_photos_are_not_encoded_again(catalogue, monkeypatch):
    from recommender import services

    calls = []
    encoder = services.encoder_for(catalogue)
    original = encoder.encode
    monkeypatch.setattr(
        encoder, "encode", lambda images: calls.append(len(images)) or original(images)
    )
    product_embeddings_refresh(product_ids=Product.objects.values_list("pk", flat=True))
    assert calls == []
    product_embeddings_refresh(
        product_ids=Product.objects.values_list("pk", flat=True)[:3], force=True
    )
    assert sum(calls) == 3


def test_search_by_photo_finds_the_product_and_its_look_alikes(catalogue, tmp_path):
    product = Product.objects.get(title="Vitrine Women Yellow Trouser")
    photo = product.primary_image.image.read()
    results = product_list_by_photo(photo=photo, k=6)
    # The drawing is the same for both genders: the two identical photos come first.
    assert {r.product.title for r in results[:2]} == {product.title, "Vitrine Men Yellow Trouser"}
    assert results[1].image_score == pytest.approx(1, abs=1e-4)
    assert Counter(article(r.product) for r in results)["Trousers"] >= 4
    excluded = product_list_by_photo(photo=photo, k=6, exclude=product.pk)
    assert product not in [r.product for r in excluded]


def test_search_by_photo_borrows_the_text_of_the_products_it_resembles(catalogue, settings):
    product = Product.objects.get(title="Vitrine Women Yellow Trouser")
    photo = product.primary_image.image.read()
    borrowed = product_list_by_photo(photo=photo, k=6, exclude=product.pk)
    # The nearest products are trousers: their words (and shelf) now pull trousers up.
    assert borrowed[0].text_score > 0.5 and article(borrowed[0].product) == "Trousers"
    assert all(r.score == pytest.approx(0.7 * r.image_score + 0.3 * r.text_score) for r in borrowed)
    settings.RECOMMENDER_PHOTO_FEEDBACK_ROUNDS = 0  # the photo alone
    alone = product_list_by_photo(photo=photo, k=6, exclude=product.pk)
    assert all(r.text_score == 0 and r.score == pytest.approx(r.image_score) for r in alone)


def test_a_product_photographed_on_a_table_is_searched_without_the_table(catalogue):
    from recommender.shopper_photos import shopper_photo

    product = Product.objects.get(title="Vitrine Women Blue Handbag")
    photos = [
        shopper_photo("surface", {1: product.primary_image.image.read()}, (1,), seed=seed).jpeg
        for seed in range(4)
    ]
    found = [product_list_by_photo(photo=photo, k=4) for photo in photos]
    # Handbags, not whatever matches the table.
    assert all(article(r.product) == "Handbags" for results in found for r in results)
    # Cut out of the photo, the handbag looks more like the catalogue's than the whole photo
    # does (the search keeps the largest part found when it matches better than the photo).
    whole = [product_list_by_photo(photo=photo, k=4, find_product=False) for photo in photos]
    gains = [
        cut[0].image_score - as_is[0].image_score for cut, as_is in zip(found, whole, strict=True)
    ]
    assert sum(gains) / len(gains) > 0.03, gains


def drawn_photo(shape: str, rgb) -> bytes:
    """A product of the drawn catalogue's shape in a colour of one's own."""
    buffer = BytesIO()
    _draw(shape, rgb).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def test_a_photos_own_colour_counts_in_its_search(catalogue):
    # A dark yellow T-shirt. By image, its closest look-alikes are blue (the encoder sees the
    # shape more than the colour), and they lend their colour words; its own pixels say yellow.
    results = product_search_by_photo(photo=drawn_photo("tshirt", (150, 130, 30)), k=6).results
    yellow = [r for r in results if r.product.colour == "Yellow"]
    others = [r for r in results if r.product.colour != "Yellow"]
    assert len(yellow) == 2 and all(article(r.product) == "Tshirts" for r in results)
    assert max(r.image_score for r in others) > max(r.image_score for r in yellow)
    assert min(r.text_score for r in yellow) > max(r.text_score for r in others)


def test_a_studio_photo_is_searched_as_it_is(catalogue):
    product = Product.objects.get(title="Vitrine Men Red Tshirt")
    found = product_list_by_photo(photo=product.primary_image.image.read(), k=2)
    assert {r.product.title for r in found} == {product.title, "Vitrine Women Red Tshirt"}
    assert found[0].image_score == pytest.approx(1, abs=1e-4)


def handbag_and_trouser_photo() -> bytes:
    """A shopper's photo of the blue handbag beside the yellow trouser, on a surface."""
    from recommender.shopper_photos import shopper_photo

    titles = ("Vitrine Women Blue Handbag", "Vitrine Men Yellow Trouser")
    products = [Product.objects.get(title=title) for title in titles]
    # Keyed 1, 2 rather than by pk: the photo's layout is drawn from its keys.
    photos = {n: p.primary_image.image.read() for n, p in enumerate(products, 1)}
    return shopper_photo("several", photos, (1, 2), seed=3).jpeg


def test_each_product_in_a_photo_of_several_is_found_and_can_be_searched_on_its_own(catalogue):
    photo = handbag_and_trouser_photo()
    found = product_search_by_photo(photo=photo, k=4)
    assert len(found.items) >= 2
    assert found.searched in [item.box for item in found.items]  # one of them, not the room
    assert not found.unsure
    # Laid out left to right: each box, searched as a crop, finds its own kind of product.
    [left, right] = sorted(found.items[:2], key=lambda item: item.box[0])
    assert left.box[0] + left.box[2] <= right.box[0] + 0.05  # apart
    for item, kind in ((left, "Handbags"), (right, "Trousers")):
        assert all(0 <= value <= 1 for value in item.box) and item.match > 0.5
        searched = product_search_by_photo(photo=photo, box=item.box, k=3)
        assert {article(r.product) for r in searched.results} == {kind}


def test_the_largest_part_found_is_searched_unless_the_photo_as_it_is_matches_better(
    catalogue, monkeypatch
):
    from recommender.selectors import searches

    photo = handbag_and_trouser_photo()
    found = product_search_by_photo(photo=photo, k=2)
    assert len(found.items) >= 2
    candidates = 1 + len(found.items)  # the photo as it is, then the parts, largest first

    def search_with(matches):
        calls = iter(matches)
        monkeypatch.setattr(searches, "_closest_match", lambda *args: next(calls))
        return product_search_by_photo(photo=photo, k=2)

    rest = [0.0] * (candidates - 3)
    # The largest part, ahead of the photo as it is: chosen, even with a smaller part that the
    # catalogue matches far better (something else in the room, perhaps a product on sale).
    largest = search_with([0.80, 0.81, 0.95, *rest])
    assert largest.searched == found.items[0].box and largest.match == 0.81
    # The photo as it is ahead of the largest part (a close-up cut into pieces): the photo.
    whole = search_with([0.80, 0.76, 0.95, *rest])
    assert whole.searched is None and whole.match == 0.80
    assert [item.match for item in whole.items[:2]] == [0.76, 0.95]  # still offered


def test_a_studio_photo_or_the_whole_photo_on_request_has_no_items(catalogue):
    from recommender.shopper_photos import shopper_photo

    product = Product.objects.get(title="Vitrine Women Blue Handbag")
    studio = product_search_by_photo(photo=product.primary_image.image.read(), k=3)
    assert studio.items == [] and studio.searched is None and studio.match > 0.99
    on_table = shopper_photo("surface", {1: product.primary_image.image.read()}, (1,), seed=0)
    as_is = product_search_by_photo(photo=on_table.jpeg, k=3, find_product=False)
    assert as_is.items == [] and as_is.searched is None and as_is.results


def test_a_photo_with_no_product_gets_results_with_a_note(catalogue, settings):
    wall = BytesIO()
    Image.new("RGB", (640, 480), (200, 190, 180)).save(wall, "JPEG")
    product = Product.objects.get(title="Vitrine Men Red Tshirt")
    studio = product.primary_image.image.read()
    # The drawn catalogue's flat drawings look more like a wall than real photos do: its own
    # threshold (fashion-dev's is measured by evaluate's "nothing" row).
    settings.RECOMMENDER_PHOTO_UNSURE_BELOW = 0.9
    nothing = product_search_by_photo(photo=wall.getvalue(), k=4)
    assert nothing.results and nothing.unsure  # the closest there is, never an error
    assert nothing.match < 0.9
    assert not product_search_by_photo(photo=studio, k=4).unsure
    settings.RECOMMENDER_PHOTO_UNSURE_BELOW = 0
    assert not product_search_by_photo(photo=wall.getvalue(), k=4).unsure


def test_search_by_photo_puts_the_photos_closest_look_alikes_first(catalogue, settings):
    product = Product.objects.get(title="Vitrine Women Green Tshirt")
    photo = product.primary_image.image.read()
    settings.RECOMMENDER_PHOTO_CLOSEST_FIRST = 0
    hybrid = product_list_by_photo(photo=photo, k=12, exclude=product.pk)
    assert [r.score for r in hybrid] == sorted((r.score for r in hybrid), reverse=True)
    settings.RECOMMENDER_PHOTO_CLOSEST_FIRST = 3
    led = product_list_by_photo(photo=photo, k=12, exclude=product.pk)
    by_photo = product_list_by_photo(photo=photo, k=3, exclude=product.pk, borrow_text=False)
    assert [r.product for r in led[:3]] == [r.product for r in by_photo]
    rest = [r for r in hybrid if r.product not in {r.product for r in led[:3]}]
    assert [r.product for r in led[3:]] == [r.product for r in rest][:9]
    assert all(r.score == pytest.approx(0.7 * r.image_score + 0.3 * r.text_score) for r in led)


def test_a_weak_match_lets_more_of_the_photos_closest_look_alikes_lead(catalogue, monkeypatch):
    from recommender.selectors import searches

    product = Product.objects.get(title="Vitrine Women Green Tshirt")
    photo = product.primary_image.image.read()
    by_photo = product_list_by_photo(photo=photo, k=5, exclude=product.pk, borrow_text=False)
    strong = product_list_by_photo(photo=photo, k=12, exclude=product.pk)
    assert [r.product for r in strong[:1]] == [by_photo[0].product]
    assert [r.product for r in strong[:5]] != [r.product for r in by_photo]  # the text reorders
    monkeypatch.setattr(searches, "WEAK_MATCH_BELOW", 1.01)  # every match is weak
    weak = product_list_by_photo(photo=photo, k=12, exclude=product.pk)
    assert [r.product for r in weak[:5]] == [r.product for r in by_photo]
    assert all(r.score == pytest.approx(0.7 * r.image_score + 0.3 * r.text_score) for r in weak)


def test_no_look_alike_leads_when_the_setting_says_none(catalogue, monkeypatch, settings):
    from recommender.selectors import searches

    monkeypatch.setattr(searches, "WEAK_MATCH_BELOW", 1.01)
    settings.RECOMMENDER_PHOTO_CLOSEST_FIRST = 0
    product = Product.objects.get(title="Vitrine Women Green Tshirt")
    found = product_list_by_photo(
        photo=product.primary_image.image.read(), k=12, exclude=product.pk
    )
    assert [r.score for r in found] == sorted((r.score for r in found), reverse=True)


def test_search_by_photo_refuses_bytes_that_are_not_a_photo(catalogue):
    with pytest.raises(UnreadableImage):
        product_list_by_photo(photo=b"%PDF-1.4 definitely not a photo")


def test_reindex_builds_beside_the_live_index_and_switches_when_complete(catalogue):
    old = index_live()
    product = Product.objects.order_by("pk").first()
    seen_during_build = []

    def progress(count):  # called mid-build: the shop must still be serving the old index
        seen_during_build.append((index_live().pk, len(product_list_similar(product=product, k=5))))

    new = index_build(encoder="efficientnet_lite0", progress=progress)

    assert seen_during_build and all(pk == old.pk and n == 5 for pk, n in seen_during_build)
    assert index_live() == new != old
    assert not VectorIndex.objects.filter(pk=old.pk).exists()  # retired and deleted
    assert ProductEmbedding.objects.filter(index=new).count() == 48


def test_reindex_command_on_an_empty_index_builds_the_first_one(sample_catalogue, capsys):
    assert index_live() is None
    call_command("reindex", "--encoder", "efficientnet_lite0")
    assert "is live: 48 products, 0 failed photos" in capsys.readouterr().out
    assert index_live().encoder == "efficientnet_lite0"


@pytest.mark.fashion_dev
def test_indexed_rails_agree_with_exact_brute_force_on_fashion_dev(fashion_dev):
    catalogue_import(path=fashion_dev)
    index = index_build(encoder="efficientnet_lite0")
    rows = list(
        ProductEmbedding.objects.filter(index=index)
        .order_by("product_id")
        .values_list("product_id", "image", "text")
    )
    ids = np.array([product_id for product_id, _, _ in rows])
    images = np.stack([np.asarray(image, np.float32) for _, image, _ in rows])
    texts = np.zeros(
        (len(rows), max(max(t.indices(), default=0) for _, _, t in rows) + 1), np.float32
    )
    for i, (_, _, text) in enumerate(rows):
        texts[i, text.indices()] = text.values()
    random.seed(0)
    recalls = []
    for i in random.sample(range(len(rows)), 100):
        exact = 0.7 * images @ images[i] + 0.3 * texts @ texts[i]
        exact[i] = -np.inf
        truth = set(ids[np.argsort(-exact)[:10]])
        got = {r.product.pk for r in product_list_similar(product=Product.objects.get(pk=ids[i]))}
        recalls.append(len(truth & got) / 10)
    assert np.mean(recalls) >= 0.95, f"recall@10 {np.mean(recalls):.3f}"


def test_the_excluded_product_lends_no_text_to_its_own_photo_search(catalogue, monkeypatch):
    from recommender.selectors import searches as selectors

    product = Product.objects.get(title="Vitrine Women Yellow Trouser")
    lenders = []
    borrow = selectors._borrowed_text
    monkeypatch.setattr(
        selectors,
        "_borrowed_text",
        lambda index, nearest: (
            lenders.append([row[0] for row in nearest]) or borrow(index, nearest)
        ),
    )
    found = product_list_by_photo(photo=product.primary_image.image.read(), k=6, exclude=product.pk)
    assert len(lenders) == 2 and all(len(ids) == 10 for ids in lenders)  # two rounds of 10
    assert all(product.pk not in ids for ids in lenders)
    assert product.pk not in [r.product.pk for r in found]


def test_text_search_ranks_by_words_whatever_fields_a_product_has(catalogue):
    from django.utils import timezone

    from recommender import text_model
    from recommender.models import VectorIndex
    from recommender.selectors import product_list_by_text, words_similarity
    from recommender.services import text_index_refit_when_quiet
    from tests.factories.catalogue import ProductFactory

    placed = ProductFactory(title="Zebra canvas tote", colour="Beige")  # Apparel > Topwear > Shirts
    # The same words, but in its description: no category, no colour, so no field tokens.
    unplaced = ProductFactory(
        title="Zebra canvas tote",
        description="Apparel Topwear Shirts Beige",
        colour="",
        category=None,
    )
    VectorIndex.objects.update(text_changed_at=timezone.now())
    text_index_refit_when_quiet(quiet_seconds=0)
    index = index_live()
    row = text_model.transform(index.text_model, ["zebra tote"])[0]
    query = dict(zip(row.indices.tolist(), row.data.tolist(), strict=True))
    words = text_model.word_dimensions(index.text_model)
    stored = dict(
        ProductEmbedding.objects.filter(product__in=[placed, unplaced]).values_list(
            "product_id", "text"
        )
    )
    scores = {pk: words_similarity(query, stored[pk], words=words) for pk in stored}
    # Same words, same score: the one without a shelf or colour is not favoured (the whole
    # vectors' cosine would give it 0.79 against 0.57).
    assert scores[placed.pk] == pytest.approx(scores[unplaced.pk]) and scores[placed.pk] > 0.5
    # Through the search itself (an exact scan proposes, words rank): a zebra tote comes first.
    assert product_list_by_text(text="zebra tote", k=3)[0].product.title == "Zebra canvas tote"


def test_the_text_model_is_read_once_per_fit_not_per_search(catalogue):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from recommender.selectors import product_list_by_text
    from recommender.services import text_index_refit_when_quiet

    def model_reads() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert product_list_by_text(text="red tshirt", k=3)
        return sum('"text_model"' in query["sql"] for query in queries.captured_queries)

    model_reads()
    assert model_reads() == 0  # the live index's row leaves it out; the parsed model is kept
    VectorIndex.objects.update(text_changed_at=timezone.now())
    text_index_refit_when_quiet(quiet_seconds=0)
    assert model_reads() == 1  # a new fit is read once
    assert model_reads() == 0


def test_no_read_asks_the_index_for_more_than_it_can_give(catalogue, settings):
    """A k of 991 or more (a cart of ~990 lines asked for 10 + lines) was a 500: pgvector's
    hnsw.ef_search stops at 1000. Every read is capped at MAX_RESULTS."""
    from recommender.selectors import MAX_RESULTS, product_list_by_text

    product = Product.objects.get(title="Vitrine Men Red Tshirt")
    assert len(product_list_similar(product=product, k=5000)) == min(47, MAX_RESULTS)
    assert len(product_list_similar_scores(product=product, k=5000)) == 47
    assert len(product_list_by_text(text="red tshirt", k=5000)) <= MAX_RESULTS
    settings.RECOMMENDER_CANDIDATES = 5000  # an operator's typo is capped too
    assert len(product_list_similar(product=product, k=10)) == 10
