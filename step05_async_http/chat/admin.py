"""Admin pages for rooms, messages and notifications (step01)."""

from django.contrib import admin

from .models import Message, Notification, Room


@admin.register(Room)
class RoomAdmin(admin.ModelAdmin):
    list_display = ["id", "name"]
    filter_horizontal = ["members"]


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    list_display = ["id", "room", "author", "text", "created_at"]
    list_filter = ["room"]


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ["id", "user", "text", "is_read", "created_at"]
    list_filter = ["is_read"]
