"""Writes to the vector index: building it, keeping product vectors fresh, refitting text."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterable
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Exists, F, OuterRef, Prefetch, Q, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from pgvector import SparseVector

from recommender import projection, text_model
from recommender.encoders import ImageEncoder, choose_encoder, load_encoder
from recommender.encoders.preprocessing import PREPROCESSING_VERSION
from recommender.models import TEXT_DIMENSIONS, ProductEmbedding, VectorIndex
from shop.models import Category, Product, ProductImage

logger = logging.getLogger(__name__)

BATCH_SIZE = 256
EMBED_TASK_SIZE = 64  # products per Celery message: small enough to retry cheaply
SWEEP_GRACE = timedelta(minutes=5)  # a pending row younger than this may still be in a queue
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


class IndexOutdated(RuntimeError):
    """The live index was built by another encoder version or photo preprocessing than this
    machine has: its vectors and new ones must not meet. Rails still work (they compare stored
    vectors); encoding new photos waits for ``manage.py reindex``."""


def encoder_for(index: VectorIndex) -> ImageEncoder:
    """The encoder that made ``index``: loaded once per process, never swapped silently.

    Raises ``IndexOutdated`` when this machine's encoder is not the one that made the index.
    """
    encoder = _encoder(index.encoder)
    if encoder.version != index.encoder_version:
        raise IndexOutdated(
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


# Colour values that say nothing: products "of colour NA" are not alike.
COLOUR_PLACEHOLDERS = {"na", "n/a", "none", "unknown", "-"}


def product_fields(product: Product) -> list[str]:
    """The catalogue facts that place a product exactly: its own category and its colour."""
    fields = [f"category:{product.category_id}"] if product.category_id else []
    colour = product.colour.strip().lower()
    known = colour and colour not in COLOUR_PLACEHOLDERS
    return fields + ([f"colour:{colour}"] if known else [])


def category_paths() -> dict[int, list[str]]:
    """Every category's names from its root down to itself, by category id."""
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


def sparse_vector(row) -> SparseVector:
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
    with connection.cursor() as cursor:
        # Fresh statistics: without them the planner may scan every row instead of the HNSW.
        cursor.execute(f"ANALYZE {ProductEmbedding._meta.db_table}")
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

    for row in rows.values():
        row.image_projected = None if row.image is None else projection.project(row.image)
    ProductEmbedding.objects.bulk_create(
        rows.values(),
        update_conflicts=True,
        unique_fields=["index", "product"],
        update_fields=[
            "image",
            "image_projected",
            "text",
            "image_sha256",
            "status",
            "error",
            "encoder",
            "updated_at",
        ],
    )


def product_changes_queue(*, product_ids: Iterable[int]) -> None:
    """Products were created or edited: queue their embedding and a text refit.

    The catalogue's ``products_changed`` event calls this once its transaction committed
    (recommender/receivers.py). Called inside a transaction, the work is queued when it
    commits: a worker never reads rows that are not there yet.
    """
    from recommender import tasks

    product_ids = sorted(set(product_ids))
    if not product_ids:
        return
    VectorIndex.objects.exclude(state=VectorIndex.State.RETIRED).update(
        text_changed_at=timezone.now()
    )
    for start in range(0, len(product_ids), EMBED_TASK_SIZE):
        batch = product_ids[start : start + EMBED_TASK_SIZE]
        transaction.on_commit(lambda batch=batch: enqueue(tasks.embed_products, batch))
    transaction.on_commit(
        lambda: enqueue(tasks.refit_text_index, countdown=settings.RECOMMENDER_TEXT_REFIT_DELAY)
    )


def enqueue(task, *args, countdown: float | None = None) -> bool:
    """Send ``task``; if the broker is down, log it and go on: the sweep queues the work later.

    A shop admin's save must never fail because Redis is restarting.
    """
    try:
        task.apply_async(args, countdown=countdown, retry=False)
    except Exception as error:  # kombu raises transport-specific errors
        logger.warning("Could not queue %s (%s)", task.name, error)
        return False
    return True


def products_reembed(*, product_ids: list[int]) -> int:
    """Queue these products to be encoded again even if their photo did not change."""
    from recommender import tasks

    for start in range(0, len(product_ids), EMBED_TASK_SIZE):
        enqueue(tasks.embed_products, product_ids[start : start + EMBED_TASK_SIZE], True)
    return len(product_ids)


NEAR_DUPLICATE_SIMILARITY = 0.95


def product_photo_duplicates(*, product: Product) -> list[Product]:
    """Other products whose photo is this product's new primary photo, or nearly so.

    Exact copies are found by hash; near-duplicates (re-encoded, resized, recropped) by the
    image vectors of the live index. Empty when the photo is the one already indexed.
    """
    from recommender.selectors import live_index, products_by_photo

    photo = product.images.filter(is_primary=True).first()
    if photo is None:
        return []
    index = live_index()
    indexed = index and ProductEmbedding.objects.filter(index=index, product=product).first()
    if indexed and indexed.image_sha256 == photo.sha256:
        return []
    same = Product.objects.filter(images__sha256=photo.sha256).exclude(pk=product.pk).distinct()
    duplicates = {p.pk: p for p in same}
    if index is not None:
        with photo.image.open("rb") as handle:
            data = handle.read()
        try:
            # The photo alone: a copy on another shelf must not hide behind different words.
            nearest = products_by_photo(photo=data, k=5, exclude=product.pk, borrow_text=False)
        except Exception as error:  # a warning is a courtesy; never block a save for it
            logger.warning("Near-duplicate check failed for product %s: %s", product.pk, error)
            nearest = []
        duplicates.update(
            {r.product.pk: r.product for r in nearest if r.score >= NEAR_DUPLICATE_SIMILARITY}
        )
    return list(duplicates.values())


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
        _text_refit(index)
        # Only clear what this refit covered: a change during the refit keeps it stale.
        VectorIndex.objects.filter(pk=index.pk, text_changed_at=changed_at).update(
            text_changed_at=None
        )
    return 0


def text_refit_overdue() -> bool:
    """Whether a catalogue change has waited for its text refit longer than the refit's delay
    plus the time a queued message may take, and the sweep must queue the refit again.

    Two ways to miss one: the refit's message was lost (the broker was down when the product
    was saved), or the catalogue's event never reached the recommender (the process stopped
    between the catalogue's commit and its receiver, which stamps ``text_changed_at``). For
    the second, an index fitted before a product's last change is stamped here.
    """
    delay = timedelta(seconds=settings.RECOMMENDER_TEXT_REFIT_DELAY)
    waited_since = timezone.now() - delay - SWEEP_GRACE
    in_use = VectorIndex.objects.exclude(state=VectorIndex.State.RETIRED)
    changed_unheard = Product.objects.filter(
        updated_at__gt=OuterRef("text_fitted_at"), updated_at__lt=waited_since
    )
    in_use.filter(text_changed_at__isnull=True).filter(Exists(changed_unheard)).update(
        text_changed_at=waited_since
    )
    return in_use.filter(text_changed_at__lte=waited_since).exists()


def products_needing_embedding() -> list[int]:
    """Products whose vectors are missing or behind their photo in the live index.

    For the periodic sweep: catches messages lost with a crashed worker or a broker outage.
    Failed products whose photo has not changed are left alone (the admin sees the reason).
    """
    from recommender.selectors import live_index  # selectors import this module

    index = live_index()
    if index is None:
        return []
    missing = Product.objects.exclude(embeddings__index=index).values_list("pk", flat=True)
    primary_sha = ProductImage.objects.filter(
        product=OuterRef("product_id"), is_primary=True
    ).values("sha256")[:1]
    behind = (
        ProductEmbedding.objects.filter(index=index)
        .annotate(photo_sha=Coalesce(Subquery(primary_sha), Value("")))
        .filter(
            Q(status=ProductEmbedding.Status.PENDING, updated_at__lt=timezone.now() - SWEEP_GRACE)
            | (~Q(image_sha256=F("photo_sha")) & ~Q(status=ProductEmbedding.Status.PENDING))
        )
        .values_list("product_id", flat=True)
    )
    return sorted({*missing, *behind})


def _text_refit(index: VectorIndex) -> None:
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
