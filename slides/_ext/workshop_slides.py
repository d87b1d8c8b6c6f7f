"""The deck's own Sphinx extension: code taken from the steps, speaker notes, one slide level.

- `.. step-code:: stepNN_slug/path.py` is `literalinclude` with a path from the repository root,
  dedented, rendered by Pygments, the lines that matter chosen by how they begin
  (`:emphasize-text:`, one beginning a line, indentation ignored), and marked in the HTML
  with the file and region it names (tests compare the two). A missing file, object or
  marker, or an `:emphasize-text:` line that begins no line, is a warning, which `-W` turns
  into a failed build.
- `.. notes::` holds a slide's speaker notes as reST paragraphs, each starting with its marker
  (**Say:**, **Show:**, **Live:**, **Later:**, **Before the talk:**, **Time:**): reveal.js
  shows them in its speaker view (press S). Every slide must have exactly one, with one
  `**Time:** N min` line; the build checks that each slide's minutes cover what its notes ask
  for, that the deck fits the talk's 40 minutes, and the live actions' limits (see
  slides/README.md, "Timing and live actions").
- `.. bench-result:: benchmarks/collector.json` puts the headline figures of the committed
  benchmark run (`make bench-collector`) on a slide, read from its JSON when the deck is built,
  with the machine it ran on: a fresh run replaces the numbers as it replaces the PNG.
- Slides are the document title (the first slide) and the sections under it; a deeper section
  is a warning, so that one press of the right arrow always reaches the next slide.
"""

from __future__ import annotations

import html
import json
import math
import os
import re
from pathlib import Path

from docutils import nodes
from docutils.statemachine import StringList
from sphinx.directives.code import LiteralInclude
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective
from sphinx.writers.html5 import HTML5Translator
from sphinx_revealjs.writers import RevealjsSlideTranslator

logger = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[2]  # slides/_ext/ -> the repository root

# The options of a step-code block that name its region; written into the HTML as data-*.
REGION_OPTIONS = ("pyobject", "start-at", "start-after", "end-at", "end-before")

# The talk's limits, and what a slide costs (slides/README.md, "Timing and live actions").
TALK_MINUTES = 40
LIVE_ACTIONS = 6
LIVE_SECONDS = 20
SPOKEN_WORDS_PER_MINUTE = 130  # what **Say:** asks for, said aloud
READ_WORDS_PER_MINUTE = 200  # the slide's own text (bullets, tables), read by the audience
SECONDS_PER_CODE_LINE = 2
SECONDS_PER_DIAGRAM = 15
SECONDS_PER_SHOW = 30  # to another window and back: a file, a notebook, the docs
# The markers a paragraph of notes starts with; only the first three take the talk's time.
MARKERS = ("Say", "Show", "Live", "Later", "Before the talk", "Time")
TIME_TEXT = re.compile(r"(\d+(?:\.5)?) min")  # "**Time:** 1.5 min": half-minutes
LIVE_TEXT = re.compile(r"(\d+) s\b")  # "**Live:** 15 s, ..."


def text_lines(argument):
    """An option given as one or more lines of text (each a substring to look for)."""
    lines = [line.strip() for line in (argument or "").splitlines()]
    found = [line for line in lines if line]
    if not found:
        raise ValueError("give at least one line of text")
    return found


class StepCode(LiteralInclude):
    """`literalinclude` for the deck: a file of a step, by path from the repository root."""

    option_spec = {
        **LiteralInclude.option_spec,
        "emphasize-text": text_lines,
    }

    def run(self):
        source = self.arguments[0].strip()
        if Path(source).is_absolute() or ".." in Path(source).parts:
            raise self.error(f"step-code takes a path inside the repository: {source!r}")
        srcdir = Path(self.env.srcdir)
        # A leading "/" makes literalinclude read the path from the source folder (slides/).
        self.arguments[0] = "/" + Path(os.path.relpath(ROOT / source, srcdir)).as_posix()
        self.options.setdefault("language", "python")
        self.options.setdefault("dedent", None)  # None: remove the common indentation
        self.options["lineno-match"] = None  # the file's own line numbers, for the caption
        result = super().run()
        block = result[0] if result else None
        if not isinstance(block, nodes.literal_block):
            return result  # literalinclude's warning (file, object or marker not found)
        block["linenos"] = False  # numbers go to the caption, not down the side
        first = block["highlight_args"]["linenostart"]
        text = block.astext()
        block["step_source"] = source
        block["step_region"] = {
            name: self.options[name] for name in REGION_OPTIONS if name in self.options
        }
        block["step_lines"] = (first, first + len(text.splitlines()) - 1)
        self._emphasize(block, text)
        return result

    def _emphasize(self, block, text):
        patterns = self.options.get("emphasize-text", [])
        lines = text.splitlines()
        emphasized = set(block["highlight_args"].get("hl_lines", []))
        for pattern in patterns:
            matching = {
                number for number, line in enumerate(lines, 1) if line.strip().startswith(pattern)
            }
            if not matching:
                logger.warning(
                    "step-code %s: no line starts with %r (:emphasize-text:)",
                    block["step_source"],
                    pattern,
                    location=block,
                )
            emphasized |= matching
        if emphasized:
            block["highlight_args"]["hl_lines"] = sorted(emphasized)


class BenchResult(SphinxDirective):
    """`.. bench-result:: benchmarks/collector.json`: the benchmark's headline figures.

    A table, one column per collector: the median time of one caller with the most sources of
    the run, sync / async, and for the most simultaneous callers the time until the last
    answer and the server's threads (idle -> peak); under it, the machine and the versions.
    Written as reST and parsed here, so it looks like the deck's other tables. A file that is
    missing or not the benchmark's JSON is a warning, which `-W` turns into a failed build.
    """

    required_arguments = 1

    def run(self):
        source = self.arguments[0].strip()
        path = ROOT / source
        self.env.note_dependency(str(path))  # a new run rebuilds the slide
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
            text = bench_result_rst(document, source)
        except (OSError, ValueError, KeyError, IndexError, TypeError) as error:
            message = f"bench-result {source}: {type(error).__name__}: {error}"
            return [self.state.document.reporter.warning(message, line=self.lineno)]
        container = nodes.container(classes=["bench-result"])
        self.state.nested_parse(StringList(text.splitlines(), source), 0, container)
        # Cells hold their text with no <p>: a paragraph's margins would make each row of the
        # table, under the figure, twice as tall as its line of text.
        for entry in list(container.findall(nodes.entry)):
            if len(entry) == 1 and isinstance(entry[0], nodes.paragraph):
                entry[0].replace_self(nodes.inline("", "", *entry[0].children))
        return [container]


def seconds(value):
    return f"{value:.2f} s" if value >= 1 else f"{value * 1000:.0f} ms"


def bench_result_rst(document, source):
    """The reST of `.. bench-result::` for one benchmarks/collector.json document."""
    plan, machine, results = document["plan"], document["machine"], document["results"]
    single = max(results["single_caller"], key=lambda row: row["sources"])
    names = list(single["median_s"])
    ratios = single["sync_over_async"]
    most = max(row["callers"] for row in results["simultaneous_callers"])
    crowd = {
        row["collector"]: row for row in results["simultaneous_callers"] if row["callers"] == most
    }
    sources = {row["sources"] for row in crowd.values()}

    def threads(row):
        if row["threads_peak"] is None:
            return "n/a"
        return f"{row['threads_idle']} → {row['threads_peak']}"

    rows = [
        ["", *names],
        [
            f"one caller, {single['sources']} sources of {plan['delay_ms']} ms: median time "
            "(sync / async)",
            *(
                seconds(single["median_s"][name])
                + (f" (**{ratios[name]:.1f}×**)" if name in ratios else "")
                for name in names
            ),
        ],
        [
            f"{most} callers at once, {'/'.join(map(str, sorted(sources)))} sources each: "
            "the last answer",
            *(seconds(crowd[name]["last_answer_s"]) for name in names),
        ],
        [
            "threads of the server process, idle → peak",
            *(threads(crowd[name]) for name in names),
        ],
    ]
    lines = [".. list-table::", "   :header-rows: 1", "   :stub-columns: 1", ""]
    lines += [
        line
        for row in rows
        for line in [f"   * - {row[0]}".rstrip(), *(f"     - {cell}".rstrip() for cell in row[1:])]
    ]
    system = str(machine["platform"]).split("-")[0]
    versions = ", ".join(f"{name} {number}" for name, number in machine["packages"].items())
    lines += [
        "",
        ".. container:: source",
        "",
        f"   Measured {str(machine['measured_at'])[:10]} on {machine['cpus']} CPUs, {system} "
        f"{machine['processor']}, Python {machine['python']}; {versions} (``{source}``).",
    ]
    return "\n".join(lines) + "\n"


class speaker_notes(nodes.General, nodes.Element):
    """A slide's speaker notes: `<aside class="notes">` in the deck."""


class Notes(SphinxDirective):
    """`.. notes::` followed by reST: what to say, show and do live, what to try later, and
    the slide's minutes."""

    has_content = True

    def run(self):
        if not self.content:
            raise self.error("notes: write what to say on this slide, and its minutes")
        node = speaker_notes()
        self.set_source_info(node)
        self.state.nested_parse(self.content, self.content_offset, node)
        return [node]


def visit_speaker_notes(translator, node):
    translator.body.append('<aside class="notes">\n')


def depart_speaker_notes(translator, node):
    translator.body.append("</aside>\n")


def skip_speaker_notes(translator, node):
    raise nodes.SkipNode


class DeckTranslator(RevealjsSlideTranslator):
    """sphinx-revealjs' translator, but code is highlighted by Pygments when the deck is built.

    reveal.js' own highlight plugin would do it in the browser: the deck would load a
    megabyte of highlight.js, and `:emphasize-lines:` would be lost. Pygments marks the
    emphasized lines (`<span class="hll">`) in the HTML itself, which also prints.
    """

    def visit_literal_block(self, node):
        source = node.get("step_source")
        if source:
            first, last = node["step_lines"]
            region = node["step_region"]
            attributes = [f'data-source="{html.escape(source)}"']
            attributes += [
                f'data-{name}="{html.escape(value, quote=True)}"' for name, value in region.items()
            ]
            attributes.append(f'data-lines="{first}-{last}"')
            named = region.get("pyobject")
            caption = f"{source}" + (f" · {named}" if named else "") + f" · lines {first}–{last}"
            self.body.append(f'<figure class="step-code" {" ".join(attributes)}>\n')
            self.body.append(f"<figcaption>{html.escape(caption)}</figcaption>\n")
        try:
            HTML5Translator.visit_literal_block(self, node)
        finally:
            if source:
                self.body.append("</figure>\n")

    def depart_literal_block(self, node):
        HTML5Translator.depart_literal_block(self, node)


def check_slides(app, doctree):
    """One slide level under the title, exactly one `.. notes::` on every slide, and the
    talk's timing: every slide's minutes, their total, the live actions."""
    docname = app.env.docname
    slides = []
    titles = [child for child in doctree.children if isinstance(child, nodes.section)]
    for title in titles:
        slides.append((title, _check_notes(title, docname)))
        for slide in _sections(title):
            slides.append((slide, _check_notes(slide, docname)))
            for deeper in _sections(slide):
                logger.warning(
                    "%r is a section inside slide %r: the deck has one level of slides",
                    deeper[0].astext(),
                    slide[0].astext(),
                    location=deeper,
                )
    check_timing([(slide, notes) for slide, notes in slides if notes is not None])


def note_blocks(notes):
    """The paragraphs of a slide's notes as (marker, text after it, paragraph); a block that
    starts with no marker of MARKERS is a warning."""
    blocks = []
    for block in notes.children:
        first = block.children[0] if isinstance(block, nodes.paragraph) and block.children else None
        marker = first.astext() if isinstance(first, nodes.strong) else ""
        if not marker.endswith(":") or marker[:-1] not in MARKERS:
            logger.warning(
                "notes of slide %r: a paragraph starts with %r; start each with one of %s",
                _slide_title(notes),
                block.astext()[:40],
                ", ".join(f"**{name}:**" for name in MARKERS),
                location=block,
            )
            continue
        blocks.append((marker[:-1], block.astext()[len(marker) :].strip(), block))
    return blocks


def slide_costs(slide, blocks):
    """What a slide takes, in seconds, by kind: what its notes ask for (say, show, live) and
    what the audience reads on it (code, diagrams, text)."""
    spoken = sum(len(text.split()) for marker, text, _ in blocks if marker == "Say")
    live = 0
    for marker, text, block in blocks:
        if marker != "Live":
            continue
        found = LIVE_TEXT.match(text)
        if found is None:
            logger.warning(
                'slide %r: a **Live:** action starts with its seconds ("**Live:** 15 s, ...")',
                _slide_title(slide),
                location=block,
            )
            continue
        live += int(found[1])
    code_lines = diagrams = read = 0
    for node in slide.findall():
        if node is slide or _nearest_section(node) is not slide:  # another slide's
            continue
        if isinstance(node, nodes.literal_block) and "step_lines" in node:
            first, last = node["step_lines"]
            code_lines += last - first + 1
        elif isinstance(node, nodes.image):
            diagrams += 1
        elif isinstance(node, nodes.Text) and not _is_unread(node, slide):
            read += len(node.astext().split())
    return {
        "say": spoken * 60 / SPOKEN_WORDS_PER_MINUTE,
        "show": SECONDS_PER_SHOW * sum(marker == "Show" for marker, _, _ in blocks),
        "live": live,
        "code": SECONDS_PER_CODE_LINE * code_lines,
        "diagrams": SECONDS_PER_DIAGRAM * diagrams,
        "text": read * 60 / READ_WORDS_PER_MINUTE,
    }


def _is_unread(node, slide):
    """Text that takes no time: the title, the notes, code (counted by lines), sources."""
    parent = node.parent
    while parent is not None and parent is not slide:
        if isinstance(parent, nodes.title | speaker_notes | nodes.literal_block | nodes.comment):
            return True
        if isinstance(parent, nodes.container) and "source" in parent["classes"]:
            return True
        parent = parent.parent
    return False


def check_timing(slides):
    """Each slide's `**Time:** N min` covers its costs (slide_costs); the deck fits the talk's
    minutes; at most LIVE_ACTIONS live actions, none over LIVE_SECONDS. Each Time line then
    says where the talk should be when the slide ends ("ends at minute 12.5 of 39.5")."""
    timed, live_actions = [], 0
    for slide, notes in slides:
        blocks = note_blocks(notes)
        times = [(text, block) for marker, text, block in blocks if marker == "Time"]
        found = TIME_TEXT.fullmatch(times[0][0]) if len(times) == 1 else None
        if found is None:
            logger.warning(
                "slide %r: its notes need one line `**Time:** N min` (N in half-minutes)",
                _slide_title(slide),
                location=notes,
            )
            continue
        minutes = float(found[1])
        costs = slide_costs(slide, blocks)
        needed = sum(costs.values())
        if minutes * 60 < needed:
            parts = ", ".join(
                f"{name} {seconds:.0f} s" for name, seconds in costs.items() if seconds
            )
            logger.warning(
                "slide %r: **Time:** %g min, but it takes %.0f s (%s): give it %g min, or trim it",
                _slide_title(slide),
                minutes,
                needed,
                parts,
                math.ceil(needed / 30) / 2,
                location=notes,
            )
        for marker, text, block in blocks:
            if marker != "Live":
                continue
            live_actions += 1
            seconds = LIVE_TEXT.match(text)
            if seconds and int(seconds[1]) > LIVE_SECONDS:
                logger.warning(
                    "slide %r: a live action of %s s; the talk's live actions take %d s at most",
                    _slide_title(slide),
                    seconds[1],
                    LIVE_SECONDS,
                    location=block,
                )
        timed.append((minutes, times[0][1]))
    total = sum(minutes for minutes, _ in timed)
    if total > TALK_MINUTES:
        logger.warning(
            "the slides' **Time:** lines add up to %g min: the talk has %d", total, TALK_MINUTES
        )
    if live_actions > LIVE_ACTIONS:
        logger.warning(
            "the deck has %d **Live:** actions: the talk has %d at most (demote the others to "
            "**Show:** or **Later:**)",
            live_actions,
            LIVE_ACTIONS,
        )
    ends = 0.0
    for minutes, paragraph in timed:
        ends += minutes
        paragraph += nodes.Text(f" (ends at minute {ends:g} of {total:g})")


def _slide_title(node):
    section = node if isinstance(node, nodes.section) else _nearest_section(node)
    return section[0].astext() if section is not None else "?"


def _sections(node):
    return [child for child in node.children if isinstance(child, nodes.section)]


def _check_notes(section, docname):
    """The slide's one `.. notes::` (None, with a warning, when it has none or several)."""
    own = [found for found in section.findall(speaker_notes) if _nearest_section(found) is section]
    if len(own) != 1:
        logger.warning(
            "slide %r has %d `.. notes::` blocks; it needs exactly one",
            section[0].astext(),
            len(own),
            location=section,
        )
        return None
    return own[0]


def _nearest_section(node):
    parent = node.parent
    while parent is not None and not isinstance(parent, nodes.section):
        parent = parent.parent
    return parent


def setup(app):
    app.add_directive("step-code", StepCode)
    app.add_directive("notes", Notes)
    app.add_directive("bench-result", BenchResult)
    skip = (skip_speaker_notes, None)
    app.add_node(
        speaker_notes,
        html=skip,
        latex=skip,
        text=skip,
        man=skip,
        texinfo=skip,
        revealjs=(visit_speaker_notes, depart_speaker_notes),
        dirrevealjs=(visit_speaker_notes, depart_speaker_notes),
    )
    app.set_translator("revealjs", DeckTranslator, override=True)
    app.connect("doctree-read", check_slides)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
