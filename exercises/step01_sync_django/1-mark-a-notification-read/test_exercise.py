"""The check of step01's exercise 1: PATCH /api/notifications/<id>/ marks a notification read.

`make exercise STEP=1 EX=1` copies it into the step's tests/ and runs it there, with the
step's fixtures (tests/conftest.py): `users`, `lobby`, `api_as`.
"""

from chat.models import Notification
from chat.services import post_message


def bobs_notification(lobby, users):
    """alice writes in the Lobby: bob (and carol) get a notification, unread."""
    post_message(lobby, users["alice"], "hello")
    return Notification.objects.get(user=users["bob"])


def url_of(notification):
    return f"/api/notifications/{notification.id}/"


def mark_read(client, notification, body=None):
    return client.patch(url_of(notification), body or {"isRead": True}, format="json")


def test_patch_answers_the_notification_marked_read(lobby, users, api_as):
    notification = bobs_notification(lobby, users)

    response = mark_read(api_as("bob"), notification)

    assert response.status_code == 200, (
        f"PATCH {url_of(notification)} answered {response.status_code}, not 200: "
        "is there a URL for one notification in chat/api_urls.py?"
    )
    body = response.json()
    assert body.get("isRead") is True, f'the answer should say "isRead": true; it was {body}'
    assert body.get("id") == notification.id, f"the answer should be the notification; got {body}"


def test_patch_stores_the_notification_as_read(lobby, users, api_as):
    notification = bobs_notification(lobby, users)

    mark_read(api_as("bob"), notification)

    notification.refresh_from_db()
    assert notification.is_read, "after the PATCH the database still says it is unread"


def test_a_notification_of_someone_else_is_not_found(lobby, users, api_as):
    notification = bobs_notification(lobby, users)

    response = mark_read(api_as("carol"), notification)

    assert response.status_code == 404, (
        f"carol marked bob's notification: {response.status_code}; it should be a 404, "
        "as if it did not exist (a queryset of the caller's own notifications does that)"
    )
    assert response["Content-Type"] == "application/json", (
        "the 404 is Django's page for an unknown URL, not the API's answer: add the URL first"
    )
    notification.refresh_from_db()
    assert not notification.is_read, "carol's PATCH changed bob's notification"


def test_only_the_read_flag_can_change(lobby, users, api_as):
    notification = bobs_notification(lobby, users)

    response = mark_read(api_as("bob"), notification, {"isRead": True, "text": "rewritten"})

    assert response.status_code == 200, f"the PATCH answered {response.status_code}, not 200"
    notification.refresh_from_db()
    assert notification.text == "alice wrote in Lobby", (
        f'a PATCH rewrote the text to "{notification.text}": only isRead may change '
        "(the other fields read-only in the serializer)"
    )


def test_a_value_that_is_not_a_boolean_is_refused(lobby, users, api_as):
    notification = bobs_notification(lobby, users)

    response = mark_read(api_as("bob"), notification, {"isRead": "maybe"})

    assert response.status_code == 400, (
        f'{{"isRead": "maybe"}} answered {response.status_code}, not 400: isRead is a boolean'
    )
    notification.refresh_from_db()
    assert not notification.is_read, '{"isRead": "maybe"} marked the notification read'
