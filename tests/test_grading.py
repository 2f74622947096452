"""An instructor's grading run: nbgrader's own ``generate_assignment`` and ``autograde`` on every assignment.

The course directory is the one nbgrader expects (``source/<assignment>/<notebook>``); two
students hand in: ``solution`` submits the solution notebooks, ``untouched`` the released
student notebooks as they are. The solutions must get every automatic point, the untouched
notebooks none, and the written questions wait for a person. The README's assignment
section gives an instructor the same commands.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from nbgrader.api import Gradebook

ROOT = Path(__file__).resolve().parents[1]
NAMES = sorted(path.stem for path in (ROOT / "assignments" / "solutions").glob("a*.ipynb"))
STUDENTS = ("solution", "untouched")
CONFIG = """c = get_config()
c.CourseDirectory.db_students = [dict(id="solution"), dict(id="untouched")]
c.CourseDirectory.db_assignments = [{assignments}]
c.ExecutePreprocessor.timeout = 900
"""


def nbgrader(course: Path, *args: str) -> None:
    env = {**os.environ, "GANCOURSE_BUDGET": "smoke"}  # the checks' training at the smoke budget
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])  # nbgrader runs alembic
    done = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course, env=env, capture_output=True, text=True)  # fmt: skip
    assert done.returncode == 0, f"nbgrader {' '.join(args)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"


@pytest.fixture(scope="module")
def course(tmp_path_factory) -> Path:
    """A course directory after generate_assignment and autograde of every assignment."""
    course = tmp_path_factory.mktemp("course")
    (course / "nbgrader_config.py").write_text(CONFIG.format(assignments=", ".join(f"dict(name={n!r})" for n in NAMES)))  # fmt: skip
    for name in NAMES:
        (course / "source" / name).mkdir(parents=True)
        shutil.copy(ROOT / "assignments" / "solutions" / f"{name}.ipynb", course / "source" / name)
        nbgrader(course, "generate_assignment", name, "--force")
        for student, handed_in in zip(STUDENTS, (course / "source", course / "release"), strict=True):
            (course / "submitted" / student / name).mkdir(parents=True)
            shutil.copy(handed_in / name / f"{name}.ipynb", course / "submitted" / student / name)
        nbgrader(course, "autograde", name, "--force")
    return course


def grades(course: Path, student: str) -> dict[str, list]:
    """{assignment: [(cell id, automatic score, points, needs a person)]} of ``student``."""
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        return {
            name: [(g.name, g.auto_score, g.max_score, g.needs_manual_grade)
                   for notebook in gradebook.find_submission(name, student).notebooks for g in notebook.grades]
            for name in NAMES
        }  # fmt: skip


def test_every_assignment_is_graded():
    assert len(NAMES) >= 7


def test_the_released_notebooks_hold_no_solution(course):
    for name in NAMES:
        text = (course / "release" / name / f"{name}.ipynb").read_text()
        assert "BEGIN SOLUTION" not in text and "raise NotImplementedError" in text, name


def test_the_solutions_get_every_automatic_point(course):
    for name, cells in grades(course, "solution").items():
        automatic = [(cell, score, points) for cell, score, points, manual in cells if not manual]
        assert automatic, f"{name}: no automatically graded cell"
        missed = [cell for cell, score, points in automatic if score != points]
        assert not missed, f"{name}: the solution lost points in {missed}"


def test_the_untouched_notebooks_get_none(course):
    for name, cells in grades(course, "untouched").items():
        scored = [cell for cell, score, points, manual in cells if not manual and score]
        assert not scored, f"{name}: the untouched student notebook scored in {scored}"


def test_the_written_questions_wait_for_a_person(course):
    for name, cells in grades(course, "solution").items():
        manual = [cell for cell, score, points, needs_person in cells if needs_person]
        assert len(manual) <= 1, f"{name}: {manual}"  # at most the one written question
