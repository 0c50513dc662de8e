"""A worker killed with SIGKILL in the middle of a batch: its message was never acknowledged
(tasks are acks_late), so Redis hands it to the next worker once the visibility timeout has
passed, and every product ends up embedded without waiting for the sweep."""

import os
import signal
import time

import pytest

from recommender import services, tasks
from recommender.models import ProductEmbedding
from recommender.selectors import index_live
from shop.models import Product
from tests.conftest import celery_broker_at
from tests.factories.catalogue import ProductImageFactory
from tests.process_output import celery_worker, wait_until

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

VISIBILITY_TIMEOUT = 2  # seconds; production keeps the default hour (longer than any task)
BATCH = 20  # products per message here (EMBED_TASK_SIZE is 64)


def embedded_count(products: list[Product]) -> int:
    return ProductEmbedding.objects.filter(
        index=index_live(), product__in=products, status="done", image__isnull=False
    ).count()


def test_a_batch_cut_short_by_sigkill_is_redelivered_and_every_product_embedded(
    indexed_shop, redis, worker_env, monkeypatch
):
    products = [ProductImageFactory().product for _ in range(3 * BATCH)]
    monkeypatch.setattr(tasks, "EMBED_TASK_SIZE", BATCH)
    env = {**worker_env, "CELERY_VISIBILITY_TIMEOUT": str(VISIBILITY_TIMEOUT)}
    with celery_broker_at(redis.url):
        services.product_changes_queue(product_ids=[p.pk for p in products])  # 3 messages + refit

        with celery_worker(env, "-b", redis.url, "worker") as first:
            received = first.wait_for(
                r"recommender\.tasks\.embed_products\[([0-9a-f-]+)\] received"
            )
            # Its first task: seconds of work (it loads the encoder, then encodes the batch).
            os.kill(first.process.pid, signal.SIGKILL)  # no warm shutdown, no goodbye to Redis
            first.process.wait(timeout=30)
            killed_at = time.monotonic()
        task_id = received.group(1)

        # Cut short: the task never finished, and its message waits unacknowledged in Redis.
        assert f"[{task_id}] succeeded" not in first.everything()
        assert embedded_count(products) == 0
        unacked = b"".join(redis.client().hvals("unacked"))
        assert task_id.encode() in unacked

        # A worker that starts after the visibility timeout takes the message back at once.
        time.sleep(max(0.0, killed_at + VISIBILITY_TIMEOUT + 0.5 - time.monotonic()))
        with celery_worker(env, "-b", redis.url, "worker") as second:
            second.wait_for(rf"embed_products\[{task_id}\] received", timeout=60)
            wait_until(lambda: embedded_count(products) == len(products), 120, second)
            second.wait_for(rf"embed_products\[{task_id}\] succeeded", timeout=60)

    done = ProductEmbedding.objects.filter(index=index_live(), status="done", image__isnull=False)
    assert done.count() == Product.objects.count()  # the sample catalogue and the new products
