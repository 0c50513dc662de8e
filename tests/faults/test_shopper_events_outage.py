"""Recording what shoppers do when Redis or a worker goes away.

A gunicorn worker sends its events to Redis every 0.2 s. Redis stopped: the pages answer as
usual, the events wait in the web process, and once Redis is back they are all stored. A worker
killed while storing a batch: the batch is redelivered (acks_late) and every event stored once.
"""

import os
import signal
import time

import pytest

from recommender.behaviour import recording
from recommender.models import ShopperEvent
from tests.conftest import celery_broker_at
from tests.factories.catalogue import ProductFactory
from tests.factories.recommender import random_index
from tests.faults.servers import gunicorn
from tests.process_output import celery_worker, wait_until

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0"


def visit(base: str, slug: str) -> int:
    import urllib.request

    request = urllib.request.Request(f"{base}/p/{slug}/", headers={"User-Agent": BROWSER})
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.status


def test_pages_stay_up_while_redis_is_down_and_their_events_are_stored_once_it_is_back(
    redis, worker_env, tmp_path
):
    products = [ProductFactory(title=f"Outage shirt {n}") for n in range(12)]
    random_index(products)
    env = {
        **worker_env,
        "VITRINE_TEST_BROKER_URL": redis.url,
        "VITRINE_TEST_EVENTS_FLUSH_SECONDS": "0.2",
    }
    log = tmp_path / "gunicorn.log"
    with gunicorn(env, log, workers=1) as base:
        with celery_worker(env, "-b", redis.url, "worker") as worker:
            for product in products[:5]:
                assert visit(base, product.slug) == 200
            wait_until(lambda: ShopperEvent.objects.count() == 10, 60, worker)  # views, rails

        redis.stop()
        for product in products[5:]:
            assert visit(base, product.slug) == 200, log.read_text()
        time.sleep(1)  # several sends fail meanwhile
        assert ShopperEvent.objects.count() == 10

        redis.start()  # empty, on the same port
        with celery_worker(env, "-b", redis.url, "worker") as worker:
            wait_until(lambda: ShopperEvent.objects.count() == 24, 90, worker)
    viewed = ShopperEvent.objects.filter(kind="view").values_list("product_id", flat=True)
    assert sorted(viewed) == sorted(product.pk for product in products)
    assert "Could not queue recommender.tasks.store_shopper_events" in log.read_text()


VISIBILITY_TIMEOUT = 2  # seconds; production keeps the default hour
EVENTS = 30_000  # one message, seconds of work to store


def test_a_worker_killed_while_storing_loses_no_event_and_stores_none_twice(
    redis, worker_env, monkeypatch
):
    monkeypatch.setattr(recording.outbox, "limit", EVENTS)
    monkeypatch.setattr(recording, "BATCH_SIZE", EVENTS)
    for _ in range(EVENTS):
        recording.outbox.put(recording._event("a" * 32, kind="view", product_id=1))
    env = {**worker_env, "CELERY_VISIBILITY_TIMEOUT": str(VISIBILITY_TIMEOUT)}
    with celery_broker_at(redis.url):
        assert recording.outbox_send() == EVENTS

        with celery_worker(env, "-b", redis.url, "worker") as first:
            received = first.wait_for(
                r"recommender\.tasks\.store_shopper_events\[([0-9a-f-]+)\] received"
            )
            os.kill(first.process.pid, signal.SIGKILL)
            first.process.wait(timeout=30)
            killed_at = time.monotonic()
        task_id = received.group(1)
        assert f"[{task_id}] succeeded" not in first.everything()
        assert ShopperEvent.objects.count() == 0  # one transaction: all or nothing

        time.sleep(max(0.0, killed_at + VISIBILITY_TIMEOUT + 0.5 - time.monotonic()))
        with celery_worker(env, "-b", redis.url, "worker") as second:
            second.wait_for(rf"store_shopper_events\[{task_id}\] succeeded", timeout=120)
    assert ShopperEvent.objects.count() == EVENTS
