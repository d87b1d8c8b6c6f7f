"""Tests of `make reset` (tools/demo.py): a step's database made new, with the demo data, on a
copy of the newest step, also while its server runs."""

import contextlib
import io
import shutil
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
import requests

import demo
from workshop import find_step

PYTHON = Path(sys.executable)  # the venv's, which runs these tests
DEMO_LOGIN = ("alice", "workshop")


@pytest.fixture(scope="module")
def reset_once(tmp_path_factory):
    """A copy of the newest step (no database of its own), reset once: (its folder, what the
    reset printed)."""
    copy = tmp_path_factory.mktemp("reset") / find_step(None).name
    ignored = shutil.ignore_patterns("db.sqlite3*", "__pycache__", "staticfiles", "tests")
    shutil.copytree(find_step(None), copy, ignore=ignored)
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):  # capsys is for one test, this runs once
        code = demo.reset(PYTHON, copy)
    assert code == 0, printed.getvalue()
    return copy, printed.getvalue()


@pytest.fixture
def step(reset_once, tmp_path):
    """A copy of the reset step, database included, for a test to change."""
    return shutil.copytree(reset_once[0], tmp_path / reset_once[0].name)


def rows(step, query):
    with sqlite3.connect(step / "db.sqlite3") as connection:
        return connection.execute(query).fetchall()


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def server(step):
    """The step's `runserver` on a free loopback port (no autoreloader), as `make demo` runs it."""
    port = free_port()
    command = [str(PYTHON), "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"]
    process = subprocess.Popen(
        command, cwd=step, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT
    )
    try:
        assert demo.wait_until_listening(port, [process]), "runserver did not start"
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_reset_gives_the_step_a_database_with_the_demo_people_and_rooms(reset_once):
    step, printed = reset_once

    assert rows(step, "SELECT username FROM auth_user ORDER BY id") == [
        ("alice",),
        ("bob",),
        ("carol",),
    ]
    assert rows(step, "SELECT id, name FROM chat_room ORDER BY id") == [
        (1, "Lobby"),
        (2, "Alice & Bob"),
    ]
    assert "db.sqlite3 is new" in printed
    assert not list(step.glob("db.sqlite3?*")), "nothing is left beside the database"


def test_a_running_server_serves_the_new_database_after_a_reset(step, server):
    messages = f"{server}/api/rooms/1/messages/"
    posted = requests.post(messages, json={"text": "before the reset"}, auth=DEMO_LOGIN)
    assert posted.status_code == 201
    assert [m["text"] for m in requests.get(messages, auth=DEMO_LOGIN).json()] == [
        "before the reset"
    ]

    assert demo.reset(PYTHON, step) == 0

    # The same server, not restarted: the message is gone, the demo logins work.
    answer = requests.get(messages, auth=DEMO_LOGIN)
    assert answer.status_code == 200
    assert answer.json() == []
    again = requests.post(messages, json={"text": "after the reset"}, auth=DEMO_LOGIN)
    assert again.status_code == 201
    assert again.json()["id"] == 1


def test_a_reset_that_fails_leaves_the_old_database_as_it_was(step, capsys):
    with sqlite3.connect(step / "db.sqlite3") as connection:
        connection.execute("INSERT INTO chat_room (name) VALUES ('Kept')")
    # A migration that cannot load, as after a half-done exercise: `migrate` fails.
    (step / "chat" / "migrations" / "0099_broken.py").write_text("this is not Python\n")

    assert demo.reset(PYTHON, step) == 1

    assert ("Kept",) in rows(step, "SELECT name FROM chat_room")
    assert "db.sqlite3 is unchanged" in capsys.readouterr().out
    assert not (step / "db.sqlite3.new").exists()
