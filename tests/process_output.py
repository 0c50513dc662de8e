"""Waiting for what a subprocess prints, with a timeout, in tests that run real processes."""

import queue
import re
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


class ProcessOutput:
    """The lines a process prints on stdout, read in a thread so that waiting can time out."""

    def __init__(self, process: subprocess.Popen):
        self.process = process
        self._lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(
            target=lambda: [self._lines.put(line) for line in process.stdout], daemon=True
        ).start()

    def everything(self) -> str:
        """All the process printed so far."""
        while True:
            try:
                self.seen.append(self._lines.get_nowait())
            except queue.Empty:
                return "".join(self.seen)

    def wait_for(self, pattern: str, timeout: float = 60) -> re.Match:
        """The first line from now on matching ``pattern`` (a regular expression)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self._lines.get(timeout=0.5)
            except queue.Empty:
                continue
            self.seen.append(line)
            if match := re.search(pattern, line):
                return match
        raise AssertionError(
            f"{pattern!r} not printed in {timeout} s; the process printed:\n{''.join(self.seen)}"
        )


def wait_until(condition, timeout: float, output: ProcessOutput | None = None) -> None:
    """Poll ``condition`` until it is true; fail after ``timeout`` s with what ``output`` printed."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.5)
    printed = f"; the process printed:\n{output.everything()}" if output else ""
    raise AssertionError(f"not done in {timeout} s{printed}")


@contextmanager
def celery_worker(env: dict[str, str], *options: str):
    """A real worker process (solo pool) for this project; yields its output once it is ready.

    ``output.process`` is the worker itself (one process with the solo pool), for a test that
    kills it; it is stopped on the way out either way.
    """
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config.celery_app",
            *options,
            "--pool=solo",
            "--loglevel=INFO",
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
        output = ProcessOutput(process)
        output.wait_for(r"ready\.", timeout=90)
        yield output
    finally:
        process.terminate()
        process.wait(timeout=60)


# Starts (or joins) the embedded server, prints its socket folder, waits for a line on stdin.
_POSTGRES_HOLDER = """
import sys
from config import embedded_postgres
print(embedded_postgres.start(sys.argv[1]), flush=True)
sys.stdin.readline()
"""


def hold_embedded_postgres(data_dir: Path) -> tuple[subprocess.Popen, str]:
    """A process that holds the embedded PostgreSQL in ``data_dir`` (it stops when the last
    holder exits: send it a line), and the server's socket folder ("" if it did not start)."""
    process = subprocess.Popen(
        [sys.executable, "-c", _POSTGRES_HOLDER, str(data_dir)],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    return process, process.stdout.readline().strip()
