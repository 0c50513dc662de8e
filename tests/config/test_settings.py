"""Production settings: no default secret, and Django's deployment checklist passes."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    # Only what the test gives: none of the Django or cache settings of the shell running it.
    environ = {
        k: v for k, v in os.environ.items() if not k.startswith("DJANGO_") and k != "CACHE_URL"
    }
    environ.update({"DJANGO_SETTINGS_MODULE": "config.settings.production", **env})
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=environ, capture_output=True, text=True
    )


SECRET = "k" * 20 + "-production-like-secret-" + "x9" * 20
SHARED_CACHE = "redis://127.0.0.1:6379/13"


def test_production_refuses_to_start_without_a_secret_key():
    result = manage("check", DJANGO_ALLOWED_HOSTS="shop.example.com", CACHE_URL=SHARED_CACHE)
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr


@pytest.mark.parametrize("cache", [None, "locmemcache://", "filecache:///tmp/vitrine-cache"])
def test_production_refuses_to_start_without_a_shared_cache(cache):
    """Rate limits count in the cache: one per process would multiply every limit."""
    env = {"CACHE_URL": cache} if cache else {}
    result = manage("check", DJANGO_SECRET_KEY=SECRET, DJANGO_ALLOWED_HOSTS="x.example", **env)
    assert result.returncode != 0
    assert "CACHE_URL" in result.stderr.splitlines()[-1]


def test_production_settings_pass_the_deployment_checklist():
    production = {
        "DJANGO_SECRET_KEY": SECRET,
        "DJANGO_ALLOWED_HOSTS": "shop.example.com",
        "CACHE_URL": SHARED_CACHE,
    }
    result = manage("check", "--deploy", "--fail-level", "WARNING", **production)
    assert result.returncode == 0, result.stderr
    assert "no issues (1 silenced)" in result.stdout
    # The one: django-ratelimit's "not officially supported" for Django's own RedisCache.
    silenced = manage(
        "shell",
        "-c",
        "from django.conf import settings; print(settings.SILENCED_SYSTEM_CHECKS)",
        **production,
    )
    assert silenced.stdout.splitlines()[-1] == "['django_ratelimit.W001']", silenced.stderr


def test_local_settings_pass_the_checks_with_a_cache_per_process():
    """django-ratelimit's cache checks are silenced there, and only those."""
    result = manage(
        "check", "--fail-level", "WARNING", DJANGO_SETTINGS_MODULE="config.settings.local"
    )
    assert result.returncode == 0, result.stderr
    assert "no issues (2 silenced)" in result.stdout


def test_the_content_security_policy_allows_photos_from_the_media_bucket():
    show = (
        "from django.conf import settings; "
        "print(settings.CONTENT_SECURITY_POLICY['DIRECTIVES']['img-src'])"
    )
    local = {"DJANGO_SETTINGS_MODULE": "config.settings.local"}
    plain = manage("shell", "-c", show, **local)
    assert plain.stdout.splitlines()[-1] == "[\"'self'\", 'blob:']", plain.stderr
    cdn = manage(
        "shell",
        "-c",
        show,
        **local,
        AWS_STORAGE_BUCKET_NAME="shop-media",
        AWS_S3_CUSTOM_DOMAIN="media.example.com",
    )
    assert cdn.stdout.splitlines()[-1] == "[\"'self'\", 'blob:', 'https://media.example.com']"
    minio = manage(
        "shell",
        "-c",
        show,
        **local,
        AWS_STORAGE_BUCKET_NAME="shop-media",
        AWS_S3_ENDPOINT_URL="https://minio.internal:9000",
    )
    assert minio.stdout.splitlines()[-1].endswith("'blob:', 'https://minio.internal:9000']")


def test_media_go_to_an_s3_compatible_bucket_when_one_is_configured():
    show = "from django.conf import settings; print(settings.STORAGES['default'])"
    local = manage("shell", "-c", show, DJANGO_SETTINGS_MODULE="config.settings.local")
    assert "FileSystemStorage" in local.stdout, local.stderr
    bucket = manage(
        "shell",
        "-c",
        show,
        DJANGO_SETTINGS_MODULE="config.settings.local",
        AWS_STORAGE_BUCKET_NAME="shop-media",
        AWS_S3_ENDPOINT_URL="https://minio.internal:9000",
    )
    assert "storages.backends.s3.S3Storage" in bucket.stdout, bucket.stderr
    assert "'bucket_name': 'shop-media'" in bucket.stdout
    assert "'file_overwrite': False" in bucket.stdout


def test_a_shared_redis_cache_when_one_is_configured():
    """Two processes count the same rate limit only through a shared cache (real Redis)."""
    count = (
        "from django.core.cache import caches; cache = caches['default']; "
        "print(type(cache).__name__, cache.incr('vitrine-test-hits') if cache.add("
        "'vitrine-test-hits', 1, 60) is False else 1)"
    )
    url = "redis://127.0.0.1:6379/13"
    import redis

    redis.Redis.from_url(url).delete(":1:vitrine-test-hits")
    first = manage(
        "shell", "-c", count, DJANGO_SETTINGS_MODULE="config.settings.local", CACHE_URL=url
    )
    second = manage(
        "shell", "-c", count, DJANGO_SETTINGS_MODULE="config.settings.local", CACHE_URL=url
    )
    assert first.stdout.split()[-2:] == ["ResilientRedisCache", "1"], first.stderr
    assert second.stdout.split()[-2:] == ["ResilientRedisCache", "2"], second.stderr
    local = manage("shell", "-c", count, DJANGO_SETTINGS_MODULE="config.settings.local")
    assert local.stdout.split()[-2] == "LocMemCache", local.stderr


PRODUCTION = {
    "DJANGO_SECRET_KEY": SECRET,
    "DJANGO_ALLOWED_HOSTS": "shop.example.com",
    "CACHE_URL": SHARED_CACHE,
}


def test_production_sends_hsts_that_preload_lists_accept():
    """A year at least, with subdomains, when it says "preload" (a review found 30 days)."""
    printed = manage(
        "shell",
        "-c",
        "from django.conf import settings as s; "
        "print(s.SECURE_HSTS_SECONDS, s.SECURE_HSTS_INCLUDE_SUBDOMAINS, s.SECURE_HSTS_PRELOAD)",
        **PRODUCTION,
    )
    assert printed.stdout.splitlines()[-1].split() == ["31536000", "True", "True"]


def test_production_refuses_preload_with_a_max_age_under_a_year():
    short = manage("check", DJANGO_SECURE_HSTS_SECONDS="2592000", **PRODUCTION)
    assert short.returncode != 0
    assert "a year" in short.stderr.splitlines()[-1]
    without_preload = {
        "DJANGO_SECURE_HSTS_SECONDS": "2592000",
        "DJANGO_SECURE_HSTS_PRELOAD": "false",
    }
    assert manage("check", **without_preload, **PRODUCTION).returncode == 0


@pytest.mark.parametrize("variable", ["SHOP_DEMO_CATALOGUE", "SHOP_DEMO_CATALOG"])
def test_the_demo_catalogue_folder_is_read_under_its_name_and_its_former_spelling(variable):
    show = "from django.conf import settings; print(settings.SHOP_DEMO_CATALOGUE)"
    environ = {"DJANGO_SETTINGS_MODULE": "config.settings.local", variable: "/srv/my-catalogue"}
    result = manage("shell", "-c", show, **environ)
    assert result.stdout.splitlines()[-1] == "/srv/my-catalogue", result.stderr
