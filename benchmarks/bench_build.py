"""How long does the website take to build?

Times, on a copy of the repository in a temporary folder (your own _build is untouched). The copy
takes the tracked files as they are in the working tree, uncommitted edits included: for a record,
run it from a clean clone, and do not edit the files while it runs.

1. a full build from an empty cache at each budget asked for (default: smoke and book);
2. a rebuild after editing one chapter's *text* (no notebook is executed again);
3. a rebuild after editing one chapter's *code* (jupyter-cache executes that notebook only).

It prints the wall time of each build and the notebooks each one executed, with their times.
``--assignments`` also times each assignment's solution notebook run alone at each budget,
and ``--record FILE`` writes the full builds' and the assignments' times as JSON, with
their provenance (what the instructor's guide page shows: ``benchmarks/records/times.json``).

    .venv/bin/python benchmarks/bench_build.py                  # smoke and book (~15 min)
    .venv/bin/python benchmarks/bench_build.py --budgets smoke  # ~3 min
    .venv/bin/python benchmarks/bench_build.py --budgets book --no-rebuilds --assignments smoke book \
        --record benchmarks/records/times.json

Targets on a 2-core machine: book <= 20 min, smoke <= 5 min, one-chapter rebuild <= 60 s.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXECUTED = re.compile(r"chapters/(\S+)\.ipynb: Executed notebook in ([\d.]+) seconds")


def copy_repository(dest: Path) -> None:
    files = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    for name in files.split():
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, target)


def build(book: Path, budget: str) -> tuple[float, list[tuple[str, float]]]:
    env = {**os.environ, "GANCOURSE_BUDGET": budget, "GANCOURSE_SITE": "1"}
    env.pop("MPLBACKEND", None)
    t0 = time.perf_counter()
    done = subprocess.run(
        [str(Path(sys.executable).parent / "jupyter-book"), "build", str(book), "--warningiserror", "--keep-going"],
        capture_output=True, text=True, env=env,
    )  # fmt: skip
    seconds = time.perf_counter() - t0
    log = done.stdout + done.stderr
    if done.returncode != 0:
        sys.exit(f"the {budget} build failed:\n{log[-3000:]}")
    return seconds, [(name, float(s)) for name, s in EXECUTED.findall(log)]


def edit_chapter(book: Path, stem: str, cell_type: str) -> None:
    """Append a space to the first markdown cell, or a comment to the last code cell."""
    path = book / "chapters" / f"{stem}.ipynb"
    nb = json.loads(path.read_text())
    cells = [c for c in nb["cells"] if c["cell_type"] == cell_type]
    cell = cells[0] if cell_type == "markdown" else cells[-1]
    cell["source"] = [*cell["source"], " " if cell_type == "markdown" else "\n# edited"]
    path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n")


def report(label: str, seconds: float, executed: list[tuple[str, float]]) -> None:
    notebooks = ", ".join(f"{name} {s:.1f} s" for name, s in executed) or "none"
    print(f"{label:34s} {seconds:7.1f} s   executed: {notebooks}")


def run_alone(notebook: Path, budget: str, timeout: int = 3600) -> float:
    """Seconds to run ``notebook`` from top to bottom in its own folder at ``budget``."""
    import nbformat
    from nbclient import NotebookClient

    env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"} | {"GANCOURSE_BUDGET": budget, "GANCOURSE_SITE": "0"}
    nb = nbformat.read(notebook, as_version=4)
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(notebook.parent)}})
    t0 = time.perf_counter()
    client.execute(env=env)
    return time.perf_counter() - t0


def provenance() -> dict:
    import platform

    import torch

    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT, capture_output=True, text=True).stdout
    return {
        "command": " ".join([Path(sys.argv[0]).as_posix(), *sys.argv[1:]]),
        "commit": commit + (" with uncommitted changes" if dirty.strip() else ""),
        "date": time.strftime("%Y-%m-%d"),
        "cpu": platform.processor() or platform.machine(),
        "cores": os.cpu_count(),
        "load_average_at_start": round(os.getloadavg()[0], 1),
        "torch": torch.__version__,
        "kernels": torch.backends.cpu.get_cpu_capability(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--budgets", nargs="+", default=["smoke", "book"], choices=["smoke", "book", "full"])
    parser.add_argument("--chapter", default="01_bce", help="the chapter edited for the rebuilds")
    parser.add_argument("--no-rebuilds", action="store_true", help="only the full builds from an empty cache")
    parser.add_argument("--assignments", nargs="*", default=[], choices=["smoke", "book", "full"],
                        help="also time each assignment's solution alone at these budgets")  # fmt: skip
    parser.add_argument("--record", help="write the times, with their provenance, to this JSON file")
    args = parser.parse_args()
    record = {"provenance": provenance(), "builds": {}, "assignments": {}}
    with tempfile.TemporaryDirectory() as tmp:
        for budget in args.budgets:
            book = Path(tmp) / budget
            copy_repository(book)
            seconds, executed = build(book, budget)
            report(f"full build, {budget}, empty cache", seconds, executed)
            record["builds"][budget] = {"seconds": round(seconds, 1), "notebooks": {n: s for n, s in executed}}
            if args.no_rebuilds:
                continue
            edit_chapter(book, args.chapter, "markdown")
            report(f"rebuild, {args.chapter} text edited", *build(book, budget))
            edit_chapter(book, args.chapter, "code")
            report(f"rebuild, {args.chapter} code edited", *build(book, budget))
        if args.assignments:
            course = Path(tmp) / "assignments"
            copy_repository(course)
            for solution in sorted((course / "assignments" / "solutions").glob("*.ipynb")):
                for budget in args.assignments:
                    seconds = run_alone(solution, budget)
                    print(f"{solution.stem:34s} {budget:6s} {seconds:7.1f} s")
                    record["assignments"].setdefault(solution.stem, {})[budget] = round(seconds, 1)
    if args.record:
        Path(args.record).write_text(json.dumps(record, indent=1) + "\n")


if __name__ == "__main__":
    main()
