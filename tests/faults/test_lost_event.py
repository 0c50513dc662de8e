"""The catalogue announces a change once it has committed (shop/events.py), and the recommender's
receiver queues the work. When the announcement never arrives (the receiver fails, or the
process stops between the commit and the receiver), the change stands and the periodic sweep
covers the gap: the product is embedded and its words reach the text model."""

from datetime import timedelta

import pytest
from django.utils import timezone

from recommender import queueing, services
from recommender.models import VectorIndex
from recommender.selectors import index_live
from recommender.tasks import sweep_embeddings
from shop.images import check_image
from shop.models import Product
from shop.services import product_save
from tests.factories.catalogue import jpeg_bytes

pytestmark = [pytest.mark.slow, pytest.mark.django_db]


def queued(memory_queue) -> list[tuple[str, list]]:
    messages = []
    while (message := memory_queue.get(block=False) if memory_queue.qsize() else None) is not None:
        messages.append((message.headers["task"], message.payload[0]))
    return messages


def test_a_change_whose_event_never_arrived_is_caught_by_the_sweep(
    indexed_shop, monkeypatch, memory_queue, django_capture_on_commit_callbacks, caplog
):
    def receiver_crashes(**_):
        raise RuntimeError("the worker process stopped")

    monkeypatch.setattr(queueing, "product_changes_queue", receiver_crashes)
    product = Product.objects.order_by("pk").first()
    photo = check_image(jpeg_bytes((0, 150, 0), size=(90, 120)))
    with django_capture_on_commit_callbacks(execute=True):
        product_save(product=product, fields={"title": "Zanzibar Green Shirt"}, photo=photo)

    product.refresh_from_db()
    assert product.title == "Zanzibar Green Shirt"  # the change stands
    assert "Error calling product_changes_index" in caplog.text  # logged by Django
    assert queued(memory_queue) == []  # nothing was queued
    assert index_live().text_changed_at is None  # nor the text model marked stale
    monkeypatch.undo()

    # Within the refit's delay the sweep waits: the event may still be on its way.
    sweep_embeddings()
    tasks = [task for task, _ in queued(memory_queue)]
    assert tasks == ["recommender.tasks.embed_products"]  # the photo changed: re-embed now

    # Once the change is older than the delay and the queue's grace, the refit is queued.
    long_ago = timezone.now() - services.SWEEP_GRACE - timedelta(minutes=1)
    VectorIndex.objects.filter(pk=indexed_shop.pk).update(
        text_fitted_at=long_ago - timedelta(minutes=1)
    )
    Product.objects.filter(pk=product.pk).update(updated_at=long_ago)
    sweep_embeddings()
    assert ("recommender.tasks.refit_text_index", []) in queued(memory_queue)
    services.text_index_refit_when_quiet(quiet_seconds=1)
    assert "zanzibar" in index_live().text_model["vocabulary"]
