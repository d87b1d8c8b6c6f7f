"""The REST API (INTERFACES.md): who may read and write, what is refused, polling (step01)."""

import pytest
from rest_framework.test import APIClient

from chat.models import MESSAGE_MAX_LENGTH, Message, Notification
from chat.services import post_message


def messages_url(room):
    return f"/api/rooms/{room.id}/messages/"


@pytest.mark.parametrize("url", ["/api/rooms/", "/api/notifications/", "/api/rooms/1/messages/"])
def test_anonymous_caller_is_refused(db, url):
    response = APIClient().get(url)

    assert response.status_code == 403
    assert response.json() == {"detail": "Authentication credentials were not provided."}


def test_http_basic_login_works_for_curl(lobby):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Basic YWxpY2U6d29ya3Nob3A=")  # alice:workshop

    assert client.get("/api/rooms/").status_code == 200


def test_wrong_password_is_refused(lobby):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Basic YWxpY2U6d3Jvbmc=")  # alice:wrong

    response = client.get("/api/rooms/")

    # 403, not 401: DRF answers 401 only when the first authentication class (here the
    # session, for the page) can name a challenge; the detail says what went wrong.
    assert response.status_code == 403
    assert response.json() == {"detail": "Invalid username/password."}


def test_session_login_works_for_the_page(lobby):
    client = APIClient()
    client.login(username="alice", password="workshop")

    assert client.get("/api/rooms/").status_code == 200


def test_room_list_shows_only_the_callers_rooms(lobby, alice_and_bob, api_as):
    rooms = api_as("carol").get("/api/rooms/").json()

    assert rooms == [{"id": lobby.id, "name": "Lobby", "members": ["alice", "bob", "carol"]}]


def test_member_posts_a_message(lobby, api_as):
    response = api_as("alice").post(messages_url(lobby), {"text": "hello"}, format="json")

    assert response.status_code == 201
    body = response.json()
    assert body["author"] == "alice"
    assert body["text"] == "hello"
    assert body["roomId"] == lobby.id
    assert set(body) == {"id", "roomId", "author", "text", "createdAt"}
    assert Message.objects.get().text == "hello"


def test_posting_creates_a_notification_for_every_other_member(lobby, api_as):
    api_as("alice").post(messages_url(lobby), {"text": "hello"}, format="json")

    bob_sees = api_as("bob").get("/api/notifications/").json()
    assert [n["text"] for n in bob_sees] == ["alice wrote in Lobby"]
    assert set(bob_sees[0]) == {"id", "text", "roomId", "messageId", "createdAt", "isRead"}
    assert api_as("alice").get("/api/notifications/").json() == []


def test_non_member_may_not_post(alice_and_bob, api_as):
    response = api_as("carol").post(messages_url(alice_and_bob), {"text": "hi"}, format="json")

    assert response.status_code == 403
    assert not Message.objects.exists()


def test_non_member_may_not_read(alice_and_bob, api_as):
    assert api_as("carol").get(messages_url(alice_and_bob)).status_code == 403


def test_unknown_room_is_not_found(users, api_as):
    assert api_as("alice").get("/api/rooms/999/messages/").status_code == 404


@pytest.mark.parametrize(
    ("payload", "error"),
    [
        ({}, "This field is required."),
        ({"text": ""}, "This field may not be blank."),
        ({"text": "   "}, "This field may not be blank."),
        ({"text": "x" * (MESSAGE_MAX_LENGTH + 1)}, "no more than 2000 characters"),
        ({"text": 42}, "Must be a string."),
        ({"text": None}, "This field may not be null."),
        ({"text": ["a list"]}, "Must be a string."),
    ],
)
def test_bad_text_is_refused_and_nothing_stored(lobby, api_as, payload, error):
    response = api_as("alice").post(messages_url(lobby), payload, format="json")

    assert response.status_code == 400
    assert error in response.json()["text"][0]
    assert not Message.objects.exists()
    assert not Notification.objects.exists()


def test_body_that_is_not_an_object_is_refused(lobby, api_as):
    response = api_as("alice").post(messages_url(lobby), ["hello"], format="json")

    assert response.status_code == 400
    assert not Message.objects.exists()


# 100,000 levels of {"a": ...}: about 700 KB. Python's json module refuses it with a
# RecursionError, where a malformed body raises ValueError.
NESTED_TOO_DEEP = '{"a": ' * 100_000 + "1" + "}" * 100_000
BODIES_THAT_ARE_NOT_JSON = {
    "malformed": ("{not json", "JSON parse error - Expecting property name"),
    "nested too deep": (NESTED_TOO_DEEP, "JSON parse error - nested too deeply"),
}


@pytest.mark.parametrize(
    "body, detail", BODIES_THAT_ARE_NOT_JSON.values(), ids=BODIES_THAT_ARE_NOT_JSON.keys()
)
def test_body_that_is_not_json_is_refused(lobby, api_as, body, detail):
    response = api_as("alice").post(messages_url(lobby), body, content_type="application/json")

    assert response.status_code == 400
    assert response.json()["detail"].startswith(detail)
    assert not Message.objects.exists()


def test_text_at_the_limit_is_accepted(lobby, api_as):
    text = "x" * MESSAGE_MAX_LENGTH
    response = api_as("alice").post(messages_url(lobby), {"text": text}, format="json")

    assert response.status_code == 201


def test_messages_come_oldest_first(lobby, users, api_as):
    for text in ["one", "two", "three"]:
        post_message(lobby, users["bob"], text)

    texts = [m["text"] for m in api_as("alice").get(messages_url(lobby)).json()]
    assert texts == ["one", "two", "three"]


def test_polling_with_after_returns_only_newer_messages(lobby, users, api_as):
    seen = post_message(lobby, users["bob"], "already seen")
    post_message(lobby, users["bob"], "new one")
    post_message(lobby, users["carol"], "another")

    response = api_as("alice").get(messages_url(lobby), {"after": seen.id})

    assert [m["text"] for m in response.json()] == ["new one", "another"]


def test_polling_with_nothing_new_returns_an_empty_list(lobby, users, api_as):
    last = post_message(lobby, users["bob"], "latest")

    assert api_as("alice").get(messages_url(lobby), {"after": last.id}).json() == []


@pytest.mark.parametrize("after", ["abc", "-1", "1.5", "", "²"])
def test_after_that_is_not_an_id_is_refused(lobby, api_as, after):
    response = api_as("alice").get(messages_url(lobby), {"after": after})

    assert response.status_code == 400
    assert "after" in response.json()


def test_history_without_after_is_the_newest_page(lobby, users, api_as, monkeypatch):
    monkeypatch.setattr("chat.api.MESSAGES_PAGE_SIZE", 2)
    for text in ["old", "newer", "newest"]:
        post_message(lobby, users["bob"], text)

    texts = [m["text"] for m in api_as("alice").get(messages_url(lobby)).json()]
    assert texts == ["newer", "newest"]
