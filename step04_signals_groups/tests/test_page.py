"""The room page at `/` and the login page (step01)."""

import re

import pytest
from django.test import Client


def logged_in(username):
    client = Client()
    client.login(username=username, password="workshop")
    return client


def test_page_needs_a_login(db):
    response = Client().get("/")

    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/"


def test_login_page_renders(db):
    response = Client().get("/accounts/login/")

    assert response.status_code == 200
    assert b"Demo users" in response.content


def test_page_shows_the_first_room_and_its_scripts(lobby, alice_and_bob):
    response = logged_in("alice").get("/")

    assert response.status_code == 200
    assert response.context["room"] == lobby
    assert f'data-room-id="{lobby.id}"'.encode() in response.content
    # catch_up.js first: room.js builds on its roomCatchUp.
    scripts = re.findall(rb'<script src="[^"]*/chat/([a-z_]+\.js)"', response.content)
    assert scripts == [b"catch_up.js", b"room.js"]


def test_page_opens_the_chosen_room(lobby, alice_and_bob):
    response = logged_in("alice").get("/", {"room": alice_and_bob.id})

    assert response.context["room"] == alice_and_bob


def test_page_of_a_foreign_room_is_not_found(lobby, alice_and_bob):
    assert logged_in("carol").get("/", {"room": alice_and_bob.id}).status_code == 404


@pytest.mark.parametrize("room_id", ["abc", "²", ""])
def test_page_of_a_bad_room_id_is_not_found(lobby, room_id):
    assert logged_in("alice").get("/", {"room": room_id}).status_code == 404


def test_favicon_is_served_so_no_page_logs_a_404(db):
    response = Client().get("/favicon.ico")

    assert response.status_code == 302
    assert response["Location"].endswith("/chat/favicon.svg")
