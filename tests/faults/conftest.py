import os

import pytest
from django.db import connection

from tests.faults.servers import redis_server


@pytest.fixture
def indexed_shop(indexed_catalogue, settings):
    """The sample catalogue in a live index, its text refitted after a second's quiet."""
    settings.RECOMMENDER_TEXT_REFIT_DELAY = 1
    return indexed_catalogue


@pytest.fixture
def redis(tmp_path):
    """A redis-server of this test's own, which the test may stop and start."""
    with redis_server(tmp_path / "redis") as server:
        yield server


@pytest.fixture
def worker_env(media_root) -> dict[str, str]:
    """The environment of a Celery worker on this test's database and media folder."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "VITRINE_TEST_WORKER_DATABASE": connection.settings_dict["NAME"],
        "DJANGO_MEDIA_ROOT": str(media_root),
        "RECOMMENDER_TEXT_REFIT_DELAY": "1",
    }
