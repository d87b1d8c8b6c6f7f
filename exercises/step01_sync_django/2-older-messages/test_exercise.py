"""The check of step01's exercise 2: `?before=<id>` pages back through a room's history.

`make exercise STEP=1 EX=2` copies it into the step's tests/ and runs it there, with the
step's fixtures (tests/conftest.py): `users`, `lobby`, `api_as`.
"""

import pytest

from chat.services import post_message


def write(lobby, users, count):
    """bob writes messages "1", "2", ... in the Lobby; their ids, in order."""
    return [post_message(lobby, users["bob"], str(n)).id for n in range(1, count + 1)]


def texts_before(api_as, lobby, before):
    response = api_as("alice").get(f"/api/rooms/{lobby.id}/messages/", {"before": before})
    assert response.status_code == 200, f"?before={before} answered {response.status_code}"
    return [message["text"] for message in response.json()]


def test_before_gives_the_messages_written_before_it_oldest_first(lobby, users, api_as):
    ids = write(lobby, users, 5)

    texts = texts_before(api_as, lobby, ids[3])  # before message "4"

    assert texts == ["1", "2", "3"], (
        f'?before=<id of "4"> answered {texts}; it should be ["1", "2", "3"]: the messages '
        "written before it, oldest first (the newest page answers all five)"
    )


def test_before_gives_the_newest_page_before_it(lobby, users, api_as, monkeypatch):
    monkeypatch.setattr("chat.api.MESSAGES_PAGE_SIZE", 2)
    ids = write(lobby, users, 5)

    texts = texts_before(api_as, lobby, ids[4])  # before message "5", two a page

    assert texts == ["3", "4"], (
        f'with pages of 2, ?before=<id of "5"> answered {texts}; it should be ["3", "4"]: '
        "the page just before it, as the newest page is the one just before the end"
    )


def test_before_the_first_message_is_an_empty_page(lobby, users, api_as):
    ids = write(lobby, users, 3)

    texts = texts_before(api_as, lobby, ids[0])

    assert texts == [], f"nothing was written before the first message, yet ?before= gave {texts}"


@pytest.mark.parametrize("before", ["abc", "-1", "1.5", ""])
def test_before_that_is_not_an_id_is_refused(lobby, api_as, before):
    response = api_as("alice").get(f"/api/rooms/{lobby.id}/messages/", {"before": before})

    assert response.status_code == 400, (
        f'?before="{before}" answered {response.status_code}: it should be a 400, as ?after= is'
    )
    assert "before" in response.json(), f"the 400 should name the parameter: {response.json()}"
