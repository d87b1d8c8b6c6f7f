"""The check of step03's exercise 2: a token with the claim `"read_only": true` may listen on a
room's socket but not write.

`make exercise STEP=3 EX=2` copies it into the step's tests/ and runs it there, with the
step's fixtures (tests/conftest.py).
"""

import base64
import json

import pytest
from channels.testing import WebsocketCommunicator
from django.core.management import call_command
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken

from chat.models import Message
from config.asgi import application
from config.settings import channel_layers_from_env

pytestmark = pytest.mark.django_db(transaction=True)

ORIGIN = [(b"origin", b"http://127.0.0.1:8000")]


@pytest.fixture(autouse=True)
def in_memory_layer(settings):
    """Channels' in-memory layer, whatever REDIS_URL says: the exercise is about the sockets."""
    settings.CHANNEL_LAYERS = channel_layers_from_env({})


def read_only_token(user):
    token = AccessToken.for_user(user)
    token["read_only"] = True
    return str(token)


async def open_room(room, token):
    socket = WebsocketCommunicator(
        application, f"/ws/conversations/{room.id}/?token={token}", headers=ORIGIN
    )
    socket.connected, _ = await socket.connect(timeout=10)
    return socket


async def next_frame(socket, who):
    try:
        return await socket.receive_json_from(timeout=5)
    except TimeoutError:
        pytest.fail(f"{who} received nothing within 5 s")


async def test_a_read_only_token_cannot_write(lobby, users):
    alice = await open_room(lobby, read_only_token(users["alice"]))
    assert alice.connected, "a read-only token is a valid token: its socket must connect"

    await alice.send_json_to({"type": "message", "text": "hello"})

    frame = await next_frame(alice, "alice, after writing with a read-only token,")
    assert frame.get("type") == "error", (
        f"a message from a read-only token should get an error frame back; it got {frame}"
    )
    assert await Message.objects.acount() == 0, "a read-only token's message was stored"
    await alice.disconnect()


async def test_a_read_only_token_still_hears_the_room(lobby, users):
    alice = await open_room(lobby, read_only_token(users["alice"]))
    bob = await open_room(lobby, AccessToken.for_user(users["bob"]))

    await bob.send_json_to({"type": "message", "text": "hi alice"})

    frame = await next_frame(alice, "alice's read-only socket, after bob wrote,")
    assert frame.get("type") == "message", f"alice should hear bob's message; she got {frame}"
    await alice.disconnect()
    await bob.disconnect()


async def test_an_ordinary_token_still_writes(lobby, users):
    bob = await open_room(lobby, AccessToken.for_user(users["bob"]))

    await bob.send_json_to({"type": "message", "text": "still allowed"})

    frame = await next_frame(bob, "bob, after writing with an ordinary token,")
    assert frame.get("type") == "message", f"bob's message should come back to him; got {frame}"
    await bob.disconnect()


async def test_a_token_whose_claim_was_edited_is_refused(lobby, users):
    # What a client could try: take the claim out of the payload, keep the signature.
    header, payload, signature = read_only_token(users["alice"]).split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["read_only"] = False
    edited = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()

    alice = await open_room(lobby, f"{header}.{edited}.{signature}")

    assert not alice.connected, "a token with an edited payload was accepted"


def test_the_token_command_makes_a_read_only_token(lobby, capsys):
    try:
        call_command("token", "alice", "--read-only")
    except Exception as error:  # the option does not exist yet: CommandError
        pytest.fail(f"python manage.py token alice --read-only failed: {error}")

    token = AccessToken(capsys.readouterr().out.strip())
    assert token.get("read_only") is True, (
        f'the printed token should carry "read_only": true; its claims: {dict(token.payload)}'
    )


def test_the_token_command_without_the_option_makes_an_ordinary_token(lobby, capsys):
    call_command("token", "alice")

    token = AccessToken(capsys.readouterr().out.strip())
    assert not token.get("read_only"), "without --read-only the token should be an ordinary one"


def test_a_read_only_pair_refreshes_into_read_only_tokens(lobby, capsys):
    try:
        call_command("token", "alice", "--pair", "--read-only")
    except Exception as error:  # the option does not exist yet: CommandError
        pytest.fail(f"python manage.py token alice --pair --read-only failed: {error}")
    pair = json.loads(capsys.readouterr().out)

    response = APIClient().post("/api/token/refresh/", {"refresh": pair["refresh"]}, format="json")

    assert response.status_code == 200, f"the refresh answered {response.status_code}"
    renewed = AccessToken(response.json()["access"])
    assert renewed.get("read_only") is True, (
        "the access token refreshed from a read-only pair is an ordinary one: a script could "
        "write after its first renewal (put the claim where the refresh copies it from)"
    )
