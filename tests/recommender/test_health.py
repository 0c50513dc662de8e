"""``manage.py recommender_health``: what an operator is told about the index, from a real
PostgreSQL's own statistics."""

import json
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone

from recommender import worker_heartbeat
from recommender.models import ProductEmbedding, VectorIndex
from recommender.selectors.health import recommender_health
from tests.factories.catalogue import ProductFactory


def health_command(*args) -> tuple[str, int]:
    out = StringIO()
    try:
        call_command("recommender_health", *args, stdout=out)
    except CommandError as error:
        return out.getvalue(), error.returncode
    return out.getvalue(), 0


def live_index_of(products) -> VectorIndex:
    """A live index that holds ``products`` (vectors done, text fitted after their last edit)."""
    index = VectorIndex.objects.create(
        encoder="efficientnet_lite0",
        encoder_version="test",
        state=VectorIndex.State.LIVE,
        live_since=timezone.now(),
        text_fitted_at=timezone.now() + timedelta(seconds=1),
    )
    ProductEmbedding.objects.bulk_create(
        ProductEmbedding(index=index, product=product, encoder=index.encoder, status="done")
        for product in products
    )
    return index


def flush_statistics() -> None:
    """Send this connection's row counts to PostgreSQL's statistics now (else within a second)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_force_next_flush()")
        cursor.execute("SELECT 1")  # the flush happens as this statement ends


def vacuum_embeddings() -> None:
    """No dead rows left in the table: earlier tests' rolled-back rows are dead rows too."""
    flush_statistics()
    with connection.cursor() as cursor:
        cursor.execute("VACUUM recommender_productembedding")


def embedding_table_problems() -> list[str]:
    return [
        p for p in recommender_health().problems if p.startswith("recommender_productembedding")
    ]


@pytest.mark.django_db
def test_a_shop_without_an_index_or_a_worker_needs_an_operator():
    report, status = health_command()
    assert status == 1
    assert "Live index: none" in report and "No live index: run `manage.py reindex`." in report
    assert "No indexing worker is running" in report


@pytest.mark.django_db(transaction=True)
def test_a_healthy_index_reports_no_problem_then_each_one_as_it_appears():
    vacuum_embeddings()
    products = ProductFactory.create_batch(3)
    index = live_index_of(products)
    worker_heartbeat.worker_heartbeat_record(hostname="celery@shop")

    report, status = health_command()
    assert status == 0, report
    assert "Products: 3; vectors done 3, failed 0, missing or behind their photo 0" in report
    assert "No problems." in report
    health = recommender_health()
    product_table = next(t for t in health.tables if t.name == "recommender_productembedding")
    assert "image_projected_hnsw" in product_table.index_bytes
    assert product_table.hnsw_bytes > 0 and health.shared_buffers_bytes > product_table.hnsw_bytes

    ProductEmbedding.objects.filter(product=products[0]).update(status="failed", error="bad")
    ProductFactory()  # a new product, not embedded yet
    VectorIndex.objects.filter(pk=index.pk).update(
        text_changed_at=timezone.now() - timedelta(hours=1)
    )
    report, status = health_command("--json")
    answer = json.loads(report)
    assert status == 1
    assert answer["vectors"] == {"done": 2, "failed": 1, "behind": 1}
    assert answer["problems"][0].startswith("1 products have vectors missing or behind")
    assert answer["problems"][1].startswith("1 products' photos could not be encoded")
    assert answer["problems"][2].startswith("The text model has not seen the catalogue's")


@pytest.mark.django_db(transaction=True)
def test_dead_rows_past_a_fifth_of_a_vector_table_are_reported():
    vacuum_embeddings()
    products = ProductFactory.create_batch(10)
    live_index_of(products)
    flush_statistics()
    assert embedding_table_problems() == []

    ProductEmbedding.objects.filter(product__in=products[:4]).delete()
    flush_statistics()
    table = next(t for t in recommender_health().tables if t.name.endswith("productembedding"))
    assert (table.live_rows, table.dead_rows) == (6, 4)
    assert embedding_table_problems() == [
        "recommender_productembedding: 4 dead rows (40%); autovacuum is behind "
        "(see README, \u201cLarge catalogues\u201d)."
    ]
