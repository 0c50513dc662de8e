"""The embedded PostgreSQL + pgvector server: starts from nothing, is shared, stops with its last user."""

import os
import signal
import subprocess
import sys
from pathlib import Path

import psutil
import psycopg
import pytest

from config import embedded_postgres
from tests.process_output import hold_embedded_postgres

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]


def postmaster_pid(data_dir: Path) -> int:
    return int((data_dir / "postmaster.pid").read_text().split()[0])


def query(socket_dir: str, sql: str):
    with psycopg.connect(
        host=socket_dir, user="postgres", dbname="vitrine", autocommit=True
    ) as conn:
        cursor = conn.execute(sql)
        return cursor.fetchone() if cursor.description else None


def test_a_fresh_folder_gets_a_server_with_the_database_and_pgvector(tmp_path):
    data_dir = tmp_path / "pg"
    holder, socket_dir = hold_embedded_postgres(data_dir)
    try:
        query(socket_dir, "CREATE EXTENSION IF NOT EXISTS vector")
        (distance,) = query(socket_dir, "SELECT '[1,2,3]'::vector <=> '[2,4,6]'::vector")
        assert distance == pytest.approx(0, abs=1e-6)
        (half,) = query(socket_dir, "SELECT '[1,0]'::halfvec(2) <=> '[0,1]'::halfvec(2)")
        assert half == pytest.approx(1)
    finally:
        holder.communicate("\n", timeout=30)


def test_server_is_shared_and_stops_when_its_last_user_exits(tmp_path):
    data_dir = tmp_path / "pg"
    first, socket_dir = hold_embedded_postgres(data_dir)
    server = psutil.Process(postmaster_pid(data_dir))

    second, second_socket = hold_embedded_postgres(data_dir)
    assert second_socket == socket_dir and postmaster_pid(data_dir) == server.pid
    second.communicate("\n", timeout=30)
    assert query(socket_dir, "SELECT 1") == (1,)  # still up for the first user

    first.communicate("\n", timeout=30)
    server.wait(timeout=30)
    assert not server.is_running()


def test_a_killed_user_does_not_keep_the_server_alive_forever(tmp_path):
    data_dir = tmp_path / "pg"
    killed, _ = hold_embedded_postgres(data_dir)
    server = psutil.Process(postmaster_pid(data_dir))
    os.kill(killed.pid, signal.SIGKILL)
    killed.wait()

    later, _ = hold_embedded_postgres(data_dir)
    later.communicate("\n", timeout=30)
    server.wait(timeout=30)
    assert not server.is_running()


def test_a_throwaway_server_is_stopped_while_its_users_still_hold_it(tmp_path):
    data_dir = tmp_path / "pg"
    holder, _ = hold_embedded_postgres(data_dir)  # a pool process that will never unregister
    server = psutil.Process(postmaster_pid(data_dir))
    try:
        embedded_postgres.stop(data_dir)
        server.wait(timeout=30)
        assert not server.is_running() and not (data_dir / "postmaster.pid").exists()
        embedded_postgres.stop(data_dir)  # stopped already: nothing to do
    finally:
        holder.communicate("\n", timeout=30)


# Threads of one process that connect at once, as a worker's heartbeat and its first task do.
CONCURRENT_START = """
import sys, threading
from config import embedded_postgres

barrier = threading.Barrier(4)
results = []

def connect():
    barrier.wait()
    try:
        results.append(str(embedded_postgres.start(sys.argv[1])))
    except Exception as error:
        results.append(f"failed: {error!r}")

threads = [threading.Thread(target=connect) for _ in range(4)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
print("\\n".join(results))
"""


def test_threads_that_start_the_server_at_once_all_get_it(tmp_path):
    data_dir = tmp_path / "pg"
    done = subprocess.run(
        [sys.executable, "-c", CONCURRENT_START, str(data_dir)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    results = done.stdout.split()
    assert len(results) == 4 and len(set(results)) == 1, done.stdout
    assert Path(results[0]).is_dir()
