"""A catalogue's photo server that is down when the import runs: a real worker, on a real
Redis, fetches what it can, tries the server again with backoff, stores the photo once the
server is back, embeds it, and reports a server that never comes back on the product."""

import pytest

from shop.models import Product, ProductPhotoSource
from shop.services import catalogue_import
from tests.conftest import celery_broker_at
from tests.factories.catalogue import jpeg_bytes
from tests.process_output import celery_worker, wait_until
from tests.shop.photo_server import PhotoServer
from tests.shop.test_catalogue_import_files import product_line, shopify_file

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_a_photo_server_down_is_tried_again_with_backoff_by_the_worker(
    indexed_shop, redis, worker_env, tmp_path
):
    env = worker_env | {
        "SHOP_PHOTO_FETCH_ALLOW_LOOPBACK": "true",
        "SHOP_PHOTO_FETCH_RETRY_SECONDS": "0.5",  # then 1 s, 2 s, 4 s
    }
    with PhotoServer() as server, celery_broker_at(redis.url):
        server.photos["/back.jpg"] = jpeg_bytes((20, 90, 200))
        server.failures_left["/back.jpg"] = 2  # 503 twice, then the photo
        lines = [
            product_line("back-soon", "Back Soon", server.url("/back.jpg")),
            product_line("gone", "Gone", "http://127.0.0.1:9/never.jpg"),  # nothing listens
        ]
        report = catalogue_import(path=shopify_file(tmp_path, lines))
        assert report.photos_to_fetch == 2

        with celery_worker(env, "-b", redis.url, "worker") as worker:
            back = Product.objects.get(external_id="back-soon")
            wait_until(
                lambda: back.embeddings.filter(status="done", image__isnull=False).exists(),
                120,
                worker,
            )
            gone = ProductPhotoSource.objects.filter(product__external_id="gone")
            wait_until(lambda: gone.filter(status="failed").exists(), 120, worker)

    assert server.requests.count("/back.jpg") == 3
    assert back.images.get().is_primary
    assert "cannot reach 127.0.0.1" in gone.get().reason
    output = worker.everything()
    assert output.count("fetch_product_photos") >= 5  # the first try and its retries
    assert "Retry in 0.5s" in output and "Retry in 1.0s" in output
