"""Writes to the text side of the index: the TF-IDF model fitted over every product's text and
each product's text vector, refitted once the catalogue has been quiet a while."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from pgvector import SparseVector

from recommender import text_model
from recommender.documents import category_paths, product_fields, product_text
from recommender.models import TEXT_DIMENSIONS, ProductEmbedding, VectorIndex
from shop.models import Product


def sparse_vector(row) -> SparseVector:
    return SparseVector(
        dict(zip(row.indices.tolist(), row.data.tolist(), strict=True)), TEXT_DIMENSIONS
    )


def text_index_refit_when_quiet(*, quiet_seconds: float) -> float:
    """Refit the text model of every index in use once the catalogue has been quiet a while.

    Many edits, one refit: returns 0 when done (or nothing to do), or the seconds to wait
    before trying again because the catalogue changed less than ``quiet_seconds`` ago.
    """
    for index in VectorIndex.objects.exclude(state=VectorIndex.State.RETIRED):
        changed_at = index.text_changed_at
        if changed_at is None:
            continue
        wait = quiet_seconds - (timezone.now() - changed_at).total_seconds()
        if wait > 0:
            return wait
        text_index_fit(index)
        # Only clear what this refit covered: a change during the refit keeps it stale.
        VectorIndex.objects.filter(pk=index.pk, text_changed_at=changed_at).update(
            text_changed_at=None
        )
    return 0


def text_index_fit(index: VectorIndex) -> None:
    """Fit the text model of ``index`` over every product and write each product's text vector,
    all in one transaction: a crash leaves the previous model and vectors serving."""
    started = timezone.now()
    names = category_paths()
    products = list(Product.objects.order_by("pk"))
    model, vectors = (
        text_model.fit(
            [product_text(p, names) for p in products],
            fields=[product_fields(p) for p in products],
            max_features=TEXT_DIMENSIONS,
        )
        if products
        else (None, None)
    )
    rows = [
        ProductEmbedding(
            index=index,
            product=product,
            encoder=index.encoder,
            text=sparse_vector(vectors[i]) if vectors[i].nnz else None,
        )
        for i, product in enumerate(products)
    ]
    with transaction.atomic():
        VectorIndex.objects.filter(pk=index.pk).update(text_model=model, text_fitted_at=started)
        # New rows start pending (no image vector yet); existing ones only get their text.
        ProductEmbedding.objects.bulk_create(
            rows,
            update_conflicts=True,
            unique_fields=["index", "product"],
            update_fields=["text", "updated_at"],
            batch_size=1000,
        )
    index.text_model, index.text_fitted_at = model, started  # only once it is committed
