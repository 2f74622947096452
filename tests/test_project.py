"""The project's own conventions: one dependency list, stripped notebooks, one setup cell, lint."""

import ast
import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
SETUP_CELL = """\
# Setup: on Colab, install the course package; elsewhere this cell does nothing.
import sys

if "google.colab" in sys.modules:
    %pip install -q "gancourse @ git+{url}@{branch}"\
"""


def notebooks() -> list[Path]:
    listed = subprocess.run(["git", "ls-files", "*.ipynb"], cwd=ROOT, capture_output=True, text=True).stdout.split()
    found = {p.relative_to(ROOT) for pattern in ("chapters/**/*.ipynb", "assignments/**/*.ipynb") for p in ROOT.glob(pattern)}
    return sorted({Path(p) for p in listed} | found)


def is_solution(path: Path) -> bool:
    return path.parts[:2] == ("assignments", "solutions")


def test_environment_yml_matches_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = set(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        wanted |= set(extra)
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert set(pip_section) - {"-e ."} == wanted
    assert "-e ." in pip_section


def test_there_are_chapter_notebooks_and_the_toc_lists_them_all():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    entries = [c["file"] for part in toc["parts"] for c in part["chapters"]]
    assert notebooks(), "no chapter notebooks found"
    for entry in entries:
        assert list(ROOT.glob(entry + ".*")), f"_toc.yml lists {entry}, which does not exist"
    for nb in notebooks():
        if is_solution(nb):
            assert str(nb.with_suffix("")) not in entries, f"{nb} is a solution: keep it off the site"
        else:
            assert str(nb.with_suffix("")) in entries, f"{nb} is not in _toc.yml"


def test_notebooks_in_git_carry_no_outputs():
    """Except the cells of the solutions whose outputs nbval compares (``# NBVAL_CHECK_OUTPUT``)."""
    for path in notebooks():
        nb = json.loads((ROOT / path).read_text())
        for cell in nb["cells"]:
            checked = is_solution(path) and "# NBVAL_CHECK_OUTPUT" in "".join(cell["source"])
            if cell["cell_type"] == "code" and not checked:
                assert cell["outputs"] == [], f"{path} has outputs committed; strip them"
                assert cell["execution_count"] is None, f"{path} has execution counts committed"


def test_every_notebook_starts_with_the_same_setup_cell_pointing_at_the_repository():
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    url, branch = config["repository"]["url"], config["repository"].get("branch", "main")
    assert re.fullmatch(r"https://github\.com/[\w.-]+/[\w.-]+", url)
    expected = SETUP_CELL.format(url=url, branch=branch)
    for path in notebooks():
        nb = json.loads((ROOT / path).read_text())
        first = next(c for c in nb["cells"] if c["cell_type"] == "code")
        assert "".join(first["source"]) == expected, f"{path}: the setup cell differs from the course's"
        assert "remove-cell" in first["metadata"].get("tags", []), f"{path}: the setup cell is not hidden"


def test_ruff_is_clean():
    done = subprocess.run([sys.executable, "-m", "ruff", "check", "."], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def _code(path: Path) -> str:
    cells = json.loads((ROOT / path).read_text())["cells"]
    return "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")


def test_each_public_function_a_notebook_uses_names_a_chapter_that_uses_it():
    """d2l's "Defined in" habit: the docstring of every public function or class of the package
    that a chapter or an assignment calls names one of them ("chapter 5", "assignment 6"), and
    that notebook does call it."""
    labels = {
        **{f"chapter {int(p.stem[:2])}": p for p in sorted((ROOT / "chapters").glob("*.ipynb"))},
        **{f"assignment {int(p.stem[1])}": p for p in sorted((ROOT / "assignments" / "solutions").glob("*.ipynb"))},
    }
    code = {label: _code(path) for label, path in labels.items()}
    missing, wrong = [], []
    for module in sorted((ROOT / "gancourse").glob("[!_]*.py")):
        for node in ast.parse(module.read_text()).body:
            if not isinstance(node, (ast.FunctionDef, ast.ClassDef)) or node.name.startswith("_"):
                continue
            used = rf"\b{module.stem}\.{node.name}\b|from gancourse\.{module.stem} import[^\n]*\b{node.name}\b"
            users = {label for label, text in code.items() if re.search(used, text)}
            if not users:
                continue
            named = set(re.findall(r"\b(?:chapter|assignment) \d+", ast.get_docstring(node) or "", re.I))
            where = f"{module.stem}.{node.name}"
            if not named:
                missing.append(f"{where} (used in {', '.join(sorted(users))})")
            elif not {n.lower() for n in named} & users:
                wrong.append(f"{where} names {sorted(named)} but is used in {sorted(users)}")
    assert not missing, "docstrings that name no chapter:\n" + "\n".join(missing)
    assert not wrong, "\n".join(wrong)
