"""Whole requests through gunicorn, loaded by wrk from a second process on loopback.

    .venv/bin/python manage.py migrate && .venv/bin/python manage.py import_catalogue PATH
    .venv/bin/python manage.py reindex
    .venv/bin/python -m bench.load [--seconds 60] [--workers 2] [--profile bench/profiles]

Product pages (with their rail) of random products, then search by photo (the API, fashion-dev
photos of random products), each at rising concurrency within ``--seconds`` in all. The
capacity of each is the highest throughput whose p99 stays under 300 ms with no error. The
resident memory of each gunicorn worker is read from /proc after the pages, then after the
photo searches (with the encoder loaded). ``--profile`` records a py-spy flame graph of one
worker under the page load and under the photo load. Needs ``wrk`` (Debian: apt-get install
wrk) and, for profiles, py-spy (``pip install -e '.[bench]'``).
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import django

P99_LIMIT_MS = 300
PAGE_CONCURRENCY = (1, 2, 4, 8)
PHOTO_CONCURRENCY = (1, 2, 4)
PHOTO_BOUNDARY = "vitrine-bench-boundary"

PAGES_LUA = """
paths = {}
for line in io.lines(os.getenv("BENCH_PATHS")) do paths[#paths + 1] = line end
math.randomseed(0)
request = function()
  return wrk.format("GET", paths[math.random(#paths)])
end
"""

PHOTOS_LUA = """
bodies = {}
for line in io.lines(os.getenv("BENCH_BODIES")) do
  local file = io.open(line, "rb"); bodies[#bodies + 1] = file:read("*all"); file:close()
end
math.randomseed(0)
request = function()
  local headers = {["Content-Type"] = "multipart/form-data; boundary=BOUNDARY"}
  return wrk.format("POST", "/api/v1/search/photo/", headers, bodies[math.random(#bodies)])
end
""".replace("BOUNDARY", PHOTO_BOUNDARY)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=60, help="for pages and for photos each")
    parser.add_argument("--workers", type=int, default=os.cpu_count())
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--profile", type=Path, help="folder for py-spy flame graphs")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk not found: apt-get install wrk")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    django.setup()
    from recommender.selectors import index_live
    from shop.models import Product

    if index_live() is None:
        raise SystemExit("no live index: run `manage.py reindex` first")
    rng = random.Random(args.seed)
    products = list(Product.objects.filter(is_active=True).prefetch_related("images"))
    sample = rng.sample(products, min(500, len(products)))
    work = Path(tempfile.mkdtemp(prefix="vitrine-load-"))
    paths = work / "paths.txt"
    paths.write_text("".join(f"/p/{p.slug}/\n" for p in sample))
    bodies = work / "bodies.txt"
    bodies.write_text(
        "".join(f"{photo_body(p, work)}\n" for p in sample[:50] if p.primary_image is not None)
    )
    (work / "pages.lua").write_text(PAGES_LUA)
    (work / "photos.lua").write_text(PHOTOS_LUA)
    os.environ.update(BENCH_PATHS=str(paths), BENCH_BODIES=str(bodies))

    port = free_port()
    server = start_gunicorn(port, args.workers)
    try:
        base = f"http://127.0.0.1:{port}"
        for line in paths.read_text().split():  # warm-up: thumbnails, caches, connections
            urllib.request.urlopen(base + line).read()
        pages = load_steps(base, work / "pages.lua", PAGE_CONCURRENCY, args.seconds)
        page_profile = profile(server, args.profile, "pages", base, work / "pages.lua")
        rss_pages = worker_rss(server)
        # Warm-up: every worker loads its encoder on its first photo (once per process).
        wrk(base, work / "photos.lua", 2 * args.workers, 5)
        photos = load_steps(base, work / "photos.lua", PHOTO_CONCURRENCY, args.seconds)
        photo_profile = profile(server, args.profile, "photos", base, work / "photos.lua")
        rss_photos = worker_rss(server)
    finally:
        server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(work, ignore_errors=True)
    print(report(args, len(products), pages, photos, rss_pages, rss_photos))
    for name, svg in (("pages", page_profile), ("photos", photo_profile)):
        if svg:
            print(f"- py-spy flame graph under the {name} load: `{svg}`")


def photo_body(product, folder: Path) -> Path:
    with product.primary_image.image.open("rb") as handle:
        data = handle.read()
    body = (
        f"--{PHOTO_BOUNDARY}\r\n"
        'Content-Disposition: form-data; name="photo"; filename="photo.jpg"\r\n'
        "Content-Type: image/jpeg\r\n\r\n"
    ).encode() + data
    body += f"\r\n--{PHOTO_BOUNDARY}--\r\n".encode()
    path = folder / f"photo-{product.pk}.body"
    path.write_bytes(body)
    return path


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_gunicorn(port: int, workers: int, *, nice: int = 0) -> subprocess.Popen:
    env = {
        **os.environ,
        "DJANGO_DEBUG": "false",
        # The API's photo-search limit would cut the load short: this measures capacity.
        "API_PHOTO_SEARCH_RATE": "1000000/min",
    }
    command = ["nice", "-n", str(nice), sys.executable, "-m", "gunicorn", "config.wsgi"]
    command += ["--bind", f"127.0.0.1:{port}", "--workers", str(workers), "--timeout", "120"]
    command += ["--log-level", "warning"]
    server = subprocess.Popen(command, env=env, start_new_session=True)
    for _ in range(600):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5).read()
            return server
        except OSError:
            if server.poll() is not None:
                raise SystemExit("gunicorn exited before serving") from None
            time.sleep(0.1)
    server.terminate()
    raise SystemExit("gunicorn did not answer within 60 s")


def wrk(base: str, script: Path, connections: int, seconds: int) -> dict:
    command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "--timeout", "10s"]
    command += ["-s", str(script), base]
    output = subprocess.run(
        command,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    errors = sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", output))
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return {
        "connections": connections,
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),
        # Anchored: "92.50%" in the thread statistics also contains "50%".
        "p50": to_ms(re.search(r"^\s+50%\s+(\S+)", output, re.MULTILINE).group(1)),
        "p99": to_ms(re.search(r"^\s+99%\s+(\S+)", output, re.MULTILINE).group(1)),
        "requests": int(re.search(r"(\d+) requests in", output).group(1)),
        "errors": errors + (int(non_2xx.group(1)) if non_2xx else 0),
    }


def to_ms(value: str) -> float:
    """wrk's latency (``812.5us``, ``42.1ms``, ``1.2s``); infinite when nothing completed."""
    matched = re.fullmatch(r"([\d.]+)(us|ms|s|m)", value)
    if matched is None:  # "-nan": no request finished in the step
        return float("inf")
    number, unit = matched.groups()
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def load_steps(base: str, script: Path, concurrency, seconds: int) -> list[dict]:
    step = max(1, seconds // len(concurrency))
    return [wrk(base, script, connections, step) for connections in concurrency]


def profile(server, folder: Path | None, name: str, base: str, script: Path) -> Path | None:
    """A py-spy flame graph of one worker while wrk loads it (2 connections, 10 s)."""
    if folder is None:
        return None
    folder.mkdir(parents=True, exist_ok=True)
    svg = folder / f"{name}.svg"
    worker = worker_pids(server)[0]
    py_spy = shutil.which("py-spy", path=Path(sys.executable).parent) or shutil.which("py-spy")
    if py_spy is None:
        raise SystemExit("py-spy not found: pip install -e '.[bench]'")
    command = [py_spy, "record", "--pid", str(worker), "--duration", "10", "--rate", "200"]
    command += ["--output", str(svg), "--nonblocking"]
    spy = subprocess.Popen(
        command,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wrk(base, script, 2, 11)
    spy.wait(timeout=60)
    return svg


def worker_pids(server: subprocess.Popen) -> list[int]:
    children = Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()
    return [int(pid) for pid in children]


def worker_rss(server: subprocess.Popen) -> list[float]:
    """Resident MiB of each gunicorn worker."""
    sizes = []
    for pid in worker_pids(server):
        status = Path(f"/proc/{pid}/status").read_text()
        sizes.append(int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1)) / 1024)
    return sizes


def capacity(steps: list[dict]) -> dict | None:
    within = [s for s in steps if s["p99"] < P99_LIMIT_MS and s["errors"] == 0]
    return max(within, key=lambda s: s["rps"]) if within else None


def report(args, products, pages, photos, rss_pages, rss_photos) -> str:
    lines = [
        f"gunicorn, {args.workers} sync workers, DEBUG off, {products:,} products; wrk on "
        f"loopback, {args.seconds} s per load in steps of rising concurrency",
        "",
        "| load | connections | requests/s | p50 ms | p99 ms | requests | errors |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, steps in (("product page", pages), ("search by photo (API)", photos)):
        for s in steps:
            lines.append(
                f"| {name} | {s['connections']} | {s['rps']:.1f} | {s['p50']:.1f} | "
                f"{s['p99']:.1f} | {s['requests']} | {s['errors']} |"
            )
    lines.append("")
    for name, steps in (("Product pages", pages), ("Searches by photo", photos)):
        best = capacity(steps)
        lines.append(
            f"- {name}: {best['rps']:.1f}/s with p99 {best['p99']:.0f} ms "
            f"({best['connections']} connections), no errors."
            if best
            else f"- {name}: no step kept p99 under {P99_LIMIT_MS} ms without errors."
        )
    lines.append(
        "- Resident memory per web worker: "
        + ", ".join(f"{mib:.0f}" for mib in rss_pages)
        + " MiB after the pages; "
        + ", ".join(f"{mib:.0f}" for mib in rss_photos)
        + " MiB after the photo searches (encoder loaded)."
    )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
