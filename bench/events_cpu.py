"""What 2,000 events/s through the API cost, in CPU, per process: the web server, the Celery
worker, PostgreSQL and Redis.

    .venv/bin/python -m bench.events_cpu [--seconds 20] [--events-per-second 2000]

gunicorn (2 sync workers) on the var/bench shop and one Celery worker; no page load. For each
batch shape of bench.events, the API is sent ``--events-per-second`` for ``--seconds``, and the CPU
time each kind of process used (from /proc) is divided by the time and by the events sent.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import django

from bench.events import API_BATCHES, post_events
from bench.load import free_port, start_gunicorn

KINDS = ("gunicorn", "celery", "postgres", "redis-server")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--events-per-second", type=int, default=2000)
    parser.add_argument("--broker", default="redis://127.0.0.1:6379/3")
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    os.environ.update(CELERY_BROKER_URL=args.broker, API_EVENTS_RATE="1000000/min")
    os.environ["EVENTS_ENABLED"] = "true"
    django.setup()
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Permission
    from rest_framework.authtoken.models import Token

    user = get_user_model().objects.create_user(f"bench-cpu-{time.time_ns()}", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="add_shopperevent"))
    token = Token.objects.create(user=user).key
    celery = [sys.executable, "-m", "celery", "-A", "config.celery_app", "worker", "-c", "1"]
    worker = subprocess.Popen(
        celery, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    port = free_port()
    server = start_gunicorn(port, 2)
    time.sleep(8)  # the worker ready
    print("| events a request | shoppers | events sent/s | " + " | ".join(KINDS) + " | in all |")
    print("|---:|---:|---:|" + "---:|" * (len(KINDS) + 1))
    try:
        for batch in [batch for batch in API_BATCHES if not batch[2]]:
            before, stop = cpu_seconds(), threading.Event()
            rate = args.events_per_second
            poster = threading.Thread(target=post_events, args=(port, token, rate, batch, stop))
            started = time.monotonic()
            poster.start()
            time.sleep(args.seconds)
            stop.set()
            poster.join()
            elapsed = time.monotonic() - started  # the sending; its CPU also the 3 s after:
            time.sleep(3)  # the last batches stored
            after = cpu_seconds()
            used = {kind: after[kind] - before[kind] for kind in KINDS}
            sent = poster.sent
            cells = [
                f"{used[kind] / elapsed:.3f} cores, {used[kind] / sent * 1e6:.0f} µs"
                for kind in KINDS
            ]
            total = sum(used.values())
            print(
                f"| {batch[0]} | {batch[1]} | {sent / elapsed:,.0f} | "
                + " | ".join(cells)
                + f" | {total / elapsed:.3f} cores, {total / sent * 1e6:.0f} µs |"
            )
    finally:
        server.terminate()
        worker.terminate()
    print("\nEach cell: CPU cores used on average, and CPU time per event.")


def cpu_seconds() -> dict[str, float]:
    """CPU time used so far by every running process of each kind (user + system)."""
    used = dict.fromkeys(KINDS, 0.0)
    ticks = os.sysconf("SC_CLK_TCK")
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            command = Path(f"/proc/{pid}/cmdline").read_text()
        except OSError:
            continue  # gone meanwhile
        for kind in KINDS:
            if kind in command:
                used[kind] += (int(stat[11]) + int(stat[12])) / ticks
                break
    return used


if __name__ == "__main__":
    main()
