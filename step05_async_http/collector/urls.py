"""URLs of the news collector, mounted under /collector/ (step01; the async view from step05).

The third collector, /collector/collect_news_async/, is not here: Channels routes it to
NewsCollectorAsyncConsumer before Django sees the request (config/asgi.py).
"""

from django.urls import path

from . import views

urlpatterns = [
    path("collect_news_sync/", views.news_collector_sync_view, name="collect-news-sync"),
    path(
        "collect_news_async_view/",
        views.news_collector_async_view,
        name="collect-news-async-view",
    ),
]
