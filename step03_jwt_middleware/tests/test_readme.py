"""Every listing of this step's README runs as a learner types it, in order, on a copy of the
step with servers of its own (step01). What a listing may say: INTERFACES.md, "Tests".
"""

from pathlib import Path

import pytest

from tests.readme_listings import Terminal, read_listings

README = Path(__file__).resolve().parents[1] / "README.md"
LISTINGS = read_listings(README.read_text(encoding="utf-8"))
RUNNABLE = [listing for listing in LISTINGS if listing.runnable and not listing.problems()]

# One terminal for the whole README: its listings run on one worker, one after the other.
pytestmark = pytest.mark.xdist_group("readme")


@pytest.fixture(scope="module")
def terminal(tmp_path_factory):
    terminal = Terminal(README.parent, tmp_path_factory.mktemp("readme"))
    yield terminal
    terminal.close()


def test_every_listing_is_run_or_says_why_not():
    problems = [
        f"README.md line {listing.line}: {problem}"
        for listing in LISTINGS
        for problem in listing.problems()
    ]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("listing", RUNNABLE, ids=[listing.name for listing in RUNNABLE])
def test_listing_runs_as_written(terminal, listing):
    terminal.catch_up(RUNNABLE, listing)
    terminal.run(listing)
