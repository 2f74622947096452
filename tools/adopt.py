"""Point the course at a fork: the repository its website links to and its notebooks install from.

    python tools/adopt.py https://github.com/me/gan-course --branch main
    make adopt REPO=https://github.com/me/gan-course BRANCH=main

The address is kept in two kinds of places, and this rewrites both: ``_config.yml``
(``repository.url`` and ``branch``: the site's repository button and every page's Colab
launch link) and the setup cell that opens every notebook, which on Colab installs
``gancourse`` from that address (chapters and solutions; the student notebooks are then
generated again from the solutions, and ``CITATION.cff`` names the new repository too).
Everything is checked before anything is written: a file that does not have the expected
form is named and nothing changes. Running it twice is harmless. The record of the
chapters' claims stays valid: the install address is not part of a chapter's code hash.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

SETUP_CELL = """\
# Setup: on Colab, install the course package; elsewhere this cell does nothing.
import sys

if "google.colab" in sys.modules:
    %pip install -q "gancourse @ git+{url}@{branch}"\
"""
INSTALL_LINE = '    %pip install -q "gancourse @ git+{url}@{branch}"'
# Jupyter Book's repository button and Colab's launch links are GitHub's.
GITHUB_REPO = re.compile(r"https://github\.com/[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}")
BRANCH = re.compile(r"(?!-)(?!.*\.\.)(?!.*//)[A-Za-z0-9._/-]{1,100}(?<![/.])")
CONFIG_KEYS = re.compile(r"^(repository:\n(?:[ \t]+.*\n|\s*\n)*?[ \t]+url:[ \t]*)(\S+)(.*\n)", re.M)


def setup_cell(url: str, branch: str) -> str:
    """The first code cell of every notebook, installing gancourse from ``url`` at ``branch``."""
    return SETUP_CELL.format(url=url, branch=branch)


def notebooks(root: Path = ROOT) -> list[Path]:
    """The notebooks whose setup cell is rewritten: the chapters and the assignments' solutions
    (the student notebooks are generated from the solutions)."""
    return sorted([*root.glob("chapters/*.ipynb"), *root.glob("assignments/solutions/*.ipynb")])


def check_address(url: str, branch: str) -> str:
    """``url`` without a trailing ``/`` or ``.git``; a ValueError unless it is a GitHub repository and ``branch`` a branch name."""
    url = url.strip().removesuffix("/").removesuffix(".git")
    if not GITHUB_REPO.fullmatch(url):
        raise ValueError(f"{url!r} is not a GitHub repository's address: give one like https://github.com/OWNER/NAME.")
    if not BRANCH.fullmatch(branch):
        raise ValueError(f"{branch!r} is not a branch name: give one like main.")
    return url


def rewrite_config(text: str, url: str, branch: str) -> str:
    """``_config.yml`` with ``repository.url`` and ``repository.branch`` set; comments kept."""
    if not CONFIG_KEYS.search(text):
        raise ValueError("_config.yml has no repository.url to rewrite.")
    text = CONFIG_KEYS.sub(lambda m: m[1] + url + m[3], text, count=1)
    block = re.search(r"^repository:\n(?:[ \t]+.*\n|\s*\n)*", text, re.M)
    branch_line = re.compile(r"^([ \t]+branch:[ \t]*)\S+(.*)$", re.M)
    inside = block[0]
    if branch_line.search(inside):
        inside = branch_line.sub(lambda m: m[1] + branch + m[2], inside, count=1)
    else:
        indent = re.search(r"^([ \t]+)url:", inside, re.M)[1]
        inside = re.sub(r"^([ \t]+url:.*\n)", lambda m: m[1] + f"{indent}branch: {branch}\n", inside, count=1, flags=re.M)
    return text[: block.start()] + inside + text[block.end() :]


def rewrite_notebook(path: Path, url: str, branch: str) -> str:
    """The notebook's text with its setup cell installing from ``url``; only that line changes."""
    text = path.read_text(encoding="utf-8")
    try:
        cells = json.loads(text)["cells"]
        first = next(cell for cell in cells if cell["cell_type"] == "code")
    except (ValueError, KeyError, TypeError, StopIteration):
        raise ValueError(f"{path} is not a notebook with a code cell.") from None
    lines = first["source"] if isinstance(first["source"], list) else first["source"].splitlines(keepends=True)
    if not re.fullmatch(re.escape(SETUP_CELL).replace(r"\{url\}@\{branch\}", r"\S+"), "".join(lines)):
        raise ValueError(f"{path}: its first code cell is not the course's setup cell; restore it first.")
    old = json.dumps(lines[-1], ensure_ascii=False)
    new = json.dumps(INSTALL_LINE.format(url=url, branch=branch), ensure_ascii=False)
    if text.count(old) != 1:
        raise ValueError(f"{path}: the setup cell's install line occurs {text.count(old)} times; expected once.")
    return text.replace(old, new)


def adopt(url: str, branch: str = "main", root: Path = ROOT) -> list[Path]:
    """Point the course in ``root`` at ``url``/``branch``; return the files that changed."""
    url = check_address(url, branch)
    planned = {root / "_config.yml": rewrite_config((root / "_config.yml").read_text(encoding="utf-8"), url, branch)}
    for path in notebooks(root):
        planned[path] = rewrite_notebook(path, url, branch)
    citation = root / "CITATION.cff"
    if citation.exists():
        text = citation.read_text(encoding="utf-8")
        planned[citation] = re.sub(r"^(repository-code:[ \t]*).*$", lambda m: m[1] + f'"{url}"', text, flags=re.M)
    assignments = _load_assignments(root)
    changed = [path for path, text in planned.items() if path.read_text(encoding="utf-8") != text]
    for path in changed:
        assignments.write(path, text=planned[path])  # atomically
    return changed + assignments.write_generated()


def _load_assignments(root: Path):
    """``tools/assignments.py`` of the course in ``root`` (it writes the student notebooks)."""
    spec = importlib.util.spec_from_file_location("course_assignments", root / "tools" / "assignments.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("repo", help="the fork's address, e.g. https://github.com/me/gan-course")
    parser.add_argument("--branch", default="main", help="the branch Colab installs from and the site links to (main)")
    args = parser.parse_args(argv)
    try:
        changed = adopt(args.repo, args.branch)
    except (ValueError, OSError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    url = check_address(args.repo, args.branch)
    print(f"the course now points at {url} ({args.branch}): {len(changed)} file(s) changed")
    for path in changed:
        print(f"  {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
