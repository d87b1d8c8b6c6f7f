"""The run sheet (slides/RUNSHEET.md) agrees with the deck's **Live:** notes, and works: its
set-up on a copy of step 05 served on a free port, with a Redis and fake blogs of its own,
then each live action as written, in the talk's order, with what the audience must see checked.

The terminal actions run the sheet's own command lines, in a terminal B as the set-up leaves
it (the venv's python first on the PATH, REDIS_URL set); the browser actions type and click
what the sheet names, in Chromium, as alice (browser A) and carol (browser B).
"""

import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path

import pytest

from .conftest import ROOT, PageProblems, require
from .test_deck import SOURCE

sys.path.insert(0, str(ROOT / "tools"))  # the root tooling: demo.py's reset and waits
import demo  # noqa: E402

RUNSHEET = ROOT / "slides" / "RUNSHEET.md"
PYTHON = Path(sys.executable)  # the venv's, which runs these tests
STEP = "step05_async_http"  # the step the whole talk is served from
STEPS_ON_STAGE = ["step03_jwt_middleware", STEP]  # what the actions' commands name
MAX_ACTIONS, MAX_SECONDS = 6, 20
WAIT_MS = 15_000  # for what reaches a page by socket; allows for a slow machine
FAKE_BLOG_DELAY = "0.5"  # seconds; the demo's blogs take 1 s each


# --- reading the run sheet and the deck ------------------------------------------------------


@dataclass
class Action:
    """One live action of the run sheet: `### N. title`, its fields, its command lines."""

    number: int
    title: str
    fields: dict = field(default_factory=dict)  # "Slide", "Window", "Do", "The audience sees"...
    commands: list = field(default_factory=list)  # the lines of its code blocks

    @property
    def seconds(self):
        return int(re.fullmatch(r"(\d+) s", self.fields["Time"])[1])

    def quoted(self, name):
        """The `code` spans of a field: what to type or click, what must be seen."""
        return re.findall(r"`([^`]+)`", self.fields[name])


def runsheet_actions(text=None):
    """The live actions of RUNSHEET.md, in order."""
    text = text if text is not None else RUNSHEET.read_text(encoding="utf-8")
    part = text.split("\n## The live actions\n", 1)[1].split("\n## ", 1)[0]
    actions = []
    for section in part.split("\n### ")[1:]:
        heading, *lines = section.splitlines()
        number, title = re.fullmatch(r"(\d+)\. (.+)", heading).groups()
        action, name, in_code = Action(int(number), title), None, False
        for line in lines:
            if line.strip().startswith("```"):
                in_code = not in_code
            elif in_code:
                action.commands.append(line.strip())
            elif found := re.match(r"- \*\*(.+?):\*\* ?(.*)", line):
                name = found[1]
                action.fields[name] = found[2]
            elif name and line.strip():
                action.fields[name] += " " + line.strip()
        actions.append(action)
    return actions


def live_notes():
    """Each slide's **Live:** paragraphs in index.rst, whitespace made single: title -> list."""
    text = SOURCE.read_text(encoding="utf-8")
    found, title = {}, None
    paragraphs = re.split(r"\n\s*\n", text)
    for paragraph in paragraphs:
        lines = paragraph.strip("\n").splitlines()
        for above, line in pairwise(lines):
            if re.fullmatch(r"(=+|-+)", line) and not above.startswith((" ", "..")):
                title = above.strip()
        if paragraph.strip().startswith("**Live:**"):
            found.setdefault(title, []).append(" ".join(paragraph.split()))
    return found


def test_the_run_sheet_has_at_most_six_live_actions_of_twenty_seconds_at_most():
    actions = runsheet_actions()
    assert 1 <= len(actions) <= MAX_ACTIONS
    assert [action.number for action in actions] == list(range(1, len(actions) + 1))
    assert all(action.seconds <= MAX_SECONDS for action in actions), [
        (action.title, action.seconds) for action in actions
    ]
    for action in actions:
        assert {"Slide", "Window", "Do", "The audience sees", "Time"} <= set(action.fields)


def test_each_live_note_of_the_deck_is_the_run_sheets_action_with_its_command_and_time():
    notes, actions = live_notes(), runsheet_actions()
    # Every live note is one action of the sheet, on the slide the sheet names, in its order.
    assert [title for title, found in notes.items() for _ in found] == [
        action.fields["Slide"] for action in actions
    ]
    for action in actions:
        (note,) = notes[action.fields["Slide"]]
        assert note.startswith(f"**Live:** {action.seconds} s,"), note
        assert f"Run sheet, action {action.number}." in note, note
        for command in action.commands:
            assert command in note, f"action {action.number}: {command!r} is not in {note!r}"


# --- the stage: the set-up, done on a copy of step 05 ----------------------------------------


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(condition, what, seconds=WAIT_MS / 1000):
    """Wait for `condition()` to hold, checking every 50 ms; fail after `seconds`."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"not seen within {seconds:g} s: {what}")
        time.sleep(0.05)


@dataclass
class Stage:
    root: Path  # holds the copies of the steps, as the repository root does
    url: str  # the server's, where the sheet says http://127.0.0.1:8000
    terminal: dict  # terminal B's environment
    server_log: Path
    problems: PageProblems
    pages: dict  # "alice", "admin", "collector" (browser A's tabs), "carol" (browser B)

    def run(self, command):
        """A command line of the sheet, typed in terminal B: its exit status and output."""
        done = subprocess.run(
            shlex.split(command),
            cwd=self.root,
            env=self.terminal,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        return done.returncode, done.stdout + done.stderr

    def log(self):
        return self.server_log.read_text(encoding="utf-8", errors="replace")


def log_in(page, url, username):
    """The set-up's login: the form, then the Lobby with both its sockets live."""
    page.goto(f"{url}/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", "workshop")
    page.click("button[type=submit]")
    page.wait_for_selector("#chat h1:has-text('Lobby')")
    page.wait_for_function(
        "() => document.getElementById('status').textContent.startsWith('Live')"
        " && document.getElementById('notifications-status').textContent === 'Live.'"
    )


@pytest.fixture(scope="module")
def stage(tmp_path_factory, browser):
    """The run sheet's "Before the talk", on copies of the steps: `make reset STEP=5`, Redis,
    step 05's servers with REDIS_URL, terminal B, browser A (alice: the Lobby, the Lobby's
    admin page, the collector page) and browser B (carol: the Lobby)."""
    redis_server = shutil.which("redis-server")
    require(redis_server, "no redis-server for the run sheet's Redis: apt-get install redis-server")
    root = tmp_path_factory.mktemp("stage")
    for name in STEPS_ON_STAGE:
        ignored = shutil.ignore_patterns("db.sqlite3*", "__pycache__", ".pytest_cache")
        shutil.copytree(ROOT / name, root / name, ignore=ignored)
    step = root / STEP
    redis_port, news_port, app_port = free_port(), free_port(), free_port()
    redis_url = f"redis://127.0.0.1:{redis_port}/0"
    blogs = {f"blog-{n}": f"http://127.0.0.1:{news_port}/blog/{n}/" for n in range(1, 6)}
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "REDIS_URL": redis_url}
    env["NEWS_SOURCES"] = json.dumps(blogs)
    server_log = root / "terminal-a.log"
    processes = []
    with server_log.open("w") as output:

        def start(command, cwd):
            options = {"cwd": cwd, "env": env, "stdout": output, "stderr": subprocess.STDOUT}
            processes.append(subprocess.Popen(command, **options))

        try:
            # Redis and the fake blogs start while the reset runs: they need no database.
            redis = [redis_server, "--port", str(redis_port), "--bind", "127.0.0.1"]
            start([*redis, "--save", "", "--appendonly", "no"], root)
            news = ["fake_news_server", "--port", str(news_port), "--delay", FAKE_BLOG_DELAY]
            start([str(PYTHON), "manage.py", *news], step)
            assert demo.reset(PYTHON, step) == 0  # set-up 3: make reset STEP=5
            # Then what `make demo` runs, on a free port and without the autoreloader.
            start(
                [str(PYTHON), "manage.py", "runserver", f"127.0.0.1:{app_port}", "--noreload"], step
            )
            for port in (redis_port, news_port, app_port):
                assert demo.wait_until_listening(port, processes), f"nothing listens on {port}"
            yield from on_stage(root, f"http://127.0.0.1:{app_port}", env, server_log, browser)
        finally:
            for process in processes:
                process.terminate()
                process.wait(timeout=10)


def on_stage(root, url, env, server_log, browser):
    # Terminal B: the venv active (its python first on the PATH), the same Redis.
    terminal = {**env, "PATH": os.pathsep.join([str(PYTHON.parent), env.get("PATH", "")])}
    terminal["VIRTUAL_ENV"] = str(PYTHON.parent.parent)
    problems = PageProblems(local=(url,))
    contexts = [browser.new_context(viewport={"width": 1280, "height": 800}) for _ in "AB"]
    try:
        for context in contexts:
            context.route("**/*", problems.local_only)
        pages = {name: contexts[0].new_page() for name in ("alice", "admin", "collector")}
        pages["carol"] = contexts[1].new_page()
        for page in pages.values():
            problems.watch(page)
        log_in(pages["alice"], url, "alice")
        log_in(pages["carol"], url, "carol")
        pages["admin"].goto(f"{url}/admin/chat/room/1/change/")
        pages["collector"].goto(f"{url}/collector/")
        yield Stage(root, url, terminal, server_log, problems, pages)
        unexpected = problems.unexpected()  # read before closing: closing aborts requests
    finally:
        for context in contexts:
            context.close()
    assert not unexpected, "the pages showed errors in the developer tools:\n" + "\n".join(
        unexpected
    )


@pytest.fixture(scope="module")
def actions():
    return {action.number: action for action in runsheet_actions()}


# --- the live actions, in the talk's order ---------------------------------------------------


def text_of(page, selector="body"):
    return page.locator(selector).inner_text()


def test_action_1_a_message_appears_on_both_pages_at_once(stage, actions):
    action = actions[1]
    (message,) = action.quoted("Do")
    alice, carol = stage.pages["alice"], stage.pages["carol"]
    alice.bring_to_front()  # browser A's first tab

    alice.fill("#message-text", message)
    alice.click("#message-form button")

    for page in (alice, carol):
        page.wait_for_selector(f"#messages li:has-text('{message}')", timeout=WAIT_MS)
    carol.wait_for_selector("#notifications li", timeout=WAIT_MS)
    for seen in action.quoted("The audience sees"):
        assert seen in text_of(carol), seen


def test_action_2_the_talks_middleware_tests_pass_on_channels_4(stage, actions):
    action = actions[2]
    (command,) = action.commands

    status, output = stage.run(command)

    assert status == 0, output
    for seen in action.quoted("The audience sees"):
        assert seen in output, f"{seen!r} not in:\n{output}"


def test_action_3_the_console_shows_a_non_member_refused_with_403(stage, actions):
    action = actions[3]
    (line,) = action.commands
    carol = stage.pages["carol"]
    stage.problems.allow(r"console error: WebSocket connection to .* Unexpected response code: 403")

    error = lambda message: message.type == "error"  # noqa: E731
    with carol.expect_console_message(error, timeout=WAIT_MS) as shown:
        carol.evaluate(f"() => {{ {line}; }}")  # what the console runs for a pasted line

    console, expected = shown.value.text, action.quoted("The audience sees")
    assert "/ws/conversations/2/" in console
    assert expected[0] in console, console
    wait_for(lambda: expected[1] in stage.log(), f"{expected[1]!r} in terminal A")


def test_action_4_a_message_saved_in_a_terminal_reaches_both_pages(stage, actions):
    action = actions[4]
    (command,) = action.commands
    *printed, message = action.quoted("The audience sees")

    status, output = stage.run(command)

    assert status == 0, output
    for seen in printed:
        assert seen in output, f"{seen!r} not in:\n{output}"
    for name in ("alice", "carol"):
        stage.pages[name].wait_for_selector(f"#messages li:has-text('{message}')", timeout=WAIT_MS)
        assert (
            "bob" in stage.pages[name].locator(f"#messages li:has-text('{message}')").inner_text()
        )


def test_action_5_the_removed_member_is_told_at_once(stage, actions):
    action = actions[5]
    (member,) = action.quoted("Do")
    admin, carol = stage.pages["admin"], stage.pages["carol"]
    changed, told = action.quoted("The audience sees")
    # Browser A's admin tab, in front: a tab behind gets no animation frames, which the
    # clicks wait for.
    admin.bring_to_front()

    admin.select_option("#id_members_to", label=member)
    admin.click("#id_members_remove")  # the ← arrow
    admin.click("input[name=_save]")

    admin.wait_for_selector(f".messagelist :text('{changed}')")
    carol.wait_for_selector(f"#status:has-text('{told}')", timeout=WAIT_MS)


def test_action_6_sync_sources_one_after_the_other_async_side_by_side(stage, actions):
    action = actions[6]
    page = stage.pages["collector"]
    page.bring_to_front()  # browser A's third tab
    collectors = action.quoted("Do")
    assert collectors == ["sync view", "async view", "AsyncHttpConsumer"]

    for collector in collectors:
        page.get_by_role("button", name=collector, exact=True).click()

    bars = {}
    for collector in collectors:
        figure = page.locator(f'figure.timeline[data-collector="{collector}"]')
        figure.locator(".total").wait_for(timeout=WAIT_MS)
        boxes = [bar.bounding_box() for bar in figure.locator(".bar").all()]
        bars[collector] = [(box["x"], box["x"] + box["width"]) for box in boxes]
        assert len(bars[collector]) == 5, collector
    # The sync view: each source starts once the one before has answered (a staircase).
    rounding = 1  # pixel
    assert all(left >= before - rounding for (_, before), (left, _) in pairwise(bars["sync view"]))
    # Each async collector: every source starts before any has answered (side by side).
    for collector in collectors[1:]:
        assert max(left for left, _ in bars[collector]) < min(right for _, right in bars[collector])
    for seen in action.quoted("The audience sees"):
        assert seen in text_of(page), seen
