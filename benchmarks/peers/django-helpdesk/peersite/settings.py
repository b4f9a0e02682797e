"""Settings of the benchmark peer: django-helpdesk as its install docs set it up.

The apps and helpdesk settings follow django-helpdesk's installation and teams
documentation and its demo project (teams mode left on, its default, so the four
pinax-teams apps are installed). Only what a benchmark needs differs from the demo:
DEBUG off, the database from ``DATABASE_URL``, loopback hosts, no mail sent, and
devdesk's Server-Timing middleware first.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

PEER_DIR = Path(__file__).resolve().parent.parent
# The devdesk checkout this peer lives in (benchmarks/peers/django-helpdesk/..).
# Only devdesk.lib.server_timing is imported from it; it depends on Django alone.
REPO_ROOT = PEER_DIR.parent.parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.append(str(REPO_ROOT))

DEBUG = False
SECRET_KEY = os.environ.get(
    "PEER_SECRET_KEY", "benchmark-peer-only-not-a-secret-3c9f1e7a5b2d4f60a8e1"
)
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.sites",  # helpdesk: domain of links in e-mail
    "django.contrib.humanize",  # helpdesk: elapsed time formatting
    "account",  # required by pinax-teams
    "pinax.invitations",  # required by pinax-teams
    "pinax.teams",  # helpdesk's team support (HELPDESK_TEAMS_MODE_ENABLED defaults on)
    "reversion",  # required by pinax-teams
    "helpdesk",
    "rest_framework",  # helpdesk's API and the ticket list's JSON rows
]

MIDDLEWARE = [
    # First, so "total" covers the other middleware too (as in devdesk).
    "devdesk.lib.server_timing.ServerTimingMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "peersite.urls"
WSGI_APPLICATION = "peersite.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.debug",
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]


def database_from_env() -> dict[str, object]:
    url = os.environ.get("DATABASE_URL", "").strip()
    if not url:
        raise ImproperlyConfigured(
            "DATABASE_URL is required (sqlite:////abs/path.sqlite3 or "
            "postgres://user@host:5432/name)"
        )
    # Django's default CONN_MAX_AGE (0: a connection per request) unless the
    # harness asks for persistent connections, as devdesk keeps them for 60 s.
    raw_age = os.environ.get("CONN_MAX_AGE", "0").strip()
    try:
        conn_max_age = int(raw_age)
    except ValueError as exc:
        raise ImproperlyConfigured(
            f"CONN_MAX_AGE must be whole seconds, not {raw_age!r}"
        ) from exc
    return dict(dj_database_url.parse(url, conn_max_age=conn_max_age))


DATABASES = {"default": database_from_env()}
# helpdesk's models declare AutoField themselves; this covers the other apps.
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"

SITE_ID = 1

# django-helpdesk, as in its demo project.
HELPDESK_DEFAULT_SETTINGS = {
    "use_email_as_submitter": True,
    "email_on_ticket_assign": True,
    "email_on_ticket_change": True,
    "login_view_ticketlist": True,
    "email_on_ticket_apichange": True,
    "preset_replies": True,
    "tickets_per_page": 25,
}
HELPDESK_PUBLIC_ENABLED = True
HELPDESK_VIEW_A_TICKET_PUBLIC = True
HELPDESK_SUBMIT_A_TICKET_PUBLIC = True
HELPDESK_KB_ENABLED = True
HELPDESK_TICKETS_TIMELINE_ENABLED = True
HELPDESK_SHOW_CHANGE_PASSWORD = True
HELPDESK_REDIRECT_TO_LOGIN_BY_DEFAULT = False
LOGIN_URL = "helpdesk:login"
LOGIN_REDIRECT_URL = "helpdesk:home"

SESSION_COOKIE_AGE = 86400  # one day, as in the demo

AUTH_PASSWORD_VALIDATORS = [
    {
        "NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"
    },
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# helpdesk renders and "sends" its notification mail inside the request; the
# dummy backend drops it instead of printing it (the demo's console backend) or
# reaching a server. devdesk queues its mail for a worker, so neither sends.
DEFAULT_FROM_EMAIL = "helpdesk@example.com"
SERVER_EMAIL = "helpdesk@example.com"
EMAIL_BACKEND = "django.core.mail.backends.dummy.EmailBackend"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = str(PEER_DIR / "var" / "static")
MEDIA_URL = "/media/"
MEDIA_ROOT = str(PEER_DIR / "var" / "media")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
}
