"""URL map of the project (step01): the chat page, the REST API, the collector, login, admin."""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("", include("chat.urls")),
    path("api/", include("chat.api_urls")),
    path("collector/", include("collector.urls")),
    path("accounts/", include("django.contrib.auth.urls")),
    path("admin/", admin.site.urls),
]
