"""Reads from the vector index: "visually similar" rails and searches, for callers that should
not care which module does what.

- ``ranking``: the engine: each HNSW index (image, text) proposes, the union is ranked exactly
  by ``w_image * image cosine + w_text * text cosine`` (0.7 / 0.3 by default).
- ``rails``: a product's rail, a cart's "you may also like".
- ``searches``: by photo (borrowing the text of the products the photo resembles: the
  catalogue's own categories and colours steer the results, docs/evaluation/README.md), by
  words, and a photo's near-duplicates.
- ``index_status``: the live index, its text model, each product's embedding in it.
"""

from recommender.selectors.index_status import (
    embedding_status,
    fitted_text_model,
    live_index,
    with_embedding_status,
)
from recommender.selectors.rails import (
    products_you_may_like,
    similar_product_scores,
    similar_products,
)
from recommender.selectors.ranking import MAX_RESULTS, SimilarProduct
from recommender.selectors.searches import (
    product_photo_duplicates,
    products_by_photo,
    products_by_text,
    words_similarity,
)

__all__ = [
    "MAX_RESULTS",
    "SimilarProduct",
    "embedding_status",
    "fitted_text_model",
    "live_index",
    "product_photo_duplicates",
    "products_by_photo",
    "products_by_text",
    "products_you_may_like",
    "similar_product_scores",
    "similar_products",
    "with_embedding_status",
    "words_similarity",
]
