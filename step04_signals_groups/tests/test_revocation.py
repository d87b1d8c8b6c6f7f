"""Revocation: whoever loses access loses their open sockets at once (step04).

A second use of the step's signals: a member removed from a room (`m2m_changed`), a user
deactivated (`post_save`) or deleted (`pre_delete`) has their sockets closed with 4403, and a
user who logs out (`user_logged_out`) with 4401. The consumer tests run on each channel layer
(the `channel_layer` fixture); the last test crosses processes, to a Daphne on Redis.
"""

import asyncio

import pytest
import websockets
from asgiref.sync import sync_to_async
from channels.layers import InMemoryChannelLayer
from django.contrib.auth import get_user_model
from django.db import transaction
from django.test import Client

from chat.consumers import ACCESS_REVOKED, TOKEN_EXPIRED
from chat.services import post_message
from tests.test_consumers import connect, open_notifications, open_socket
from tests.test_redis import open_socket as open_socket_on

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("channel_layer")]


async def assert_closed_with(socket, code):
    """The server closes the socket with `code`: the next thing the client gets is the close."""
    assert await socket.receive_output(timeout=5) == {"type": "websocket.close", "code": code}


async def assert_hears(socket, room, author, text):
    """The socket is still live: a message written now reaches it (a close would come first)."""
    await sync_to_async(post_message)(room, author, text)
    frame = await socket.receive_json_from(timeout=5)
    assert frame["data"]["text"] == text


async def assert_notified(socket, room, author):
    """The notification socket is still live: the notification a message causes reaches it."""
    await sync_to_async(post_message)(room, author, "for the notification")
    frame = await socket.receive_json_from(timeout=5)
    assert (frame["type"], frame["data"]["text"]) == ("notification", f"{author} wrote in {room}")


async def disconnect(sockets):
    """The test's clean-up, once it has seen what every socket got."""
    for socket in sockets:
        await socket.disconnect()


# Each way a project removes a member from a room: both sides of the relation, the admin.


def remove(room, user):
    room.members.remove(user)


def set_without(room, user):
    room.members.set(room.members.exclude(pk=user.pk))


def remove_from_the_users_side(room, user):
    user.rooms.remove(room)


def clear(room, user):
    room.members.clear()  # everyone goes


def remove_in_the_admin(room, user):
    admin = get_user_model().objects.create_superuser("admin", password="workshop")
    client = Client()
    client.force_login(admin)
    members = list(room.members.exclude(pk=user.pk).values_list("pk", flat=True))
    form = {"name": room.name, "members": members}
    assert client.post(f"/admin/chat/room/{room.pk}/change/", form).status_code == 302


REMOVALS = [remove, set_without, remove_from_the_users_side, remove_in_the_admin]


@pytest.mark.parametrize("removal", [*REMOVALS, clear])
async def test_removed_member_loses_their_socket_on_that_room_only(
    removal, lobby, alice_and_bob, users
):
    bob_in_lobby = await open_socket(lobby, users["bob"])
    bob_elsewhere = await open_socket(alice_and_bob, users["bob"])
    bob_notifications = await open_notifications(users["bob"])

    await sync_to_async(removal)(lobby, users["bob"])

    await assert_closed_with(bob_in_lobby, ACCESS_REVOKED)
    await assert_hears(bob_elsewhere, alice_and_bob, users["alice"], "still in this room")
    await assert_notified(bob_notifications, alice_and_bob, users["alice"])
    await disconnect([bob_in_lobby, bob_elsewhere, bob_notifications])


@pytest.mark.parametrize("removal", REMOVALS)
async def test_a_removal_leaves_the_other_members_sockets_open(removal, lobby, users):
    alice = await open_socket(lobby, users["alice"])
    bob = await open_socket(lobby, users["bob"])

    await sync_to_async(removal)(lobby, users["bob"])

    await assert_closed_with(bob, ACCESS_REVOKED)
    await assert_hears(alice, lobby, users["carol"], "the room goes on")
    await alice.disconnect()
    await bob.disconnect()


async def test_clear_closes_the_socket_of_every_member_of_the_room(lobby, users):
    sockets = [await open_socket(lobby, users[name]) for name in ("alice", "bob", "carol")]

    await sync_to_async(clear)(lobby, users["bob"])

    for socket in sockets:
        await assert_closed_with(socket, ACCESS_REVOKED)
    await disconnect(sockets)


class RolledBack(Exception):
    pass


async def test_rolled_back_removal_closes_nothing(lobby, users):
    bob = await open_socket(lobby, users["bob"])

    def remove_then_roll_back():
        with pytest.raises(RolledBack), transaction.atomic():
            lobby.members.remove(users["bob"])
            raise RolledBack

    await sync_to_async(remove_then_roll_back)()

    await assert_hears(bob, lobby, users["alice"], "you are still here")
    await bob.disconnect()


async def open_every_socket(user, rooms):
    """The user's sockets: one on each of `rooms`, and their notifications."""
    return [await open_socket(room, user) for room in rooms] + [await open_notifications(user)]


def deactivate(user):
    user.is_active = False
    user.save()


def delete(user):
    user.delete()


@pytest.mark.parametrize("end_the_user", [deactivate, delete])
async def test_deactivated_or_deleted_user_loses_every_socket(
    end_the_user, lobby, alice_and_bob, users
):
    bobs = await open_every_socket(users["bob"], [lobby, alice_and_bob])
    alice = await open_socket(lobby, users["alice"])

    await sync_to_async(end_the_user)(users["bob"])

    for socket in bobs:
        await assert_closed_with(socket, ACCESS_REVOKED)
    await assert_hears(alice, lobby, users["carol"], "bob has gone")
    await disconnect([*bobs, alice])


async def test_saving_an_active_user_closes_nothing(lobby, users):
    bob = await open_socket(lobby, users["bob"])

    users["bob"].first_name = "Bob"  # as the admin would, or a login's last_login
    await sync_to_async(users["bob"].save)()

    await assert_hears(bob, lobby, users["alice"], "nothing changed for you")
    await bob.disconnect()


def logged_in_client(user):
    client = Client()
    client.force_login(user)
    return client


async def test_logout_closes_every_socket_of_the_user_with_4401(lobby, alice_and_bob, users):
    bobs = await open_every_socket(users["bob"], [lobby, alice_and_bob])
    alice = await open_socket(lobby, users["alice"])
    bobs_browser = await sync_to_async(logged_in_client)(users["bob"])

    response = await sync_to_async(bobs_browser.post)("/accounts/logout/")

    assert response.status_code == 302
    for socket in bobs:
        await assert_closed_with(socket, TOKEN_EXPIRED)
    await assert_hears(alice, lobby, users["carol"], "bob logged out")
    await disconnect([*bobs, alice])


async def test_after_logout_only_the_users_other_sessions_renew_their_token(lobby, users):
    # 4401 sends every page of the user to renew its token through its session: the browser
    # that logged out has none left, another browser has and carries on.
    bob = await open_socket(lobby, users["bob"])
    logging_out = await sync_to_async(logged_in_client)(users["bob"])
    other_browser = await sync_to_async(logged_in_client)(users["bob"])

    await sync_to_async(logging_out.post)("/accounts/logout/")
    await assert_closed_with(bob, TOKEN_EXPIRED)
    await bob.disconnect()
    refused = await sync_to_async(logging_out.post)("/api/token/session/")
    renewed = await sync_to_async(other_browser.post)("/api/token/session/")

    assert refused.status_code == 403
    assert renewed.status_code == 200
    path = f"/ws/conversations/{lobby.id}/?token={renewed.json()['access']}"
    bob_again = await connect(path)
    assert bob_again.connected
    await bob_again.disconnect()


class LayerDown(InMemoryChannelLayer):
    """A channel layer whose Redis is away: every group_send fails, as channels-redis' does."""

    async def group_send(self, group, message):
        raise ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")


# Once, not on each layer: the test puts its own in place.
@pytest.mark.parametrize("channel_layer", ["memory"], indirect=True)
async def test_logout_while_the_layer_is_down_logs_out_with_one_log_line(
    settings, lobby, alice_and_bob, users, caplog
):
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "tests.test_revocation.LayerDown"}}
    bobs_browser = await sync_to_async(logged_in_client)(users["bob"])

    response = await sync_to_async(bobs_browser.post)("/accounts/logout/")

    assert response.status_code == 302  # logged out all the same
    failed = [r for r in caplog.records if "Closing the sockets of user" in r.getMessage()]
    assert len(failed) == 1  # one line for three groups (two rooms, the notifications)...
    assert not any(record.exc_info for record in caplog.records)  # ...and no traceback


# Across processes: the server's channel layer is Redis, and this test's process (another
# process, as a shell or another server's admin would be) removes bob from the room.
@pytest.mark.parametrize("channel_layer", ["redis"], indirect=True)
async def test_removal_in_another_process_closes_the_socket_on_a_server(start_daphne, lobby, users):
    server = start_daphne()

    async with open_socket_on(server, lobby, users["bob"]) as bob:
        await sync_to_async(lobby.members.remove)(users["bob"])

        with pytest.raises(websockets.ConnectionClosed) as closed:
            await asyncio.wait_for(bob.recv(), timeout=10)

    assert closed.value.rcvd.code == ACCESS_REVOKED
