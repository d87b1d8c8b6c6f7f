"""Sphinx configuration of the talk's deck: `make slides` builds it with the revealjs builder.

Everything the deck loads comes from this repository or from the sphinx-revealjs wheel
(reveal.js, its notes plugin, the theme's fonts), so the built folder presents from disk
with no network. See slides/README.md.
"""

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent / "_ext"))

project = "From sync Django to real-time Django Channels"
author = "the channels-workshop maintainers"
# Who gives the talk: `SLIDES_SPEAKER="Ada Lovelace, Example Ltd" make slides`.
speaker = os.environ.get("SLIDES_SPEAKER") or author

extensions = ["sphinx_revealjs", "workshop_slides"]
root_doc = "index"
exclude_patterns = ["build", "README.md", "tests", "_ext"]
rst_prolog = f".. |speaker| replace:: {speaker}\n"

# Code is highlighted when the deck is built (see _ext/workshop_slides.py).
pygments_style = "friendly"
highlight_language = "python"

# The deck: reveal.js as shipped in sphinx-revealjs, a light theme with local fonts.
revealjs_style_theme = "white"
revealjs_static_path = ["_static"]
revealjs_css_files = ["pygments.css", "workshop.css"]
revealjs_script_plugins = [
    # The speaker view (press S): notes, the next slide, a timer. Its page is built into
    # notes.js, so it opens from disk too.
    {"name": "RevealNotes", "src": "revealjs/plugin/notes/notes.js"},
]
revealjs_script_conf = {
    "width": 1280,
    "height": 720,
    "margin": 0.04,
    "center": False,
    "hash": True,
    "slideNumber": "c/t",
    "showSlideNumber": "all",
    "transition": "none",
    "backgroundTransition": "none",
    # Printing (make slides-pdf): one page per slide, never more.
    "pdfMaxPagesPerSlide": 1,
    "pdfSeparateFragments": False,
}

# No copy of the reST sources, no search, no index pages in the deck.
html_copy_source = False
html_show_sourcelink = False
html_use_index = False
html_domain_indices = False
html_permalinks = False
