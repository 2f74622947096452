"""Run notebooks as Colab runs them: alone, in a fresh environment, from the package's wheel.

:func:`prepare` builds the ``gancourse`` wheel, creates a virtual environment outside the
repository, installs PyTorch in it first (Colab has it preinstalled; ``TORCH`` as in the
Makefile), then the wheel with its dependencies, as the notebooks' setup cell does on
Colab, a kernel, and pytest with nbval. :func:`execute` copies one notebook alone into an
empty folder and runs it there at the smoke budget, with a fresh home directory and nothing
of the repository on the path: chapters and solutions under nbval, student notebooks with
the runner ``colab_runner.py``, which lets their stubs raise.

``conftest.py`` starts :func:`run_all` in the background as soon as the tests are
collected; ``test_colab.py`` checks each notebook's :class:`Outcome`.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path

from background import call, run_ok, stopping

ROOT = Path(__file__).resolve().parents[1]
TORCH = os.environ.get("TORCH", "torch==2.14.1 torchvision==0.29.1").split()
CHAPTERS = sorted((ROOT / "chapters").glob("*.ipynb"))
STUDENTS = sorted((ROOT / "assignments").glob("*.ipynb"))
SOLUTIONS = sorted((ROOT / "assignments" / "solutions").glob("*.ipynb"))
NOTEBOOKS = CHAPTERS + SOLUTIONS + STUDENTS  # the order the tests check them in
PROBE = "import json as _j, sys as _s, gancourse as _g\n_j.dump([_s.prefix, _g.__file__], open('probe.json', 'w'))"


@dataclass
class Outcome:
    """How one notebook ran: the runner's exit code and output, and where the kernel found
    Python and gancourse (``probe``: (sys.prefix, gancourse.__file__), or None)."""

    python: Path  # the fresh environment's Python
    returncode: int
    stdout: str
    stderr: str
    probe: list[str] | None


def prepare(base: Path) -> Path:
    """The Python of a fresh virtual environment with the wheel installed, in ``base``."""
    # the wheel is built from a copy of the files git tracks or would track, not from whatever
    # else lies in the working tree (a stale build/ folder, caches)
    files = run_ok(["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=ROOT).stdout.split("\n")
    source = base / "source"
    for name in filter(None, files):
        if (ROOT / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, source / name)
    run_ok([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", base / "dist", source])
    wheels = list((base / "dist").glob("gancourse-*.whl"))
    assert len(wheels) == 1, wheels
    run_ok([sys.executable, "-m", "venv", base / "venv"])
    python = base / "venv" / "bin" / "python"
    # --no-compile: Python compiles the modules a notebook imports when it imports them
    run_ok([python, "-m", "pip", "install", "-q", "--no-compile", *TORCH])
    run_ok([python, "-m", "pip", "install", "-q", "--no-compile", wheels[0], "nbclient", "ipykernel<7", "pytest", "nbval"])  # <7: see pyproject.toml
    return python


def alone(python: Path, notebook: Path, folder: Path) -> tuple[Path, dict]:
    """A copy of ``notebook`` alone in ``folder``, and the environment of a fresh Colab session."""
    folder.mkdir(parents=True)
    home = folder / "home"
    home.mkdir()
    env = {
        "PATH": f"{python.parent}{os.pathsep}/usr/local/bin:/usr/bin:/bin",
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "GANCOURSE_BUDGET": "smoke",
    }
    return Path(shutil.copy(notebook, folder / notebook.name)), env


def nbval(python: Path, copy: Path, env: dict):
    """nbval (lax: cells marked ``# NBVAL_CHECK_OUTPUT`` must print what they stored; every
    cell must run without an error) on ``copy``, by the fresh environment's pytest."""
    cmd = [python, "-m", "pytest", "--nbval-lax", "--nbval-current-env", "--nbval-cell-timeout=600",
           "-p", "no:cacheprovider", "-q", "--rootdir", copy.parent, copy]  # fmt: skip
    return call(cmd, cwd=copy.parent, env=env, timeout=1200)


def execute(python: Path, notebook: Path, folder: Path) -> Outcome:
    """Run ``notebook`` alone in ``folder``: under nbval, or, for a student notebook, with the
    runner that lets the stubs raise (it prints a JSON line: the errors and the probe)."""
    copy, env = alone(python, notebook, folder)
    if notebook in STUDENTS:
        cmd = [python, ROOT / "tests" / "colab_runner.py", copy, "--allow-errors"]
        done = call(cmd, cwd=copy.parent, env=env, timeout=1200)
        return Outcome(python, done.returncode, done.stdout, done.stderr, None)
    nb = json.loads(copy.read_text(encoding="utf-8"))
    nb["cells"].append({"cell_type": "code", "execution_count": None, "id": "probe", "metadata": {}, "outputs": [],
                        "source": PROBE})  # fmt: skip
    copy.write_text(json.dumps(nb), encoding="utf-8")
    done = nbval(python, copy, env)
    probe_file = copy.parent / "probe.json"
    probe = json.loads(probe_file.read_text()) if probe_file.exists() else None
    return Outcome(python, done.returncode, done.stdout, done.stderr, probe)


def run_all(base: Path, python: Future, outcomes: dict[Path, Future]) -> None:
    """Prepare the environment (``python``'s result), then run every notebook in turn."""
    try:
        python.set_result(prepare(base / "env"))
    except BaseException as error:
        python.set_exception(error)
        for outcome in outcomes.values():
            outcome.set_exception(error)
        return
    for index, (notebook, outcome) in enumerate(outcomes.items()):
        if stopping.is_set():
            outcome.cancel()
            continue
        try:
            outcome.set_result(execute(python.result(), notebook, base / f"{index:02d}-{notebook.stem}"))
        except BaseException as error:  # handed to the notebook's test
            outcome.set_exception(error)
