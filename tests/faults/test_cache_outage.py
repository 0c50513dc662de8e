"""Redis as the cache stopped (docker-compose uses one Redis for the cache and the broker): pages,
search by photo and the login keep working on misses, and the cache is used again once Redis is
back."""

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from config.cache import resilient
from tests.factories.catalogue import ProductFactory, ProductImageFactory, jpeg_bytes
from tests.factories.recommender import random_index
from tests.faults.servers import redis_server

pytestmark = [pytest.mark.slow, pytest.mark.django_db]


@pytest.fixture
def redis_cache(settings, tmp_path):
    """The default cache on a redis-server of this test's own, as CACHE_URL would set it."""
    with redis_server(tmp_path / "redis") as server:
        settings.CACHES = {
            "default": resilient(
                {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": server.url}
            )
        }
        yield server


def test_pages_search_and_login_work_while_the_redis_cache_is_down(
    redis_cache, settings, django_user_model, caplog
):
    product = ProductFactory(title="Outage Blue Shirt")
    ProductImageFactory(product=product)
    neighbour = ProductFactory(title="Outage Rail Neighbour")
    random_index([product, neighbour])  # the page's rail goes through the cache too
    page = reverse("shop:product", args=[product.slug])
    settings.LOGIN_RATE = "2/min"
    django_user_model.objects.create_superuser("boss", password="pw-for-the-outage")
    client = Client()
    assert client.get(page).status_code == 200
    assert redis_cache.client().dbsize() > 0  # the page filled the cache

    redis_cache.stop()
    for _ in range(3):  # over LOGIN_RATE: counts cannot be kept, so nobody is locked out
        assert client.get(reverse("shop:home")).status_code == 200
        response = client.get(page)
        assert response.status_code == 200 and response.context["rail"]  # ranked on a miss
        photo = SimpleUploadedFile("p.jpg", jpeg_bytes(), "image/jpeg")
        assert client.post(reverse("shop:photo_search"), {"photo": photo}).status_code == 200
        api = client.get(reverse("api:product-list"))
        assert api.status_code == 200
    login = client.post(
        reverse("admin:login"), {"username": "boss", "password": "pw-for-the-outage"}
    )
    assert login.status_code == 302
    assert "Cache out of reach" in caplog.text

    redis_cache.start()  # same port, empty
    cache.set("back", 1)
    assert cache.get("back") == 1
    assert client.get(page).status_code == 200
