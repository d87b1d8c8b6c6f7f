"""URL map of the project (step01): the chat page, the REST API, the collector, login, admin."""

from django.contrib import admin
from django.templatetags.static import static
from django.urls import include, path
from django.views.generic import RedirectView

urlpatterns = [
    path("", include("chat.urls")),
    path("api/", include("chat.api_urls")),
    path("collector/", include("collector.urls")),
    path("accounts/", include("django.contrib.auth.urls")),
    path("admin/", admin.site.urls),
    # Browsers ask every site for /favicon.ico (the admin and the JSON views have no <link
    # rel="icon">): a 404 there would be a red error in the console of every page.
    path("favicon.ico", RedirectView.as_view(url=static("chat/favicon.svg"))),
]
