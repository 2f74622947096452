"""Sphinx extension of the course: the ARIA fixes the built pages need to meet WCAG 2.1 AA.

The theme (pydata-sphinx-theme, through sphinx-book-theme), myst-nb and docutils write a few
attributes that axe-core reports; each fix below is a plain substitution in the written HTML,
made once every page is written (``build-finished``), so no installed package is changed.
The course's own style sheet, ``_static/accessibility.css``, does the rest (link contrast,
reflow at 320 CSS px).
"""

from __future__ import annotations

import re
from pathlib import Path

# (what axe-core reports, pattern, replacement); each replacement is idempotent, so a page
# that an incremental build did not rewrite may be fixed twice without harm.
FIXES = [
    # label-content-name-mismatch (WCAG 2.5.3): the search button's aria-label "Search" hides
    # its visible text "Search Ctrl+K"; without it the name is what the button shows.
    (
        "label-content-name-mismatch",
        re.compile(r'(<button class="[^"]*\bsearch-button__button\b[^"]*"[^>]*?) aria-label="Search"'),
        r"\1",
    ),
    # label-content-name-mismatch: the colour-mode button is named "Color mode" but its icons
    # carry the titles "Light", "Dark" and "System Settings", which Font Awesome turns into
    # text inside the button (an SVG <title>); the icons are decoration, the button's name
    # and tooltip say what it does.
    (
        "label-content-name-mismatch",
        re.compile(r'(<i class="theme-switch [^"]*"[^>]*?) title="[^"]*"'),
        r"\1",
    ),
    # label-content-name-mismatch: myst-nb names a hidden cell's toggle "Toggle hidden content"
    # while it shows "Show code cell source"; without the aria-label, the visible text names it.
    ("label-content-name-mismatch", re.compile(r'<summary aria-label="Toggle hidden content">'), "<summary>"),
    # image-alt (WCAG 1.1.1): chapter 10's which-is-real quiz names its images "quiz image N"
    # (the chapter's code cells stay as they are: the record of its runs is keyed on them). A
    # test may not describe what it asks about, but must say what the image is.
    (
        "image-alt",
        re.compile(r'alt="quiz image (\d+)"'),
        r'alt="Quiz image \1 of 8: one Fashion-MNIST garment of 28 by 28 pixels, either a real '
        r'test image or a generated one; the answer is hidden below it"',
    ),
    # aria-required-children and aria-deprecated-role: docutils writes the references as a
    # role="list" of role="doc-biblioentry" (deprecated in DPUB-ARIA 1.1); they are list items.
    ("aria-deprecated-role", re.compile(r'role="doc-biblioentry"'), 'role="listitem"'),
]


def fix_page(html: str) -> str:
    """The page with every fix of :data:`FIXES` applied."""
    for _rule, pattern, replacement in FIXES:
        html = pattern.sub(replacement, html)
    return html


def fix_built_pages(app, exception) -> None:
    if exception is not None or app.builder.format != "html":
        return
    outdir = Path(app.outdir)
    for page in outdir.rglob("*.html"):
        if "_static" in page.relative_to(outdir).parts:
            continue
        html = page.read_text(encoding="utf-8")
        fixed = fix_page(html)
        if fixed != html:
            page.write_text(fixed, encoding="utf-8")


def setup(app):
    app.connect("build-finished", fix_built_pages)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
