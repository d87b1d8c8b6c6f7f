"""A step README's listings, read and run as a learner types them (step01): the machinery of
tests/test_readme.py (optional reading). The convention it reads is in INTERFACES.md, "Tests".
"""

from __future__ import annotations

import io
import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import threading
import time
import tokenize
from dataclasses import dataclass, field
from pathlib import Path

# --- Reading the README -------------------------------------------------------------------

FENCE = re.compile(r"^(?P<indent> *)(?P<fence>`{3,}|~{3,})(?P<info>[^`]*)$")
NOT_RUN = re.compile(r"<!--\s*not run:(?P<why>.*?)-->", re.S)
LIST_ITEM = re.compile(r"^\s*(?:[-*+]|\d+\.)\s")
CODE_SPAN = re.compile(r"(?<!`)`(?P<code>[^`]+)`(?!`)")
ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=.*", re.S)
GENERATED = ("<!-- what-changed:start -->", "<!-- what-changed:end -->")
SHELL_INFO = {"", "sh", "shell", "bash"}
PYTHON_INFO = {"python", "py"}
# An inline code span is a command when its first word (after any `NAME=value`) is one of
# these and something follows it: `curl -i ...` is one, `post_message` or `daphne` alone not.
PROGRAMS = {
    "apt-get", "brew", "cd", "curl", "daphne", "docker", "for", "jupyter", "make", "pip",
    "py", "pytest", "python", "python3", "redis-cli", "redis-server", "source", "sudo", "top",
    "uv",
}  # fmt: skip


@dataclass
class Command:
    """One command as written (a line, or lines joined by a final backslash) and its comment:
    the text after `#` on its line and on the comment lines right below it."""

    text: str
    line: int
    comment: str = ""


@dataclass
class Listing:
    """A fenced block (`shell`, `python`, or another info string), or the inline commands of
    one paragraph or list item (`inline`), with the reason it is not run, if the README gives
    one."""

    line: int
    kind: str
    commands: list[Command] = field(default_factory=list)
    source: str = ""  # a Python block's code
    not_run: str | None = None

    @property
    def runnable(self):
        return self.not_run is None and self.kind in {"shell", "python", "inline"}

    @property
    def name(self):
        first = self.commands[0].text if self.commands else self.kind
        return f"line{self.line}-" + "-".join(re.findall(r"\w+", first))[:40]

    def problems(self):
        """Why the test cannot treat this listing, if it cannot."""
        if self.not_run is not None:
            if not self.not_run:
                return ["`<!-- not run: -->` without a reason"]
            if not (self.commands or self.source or self.kind not in {"shell", "inline"}):
                return [f"`<!-- not run: {self.not_run} -->` marks no command"]
            return []
        if self.kind == "python":
            try:
                printed_shapes(self.source)
            except (ValueError, SyntaxError, tokenize.TokenError) as error:
                return [f"a comment of the Python block: {error}"]
            return []
        if self.kind not in {"shell", "inline"}:
            return [f"a ```{self.kind} block: run as a shell or Python block, or mark it"]
        found = []
        for command in self.commands:
            try:
                treatment(command)
                Expected.read(command.comment)
            except UnknownCommand as unknown:
                found.append(f"`{command.text}`: {unknown}")
            except ValueError as error:
                found.append(f"`{command.text}`: its comment's JSON: {error}")
        return found


def read_listings(text):
    """Every listing of a README, in order; the generated "What changed" section left out.

    `<!-- not run: why -->` marks the fenced block right below it, the paragraph or list item
    it is in, or, on the line right under a heading, that whole section.
    """
    lines = text.splitlines()
    listings, paragraph = [], []  # paragraph: the (number, line) of the text being read
    section = None  # (heading level, reason) of a marker right under a heading

    def add(*found):
        for listing in found:
            if listing.not_run is None and section is not None:
                listing.not_run = section[1]
            listings.append(listing)

    def end_paragraph():
        if paragraph:
            add(*inline_listing(paragraph))
            paragraph.clear()

    number, generated, under_heading = 0, False, 0
    while number < len(lines):
        line = lines[number]
        number += 1
        if under_heading and (marker := NOT_RUN.fullmatch(line.strip())):
            section = (under_heading, marker["why"].strip())  # the whole section
            continue
        under_heading = 0
        if GENERATED[0] in line:
            end_paragraph()
            generated = True
        if generated:
            generated = GENERATED[1] not in line
            continue
        if fence := FENCE.match(line):
            marker = paragraph and NOT_RUN.fullmatch(paragraph[-1][1].strip())
            if marker:
                paragraph.pop()  # the line right above a fence is about that block
            end_paragraph()
            start, body = number, []
            closing = fence["indent"] + fence["fence"][0] * len(fence["fence"])
            while number < len(lines) and not lines[number].rstrip().startswith(closing):
                body.append(lines[number].removeprefix(fence["indent"]))
                number += 1
            number += 1  # the closing fence
            info = fence["info"].strip().split(" ")[0].lower()
            why = marker["why"].strip() if marker else None
            add(block_listing(start, info, body, why))
        elif heading := re.match(r"#+(?= )", line):
            end_paragraph()
            under_heading = len(heading[0])
            if section is not None and under_heading <= section[0]:
                section = None
        elif not line.strip():
            end_paragraph()
        else:
            if LIST_ITEM.match(line):
                end_paragraph()
            paragraph.append((number, line))
    end_paragraph()
    return listings


def inline_listing(paragraph):
    first = paragraph[0][0]
    text = "\n".join(line.strip() for _, line in paragraph)
    marker = NOT_RUN.search(text)
    # A marker's reason may name commands in backticks: they are not listings.
    text = NOT_RUN.sub(lambda found: re.sub(r"[^\n]", " ", found[0]), text)
    commands = []
    for span in CODE_SPAN.finditer(text):
        code = " ".join(span["code"].split())  # a span's line breaks are spaces
        if looks_like_command(code):
            commands.append(Command(code, first + text.count("\n", 0, span.start())))
    if not commands and not marker:
        return []
    return [Listing(first, "inline", commands, not_run=marker and marker["why"].strip())]


def looks_like_command(code):
    try:
        words = shlex.split(code)
    except ValueError:
        return False
    words = [word for word in words if not ASSIGNMENT.fullmatch(word)] if words else []
    return len(words) >= 2 and words[0] in PROGRAMS


def block_listing(start, info, body, why):
    if info in PYTHON_INFO:
        return Listing(start, "python", source="\n".join(body) + "\n", not_run=why)
    if info in SHELL_INFO:
        return Listing(start, "shell", shell_commands(body, start + 1), not_run=why)
    return Listing(start, info, not_run=why)


def shell_commands(body, first_line):
    commands, pending, pending_comment, pending_line = [], [], [], 0
    for number, raw in enumerate(body, first_line):
        stripped = raw.strip()
        if not pending and not stripped:
            continue
        if not pending and stripped.startswith("#"):
            if commands:  # what the command above prints
                commands[-1].comment = f"{commands[-1].comment} {stripped[1:].strip()}".strip()
            continue
        code, comment = split_comment(raw)
        pending_line = pending_line if pending else number
        pending_comment.append(comment)
        if code.endswith("\\"):
            pending.append(code[:-1].strip())
            continue
        text = " ".join([*pending, code.strip()])
        comment = " ".join(filter(None, pending_comment))
        commands.append(Command(text, pending_line, comment))
        pending, pending_comment = [], []
    return commands


def split_comment(line):
    """A shell line's command and its comment (a `#` that starts a word, outside quotes)."""
    quote, escaped = None, False
    for index, char in enumerate(line):
        if escaped:
            escaped = False
        elif quote:
            quote = None if char == quote else quote
            escaped = char == "\\" and quote == '"'
        elif char == "\\":
            escaped = True
        elif char in "'\"":
            quote = char
        elif char == "#" and (index == 0 or line[index - 1].isspace()):
            return line[:index].rstrip(), line[index + 1 :].strip()
    return line.rstrip(), ""


# --- What a comment says a command prints ---------------------------------------------------


@dataclass
class Expected:
    """Read from a command's comment: `exit status N`; `HTTP NNN` (curl's answer); a JSON
    shape (what it prints last), where `...` stands for anything; each "quoted text" (a text
    it prints, `...` standing for anything). The rest of a comment is for the reader."""

    exit_status: int = 0
    http: list[int] = field(default_factory=list)
    shape: object = None
    texts: list[str] = field(default_factory=list)

    @classmethod
    def read(cls, comment):
        shape = None
        if (start := comment.find("{")) != -1:
            end = comment.rfind("}") + 1
            shape = parse_shape(comment[start:end])
            comment = comment[:start] + comment[end:]
        status = re.search(r"\bexit status (\d+)", comment)
        return cls(
            exit_status=int(status[1]) if status else 0,
            http=[int(code) for code in re.findall(r"\bHTTP (\d{3})\b", comment)],
            shape=shape,
            texts=re.findall(r'"([^"]+)"', comment),
        )


ANY = ...  # `...` in a shape: any value; as an object's member, any other members


def parse_shape(text):
    """JSON in which `...` may stand for a value, for the other members of an object or for
    the other items of an array: `{"id": ..., ...}`."""
    decoder, position = json.JSONDecoder(), 0

    def skip_space():
        nonlocal position
        while position < len(text) and text[position].isspace():
            position += 1

    def expect(char):
        nonlocal position
        skip_space()
        if text[position : position + 1] != char:
            raise ValueError(f"expected {char!r} at {position} in {text!r}")
        position += 1

    def value():
        nonlocal position
        skip_space()
        if text.startswith("...", position):
            position += 3
            return ANY
        if text[position : position + 1] == "{":
            return sequence("}", member, {})
        if text[position : position + 1] == "[":
            return sequence("]", value, [])
        found, position = decoder.raw_decode(text, position)
        return found

    def member():
        nonlocal position
        skip_space()
        if text.startswith("...", position):
            position += 3
            return ANY, ANY
        key, position = decoder.raw_decode(text, position)
        expect(":")
        return key, value()

    def sequence(closing, item, into):
        nonlocal position
        position += 1
        skip_space()
        if text[position : position + 1] == closing:
            position += 1
            return into
        while True:
            found = item()
            if isinstance(into, dict):
                into[found[0]] = found[1]
            else:
                into.append(found)
            skip_space()
            if text[position : position + 1] == closing:
                position += 1
                return into
            expect(",")

    shape = value()
    skip_space()
    if position != len(text):
        raise ValueError(f"unexpected text at {position} in {text!r}")
    return shape


def matches(shape, value):
    """Whether `value` has `shape`, loosely: any number for a number (ids, times vary), any
    string for "...", a string's `...` for any text in it."""
    if shape is ANY:
        return True
    if isinstance(shape, dict):
        if not isinstance(value, dict):
            return False
        keys = {key for key in shape if key is not ANY}
        if not keys <= value.keys() or (ANY not in shape and keys != value.keys()):
            return False
        return all(matches(shape[key], value[key]) for key in keys)
    if isinstance(shape, list):
        if not isinstance(value, list):
            return False
        head = shape[: shape.index(ANY)] if ANY in shape else shape
        if len(value) < len(head) or (ANY not in shape and len(value) != len(shape)):
            return False
        return all(map(matches, head, value))
    if isinstance(shape, str):
        return isinstance(value, str) and re.fullmatch(wildcard(shape), value, re.S) is not None
    if shape is None or isinstance(shape, bool):
        return value is shape
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def printed_shapes(source):
    """The JSON comments of a Python block: each one is a line it prints, in order."""
    comments = [
        token.string.lstrip("#").strip()
        for token in tokenize.generate_tokens(io.StringIO(source).readline)
        if token.type == tokenize.COMMENT
    ]
    return [parse_shape(comment) for comment in comments if comment.startswith("{")]


def wildcard(text):
    return ".*".join(map(re.escape, text.split("...")))


# --- Running it -----------------------------------------------------------------------------


class UnknownCommand(Exception):
    """A command the test does not know how to treat."""


def words_of(command):
    """A command's `NAME=value` prefixes and its words, as the shell splits them."""
    try:
        words = shlex.split(command.text)
    except ValueError as error:
        raise UnknownCommand(f"cannot be split as the shell does ({error})") from None
    count = 0
    while count < len(words) and ASSIGNMENT.fullmatch(words[count]):
        count += 1
    assignments = dict(word.split("=", 1) for word in words[:count])
    return assignments, words[count:]


def treatment(command):
    """How the test treats a command: "cd", "run", or one of the servers it plays."""
    _, words = words_of(command)
    program = words[0] if words else ""
    if program == "cd" and len(words) == 2:
        return "cd"
    if words[:2] == ["make", "demo"]:
        return "demo"
    if program == "daphne":
        return "server"
    if words[:2] == ["python", "manage.py"] and len(words) > 2:
        if words[2] == "runserver" and "&" not in words:
            return "server"
        if words[2] == "fake_news_server" and words[-1] == "&":
            return "fake news"
        if words[2] not in {"runserver", "fake_news_server", "shell", "dbshell"}:
            return "run"
    elif program == "curl":
        return "run"
    raise UnknownCommand(
        "the test does not know how to run this: mark it `<!-- not run: why -->`, or teach"
        " tests/readme_listings.py"
    )


LOGICAL_PORT = re.compile(r"\b(8000|8001|8002|6379)\b")
PLACEHOLDER = re.compile(r"<([^<>\n]+)>")
CURL_STATUS = re.compile(r"readme-test: HTTP (\d{3})")
# What a fresh terminal does not have: the tests' own variables and the settings' inputs.
FORGOTTEN = ("DJANGO_", "NEWS_", "JWT_", "REDIS_URL", "PYTEST_", "CURL_HOME")
TIMEOUT = 60  # seconds for a command; a server answers its first connection within 30
FAKE_NEWS_DELAY = 0.05  # seconds before each of the played fake blogs answers


class Terminal:
    """One learner's terminal, on a copy of the step in a folder that stands for the
    repository root: the step's own database, servers on free loopback ports.

    `python` is the tests' interpreter (the venv's). A long-running server is started in the
    background (`runserver 127.0.0.1:PORT --noreload`, `daphne -p PORT`,
    `fake_news_server --port 0`) and its port replaces 8000, 8001 or 8002 in the commands;
    6379 is a redis-server of the test's own. curl reads a config file that prints each
    answer's status on stderr, so that the test can check it: the command line stays the
    README's.
    """

    def __init__(self, step, root):
        from tests.conftest import require

        require(shutil.which("bash"), "no bash: the README's commands are for a POSIX shell")
        self.root = Path(root)
        self.step = self.root / step.name
        self.source, self.number = step, step_number(step)
        ignore = shutil.ignore_patterns(
            "db.sqlite3*", "__pycache__", ".pytest_cache", "staticfiles"
        )
        shutil.copytree(step, self.step, ignore=ignore)
        (self.root / ".curlrc").write_text(
            'write-out = "%{stderr}readme-test: HTTP %{http_code}\\n"\n', encoding="utf-8"
        )
        self.python = shutil.which("python", path=str(Path(sys.executable).parent))
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(FORGOTTEN)}
        self.env["PATH"] = os.pathsep.join([str(Path(self.python).parent), self.env["PATH"]])
        self.env.update(CURL_HOME=str(self.root), PYTHONUNBUFFERED="1")
        self.ports = {}  # logical port (8000, 8001, ...) -> the free port that plays it
        self.servers = {}  # logical port -> Server
        self.printed = []  # the JSON objects printed so far, for the README's <placeholders>
        self.attempted = set()

    def close(self):
        for server in self.servers.values():
            server.stop()

    def catch_up(self, listings, listing):
        """Run the listings before `listing` that have not run (it was selected alone)."""
        for earlier in listings[: listings.index(listing)]:
            if earlier.line not in self.attempted:
                try:
                    self.run(earlier)
                except Exception as error:
                    raise AssertionError(f"the listing at line {earlier.line} failed") from error

    def run(self, listing):
        self.attempted.add(listing.line)
        if listing.kind == "python":
            return self.run_python(listing)
        cwd = self.step
        if listing.commands and treatment(listing.commands[0]) == "cd":
            cwd = self.root  # a block that starts with `cd` starts at the repository root
        for command in listing.commands:
            cwd = self.run_command(command, cwd)

    def run_command(self, command, cwd):
        kind = treatment(command)
        assignments, words = words_of(command)
        expected = Expected.read(command.comment)  # its ports replaced once it has run
        if kind == "cd":
            cwd = cwd / words[1]
            assert cwd.is_dir(), f"line {command.line}: `{command.text}`: no folder {cwd}"
        elif kind == "server":
            self.play_server(command, assignments, words, cwd, expected)
        elif kind == "fake news":
            self.play_fake_news(words[3:-1], cwd)
        elif kind == "demo":
            self.play_demo(command, words)
        else:
            self.shell(command, cwd, expected)
        return cwd

    def shell(self, command, cwd, expected):
        if "curl" in shlex.split(command.text):
            from tests.conftest import require

            require(shutil.which("curl"), "no curl on this machine")
        ran = self.substitute(self.fill_placeholders(command))
        done = subprocess.run(
            ["bash", "-c", ran],
            cwd=cwd,
            env=self.env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            errors="replace",
            timeout=TIMEOUT,
        )
        problems = []
        if done.returncode != expected.exit_status:
            problems.append(f"exit status {done.returncode}, not {expected.exit_status}")
        statuses = [int(status) for status in CURL_STATUS.findall(done.stderr)]
        if expected.http and statuses != expected.http:
            problems.append(f"HTTP {statuses}, not {expected.http}")
        elif not expected.http and any(status >= 400 for status in statuses):
            problems.append(f"HTTP {statuses}: an error the README does not announce")
        lines = [line for line in done.stdout.splitlines() if line.strip()]
        self.printed += [value for value in map(json_or_none, lines) if isinstance(value, dict)]
        if expected.shape is not None and not (
            lines and matches(expected.shape, json_or_none(lines[-1]))
        ):
            problems.append("its last line does not have the JSON shape of its comment")
        output = done.stdout + done.stderr
        texts = [self.substitute(text) for text in expected.texts]
        problems += [f"no {text!r} in its output" for text in texts if not found(text, output)]
        assert not problems, report(command, ran, problems, done.stdout, done.stderr)

    def run_python(self, listing):
        source = self.substitute(listing.source)
        script = self.root / f"readme_line_{listing.line}.py"  # outside the step's folder
        script.write_text(source, encoding="utf-8")
        done = subprocess.run(
            [self.python, str(script)],
            cwd=self.step,
            env=self.env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            errors="replace",
            timeout=TIMEOUT,
        )
        shapes = printed_shapes(listing.source)
        lines = [line for line in done.stdout.splitlines() if line.strip()]
        problems = [] if done.returncode == 0 else [f"exit status {done.returncode}"]
        if len(lines) != len(shapes):
            problems.append(f"{len(lines)} lines printed, {len(shapes)} shown in its comments")
        problems += [
            f"printed line {n} does not have the shape of its comment"
            for n, (shape, line) in enumerate(zip(shapes, lines, strict=False), 1)
            if not matches(shape, json_or_none(line))
        ]
        command = Command("the Python block", listing.line)
        assert not problems, report(command, source, problems, done.stdout, done.stderr)

    def substitute(self, text):
        """The README's ports replaced by the ones that play them."""
        return LOGICAL_PORT.sub(lambda found: str(self.port(int(found[1]))), text)

    def port(self, logical):
        if logical not in self.ports:
            if logical == 8001:
                raise AssertionError("port 8001 is the fake news server's: start it first")
            self.ports[logical] = self.start_redis() if logical == 6379 else free_port()
        return self.ports[logical]

    def fill_placeholders(self, command):
        """`<the refresh token>`: the value of `refresh` in the last JSON object printed."""

        def value_of(found):
            for printed in reversed(self.printed):
                for word in found[1].split():
                    if isinstance(printed.get(word), str):
                        return printed[word]
            raise AssertionError(f"line {command.line}: nothing printed a value for {found[0]}")

        return PLACEHOLDER.sub(value_of, command.text)

    def default_news_sources(self):
        """The settings' default NEWS_SOURCES, with the fake news server's port."""
        from django.conf import settings

        if 8001 not in self.ports:
            return {}
        sources = {
            name: self.substitute(url) for name, url in settings.DEFAULT_NEWS_SOURCES.items()
        }
        return {"NEWS_SOURCES": json.dumps(sources)}

    def play_server(self, command, assignments, words, cwd, expected):
        """`[NAME=value ...] python manage.py runserver [PORT]` or `daphne ...`, in the
        background on the free port that plays PORT (8000 by default)."""
        if words[0] == "daphne":
            options = words[1:]
            logical = 8000
            if "-p" in options:
                at = options.index("-p")
                logical = int(options.pop(at + 1))
                options.pop(at)
            port = self.port(logical)
            argv = [shutil.which("daphne", path=self.env["PATH"]), "-b", "127.0.0.1"]
            argv += ["-p", str(port), *options]
        else:
            options, logical = words[3:], 8000
            if options and re.fullmatch(r"(?:[\w.]+:)?\d+", options[0]):
                logical = int(options.pop(0).rsplit(":", 1)[-1])
            port = self.port(logical)
            argv = [self.python, "manage.py", "runserver", f"127.0.0.1:{port}", *options]
            argv.append("--noreload")  # one process, stopped with it
        env = {**self.env, **self.default_news_sources()}
        env.update({name: self.substitute(value) for name, value in assignments.items()})
        self.start_server(logical, argv, env, cwd, command)
        server = self.servers[logical]
        server.wait_until_listening(port, command)
        for text in expected.texts:
            text = self.substitute(text)
            server.wait_for_output(wildcard(text), command, f"nothing like {text!r}")

    def play_fake_news(self, options, cwd, command=None):
        """`python manage.py fake_news_server [options] &`: on a free port (`--port 0`)."""
        if "--port" in options:
            options = [*options]
            at = options.index("--port")
            del options[at : at + 2]
        argv = [self.python, "manage.py", "fake_news_server", *options, "--port", "0"]
        if "--delay" not in options:  # its blogs' 1 s would cost the test seconds a call
            argv += ["--delay", str(FAKE_NEWS_DELAY)]
        self.start_server(8001, argv, self.env, cwd, command)
        address = r"blogs at http://127\.0\.0\.1:(\d+)/"
        printed = self.servers[8001].wait_for_output(address, command, "no address")
        self.ports[8001] = int(printed[1])

    def play_demo(self, command, words):
        """`make demo [STEP=N] [SERVERS=2]` as tools/demo.py does it: migrate and seed, then
        the fake news server and one server (two on Redis, the second on 8002)."""
        options = dict(word.split("=", 1) for word in words[2:] if "=" in word)
        assert set(options) <= {"STEP", "SERVERS"} and len(options) == len(words) - 2, (
            f"line {command.line}: `{command.text}`: the test plays STEP= and SERVERS= only"
        )
        # Without STEP, make demo serves the newest step.
        newest = max(step_number(folder) for folder in self.source.parent.glob("step[0-9]*_*"))
        step = int(options.get("STEP", newest))
        assert step == self.number, f"line {command.line}: `{command.text}` serves step {step}"
        for logical in list(self.servers):  # a demo needs its ports free
            self.servers.pop(logical).stop()
        for arguments in ("migrate --noinput", "seed_demo"):
            self.shell(
                Command(f"python manage.py {arguments}", command.line), self.step, Expected()
            )
        self.play_fake_news([], self.step, command)
        env = {**self.env, **self.default_news_sources()}
        logical_ports = [8000]
        if options.get("SERVERS", "1") == "2":
            env["REDIS_URL"] = self.substitute("redis://127.0.0.1:6379")
            logical_ports.append(8002)
        for logical in logical_ports:
            argv = [self.python, "manage.py", "runserver", f"127.0.0.1:{self.port(logical)}"]
            self.start_server(logical, [*argv, "--noreload"], env, self.step, command)
        for logical in logical_ports:  # started together, as make demo starts them
            self.servers[logical].wait_until_listening(self.port(logical), command)

    def start_server(self, logical, argv, env, cwd, command):
        if logical in self.servers:  # a learner stops the one that runs first (Ctrl-C)
            self.servers.pop(logical).stop()
        self.servers[logical] = Server(argv, env, cwd, command)

    def start_redis(self):
        """A redis-server of the test's own plays the README's Redis at 127.0.0.1:6379, so
        that no message of the README's reaches a demo that uses the machine's Redis."""
        from tests.conftest import require

        program = shutil.which("redis-server")
        require(program, "no redis-server to play the README's Redis: apt-get install redis-server")
        port = free_port()
        argv = [program, "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
        self.servers[6379] = Server([*argv, "--appendonly", "no"], self.env, self.root, None)
        self.servers[6379].wait_until_listening(port, None)
        return port


class Server:
    """A long-running command in the background, its output kept for the checks."""

    def __init__(self, argv, env, cwd, command):
        self.command = command
        self.process = subprocess.Popen(
            argv,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
        )
        self.output = ""
        self.ended = False
        self.changed = threading.Condition()
        self.reader = threading.Thread(target=self.read, daemon=True)
        self.reader.start()

    def read(self):
        for line in self.process.stdout:
            with self.changed:
                self.output += line
                self.changed.notify_all()
        with self.changed:
            self.ended = True
            self.changed.notify_all()

    def failure(self, what, command):
        self.reader.join(timeout=5)
        where = f"line {command.line}: `{command.text}`" if command else "redis-server"
        return f"{where}: {what}\n--- its output ---\n{self.output}"

    def wait_for_output(self, pattern, command, missing, timeout=30):
        """The first match of `pattern` in what it prints, once it has printed it."""
        deadline = time.monotonic() + timeout
        with self.changed:
            while not (printed := re.search(pattern, self.output)):
                left = deadline - time.monotonic()
                if self.ended or left <= 0:
                    raise AssertionError(self.failure(f"printed {missing}", command))
                self.changed.wait(left)
        return printed

    def wait_until_listening(self, port, command, timeout=30):
        deadline = time.monotonic() + timeout
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return
            except OSError:
                if time.monotonic() > deadline:
                    raise AssertionError(
                        self.failure(f"not listening after {timeout} s", command)
                    ) from None
            try:  # the pause before trying again, cut short if the server stops
                code = self.process.wait(timeout=0.05)
            except subprocess.TimeoutExpired:
                continue
            raise AssertionError(self.failure(f"stopped with exit status {code}", command))

    def stop(self):
        self.process.kill()  # nothing to finish: a graceful stop would only cost time
        self.process.wait()
        self.reader.join(timeout=5)


def step_number(folder):
    return int(re.match(r"step(\d+)", folder.name)[1])


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def json_or_none(line):
    try:
        return json.loads(line)
    except ValueError:
        return None


def found(text, output):
    return re.search(wildcard(text), output) is not None


def report(command, ran, problems, stdout, stderr):
    return (
        f"README.md line {command.line}: `{command.text}`\n"
        + "".join(f"  - {problem}\n" for problem in problems)
        + f"--- ran ---\n{ran}\n--- stdout ---\n{stdout}\n--- stderr ---\n{stderr}"
    )
