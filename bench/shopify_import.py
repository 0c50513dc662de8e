"""A Shopify export with three photos per product, photos served over HTTP on loopback,
imported and fully indexed through the shop's own path; then re-run, and killed and resumed.

    .venv/bin/python -m bench.shopify_import --products 10000

1. The catalogue is drawn once (home goods, shop/sample_catalogue.py) into
   var/bench-shopify/catalogue-N, outside every timing; a photo server
   (``python -m http.server``, threads) serves it on loopback.
2. **Clean run**: a new shop (its own embedded PostgreSQL, an empty live index) and one Celery
   worker (``-c 2``, Redis). Timed from ``import_catalogue`` until every photo is fetched,
   checked and stored, every product has its primary and other photos' vectors, and the text
   model is refitted over it all: products per second, end to end.
3. **Re-run**: the same file again: the import's own report (0 created, 0 updated) and the
   photo server's log (0 requests).
4. **Killed and resumed**: another new shop; the import and the worker are killed (SIGKILL)
   half-way, then both started again: the shop ends with every product, photo and vector
   once, the same as the clean run.

Loopback is allowed to the fetcher here only (SHOP_PHOTO_FETCH_ALLOW_LOOPBACK, the worker's
environment); a shop refuses it.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.load import free_port

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "var/bench-shopify"
PHOTOS_PER_PRODUCT = 3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=2, help="worker processes")
    parser.add_argument("--broker", default="redis://127.0.0.1:6379/5")
    parser.add_argument("--encoder", default="auto", help="the index's encoder (reindex --encoder)")
    parser.add_argument(
        "--clean-only", action="store_true", help="the clean run alone (for profiling)"
    )
    args = parser.parse_args()

    catalogue = WORK / f"catalogue-{args.products}"
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    csv_path = draw_catalogue(catalogue, args.products, base_url)
    server_log = WORK / "photo-server.log"
    server = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"],
        cwd=catalogue,
        stdout=subprocess.DEVNULL,
        stderr=server_log.open("w"),
        start_new_session=True,
    )
    shops: list[Path] = []
    try:
        clean = timed_run(args, csv_path, shops, kill_after=None)
        # Progress on stderr: stdout is the report (bench/RESULTS.md).
        print(f"clean run: {clean['seconds']:.0f} s, {clean['state']}", file=sys.stderr)
        if args.clean_only:
            report(args, clean, None, None, None)
            return
        requests_before = photo_requests(server_log)
        rerun = import_catalogue(clean["env"], csv_path)
        time.sleep(3)
        rerun_requests = photo_requests(server_log) - requests_before
        resumed = timed_run(args, csv_path, shops, kill_after=clean["import_seconds"] / 2)
    finally:
        server.terminate()
        server.wait(timeout=30)
        for shop in shops:
            shop_dispose(shop)
    report(args, clean, rerun, rerun_requests, resumed)


def draw_catalogue(folder: Path, products: int, base_url: str) -> Path:
    """The drawn catalogue (drawn once), its photo URLs pointing at this run's server."""
    drawn = folder / "products.csv"
    if not drawn.exists():
        from shop.sample_catalogue import write_sample_shopify_catalogue  # no Django needed

        started = time.monotonic()
        write_sample_shopify_catalogue(folder, photo_base_url=PLACEHOLDER, products=products)
        print(f"drew {products} products in {time.monotonic() - started:.0f} s", flush=True)
    here = folder / "products-here.csv"
    here.write_text(drawn.read_text(encoding="utf-8").replace(PLACEHOLDER, base_url))
    return here


PLACEHOLDER = "http://photos.invalid"


def timed_run(args, csv_path: Path, shops: list[Path], *, kill_after: float | None) -> dict:
    var_dir = Path(tempfile.mkdtemp(prefix="vitrine-shopify-"))
    shops.append(var_dir)
    env = {
        **os.environ,
        "VITRINE_VAR_DIR": str(var_dir),
        "DJANGO_SETTINGS_MODULE": "config.settings.local",
        "CELERY_BROKER_URL": args.broker,
        "SHOP_PHOTO_FETCH_ALLOW_LOOPBACK": "true",
        "DJANGO_DEBUG": "false",  # as deployed: local settings' DEBUG logs every query
        "RECOMMENDER_TEXT_REFIT_DELAY": "5",
    }
    manage = [sys.executable, "manage.py"]
    subprocess.run([*manage, "migrate", "--verbosity", "0"], cwd=ROOT, env=env, check=True)
    reindex = [*manage, "reindex", "--encoder", args.encoder]
    subprocess.run(reindex, cwd=ROOT, env=env, check=True, capture_output=True)
    import redis

    redis.Redis.from_url(args.broker).flushdb()
    worker = start_worker(env, args.concurrency)
    started = time.monotonic()
    kills = 0
    try:
        if kill_after is not None:
            importer = subprocess.Popen(
                [*manage, "import_catalogue", str(csv_path)],
                cwd=ROOT,
                env=env,
                stdout=subprocess.DEVNULL,
                start_new_session=True,
            )
            time.sleep(kill_after)
            os.killpg(importer.pid, signal.SIGKILL)
            os.killpg(worker.pid, signal.SIGKILL)
            importer.wait()
            worker.wait()
            kills = 1
            worker = start_worker(env, args.concurrency)
        imported = import_catalogue(env, csv_path)
        import_seconds = time.monotonic() - started
        state = wait_until_indexed(env, args.products, catch_up=kills > 0)
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(timeout=120)
    seconds = time.monotonic() - started
    return {
        "env": env,
        "seconds": seconds,
        "import_seconds": import_seconds,
        "imported": imported,
        "state": state,
        "kills": kills,
    }


def shop_dispose(var_dir: Path) -> None:
    """Stop a run's PostgreSQL and delete its folder (gigabytes at 10,000 products). Its
    worker's pool processes never unregister from the server, which would otherwise run on."""
    from config import embedded_postgres

    embedded_postgres.stop(var_dir / "postgres")
    shutil.rmtree(var_dir, ignore_errors=True)


def start_worker(env: dict, concurrency: int) -> subprocess.Popen:
    command = [sys.executable, "-m", "celery", "-A", "config.celery_app", "worker"]
    command += ["-c", str(concurrency), "--loglevel", "WARNING"]
    return subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, start_new_session=True
    )


def import_catalogue(env: dict, csv_path: Path) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", "import_catalogue", str(csv_path)],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return next(line for line in done.stdout.splitlines() if line.startswith("Imported"))


COUNTS = """
select
  (select count(*) from shop_product),
  (select count(*) from shop_productphotosource where status = 'fetched'),
  (select count(*) from shop_productphotosource where status = 'failed'),
  (select count(*) from shop_productimage),
  (select count(*) from recommender_productembedding e join recommender_vectorindex i
     on i.id = e.index_id and i.state = 'live' where e.status = 'done' and e.image is not null
     and e.text is not null),
  (select count(*) from recommender_photoembedding e join recommender_vectorindex i
     on i.id = e.index_id and i.state = 'live'),
  (select count(*) from recommender_vectorindex where state = 'live'
     and text_changed_at is null and text_fitted_at is not null),
  (select count(*) - count(distinct (product_id, sha256)) from shop_productimage)
"""
FIELDS = [
    "products",
    "fetched",
    "failed",
    "photos",
    "vectors",
    "other_vectors",
    "text_fitted",
    "duplicate_photos",
]


def counts(env: dict) -> dict[str, int]:
    """The shop's progress, read straight from its embedded PostgreSQL (no Django start-up
    every poll, which would take CPU from the workers being measured)."""
    import psycopg

    from config import embedded_postgres

    socket_dir = embedded_postgres.start(Path(env["VITRINE_VAR_DIR"]) / "postgres")
    with psycopg.connect(host=str(socket_dir), dbname="vitrine", user="postgres") as connection:
        row = connection.execute(COUNTS).fetchone()
    return dict(zip(FIELDS, row, strict=True))


def wait_until_indexed(
    env: dict, products: int, *, catch_up: bool = False, timeout: float = 3600
) -> dict[str, int]:
    """Poll until the shop is complete. With ``catch_up``, whenever nothing has moved for
    ``STALL_SECONDS``, run at once the catch-ups that beat runs on a schedule (photos still
    pending, products without vectors): a killed worker's messages are lost with it."""
    photos = products * PHOTOS_PER_PRODUCT
    deadline = time.monotonic() + timeout
    last, since, catch_ups = None, time.monotonic(), 0
    while time.monotonic() < deadline:
        state = counts(env)
        if (
            state["fetched"] + state["failed"] == photos
            and state["vectors"] == products
            and state["other_vectors"] == state["photos"] - products
            and state["text_fitted"] == 1
        ):
            return {**state, "catch_ups": catch_ups}
        if state != last:
            last, since = state, time.monotonic()
        elif catch_up and time.monotonic() - since > STALL_SECONDS:
            subprocess.run(
                [sys.executable, "manage.py", "shell", "-c", CATCH_UP],
                cwd=ROOT,
                env=env,
                check=True,
                stdout=sys.stderr,
            )
            catch_ups += 1
            since = time.monotonic()
        time.sleep(2)
    raise SystemExit(f"not indexed within {timeout:.0f} s: {counts(env)}")


STALL_SECONDS = 20
CATCH_UP = """
from recommender.tasks import sweep_embeddings
from shop.services.photo_sources import photo_sources_pending_queue
print("catch-up:", photo_sources_pending_queue(older_than_seconds=0), "photos,",
      sweep_embeddings(), "products queued")
"""


def photo_requests(log: Path) -> int:
    return sum('"GET ' in line for line in log.read_text(errors="replace").splitlines())


def report(args, clean, rerun, rerun_requests, resumed) -> None:
    rate = args.products / clean["seconds"]
    print(
        f"\n{args.products} products x {PHOTOS_PER_PRODUCT} photos, Shopify CSV, photos over "
        f"HTTP on loopback, one worker -c {args.concurrency}, 2 cores, encoder {args.encoder}\n"
    )
    print(
        "| run | seconds | products/s | products | photos fetched / failed | vectors "
        "| other photos' vectors | photos stored twice | catch-ups |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, run in (("clean", clean), ("killed half-way, resumed", resumed)):
        if run is None:
            continue
        state = run["state"]
        print(
            f"| {name} | {run['seconds']:.0f} | {args.products / run['seconds']:.1f} | "
            f"{state['products']} | {state['fetched']} / {state['failed']} | {state['vectors']} | "
            f"{state['other_vectors']} | {state['duplicate_photos']} | {state['catch_ups']} |"
        )
    print(
        f"\nclean run: import step {clean['import_seconds']:.0f} s, then the workers; "
        f"{rate:.1f} products/s end to end (target >= 40)"
    )
    if rerun is not None:
        print(f"re-run: `{rerun}`; photo requests {rerun_requests}")


if __name__ == "__main__":
    main()
