"""Settings of the workshop project (step01; step02 adds Channels, step03 JSON Web Tokens).

Every value can be left alone for a local demo; the environment variables are listed in
the repository's INTERFACES.md.
"""

import json
import os
from datetime import timedelta
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name, default):
    """Read a yes/no environment variable ("1", "true", "yes", "on" mean yes)."""
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


# --- Core -------------------------------------------------------------------------------
# https://docs.djangoproject.com/en/5.2/ref/settings/#core-settings
# The defaults serve a local demo only: set DJANGO_SECRET_KEY and DJANGO_DEBUG=false elsewhere.
SECRET_KEY = os.environ.get(
    "DJANGO_SECRET_KEY", "insecure-workshop-key-change-me-before-deploying-anything"
)
DEBUG = env_bool("DJANGO_DEBUG", True)
ALLOWED_HOSTS = os.environ.get("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]").split(",")

INSTALLED_APPS = [
    # Daphne first: its `runserver` replaces Django's, and serves ASGI (HTTP and WebSocket).
    # https://channels.readthedocs.io/en/stable/installation.html
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "rest_framework",
    "chat",
    "collector",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
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
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database ---------------------------------------------------------------------------
# https://docs.djangoproject.com/en/5.2/ref/settings/#databases
# SQLite in the step folder: nothing to install, and `git status` ignores it.
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": BASE_DIR / "db.sqlite3",
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Authentication ---------------------------------------------------------------------
# https://docs.djangoproject.com/en/5.2/topics/auth/default/#the-login-required-decorator
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/accounts/login/"

# --- Internationalization and static files ----------------------------------------------
# https://docs.djangoproject.com/en/5.2/howto/static-files/
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]

# --- Channels: the channel layer ------------------------------------------------------
# https://channels.readthedocs.io/en/stable/topics/channel_layers.html
# The in-memory layer needs nothing installed but only reaches consumers of its own process.
# REDIS_URL switches to channels-redis, which every process shares (several Daphnes, the
# shell, a management command): its RedisChannelLayer. Not its RedisPubSubChannelLayer,
# which channels-redis calls Beta and which loses messages without an error around a Redis
# outage (the step04 README says how that was measured).


def channel_layers_from_env(environ=os.environ):
    """CHANNEL_LAYERS from REDIS_URL (the tests call it with their own)."""
    redis_url = environ.get("REDIS_URL")
    if not redis_url:
        return {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    # redis-py 8 gives every connection a 5 s socket timeout, while channels-redis waits on
    # Redis for 5 s when idle: an idle consumer would die with TimeoutError. No timeout here
    # (and requirements.txt stays on redis-py 7).
    host = {"address": redis_url, "socket_timeout": None}
    backend = "channels_redis.core.RedisChannelLayer"
    return {"default": {"BACKEND": backend, "CONFIG": {"hosts": [host]}}}


CHANNEL_LAYERS = channel_layers_from_env()

# --- Django REST framework --------------------------------------------------------------
# https://www.django-rest-framework.org/api-guide/authentication/
# Session auth serves the page in the browser, HTTP Basic serves curl, a JWT any other client.
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.BasicAuthentication",
        "rest_framework_simplejwt.authentication.JWTAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
}

# --- JSON Web Tokens (djangorestframework-simplejwt) --------------------------------------
# https://django-rest-framework-simplejwt.readthedocs.io/en/latest/settings.html
# simplejwt's defaults otherwise: HS256 signed with SECRET_KEY; claims token_type, exp, iat,
# jti and user_id. An access token lives minutes (a stolen one is soon useless) and the page
# renews it with the refresh token; JWT_ACCESS_SECONDS shortens it to watch that happen.
ACCESS_TOKEN_SECONDS = os.environ.get("JWT_ACCESS_SECONDS", "300")
if not (ACCESS_TOKEN_SECONDS.isascii() and ACCESS_TOKEN_SECONDS.isdigit()):
    raise ImproperlyConfigured("JWT_ACCESS_SECONDS must be a whole number of seconds")
SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(seconds=int(ACCESS_TOKEN_SECONDS)),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=1),
}

# --- The news collector -----------------------------------------------------------------
# NEWS_SOURCES is a JSON object, source name -> URL. The default points at the local fake
# blogs of `python manage.py fake_news_server` (port 8001, 5 blogs), so no internet is needed.
FAKE_NEWS_URL = "http://127.0.0.1:8001"
DEFAULT_NEWS_SOURCES = {f"blog-{n}": f"{FAKE_NEWS_URL}/blog/{n}/" for n in range(1, 6)}


def news_sources_from_env():
    """Parse NEWS_SOURCES, failing at start-up with a clear message rather than at request time."""
    raw = os.environ.get("NEWS_SOURCES")
    if not raw:
        return DEFAULT_NEWS_SOURCES
    try:
        sources = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ImproperlyConfigured(f"NEWS_SOURCES is not valid JSON: {exc}") from exc
    if not isinstance(sources, dict) or not all(
        isinstance(name, str) and isinstance(url, str) for name, url in sources.items()
    ):
        raise ImproperlyConfigured('NEWS_SOURCES must be a JSON object like {"name": "http://..."}')
    return sources


NEWS_SOURCES = news_sources_from_env()
try:
    NEWS_TIMEOUT = float(os.environ.get("NEWS_TIMEOUT", "5"))
except ValueError as exc:
    raise ImproperlyConfigured("NEWS_TIMEOUT must be a number of seconds") from exc
