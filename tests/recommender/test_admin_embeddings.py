"""What a shop admin sees of the similarity index: status, reasons, re-embedding, duplicates."""

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from recommender import queueing, selectors, services, worker_heartbeat
from recommender.models import ProductEmbedding, WorkerHeartbeat
from shop.models import Product
from tests.factories.catalogue import ProductImageFactory, admin_product_form
from tests.factories.recommender import ProductEmbeddingFactory, random_index

pytestmark = pytest.mark.django_db
CHANGELIST = reverse("admin:shop_product_changelist")


@pytest.fixture
def index(indexed_catalogue):
    return indexed_catalogue


@pytest.fixture
def staff_client(client):
    client.force_login(get_user_model().objects.create_superuser("boss", "b@example.com", "pw"))
    return client


def test_list_and_change_page_show_embedding_status_and_failure_reason(staff_client):
    product, pending, _not_in_index = (
        image.product for image in ProductImageFactory.create_batch(3)
    )
    index = random_index([product])
    ProductEmbeddingFactory(index=index, product=pending, status="pending")
    listing = staff_client.get(CHANGELIST).content.decode()
    assert listing.count('<td class="field-embedding">done</td>') == 1
    # Pending: queued, or not in the live index yet (picked up by the sweep).
    assert listing.count('<td class="field-embedding">pending</td>') == 2
    ProductEmbedding.objects.filter(product=product).update(
        status="failed", error="unreadable image: cannot identify image file"
    )
    page = staff_client.get(reverse("admin:shop_product_change", args=[product.pk])).content
    assert "failed in efficientnet_lite0 index" in page.decode()
    assert "Reason: unreadable image: cannot identify image file" in page.decode()


def test_reembed_action_queues_the_selected_products_forced(staff_client, monkeypatch):
    random_index(image.product for image in ProductImageFactory.create_batch(4))
    queued = []
    monkeypatch.setattr(
        queueing, "enqueue", lambda task, *args, **kw: queued.append((task.name, args))
    )
    ids = list(Product.objects.order_by("pk").values_list("pk", flat=True)[:3])
    response = staff_client.post(
        CHANGELIST, {"action": "reembed", "_selected_action": [str(i) for i in ids]}, follow=True
    )
    assert "3 product(s) queued for embedding" in response.content.decode()
    [(task, (queued_ids, force))] = queued
    assert task == "recommender.tasks.embed_products" and sorted(queued_ids) == ids and force


@pytest.mark.slow
def test_saving_a_photo_another_product_already_uses_warns(index, staff_client):
    original = Product.objects.get(title="Vitrine Men Green Tshirt")
    copy = SimpleUploadedFile("copy.jpg", original.primary_image.image.read(), "image/jpeg")
    response = staff_client.post(
        reverse("admin:shop_product_add"),
        admin_product_form(copy, title="Suspicious Tee", slug="suspicious-tee"),
        follow=True,
    )
    body = response.content.decode()
    assert "This photo is already used by" in body
    # Exact copy by hash; the women's T-shirt is the same drawing, found by its vector.
    assert "Vitrine Men Green Tshirt" in body and "Vitrine Women Green Tshirt" in body


@pytest.mark.slow
def test_a_recompressed_copy_on_another_shelf_is_found_by_the_photo_alone(index):
    from io import BytesIO

    from django.core.files.base import ContentFile
    from PIL import Image

    from shop.services import category_get_or_create
    from tests.factories.catalogue import ProductFactory, ProductImageFactory

    def recompressed(product, quality):
        buffer = BytesIO()
        Image.open(product.primary_image.image).save(buffer, "JPEG", quality=quality)
        return ContentFile(buffer.getvalue(), name=f"copy{quality}.jpg")

    original = Product.objects.get(title="Vitrine Men Green Tshirt")
    # Already in the shop: the same photo, recompressed, on a shelf with nothing in common.
    watches = category_get_or_create(names=["Accessories", "Watches", "Watches"])
    watch = ProductFactory(title="Steel Chronograph", category=watches, colour="Silver")
    ProductImageFactory(product=watch, image=recompressed(original, 85))
    services.product_embeddings_refresh(product_ids=[watch.pk])
    # Now a third product arrives with another recompression of it.
    bag = ProductFactory(title="Canvas Tote", category=watches, colour="Beige")
    ProductImageFactory(product=bag, image=recompressed(original, 70))
    found = {p.title for p in selectors.product_list_photo_duplicates(product=bag)}
    assert {"Steel Chronograph", "Vitrine Men Green Tshirt"} <= found


def titles(response) -> set[str]:
    return {product.title for product in response.context["cl"].result_list}


def test_the_product_list_filters_by_embedding_status(staff_client):
    done, pending, failed, _not_in_index = (
        ProductImageFactory(product__title=title).product
        for title in ("Done shirt", "Pending shirt", "Failed shirt", "New shirt")
    )
    index = random_index([done])
    ProductEmbeddingFactory(index=index, product=pending, status="pending")
    ProductEmbeddingFactory(index=index, product=failed, status="failed", error="unreadable")

    assert titles(staff_client.get(CHANGELIST, {"embedding": "done"})) == {"Done shirt"}
    # Pending: queued, or not in the live index yet.
    assert titles(staff_client.get(CHANGELIST, {"embedding": "pending"})) == {
        "Pending shirt",
        "New shirt",
    }
    assert titles(staff_client.get(CHANGELIST, {"embedding": "failed"})) == {"Failed shirt"}
    assert titles(staff_client.get(CHANGELIST, {"embedding": "none"})) == set()
    listing = staff_client.get(CHANGELIST).content.decode()
    assert 'href="?embedding=failed"' in listing  # offered in the filter sidebar


def test_without_a_live_index_every_product_is_filtered_as_not_indexed(staff_client):
    ProductImageFactory(product__title="Lonely shirt")
    assert titles(staff_client.get(CHANGELIST, {"embedding": "none"})) == {"Lonely shirt"}
    assert titles(staff_client.get(CHANGELIST, {"embedding": "pending"})) == set()


NO_WORKER = "No indexing worker is running: new products wait"


@pytest.mark.parametrize(
    "page",
    [
        lambda product: CHANGELIST,
        lambda product: reverse("admin:shop_product_add"),
        lambda product: reverse("admin:shop_product_change", args=[product.pk]),
        lambda product: reverse("admin:recommender_evaluationrun_changelist"),
    ],
    ids=["product list", "product add", "product change", "insights"],
)
def test_the_owner_is_told_plainly_when_no_worker_is_running(staff_client, page):
    product = ProductImageFactory().product
    url = page(product)
    assert NO_WORKER in staff_client.get(url).content.decode()

    worker_heartbeat.worker_heartbeat_record(hostname="celery@shop")
    assert NO_WORKER not in staff_client.get(url).content.decode()

    # A worker silent for longer than the heartbeat's freshness is gone.
    WorkerHeartbeat.objects.update(
        seen_at=timezone.now() - timedelta(seconds=worker_heartbeat.FRESH_SECONDS + 1)
    )
    body = staff_client.get(url).content.decode()
    assert "No indexing worker is running (one was last heard from 1\xa0minute ago)" in body
