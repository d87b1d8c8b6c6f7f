"""The management commands (INTERFACES.md): seed_demo, fake_news_server (step01), token
(step03), post_message (step04)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command, execute_from_command_line
from rest_framework.test import APIClient

from chat.models import Message, Room

STEP_DIR = Path(__file__).resolve().parent.parent


def snapshot():
    """Everything seed_demo is responsible for, in a comparable form."""
    users = get_user_model().objects.order_by("username")
    return {
        "users": [(u.id, u.username, u.is_superuser) for u in users],
        "rooms": [
            (room.id, room.name, sorted(room.members.values_list("username", flat=True)))
            for room in Room.objects.order_by("id")
        ],
    }


def test_seed_demo_creates_the_demo_people_and_rooms(db, capsys):
    call_command("seed_demo")

    assert snapshot()["rooms"][0][1:] == ("Lobby", ["alice", "bob", "carol"])
    assert snapshot()["rooms"][1][1:] == ("Alice & Bob", ["alice", "bob"])
    assert get_user_model().objects.get(username="bob").check_password("workshop")
    printed = capsys.readouterr().out
    lobby = Room.objects.get(name="Lobby")
    assert f"Room {lobby.id}: Lobby" in printed


def test_seed_demo_twice_leaves_the_same_data(db):
    call_command("seed_demo")
    first = snapshot()
    call_command("seed_demo")

    assert snapshot() == first


def test_seed_demo_repairs_a_changed_demo(db):
    call_command("seed_demo")
    bob = get_user_model().objects.get(username="bob")
    bob.set_password("forgotten")
    bob.save()
    Room.objects.get(name="Lobby").members.remove(bob)

    call_command("seed_demo")

    assert get_user_model().objects.get(username="bob").check_password("workshop")
    assert "bob" in snapshot()["rooms"][0][2]


@pytest.fixture
def fake_news_process(unused_tcp_port):
    command = [sys.executable, "manage.py", "fake_news_server", "--port", str(unused_tcp_port)]
    command += ["--count", "2", "--delay", "0"]
    process = subprocess.Popen(command, cwd=STEP_DIR, stdout=subprocess.PIPE, text=True)
    try:
        yield process, f"http://127.0.0.1:{unused_tcp_port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_fake_news_server_command_serves_its_blogs(fake_news_process):
    process, url = fake_news_process
    # Its first line says it is listening: the socket is bound before it is printed.
    assert "2 blogs at" in process.stdout.readline()

    assert requests.get(f"{url}/blog/2/", timeout=5).json()["blog"] == "blog-2"
    assert requests.get(f"{url}/blog/3/", timeout=5).status_code == 404
    assert requests.get(f"{url}/fail/", timeout=5).status_code == 500


def test_token_command_prints_an_access_token_the_api_accepts(lobby, capsys):
    call_command("token", "bob")
    access = capsys.readouterr().out.strip()

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    assert client.get("/api/rooms/").status_code == 200


def test_token_command_prints_a_pair_as_json(lobby, capsys):
    call_command("token", "bob", "--pair")

    assert set(json.loads(capsys.readouterr().out)) == {"access", "refresh"}


def test_token_command_refuses_an_unknown_user_clearly(db):
    with pytest.raises(CommandError, match="No user 'mallory'"):
        call_command("token", "mallory")


def test_post_message_command_saves_by_room_name_and_says_the_layer_is_in_memory(lobby, capsys):
    call_command("post_message", "Lobby", "bob", "from the terminal")

    message = Message.objects.get()
    assert (message.room, message.author.username, message.text) == (
        lobby,
        "bob",
        "from the terminal",
    )
    printed = capsys.readouterr().out
    assert f"Message {message.id} saved in Lobby" in printed
    assert "in memory" in printed and "REDIS_URL" in printed


def test_post_message_command_takes_a_room_id(alice_and_bob):
    call_command("post_message", str(alice_and_bob.id), "alice", "by id")

    assert Message.objects.get().room == alice_and_bob


@pytest.mark.parametrize(
    "room, username, text, error",
    [
        ("Nowhere", "bob", "hi", "No room 'Nowhere'"),
        ("Lobby", "mallory", "hi", "No user 'mallory'"),
        ("Alice & Bob", "carol", "hi", "carol is not a member of 'Alice & Bob'"),
        ("Lobby", "bob", "   ", "text: This field may not be blank."),
    ],
)
def test_post_message_command_refuses_clearly_and_saves_nothing(
    lobby, alice_and_bob, room, username, text, error
):
    with pytest.raises(CommandError, match=error):
        call_command("post_message", room, username, text)

    assert not Message.objects.exists()


def test_post_message_command_exits_with_status_1_on_an_error(db, capsys):
    with pytest.raises(SystemExit) as exited:  # what `python manage.py ...` runs
        execute_from_command_line(["manage.py", "post_message", "Nowhere", "bob", "hi"])

    assert exited.value.code == 1
    assert "No room 'Nowhere'" in capsys.readouterr().err
