"""Writes to the vector index, for callers that should not care which module does what.

- ``indexing``: build an index beside the live one, switch, keep product vectors fresh.
- ``text_index``: fit and refit the text model and the products' text vectors.
- ``queueing``: queue that work for changed products (the catalogue's events) or on request.
- ``sweep``: find work whose message or event was lost.
- ``encoding``: the encoder that made an index, loaded once per process.
- ``documents``: a product as text (which catalogue fields feed the text model).
- ``broker``: send a task without ever failing the caller.
"""

from config.broker import enqueue
from recommender.documents import category_paths, product_fields, product_text
from recommender.encoding import IndexOutdated, encoder_for, encoder_load
from recommender.indexing import (
    index_build,
    index_predates_preprocessing,
    index_switch,
    product_embeddings_refresh,
)
from recommender.queueing import product_changes_queue, products_reembed
from recommender.sweep import SWEEP_GRACE, products_needing_embedding, text_refit_overdue
from recommender.text_index import sparse_vector, text_index_fit, text_index_refit_when_quiet

__all__ = [
    "SWEEP_GRACE",
    "IndexOutdated",
    "category_paths",
    "encoder_for",
    "encoder_load",
    "enqueue",
    "index_build",
    "index_predates_preprocessing",
    "index_switch",
    "product_changes_queue",
    "product_embeddings_refresh",
    "product_fields",
    "product_text",
    "products_needing_embedding",
    "products_reembed",
    "sparse_vector",
    "text_index_fit",
    "text_index_refit_when_quiet",
    "text_refit_overdue",
]
