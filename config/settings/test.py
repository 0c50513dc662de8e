"""Settings for the test suite: the real (embedded or DATABASE_URL) PostgreSQL, fast hashing."""

from pathlib import Path

from .base import *  # noqa: F403
from .base import DATABASES, VAR_DIR, env

DEBUG = False
SECRET_KEY = "test-only-not-secret"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Tests override it per test with a temporary folder (and hand it to the workers they start).
MEDIA_ROOT = Path(env("DJANGO_MEDIA_ROOT", default=str(VAR_DIR / "test-media")))
# Messages stay in the test process; a test that runs a real worker points both at Redis.
CELERY_BROKER_URL = "memory://"

# Serve static files from the app folders, without collectstatic.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True

# A Celery worker that a test starts must use the database that test uses.
if env("VITRINE_TEST_WORKER_DATABASE", default=""):
    DATABASES["default"]["NAME"] = env("VITRINE_TEST_WORKER_DATABASE")
