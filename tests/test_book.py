"""The website builds from a clean state, warning-free, with every page executed."""

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def test_book_builds_without_warnings_and_links_each_chapter_to_colab(built_site):
    html, returncode, log = built_site  # built once per session, by tests/conftest.py
    assert returncode == 0, log[-3000:]
    assert not re.search(r"^.*\bWARNING: (?!.*Kernel is running over TCP)", log, re.M), log[-3000:]
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    repo = config["repository"]["url"].removeprefix("https://github.com/")
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    for chapter in (c["file"] for part in toc["parts"] for c in part["chapters"]):
        page = (html / f"{chapter}.html").read_text()
        if not (ROOT / f"{chapter}.ipynb").exists():
            continue  # a Markdown page: no notebook to launch
        colab = f"https://colab.research.google.com/github/{repo}/blob/{config['repository']['branch']}/{chapter}.ipynb"
        assert colab in page, f"{chapter}: no Colab launch link to {colab}"
        assert "Traceback" not in page
        output = 'class="cell_output'  # (the bare word is in every page's thebe settings)
        if chapter.startswith("assignments/"):  # shown as handed out: stubs, no outputs, no solution
            assert "NotImplementedError" in page and output not in page, chapter
            assert "BEGIN SOLUTION" not in page, f"{chapter}: a solution is on the site"
        else:
            assert output in page, f"{chapter}: the page shows no executed output"
    assert not (html / "assignments" / "solutions").exists(), "the solutions were published"
    for page_path in html.rglob("*.html"):
        page = page_path.read_text()
        # a self-contained site: every script and stylesheet comes from its own _static/
        remote = re.findall(r"<script[^>]*\bsrc=\"(?:https?:)?//[^\"]+|<link[^>]*\bhref=\"(?:https?:)?//[^\"]+\.css", page)
        assert not remote, f"{page_path.relative_to(html)} loads {remote[0]}"
    assert (html / "_static" / "mathjax" / "tex-chtml.js").is_file()
