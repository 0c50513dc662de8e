from contextlib import contextmanager
from pathlib import Path

import pytest

# Shared fixtures live in their own module; conftest keeps the autouse ones and the helpers.
pytest_plugins = ["tests.fixtures"]

FASHION_DEV = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "fashion-dev"


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    """Every test writes its uploads to a folder of its own."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture(autouse=True)
def empty_cache():
    """Cached menus and thumbnail sizes never leak from one test to the next."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def rail_configuration_fresh():
    """Each process keeps the running experiment and the rail settings for a few seconds; each
    test has its own database and settings."""
    from recommender.behaviour.experiments import rail_configuration_forget

    rail_configuration_forget()
    yield
    rail_configuration_forget()


@pytest.fixture
def fashion_dev() -> Path:
    if not (FASHION_DEV / "styles.csv").is_file():
        pytest.skip(
            f"needs the fashion-dev catalogue at {FASHION_DEV} (../shared/data/fashion-dev)"
        )
    return FASHION_DEV


@pytest.fixture
def memory_queue():
    """The test settings' in-memory Celery queue, emptied before and after, to read sent tasks."""
    yield from _memory_queue("celery")


@pytest.fixture
def events_queue():
    """The same for the queue of shoppers' events."""
    yield from _memory_queue("events")


def _memory_queue(name: str):
    from config.celery_app import app as celery_app

    with celery_app.connection_for_read() as connection, connection.SimpleQueue(name) as queue:
        queue.clear()
        yield queue
        queue.clear()


@contextmanager
def celery_broker_at(url: str):
    """Point the Celery app at the real Redis database ``url`` (emptied first), then back."""
    import redis

    from config.celery_app import app as celery_app

    try:
        redis.Redis.from_url(url).flushdb()
    except redis.ConnectionError:
        pytest.fail(f"this test needs Redis at {url} (.ci/run starts one)")
    previous = celery_app.conf.broker_url
    celery_app.conf.broker_url = url
    celery_app._pool, celery_app.amqp._producer_pool = None, None
    try:
        yield url
    finally:
        celery_app.conf.broker_url = previous
        celery_app._pool, celery_app.amqp._producer_pool = None, None
