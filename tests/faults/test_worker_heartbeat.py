"""A worker's heartbeat (the table the admin reads to say whether a worker runs) through a
database restart: the beats that fail are said once in the worker's log, the worker keeps
consuming, and the beat comes back with the database without restarting anything."""

import shutil
import tempfile
import time
from pathlib import Path

import psycopg
import pytest

from recommender.worker_heartbeat import BEAT_SECONDS
from tests.faults.servers import migrated_environment, postgres_server
from tests.process_output import celery_worker, wait_until

pytestmark = pytest.mark.slow


def beats(url: str) -> int:
    with psycopg.connect(url, autocommit=True) as connection:
        (count,) = connection.execute(
            "SELECT count(*) FROM recommender_workerheartbeat"
            " WHERE seen_at > now() - interval '15 seconds'"
        ).fetchone()
        return count


@pytest.fixture
def data_dir():
    """A folder for the server outside pytest's own temporary root: pg_ctl runs as pgserver's
    user, and in one CI run that root was no longer traversable for it when the test stopped
    the server (pgserver opens the path's folders to it only when it starts)."""
    folder = Path(tempfile.mkdtemp(prefix="vitrine-heartbeat-"))
    yield folder / "pg"
    shutil.rmtree(folder, ignore_errors=True)


def test_the_heartbeat_stops_with_the_database_and_comes_back_with_it(tmp_path, redis, data_dir):
    with postgres_server(data_dir) as postgres:
        env = migrated_environment(postgres.url, tmp_path / "media")
        with celery_worker(env, "-b", redis.url, "worker", "-Q", "heartbeat-test") as output:
            wait_until(lambda: beats(postgres.url) == 1, 60, output)
            postgres.stop()
            output.wait_for(r"worker heartbeat not recorded \(retrying quietly\)", timeout=60)
            time.sleep(BEAT_SECONDS + 2)  # a second beat fails, quietly
            postgres.start()
            output.wait_for(r"worker heartbeat recorded again", timeout=60)
            assert beats(postgres.url) == 1
            # Said once however many beats failed, and once when they work again.
            assert output.everything().count("worker heartbeat not recorded") == 1
