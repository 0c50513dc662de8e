"""How many threads the image model takes: every core in a web process, a share of them in
each process of a Celery worker (more threads than cores spin and wait on each other)."""

import numpy as np
import pytest

from config.celery_app import app
from recommender import encoding
from recommender.encoders import load_encoder


@pytest.fixture
def four_cores(monkeypatch):
    monkeypatch.setattr(encoding.os, "cpu_count", lambda: 4)
    monkeypatch.setattr(encoding, "_processes_sharing_cores", 1)


def test_a_process_of_its_own_uses_every_core(four_cores, settings):
    settings.RECOMMENDER_ENCODER_THREADS = 0
    assert encoding.encoder_threads() == 4


@pytest.mark.parametrize(
    ("pool", "concurrency", "threads"),
    [("prefork", 2, 2), ("prefork", 8, 1), ("threads", 4, 1), ("solo", 1, 4)],
)
def test_a_worker_shares_the_cores_among_its_processes(
    four_cores, settings, pool, concurrency, threads
):
    settings.RECOMMENDER_ENCODER_THREADS = 0
    # Constructing the worker sends worker_init, as `celery worker` does before its pool starts.
    app.WorkController(concurrency=concurrency, pool_cls=pool, hostname="threads-test")
    assert encoding.encoder_threads() == threads


def test_the_setting_wins(four_cores, settings):
    settings.RECOMMENDER_ENCODER_THREADS = 3
    encoding.encoder_threads_share(processes=4)
    assert encoding.encoder_threads() == 3


@pytest.mark.slow
def test_one_thread_encodes_what_every_core_does(tmp_path):
    """On one thread the model takes photos one at a time; the vectors are the same."""
    photos = np.random.default_rng(0).integers(0, 256, (5, 224, 224, 3), dtype=np.uint8)
    one = load_encoder("efficientnet_lite0", cache_dir=tmp_path, threads=1)
    every = load_encoder("efficientnet_lite0", cache_dir=tmp_path, threads=2)
    np.testing.assert_allclose(one.encode(photos), every.encode(photos), atol=1e-5)
    np.testing.assert_allclose(one.encode(photos[:2]), every.encode(photos)[:2], atol=1e-5)
