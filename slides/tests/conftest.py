"""Fixtures of the deck's tests: a build from a clean copy of the repository, Chromium, and
what a page shows in red in the developer tools."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools"))  # the root tooling's way to find a Chromium

from workshop import CHROMIUM_ARGS, chromium_for  # noqa: E402


def require(available, reason):
    """Skip a test whose service is missing, except under CI=true, where it must run."""
    if available:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason}; under CI=true this test may not skip")
    pytest.skip(reason)


def clean_copy(target: Path) -> Path:
    """The files a clone would hold, copied to `target`: git's tracked and untracked files,
    less what .gitignore ignores (no slides/build/, no venv, no databases, no caches)."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=False,
    )
    if listed.returncode != 0:  # not a git checkout (an archive): copy the tree as it is
        shutil.copytree(ROOT, target, ignore=shutil.ignore_patterns(".git", ".venv*", "build"))
        return target
    for name in filter(None, listed.stdout.decode().split("\0")):
        source = ROOT / name
        if source.is_file():  # a file deleted but not yet staged is listed too
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    return target


def build_deck(checkout: Path, out: Path) -> subprocess.CompletedProcess:
    """`python tools/slides.py --out OUT` in `checkout`, with this venv's python."""
    command = [sys.executable, str(checkout / "tools" / "slides.py"), "--out", str(out)]
    return subprocess.run(command, cwd=checkout, capture_output=True, text=True, check=False)


@pytest.fixture(scope="session")
def checkout(tmp_path_factory):
    return clean_copy(tmp_path_factory.mktemp("checkout"))


@pytest.fixture(scope="session")
def built(checkout):
    """The deck built from the clean copy: (the completed build, the deck's folder)."""
    out = checkout / "slides" / "build" / "deck"
    return build_deck(checkout, out), out


@pytest.fixture(scope="session")
def deck(built):
    """The built deck's folder; the build must have succeeded."""
    done, out = built
    if done.returncode != 0:
        pytest.fail(f"the deck did not build:\n{done.stdout}\n{done.stderr}")
    return out


def chromium_or_skip(playwright):
    """Debian's Chromium, else None for Playwright's own; the test skips without either."""
    try:
        return chromium_for(playwright)
    except LookupError as missing:
        require(False, str(missing))


@pytest.fixture(scope="session")
def browser():
    """Headless Chromium driven by Playwright: Debian's, else Playwright's own."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        executable = chromium_or_skip(playwright)
        chromium = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


class PageProblems:
    """What the developer tools would show in red: console errors, uncaught exceptions, failed
    requests, HTTP errors; and every request to anywhere but `local` (URL prefixes), which
    `local_only` aborts and counts. A test that provokes one on purpose says so with
    `allow(pattern)`; anything else fails it."""

    def __init__(self, local=("file:",)):
        self.local = local
        self.seen = []
        self.allowed = []

    def local_only(self, route):
        if route.request.url.startswith(self.local):
            route.continue_()
        else:
            self.seen.append(f"network request blocked: {route.request.url}")
            route.abort()

    def watch(self, page):
        page.on(
            "console",
            lambda message: (
                message.type == "error" and self.seen.append(f"console error: {message.text}")
            ),
        )
        page.on("pageerror", lambda error: self.seen.append(f"uncaught exception: {error}"))
        page.on(
            "requestfailed",
            lambda request: self.seen.append(f"request failed: {request.url} {request.failure}"),
        )
        page.on(
            "response",
            lambda response: (
                response.status >= 400
                and self.seen.append(f"HTTP {response.status}: {response.url}")
            ),
        )

    def allow(self, pattern):
        self.allowed.append(pattern)

    def unexpected(self):
        return [seen for seen in self.seen if not any(re.search(a, seen) for a in self.allowed)]
