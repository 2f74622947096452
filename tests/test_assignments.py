"""The assignments: student notebooks generated from the solutions, checks that catch mistakes.

- every student notebook is what ``tools/assignments.py`` makes of its solution (none stale);
- a student notebook holds no line of any solution;
- run as handed out, every check cell stops (``NotImplementedError`` from the stubs) and
  nothing else goes wrong;
- the solutions pass their own checks (here in-process, once each; tests/test_colab.py runs
  them as notebooks with nbval, in a fresh environment);
- for every task, plausible wrong answers are put in place of the solution and the task's
  check must stop them, with a message that names the mistake (``WRONG`` below). Each runs
  only its task: the injected cell and the cells up to its check, from a snapshot of the
  solution's run just before that cell.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import io
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import inprocess
import pytest

from gancourse.checks import CheckFailed

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import assignments as tool  # noqa: E402

SOLUTIONS = sorted(tool.SOLUTIONS.glob("*.ipynb"))
NAMES = [p.stem for p in SOLUTIONS]


def load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def test_there_are_at_least_five_assignments_and_each_has_its_student_notebook():
    assert len(SOLUTIONS) >= 5, [p.name for p in SOLUTIONS]
    for _, student in tool.pairs():
        assert student.exists(), f"{student} is missing: run python tools/assignments.py"


def test_student_notebooks_are_up_to_date_with_their_solutions():
    stale = tool.out_of_date()
    assert not stale, f"out of date: {[str(p.relative_to(ROOT)) for p in stale]}; run python tools/assignments.py"


def test_the_generator_refuses_unpaired_markers():
    broken = {"cells": [{"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None,
                         "source": ["def f():\n", "    ### BEGIN SOLUTION\n", "    return 1\n"]}]}  # fmt: skip
    with pytest.raises(tool.MarkerError, match="never closed"):
        tool.student_version(broken, "broken.ipynb")


def test_solution_and_check_cells_carry_nbgrader_metadata():
    for name in NAMES:
        nb = load(tool.SOLUTIONS / f"{name}.ipynb")
        for i in solution_cells(nb):
            meta = nb["cells"][i]["metadata"]["nbgrader"]
            assert meta["solution"] and not meta["locked"] and meta["grade_id"] == nb["cells"][i]["id"]
        for i in check_cells(nb):
            meta = nb["cells"][i]["metadata"]["nbgrader"]
            assert meta["grade"] and meta["locked"] and meta["points"] == 1 and not meta["solution"]
        ids = [c["metadata"]["nbgrader"]["grade_id"] for c in nb["cells"] if "nbgrader" in c["metadata"]]
        assert len(ids) == len(set(ids)), f"{name}: grade ids repeat"


@pytest.mark.parametrize("name", NAMES)
def test_the_student_notebook_contains_no_solution_line(name):
    solution = load(tool.SOLUTIONS / f"{name}.ipynb")
    student_text = "\n".join(tool.source(c) for c in load(tool.STUDENTS / f"{name}.ipynb")["cells"])
    outside = set()
    for cell in solution["cells"]:
        text = tool.source(cell)
        inside = set(tool.solution_lines(text))
        outside |= {line.strip() for line in text.split("\n") if line not in inside}
    hidden = [
        line.strip()
        for cell in solution["cells"]
        for line in tool.solution_lines(tool.source(cell))
        if line.strip() and not line.strip().startswith("#") and line.strip() not in outside
    ]
    assert hidden, f"{name}: the solution notebook marks no solution"
    assert "BEGIN SOLUTION" not in student_text and "END SOLUTION" not in student_text
    student_lines = {line.strip() for line in student_text.split("\n")}
    leaked = [line for line in hidden if line in student_lines]
    assert not leaked, f"{name}: solution lines in the student notebook: {leaked}"


def check_cells(nb: dict) -> list[int]:
    return [i for i, c in enumerate(nb["cells"]) if "check" in c["metadata"].get("tags", [])]


def solution_cells(nb: dict) -> list[int]:
    return [i for i, c in enumerate(nb["cells"]) if c["cell_type"] == "code" and tool.solution_lines(tool.source(c))]


@pytest.mark.parametrize("name", NAMES)
def test_every_solution_cell_is_followed_by_its_check(name):
    nb = load(tool.SOLUTIONS / f"{name}.ipynb")
    solutions, checks = solution_cells(nb), check_cells(nb)
    assert solutions and checks
    for here, there in zip(solutions, solutions[1:] + [len(nb["cells"])], strict=True):
        assert any(here < c < there for c in checks), f"{name}: no check cell between cells {here} and {there}"


@pytest.mark.parametrize("name", NAMES)
def test_the_checks_stop_on_the_stubs_and_nothing_else_fails(name):
    nb = load(tool.STUDENTS / f"{name}.ipynb")
    runs = inprocess.run(nb, keep_going=True)
    errors = {r.index: r.error for r in runs if r.error is not None}
    for index, error in errors.items():
        assert isinstance(error, NotImplementedError), f"{name} cell {index}: {type(error).__name__}: {error}"
    for index in check_cells(nb):
        assert index in errors, f"{name}: the check in cell {index} passes on the stubs"


@dataclass
class Solved:
    """A solution notebook run once in this process: its cells' records, what it printed, and a
    snapshot before each code cell, from which a wrong answer's test runs only its own task."""

    runs: list[inprocess.CellRun]
    printed: str
    before: dict[int, inprocess.Snapshot]


@functools.cache
def solved(name: str) -> Solved:
    before: dict[int, inprocess.Snapshot] = {}
    with contextlib.redirect_stdout(io.StringIO()) as printed:
        runs = inprocess.run(load(tool.SOLUTIONS / f"{name}.ipynb"), snapshots=before)
    return Solved(runs, printed.getvalue(), before)


@pytest.mark.parametrize("name", NAMES)
def test_the_solutions_pass_their_checks(name):
    nb = load(tool.SOLUTIONS / f"{name}.ipynb")
    run = solved(name)
    failed = [r for r in run.runs if r.error is not None]
    assert not failed, f"{name} cell {failed[0].index}: {failed[0].error!r}"
    assert run.runs[-1].index == max(i for i, c in enumerate(nb["cells"]) if c["cell_type"] == "code")
    assert run.printed.count("\N{CHECK MARK}") >= len(check_cells(nb)), run.printed


@pytest.mark.parametrize("name", NAMES)
def test_the_solutions_store_the_outputs_nbval_compares(name):
    nb = load(tool.SOLUTIONS / f"{name}.ipynb")
    checked = [c for c in nb["cells"] if c["cell_type"] == "code" and tool.CHECK_OUTPUT in tool.source(c)]
    assert checked, f"{name}: no cell marked {tool.CHECK_OUTPUT}"
    for cell in nb["cells"]:
        if cell["cell_type"] != "code":
            continue
        if cell in checked:
            assert cell["outputs"], f"{name}: a checked cell has no stored output; run python tools/assignments.py --refresh"
            assert cell["execution_count"], f"{name}: nbval skips a checked cell without an execution count"
        else:
            assert cell["outputs"] == [], f"{name}: outputs stored in an unchecked cell; strip them"
            assert cell["execution_count"] is None


# ----------------------------------------------------------------------------- answers injected
# tests/wrong_answers/<assignment>.py lists, for each task, plausible wrong answers:
# WRONG = [(the function whose solution is replaced, the wrong body, what the check must say), ...]
# tests/right_answers/<assignment>.py lists correct answers in other styles than the solution's
# (a loop, float32, a list for a tuple, another formula): RIGHT = [(function, body), ...]
def answers(folder: str, table: str) -> list[tuple]:
    """``(assignment, *entry)`` for every entry of ``table`` in ``tests/<folder>/<assignment>.py``."""
    found = []
    for path in sorted((ROOT / "tests" / folder).glob("*.py")):
        spec = importlib.util.spec_from_file_location(f"{folder}_{path.stem}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        found += [(path.stem, *entry) for entry in getattr(module, table)]
    return found


WRONG = answers("wrong_answers", "WRONG")
RIGHT = answers("right_answers", "RIGHT")


def inject(nb: dict, function: str, body: str) -> tuple[dict, int]:
    """The notebook with the solution of ``function`` replaced by ``body``; and that cell's index."""
    nb = json.loads(json.dumps(nb))
    for index, cell in enumerate(nb["cells"]):
        text = tool.source(cell)
        if cell["cell_type"] == "code" and re.search(rf"^\s*def {function}\(", text, re.M):
            (begin, end), *_ = tool.solution_regions(text)
            lines = text.split("\n")
            indent = re.match(r"\s*", lines[begin]).group()
            cell["source"] = "\n".join(lines[:begin] + [indent + line for line in body.split("\n")] + lines[end + 1 :])
            return nb, index
    raise AssertionError(f"no solution cell defines {function}")


def run_task(name: str, function: str, body: str) -> tuple[int, list]:
    """Only the task, with ``body`` as ``function``: from the solution's state just before the
    injected cell up to its check cell. Returns the check cell's index and the cells' runs."""
    nb, index = inject(load(tool.SOLUTIONS / f"{name}.ipynb"), function, body)
    check = min(c for c in check_cells(nb) if c > index)
    snapshot = solved(name).before.get(index)
    assert snapshot, f"the solution of {name} stopped before cell {index}; see test_the_solutions_pass_their_checks"
    return check, inprocess.run(nb, start=index, until=check, snapshot=snapshot)


@pytest.mark.parametrize(("name", "function", "body", "message"), WRONG, ids=[f"{w[0]}-{w[1]}-{w[3][:30]}" for w in WRONG])
def test_a_wrong_answer_is_caught_by_its_check(name, function, body, message):
    check, runs = run_task(name, function, body)
    failed = [r for r in runs if r.error is not None]
    assert failed, f"the check in cell {check} let this wrong {function} through:\n{body}"
    first = failed[0]
    assert first.index == check, f"cell {first.index} failed before the check: {first.error!r}"
    assert isinstance(first.error, CheckFailed), repr(first.error)
    assert message in str(first.error), f"the message does not name the mistake ({message!r}): {first.error}"


@pytest.mark.parametrize(("name", "function", "body"), RIGHT, ids=[f"{r[0]}-{r[1]}-{i}" for i, r in enumerate(RIGHT)])
def test_a_right_answer_in_another_style_passes_its_check(name, function, body):
    _, runs = run_task(name, function, body)
    failed = [r for r in runs if r.error is not None]
    assert not failed, f"cell {failed[0].index} refused this correct {function}:\n{body}\n{failed[0].error}"


def test_every_assignment_has_wrong_answers_for_every_task():
    for name in NAMES:
        nb = load(tool.SOLUTIONS / f"{name}.ipynb")
        functions = {
            m.group(1)
            for i in solution_cells(nb)
            for m in [re.search(r"^\s*def (\w+)\(", tool.source(nb["cells"][i]), re.M)]
            if m
        }
        tested = {w[1] for w in WRONG if w[0] == name}
        assert functions and functions <= tested, f"{name}: no wrong answer injected for {sorted(functions - tested)}"
