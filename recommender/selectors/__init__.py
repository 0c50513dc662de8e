"""Reads from the vector index: "visually similar" rails and searches, for callers that should
not care which module does what.

- ``ranking``: the engine: each HNSW index (image, text) proposes, the union is ranked exactly
  by ``w_image * image cosine + w_text * text cosine`` (0.7 / 0.3 by default).
- ``rails``: a product's rail, a cart's "you may also like".
- ``searches``: by photo (borrowing the text of the products the photo resembles: the
  catalogue's own categories and colours steer the results, docs/evaluation/README.md), by
  words, and a photo's near-duplicates.
- ``behaviour``: rails from what shoppers do ("also viewed", "bought together", recently viewed).
- ``index_status``: the live index, its text model, each product's embedding in it.
"""

from recommender.selectors.behaviour import (
    BehaviourProduct,
    behaviour_trusted,
    product_list_also_viewed,
    product_list_bought_together,
    product_list_picked_for,
    product_list_recently_viewed,
    rail_blend,
)
from recommender.selectors.index_status import (
    index_live,
    product_annotate_embedding_status,
    product_embedding_get,
    product_embedding_status,
    text_model_get,
)
from recommender.selectors.rails import (
    product_list_similar,
    product_list_similar_scores,
    product_list_you_may_like,
)
from recommender.selectors.ranking import MAX_RESULTS, SimilarProduct
from recommender.selectors.searches import (
    PhotoItem,
    PhotoSearch,
    product_list_by_photo,
    product_list_by_text,
    product_list_photo_duplicates,
    product_search_by_photo,
    words_similarity,
)

__all__ = [
    "MAX_RESULTS",
    "BehaviourProduct",
    "PhotoItem",
    "PhotoSearch",
    "SimilarProduct",
    "behaviour_trusted",
    "index_live",
    "product_annotate_embedding_status",
    "product_embedding_get",
    "product_embedding_status",
    "product_list_also_viewed",
    "product_list_bought_together",
    "product_list_by_photo",
    "product_list_by_text",
    "product_list_photo_duplicates",
    "product_list_picked_for",
    "product_list_recently_viewed",
    "product_list_similar",
    "product_list_similar_scores",
    "product_list_you_may_like",
    "product_search_by_photo",
    "rail_blend",
    "text_model_get",
    "words_similarity",
]
