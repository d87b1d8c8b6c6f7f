"""URLs of the chat pages (step01): the room page at `/`."""

from django.urls import path

from . import views

urlpatterns = [
    path("", views.room_page, name="room-page"),
]
