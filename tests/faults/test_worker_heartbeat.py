"""A worker's heartbeat (the table the admin reads to say whether a worker runs) through a
database restart: the beats that fail are said once in the worker's log, the worker keeps
consuming, and the beat comes back with the database without restarting anything."""

import os
import subprocess
import sys
import time

import psycopg
import pytest

from recommender.worker_heartbeat import BEAT_SECONDS
from tests.faults.servers import postgres_server
from tests.process_output import ROOT, celery_worker, wait_until

pytestmark = pytest.mark.slow


def beats(url: str) -> int:
    with psycopg.connect(url, autocommit=True) as connection:
        (count,) = connection.execute(
            "SELECT count(*) FROM recommender_workerheartbeat"
            " WHERE seen_at > now() - interval '15 seconds'"
        ).fetchone()
        return count


def test_the_heartbeat_stops_with_the_database_and_comes_back_with_it(tmp_path, redis):
    with postgres_server(tmp_path / "pg") as postgres:
        env = {
            **{k: v for k, v in os.environ.items() if k != "VITRINE_TEST_WORKER_DATABASE"},
            "DJANGO_SETTINGS_MODULE": "config.settings.test",
            "DATABASE_URL": postgres.url,
            "DJANGO_MEDIA_ROOT": str(tmp_path / "media"),
        }
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--no-input", "-v0"],
            cwd=ROOT,
            env=env,
            check=True,
            timeout=300,
        )
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
