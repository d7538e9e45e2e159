"""Settings for wxbackend, read from the environment (see CONTRACT.md and the README).

Environments differ by values, not by modules. With DJANGO_DEBUG off every secret must be
set: start-up stops with one line naming each missing one.
"""

from datetime import timedelta
from pathlib import Path

import environ
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()

DEBUG = env.bool("DJANGO_DEBUG", default=False)

_missing: list[str] = []


def secret(name: str, dev_default: str = "", *, required: bool = True) -> str:
    """Read a secret; with debug off a missing required one is collected for one error."""
    value = env.str(name, default="")
    if not value and not DEBUG and required:
        _missing.append(name)
    return value or (dev_default if DEBUG else "")


# --- Django core ------------------------------------------------------------------------

SECRET_KEY = secret("DJANGO_SECRET_KEY", "dev-only-insecure-key-" + "x" * 40)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=[])
if DEBUG and not ALLOWED_HOSTS:
    ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver", "[::1]"]
if not DEBUG and not ALLOWED_HOSTS:
    _missing.append("DJANGO_ALLOWED_HOSTS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "import_export",
    "wxbackend",
    "officialaccount",
    "inbox",
    "catalog",
    "miniprogram_api",
    "orders",
    "payments",
    "notifications",
    "wechat_simulator",
]

MIDDLEWARE = [
    "wxbackend.middleware.RequestLogMiddleware",
    "wxbackend.middleware.ContentSecurityPolicyMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "wxbackend.urls"
WSGI_APPLICATION = "wxbackend.wsgi.application"
ASGI_APPLICATION = "wxbackend.asgi.application"

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
            ],
        },
    },
]

# --- Database: SQLite under var/ by default, PostgreSQL (psycopg 3) from DATABASE_URL ---

# An empty DATABASE_URL counts as unset (the SQLite default), as it does for the others.
DATABASES = {
    "default": environ.Env.db_url_config(
        env.str("DATABASE_URL", default="") or f"sqlite:///{VAR_DIR / 'db.sqlite3'}"
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Persistent connections: the callback, the notify and the catalog are hot paths, and
    # a new connection per request caps them far below their targets.
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=600)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("connect_timeout", 3)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache: Redis when REDIS_URL is set (shared tokens, dedupe keys, throttles) ---------

REDIS_URL = env.str("REDIS_URL", default="")
# Cache calls sit on the request path (callbacks answer WeChat within 5 s): a Redis that
# does not answer within this many seconds is skipped for a few seconds (wxbackend/cache.py).
REDIS_SOCKET_TIMEOUT = env.float("REDIS_SOCKET_TIMEOUT", default=0.25)
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "wxbackend.cache.FailOpenRedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", default="wxb"),
            "OPTIONS": {"socket_connect_timeout": REDIS_SOCKET_TIMEOUT, "socket_timeout": REDIS_SOCKET_TIMEOUT},
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "wxbackend",
        }
    }

# --- Auth, i18n, time ---------------------------------------------------------------------

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# The merchant's staff read the admin in Simplified Chinese; English stays available.
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(VAR_DIR / "media")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
# --- Media (uploads): the local disk, or S3-compatible object storage -------------------

# `local`: files under MEDIA_ROOT, served by the app itself (debug on or off) under
# MEDIA_URL, but only the public prefixes below: a follower's photo is read through the
# admin only. `s3`: Tencent COS, Aliyun OSS, MinIO or AWS S3 through django-storages; the
# bucket serves the public prefixes itself (a bucket policy granting public read on them).
MEDIA_STORAGE = env.str("MEDIA_STORAGE", default="local")
if MEDIA_STORAGE not in ("local", "s3"):
    raise ImproperlyConfigured("MEDIA_STORAGE must be local or s3")
# What anyone may fetch by URL: catalog images, which the mini-program shows to everyone.
MEDIA_PUBLIC_PREFIXES = ("products/",)
MEDIA_ORIGIN = ""  # another origin images load from (the page's CSP allows it)
if MEDIA_STORAGE == "s3":
    _s3_required = ["MEDIA_S3_BUCKET", "MEDIA_S3_ACCESS_KEY_ID", "MEDIA_S3_SECRET_ACCESS_KEY"]
    _missing.extend(name for name in _s3_required if not env.str(name, default=""))
    _s3_endpoint = env.str("MEDIA_S3_ENDPOINT_URL", default="")
    _s3_domain = env.str("MEDIA_S3_CUSTOM_DOMAIN", default="")
    STORAGES["default"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": env.str("MEDIA_S3_BUCKET", default=""),
            "endpoint_url": _s3_endpoint or None,
            "region_name": env.str("MEDIA_S3_REGION", default="") or None,
            "access_key": env.str("MEDIA_S3_ACCESS_KEY_ID", default=""),
            "secret_key": env.str("MEDIA_S3_SECRET_ACCESS_KEY", default=""),
            "custom_domain": _s3_domain or None,
            # COS and OSS only answer virtual-hosted addresses; MinIO usually wants `path`.
            "addressing_style": env.str("MEDIA_S3_ADDRESSING_STYLE", default="virtual"),
            "signature_version": "s3v4",
            # Plain URLs: catalog responses are cached for an hour, longer than a signed
            # URL would live. Private files (follower media) are read through the admin.
            "querystring_auth": env.bool("MEDIA_S3_QUERYSTRING_AUTH", default=False),
            "file_overwrite": False,
            "location": env.str("MEDIA_S3_PREFIX", default=""),
            "object_parameters": {"CacheControl": "public, max-age=86400"},
        },
    }
    if _s3_domain:
        MEDIA_ORIGIN = "https://" + _s3_domain
    elif _s3_endpoint:
        MEDIA_ORIGIN = _s3_endpoint.rstrip("/")
        if env.str("MEDIA_S3_ADDRESSING_STYLE", default="virtual") == "virtual":
            _scheme, _, _host = MEDIA_ORIGIN.partition("://")
            MEDIA_ORIGIN = f"{_scheme}://{env.str('MEDIA_S3_BUCKET', default='')}.{_host}"
    else:
        MEDIA_ORIGIN = "https://*.amazonaws.com"

# Public origin used to make image URLs absolute where no request is at hand (tasks,
# official-account replies).
PUBLIC_BASE_URL = env.str("PUBLIC_BASE_URL", default="http://127.0.0.1:8000")

# --- Security: on whenever debug is off --------------------------------------------------

# The app sits behind a TLS-terminating proxy that sets X-Forwarded-Proto.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
if not DEBUG:
    SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
    # Probes from the orchestrator speak plain HTTP inside the cluster.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("DJANGO_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    if not SECURE_SSL_REDIRECT:
        # Switched off on purpose: the proxy in front redirects instead.
        SILENCED_SYSTEM_CHECKS = ["security.W008"]
    if SECRET_KEY and (len(SECRET_KEY) < 50 or len(set(SECRET_KEY)) < 5):
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY is too weak: use at least 50 random characters"
        )
SESSION_COOKIE_HTTPONLY = True
# Every page carries a Content-Security-Policy (wxbackend.middleware): our own origin only,
# no inline script.
X_FRAME_OPTIONS = "DENY"
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

# --- Admin: CSV import/export (django-import-export) -------------------------------------

# Import writes rows past the change form and export reads them all: without these, any
# staff user may do both, whatever their model permissions.
IMPORT_EXPORT_IMPORT_PERMISSION_CODE = "change"
IMPORT_EXPORT_EXPORT_PERMISSION_CODE = "view"

# --- Client addresses: how many proxies to trust -----------------------------------------

# Throttles key anonymous clients by address. Behind N proxies that each append the address
# they saw to X-Forwarded-For, the client is the N-th entry from the right (DRF's
# NUM_PROXIES); anything further left was sent by the client and is ignored. With debug off
# the app sits behind one TLS-terminating proxy; 0 means served directly (the peer address).
NUM_PROXIES = env.int("DJANGO_NUM_PROXIES", default=0 if DEBUG else 1)
if NUM_PROXIES < 0:
    raise ImproperlyConfigured("DJANGO_NUM_PROXIES must be 0 or more")

# --- Django REST framework ---------------------------------------------------------------

REST_FRAMEWORK = {
    # The mini-program's Bearer tokens (miniprogram_api supplies the token model).
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "miniprogram_api.authentication.BearerTokenAuthentication",
    ],
    # Deny by default; a public endpoint opts out with AllowAny and says why.
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_PAGINATION_CLASS": "wxbackend.api.Pagination",
    "PAGE_SIZE": 20,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "EXCEPTION_HANDLER": "wxbackend.api.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_THROTTLE_RATES": {
        "login": env.str("THROTTLE_LOGIN", default="20/min"),
        "customer": env.str("THROTTLE_CUSTOMER", default="600/min"),
        "anon": env.str("THROTTLE_ANON", default="1200/min"),
        # Per client address, on catalog pages not yet cached (each stores a body for an hour).
        "catalog": env.str("THROTTLE_CATALOG", default="120/min"),
    },
    "NUM_PROXIES": NUM_PROXIES,
    "UNAUTHENTICATED_USER": None,
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "wxbackend mini-program API",
    "DESCRIPTION": (
        "REST API behind the brand's WeChat mini-program. Amounts are integer fen (分). "
        'Errors are 4xx `{"code": "<stable code>", "detail": "<text>"}`.'
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Self-hosted Swagger UI: no page of ours loads from a CDN (blocked or slow
    # inside mainland China, and absent offline).
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "APPEND_COMPONENTS": {
        "securitySchemes": {
            "bearerAuth": {"type": "http", "scheme": "bearer"},
        }
    },
}

# --- Celery -------------------------------------------------------------------------------

CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="")
# Without a broker, tasks run in-process through the same code (the `make run` default).
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = False
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_TIMEZONE = TIME_ZONE
# The queue tasks go to (workers take it with `-Q`): lets two deployments share one broker
# vhost without taking each other's tasks. Prefer a vhost of their own where possible.
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_TASK_DEFAULT_QUEUE", default="celery")
# Every task is written to be idempotent (it finds finished work and returns), so a task
# is acknowledged only after it ran and is given back if its worker dies mid-way.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Celery's Django fixup closes every database connection before and after each task unless
# this is set: a new PostgreSQL connection per task, most of what a short task (a notice
# send) costs. It now closes them every 1000 tasks; in between, wxbackend/celery.py closes
# after each task those that broke or outlived CONN_MAX_AGE, as Django does per request.
CELERY_DB_REUSE_MAX = 1000
# Longer than any countdown or retry backoff we use (max backoff 600 s, order timeout
# sweeps every minute), so Redis never redelivers a task that is merely waiting.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": 6 * 3600,
    # Requests (the callback, the notify) publish tasks after commit: a broker that hangs
    # must not eat WeChat's 5 seconds. Work a lost publish would have done is picked up by
    # the periodic sweeps.
    "socket_connect_timeout": 1,
    "socket_timeout": 2,
}
CELERY_BROKER_CONNECTION_TIMEOUT = 1
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.2}
CELERY_BEAT_SCHEDULE: dict = {}
# Side effects leave through the outbox (wxbackend/outbox.py): requests record them, a relay
# hands them to Celery. The relay runs in a thread of each process after a commit, and here
# every few seconds for whatever is still due (a broker that came back, a process that died).
CELERY_BEAT_SCHEDULE["outbox-relay"] = {"task": "wxbackend.tasks.outbox_relay_task", "schedule": 5.0}
CELERY_BEAT_SCHEDULE["outbox-purge"] = {"task": "wxbackend.tasks.outbox_purge_task", "schedule": 3600.0}
OUTBOX_BREAKER_SECONDS = env.float("OUTBOX_BREAKER_SECONDS", default=5.0)
OUTBOX_DISPATCH_DEADLINE_SECONDS = 600  # published but never started: publish again
OUTBOX_RUN_DEADLINE_SECONDS = 300  # started, never finished (worker killed): run again
OUTBOX_BACKOFF_MAX_SECONDS = 600
OUTBOX_MAX_ATTEMPTS = 8
# Official account: last interactions from new messages, batched off the callback's hot path.
CELERY_BEAT_SCHEDULE["officialaccount-follower-interactions"] = {
    "task": "officialaccount.tasks.follower_interactions_sweep_task",
    "schedule": 60.0,
}
# PIPL: raw message bodies and media are kept this many days, then purged (the rows stay, empty,
# for the metrics). Daily at 03:30 Beijing time.
MESSAGE_RETENTION_DAYS = env.int("MESSAGE_RETENTION_DAYS", default=180)
if MESSAGE_RETENTION_DAYS < 1:
    raise ImproperlyConfigured("MESSAGE_RETENTION_DAYS must be at least 1")
CELERY_BEAT_SCHEDULE["officialaccount-message-retention"] = {
    "task": "officialaccount.tasks.message_retention_purge_task",
    "schedule": crontab(hour=3, minute=30),
}
# Orders: unpaid ones close, delivered ones complete (sweeps over the database).
# Unpaid orders: trades queried (a lost notification pays the order), expired ones closed
# at WeChat Pay, then the orders closed (payments settles, then calls orders' sweep).
CELERY_BEAT_SCHEDULE["orders-close-unpaid"] = {"task": "payments.tasks.payments_settle_task", "schedule": 60.0}
CELERY_BEAT_SCHEDULE["orders-complete-delivered"] = {
    "task": "orders.tasks.order_complete_delivered_task",
    "schedule": 3600.0,
}
# Refunds WeChat accepted minutes ago whose notification never came: asked for, and applied.
CELERY_BEAT_SCHEDULE["payments-refunds-settle"] = {"task": "payments.tasks.refunds_settle_task", "schedule": 300.0}
# Payments: yesterday's trade bill against our payments, once WeChat has published it
# (from about 10:00 Beijing time, spec 6.9). CELERY_TIMEZONE is Beijing's.
RECONCILE_AT = env.str("RECONCILE_AT", default="10:30")
try:
    _reconcile_hour, _reconcile_minute = (int(part) for part in RECONCILE_AT.split(":"))
except ValueError:
    raise ImproperlyConfigured("RECONCILE_AT must be HH:MM (Beijing time)")
CELERY_BEAT_SCHEDULE["payments-reconcile"] = {
    "task": "payments.tasks.reconcile_yesterday_task",
    "schedule": crontab(hour=_reconcile_hour, minute=_reconcile_minute),
}
# Notices (notifications/services.py): transient send failures retry after about 2, 4, 8, 16
# min (base 120 s doubled, ±25 % jitter), 5 tries in all; rows a dead worker left in `sending` (or
# queued rows whose outbox row was lost) are queued again after NOTICE_SENDING_TIMEOUT_SECONDS.
NOTICE_RETRY_BASE_SECONDS = env.float("NOTICE_RETRY_BASE_SECONDS", default=120.0)
NOTICE_MAX_ATTEMPTS = 5
NOTICE_SENDING_TIMEOUT_SECONDS = env.float("NOTICE_SENDING_TIMEOUT_SECONDS", default=120.0)
CELERY_BEAT_SCHEDULE["notifications-requeue-stuck"] = {
    "task": "notifications.tasks.notices_requeue_stuck_task",
    "schedule": 60.0,
}

# --- WeChat ---------------------------------------------------------------------------------

WECHAT_API_BASE = env.str("WECHAT_API_BASE", default="https://api.weixin.qq.com")
WECHAT_PAY_API_BASE = env.str("WECHAT_PAY_API_BASE", default="https://api.mch.weixin.qq.com")
WECHAT_CONNECT_TIMEOUT = env.float("WECHAT_CONNECT_TIMEOUT", default=3.05)
WECHAT_READ_TIMEOUT = env.float("WECHAT_READ_TIMEOUT", default=5.0)

WECHAT_MP_APPID = secret("WECHAT_MP_APPID", "wx_dev_mp_appid0")
WECHAT_MP_SECRET = secret("WECHAT_MP_SECRET", "dev_mp_secret")
WECHAT_MP_TOKEN = secret("WECHAT_MP_TOKEN", "dev_mp_token")
# Optional: without it the account runs in plaintext mode.
WECHAT_MP_ENCODING_AES_KEY = env.str("WECHAT_MP_ENCODING_AES_KEY", default="")

# With the AES key set, only encrypted pushes are accepted: a plaintext push's signature does
# not cover its body. `1` also accepts plaintext while the account switches mode in WeChat.
WECHAT_MP_ALLOW_PLAINTEXT = env.bool("WECHAT_MP_ALLOW_PLAINTEXT", default=False)

WECHAT_MINIAPP_APPID = secret("WECHAT_MINIAPP_APPID", "wx_dev_miniapp01")
WECHAT_MINIAPP_SECRET = secret("WECHAT_MINIAPP_SECRET", "dev_miniapp_secret")

WECHAT_PAY_MCH_ID = secret("WECHAT_PAY_MCH_ID", "1900000109")
WECHAT_PAY_API_VERSION = env.str("WECHAT_PAY_API_VERSION", default="v3")
if WECHAT_PAY_API_VERSION not in ("v3", "v2"):
    raise ImproperlyConfigured("WECHAT_PAY_API_VERSION must be v3 or v2")
_v3 = WECHAT_PAY_API_VERSION == "v3"
WECHAT_PAY_APIV3_KEY = secret("WECHAT_PAY_APIV3_KEY", "0123456789abcdef0123456789abcdef", required=_v3)
WECHAT_PAY_MCH_CERT_SERIAL = secret("WECHAT_PAY_MCH_CERT_SERIAL", "DEVMCHCERTSERIAL0001", required=_v3)
WECHAT_PAY_MCH_PRIVATE_KEY_PATH = secret(
    "WECHAT_PAY_MCH_PRIVATE_KEY_PATH", str(VAR_DIR / "dev_keys" / "merchant_private.pem"), required=_v3
)
WECHAT_PAY_PUBLIC_KEY_ID = secret("WECHAT_PAY_PUBLIC_KEY_ID", "PUB_KEY_ID_0000000000000000000000000001", required=_v3)
WECHAT_PAY_PUBLIC_KEY_PATH = secret(
    "WECHAT_PAY_PUBLIC_KEY_PATH", str(VAR_DIR / "dev_keys" / "wechatpay_public.pem"), required=_v3
)
WECHAT_PAY_API_KEY = secret("WECHAT_PAY_API_KEY", "192006250b4c09247ec02edce69f6a2d", required=not _v3)
# v2's secapi/ calls (refunds) need the merchant certificate pair (mutual TLS, spec 7).
WECHAT_PAY_CERT_PATH = secret("WECHAT_PAY_CERT_PATH", required=not _v3)
WECHAT_PAY_KEY_PATH = secret("WECHAT_PAY_KEY_PATH", required=not _v3)
WECHAT_PAY_NOTIFY_BASE_URL = secret("WECHAT_PAY_NOTIFY_BASE_URL", "http://127.0.0.1:8000")

ORDER_PAYMENT_TIMEOUT_MINUTES = env.int("ORDER_PAYMENT_TIMEOUT_MINUTES", default=30)
# Shipped orders whose customer never confirms receipt complete by themselves after this.
ORDER_AUTO_COMPLETE_DAYS = env.int("ORDER_AUTO_COMPLETE_DAYS", default=10)

# Keys for fields encrypted at rest (session_key, phone numbers), comma-separated: new
# values use the first, reads try each (rotation: miniprogram_api/crypto.py). Required with
# debug off, so rotating DJANGO_SECRET_KEY never locks customers out; in debug, unset means
# a key derived from the secret key.
FIELD_ENCRYPTION_KEY = secret("FIELD_ENCRYPTION_KEY")

API_TOKEN_TTL = timedelta(days=env.int("API_TOKEN_TTL_DAYS", default=30))

# The built-in WeChat simulator: a development tool, never active with debug off.
WECHAT_SIMULATOR_ENABLED = DEBUG and env.bool("WECHAT_SIMULATOR", default=True)
# The simulator's own WeChat Pay signing key (its public half is WECHAT_PAY_PUBLIC_KEY_PATH).
WECHAT_SIMULATOR_PAY_PRIVATE_KEY_PATH = env.str(
    "WECHAT_SIMULATOR_PAY_PRIVATE_KEY_PATH", default=str(VAR_DIR / "dev_keys" / "wechatpay_private.pem")
)
if env.bool("WECHAT_SIMULATOR", default=False) and not DEBUG:
    raise ImproperlyConfigured("WECHAT_SIMULATOR cannot be enabled with DJANGO_DEBUG off")

# --- Logging: one structured line per request and per WeChat call -----------------------

LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {"()": "wxbackend.logging.JsonFormatter"},
        "plain": {"()": "wxbackend.logging.PlainFormatter"},
    },
    "filters": {"redact_query": {"()": "wxbackend.logging.RedactQueryFilter"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain" if DEBUG else "json",
            "filters": ["redact_query"],
        },
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.server": {"level": "WARNING"},
        "django.request": {"level": "ERROR"},
        # urllib3 logs each request line, query string (access_token, secret) included.
        "urllib3": {"level": "WARNING"},
    },
}

if _missing:
    raise ImproperlyConfigured(
        "DJANGO_DEBUG is off and these settings are missing: " + ", ".join(_missing)
    )
