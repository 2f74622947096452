"""Shared test settings (the smoke budget, the CPU, no progress bars) and the built website."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

os.environ["GANCOURSE_BUDGET"] = "smoke"
os.environ.setdefault("GANCOURSE_DEVICE", "cpu")
os.environ.setdefault("MPLBACKEND", "Agg")

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def built_site(tmp_path_factory):
    """The website, built once per test session at the smoke budget: (html folder, exit code, log)."""
    out = tmp_path_factory.mktemp("book")
    jupyter_book = Path(sys.executable).parent / "jupyter-book"
    # the notebooks' kernels draw inline, as for `make book`: not with the tests' Agg backend
    env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}
    env |= {"GANCOURSE_BUDGET": "smoke", "GANCOURSE_SITE": "1"}
    done = subprocess.run(
        [str(jupyter_book), "build", str(ROOT), "--path-output", str(out), "--warningiserror", "--keep-going"],
        capture_output=True, text=True, env=env, timeout=900,
    )  # fmt: skip
    return out / "_build" / "html", done.returncode, done.stdout + done.stderr


@pytest.fixture(scope="session")
def site_html(built_site):
    """The built website's html folder; every test using it fails if the build failed or warned."""
    html, returncode, log = built_site
    assert returncode == 0, log[-3000:]
    assert not re.search(r"^.*\bWARNING: (?!.*Kernel is running over TCP)", log, re.M), log[-3000:]
    return html
