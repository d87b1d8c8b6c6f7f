"""Settings of the workshop project (step01; step02 adds Channels, step03 JWT, step04 logging).

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
# The defaults serve a local demo only; a deployment sets DJANGO_DEBUG=false and a
# DJANGO_SECRET_KEY of its own (the repository's README, "Deploying this"). The demo key is
# public, and the key signs what the server later trusts: password-reset links, signed
# cookies and, from step03, the JWTs (whoever has it can mint a token for any user). So with
# DEBUG off, a missing key or the demo key stops start-up.
DEBUG = env_bool("DJANGO_DEBUG", True)
DEMO_SECRET_KEY = "insecure-workshop-key-change-me-before-deploying-anything"
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY") or DEMO_SECRET_KEY
if not DEBUG and SECRET_KEY == DEMO_SECRET_KEY:
    raise ImproperlyConfigured(
        "DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is off, to a key of your own (the"
        " demo key is public: anyone could sign what this server trusts). Make one with:"
        ' python -c "import secrets; print(secrets.token_urlsafe(50))"'
    )
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

# --- Deployment -------------------------------------------------------------------------
# https://docs.djangoproject.com/en/5.2/howto/deployment/checklist/
# What the repository's README ("Deploying this") relies on. With DEBUG off, Django serves no
# static files: `python manage.py collectstatic` copies them here, for the proxy to serve.
STATIC_ROOT = BASE_DIR / "staticfiles"
# https://docs.djangoproject.com/en/5.2/ref/settings/#secure-proxy-ssl-header
# DJANGO_BEHIND_HTTPS_PROXY=true where a proxy in front (nginx, Caddy, a load balancer)
# terminates TLS: Django then takes a request whose X-Forwarded-Proto header says "https"
# for an HTTPS request (the CSRF check of a form posted over HTTPS needs that), and sends
# the session and CSRF cookies over HTTPS only. Only behind a proxy that sets that header
# itself, replacing any a client sent: otherwise every client could claim HTTPS.
if env_bool("DJANGO_BEHIND_HTTPS_PROXY", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True

# --- Internationalization and static files ----------------------------------------------
# https://docs.djangoproject.com/en/5.2/howto/static-files/
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]

# --- Logging ------------------------------------------------------------------------------
# https://docs.djangoproject.com/en/5.2/topics/logging/
# The chat app's own lines in the server's output: a broadcast that failed (Redis down, or
# not answering), a socket closed because its channel layer failed (with, when Redis hangs,
# the count of the other sockets closed with it). One line each, no traceback.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"short": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "short"}},
    # Not propagated: Daphne's own handler on the root logger would print every line twice.
    "loggers": {"chat": {"handlers": ["console"], "level": "INFO", "propagate": False}},
}

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
        # From step04 a broadcast copies its event once and looks for expired messages once a
        # second at most, not once per socket (chat/in_memory_layer.py, optional reading).
        return {"default": {"BACKEND": "chat.in_memory_layer.CheapBroadcastInMemoryChannelLayer"}}
    # redis-py 8 gives every connection a 5 s socket timeout, while channels-redis waits on
    # Redis for 5 s when idle: an idle consumer would die with TimeoutError. No socket
    # timeout here (and requirements.txt stays on redis-py 7). Nor a longer one: with any
    # socket timeout, redis-py sends through asyncio.wait_for, which on Python 3.11 can lose
    # a task's cancellation (a consumer that never ends). Connecting, though, gives up after
    # 3 s: it takes milliseconds, and 3 s leaves room for a lost packet sent again after 1 s.
    host = {"address": redis_url, "socket_connect_timeout": 3, "socket_timeout": None}
    # From step04, a Redis that accepts connections and never answers (hung) fails like one
    # that is down: chat/layer_outage.py (optional reading) bounds every wait on it.
    backend = "chat.layer_outage.BoundedRedisChannelLayer"
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
    # DRF's three parsers, the JSON one with a depth limit (chat/parsers.py): a body nested
    # too deeply is a 400, not a 500. https://www.django-rest-framework.org/api-guide/parsers/
    "DEFAULT_PARSER_CLASSES": [
        "chat.parsers.JSONParserWithDepthLimit",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
}

# --- JSON Web Tokens (djangorestframework-simplejwt) --------------------------------------
# https://django-rest-framework-simplejwt.readthedocs.io/en/latest/settings.html
# simplejwt's defaults otherwise: HS256 signed with SECRET_KEY; claims token_type, exp, iat,
# jti and user_id. An access token lives minutes (a stolen one is soon useless): the page
# renews it through its session (POST /api/token/session/), so logging out ends its renewals;
# a script renews with its refresh token. JWT_ACCESS_SECONDS shortens it to watch that happen.
ACCESS_TOKEN_SECONDS = os.environ.get("JWT_ACCESS_SECONDS", "300")
if not (ACCESS_TOKEN_SECONDS.isascii() and ACCESS_TOKEN_SECONDS.isdigit()):
    raise ImproperlyConfigured("JWT_ACCESS_SECONDS must be a whole number of seconds")
SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(seconds=int(ACCESS_TOKEN_SECONDS)),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=1),
    # simplejwt's refresh answers 500 for a token whose user was deleted; this one, 401.
    "TOKEN_REFRESH_SERIALIZER": "chat.serializers.ExistingUserTokenRefreshSerializer",
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


def whole_number_from_env(name, default):
    """A whole number above 0 from the environment, failing at start-up with a clear message."""
    value = os.environ.get(name, default)
    if not (value.isascii() and value.isdigit() and int(value) > 0):
        raise ImproperlyConfigured(f"{name} must be a whole number above 0")
    return int(value)


NEWS_SOURCES = news_sources_from_env()
try:
    NEWS_TIMEOUT = float(os.environ.get("NEWS_TIMEOUT", "5"))
except ValueError as exc:
    raise ImproperlyConfigured("NEWS_TIMEOUT must be a number of seconds") from exc
if not 0 < NEWS_TIMEOUT < float("inf"):  # NaN too fails this
    raise ImproperlyConfigured("NEWS_TIMEOUT must be a number of seconds above 0")
# How many collections may run at once in one process, every collector counted: a collection
# needs no login and asks every source, so callers may not multiply the requests it sends
# without bound. A call past the cap gets a 503 with Retry-After (collector/guards.py).
NEWS_MAX_COLLECTIONS = whole_number_from_env("NEWS_MAX_COLLECTIONS", "10")
