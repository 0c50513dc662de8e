"""Writes to the image side of the index: building an index beside the live one and switching to
it, and keeping each product's vectors up to date with its photo and text."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Prefetch
from django.utils import timezone

from recommender import projection, text_model
from recommender.documents import category_paths, product_fields, product_text
from recommender.encoders import ImageEncoder, choose_encoder
from recommender.encoders.preprocessing import PREPROCESSING_VERSION
from recommender.encoding import IndexOutdated, encoder_for, encoder_load
from recommender.models import PhotoEmbedding, ProductEmbedding, VectorIndex
from recommender.shopper_index import index_shopper_space, index_shopper_space_learn
from recommender.text_index import sparse_vector, text_index_fit
from shop.models import Product, ProductImage

logger = logging.getLogger(__name__)

BATCH_SIZE = 256

Progress = Callable[[int], None] | None


def _products(ids: Iterable[int] | None = None):
    queryset = Product.objects.prefetch_related(
        Prefetch("images", queryset=ProductImage.objects.filter(is_primary=True))
    ).order_by("pk")
    return queryset if ids is None else queryset.filter(pk__in=list(ids))


def index_build(*, encoder: str | None = None, progress: Progress = None) -> VectorIndex:
    """Build a complete new index beside the live one, then make it live in one transaction;
    then learn its shopper space (search by photo ranks in it from then on).

    Rails keep reading the old index until the switch. Returns the new, live index.
    """
    choice = choose_encoder(
        encoder or settings.RECOMMENDER_ENCODER,
        resnet50_weights=settings.RECOMMENDER_RESNET50_WEIGHTS or None,
        download=settings.RECOMMENDER_DOWNLOAD_WEIGHTS,
    )
    image_encoder = encoder_load(choice.name)
    logger.info("Building a %s index: %s", choice.name, choice.reason)
    index = VectorIndex.objects.create(
        encoder=choice.name, encoder_version=image_encoder.version, encoder_reason=choice.reason
    )
    text_index_fit(index)
    product_ids = list(Product.objects.order_by("pk").values_list("pk", flat=True))
    for start in range(0, len(product_ids), BATCH_SIZE):
        batch = product_ids[start : start + BATCH_SIZE]
        _embed(index, image_encoder, batch, force=False)
        if progress:
            progress(len(batch))
    index_switch(index=index)
    # Live first: rails and search need not wait minutes for the shopper photos.
    try:
        index_shopper_space_learn(index, image_encoder)
    except Exception:  # the index serves without it: search by photo keeps the encoder's space
        logger.exception("Learning %s's shopper space failed; reindex to try again", index)
    with connection.cursor() as cursor:
        # Fresh statistics: without them the planner may scan every row instead of the HNSW.
        cursor.execute(f"ANALYZE {ProductEmbedding._meta.db_table}")
        cursor.execute(f"ANALYZE {PhotoEmbedding._meta.db_table}")
    return index


def index_predates_preprocessing(index: VectorIndex) -> bool:
    """Whether ``index`` was built before this version's photo preprocessing (cheap: no model
    is loaded). Such an index serves rails but not search by photo until it is rebuilt."""
    return not index.encoder_version.endswith(f"+{PREPROCESSING_VERSION}")


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
        try:
            encoder = encoder_for(index)
        except IndexOutdated as error:
            # Its rebuild (reindex) embeds every product; new vectors must not join it.
            logger.warning("Not embedding into %s: %s", index, error)
            continue
        _embed(index, encoder, product_ids, force=force)


def _embed_other_photos(
    index: VectorIndex, encoder: ImageEncoder, product_ids: Iterable[int], *, force: bool
) -> None:
    """Vectors of these products' photos other than the primary one (``PhotoEmbedding``):
    new or changed photos encoded, vectors of photos gone (or now primary) deleted."""
    product_ids = list(product_ids)
    photos = {
        photo.pk: photo
        for photo in ProductImage.objects.filter(product_id__in=product_ids, is_primary=False)
    }
    existing = {
        row.photo_id: row
        for row in PhotoEmbedding.objects.filter(index=index, product_id__in=product_ids)
    }
    PhotoEmbedding.objects.filter(
        pk__in=[row.pk for photo_id, row in existing.items() if photo_id not in photos]
    ).delete()
    todo = [
        photo
        for photo in photos.values()
        if force or getattr(existing.get(photo.pk), "image_sha256", None) != photo.sha256
    ]

    def photo_bytes():
        for photo in todo:
            try:
                with photo.image.open("rb") as handle:
                    yield photo.pk, handle.read()
            except OSError as error:
                # The product keeps its other photos; the sweep of its primary one reports it.
                logger.warning("Photo %s of product %s: %s", photo.pk, photo.product_id, error)

    rows = []
    # Colours are read from primary photos only (search by photo names a colour from them).
    for batch in encoder.encode_stream(photo_bytes(), colours=False):
        for photo_id, vector in zip(batch.keys, batch.vectors, strict=True):
            photo = photos[photo_id]
            rows.append(
                PhotoEmbedding(
                    index=index,
                    product_id=photo.product_id,
                    photo=photo,
                    image_sha256=photo.sha256,
                    image=vector,
                    image_projected=projection.project(vector),
                )
            )
        for photo_id, reason in batch.failures:
            logger.warning(
                "Photo %s of product %s: %s", photo_id, photos[photo_id].product_id, reason
            )
    PhotoEmbedding.objects.bulk_create(
        rows,
        update_conflicts=True,
        unique_fields=["index", "photo"],
        update_fields=["image", "image_projected", "image_sha256"],
    )


def _outdated(row: ProductEmbedding, photo: ProductImage) -> bool:
    # A row without a colour was indexed before photos had one: encoding again gives it.
    return row.image_sha256 != photo.sha256 or row.status != "done" or row.colour is None


def _embed(index: VectorIndex, encoder: ImageEncoder, product_ids: list[int], *, force: bool):
    products = {p.pk: p for p in _products(product_ids)}
    existing = {
        e.product_id: e
        for e in ProductEmbedding.objects.filter(index=index, product_id__in=products)
    }
    names = category_paths()
    texts = (
        text_model.transform(
            index.text_model,
            [product_text(p, names) for p in products.values()],
            [product_fields(p) for p in products.values()],
        )
        if index.text_model
        else None
    )
    rows, photos = {}, []
    for position, product in enumerate(products.values()):
        row = existing.get(product.pk) or ProductEmbedding(
            index=index, product=product, encoder=index.encoder
        )
        if texts is not None:
            row.text = sparse_vector(texts[position]) if texts[position].nnz else None
        photo = product.primary_image
        if photo is None:
            row.image, row.colour, row.image_sha256, row.status, row.error = (
                None,
                None,
                "",
                "done",
                "",
            )
        elif _outdated(row, photo) or force:
            photos.append((product.pk, photo))
        rows[product.pk] = row

    def photo_bytes():
        for product_id, photo in photos:
            try:
                with photo.image.open("rb") as handle:
                    yield product_id, handle.read()
            except OSError as error:
                row = rows[product_id]
                row.status, row.error = "failed", f"photo unreadable: {error}"
                row.image = row.colour = None

    sha = {product_id: photo.sha256 for product_id, photo in photos}
    for batch in encoder.encode_stream(photo_bytes()):
        for product_id, vector, colour in zip(
            batch.keys, batch.vectors, batch.colours, strict=True
        ):
            row = rows[product_id]
            row.image, row.image_sha256, row.status, row.error = vector, sha[product_id], "done", ""
            row.colour = colour
        for product_id, reason in batch.failures:
            row = rows[product_id]
            row.image, row.colour, row.image_sha256, row.status, row.error = (
                None,
                None,
                sha[product_id],
                "failed",
                reason,
            )
            logger.warning("Product %s: %s", product_id, reason)

    space = index_shopper_space(index)
    for row in rows.values():
        row.image_projected = None if row.image is None else projection.project(row.image)
        row.image_shopper = None if row.image is None or space is None else space.apply(row.image)
    _embed_other_photos(index, encoder, products, force=force)
    ProductEmbedding.objects.bulk_create(
        rows.values(),
        update_conflicts=True,
        unique_fields=["index", "product"],
        update_fields=[
            "image",
            "image_projected",
            "image_shopper",
            "colour",
            "text",
            "image_sha256",
            "status",
            "error",
            "encoder",
            "updated_at",
        ],
    )
