"""Every notebook runs as Colab runs it: alone, in a fresh environment, from the package's wheel.

Once per session: build the ``gancourse`` wheel, create a virtual environment outside the
repository, install PyTorch in it first (Colab has it preinstalled; ``TORCH`` as in the
Makefile), then the wheel with its dependencies, as the notebooks' setup cell does on
Colab, and a kernel. Then each chapter, student and solution notebook is copied alone into
an empty folder and executed there at the smoke budget, with a fresh home directory and
nothing of the repository on the path. Chapter and solution notebooks must run without an
error; a student notebook stops only where its stubs raise ``NotImplementedError``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TORCH = os.environ.get("TORCH", "torch==2.14.1 torchvision==0.29.1").split()
CHAPTERS = sorted((ROOT / "chapters").glob("*.ipynb"))
STUDENTS = sorted((ROOT / "assignments").glob("*.ipynb"))
SOLUTIONS = sorted((ROOT / "assignments" / "solutions").glob("*.ipynb"))


def _run(cmd, **kwargs):
    done = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, **kwargs)
    assert done.returncode == 0, f"{' '.join(map(str, cmd))} failed:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
    return done


@pytest.fixture(scope="session")
def colab_python(tmp_path_factory):
    """The Python of a fresh virtual environment with the wheel installed, outside the repository."""
    base = tmp_path_factory.mktemp("colab")
    # the wheel is built from a copy of the files git tracks or would track, not from whatever
    # else lies in the working tree (a stale build/ folder, caches)
    files = _run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=ROOT).stdout.split("\n")
    source = base / "source"
    for name in filter(None, files):
        if (ROOT / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, source / name)
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", base / "dist", source])
    wheels = list((base / "dist").glob("gancourse-*.whl"))
    assert len(wheels) == 1, wheels
    _run([sys.executable, "-m", "venv", base / "venv"])
    python = base / "venv" / "bin" / "python"
    _run([python, "-m", "pip", "install", "-q", *TORCH], timeout=1800)
    _run([python, "-m", "pip", "install", "-q", wheels[0], "nbclient", "ipykernel"], timeout=1800)
    return python


def _execute(python: Path, notebook: Path, folder: Path, allow_errors: bool) -> dict:
    folder.mkdir()
    home = folder / "home"
    home.mkdir()
    copy = shutil.copy(notebook, folder / notebook.name)
    env = {
        "PATH": f"{python.parent}{os.pathsep}/usr/local/bin:/usr/bin:/bin",
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "GANCOURSE_BUDGET": "smoke",
    }
    cmd = [python, ROOT / "tests" / "colab_runner.py", copy] + (["--allow-errors"] if allow_errors else [])
    done = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, cwd=folder, env=env, timeout=1200)
    lines = done.stdout.strip().splitlines()
    assert lines, f"{notebook.name}: the runner printed nothing:\n{done.stderr[-3000:]}"
    result = json.loads(lines[-1])
    assert "failed" not in result, f"{notebook.relative_to(ROOT)} failed outside the repository:\n{result['failed']}"
    prefix, module = result["probe"]
    venv = python.parent.parent
    assert Path(prefix) == venv, f"the kernel ran {prefix}, not the fresh environment {venv}"
    assert Path(module).is_relative_to(venv) and not Path(module).is_relative_to(ROOT), module
    return result


@pytest.mark.parametrize("notebook", CHAPTERS + SOLUTIONS, ids=lambda p: str(p.relative_to(ROOT)))
def test_notebook_runs_alone_in_a_fresh_environment(notebook, colab_python, tmp_path):
    result = _execute(colab_python, notebook, tmp_path / "run", allow_errors=False)
    assert result["errors"] == []


@pytest.mark.parametrize("notebook", STUDENTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_student_notebook_stops_only_at_its_stubs_in_a_fresh_environment(notebook, colab_python, tmp_path):
    result = _execute(colab_python, notebook, tmp_path / "run", allow_errors=True)
    assert result["errors"], f"{notebook.name}: no stub raised; is this the student version?"
    wrong = [e for e in result["errors"] if e[1] != "NotImplementedError"]
    assert not wrong, f"{notebook.name}: errors other than the stubs' NotImplementedError: {wrong}"


def test_there_are_notebooks_of_each_kind():
    assert CHAPTERS and STUDENTS and SOLUTIONS
