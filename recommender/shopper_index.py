"""Writes the index's shopper space (recommender/shopper_space.py): learnt at build from shopper
photos of a sample of the catalogue, then each product's image vector mapped into it."""

from __future__ import annotations

import logging
import random

import numpy as np
from django.conf import settings
from django.db.models import QuerySet

from recommender.encoders import ImageEncoder
from recommender.models import ProductEmbedding, VectorIndex
from recommender.shopper_photos import shopper_photo
from recommender.shopper_space import ShopperSpace, shopper_space_fit
from shop.models import Product

logger = logging.getLogger(__name__)

# How many products are photographed: settings.RECOMMENDER_SHOPPER_SPACE_PRODUCTS. Tuning half
# of fashion-dev, products the map never saw, found in the top 10 from a room / a close-up:
# 0.70 / 0.93 learnt from 500 products, 0.72 / 0.94 from 1,200; a shopper photo takes about
# 0.15 s to make and encode on 2 cores.
LEARNING_KINDS = ("surface", "scene", "detail")
# Fewer products than this teach nothing that generalises: search keeps the encoder's space.
MIN_LEARNING_PRODUCTS = 20
# The catalogue's principal directions are read from at most this many products.
SPREAD_PRODUCTS = 20_000
SCENE_CLUTTER = (3, 6)
# The shopper photos learnt from are never the ones ``evaluate`` searches with (seed 0 there).
SEED = 20261128
FILL_BATCH = 2_000


def index_shopper_space_learn(index: VectorIndex, encoder: ImageEncoder) -> ShopperSpace | None:
    """Learn ``index``'s shopper space from shopper photos of a sample of its products, map
    every product's image vector into it, then store it: until then, search by photo ranks in
    the encoder's space. None, and nothing stored, for too small a catalogue."""
    indexed = ProductEmbedding.objects.filter(index=index, image__isnull=False)
    ids = sorted(indexed.values_list("product_id", flat=True))
    rng = random.Random(SEED)
    wanted = settings.RECOMMENDER_SHOPPER_SPACE_PRODUCTS
    sample = rng.sample(ids, min(wanted, len(ids))) if wanted >= MIN_LEARNING_PRODUCTS else []
    photos = _primary_photos(sample)
    sample = [pid for pid in sample if pid in photos]
    if len(sample) < MIN_LEARNING_PRODUCTS:
        logger.info("Not learning a shopper space: %d products with photos", len(sample))
        return None
    spread = rng.sample(ids, min(SPREAD_PRODUCTS, len(ids)))
    vectors = dict(
        indexed.filter(product_id__in={*sample, *spread}).values_list("product_id", "image")
    )
    views, originals = [], []
    for kind in LEARNING_KINDS:
        for pid in sample:
            others = [other for other in sample if other != pid]
            clutter = rng.sample(others, rng.randint(*SCENE_CLUTTER)) if kind == "scene" else ()
            photo = shopper_photo(kind, photos, (pid,), seed=SEED, clutter=tuple(clutter))
            candidates = encoder.encode_candidates(photo.jpeg)
            own = np.asarray(vectors[pid], np.float32)
            # The photo as a shopper took it, and the part of it most like the product.
            closest = candidates.vectors[np.argmax(candidates.vectors @ own)]
            views += [candidates.vectors[0], closest]
            originals += [own, own]
    space = shopper_space_fit(
        np.asarray([vectors[pid] for pid in spread]), np.asarray(views), np.asarray(originals)
    )
    _fill(indexed, space)
    index.shopper_space = space.to_bytes()
    index.save(update_fields=["shopper_space"])
    # Products indexed while the rows were filled were mapped without the space, then missing.
    _fill(indexed.filter(image_shopper__isnull=True), space)
    logger.info("Learnt a shopper space from %d products' shopper photos", len(sample))
    return space


def _primary_photos(product_ids: list[int]) -> dict[int, bytes]:
    photos = {}
    for product in Product.objects.prefetch_related("images").filter(pk__in=product_ids):
        image = product.primary_image
        if image is None:
            continue
        try:
            with image.image.open("rb") as handle:
                photos[product.pk] = handle.read()
        except OSError as error:
            logger.warning("Product %s: photo unreadable: %s", product.pk, error)
    return photos


def _fill(rows: QuerySet[ProductEmbedding], space: ShopperSpace) -> None:
    rows = rows.order_by("pk")
    after = 0
    while batch := list(rows.filter(pk__gt=after).only("pk", "image")[:FILL_BATCH]):
        mapped = space.apply(np.stack([np.asarray(row.image) for row in batch]))
        for row, vector in zip(batch, mapped, strict=True):
            row.image_shopper = vector
        ProductEmbedding.objects.bulk_update(batch, ["image_shopper"])
        after = batch[-1].pk


def index_shopper_space(index: VectorIndex) -> ShopperSpace | None:
    """The shopper space stored with ``index`` (read from the row as loaded)."""
    return ShopperSpace.from_bytes(bytes(index.shopper_space)) if index.shopper_space else None
