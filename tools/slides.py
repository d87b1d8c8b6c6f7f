"""`make slides` and `make slides-pdf`: the talk's deck, built from slides/ (root tooling).

Runs with the venv's python (tools/run.py starts it, as it starts execute_notebook.py), since
it needs Sphinx and Playwright; its module level is stdlib only, so tests may import it.

    python tools/slides.py [--out DIR] [--pdf]

Sphinx's revealjs builder writes the deck (default slides/build/deck/), warnings being errors;
then every file that the deck never loads is removed, and the build fails if the deck loads
anything from the network. `--pdf` also prints it with headless Chromium, every network
request blocked: slides/build/slides.pdf (one page a slide) and slides-notes.pdf (each
slide followed by its speaker notes).
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import time
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

from workshop import CHROMIUM_ARGS, chromium_for, chromium_install_hint

ROOT = Path(__file__).resolve().parent.parent
SLIDES = ROOT / "slides"
BUILD = SLIDES / "build"
DECK = BUILD / "deck"

# <link rel="..."> values that name another document rather than load a resource.
NOT_LOADED_RELS = {"alternate", "author", "canonical", "help", "index", "license", "next", "prev"}
LOADING_ATTRIBUTES = {
    "script": ("src",),
    "img": ("src",),
    "iframe": ("src",),
    "embed": ("src",),
    "source": ("src",),
    "video": ("src", "poster"),
    "audio": ("src",),
    "track": ("src",),
    "object": ("data",),
    "input": ("src",),
}
CSS_URL = re.compile(r"""url\(\s*(['"]?)([^'")]+)\1\s*\)""")
CSS_IMPORT = re.compile(r"""@import\s+(['"])([^'"]+)\1""")
SVG_LOAD = re.compile(r"""<(?:image|use|feImage|script)\b[^>]*?\bhref\s*=\s*(['"])([^'"]+)\1""")


class Loads(HTMLParser):
    """What an HTML page makes the browser fetch: scripts, stylesheets, images, frames."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.urls: list[str] = []
        self.inline_css: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "link":
            rels = set((attributes.get("rel") or "").lower().split())
            if attributes.get("href") and not rels <= NOT_LOADED_RELS:
                self.urls.append(attributes["href"])
        for name in LOADING_ATTRIBUTES.get(tag, ()):
            if attributes.get(name):
                self.urls.append(attributes[name])
        if attributes.get("style"):
            self.inline_css.append(attributes["style"])
        self._in_style = tag == "style"

    def handle_endtag(self, tag):
        if tag == "style":
            self._in_style = False

    def handle_data(self, data):
        if self._in_style:
            self.inline_css.append(data)


def is_remote(url: str) -> bool:
    """True for a URL the browser would fetch from the network (http, https, //host)."""
    return url.startswith("//") or urlsplit(url).scheme.lower() in {"http", "https", "ftp"}


def css_urls(css: str) -> list[str]:
    return [match[1] for match in CSS_URL.findall(css)] + [m[1] for m in CSS_IMPORT.findall(css)]


def loaded_files(index: Path) -> tuple[set[Path], list[str], list[str]]:
    """Every local file the page loads, following stylesheets and SVG images, plus what it
    would fetch from the network and the local files it names that do not exist."""
    found: set[Path] = {index.resolve()}
    remote: list[str] = []
    missing: list[str] = []
    pending = [index.resolve()]
    while pending:
        page = pending.pop()
        text = page.read_text(encoding="utf-8", errors="replace")
        if page.suffix == ".html":
            parser = Loads()
            parser.feed(text)
            urls = parser.urls + [url for css in parser.inline_css for url in css_urls(css)]
        elif page.suffix == ".css":
            urls = css_urls(text)
        elif page.suffix == ".svg":
            urls = [match[1] for match in SVG_LOAD.findall(text)] + css_urls(text)
        else:
            continue
        for url in urls:
            if url.startswith(("data:", "#", "about:", "javascript:")):
                continue
            if is_remote(url):
                remote.append(f"{url} (in {page.name})")
                continue
            target = (page.parent / unquote(urlsplit(url).path)).resolve()
            if not target.is_file():
                missing.append(f"{url} (in {page.name})")
            elif target not in found:
                found.add(target)
                pending.append(target)
    return found, remote, missing


def prune(deck: Path) -> None:
    """Remove every file of the deck that index.html does not load, then empty folders.

    sphinx-revealjs copies all of reveal.js: other themes (some @import web fonts), the
    Markdown, math (which fetches KaTeX or MathJax from a CDN) and highlight plugins, Sass
    sources, source maps. None is loaded; removing them leaves a folder that needs nothing
    but itself.
    """
    keep, _, _ = loaded_files(deck / "index.html")
    for path in sorted(deck.rglob("*"), reverse=True):
        if path.is_file() and path.resolve() not in keep:
            path.unlink()
        elif path.is_dir() and not any(path.iterdir()):
            path.rmdir()


class Slides(HTMLParser):
    """Counts the slides of a reveal.js page: the <section>s with no <section> inside."""

    def __init__(self):
        super().__init__()
        self.stack: list[bool] = []  # per open section: has a section inside
        self.count = 0

    def handle_starttag(self, tag, attrs):
        if tag == "section":
            if self.stack:
                self.stack[-1] = True
            self.stack.append(False)

    def handle_endtag(self, tag):
        if tag == "section" and self.stack:
            self.count += not self.stack.pop()

    def close(self):
        super().close()
        while self.stack:  # sections left open at the end of the page
            self.count += not self.stack.pop()


def count_slides(index: Path) -> int:
    parser = Slides()
    parser.feed(index.read_text(encoding="utf-8"))
    parser.close()
    return parser.count


def build(deck: Path = DECK) -> int:
    """Build slides/ into `deck` (emptied first); 0 when it built with no warning."""
    from sphinx.cmd.build import build_main

    deck = deck.resolve()
    if deck.exists():
        if any(deck.iterdir()) and not (deck / "index.html").is_file():
            print(f"slides: {deck} is not empty and holds no deck: choose another --out")
            return 2
        shutil.rmtree(deck)
    with tempfile.TemporaryDirectory() as doctrees:
        # -W: a warning (a missing file, object or marker of a code slide) fails the build;
        # -E: read every source again; -q: only warnings and errors.
        arguments = ["-b", "revealjs", "-W", "--keep-going", "-E", "-q", "-d", doctrees]
        code = build_main([*arguments, str(SLIDES), str(deck)])
    if code != 0:
        print(f"slides: the build failed (Sphinx exit {code}); see the warnings above")
        return 1
    prune(deck)
    _, remote, missing = loaded_files(deck / "index.html")
    for url in remote:
        print(f"slides: the deck would fetch {url} from the network")
    for url in missing:
        print(f"slides: the deck loads {url}, which is not in the build")
    return 1 if remote or missing else 0


def print_pdf(deck: Path, target: Path, notes: bool = False) -> int:
    """Print the deck with headless Chromium (reveal.js' print view); the page count."""
    from playwright.sync_api import sync_playwright

    url = (deck / "index.html").resolve().as_uri() + "?print-pdf"
    if notes:
        url += "&showNotes=separate-page"
    blocked: list[str] = []

    def local_only(route):
        if route.request.url.startswith("file:"):
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    with sync_playwright() as playwright:
        # Debian's Chromium (as the browser tests use), else Playwright's own browser.
        browser = playwright.chromium.launch(
            executable_path=chromium_for(playwright), args=CHROMIUM_ARGS
        )
        try:
            page = browser.new_page()
            page.route("**/*", local_only)
            page.goto(url)
            page.wait_for_function("() => window.Reveal && Reveal.isReady()")
            page.wait_for_selector(".reveal .pdf-page", state="attached")
            pages = page.locator(".reveal .pdf-page").count()
            target.parent.mkdir(parents=True, exist_ok=True)
            page.pdf(path=str(target), prefer_css_page_size=True, print_background=True)
        finally:
            browser.close()
    if blocked:
        raise RuntimeError(f"the deck asked the network for: {', '.join(blocked)}")
    return pages


def pdf_page_count(path: Path) -> int:
    """Pages of a PDF written by Chromium (its page objects are not compressed)."""
    return len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", path.read_bytes()))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tools/slides.py", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DECK, help="the deck's folder")
    parser.add_argument("--pdf", action="store_true", help="also print it to PDF (Chromium)")
    args = parser.parse_args(argv)
    started = time.monotonic()
    code = build(args.out)
    if code != 0:
        return code
    index = args.out.resolve() / "index.html"
    print(
        f"slides: {_shown(index)}: {count_slides(index)} slides, built in "
        f"{time.monotonic() - started:.1f} s. Open it in a browser (no network needed); "
        "S opens the speaker view."
    )
    if args.pdf:
        for name, notes in [("slides.pdf", False), ("slides-notes.pdf", True)]:
            target = args.out.resolve().parent / name
            started = time.monotonic()
            try:
                print_pdf(args.out, target, notes=notes)
            except Exception as error:  # no browser, or one that failed: say which, and how
                print(f"slides: printing {name} failed: {type(error).__name__}: {error}")
                print(f"slides: printing needs Chromium: {chromium_install_hint(sys.executable)}")
                return 1
            pages = pdf_page_count(target)
            what = "with speaker notes" if notes else "one page a slide"
            elapsed = time.monotonic() - started
            print(f"slides: {_shown(target)}: {pages} pages ({what}), {elapsed:.1f} s")
    return 0


def run_with(python: Path, pdf: bool = False) -> int:
    """`make slides` / `make slides-pdf`, from tools/run.py: this file with the venv's python."""
    command = [str(python), str(Path(__file__).resolve()), *(["--pdf"] if pdf else [])]
    return subprocess.run(command, cwd=ROOT, check=False).returncode


def _shown(path: Path) -> str:
    try:
        return path.relative_to(ROOT).as_posix()
    except ValueError:
        return str(path)


if __name__ == "__main__":
    sys.exit(main())
