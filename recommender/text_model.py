"""TF-IDF over product text, kept as JSON so that every process uses the same vocabulary.

No Django here. A product's text is its title, description and catalogue fields (category
path, colour, gender, usage, season): a shop knows these about its own products.

Besides the words, a product's vector carries **field tokens**, its own category and its
colour, as exact one-hot entries beside the TF-IDF part. Words blur ("navy" vs "blue" in
titles, "Tshirts" in a path shared by many); the fields say exactly which shelf and which
colour (docs/evaluation/README.md has the figures and the held-out check).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.preprocessing import normalize

PARAMS = {"lowercase": True, "sublinear_tf": True, "dtype": np.float32}
# Each field token weighs as much as all the words together (the words' part has unit length).
FIELD_WEIGHT = 1.0
# Dimensions kept for field tokens at the end of the vector space; rarer ones beyond are dropped.
FIELD_DIMENSIONS = 1 << 14


def fit(
    texts: Sequence[str], *, max_features: int, fields: Sequence[Sequence[str]] | None = None
) -> tuple[dict, sparse.csr_matrix]:
    """Fit on ``texts`` (and each text's ``fields``); return the model (JSON-ready) and their
    unit-length vectors, ``max_features`` dimensions in all."""
    words = max_features - FIELD_DIMENSIONS
    vectorizer = TfidfVectorizer(max_features=words, **PARAMS)
    vectorizer.fit(texts)
    counts = Counter(token for tokens in fields or [] for token in set(tokens))
    field_index = {
        token: words + i for i, (token, _) in enumerate(counts.most_common(FIELD_DIMENSIONS))
    }
    model = {
        "vocabulary": {term: int(i) for term, i in vectorizer.vocabulary_.items()},
        "idf": vectorizer.idf_.astype(float).tolist(),
        "fields": field_index,
        "field_weight": FIELD_WEIGHT,
        "dimensions": max_features,
    }
    return model, transform(model, texts, fields)


def transform(
    model: dict, texts: Sequence[str], fields: Sequence[Sequence[str]] | None = None
) -> sparse.csr_matrix:
    """Unit vectors of ``texts`` in a fitted model's space (unknown words and fields are ignored).

    A search query has no fields: its vector is its words alone.
    """
    vectorizer = TfidfVectorizer(vocabulary=model["vocabulary"], **PARAMS)
    vectorizer.idf_ = np.asarray(model["idf"], dtype=np.float64)
    vectors = vectorizer.transform(texts).astype(np.float32)
    field_index = model.get("fields") or {}
    dimensions = model.get("dimensions", vectors.shape[1])
    vectors.resize((len(texts), dimensions))  # the words' columns come first
    rows, columns = [], []
    for row, tokens in enumerate(fields or []):
        known = sorted({field_index[token] for token in tokens if token in field_index})
        rows += [row] * len(known)
        columns += known
    field_part = sparse.csr_matrix(
        (np.full(len(rows), model.get("field_weight", 0.0), np.float32), (rows, columns)),
        shape=(len(texts), dimensions),
    )
    return normalize(vectors + field_part).astype(np.float32).tocsr()


def word_dimensions(model: dict) -> int:
    """How many leading dimensions of a vector hold words (the field tokens come after)."""
    if model.get("fields") is None:  # fitted before field tokens: words only
        return len(model["vocabulary"])
    return model["dimensions"] - FIELD_DIMENSIONS
