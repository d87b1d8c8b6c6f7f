"""The talk's deck: it builds from a clean copy, loads nothing from the network, shows the
steps' code as it is today, has notes and minutes on every slide (40 in all at most), and
presents and prints from disk.

The deck is built once per session (conftest.py) from a copy of the files a clone would hold.
"""

import ast
import json
import re
import shutil
import subprocess
import sys
import textwrap
from html import unescape
from html.parser import HTMLParser

import pytest

from .conftest import ROOT, PageProblems, build_deck

SOURCE = ROOT / "slides" / "index.rst"
REMOTE = re.compile(r"^(?:[a-z][a-z0-9+.-]*:)?//|^(?:https?|ftp):", re.IGNORECASE)
TALK_MINUTES = 40


# --- reading the source and the built page -------------------------------------------------


def source_slide_titles(text):
    """The deck's slides in the reST source: the document title and the sections under it,
    each a line of text underlined with = or - at least as long."""
    lines = text.splitlines()
    titles = []
    for above, line in zip(lines, lines[1:], strict=False):
        underline = re.fullmatch(r"(=+|-+)", line)
        if underline and above.strip() and not above.startswith((" ", "..")):
            if len(line) >= len(above.rstrip()):
                titles.append(above.strip())
    return titles


def source_slide_minutes(text):
    """Each slide's `**Time:** N min` lines in the reST source, in slide order: a list of the
    minutes each slide's notes give (one number for a slide that is right)."""
    minutes, current = [], None
    lines = text.splitlines()
    for above, line in zip(lines, lines[1:], strict=False):
        underline = re.fullmatch(r"(=+|-+)", line)
        if underline and above.strip() and not above.startswith((" ", "..")):
            current = []
            minutes.append(current)
        found = re.fullmatch(r"\s+\*\*Time:\*\* (\d+(?:\.\d+)?) min", line)
        if found and current is not None:
            current.append(float(found[1]))
    return minutes


class DeckPage(HTMLParser):
    """What a test needs from the built index.html: slides, notes, code figures, loads."""

    LOADS = {
        "script": "src",
        "img": "src",
        "iframe": "src",
        "embed": "src",
        "source": "src",
        "video": "src",
        "audio": "src",
        "object": "data",
        "input": "src",
    }

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.sections = []  # [has a section inside, notes text] per <section>, in order
        self.open_sections = []
        self.in_notes = False
        self.figures = []  # {"attrs": {...}, "code": str}
        self.figure = None
        self.in_pre = False
        self.highlight_blocks = 0
        self.loads = []  # URLs the page makes the browser fetch

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        classes = (attributes.get("class") or "").split()
        if tag == "section":
            if self.open_sections:
                self.open_sections[-1][0] = True
            self.sections.append([False, ""])
            self.open_sections.append(self.sections[-1])
        elif tag == "aside" and "notes" in classes:
            self.in_notes = True
        elif tag == "figure" and "step-code" in classes:
            self.figure = {"attrs": attributes, "code": ""}
        elif tag == "pre" and self.figure is not None:
            self.in_pre = True
        if tag == "div" and "highlight" in classes:
            self.highlight_blocks += 1
        if tag == "link":
            rel = set((attributes.get("rel") or "").split())
            if rel & {"stylesheet", "icon", "preload", "modulepreload", "manifest"}:
                self.loads.append(attributes.get("href") or "")
        elif tag in self.LOADS and attributes.get(self.LOADS[tag]):
            self.loads.append(attributes[self.LOADS[tag]])

    def handle_endtag(self, tag):
        if tag == "section" and self.open_sections:
            self.open_sections.pop()
        elif tag == "aside":
            self.in_notes = False
        elif tag == "pre":
            self.in_pre = False
        elif tag == "figure" and self.figure is not None:
            self.figures.append(self.figure)
            self.figure = None

    def handle_data(self, data):
        if self.in_notes and self.open_sections:
            self.open_sections[-1][1] += data
        if self.in_pre and self.figure is not None:
            self.figure["code"] += data

    @property
    def slides(self):
        """Notes text of each slide: the sections with no section inside."""
        return [notes for has_inner, notes in self.sections if not has_inner]


def read_page(deck):
    page = DeckPage()
    page.feed((deck / "index.html").read_text(encoding="utf-8"))
    page.close()
    return page


def python_object(tree, dotted):
    """The class or function `A.b` of a module, as an ast node (None if it is not there)."""
    nodes = tree.body
    found = None
    for name in dotted.split("."):
        found = next(
            (
                node
                for node in nodes
                if isinstance(node, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
                and node.name == name
            ),
            None,
        )
        if found is None:
            return None
        nodes = found.body
    return found


def source_region(path, attributes):
    """The lines of `path` that a code figure names: its data-pyobject (decorators included),
    or data-start-at/-after and data-end-at/-before (the first line holding the text);
    (first line number, last line number, the text with its common indentation removed)."""
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    first, last = 1, len(lines)
    if "data-pyobject" in attributes:
        node = python_object(ast.parse("".join(lines)), attributes["data-pyobject"])
        assert node is not None, f"{attributes['data-pyobject']} is not in {path}"
        first = min([node.lineno, *(decorator.lineno for decorator in node.decorator_list)])
        last = node.end_lineno
    for option, offset in [("data-start-at", 0), ("data-start-after", 1)]:
        if option in attributes:
            number = next(n for n in range(first, last + 1) if attributes[option] in lines[n - 1])
            first = number + offset
    for option, offset in [("data-end-at", 0), ("data-end-before", -1)]:
        if option in attributes:
            number = next(n for n in range(first, last + 1) if attributes[option] in lines[n - 1])
            last = number + offset
    return first, last, textwrap.dedent("".join(lines[first - 1 : last]))


def css_loads(css):
    found = re.findall(r"""url\(\s*['"]?([^'")]+)['"]?\s*\)""", css)
    return found + re.findall(r"""@import\s+['"]([^'"]+)['"]""", css)


# --- the build ------------------------------------------------------------------------------


def test_the_deck_builds_from_a_clean_copy_with_no_warning(built):
    """`tools/slides.py` (make slides) in a copy holding only what a clone holds, with this
    venv's packages; Sphinx runs with -W, so any warning would fail it."""
    done, out = built
    assert done.returncode == 0, f"the build failed:\n{done.stdout}\n{done.stderr}"
    assert "WARNING" not in done.stdout + done.stderr
    assert (out / "index.html").is_file()


def test_the_deck_has_every_slide_of_the_source_each_with_notes(deck):
    titles = source_slide_titles(SOURCE.read_text(encoding="utf-8"))
    slides = read_page(deck).slides
    assert len(titles) >= 20  # the outline of the talk; a broken parse would find few
    assert len(slides) == len(titles)
    empty = [title for title, notes in zip(titles, slides, strict=True) if not notes.strip()]
    assert not empty, f"slides with no speaker notes: {empty}"


def test_every_slide_gives_its_minutes_and_the_deck_fits_the_talk():
    text = SOURCE.read_text(encoding="utf-8")
    minutes = source_slide_minutes(text)
    assert len(minutes) == len(source_slide_titles(text))
    titles = source_slide_titles(text)
    missing = [title for title, found in zip(titles, minutes, strict=True) if len(found) != 1]
    assert not missing, f"slides without exactly one **Time:** line: {missing}"
    assert all(found[0] > 0 and found[0] * 2 == int(found[0] * 2) for found in minutes)
    assert sum(found[0] for found in minutes) <= TALK_MINUTES


def test_the_speaker_view_says_where_the_talk_should_be_at_each_slide(deck):
    """Each slide's notes end their Time line with the minute the talk should have reached
    when the slide ends: the minutes so far, of the deck's total."""
    minutes = [found[0] for found in source_slide_minutes(SOURCE.read_text(encoding="utf-8"))]
    notes = read_page(deck).slides
    ends = [re.search(r"ends at minute ([\d.]+) of ([\d.]+)", text) for text in notes]
    assert all(ends), "a slide's notes do not say where the talk should be"
    so_far = [sum(minutes[: index + 1]) for index in range(len(minutes))]
    assert [float(found[1]) for found in ends] == so_far
    assert {float(found[2]) for found in ends} == {sum(minutes)}


def test_the_deck_loads_nothing_from_the_network(deck):
    """No script, stylesheet, image, frame or font of the deck comes from http(s): every one
    is a file of the deck. (Links for the audience, <a href>, are not loads.)"""
    page = read_page(deck)
    assert page.loads, "the page loads nothing at all: the parse is broken"
    loads = [(deck / "index.html", url) for url in page.loads]
    loads += [(css, url) for css in deck.rglob("*.css") for url in css_loads(css.read_text())]
    for svg in deck.rglob("*.svg"):
        text = svg.read_text(encoding="utf-8")
        loads += [(svg, url) for url in css_loads(text)]
        loads += [
            (svg, url)
            for url in re.findall(r"""<(?:image|use|script)\b[^>]*?href=["']([^"']+)""", text)
        ]
    remote = [f"{url} (in {where.name})" for where, url in loads if REMOTE.match(url)]
    assert not remote, f"the deck would fetch from the network: {remote}"
    missing = [
        f"{url} (in {where.name})"
        for where, url in loads
        if not url.startswith(("data:", "#"))
        and not (where.parent / url.split("?")[0].split("#")[0]).is_file()
    ]
    assert not missing, f"the deck loads files it does not have: {missing}"


def test_every_code_slide_shows_the_current_source_region_it_names(deck):
    page = read_page(deck)
    assert len(page.figures) >= 20
    # Every highlighted block is a step-code figure: no code was pasted into the slides.
    assert page.highlight_blocks == len(page.figures)
    for figure in page.figures:
        attributes = figure["attrs"]
        path = ROOT / attributes["data-source"]
        first, last, expected = source_region(path, attributes)
        named = f"{attributes['data-source']} {attributes.get('data-pyobject', '')}"
        assert attributes["data-lines"] == f"{first}-{last}", named
        assert unescape(figure["code"]).rstrip("\n") == expected.rstrip("\n"), named


@pytest.mark.parametrize(
    "change, message",
    [
        pytest.param(
            ("step01_sync_django/collector/views.py", "def fetch_source(", "def fetch_one("),
            "Object named 'fetch_source' not found",
            id="a-function-renamed",
        ),
        pytest.param(
            (
                "step04_signals_groups/chat/helpers.py",
                "transaction.on_commit(callback, robust=True)",
                "transaction.on_commit(callback)",
            ),
            "no line starts with",
            id="an-emphasized-line-changed",
        ),
        pytest.param(
            ("step04_signals_groups/config/routing.py", "websocket_urlpatterns = [", "urls = ["),
            "websocket_urlpatterns = [",
            id="a-marker-gone",
        ),
        pytest.param(
            ("notebooks/figures/channels1_architecture.svg", None, None),
            "channels1_architecture.svg",
            id="a-figure-gone",
        ),
        pytest.param(
            ("benchmarks/collector.json", None, None),
            "bench-result benchmarks/collector.json",
            id="the-benchmark-json-gone",
        ),
        pytest.param(
            ("benchmarks/collector.json", '"sync_over_async"', '"ratios"'),
            "bench-result benchmarks/collector.json: KeyError",
            id="the-benchmark-json-changed-shape",
        ),
        pytest.param(
            ("slides/index.rst", "**Time:** 2 min", "**Time:** 0.5 min"),
            "min, or trim it",
            id="a-slide-given-less-time-than-its-notes-take",
        ),
        pytest.param(
            ("slides/index.rst", "**Time:** 1 min", "**Time:** 2 min"),
            "the talk has 40",
            id="a-deck-longer-than-the-talk",
        ),
        pytest.param(
            ("slides/index.rst", "**Later:** ", "**Live:** 1 s, "),
            "the talk has 6 at most",
            id="more-than-six-live-actions",
        ),
    ],
)
def test_the_build_fails_when_a_piece_the_deck_shows_is_gone(checkout, tmp_path, change, message):
    copy = tmp_path / "checkout"
    shutil.copytree(checkout, copy, ignore=shutil.ignore_patterns("build"))
    name, old, new = change
    target = copy / name
    if old is None:
        target.unlink()
    else:
        text = target.read_text(encoding="utf-8")
        assert old in text, f"the test's premise is gone: {old!r} is not in {name}"
        target.write_text(text.replace(old, new), encoding="utf-8")
    done = build_deck(copy, copy / "slides" / "build" / "deck")
    assert done.returncode != 0
    assert message in done.stdout + done.stderr


def bench_result_text(deck):
    """The text of the Result slide's figures (`.. bench-result::`), tags removed."""
    page = (deck / "index.html").read_text(encoding="utf-8")
    found = re.search(r'<div class="bench-result[^"]*">(.*?)<aside class="notes">', page, re.S)
    assert found, "no bench-result on any slide"
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", found[1])).split())


def benchmark_headlines(document):
    """What the Result slide must say of a benchmarks/collector.json document."""
    single = max(document["results"]["single_caller"], key=lambda row: row["sources"])
    crowds = document["results"]["simultaneous_callers"]
    most = max(row["callers"] for row in crowds)
    machine = document["machine"]
    return [
        f"{single['sources']} sources of {document['plan']['delay_ms']} ms",
        *(f"{ratio:.1f}×" for ratio in single["sync_over_async"].values()),
        f"{most} callers at once",
        *(
            f"{row['threads_idle']} → {row['threads_peak']}"
            for row in crowds
            if row["callers"] == most
        ),
        f"{machine['cpus']} CPUs",
        f"Python {machine['python']}",
        machine["measured_at"][:10],
    ]


def test_the_result_slide_shows_the_benchmark_it_is_built_with(deck, checkout, tmp_path):
    """The figures under benchmarks/collector.png come from benchmarks/collector.json when
    the deck is built: a fresh `make bench-collector` run replaces them with the figure."""
    committed = json.loads((ROOT / "benchmarks" / "collector.json").read_text())
    text = bench_result_text(deck)
    missing = [wanted for wanted in benchmark_headlines(committed) if wanted not in text]
    assert not missing, f"{missing} not in the Result slide: {text}"

    copy = tmp_path / "checkout"
    shutil.copytree(checkout, copy, ignore=shutil.ignore_patterns("build"))
    fresh = json.loads(json.dumps(committed))
    single = max(fresh["results"]["single_caller"], key=lambda row: row["sources"])
    for name in single["sync_over_async"]:
        single["sync_over_async"][name] = 12.34
    for row in fresh["results"]["simultaneous_callers"]:
        row["threads_peak"] = 99 if row["collector"] != "AsyncHttpConsumer" else 3
    fresh["machine"].update(cpus=64, python="3.13.1", measured_at="2031-01-02T03:04:05+00:00")
    (copy / "benchmarks" / "collector.json").write_text(json.dumps(fresh))
    out = copy / "slides" / "build" / "deck"
    done = build_deck(copy, out)
    assert done.returncode == 0, f"{done.stdout}\n{done.stderr}"
    text = bench_result_text(out)
    missing = [wanted for wanted in benchmark_headlines(fresh) if wanted not in text]
    assert not missing, f"{missing} not in the rebuilt Result slide: {text}"
    assert "12.3×" in text and "64 CPUs" in text and "2031-01-02" in text


# --- in the browser -----------------------------------------------------------------------------


# Docutils prints ' and " as typographic quotes; the source has the plain ones.
PLAIN_QUOTES = {"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"'}


def plain(text):
    return "".join(PLAIN_QUOTES.get(character, character) for character in text or "")


SLIDE_STATE = """() => {
    const slide = Reveal.getCurrentSlide();
    const config = Reveal.getConfig();
    const notes = document.createElement("div");
    notes.innerHTML = Reveal.getSlideNotes(slide) || "";
    return {
        indices: Reveal.getIndices(),
        title: (slide.querySelector("h1, h2") || {}).textContent,
        notes: notes.textContent.trim(),
        overflow: slide.scrollHeight > config.height || slide.scrollWidth > config.width,
        last: Reveal.isLastSlide(),
    };
}"""


def test_the_deck_presents_from_disk_with_the_network_blocked(deck, browser):
    """Open index.html from disk, every non-file request aborted; walk every slide with the
    keyboard; each slide fits, has its notes; the speaker view (S) opens with them."""
    titles = source_slide_titles(SOURCE.read_text(encoding="utf-8"))
    problems = PageProblems(local=("file:",))
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    try:
        context.route("**/*", problems.local_only)
        page = context.new_page()
        problems.watch(page)
        page.goto((deck / "index.html").as_uri())
        page.wait_for_function("() => window.Reveal && Reveal.isReady()")
        assert page.evaluate("Reveal.getTotalSlides()") == len(titles)

        visited = [page.evaluate(SLIDE_STATE)]
        while not visited[-1]["last"] and len(visited) <= len(titles):
            page.keyboard.press("ArrowRight")
            before = visited[-1]["indices"]
            page.wait_for_function(
                "([h, v]) => Reveal.getIndices().h !== h || Reveal.getIndices().v !== v",
                arg=[before["h"], before["v"]],
            )
            visited.append(page.evaluate(SLIDE_STATE))
        assert [plain(state["title"]) for state in visited] == titles
        assert not [state["title"] for state in visited if not state["notes"]], "no notes"
        overflowing = [state["title"] for state in visited if state["overflow"]]
        assert not overflowing, f"slides taller or wider than the deck: {overflowing}"

        page.keyboard.press("ArrowLeft")
        assert plain(page.evaluate(SLIDE_STATE)["title"]) == titles[-2]
        page.keyboard.press("Home")
        assert plain(page.evaluate(SLIDE_STATE)["title"]) == titles[0]

        page.keyboard.press("ArrowRight")
        with context.expect_page() as opened:
            page.keyboard.press("s")
        speaker = opened.value
        problems.watch(speaker)
        expected = page.evaluate(SLIDE_STATE)["notes"].split("\n")[0][:60]
        speaker.wait_for_function(
            "(text) => (document.querySelector('.speaker-controls-notes') || {}).innerText"
            "?.includes(text)",
            arg=expected,
        )
        speaker.close()
    finally:
        context.close()
    assert not problems.unexpected(), "\n".join(problems.unexpected())


def test_make_slides_pdf_prints_one_page_per_slide(checkout, tmp_path, browser):
    """`tools/slides.py --pdf` (make slides-pdf): headless Chromium's print to PDF (the same
    Chromium as `browser`'s, which skips the test where there is none)."""
    titles = source_slide_titles(SOURCE.read_text(encoding="utf-8"))
    out = tmp_path / "deck"
    command = [sys.executable, str(checkout / "tools" / "slides.py"), "--out", str(out), "--pdf"]
    done = subprocess.run(command, cwd=checkout, capture_output=True, text=True, check=False)
    assert done.returncode == 0, f"{done.stdout}\n{done.stderr}"
    for name in ("slides.pdf", "slides-notes.pdf"):
        pdf = tmp_path / name
        assert pdf.read_bytes().startswith(b"%PDF-")
        pages = len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", pdf.read_bytes()))
        expected = len(titles) if name == "slides.pdf" else 2 * len(titles)
        assert pages == expected, f"{name}: {pages} pages for {len(titles)} slides"
