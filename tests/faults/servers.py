"""Servers a fault test owns, so that it can stop and start them: Redis, PostgreSQL, gunicorn.

Each is a context manager that stops what it started on the way out, whatever happened.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import redis

from config import embedded_postgres
from tests.process_output import ROOT, hold_embedded_postgres


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class RedisServer:
    """A ``redis-server`` of this test's own on a free port, in memory only (no dump, no AOF).

    ``stop()`` and ``start()`` again keep the port, as a restarted Redis would.
    """

    def __init__(self, folder: Path):
        self.port = free_port()
        self.folder = folder
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self) -> redis.Redis:
        return redis.Redis.from_url(self.url, socket_connect_timeout=1)

    def start(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        command = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1"]
        command += ["--save", "", "--appendonly", "no", "--dir", str(self.folder)]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, cwd=self.folder)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with suppress(redis.ConnectionError):
                if self.client().ping():
                    return
            if self.process.poll() is not None:
                raise AssertionError(f"redis-server exited with {self.process.returncode}")
            time.sleep(0.1)
        raise AssertionError(f"redis-server did not answer on port {self.port} within 20 s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)
        self.process = None


@contextmanager
def redis_server(folder: Path):
    server = RedisServer(folder)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@dataclass
class PostgresServer:
    """PostgreSQL + pgvector (pgserver's binaries) in ``data_dir``, stopped and started with
    pg_ctl like an operator would, on the same socket folder each time."""

    data_dir: Path
    socket_dir: str

    @property
    def url(self) -> str:
        return f"postgres://postgres@/vitrine?host={self.socket_dir}"

    def stop(self) -> None:
        self._pg_ctl("-m", "fast", "stop")

    def start(self) -> None:
        options = f'-h "" -k {self.socket_dir}'
        self._pg_ctl("-o", options, "-l", str(self.data_dir / "log"), "start")

    def _pg_ctl(self, *args: str) -> None:
        embedded_postgres.pg_ctl(self.data_dir, *args)


@contextmanager
def postgres_server(data_dir: Path):
    """A fresh server (database ``vitrine``) in ``data_dir``; stopped on the way out."""
    holder, socket_dir = hold_embedded_postgres(data_dir)
    try:
        if not socket_dir:
            raise AssertionError(f"the embedded PostgreSQL in {data_dir} did not start")
        server = PostgresServer(data_dir.resolve(), socket_dir)
        yield server
    finally:
        # A restarted server is not the process pgserver started: stop it ourselves.
        if (data_dir / "PG_VERSION").exists():
            with suppress(subprocess.SubprocessError):
                PostgresServer(data_dir.resolve(), "").stop()
        holder.communicate("\n", timeout=60)


def migrated_environment(database_url: str, media_root: Path) -> dict[str, str]:
    """The environment of a process of the shop (web server, worker) on its own database, with
    that database migrated. The test worker's database setting is dropped: it would win."""
    env = {
        **{k: v for k, v in os.environ.items() if k != "VITRINE_TEST_WORKER_DATABASE"},
        "DJANGO_SETTINGS_MODULE": "config.settings.test",  # DEBUG off
        "DATABASE_URL": database_url,
        "DJANGO_MEDIA_ROOT": str(media_root),
    }
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--no-input", "-v0"],
        cwd=ROOT,
        env=env,
        check=True,
        timeout=300,
    )
    return env


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: str


def fetch(url: str, cookie: str = "") -> Response:
    """GET ``url``; an error status is an answer too, not an exception."""
    request = urllib.request.Request(url, headers={"Cookie": cookie} if cookie else {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return Response(response.status, dict(response.headers), response.read().decode())
    except urllib.error.HTTPError as error:
        return Response(error.code, dict(error.headers), error.read().decode())


def answers(base: str) -> bool:
    """Whether a web server answers at ``base`` at all (any status)."""
    try:
        fetch(f"{base}/static/css/shop.css")
    except OSError:
        return False
    return True


@contextmanager
def gunicorn(env: dict[str, str], log: Path, workers: int = 2):
    """gunicorn serving this project on a free port; yields its base URL once it answers."""
    port = free_port()
    command = [sys.executable, "-m", "gunicorn", "config.wsgi", "--bind", f"127.0.0.1:{port}"]
    command += ["--workers", str(workers), "--timeout", "60", "--log-level", "warning"]
    with log.open("w") as output:
        server = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while not answers(base):
            if server.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"gunicorn did not start:\n{log.read_text()}")
            time.sleep(0.2)
        yield base
    finally:
        server.terminate()  # the arbiter stops its workers
        server.wait(timeout=60)
