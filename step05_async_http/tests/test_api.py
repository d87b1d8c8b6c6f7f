"""The REST API (INTERFACES.md): who may read and write, what is refused, polling (step01)."""

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

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


# --- JSON Web Tokens (step03) ---


def token_pair(username, password="workshop"):
    return APIClient().post(
        "/api/token/", {"username": username, "password": password}, format="json"
    )


def bearer_client(access):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return client


def test_token_endpoint_gives_a_pair_for_the_right_password(lobby):
    response = token_pair("alice")

    assert response.status_code == 200
    assert set(response.json()) == {"access", "refresh"}


@pytest.mark.parametrize("username, password", [("alice", "wrong"), ("nobody", "workshop")])
def test_token_endpoint_refuses_wrong_credentials_without_saying_which(lobby, username, password):
    response = token_pair(username, password)

    assert response.status_code == 401
    assert response.json() == {"detail": "No active account found with the given credentials"}


@pytest.mark.parametrize(
    "method, url, body",
    [
        ("get", "/api/rooms/", None),
        ("get", "/api/rooms/{room}/messages/", None),
        ("post", "/api/rooms/{room}/messages/", {"text": "with a token"}),
        ("get", "/api/notifications/", None),
    ],
)
def test_bearer_token_works_on_every_endpoint(lobby, method, url, body):
    client = bearer_client(token_pair("alice").json()["access"])

    response = getattr(client, method)(url.format(room=lobby.id), body, format="json")

    assert response.status_code in (200, 201)


def test_bad_bearer_token_is_refused(lobby):
    response = bearer_client("garbage").get("/api/rooms/")

    assert response.status_code == 403
    assert response.json()["detail"] == "Given token not valid for any token type"


def test_refresh_gives_a_new_access_token_that_works(lobby):
    refresh = token_pair("bob").json()["refresh"]

    response = APIClient().post("/api/token/refresh/", {"refresh": refresh}, format="json")

    assert response.status_code == 200
    assert bearer_client(response.json()["access"]).get("/api/rooms/").status_code == 200


def expired_refresh_token(users):
    token = RefreshToken.for_user(users["bob"])
    token.set_exp(lifetime=timedelta(seconds=-60))
    return str(token)


def inactive_users_refresh_token(users):
    refresh = token_pair("carol").json()["refresh"]
    users["carol"].is_active = False
    users["carol"].save()
    return refresh


def deleted_users_refresh_token(users):
    dave = get_user_model().objects.create_user("dave", password="workshop")
    refresh = token_pair("dave").json()["refresh"]
    dave.delete()
    return refresh


NO_ACTIVE_ACCOUNT = "No active account found for the given token."
# What a script may send to /api/token/refresh/ that buys no access token: each case builds
# its refresh token from the demo users, and names the `detail` of the 401.
REFUSED_REFRESH_TOKENS = {
    "an access token": (lambda users: token_pair("bob").json()["access"], "Token has wrong type"),
    "garbage": (lambda users: "garbage", "Token is invalid"),
    "expired": (expired_refresh_token, "Token is expired"),
    "inactive user": (inactive_users_refresh_token, NO_ACTIVE_ACCOUNT),
    # simplejwt's own serializer lets the user's DoesNotExist through: a 500 (see settings).
    "deleted user": (deleted_users_refresh_token, NO_ACTIVE_ACCOUNT),
}


@pytest.mark.parametrize("case", REFUSED_REFRESH_TOKENS)
def test_refresh_refuses_a_bad_refresh_token_with_401(users, case):
    make_refresh_token, detail = REFUSED_REFRESH_TOKENS[case]
    refresh = make_refresh_token(users)

    response = APIClient().post("/api/token/refresh/", {"refresh": refresh}, format="json")

    assert response.status_code == 401
    assert response.json()["detail"] == detail


def session_client(username):
    """A client logged in like the page, with Django's CSRF check on (as in a browser)."""
    client = APIClient(enforce_csrf_checks=True)
    client.login(username=username, password="workshop")
    client.get("/accounts/login/")  # sets the csrftoken cookie, as the page's form does
    return client


def test_session_token_endpoint_gives_the_logged_in_page_an_access_token_only(lobby):
    client = session_client("carol")

    response = client.post(
        "/api/token/session/", HTTP_X_CSRFTOKEN=client.cookies["csrftoken"].value
    )

    assert response.status_code == 200
    # No refresh token: the page renews through this endpoint, with its session.
    assert set(response.json()) == {"access"}
    access = response.json()["access"]
    assert bearer_client(access).get("/api/rooms/").json()[0]["name"] == "Lobby"


def log_out(client, csrf_token, user):
    # Django's LogoutView, as the page's "Log out" button posts to it (a form with its token).
    assert client.post("/accounts/logout/", HTTP_X_CSRFTOKEN=csrf_token).status_code == 302


def log_in_again(client, csrf_token, user):
    # A login in another tab: Django gives the browser a new CSRF token (and session).
    credentials = {"username": user.username, "password": "workshop"}
    response = client.post("/accounts/login/", credentials, HTTP_X_CSRFTOKEN=csrf_token)
    assert response.status_code == 302


def deactivate(client, csrf_token, user):
    user.is_active = False
    user.save()


def delete(client, csrf_token, user):
    user.delete()


def change_password(client, csrf_token, user):
    # Elsewhere (the admin, another session): Django then ends every session of the user.
    user.set_password("a new password")
    user.save()


NO_SESSION = "Authentication credentials were not provided."
# What may happen once the page has its first token, that must end its renewals: each case
# names the start of the `detail` of the 403.
ENDED_LOGINS = {
    "logged out": (log_out, NO_SESSION),
    "the page's CSRF token is from before a new login": (log_in_again, "CSRF Failed"),
    "user made inactive": (deactivate, NO_SESSION),
    "user deleted": (delete, NO_SESSION),
    "password changed": (change_password, NO_SESSION),
}


@pytest.mark.parametrize("case", ENDED_LOGINS)
def test_session_token_endpoint_refuses_a_page_whose_login_has_ended(lobby, users, case):
    client = session_client("carol")
    csrf_token = client.cookies["csrftoken"].value  # what the page read from its form
    assert client.post("/api/token/session/", HTTP_X_CSRFTOKEN=csrf_token).status_code == 200

    end_the_login, detail = ENDED_LOGINS[case]
    end_the_login(client, csrf_token, users["carol"])
    response = client.post("/api/token/session/", HTTP_X_CSRFTOKEN=csrf_token)

    # 403, which the page answers with "Log in again" (postJson in room.js).
    assert response.status_code == 403
    assert response.json()["detail"].startswith(detail)


def test_logout_leaves_a_scripts_refresh_token_working(lobby):
    # Logging out ends the session: the pair a script got with the password is not tied to it.
    refresh = token_pair("carol").json()["refresh"]
    client = session_client("carol")
    log_out(client, client.cookies["csrftoken"].value, None)

    response = APIClient().post("/api/token/refresh/", {"refresh": refresh}, format="json")

    assert response.status_code == 200


def test_session_token_endpoint_demands_the_csrf_token(lobby):
    response = session_client("carol").post("/api/token/session/")

    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]


@pytest.mark.parametrize("credentials", ["Basic YWxpY2U6d29ya3Nob3A=", "Bearer {access}"])
def test_session_token_endpoint_takes_only_a_session(lobby, credentials):
    access = token_pair("alice").json()["access"]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=credentials.format(access=access))

    assert client.post("/api/token/session/").status_code == 403
