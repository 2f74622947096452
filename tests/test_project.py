"""The project's own conventions: one dependency list, stripped notebooks, one setup cell, lint."""

import importlib
import inspect
import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml
from test_adopt import adopt

ROOT = Path(__file__).resolve().parents[1]
SETUP_CELL = adopt.SETUP_CELL  # the setup cell's one definition, which tools/adopt.py rewrites


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


def test_each_public_function_a_notebook_uses_names_the_chapter_that_first_uses_it():
    """d2l's "Defined in" habit: the docstring of every public function or class of the package
    that a chapter or an assignment calls ends "Introduced in chapter 5." (or "assignment 6."),
    naming the first notebook, in the book's order, that calls it."""
    labels = {  # the book's order: the chapters, then the assignments
        **{f"chapter {int(p.stem[:2])}": p for p in sorted((ROOT / "chapters").glob("*.ipynb"))},
        **{f"assignment {int(p.stem[1])}": p for p in sorted((ROOT / "assignments" / "solutions").glob("*.ipynb"))},
    }
    code = {label: _code(path) for label, path in labels.items()}
    # every public function or class a notebook can reach as module.name: a module's own, or one
    # that a package re-exports (metrics) or a module forwards (runs), judged where it is defined
    names = [p.stem for p in (ROOT / "gancourse").iterdir() if not p.stem.startswith("_") and
             (p.suffix == ".py" or (p / "__init__.py").is_file())]  # fmt: skip
    spellings: dict[int, tuple[object, list[str]]] = {}
    for name in sorted(names):
        module = importlib.import_module(f"gancourse.{name}")
        for attr in dir(module):
            obj = getattr(module, attr, None)
            if attr.startswith("_") or not (inspect.isfunction(obj) or inspect.isclass(obj)):
                continue
            if getattr(obj, "__module__", "").startswith("gancourse"):
                spellings.setdefault(id(obj), (obj, []))[1].append(f"{name}.{attr}")
    missing, wrong = [], []
    for obj, spelled in spellings.values():
        used = "|".join(rf"\b{re.escape(s)}\b|from gancourse\.{s.split('.')[0]} import[^\n]*\b{s.split('.')[1]}\b" for s in spelled)
        users = [label for label, text in code.items() if re.search(used, text)]
        if not users:
            continue
        named = re.findall(r"^Introduced in ((?:chapter|assignment) \d+)\.$", inspect.getdoc(obj) or "", re.M)
        where = " / ".join(spelled)
        if not named:
            missing.append(f"{where} (first used in {users[0]})")
        elif named != [users[0]]:
            wrong.append(f"{where} says it is introduced in {', '.join(named)}; {users[0]} uses it first ({', '.join(users)})")
    assert not missing, "docstrings that do not say where the function is introduced:\n" + "\n".join(missing)
    assert not wrong, "\n".join(wrong)


def test_the_licences_and_the_citation_are_there_and_agree_with_the_project():
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert pyproject["project"]["license"] == "MIT"
    assert (ROOT / "LICENSE").read_text().startswith("MIT License")
    content = (ROOT / "LICENSE-CONTENT.md").read_text()
    assert "CC BY 4.0" in content and "https://creativecommons.org/licenses/by/4.0/legalcode" in content
    citation = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    assert citation["cff-version"] == "1.2.0" and citation["license"] == "MIT"
    assert citation["repository-code"] == config["repository"]["url"]
    assert citation["title"] == config["title"] and citation["version"] == pyproject["project"]["version"]
    assert "CC BY 4.0" in config["html"]["extra_footer"]  # on every page of the site
    readme = (ROOT / "README.md").read_text()
    assert all(name in readme for name in ("LICENSE", "LICENSE-CONTENT.md", "CITATION.cff"))


WORKFLOW = ROOT / ".github" / "workflows" / "course.yml"


def test_the_workflow_that_tests_and_publishes_the_course_lints_clean(tmp_path):
    import platform
    import shutil

    if not ((sys.platform == "linux" and platform.machine() == "x86_64") or sys.platform == "win32"):
        pytest.skip("actionlint's wheel exists for Linux x86-64 and Windows only; CI (Linux x86-64) runs this check")
    actionlint = shutil.which("actionlint", path=str(Path(sys.executable).parent))
    assert actionlint, "actionlint is missing: pip install -e '.[dev]'"
    done = subprocess.run([actionlint, str(WORKFLOW)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    broken = tmp_path / "broken.yml"  # the linter does fail on a mistake
    broken.write_text(WORKFLOW.read_text().replace("runs-on: ubuntu-24.04", "runs_on: ubuntu-24.04", 1))
    assert subprocess.run([actionlint, str(broken)], capture_output=True).returncode != 0
    jobs = yaml.safe_load(WORKFLOW.read_text())["jobs"]
    runs = {job: [step.get("run") for step in spec.get("steps", [])] for job, spec in jobs.items()}
    assert "make test" in runs["test"] and "make book" in runs["book"]
    assert jobs["book"]["needs"] == "test" and jobs["deploy"]["needs"] == "book"
    uploaded = next(s for s in jobs["book"]["steps"] if s.get("uses", "").startswith("actions/upload-pages-artifact"))
    assert uploaded["with"]["path"] == "_build/html"
