"""TF-IDF over product text, kept as JSON so that every process uses the same vocabulary.

No Django here. A product's text is its title, description and catalogue fields (category
path, colour, gender, usage, season): a shop knows these about its own products.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer

PARAMS = {"lowercase": True, "sublinear_tf": True, "dtype": np.float32}


def fit(texts: Sequence[str], *, max_features: int) -> tuple[dict, sparse.csr_matrix]:
    """Fit on ``texts``; return the model (JSON-ready) and their unit-length vectors."""
    vectorizer = TfidfVectorizer(max_features=max_features, **PARAMS)
    vectors = vectorizer.fit_transform(texts).astype(np.float32)
    model = {
        "vocabulary": {term: int(i) for term, i in vectorizer.vocabulary_.items()},
        "idf": vectorizer.idf_.astype(float).tolist(),
    }
    return model, vectors.tocsr()


def transform(model: dict, texts: Sequence[str]) -> sparse.csr_matrix:
    """Vectors of ``texts`` in a fitted model's vocabulary (words it never saw are ignored)."""
    vectorizer = TfidfVectorizer(vocabulary=model["vocabulary"], **PARAMS)
    vectorizer.idf_ = np.asarray(model["idf"], dtype=np.float64)
    return vectorizer.transform(texts).astype(np.float32).tocsr()
