"""Which encoder made an index, loaded once per process: the one place that loads encoders
for the shop (the choice of encoder lives in recommender.encoders)."""

from __future__ import annotations

import functools

from django.conf import settings

from recommender.encoders import ImageEncoder, load_encoder
from recommender.models import VectorIndex


@functools.cache
def encoder_load(name: str) -> ImageEncoder:
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
    encoder = encoder_load(index.encoder)
    if encoder.version != index.encoder_version:
        raise IndexOutdated(
            f"{index} was built with {index.encoder} {index.encoder_version}, but this machine has "
            f"{encoder.version}; run `manage.py reindex` to rebuild it"
        )
    return encoder
