"""Shared test settings (the smoke budget, the CPU, no progress bars) and the session's two slow
jobs: the website, built at the smoke budget, and every notebook run alone in a fresh
Colab-like environment (tests/colab.py).

Both start in the background as soon as the tests are collected, and the tests that check
their results run last (the Colab-like ones, then the website's), so that on a machine with
two or more cores the notebooks run while the other tests do, instead of after them.
"""

import os
import re
import shutil
import sys
import tempfile
from concurrent.futures import Future
from pathlib import Path

import background
import colab
import pytest

os.environ["GANCOURSE_BUDGET"] = "smoke"
os.environ.setdefault("GANCOURSE_DEVICE", "cpu")
os.environ.setdefault("MPLBACKEND", "Agg")

ROOT = Path(__file__).resolve().parents[1]

_jobs: dict[str, Future] = {}
_scratch: list[Path] = []


def build_site(out: Path):
    """The website, built at the smoke budget into ``out``: (html folder, exit code, log)."""
    jupyter_book = Path(sys.executable).parent / "jupyter-book"
    # the notebooks' kernels draw inline, as for `make book`: not with the tests' Agg backend
    env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}
    env |= {"GANCOURSE_BUDGET": "smoke", "GANCOURSE_SITE": "1"}
    cmd = [jupyter_book, "build", ROOT, "--path-output", out, "--warningiserror", "--keep-going"]
    done = background.call(cmd, env=env, timeout=900)
    return out / "_build" / "html", done.returncode, done.stdout + done.stderr


def _start(name: str, notebooks=colab.NOTEBOOKS) -> Future:
    """Start the job ``name`` once: "site", or "colab" (the environment, then ``notebooks``)."""
    if name not in _jobs:
        folder = Path(tempfile.mkdtemp(prefix=f"gancourse-{name}-"))
        _scratch.append(folder)
        if name == "site":
            _jobs["site"] = background.start(build_site, folder)
        else:
            outcomes = {notebook: Future() for notebook in notebooks}
            _jobs.update({"colab": Future(), **outcomes})
            background.start(colab.run_all, folder, _jobs["colab"], outcomes)
    return _jobs[name]


PREPARATIONS = {"colab_outcome": "colab", "built_site": "site"}  # fixture: job, in the order their tests run


def pytest_collection_modifyitems(session, config, items):
    """Run the tests that need the background jobs last."""
    ranks = {fixture: rank for rank, fixture in enumerate(PREPARATIONS, start=1)}

    def rank(item) -> int:
        return max((ranks[name] for name in getattr(item, "fixturenames", ()) if name in ranks), default=0)

    items.sort(key=rank)  # stable: the order within each group is kept


def pytest_collection_finish(session):
    """Start the jobs that the tests left after deselection (``-k``, ``-m``) need."""
    if session.config.option.collectonly:
        return
    for fixture, job in PREPARATIONS.items():
        users = [item for item in session.items if fixture in getattr(item, "fixturenames", ())]
        notebooks = {getattr(item, "callspec", None) and item.callspec.params.get("notebook") for item in users}
        if users:  # the Colab-like job runs only the notebooks whose tests were collected
            _start(job, [nb for nb in colab.NOTEBOOKS if nb in notebooks])


def pytest_unconfigure(config):
    background.stop_all()
    for folder in _scratch:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def colab_outcome():
    """``colab_outcome(notebook)``: how ``notebook`` ran alone in the fresh Colab-like
    environment (:class:`colab.Outcome`), waiting for it if it has not run yet."""
    _start("colab")
    return lambda notebook: _jobs[notebook].result()  # KeyError: its test was not collected


@pytest.fixture(scope="session")
def colab_python(colab_outcome) -> Path:
    """The fresh Colab-like environment's Python (see :func:`colab.prepare`)."""
    return _jobs["colab"].result()


@pytest.fixture(scope="session")
def built_site():
    """The website, built once per test session at the smoke budget: (html folder, exit code, log)."""
    return _start("site").result()


@pytest.fixture(scope="session")
def site_html(built_site):
    """The built website's html folder; every test using it fails if the build failed or warned."""
    html, returncode, log = built_site
    assert returncode == 0, log[-3000:]
    assert not re.search(r"^.*\bWARNING: (?!.*Kernel is running over TCP)", log, re.M), log[-3000:]
    return html
