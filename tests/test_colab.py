"""Every notebook runs as Colab runs it: alone, in a fresh environment, from the package's wheel.

How they are run is in ``colab.py``; ``conftest.py`` starts that in the background when the
tests are collected, and the tests here check each notebook's outcome. Chapters and
solutions must pass nbval there (no error in any cell; the outputs of the cells marked
``# NBVAL_CHECK_OUTPUT`` as stored): this is the suite's one nbval run of them. A student
notebook stops only where its stubs raise ``NotImplementedError``. In every run the kernel
must be the fresh environment's Python, with the wheel's gancourse.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from colab import CHAPTERS, NOTEBOOKS, ROOT, SOLUTIONS, STUDENTS, Outcome, alone, nbval


def _check_probe(outcome: Outcome, probe) -> None:
    """The kernel ran the fresh environment's Python and imported the wheel's gancourse."""
    assert probe, "the notebook's last cell did not run"
    prefix, module = probe
    venv = outcome.python.parent.parent
    assert Path(prefix) == venv, f"the kernel ran {prefix}, not the fresh environment {venv}"
    assert Path(module).is_relative_to(venv) and not Path(module).is_relative_to(ROOT), module


@pytest.mark.parametrize("notebook", CHAPTERS + SOLUTIONS, ids=lambda p: str(p.relative_to(ROOT)))
def test_notebook_passes_nbval_alone_in_a_fresh_environment(notebook, colab_outcome):
    outcome = colab_outcome(notebook)
    assert outcome.returncode == 0, f"{notebook.relative_to(ROOT)} failed outside the repository:\n{outcome.stdout[-4000:]}\n{outcome.stderr[-2000:]}"
    assert " passed" in outcome.stdout and " failed" not in outcome.stdout, outcome.stdout[-2000:]
    _check_probe(outcome, outcome.probe)


@pytest.mark.parametrize("notebook", STUDENTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_student_notebook_stops_only_at_its_stubs_in_a_fresh_environment(notebook, colab_outcome):
    outcome = colab_outcome(notebook)
    lines = outcome.stdout.strip().splitlines()
    assert lines, f"{notebook.name}: the runner printed nothing:\n{outcome.stderr[-3000:]}"
    result = json.loads(lines[-1])
    assert "failed" not in result, f"{notebook.relative_to(ROOT)} failed outside the repository:\n{result['failed']}"
    _check_probe(outcome, result["probe"])
    assert result["errors"], f"{notebook.name}: no stub raised; is this the student version?"
    wrong = [e for e in result["errors"] if e[1] != "NotImplementedError"]
    assert not wrong, f"{notebook.name}: errors other than the stubs' NotImplementedError: {wrong}"


def test_the_fresh_nbval_run_compares_the_checked_outputs(colab_python, tmp_path):
    """A cell marked ``# NBVAL_CHECK_OUTPUT`` whose stored output differs fails; unmarked ones do not."""
    cell = {"cell_type": "code", "execution_count": 1, "metadata": {}}
    stored = [{"output_type": "stream", "name": "stdout", "text": "2\n"}]
    nb = {"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [
        {**cell, "id": "a", "source": "print(1)", "outputs": stored},
        {**cell, "id": "b", "source": "# NBVAL_CHECK_OUTPUT\nprint(2)", "outputs": stored},
    ]}  # fmt: skip
    path = tmp_path / "checked.ipynb"
    path.write_text(json.dumps(nb), encoding="utf-8")
    assert nbval(colab_python, *alone(colab_python, path, tmp_path / "same")).returncode == 0
    nb["cells"][1]["source"] = "# NBVAL_CHECK_OUTPUT\nprint(3)"
    path.write_text(json.dumps(nb), encoding="utf-8")
    done = nbval(colab_python, *alone(colab_python, path, tmp_path / "changed"))
    assert done.returncode == 1 and "1 failed" in done.stdout, done.stdout[-2000:]


def _code(notebook: Path) -> str:
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    return "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")


def test_there_are_notebooks_of_each_kind_and_every_notebook_runs_as_its_own():
    """Every notebook of the course is checked here, once, as what it is: a chapter, or an
    assignment's student notebook (stubs, no solution) or its solution, one of each."""
    course = [p for folder in ("chapters", "assignments") for p in (ROOT / folder).rglob("*.ipynb")]
    course = sorted(p for p in course if ".ipynb_checkpoints" not in p.parts)
    tested = CHAPTERS + SOLUTIONS + STUDENTS  # the notebooks the tests above check
    assert sorted(tested) == course, "notebooks the tests above would leave out (or check twice)"
    assert sorted(NOTEBOOKS) == course, "notebooks the fresh-environment runs would leave out (or run twice)"
    assert CHAPTERS and all(p.parent == ROOT / "chapters" for p in CHAPTERS)
    assert STUDENTS and [p.name for p in STUDENTS] == [p.name for p in SOLUTIONS]
    for student, solution in zip(STUDENTS, SOLUTIONS, strict=True):
        assert "raise NotImplementedError" in _code(student) and "### BEGIN SOLUTION" not in _code(student), student
        assert "### BEGIN SOLUTION" in _code(solution) and "raise NotImplementedError" not in _code(solution), solution
