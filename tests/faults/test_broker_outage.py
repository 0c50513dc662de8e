"""Redis stopped while an admin saves a product: the save goes through, the product shows as
pending, and once Redis is back the periodic sweep embeds it."""

import re
import time
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.db.models import F
from django.urls import reverse

from recommender.models import ProductEmbedding, VectorIndex
from recommender.selectors import index_live
from recommender.tasks import sweep_embeddings
from shop.models import Product
from tests.conftest import celery_broker_at
from tests.factories.catalogue import admin_product_form, jpeg_bytes
from tests.process_output import celery_worker, wait_until

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def embedding_cell(client, product: Product) -> str:
    """What the admin's product list shows in the Embedding column for ``product``."""
    listing = client.get(reverse("admin:shop_product_changelist"), {"q": product.slug})
    cells = re.findall(r'<td class="field-embedding">([^<]*)</td>', listing.content.decode())
    assert len(cells) == 1, f"expected one row for {product.slug}, got {cells}"
    return cells[0]


def test_a_save_while_redis_is_down_succeeds_shows_pending_and_the_sweep_embeds_it_later(
    indexed_shop, redis, worker_env, client, caplog
):
    client.force_login(get_user_model().objects.create_superuser("boss", "b@example.com", "pw"))
    with celery_broker_at(redis.url):
        redis.stop()

        photo = ContentFile(jpeg_bytes((20, 160, 40), size=(120, 160)), name="outage.jpg")
        form = admin_product_form(photo, title="Outage Green Tshirt", slug="outage-green-tshirt")
        started = time.monotonic()
        response = client.post(reverse("admin:shop_product_add"), form)
        seconds = time.monotonic() - started

        assert response.status_code == 302, response.content.decode()[:2000]
        # Sending fails at once instead of retrying inside the request (it took 12 s).
        assert seconds < 5, f"the save took {seconds:.1f} s with Redis down"
        assert "Could not queue recommender.tasks.embed_products" in caplog.text
        product = Product.objects.get(slug="outage-green-tshirt")
        assert product.primary_image is not None
        assert not ProductEmbedding.objects.filter(product=product).exists()
        assert embedding_cell(client, product) == "pending"
        change_page = client.get(reverse("admin:shop_product_change", args=[product.pk]))
        assert "pending: not in efficientnet_lite0 index" in change_page.content.decode()

        redis.start()  # same port, empty: the messages of the save are gone for good
        # The sweep comes minutes later: long enough for the lost text refit to be overdue.
        VectorIndex.objects.update(text_changed_at=F("text_changed_at") - timedelta(hours=1))
        with celery_worker(worker_env, "-b", redis.url, "worker") as worker:
            sweep_embeddings.delay()  # what beat sends every RECOMMENDER_SWEEP_SECONDS
            wait_until(
                lambda: ProductEmbedding.objects.filter(
                    index=index_live(), product=product, status="done", image__isnull=False
                ).exists(),
                120,
                worker,
            )
            # The text refit queued by the save was lost too; the sweep queued it again.
            wait_until(lambda: index_live().text_changed_at is None, 120, worker)
    assert "outage" in index_live().text_model["vocabulary"]
    assert embedding_cell(client, product) == "done"
