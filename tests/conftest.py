from contextlib import contextmanager
from pathlib import Path

import pytest

# Shared fixtures live in their own module; conftest keeps the autouse ones and the helpers.
pytest_plugins = ["tests.fixtures"]

FASHION_DEV = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "fashion-dev"


@pytest.fixture(scope="session", autouse=True)
def embedded_postgres_held():
    """A process of its own holds the tests' embedded PostgreSQL for the whole session.

    The server stops when the last process registered with it exits. Twice in fresh-clone CI
    runs it stopped under the tests as a Celery worker they had started exited
    (tests/faults/test_worker_killed.py): pytest's own registration was gone by then, for a
    reason not found yet. With a holder of its own, no process the tests start is ever the
    last one."""
    from django.conf import settings

    from tests.process_output import hold_embedded_postgres

    data_dir = settings.DATABASES["default"].get("DATA_DIR")
    if data_dir is None:  # DATABASE_URL: a server of someone else's
        yield
        return
    holder, socket_dir = hold_embedded_postgres(Path(data_dir))
    try:
        if not socket_dir:
            raise RuntimeError(f"the embedded PostgreSQL in {data_dir} did not start")
        yield
    finally:
        holder.communicate("\n", timeout=60)


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
