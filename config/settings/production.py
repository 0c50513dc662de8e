"""Production: secrets and hosts from the environment, HTTPS everywhere, compressed static files."""

from django.core.exceptions import ImproperlyConfigured

from config.cache import resilient

from .base import *  # noqa: F403
from .base import STORAGES, env

DEBUG = False
SECRET_KEY = env("DJANGO_SECRET_KEY")  # no default: refuse to start without one
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS")
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

# Rate limits (login, search by photo, the API) count in the cache: it must be one that every
# web process shares and increments atomically (Redis or Memcached). No default: refuse to
# start without one, rather than let each process keep counts of its own.
CACHES = {"default": resilient(env.cache("CACHE_URL"))}
_UNSHARED_CACHES = {
    "django.core.cache.backends.dummy.DummyCache",
    "django.core.cache.backends.locmem.LocMemCache",
    "django.core.cache.backends.filebased.FileBasedCache",  # no atomic increment
    "django.core.cache.backends.db.DatabaseCache",  # no atomic increment
}
if CACHES["default"]["BACKEND"] in _UNSHARED_CACHES:
    raise ImproperlyConfigured(
        f"CACHE_URL must name a cache shared by every process (redis://host:6379/1), not "
        f"{CACHES['default']['BACKEND']}: rate limits count in it."
    )

STORAGES["staticfiles"] = {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"}

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
# HSTS as browsers' preload lists accept it: a year at least, subdomains included. (Sending
# "preload" only consents; a site joins the list when its owner submits it.)
HSTS_PRELOAD_MIN_SECONDS = 365 * 24 * 60 * 60
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=HSTS_PRELOAD_MIN_SECONDS)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env.bool("DJANGO_SECURE_HSTS_PRELOAD", default=True)
if SECURE_HSTS_PRELOAD and (
    SECURE_HSTS_SECONDS < HSTS_PRELOAD_MIN_SECONDS or not SECURE_HSTS_INCLUDE_SUBDOMAINS
):
    raise ImproperlyConfigured(
        "DJANGO_SECURE_HSTS_PRELOAD needs DJANGO_SECURE_HSTS_SECONDS of at least "
        f"{HSTS_PRELOAD_MIN_SECONDS} (a year) and DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS: preload "
        "lists refuse less. Set DJANGO_SECURE_HSTS_PRELOAD=false for a shorter max-age."
    )
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
