"""ASGI entry point: HTTP to Django, WebSocket to the consumers (step02; JWT from step03).

Daphne (`runserver`, or `daphne config.asgi:application`) calls `application` for every
connection; `scope["type"]` says which protocol it is.
"""

import os

from django.conf import settings
from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler
from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

# Build Django's HTTP application first: it runs django.setup(), which loads the apps and
# their models. Importing a consumer (it imports models) before this line fails with
# "Apps aren't loaded yet". This also replaces Channels 2's AsgiHandler (deprecated in
# Channels 3, removed in 4): Django's own ASGI handler serves HTTP, with async views and
# middleware.
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from chat.middleware import TokenAuthMiddlewareStack  # noqa: E402  (imports models)
from collector.guards import CollectorRefusals  # noqa: E402
from config.routing import websocket_urlpatterns  # noqa: E402  (imports the consumers)

if settings.DEBUG:
    # `runserver` serves /static/ itself; plain `daphne config.asgi:application` does not, so
    # the demo does it here. In production: collectstatic and a web server (or WhiteNoise).
    django_asgi_app = ASGIStaticFilesHandler(django_asgi_app)

# Django's handler reads a request's whole body before any view runs: what the collector
# refuses (another method than GET, a body) is refused before it (collector/guards.py).
django_asgi_app = CollectorRefusals(django_asgi_app, prefix="/collector/")

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        # Outside in: refuse a page from a foreign site (Origin not in ALLOWED_HOSTS), then
        # find the user from the JWT (not the session cookie), then pick the consumer by path.
        "websocket": AllowedHostsOriginValidator(
            TokenAuthMiddlewareStack(URLRouter(websocket_urlpatterns))
        ),
    }
)
