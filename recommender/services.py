"""Writes to the vector index: building it, keeping product vectors fresh, refitting text."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterable

from django.conf import settings
from django.db import transaction
from django.db.models import Prefetch
from django.utils import timezone
from pgvector import SparseVector

from recommender import text_model
from recommender.encoders import ImageEncoder, choose_encoder, load_encoder
from recommender.models import TEXT_DIMENSIONS, ProductEmbedding, VectorIndex
from shop.models import Category, Product, ProductImage

logger = logging.getLogger(__name__)

BATCH_SIZE = 256
Progress = Callable[[int], None] | None


@functools.cache
def _encoder(name: str) -> ImageEncoder:
    return load_encoder(
        name,
        resnet50_weights=settings.RECOMMENDER_RESNET50_WEIGHTS or None,
        download=settings.RECOMMENDER_DOWNLOAD_WEIGHTS,
        fit=settings.RECOMMENDER_IMAGE_FIT,
        cache_dir=settings.RECOMMENDER_CACHE_DIR,
    )


def encoder_for(index: VectorIndex) -> ImageEncoder:
    """The encoder that made ``index``: loaded once per process, never swapped silently."""
    encoder = _encoder(index.encoder)
    if encoder.version != index.encoder_version:
        raise RuntimeError(
            f"{index} was built with {index.encoder} {index.encoder_version}, but this machine has "
            f"{encoder.version}; run `manage.py reindex` to rebuild it"
        )
    return encoder


def product_text(product: Product, category_names: dict[int, list[str]] | None = None) -> str:
    names = (category_names or {}).get(product.category_id)
    if names is None and product.category_id:
        names = [
            c.name for c in [*Category.objects.get_ancestors(product.category), product.category]
        ]
    fields = [
        product.title,
        product.description,
        *(names or []),
        product.colour,
        product.gender,
        product.usage,
        product.season,
    ]
    return " ".join(field for field in fields if field)


def _category_names() -> dict[int, list[str]]:
    by_path = {c.path: c for c in Category.objects.all()}
    step = Category.steplen
    return {
        c.pk: [by_path[c.path[: i + step]].name for i in range(0, len(c.path), step)]
        for c in by_path.values()
    }


def _products(ids: Iterable[int] | None = None):
    queryset = Product.objects.prefetch_related(
        Prefetch("images", queryset=ProductImage.objects.filter(is_primary=True))
    ).order_by("pk")
    return queryset if ids is None else queryset.filter(pk__in=list(ids))


def _sparse(row) -> SparseVector:
    return SparseVector(
        dict(zip(row.indices.tolist(), row.data.tolist(), strict=True)), TEXT_DIMENSIONS
    )


def index_build(*, encoder: str | None = None, progress: Progress = None) -> VectorIndex:
    """Build a complete new index beside the live one, then make it live in one transaction.

    Rails keep reading the old index until the switch. Returns the new, live index.
    """
    choice = choose_encoder(
        encoder or settings.RECOMMENDER_ENCODER,
        resnet50_weights=settings.RECOMMENDER_RESNET50_WEIGHTS or None,
        download=settings.RECOMMENDER_DOWNLOAD_WEIGHTS,
    )
    image_encoder = _encoder(choice.name)
    logger.info("Building a %s index: %s", choice.name, choice.reason)
    index = VectorIndex.objects.create(
        encoder=choice.name, encoder_version=image_encoder.version, encoder_reason=choice.reason
    )
    _text_refit(index)
    product_ids = list(Product.objects.order_by("pk").values_list("pk", flat=True))
    for start in range(0, len(product_ids), BATCH_SIZE):
        batch = product_ids[start : start + BATCH_SIZE]
        _embed(index, image_encoder, batch, force=False)
        if progress:
            progress(len(batch))
    index_switch(index=index)
    return index


def index_switch(*, index: VectorIndex) -> None:
    """Make ``index`` the live one; the previous live index is retired and deleted."""
    with transaction.atomic():
        previous = list(
            VectorIndex.objects.select_for_update().filter(state=VectorIndex.State.LIVE)
        )
        VectorIndex.objects.filter(pk__in=[p.pk for p in previous]).update(
            state=VectorIndex.State.RETIRED
        )
        index.state, index.live_since = VectorIndex.State.LIVE, timezone.now()
        index.save(update_fields=["state", "live_since"])
    VectorIndex.objects.filter(state=VectorIndex.State.RETIRED).delete()


def product_embeddings_refresh(*, product_ids: Iterable[int], force: bool = False) -> None:
    """Bring these products' vectors up to date in every index in use (live and building).

    Idempotent: an image whose hash matches the stored vector is not encoded again (unless
    ``force``). A photo that cannot be read marks that product failed, with the reason.
    """
    product_ids = list(product_ids)
    for index in VectorIndex.objects.exclude(state=VectorIndex.State.RETIRED):
        _embed(index, encoder_for(index), product_ids, force=force)


def _embed(index: VectorIndex, encoder: ImageEncoder, product_ids: list[int], *, force: bool):
    products = {p.pk: p for p in _products(product_ids)}
    existing = {
        e.product_id: e
        for e in ProductEmbedding.objects.filter(index=index, product_id__in=products)
    }
    names = _category_names()
    texts = (
        text_model.transform(index.text_model, [product_text(p, names) for p in products.values()])
        if index.text_model
        else None
    )
    rows, photos = {}, []
    for position, product in enumerate(products.values()):
        row = existing.get(product.pk) or ProductEmbedding(
            index=index, product=product, encoder=index.encoder
        )
        if texts is not None:
            row.text = _sparse(texts[position]) if texts[position].nnz else None
        photo = product.primary_image
        if photo is None:
            row.image, row.image_sha256, row.status, row.error = None, "", "done", ""
        elif force or row.image_sha256 != photo.sha256 or row.status != "done":
            photos.append((product.pk, photo))
        rows[product.pk] = row

    def photo_bytes():
        for product_id, photo in photos:
            try:
                with photo.image.open("rb") as handle:
                    yield product_id, handle.read()
            except OSError as error:
                row = rows[product_id]
                row.status, row.error, row.image = "failed", f"photo unreadable: {error}", None

    sha = {product_id: photo.sha256 for product_id, photo in photos}
    for batch in encoder.encode_stream(photo_bytes()):
        for product_id, vector in zip(batch.keys, batch.vectors, strict=True):
            row = rows[product_id]
            row.image, row.image_sha256, row.status, row.error = vector, sha[product_id], "done", ""
        for product_id, reason in batch.failures:
            row = rows[product_id]
            row.image, row.image_sha256, row.status, row.error = (
                None,
                sha[product_id],
                "failed",
                reason,
            )
            logger.warning("Product %s: %s", product_id, reason)

    ProductEmbedding.objects.bulk_create(
        rows.values(),
        update_conflicts=True,
        unique_fields=["index", "product"],
        update_fields=["image", "text", "image_sha256", "status", "error", "encoder", "updated_at"],
    )


def text_index_refit(*, index: VectorIndex) -> None:
    """Refit TF-IDF on the whole catalogue and rewrite every text vector of ``index``."""
    _text_refit(index)


def _text_refit(index: VectorIndex) -> None:
    started = timezone.now()
    names = _category_names()
    products = list(Product.objects.order_by("pk"))
    model, vectors = (
        text_model.fit([product_text(p, names) for p in products], max_features=TEXT_DIMENSIONS)
        if products
        else (None, None)
    )
    rows = [
        ProductEmbedding(
            index=index,
            product=product,
            encoder=index.encoder,
            text=_sparse(vectors[i]) if vectors[i].nnz else None,
        )
        for i, product in enumerate(products)
    ]
    with transaction.atomic():
        VectorIndex.objects.filter(pk=index.pk).update(text_model=model, text_fitted_at=started)
        index.text_model, index.text_fitted_at = model, started
        # New rows start pending (no image vector yet); existing ones only get their text.
        ProductEmbedding.objects.bulk_create(
            rows,
            update_conflicts=True,
            unique_fields=["index", "product"],
            update_fields=["text", "updated_at"],
            batch_size=1000,
        )
