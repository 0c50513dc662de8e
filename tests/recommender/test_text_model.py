"""TF-IDF plus field tokens: words blur, a product's own category and colour match exactly."""

import numpy as np
import pytest

from recommender import text_model

DIMENSIONS = 1 << 17
TEXTS = ["Nike red running shirt", "Puma navy running shirt", "Nike red trainers"]
FIELDS = [["category:1", "colour:red"], ["category:1", "colour:blue"], ["category:2", "colour:red"]]


def cosines(vectors):
    return (vectors @ vectors.T).toarray()


def test_field_tokens_make_shelf_and_colour_count_exactly():
    model, vectors = text_model.fit(TEXTS, fields=FIELDS, max_features=DIMENSIONS)
    assert vectors.shape == (3, DIMENSIONS)
    assert np.allclose(np.sqrt(vectors.multiply(vectors).sum(axis=1)), 1)
    _, words_only = text_model.fit(TEXTS, max_features=DIMENSIONS)
    with_fields, without = cosines(vectors), cosines(words_only)
    # Same shelf, other colour: the two shirts come closer than their words alone put them.
    assert with_fields[0, 1] > without[0, 1]
    # Each field is a column of its own, after every word column.
    assert min(model["fields"].values()) == DIMENSIONS - text_model.FIELD_DIMENSIONS
    assert text_model.word_dimensions(model) == DIMENSIONS - text_model.FIELD_DIMENSIONS
    assert set(model["fields"]) == {"category:1", "category:2", "colour:red", "colour:blue"}


def test_a_search_query_is_words_alone_and_unknown_fields_are_ignored():
    model, vectors = text_model.fit(TEXTS, fields=FIELDS, max_features=DIMENSIONS)
    query = text_model.transform(model, ["red trainers"])
    assert query.shape == (1, DIMENSIONS)
    assert (query @ vectors.T).toarray().argmax() == 2
    stranger = text_model.transform(model, ["red shirt"], [["category:99", "colour:teal"]])
    assert stranger.nnz == len({"red", "shirt"})


def test_a_model_fitted_before_field_tokens_still_transforms():
    model, _ = text_model.fit(TEXTS, max_features=DIMENSIONS)
    old = {"vocabulary": model["vocabulary"], "idf": model["idf"]}
    vector = text_model.transform(old, ["red shirt"], [["category:1"]])
    assert vector.nnz == 2 and vector.sum() == pytest.approx(np.sqrt(2), rel=1e-3)
