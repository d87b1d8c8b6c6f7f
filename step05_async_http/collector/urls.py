"""URLs of the news collector and its page, mounted under /collector/ (step01; the async view
from step05).

The third collector, /collector/collect_news_async/, is not here: Channels routes it to
NewsCollectorAsyncConsumer before Django sees the request (config/asgi.py).
"""

from django.urls import path
from django.views.generic import TemplateView

from . import views

urlpatterns = [
    # The page at /collector/: a button per collector, each report drawn as a timeline
    # (support code: templates/collector/page.html, static/collector/).
    path("", TemplateView.as_view(template_name="collector/page.html"), name="collector-page"),
    path("collect_news_sync/", views.news_collector_sync_view, name="collect-news-sync"),
    path(
        "collect_news_async_view/",
        views.news_collector_async_view,
        name="collect-news-async-view",
    ),
]
