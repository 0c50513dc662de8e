"""A shop with simulated shoppers' history, for replaying behaviour rails (docs/evaluation).

    .venv/bin/python -m bench.simulated_history --into /tmp/vitrine-history-1 --seeds 1,2

Copies the var/bench shop (fashion-dev, indexed) into ``--into``, serves it with gunicorn
(2 workers) and a Celery worker storing the events, and sends ``--visitors`` simulated shoppers
per seed. After each seed but the last, the behaviour rails are refitted, so that the next
visitors see "also viewed" and "bought together" and may click them, as on a live shop. Then:

    VITRINE_VAR_DIR=/tmp/vitrine-history-1 .venv/bin/python manage.py evaluate --behaviour-replay

**Synthetic**: the visitors follow recommender/behaviour/simulated_shoppers.py's rules.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

from bench.load import free_port, start_gunicorn

ROOT = Path(__file__).resolve().parent.parent
SHOP = ROOT / "var/bench"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--into", type=Path, required=True, help="a folder that does not exist")
    parser.add_argument("--seeds", default="1,2", help="comma-separated, one visit round each")
    parser.add_argument("--visitors", type=int, default=1000, help="per seed")
    parser.add_argument("--broker", default="redis://127.0.0.1:6379/4")
    args = parser.parse_args()
    if args.into.exists():
        raise SystemExit(f"{args.into} exists: give a new folder")
    if not (SHOP / "postgres").exists():
        raise SystemExit("no var/bench shop: run `python -m bench --only events` once first")
    # cp -a: the embedded PostgreSQL's files belong to its own user, which a copy must keep.
    subprocess.run(["cp", "-a", f"{SHOP.resolve()}/.", str(args.into)], check=True)
    (args.into / "postgres/postmaster.pid").unlink(missing_ok=True)
    os.environ.update(VITRINE_VAR_DIR=str(args.into), CELERY_BROKER_URL=args.broker)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    manage = [sys.executable, "manage.py"]
    subprocess.run([*manage, "migrate", "--verbosity", "0"], cwd=ROOT, check=True)
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config.celery_app", "worker", "-c", "1"],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    port = free_port()
    server = start_gunicorn(port, 2)
    seeds = [int(seed) for seed in args.seeds.split(",")]
    started = time.monotonic()
    try:
        for number, seed in enumerate(seeds):
            simulate = ["simulate_shoppers", f"http://127.0.0.1:{port}"]
            simulate += ["--visitors", str(args.visitors), "--seed", str(seed)]
            subprocess.run([*manage, *simulate], cwd=ROOT, check=True)
            time.sleep(2 * 2)  # the last events: the outbox's flush, then the worker
            if number < len(seeds) - 1:
                refit = "from recommender.tasks import refit_behaviour_rails as r; r()"
                subprocess.run([*manage, "shell", "-c", refit], cwd=ROOT, check=True)
    finally:
        server.terminate()
        worker.terminate()
        server.wait(timeout=60)
        worker.wait(timeout=60)
    minutes = (time.monotonic() - started) / 60
    print(f"{args.into}: {len(seeds)} x {args.visitors} visitors in {minutes:.1f} min")


if __name__ == "__main__":
    main()
