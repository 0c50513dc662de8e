"""What a product card says about why it is in a ranked list (Look and Words)."""

from __future__ import annotations

import pytest
from django.template.loader import render_to_string

from recommender.selectors.ranking import SimilarProduct
from tests.factories.catalogue import ProductFactory

pytestmark = pytest.mark.django_db


def card(similar: SimilarProduct) -> str:
    return render_to_string(
        "shop/_product_card.html", {"product": similar.product, "similar": similar}
    )


def test_a_match_on_photos_and_words_shows_the_share_of_each():
    similar = SimilarProduct(ProductFactory(), 0.78, 0.9, 0.5, image_weight=0.7, text_weight=0.3)
    assert "Look 81% · Words 19%" in card(similar)


def test_a_suggestion_ranked_on_words_alone_shows_no_look_0_percent():
    """The text search's suggestions: the photos had no say, so there is no Look to show."""
    similar = SimilarProduct(ProductFactory(), 0.6, 0.0, 0.6, image_weight=0.0, text_weight=1.0)
    html = card(similar)
    assert "Look" not in html and "<meter" not in html


def test_the_rail_explains_look_and_words_once_and_only_where_they_show():
    products = ProductFactory.create_batch(3)
    mixed = [SimilarProduct(p, 0.78, 0.9, 0.5, 0.7, 0.3) for p in products]
    words = [SimilarProduct(p, 0.6, 0.0, 0.6, 0.0, 1.0) for p in products]
    context = {"heading": "You may also like", "rail_id": "suggestions"}
    explained = render_to_string("shop/_rail.html", {**context, "items": mixed})
    assert explained.count("Look and Words: how much of each match") == 1
    assert "Look and Words" not in render_to_string("shop/_rail.html", {**context, "items": words})
