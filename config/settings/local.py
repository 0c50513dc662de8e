"""Development on one machine: ``make run`` and ``manage.py`` default to these settings."""

from .base import *  # noqa: F403
from .base import CACHES, SILENCED_SYSTEM_CHECKS, env

DEBUG = env.bool("DJANGO_DEBUG", default=True)
# Only for local development; production.py refuses to start without its own key.
SECRET_KEY = env("DJANGO_SECRET_KEY", default="local-development-only-not-secret")

# Serve static files from the app folders, without collectstatic.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True

if CACHES["default"]["BACKEND"] == "django.core.cache.backends.locmem.LocMemCache":
    # Without CACHE_URL the cache is per process, so django-ratelimit's checks call it not
    # shared (E003) and not on its list (W001). One process is all there is here (runserver).
    # production.py refuses to start without a shared cache.
    SILENCED_SYSTEM_CHECKS = [
        *SILENCED_SYSTEM_CHECKS,
        "django_ratelimit.E003",
        "django_ratelimit.W001",
    ]
