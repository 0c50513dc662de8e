"""A category page's latency while one client sends photo bombs within both rate limits.

    .venv/bin/python -m bench.photo_bomb_load [--seconds 52] [--workers 2]

gunicorn (as in bench.load) on the catalogue in the database. Shoppers read the largest
category's page in a loop, as many at once as there are workers, for ``--seconds``; then again
while one more client uploads the photo bombs of tests/security/hostile_images.py at the
review's pace, 15 through the storefront's search by photo and 15 through the API's in 52 s
(under the default 30 a minute of each limit). Prints the page's latency in both phases and
what the uploads took, by kind.
"""

from __future__ import annotations

import argparse
import http.cookiejar
import itertools
import os
import re
import statistics
import threading
import time
import urllib.error
import urllib.request

import django

from bench.load import free_port, start_gunicorn

BOUNDARY = "vitrine-bomb-boundary"
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=52)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    django.setup()
    from django.db.models import Count

    from shop.models import Category
    from tests.security.hostile_images import KINDS, PHOTO_BOMBS

    category = Category.objects.annotate(n=Count("products")).order_by("-n").first()
    if category is None:
        raise SystemExit("no catalogue: import one first (manage.py import_catalogue)")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    # The storefront's limit stays as configured; start_gunicorn lifts only the API's, and
    # the uploads keep under the default 30 a minute of each anyway.
    server = start_gunicorn(port, args.workers)
    try:
        page = f"{base}/c/{category.slug}/"
        read_pages(page, 5, args.workers)  # warm-up: caches, thumbnails
        quiet = read_pages(page, args.seconds, args.workers)
        bombs = [(name, KINDS[name].data) for name in PHOTO_BOMBS]
        uploads: list[tuple[str, str, int, float]] = []
        attacker = threading.Thread(
            target=send_bombs, args=(base, bombs, args.seconds, uploads), daemon=True
        )
        attacker.start()
        attacked = read_pages(page, args.seconds, args.workers)
        attacker.join()
    finally:
        server.terminate()
        server.wait(timeout=30)

    print(f"gunicorn, {args.workers} sync workers, {args.workers} shoppers reading {category}\n")
    print("| phase | pages read | median ms | p95 ms | max ms |\n|---|---:|---:|---:|---:|")
    for phase, seconds in (("alone", quiet), ("with the photo bombs", attacked)):
        print(f"| {phase} | {len(seconds)} | {summary(seconds)} |")
    print("\n| upload | answers | median s | max s |\n|---|---|---:|---:|")
    for name in dict.fromkeys(name for name, *_ in uploads):
        mine = [upload for upload in uploads if upload[0] == name]
        answers = ", ".join(sorted({str(status) for _, _, status, _ in mine}))
        seconds = sorted(upload[3] for upload in mine)
        print(f"| {name} | {answers} | {statistics.median(seconds):.2f} | {seconds[-1]:.2f} |")


def read_pages(url: str, seconds: float, readers: int) -> list[float]:
    """Latencies of ``readers`` shoppers each reading ``url`` again and again."""
    latencies: list[float] = []
    end = time.perf_counter() + seconds

    def read() -> None:
        while time.perf_counter() < end:
            started = time.perf_counter()
            urllib.request.urlopen(url, timeout=60).read()
            latencies.append(time.perf_counter() - started)

    threads = [threading.Thread(target=read) for _ in range(readers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies


def send_bombs(base: str, bombs, seconds: float, uploads: list) -> None:
    """30 uploads spread over ``seconds``, alternating the storefront's page and the API."""
    opener = urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
    )
    start = time.perf_counter()
    for number, (name, data) in zip(range(30), itertools.cycle(bombs), strict=False):
        time.sleep(max(0.0, start + number * seconds / 30 - time.perf_counter()))
        fields = {}
        if number % 2 == 0:
            path = "/search/photo/"
            form = opener.open(base + path, timeout=60).read().decode()
            fields["csrfmiddlewaretoken"] = CSRF.search(form).group(1)
        else:
            path = "/api/v1/search/photo/"
        request = urllib.request.Request(
            base + path,
            data=multipart(fields, data),
            headers={"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"},
        )
        started = time.perf_counter()
        try:
            status = opener.open(request, timeout=60).status
        except urllib.error.HTTPError as error:
            status = error.code
        uploads.append((name, path, status, time.perf_counter() - started))


def multipart(fields: dict[str, str], photo: bytes) -> bytes:
    parts = [
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
        for name, value in fields.items()
    ]
    head = (
        f"--{BOUNDARY}\r\nContent-Disposition: form-data; "
        'name="photo"; filename="photo"\r\nContent-Type: application/octet-stream\r\n\r\n'
    )
    return "".join(parts).encode() + head.encode() + photo + f"\r\n--{BOUNDARY}--\r\n".encode()


def summary(seconds: list[float]) -> str:
    ms = sorted(value * 1000 for value in seconds)
    p95 = ms[min(len(ms) - 1, int(0.95 * len(ms)))]
    return f"{statistics.median(ms):.0f} | {p95:.0f} | {ms[-1]:.0f}"


if __name__ == "__main__":
    main()
