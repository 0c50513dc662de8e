"""Production settings: no default secret, and Django's deployment checklist passes."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    environ.update({"DJANGO_SETTINGS_MODULE": "config.settings.production", **env})
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=environ, capture_output=True, text=True
    )


def test_production_refuses_to_start_without_a_secret_key():
    result = manage("check", DJANGO_ALLOWED_HOSTS="shop.example.com")
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr


def test_production_settings_pass_the_deployment_checklist():
    result = manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DJANGO_SECRET_KEY="k" * 20 + "-production-like-secret-" + "x9" * 20,
        DJANGO_ALLOWED_HOSTS="shop.example.com",
    )
    assert result.returncode == 0, result.stderr
    assert "no issues (0 silenced)" in result.stdout


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
    assert first.stdout.split()[-2:] == ["RedisCache", "1"], first.stderr
    assert second.stdout.split()[-2:] == ["RedisCache", "2"], second.stderr
    local = manage("shell", "-c", count, DJANGO_SETTINGS_MODULE="config.settings.local")
    assert local.stdout.split()[-2] == "LocMemCache", local.stderr
