"""Recording what shoppers do, under load: product pages with event recording off, then on,
then on while another front end sends 2,000 events/s through the API: 100 events of one
shopper a request, then 500 events of 50 shoppers a request, to the pages' web server, then the
same to a web server of its own (one more gunicorn worker, on the same two cores).

    .venv/bin/python -m bench.events [--seconds 15] [--rounds 2] [--events-per-second 2000]

gunicorn (2 sync workers, DEBUG off) on the var/bench catalogue, product pages loaded by wrk
at half the capacity (1 connection), then at saturation (4), with a browser's user agent and
one of 1,000 visitors' cookies (so that each page records a view and its rail's impression),
a Celery worker storing the events, Redis as the broker
(``--broker``, default redis://127.0.0.1:6379/3, emptied first). The three settings alternate
``--rounds`` times, so that the machine's drift falls on each alike. For each: requests/s, p50
and p99, events recorded per second, and whether every event was stored once the load stopped.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import django

from bench.load import free_port, start_gunicorn, wrk

# Half the capacity of 2 workers (about 45 pages/s here), then saturation (about 90 pages/s).
CONNECTIONS = (1, 4)
# (events, shoppers) a request: one shopper's session at a time, or a relay's batch; and
# whether the API has a web server of its own.
API_BATCHES = ((100, 1, False), (500, 50, False), (500, 50, True))
BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0"

PAGES_LUA = """
paths = {}
for line in io.lines(os.getenv("BENCH_PATHS")) do paths[#paths + 1] = line end
math.randomseed(0)
request = function()
  local headers = {
    ["User-Agent"] = "AGENT",
    ["Cookie"] = "vitrine_visitor=bench-visitor-" .. math.random(1000),
  }
  return wrk.format("GET", paths[math.random(#paths)], headers)
end
""".replace("AGENT", BROWSER)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=15, help="per load, setting and round")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--events-per-second", type=int, default=2000)
    parser.add_argument("--broker", default="redis://127.0.0.1:6379/3")
    parser.add_argument(
        "--nice",
        type=int,
        default=0,
        help="niceness of the Celery worker and of the API's own server (10: the pages first)",
    )
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk not found: apt-get install wrk")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    os.environ["CELERY_BROKER_URL"] = args.broker
    django.setup()
    import redis
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Permission
    from rest_framework.authtoken.models import Token

    from recommender.models import ShopperEvent
    from recommender.selectors import index_live
    from shop.models import Product

    if index_live() is None:
        raise SystemExit("no live index: run `manage.py reindex` first")
    redis.Redis.from_url(args.broker).flushdb()
    user = get_user_model().objects.create_user(f"bench-events-{time.time_ns()}", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="add_shopperevent"))
    token = Token.objects.create(user=user).key
    slugs = list(Product.objects.filter(is_active=True).values_list("slug", flat=True)[:500])
    work = Path(tempfile.mkdtemp(prefix="vitrine-events-"))
    (work / "paths.txt").write_text("".join(f"/p/{slug}/\n" for slug in slugs))
    (work / "pages.lua").write_text(PAGES_LUA)
    os.environ["BENCH_PATHS"] = str(work / "paths.txt")

    celery = [sys.executable, "-m", "celery", "-A", "config.celery_app", "worker", "-c", "1"]
    worker = subprocess.Popen(
        ["nice", "-n", str(args.nice), *celery],
        env={**os.environ, "CELERY_BROKER_URL": args.broker},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    settings = [
        ("off", {"EVENTS_ENABLED": "false"}, None),
        ("on", {"EVENTS_ENABLED": "true"}, None),
        *(
            (
                f"on + API, {size} a request{', own server' if own else ''}",
                {"EVENTS_ENABLED": "true"},
                (size, shoppers, own),
            )
            for size, shoppers, own in API_BATCHES
        ),
    ]
    results: dict[str, list[dict]] = {name: [] for name, *_ in settings}
    try:
        for _ in range(args.rounds):
            for name, env, batch in settings:
                os.environ.update(env, API_EVENTS_RATE="1000000/min")
                results[name].append(measure(args, work, ShopperEvent, slugs, batch, token))
    finally:
        worker.terminate()
        worker.wait(timeout=60)
        shutil.rmtree(work, ignore_errors=True)
    print(report(args, len(slugs), results))


def measure(args, work: Path, events_model, slugs, batch, token: str) -> dict:
    port = free_port()
    server = start_gunicorn(port, 2)
    base = f"http://127.0.0.1:{port}"
    api_port = free_port() if batch and batch[2] else port
    api_server = start_gunicorn(api_port, 1, nice=args.nice) if api_port != port else None
    try:
        for slug in slugs[:50]:  # warm-up: connections, thumbnails
            request = urllib.request.Request(f"{base}/p/{slug}/", headers={"User-Agent": BROWSER})
            urllib.request.urlopen(request).read()
        time.sleep(2)
        before = events_model.objects.count()
        stop = threading.Event()
        rate = args.events_per_second
        poster = threading.Thread(target=post_events, args=(api_port, token, rate, batch, stop))
        if batch:
            poster.start()
        started = time.monotonic()
        loads = [wrk(base, work / "pages.lua", c, args.seconds) for c in CONNECTIONS]
        stop.set()
        if batch:
            poster.join()
        elapsed = time.monotonic() - started
        recorded = events_model.objects.count() - before
        # Then wait for the rest: every page's view and rail, and what the API accepted.
        pages_record = os.environ["EVENTS_ENABLED"] == "true"
        pages = sum(load["requests"] for load in loads)
        expected = 2 * pages * pages_record + getattr(poster, "sent", 0)
        deadline = time.monotonic() + 60
        while events_model.objects.count() - before < expected and time.monotonic() < deadline:
            time.sleep(0.5)
        stored = events_model.objects.count() - before
    finally:
        for running in (server, api_server):
            if running is not None:
                running.terminate()
                running.wait(timeout=30)
    return {
        "loads": loads,
        "events_per_s": recorded / elapsed,
        "expected": expected,
        "stored": stored,
    }


def post_events(port: int, token: str, rate: int, batch, stop: threading.Event) -> None:
    """``rate`` events/s through POST /api/v1/events/, ``batch`` (events, shoppers) a
    request, on one connection."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    headers = {"Authorization": f"Token {token}", "Content-Type": "application/json"}
    size, shoppers, _ = batch
    interval = size / rate
    sent, next_at = 0, time.monotonic()
    while not stop.is_set():
        events = [
            {"visitor": f"bench-app-visitor-{(sent + n % shoppers) % 997:05d}", "kind": "view"}
            | {"product": 1 + n}
            for n in range(size)
        ]
        connection.request("POST", "/api/v1/events/", json.dumps({"events": events}), headers)
        response = connection.getresponse()
        response.read()
        if response.status == 202:
            sent += size
        next_at += interval
        time.sleep(max(0.0, next_at - time.monotonic()))
    threading.current_thread().sent = sent


def report(args, products: int, results: dict[str, list[dict]]) -> str:
    lines = [
        f"gunicorn, 2 sync workers, DEBUG off, product pages of {products} products; wrk with "
        f"{' then '.join(map(str, CONNECTIONS))} connections, {args.seconds} s each, per setting; "
        f"the settings alternating {args.rounds} times; one Celery worker (1 process, nice "
        f"{args.nice}) stores the "
        'events, Redis brokers. Each page records 2 events (the view, its rail). "Own server": the '
        f"API on a gunicorn of its own (1 sync worker, nice {args.nice}) beside the pages' 2.",
        "",
        "| events | round | connections | requests/s | p50 ms | p99 ms | events recorded/s "
        "| stored in all |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for name, runs in results.items():
        for number, run in enumerate(runs, 1):
            stored = f"{run['stored']:,} of {run['expected']:,}" if run["expected"] else "—"
            for load in run["loads"]:
                lines.append(
                    f"| {name} | {number} | {load['connections']} | {load['rps']:.1f} | "
                    f"{load['p50']:.1f} | {load['p99']:.1f} | {run['events_per_s']:,.0f} "
                    f"| {stored} |"
                )
    lines.append("")
    for position, connections in enumerate(CONNECTIONS):
        off = statistics.median(run["loads"][position]["p99"] for run in results["off"])
        for name in list(results)[1:]:
            p99 = statistics.median(run["loads"][position]["p99"] for run in results[name])
            lines.append(
                f"- {connections} connection(s), events {name}: median p99 {p99:.1f} ms against "
                f"{off:.1f} ms off ({(p99 / off - 1) * 100:+.0f}%)."
            )
    for name in list(results)[1:]:
        rate = statistics.median(run["events_per_s"] for run in results[name])
        lines.append(f"- Events {name}: {rate:,.0f} events/s recorded (median of the rounds).")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
