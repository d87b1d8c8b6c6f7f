"""URLs of the news collector, mounted under /collector/ (step01)."""

from django.urls import path

from . import views

urlpatterns = [
    path("collect_news_sync/", views.news_collector_sync_view, name="collect-news-sync"),
]
