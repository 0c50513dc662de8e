"""Freshness through a real Celery worker on real Redis: after-commit embedding, the debounced
text refit and the periodic sweep, against the test database."""

import os
import time
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.db import connection
from django.urls import reverse

from recommender.models import ProductEmbedding
from recommender.selectors import index_live, product_list_similar
from recommender.tasks import sweep_embeddings
from shop.models import Product, ProductImage
from tests.conftest import celery_broker_at
from tests.factories.catalogue import admin_product_form, jpeg_bytes
from tests.process_output import ProcessOutput, celery_worker

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
ROOT = Path(__file__).resolve().parents[2]
REDIS_URL = "redis://127.0.0.1:6379/14"


@pytest.fixture
def redis_broker():
    with celery_broker_at(REDIS_URL) as url:
        yield url


@pytest.fixture
def worker(redis_broker, tmp_path):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "VITRINE_TEST_WORKER_DATABASE": connection.settings_dict["NAME"],
        "DJANGO_MEDIA_ROOT": str(tmp_path / "media"),
        "RECOMMENDER_TEXT_REFIT_DELAY": "1",
    }
    with celery_worker(env, "-b", redis_broker, "worker") as output:
        yield output


@pytest.fixture
def indexed_shop(indexed_catalogue, settings):
    # The worker reads photos from the test's media folder (tmp_path / "media", as here).
    settings.RECOMMENDER_TEXT_REFIT_DELAY = 1
    return indexed_catalogue


def wait_until(condition, timeout: float, output: ProcessOutput):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.5)
    raise AssertionError(f"not done in {timeout} s; worker said:\n{output.everything()}")


def embedded(product) -> bool:
    return ProductEmbedding.objects.filter(
        index=index_live(), product=product, status="done", image__isnull=False
    ).exists()


def test_a_product_saved_in_admin_is_embedded_after_commit_and_text_refitted(
    indexed_shop, worker, client
):
    client.force_login(get_user_model().objects.create_superuser("boss", "b@example.com", "pw"))
    photo = ContentFile(jpeg_bytes((200, 30, 30), size=(120, 160)), name="zanzibar.jpg")
    response = client.post(
        reverse("admin:shop_product_add"),
        admin_product_form(photo, title="Zanzibar Red Tshirt", slug="zanzibar-red-tshirt"),
    )
    assert response.status_code == 302
    product = Product.objects.get(slug="zanzibar-red-tshirt")

    wait_until(lambda: embedded(product), 120, worker)
    assert len(product_list_similar(product=product, k=5)) == 5

    # The debounced refit (1 s here) brings the new word into the text model.
    wait_until(
        lambda: "zanzibar" in (index_live().text_model or {}).get("vocabulary", {}), 60, worker
    )
    assert index_live().text_changed_at is None


def test_the_sweep_embeds_products_whose_message_never_came(indexed_shop, worker):
    product = Product.objects.create(title="Lost message cap", slug="lost-message-cap")
    ProductImage.objects.create(
        product=product,
        is_primary=True,
        sha256="f" * 64,
        image=ContentFile(jpeg_bytes((0, 0, 200)), name="cap.jpg"),
    )
    assert not embedded(product)  # created without telling the recommender

    sweep_embeddings.delay()

    wait_until(lambda: embedded(product), 120, worker)


@pytest.mark.django_db
def test_an_outdated_index_is_left_to_its_rebuild_not_crashed_into(caplog):
    from recommender.models import VectorIndex
    from recommender.services import product_embeddings_refresh
    from tests.factories.catalogue import ProductFactory

    product = ProductFactory()
    VectorIndex.objects.create(
        encoder="efficientnet_lite0", encoder_version="imagenet-57934424", state="live"
    )
    product_embeddings_refresh(product_ids=[product.pk])  # no error: the task succeeds
    assert not ProductEmbedding.objects.exists()
    assert "Not embedding into" in caplog.text and "reindex" in caplog.text
