"""``make adopt``: the course pointed at a fork in one command (tools/adopt.py)."""

import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
OLD = yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]["url"]
# a fork's address, other than the one the course points at now (which may be a fork already)
FORK = next(url for url in ("https://github.com/someone/their-gan-course", "https://github.com/someone/other-gan-course")
            if url != OLD)  # fmt: skip


def load(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


adopt = load(ROOT / "tools" / "adopt.py", "adopt")
bench = load(ROOT / "benchmarks" / "bench_claims.py", "bench_claims_for_adopt")


@pytest.fixture
def course(tmp_path) -> Path:
    """A copy of the course's files, as a fresh clone holds them."""
    listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                            capture_output=True, text=True, check=True).stdout.splitlines()  # fmt: skip
    copy = tmp_path / "course"
    for name in listed:
        if (ROOT / name).is_file():
            (copy / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, copy / name)
    return copy


def run_adopt(course: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "tools/adopt.py", *args], cwd=course, capture_output=True, text=True)


def text_files(folder: Path) -> dict[str, str]:
    files = {}
    for path in folder.rglob("*"):
        if path.is_file() and path.suffix in (".ipynb", ".yml", ".yaml", ".md", ".cff", ".toml", ".py", ".txt", ".bib"):
            files[str(path.relative_to(folder))] = path.read_text(encoding="utf-8")
    return files


def test_adopt_points_every_link_and_install_address_at_the_fork_and_changes_nothing_else(course):
    before = text_files(course)
    done = run_adopt(course, FORK + ".git", "--branch", "teaching")
    assert done.returncode == 0, done.stderr
    after = text_files(course)
    config = yaml.safe_load((course / "_config.yml").read_text())["repository"]
    assert (config["url"], config["branch"], config["path_to_book"]) == (FORK, "teaching", "")
    notebooks = sorted(course.glob("chapters/*.ipynb")) + sorted(course.glob("assignments/**/*.ipynb"))
    assert len(notebooks) >= 25
    for path in notebooks:
        first = next(c for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code")
        assert "".join(first["source"]) == adopt.setup_cell(FORK, "teaching"), path
    assert yaml.safe_load((course / "CITATION.cff").read_text())["repository-code"] == FORK
    assert not [name for name, text in after.items() if OLD in text and name != "tests/test_adopt.py"]
    for name in after:  # every line that changed names the fork or its branch
        changed = set(after[name].splitlines()) - set(before[name].splitlines())
        assert all(FORK in line or line == "  branch: teaching" for line in changed), (name, changed)
    assert subprocess.run([sys.executable, "tools/assignments.py", "--check"], cwd=course).returncode == 0
    for path in sorted(course.glob("chapters/*.ipynb")):  # the claims record still holds
        assert bench.code_hash(path) == bench.code_hash(ROOT / "chapters" / path.name)
    again = run_adopt(course, FORK, "--branch", "teaching")
    assert again.returncode == 0 and "0 file(s) changed" in again.stdout
    assert text_files(course) == after


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["http://github.com/someone/gan-course"], "is not a GitHub repository's address"),
        (["https://gitlab.com/someone/gan-course"], "is not a GitHub repository's address"),
        (["https://github.com/someone"], "is not a GitHub repository's address"),
        ([""], "is not a GitHub repository's address"),
        ([FORK, "--branch=-main"], "is not a branch name"),
        ([FORK, "--branch", "a..b"], "is not a branch name"),
        ([FORK, "--branch", "my branch"], "is not a branch name"),
    ],
)
def test_adopt_refuses_what_is_not_a_fork_and_changes_nothing(course, args, message):
    before = text_files(course)
    done = run_adopt(course, *args)
    assert done.returncode == 2 and done.stderr.startswith("error: ") and done.stderr.count("\n") == 1, done.stderr
    assert message in done.stderr
    assert text_files(course) == before


def test_adopt_names_a_notebook_whose_setup_cell_was_edited_and_writes_nothing(course):
    path = course / "chapters" / "05_dcgan.ipynb"
    nb = json.loads(path.read_text())
    first = next(c for c in nb["cells"] if c["cell_type"] == "code")
    first["source"][-1] = first["source"][-1].replace("-q ", "")
    path.write_text(json.dumps(nb, indent=1, ensure_ascii=False, sort_keys=True) + "\n")
    before = text_files(course)
    done = run_adopt(course, FORK)
    assert done.returncode == 2 and "05_dcgan.ipynb: its first code cell is not the course's setup cell" in done.stderr
    assert text_files(course) == before
