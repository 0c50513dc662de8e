"""Settings for the test suite: the real (embedded or DATABASE_URL) PostgreSQL, fast hashing."""

from pathlib import Path

from .base import *  # noqa: F403
from .base import CACHES, DATABASES, SILENCED_SYSTEM_CHECKS, VAR_DIR, env

DEBUG = False
SECRET_KEY = "test-only-not-secret"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Tests override it per test with a temporary folder (and hand it to the workers they start).
MEDIA_ROOT = Path(env("DJANGO_MEDIA_ROOT", default=str(VAR_DIR / "test-media")))
# Messages stay in the test process; a test that runs a real worker points both at Redis, and
# one that runs a web server hands it Redis here.
CELERY_BROKER_URL = env("VITRINE_TEST_BROKER_URL", default="memory://")

# Recorded events stay in the process's outbox until a test sends or stores them
# (recording.outbox_send, storing.shopper_events_store); a test of the sending thread asks for it.
EVENTS_FLUSH_SECONDS = env.float("VITRINE_TEST_EVENTS_FLUSH_SECONDS", default=0)

# Learning a shopper space photographs products at each index build (~20 s for the drawn
# catalogue): the tests of it ask for it (tests/recommender/test_shopper_space.py).
RECOMMENDER_SHOPPER_SPACE_PRODUCTS = 0

# Serve static files from the app folders, without collectstatic.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True

# A Celery worker that a test starts must use the database that test uses.
if env("VITRINE_TEST_WORKER_DATABASE", default=""):
    DATABASES["default"]["NAME"] = env("VITRINE_TEST_WORKER_DATABASE")

if CACHES["default"]["BACKEND"] == "django.core.cache.backends.locmem.LocMemCache":
    # Without CACHE_URL the cache is per process, so django-ratelimit's checks call it not
    # shared (E003) and not on its list (W001). One process is all there is here (the tests and
    # their live server thread). production.py refuses to start without a shared cache.
    SILENCED_SYSTEM_CHECKS = [
        *SILENCED_SYSTEM_CHECKS,
        "django_ratelimit.E003",
        "django_ratelimit.W001",
    ]
