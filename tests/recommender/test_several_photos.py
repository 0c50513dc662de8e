"""A catalogue that is not fashion, with three photos per product, imported through Shopify's
format: every photo is embedded, search by any of a product's photos finds it first, and the
rails and the text model work from the catalogue's own categories."""

import json
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from recommender.models import PhotoEmbedding, ProductEmbedding
from recommender.selectors import product_list_by_photo, product_list_similar
from recommender.services import index_build, product_embeddings_refresh
from recommender.sweep import SWEEP_GRACE, products_needing_embedding
from shop.models import Product
from shop.sample_catalogue import write_sample_shopify_catalogue
from shop.services import catalogue_import

pytestmark = [pytest.mark.slow, pytest.mark.django_db]

PRODUCTS = 20


@pytest.fixture
def home_goods(tmp_path):
    """20 drawn home goods (mugs, vases, lamps, cushions, bowls), three photos each, in a live
    efficientnet_lite0 index."""
    csv_path = write_sample_shopify_catalogue(tmp_path / "home", products=PRODUCTS)
    report = catalogue_import(path=csv_path)
    assert (report.created, report.skipped, report.photo_errors) == (PRODUCTS, 0, [])
    return index_build(encoder="efficientnet_lite0"), tmp_path / "home" / "photos"


def test_every_photo_is_embedded_the_primary_for_rails_the_others_beside_it(home_goods):
    index, _ = home_goods
    assert ProductEmbedding.objects.filter(index=index, status="done").count() == PRODUCTS
    assert PhotoEmbedding.objects.filter(index=index).count() == 2 * PRODUCTS
    mug = Product.objects.get(external_id="black-mug-0")
    assert set(
        PhotoEmbedding.objects.filter(index=index, product=mug).values_list(
            "photo__position", flat=True
        )
    ) == {1, 2}

    # A photo removed from the product leaves the index with it.
    mug.images.get(position=2).delete()
    product_embeddings_refresh(product_ids=[mug.pk])
    assert PhotoEmbedding.objects.filter(index=index, product=mug).count() == 1


def test_search_by_any_photo_of_a_product_finds_that_product_first(home_goods):
    _, photos = home_goods
    found_first = []
    for product in Product.objects.all():
        for view in (2, 3):  # the turned view and the close-up, never the primary photo
            photo = (photos / f"{product.external_id}-{view}.jpg").read_bytes()
            results = product_list_by_photo(photo=photo, k=5)
            found_first.append(results[0].product == product)
    assert sum(found_first) / len(found_first) >= 0.95, found_first


def test_rails_and_words_come_from_the_catalogues_own_categories(home_goods):
    index, _ = home_goods
    mug = Product.objects.get(external_id="black-mug-0")
    assert mug.gender == mug.season == mug.usage == ""  # nothing fashion about it
    rail = product_list_similar(product=mug, k=3)
    assert [similar.product.category.name for similar in rail].count("Mugs") >= 2
    vocabulary = index.text_model["vocabulary"]
    assert {"mug", "vase", "lamp", "cushion", "bowl", "kitchen", "lighting"} <= set(vocabulary)
    assert "vitrine" in vocabulary  # only in the Vendor attribute: attributes' values count
    assert f"category:{mug.category_id}" in index.text_model["fields"]


def test_evaluate_reports_search_by_other_photos(home_goods, tmp_path):
    out = StringIO()
    call_command(
        "evaluate",
        "--queries",
        "10",
        "--skip-experiments",
        "--shopper-queries",
        "0",
        "--json",
        tmp_path / "figures.json",
        "--report",
        tmp_path / "report.html",
        stdout=out,
    )
    figures = json.loads((tmp_path / "figures.json").read_text())["other_photos"]
    assert figures["queries"] == 20  # the 10 sampled products' two other photos each
    assert figures["hit@1"] >= 0.95 and figures["hit@10"] == 1.0
    assert f"other photos: hit@1 {figures['hit@1']:.3f}" in out.getvalue()
    assert "Search by a product's other photos" in (tmp_path / "report.html").read_text()


def test_the_sweep_catches_another_photo_whose_vector_was_missed(home_goods):
    index, _ = home_goods
    vase = Product.objects.get(external_id="black-vase-1")
    assert products_needing_embedding() == []
    PhotoEmbedding.objects.filter(index=index, product=vase).delete()  # its event was lost
    assert products_needing_embedding() == []  # within the grace, its message may be queued
    vase.images.update(created_at=timezone.now() - SWEEP_GRACE - timedelta(minutes=1))
    assert products_needing_embedding() == [vase.pk]
    product_embeddings_refresh(product_ids=[vase.pk])
    assert products_needing_embedding() == []


def test_a_shop_without_genders_shows_no_gender_filter(home_goods, client):
    mugs = Product.objects.get(external_id="black-mug-0").category
    page = client.get(reverse("shop:category", args=[mugs.slug]))
    assert "gender" not in page.context["filter_form"].fields
    assert "Gender" not in page.content.decode()
    assert "Colour" in page.content.decode()
