"""devdesk settings: every knob is an environment variable with a laptop default.

The README lists each variable. A bad value stops start-up with a clear message.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import Any

import dj_database_url
import django_stubs_ext
from django.core.exceptions import ImproperlyConfigured

django_stubs_ext.monkeypatch()  # lets admin classes be written ModelAdmin[Model]

BASE_DIR = Path(__file__).resolve().parent
# In a checkout, data lives in var/ beside the code; an installed package keeps it in
# the user's data directory, never inside site-packages.
_CHECKOUT = (BASE_DIR.parent / "pyproject.toml").exists()
_DEFAULT_DATA_DIR = (
    BASE_DIR.parent / "var"
    if _CHECKOUT
    else Path(os.environ.get("XDG_DATA_HOME", Path.home() / ".local" / "share"))
    / "devdesk"
)
DATA_DIR = Path(os.environ.get("DEVDESK_DATA_DIR", _DEFAULT_DATA_DIR))

DEFAULT_SECRET_KEY = "devdesk-insecure-development-key"  # noqa: S105 - refused below when DEBUG is off


def env_str(name: str, default: str) -> str:
    """Return ``name`` from the environment, or from the file ``name_FILE`` points to."""
    file_path = os.environ.get(f"{name}_FILE", "").strip()
    if file_path:
        try:
            return Path(file_path).read_text().strip()
        except OSError as exc:
            raise ImproperlyConfigured(
                f"{name}_FILE: cannot read {file_path}: {exc}"
            ) from exc
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in {"1", "true", "yes", "on"}:
        return True
    if raw in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {raw!r}")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(
            f"{name} must be a whole number, not {raw!r}"
        ) from None


def env_float(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return float(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a number, not {raw!r}") from None


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


DEBUG = env_bool("DEBUG", True)
SECRET_KEY = env_str("SECRET_KEY", DEFAULT_SECRET_KEY)
if not DEBUG and SECRET_KEY == DEFAULT_SECRET_KEY:
    raise ImproperlyConfigured(
        "SECRET_KEY must be set when DEBUG is off (the default key is public)."
    )

ALLOWED_HOSTS = env_list(
    "ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]", "testserver"]
)
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
SITE_URL = os.environ.get("SITE_URL", "http://127.0.0.1:8000").rstrip("/")
SITE_NAME = os.environ.get("SITE_NAME", "devdesk")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "django_tasks",
    "django_tasks_db",
    "devdesk.accounts",
    "devdesk.tickets",
    "devdesk.intake",
    "devdesk.triage",
    "devdesk.search",
    "devdesk.api",
    "devdesk.ops",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "devdesk.middleware.user_time_zone",
    "devdesk.middleware.QueryTimeoutMiddleware",
]
# Server-Timing headers (database time, query count, total) on every response; the
# benchmark harness reads them. First, so "total" covers the other middleware too.
SERVER_TIMING = env_bool("SERVER_TIMING", False)
if SERVER_TIMING:
    MIDDLEWARE.insert(0, "devdesk.lib.server_timing.ServerTimingMiddleware")

ROOT_URLCONF = "devdesk.urls"
# Widgets rendered in Python (same HTML as Django's templates, a fraction of the time).
FORM_RENDERER = "devdesk.lib.form_renderer.FastFormRenderer"
WSGI_APPLICATION = "devdesk.wsgi.application"

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
                "devdesk.context.desk",
            ],
        },
    }
]

DATABASE_URL = os.environ.get("DATABASE_URL", "").strip()
# PostgreSQL cancels a runaway query; the request gets a 503 that says so
# (devdesk.middleware.QueryTimeoutMiddleware, the API's exception handlers).
DB_STATEMENT_TIMEOUT_MS = env_int("DB_STATEMENT_TIMEOUT_MS", 30_000)
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
    # Every result devdesk reads fits in memory (pages, choice lists); a server-side
    # cursor costs three round trips (DECLARE, FETCH, CLOSE) where one query does,
    # and breaks behind PgBouncer in transaction pooling.
    DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = True
    if "postgresql" in DATABASES["default"]["ENGINE"] and DB_STATEMENT_TIMEOUT_MS > 0:
        db_options = DATABASES["default"].setdefault("OPTIONS", {})
        db_options["options"] = (
            f"{db_options.get('options', '')} "
            f"-c statement_timeout={DB_STATEMENT_TIMEOUT_MS}"
        ).strip()
else:
    # SQLite creates its file but not the folder it lives in.
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            # Django's, with writers that take the write lock in turn promptly
            # (devdesk.lib.sqlite.base says why).
            "ENGINE": "devdesk.lib.sqlite",
            "NAME": str(DATA_DIR / "devdesk.sqlite3"),
            "OPTIONS": {
                # WAL lets readers work while a writer commits; IMMEDIATE takes the
                # write lock at BEGIN so two writers queue instead of failing mid-way.
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": (
                    "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
                    "PRAGMA foreign_keys=ON;"
                ),
            },
        }
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "accounts:login"

AUTH_PASSWORD_VALIDATORS = [
    {
        "NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"
    },
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en"
TIME_ZONE = os.environ.get("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
# devdesk/ itself is not an app, so its own static folder is listed explicitly.
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = DATA_DIR / "static"
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", DATA_DIR / "media"))


def default_storage_from_env() -> dict[str, Any]:
    """Where attachments go: files under MEDIA_ROOT, or an S3-compatible bucket.

    S3 needs the ``s3`` extra (django-storages with boto3). Names are content hashes
    (``attachments/ab/abcd…``); ``file_overwrite`` is off so two attachments with the
    same bytes keep separate objects, as they keep separate files on disk, and
    deleting one never removes the other's.
    """
    kind = os.environ.get("STORAGE_BACKEND", "").strip().lower() or "filesystem"
    if kind == "filesystem":
        return {"BACKEND": "django.core.files.storage.FileSystemStorage"}
    if kind != "s3":
        raise ImproperlyConfigured(
            f"STORAGE_BACKEND must be filesystem or s3, not {kind!r}"
        )
    if importlib.util.find_spec("storages") is None:
        raise ImproperlyConfigured(
            "STORAGE_BACKEND=s3 needs django-storages: pip install 'devdesk[s3]'"
        )
    bucket = os.environ.get("AWS_STORAGE_BUCKET_NAME", "").strip()
    if not bucket:
        raise ImproperlyConfigured("STORAGE_BACKEND=s3 needs AWS_STORAGE_BUCKET_NAME")
    addressing = os.environ.get("AWS_S3_ADDRESSING_STYLE", "").strip() or None
    if addressing not in {None, "auto", "path", "virtual"}:
        raise ImproperlyConfigured(
            f"AWS_S3_ADDRESSING_STYLE must be auto, path or virtual, not {addressing!r}"
        )
    return {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": bucket,
            # Empty values fall back to boto3's own chain (instance role, ~/.aws).
            "endpoint_url": os.environ.get("AWS_S3_ENDPOINT_URL", "").strip() or None,
            "region_name": os.environ.get("AWS_S3_REGION_NAME", "").strip() or None,
            "access_key": os.environ.get("AWS_ACCESS_KEY_ID", "").strip() or None,
            "secret_key": env_str("AWS_SECRET_ACCESS_KEY", "").strip() or None,
            "location": os.environ.get("AWS_LOCATION", "").strip().strip("/"),
            "addressing_style": addressing,
            "file_overwrite": False,
            # Objects stay private: downloads go through devdesk's permission checks.
            "default_acl": None,
        },
    }


STORAGES = {
    "default": default_storage_from_env(),
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

EMAIL_BACKEND = os.environ.get(
    "EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend"
)
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "support@devdesk.localhost")

# A shared cache makes sign-in and e-mail limits exact across web workers; without
# one each worker process counts on its own.
CACHE_URL = os.environ.get("CACHE_URL", "").strip()
if CACHE_URL and not CACHE_URL.startswith(("redis://", "rediss://")):
    raise ImproperlyConfigured(f"CACHE_URL must be a redis:// URL, not {CACHE_URL!r}")
CACHES = {
    "default": (
        {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": CACHE_URL,
        }
        if CACHE_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}

# Background tasks: the database queue by default (`devdesk worker` runs it); RQ
# workers on Redis to scale out. `devdesk worker` starts the worker that fits.
DATABASE_TASKS = "django_tasks_db.DatabaseBackend"
RQ_TASKS = "django_tasks_rq.RQBackend"
TASKS_BACKEND = os.environ.get("TASKS_BACKEND", "").strip() or DATABASE_TASKS
TASKS: dict[str, dict[str, Any]] = {"default": {"BACKEND": TASKS_BACKEND}}
TASKS_REDIS_URL = os.environ.get("TASKS_REDIS_URL", "").strip()
if TASKS_BACKEND == RQ_TASKS:
    if not TASKS_REDIS_URL.startswith(("redis://", "rediss://", "unix://")):
        raise ImproperlyConfigured(
            f"TASKS_BACKEND={RQ_TASKS} needs TASKS_REDIS_URL, a redis:// URL "
            f"(not {TASKS_REDIS_URL!r})"
        )
    INSTALLED_APPS += ["django_rq", "django_tasks_rq"]
    TASKS["default"]["QUEUES"] = ["default"]
    # Task functions take IDs and finish in seconds; a job still running after 10
    # minutes is stopped and counts as failed.
    RQ_QUEUES = {"default": {"URL": TASKS_REDIS_URL, "DEFAULT_TIMEOUT": 600}}
# A message whose notification has not gone out this long after it was written is
# queued again by `devdesk scheduler` (its task was lost: a worker died mid-task,
# Redis lost the job, the mail server refused). Tasks are safe to run twice.
NOTIFICATION_RETRY_SECONDS = env_int("NOTIFICATION_RETRY_SECONDS", 300)

# Escalation webhooks (devdesk/triage/escalation): how long one POST to a tracker
# endpoint may take, the wait after the first failed attempt (doubling each time, at
# most an hour), how many attempts before giving up, and how old an inbound tracker
# delivery's timestamp (Jira, Linear) may be before it is refused as a replay.
WEBHOOK_TIMEOUT_SECONDS = env_int("WEBHOOK_TIMEOUT_SECONDS", 10)
WEBHOOK_RETRY_SECONDS = env_int("WEBHOOK_RETRY_SECONDS", 30)
WEBHOOK_MAX_ATTEMPTS = env_int("WEBHOOK_MAX_ATTEMPTS", 8)
WEBHOOK_MAX_AGE_SECONDS = env_int("WEBHOOK_MAX_AGE_SECONDS", 60)

# Limits on what customers and agents may send; the README explains each.
TICKET_SUBJECT_MAX_CHARS = env_int("TICKET_SUBJECT_MAX_CHARS", 200)
MESSAGE_BODY_MAX_CHARS = env_int("MESSAGE_BODY_MAX_CHARS", 100_000)
ATTACHMENT_MAX_MIB = env_int("ATTACHMENT_MAX_MIB", 10)
ATTACHMENTS_PER_MESSAGE = env_int("ATTACHMENTS_PER_MESSAGE", 10)
INBOX_PAGE_SIZE = env_int("INBOX_PAGE_SIZE", 50)
# A customer whose last public message has had no public answer this long is
# "waiting": listed on the desk's waiting panel and in the owners' daily e-mail.
WAITING_CUSTOMER_HOURS = env_int("WAITING_CUSTOMER_HOURS", 24)
# Mail in: the largest message taken (bigger ones get a polite reply and are kept
# for admins, not made into tickets), how many attachments one message may bring,
# and the automatic acknowledgement of a new ticket opened by e-mail.
MAIL_MAX_MIB = env_int("MAIL_MAX_MIB", 25)
MAIL_MAX_ATTACHMENTS = env_int("MAIL_MAX_ATTACHMENTS", 20)
MAIL_ACKNOWLEDGE = env_bool("MAIL_ACKNOWLEDGE", True)
# At most this many automatic answers to one address an hour: a loop breaker even
# for an auto-responder that does not say it is one.
MAIL_AUTO_REPLIES_PER_HOUR = env_int("MAIL_AUTO_REPLIES_PER_HOUR", 5)
MAIL_RECEIVE_LISTEN = env_str("MAIL_RECEIVE_LISTEN", "127.0.0.1:2525")
# Processes ``devdesk mail-receive`` turns stored mail into tickets with, each
# taking its own senders' messages in the order they arrived (at least 1).
MAIL_PROCESSORS = max(env_int("MAIL_PROCESSORS", 2), 1)
MAIL_POLL_SECONDS = env_int("MAIL_POLL_SECONDS", 60)
# How often the scheduler queues the SLA pass (warnings and breaches).
SLA_PASS_SECONDS = env_int("SLA_PASS_SECONDS", 60)
PRESENCE_SECONDS = env_int("PRESENCE_SECONDS", 30)
# Cool-down (triage): N writes from one sender within M minutes are a burst, folded
# into one ticket; a burst or an angry message (sentiment at or below the angry
# score) holds automatic answers on the ticket for COOLDOWN_MINUTES, or until the
# sender writes calmly (sentiment above the calm score).
COOLDOWN_BURST_MESSAGES = env_int("COOLDOWN_BURST_MESSAGES", 5)
COOLDOWN_BURST_MINUTES = env_int("COOLDOWN_BURST_MINUTES", 30)
COOLDOWN_MINUTES = env_int("COOLDOWN_MINUTES", 240)
COOLDOWN_ANGRY_SCORE = env_float("COOLDOWN_ANGRY_SCORE", -0.5)
COOLDOWN_CALM_SCORE = env_float("COOLDOWN_CALM_SCORE", 0.05)
# Scope (triage): the classifier flags a ticket out of scope at this probability.
SCOPE_CLASSIFIER_THRESHOLD = env_float("SCOPE_CLASSIFIER_THRESHOLD", 0.4)
# Inbox view counts are cached until a ticket changes, and at most this long (0: off).
INBOX_COUNTS_SECONDS = env_int("INBOX_COUNTS_SECONDS", 60)
SIGNUP_OPEN = env_bool("SIGNUP_OPEN", True)
# Rate limits (0 = off); over them the answer is 429 with Retry-After.
API_RATE_PER_MINUTE = env_int("API_RATE_PER_MINUTE", 600)
API_RATE_PER_MINUTE_PER_IP = env_int("API_RATE_PER_MINUTE_PER_IP", 1200)
SUBMISSIONS_PER_HOUR = env_int("SUBMISSIONS_PER_HOUR", 60)
# A JSON body carries attachments base64-encoded (4/3 of their size): room for one
# attachment at the limit plus the rest of the request.
DATA_UPLOAD_MAX_MEMORY_SIZE = (ATTACHMENT_MAX_MIB * 4 // 3 + 2) * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # htmx reads the token from the cookie-less meta tag
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
if not DEBUG:
    SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", False)
    CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}
