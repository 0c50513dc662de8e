"""Development on one machine: ``make run`` and ``manage.py`` default to these settings."""

from .base import *  # noqa: F403
from .base import env

DEBUG = env.bool("DJANGO_DEBUG", default=True)
# Only for local development; production.py refuses to start without its own key.
SECRET_KEY = env("DJANGO_SECRET_KEY", default="local-development-only-not-secret")

# Serve static files from the app folders, without collectstatic.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
