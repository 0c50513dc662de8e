"""A real Celery worker process consumes tasks from the configured broker."""

import os
import queue
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest
import redis

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
REDIS_URL = "redis://127.0.0.1:6379/15"


def lines_of(process: subprocess.Popen) -> "queue.Queue[str]":
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(
        target=lambda: [lines.put(line) for line in process.stdout], daemon=True
    ).start()
    return lines


def wait_for(lines: "queue.Queue[str]", text: str, timeout: float = 60) -> str:
    deadline, seen = time.monotonic() + timeout, []
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=0.5)
        except queue.Empty:
            continue
        seen.append(line)
        if text in line:
            return line
    raise AssertionError(f"{text!r} not seen in {timeout} s; worker said:\n{''.join(seen)}")


def redis_available() -> bool:
    try:
        return redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except redis.ConnectionError:
        return False


@pytest.mark.parametrize("broker", ["filesystem", "redis"])
def test_worker_process_runs_a_task_sent_by_another_process(broker, tmp_path):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "VITRINE_VAR_DIR": str(tmp_path),
    }
    if broker == "redis":
        if not redis_available():
            pytest.fail(f"this test needs Redis at {REDIS_URL} (.ci/run starts one)")
        env["CELERY_BROKER_URL"] = REDIS_URL
    else:
        env.pop("CELERY_BROKER_URL", None)
    queue_name = f"test-{uuid.uuid4().hex[:8]}"
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config.celery_app",
            "worker",
            "-Q",
            queue_name,
            "--concurrency=1",
            "--pool=solo",
            "--loglevel=INFO",
            "--without-heartbeat",
            "--without-gossip",
            "--without-mingle",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        lines = lines_of(worker)
        wait_for(lines, "ready.")
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
        line = wait_for(lines, marker)
        assert "succeeded" in line
        if broker == "filesystem":
            assert (tmp_path / "celery" / "queue").is_dir()
    finally:
        worker.terminate()
        worker.wait(timeout=30)
