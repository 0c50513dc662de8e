"""A real Celery worker process consumes tasks from the configured broker."""

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import redis

from tests.process_output import celery_worker, wait_until

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
REDIS_URL = "redis://127.0.0.1:6379/15"


def redis_available() -> bool:
    try:
        return redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except redis.ConnectionError:
        return False


@pytest.mark.parametrize("broker", ["filesystem", "redis"])
def test_worker_process_runs_a_task_sent_by_another_process(broker, tmp_path):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.local",
        "VITRINE_VAR_DIR": str(tmp_path),
    }
    if broker == "redis":
        if not redis_available():
            pytest.fail(f"this test needs Redis at {REDIS_URL} (.ci/run starts one)")
        env["CELERY_BROKER_URL"] = REDIS_URL
    else:
        env.pop("CELERY_BROKER_URL", None)
    queue_name = f"test-{uuid.uuid4().hex[:8]}"
    with celery_worker(env, "worker", "-Q", queue_name) as output:
        marker = uuid.uuid4().hex
        subprocess.run(
            [
                sys.executable,
                "-c",
                "from config.celery_app import app; "
                f"app.send_task('celery.accumulate', args=['{marker}'], queue='{queue_name}')",
            ],
            cwd=ROOT,
            env=env,
            check=True,
            timeout=60,
        )
        output.wait_for(rf"celery\.accumulate\[.*\] succeeded .*{marker}")
        if broker == "filesystem":
            assert (tmp_path / "celery" / "queue").is_dir()


def worker_env_on_this_database(tmp_path) -> dict[str, str]:
    from django.db import connection

    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "VITRINE_TEST_WORKER_DATABASE": connection.settings_dict["NAME"],
        "DJANGO_MEDIA_ROOT": str(tmp_path / "media"),
    }


@pytest.mark.django_db(transaction=True)
def test_a_worker_is_known_alive_while_it_runs_and_gone_as_soon_as_it_stops(tmp_path):
    from recommender.worker_heartbeat import no_worker_warning, worker_last_seen

    if not redis_available():
        pytest.fail(f"this test needs Redis at {REDIS_URL} (.ci/run starts one)")
    assert no_worker_warning().startswith("No indexing worker is running: new products wait")
    queue_name = f"test-{uuid.uuid4().hex[:8]}"
    env = worker_env_on_this_database(tmp_path)
    with celery_worker(env, "-b", REDIS_URL, "worker", "-Q", queue_name) as output:
        wait_until(lambda: worker_last_seen()[0], 30, output)
        assert no_worker_warning() is None
    # A warm shutdown (SIGTERM) takes its heartbeat away: no waiting for it to go stale.
    assert worker_last_seen() == (False, None)
    assert no_worker_warning().startswith("No indexing worker is running: new products wait")


@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_outright_is_known_gone_once_its_heartbeat_is_stale(tmp_path, monkeypatch):
    from recommender import worker_heartbeat

    if not redis_available():
        pytest.fail(f"this test needs Redis at {REDIS_URL} (.ci/run starts one)")
    monkeypatch.setattr(worker_heartbeat, "FRESH_SECONDS", 2)  # read here, in the admin's process
    queue_name = f"test-{uuid.uuid4().hex[:8]}"
    env = worker_env_on_this_database(tmp_path)
    with celery_worker(env, "-b", REDIS_URL, "worker", "-Q", queue_name) as output:
        wait_until(lambda: worker_heartbeat.worker_last_seen()[0], 30, output)
        output.process.kill()  # SIGKILL: no goodbye
        output.process.wait(timeout=30)
        assert worker_heartbeat.worker_last_seen()[1] is not None  # its last beat stays
        wait_until(lambda: not worker_heartbeat.worker_last_seen()[0], 10)
    assert "(one was last heard from 0\xa0minutes ago)" in worker_heartbeat.no_worker_warning()
