"""Resident memory of a Celery worker and of each encoder; the model is loaded once per process.

    .venv/bin/python manage.py migrate && .venv/bin/python manage.py import_catalogue PATH
    .venv/bin/python manage.py reindex
    .venv/bin/python -m bench.memory [--tasks 20] [--broker redis://127.0.0.1:6379/13]

A real worker (``celery -A config worker --pool solo``) embeds ``--tasks`` batches of the live
index's products (``embed_products``, forced, as after a photo change); its resident size is
read from /proc after it starts, after the first batch and after the last. Flat from the first
batch to the last means the model is loaded once, not per task. Then each encoder is loaded in
a fresh process (ResNet50 with random weights where its ImageNet file is absent: the same
size) and encodes a batch of photos.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import django

ENCODER_PROCESS = """
import os, re, sys, django
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
django.setup()
from pathlib import Path
from bench.memory import rss_mib
from recommender.encoders import resnet50
from recommender.encoders.encoder import ImageEncoder
name, photos = sys.argv[1], sys.argv[2:]
before = rss_mib(os.getpid())
if name == "resnet50":
    try:
        weights = resnet50.find_weights()
    except resnet50.WeightsUnavailable:
        weights = None
    encoder = ImageEncoder(name=name, version="bench", model=resnet50.build_model(weights),
                           normalise=resnet50.normalise, runtime="graph")
else:
    from recommender.encoding import encoder_load  # as a worker loads it (conversion cached)

    encoder = encoder_load(name)
for _ in encoder.encode_stream(enumerate(Path(p).read_bytes() for p in photos)):
    pass
print(before, rss_mib(os.getpid()))
"""


def rss_mib(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1)) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=20)
    parser.add_argument("--broker", default="redis://127.0.0.1:6379/13")
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    os.environ["CELERY_BROKER_URL"] = args.broker
    django.setup()
    from recommender.models import ProductEmbedding
    from recommender.selectors import index_live
    from recommender.tasks import EMBED_TASK_SIZE, embed_products
    from shop.models import ProductImage

    index = index_live()
    if index is None:
        raise SystemExit("no live index: run `manage.py reindex` first")
    ids = list(
        ProductEmbedding.objects.filter(index=index, image__isnull=False)
        .order_by("product_id")
        .values_list("product_id", flat=True)[: args.tasks * EMBED_TASK_SIZE]
    )
    batches = [ids[i : i + EMBED_TASK_SIZE] for i in range(0, len(ids), EMBED_TASK_SIZE)]
    command = [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool", "solo"]
    command += ["--without-heartbeat", "--without-mingle", "--without-gossip", "-l", "warning"]
    worker = subprocess.Popen(command, env=os.environ.copy(), stdout=subprocess.DEVNULL)
    try:
        time.sleep(8)  # started and connected
        idle = rss_mib(worker.pid)
        sizes = []
        for batch in batches:
            started = time.time()
            embed_products.delay(batch, force=True)
            wait_until_embedded(index, batch, started, worker)
            sizes.append(rss_mib(worker.pid))
    finally:
        worker.terminate()
        worker.wait(timeout=60)

    photos = [image.image.path for image in ProductImage.objects.filter(is_primary=True)[:64]]
    encoders = []
    for name in ("efficientnet_lite0", "resnet50"):
        out = subprocess.run(
            [sys.executable, "-c", ENCODER_PROCESS, name, *photos],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
        encoders.append((name, float(out[-2]), float(out[-1])))

    print(
        f"Celery worker (solo pool), live index {index.encoder}, {len(batches)} tasks of "
        f"{EMBED_TASK_SIZE} products\n"
    )
    print("| process | resident MiB |\n|---|---:|")
    print(f"| worker started, no task yet | {idle:.0f} |")
    print(f"| worker after the first task (encoder loaded) | {sizes[0]:.0f} |")
    print(f"| worker after task {len(sizes)} | {sizes[-1]:.0f} |")
    for name, before, after in encoders:
        print(
            f"| fresh process with Django, then {name} loaded and encoding | "
            f"{before:.0f} -> {after:.0f} |"
        )


def wait_until_embedded(index, batch, started, worker, timeout: float = 300) -> None:
    from datetime import UTC, datetime

    from recommender.models import ProductEmbedding

    since = datetime.fromtimestamp(started, UTC)
    deadline = time.time() + timeout
    while time.time() < deadline:
        done = ProductEmbedding.objects.filter(
            index=index, product_id__in=batch, updated_at__gte=since
        ).count()
        if done == len(batch):
            return
        if worker.poll() is not None:
            raise SystemExit("the worker exited")
        time.sleep(0.2)
    raise SystemExit("the worker did not embed a batch within 5 minutes")


if __name__ == "__main__":
    main()
