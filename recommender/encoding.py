"""Which encoder made an index, loaded once per process: the one place that loads encoders
for the shop (the choice of encoder lives in recommender.encoders)."""

from __future__ import annotations

import functools
import os

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
        threads=encoder_threads(),
    )


# Set in a Celery worker before it starts its processes (config/celery_app.py).
_processes_sharing_cores = 1


def encoder_threads_share(*, processes: int) -> None:
    """This process will start ``processes`` worker processes that each run the encoder."""
    global _processes_sharing_cores
    _processes_sharing_cores = max(1, processes)


def encoder_threads() -> int:
    """Threads for the model in this process: ``RECOMMENDER_ENCODER_THREADS``, or else the
    cores shared among a worker's processes. More threads than cores, their threads spin and
    wait on each other (bench/README.md, "Importing a Shopify catalogue")."""
    cores = os.cpu_count() or 1
    return settings.RECOMMENDER_ENCODER_THREADS or max(1, cores // _processes_sharing_cores)


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
