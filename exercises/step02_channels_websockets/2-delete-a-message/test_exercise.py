"""The check of step02's exercise 2: DELETE /api/rooms/<id>/messages/<message id>/, which the
room's open sockets hear of.

`make exercise STEP=2 EX=2` copies it into the step's tests/ and runs it there, with the
step's fixtures (tests/conftest.py) and its socket helper (tests/test_consumers.py).
"""

import pytest
from asgiref.sync import sync_to_async

from chat.models import Message
from chat.services import post_message
from config.settings import channel_layers_from_env
from tests.test_consumers import open_socket

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def in_memory_layer(settings):
    """Channels' in-memory layer, whatever REDIS_URL says: the exercise is about the broadcast."""
    settings.CHANNEL_LAYERS = channel_layers_from_env({})


def url_of(message):
    return f"/api/rooms/{message.room_id}/messages/{message.id}/"


async def delete_as(api_as, username, message):
    """The DELETE, then a message "marker" posted through the API: a socket's frames before
    the marker are what it heard of the delete."""
    response = await sync_to_async(api_as(username).delete)(url_of(message))
    room_url = f"/api/rooms/{message.room_id}/messages/"
    marker = await sync_to_async(api_as("carol").post)(room_url, {"text": "marker"}, format="json")
    assert marker.status_code == 201, f"the test's marker could not be posted: {marker.json()}"
    return response


async def frames_until_marker(socket, who):
    frames = []
    while True:
        try:
            frame = await socket.receive_json_from(timeout=5)
        except TimeoutError:
            pytest.fail(f"{who} never received the test's marker message")
        if frame.get("type") == "message" and frame["data"]["text"] == "marker":
            return frames
        frames.append(frame)


async def alices_message(lobby, users):
    return await sync_to_async(post_message)(lobby, users["alice"], "oops")


async def test_the_author_deletes_her_message(lobby, users, api_as):
    message = await alices_message(lobby, users)

    response = await delete_as(api_as, "alice", message)

    assert response.status_code == 204, (
        f"DELETE {url_of(message)} answered {response.status_code}, not 204: is there a URL "
        "for one message in chat/api_urls.py?"
    )
    assert not await Message.objects.filter(pk=message.id).aexists(), "the message is still there"


async def test_every_socket_of_the_room_hears_of_the_deletion(lobby, users, api_as):
    message = await alices_message(lobby, users)
    sockets = {name: await open_socket(lobby, users[name]) for name in ["alice", "bob"]}

    await delete_as(api_as, "alice", message)

    expected = {"type": "deleted", "data": {"id": message.id, "roomId": lobby.id}}
    for name, socket in sockets.items():
        heard = await frames_until_marker(socket, name)
        assert heard == [expected], (
            f"{name}'s socket should receive {expected} for the delete; it received "
            f"{heard or 'nothing'}"
        )
        await socket.disconnect()


async def test_a_message_of_someone_else_cannot_be_deleted(lobby, users, api_as):
    message = await alices_message(lobby, users)
    alice = await open_socket(lobby, users["alice"])

    response = await delete_as(api_as, "bob", message)

    assert response.status_code == 403, (
        f"bob deleting alice's message answered {response.status_code}: it should be a 403"
    )
    assert await Message.objects.filter(pk=message.id).aexists(), "bob deleted alice's message"
    heard = await frames_until_marker(alice, "alice")
    assert heard == [], f"the sockets heard of a delete that was refused: {heard}"
    await alice.disconnect()


async def test_a_message_of_another_room_is_not_found(lobby, alice_and_bob, users, api_as):
    message = await sync_to_async(post_message)(alice_and_bob, users["alice"], "elsewhere")

    url = f"/api/rooms/{lobby.id}/messages/{message.id}/"
    response = await sync_to_async(api_as("alice").delete)(url)

    assert response.status_code == 404, (
        f"DELETE {url} (a message of another room) answered {response.status_code}, not 404"
    )
    assert response["Content-Type"] == "application/json", (
        "the 404 is Django's page for an unknown URL, not the API's answer: add the URL first"
    )
    assert await Message.objects.filter(pk=message.id).aexists(), "the message was deleted"
