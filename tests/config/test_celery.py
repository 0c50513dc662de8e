"""A real Celery worker process consumes tasks from the configured broker."""

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import redis

from tests.process_output import celery_worker

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
