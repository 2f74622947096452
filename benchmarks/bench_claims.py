"""Do the chapters' claims about training hold on other seeds and other machines?

Every chapter that trains something asserts what its text claims about the run (a GAN that
collapses, a remedy that covers more modes, a distance that falls) and glues the measured
numbers into its prose. A claim that holds for the page's seeds only is luck, not a result.
This script executes chapters again with other seeds (``GANCOURSE_SEED`` shifts every seed
of their training runs), and optionally with other CPU kernels (``ATEN_CPU_CAPABILITY``) or
thread counts (``GANCOURSE_THREADS``), and reports for each run whether every assert held,
how long it took, and the numbers the page glues into its text, seed by seed::

    python benchmarks/bench_claims.py --chapters 07 08 --seeds 0 1 2 3 4
    python benchmarks/bench_claims.py --chapters 02 05 07 08 --seeds 0 --cap default --threads 2

Each run executes the notebook from a temporary folder, as a reader would, at the budget
given (default: book). It takes as long as building the page, once per seed.

**The record.** ``--record benchmarks/records/claims.json`` adds every run to the committed
record of the chapters' claims: per chapter, the hash of its code cells and, for that code,
each run's seed, kernels, budget, outcome, glued values, minutes and provenance. A chapter
whose code changed loses its old runs. ``tests/test_claims_record.py`` fails while a chapter
that trains (``TRAINING``) has no passing run, for its current code, on each of seeds 0-4
with the machine's native kernels and with ``--cap default``. After changing a chapter::

    python benchmarks/bench_claims.py --chapters 05 --threads 1 --record benchmarks/records/claims.json
    python benchmarks/bench_claims.py --chapters 05 --threads 1 --cap default --record benchmarks/records/claims.json
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import fcntl
import hashlib
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

ROOT = Path(__file__).resolve().parents[1]
GLUE_PREFIX = "application/papermill.record/text/plain"
# The chapters whose claims rest on training runs (their code calls budget.seed): the record
# must hold each of them on RECORD_SEEDS with both kernel sets.
TRAINING = ("02", "03", "04", "05", "07", "08", "09", "10", "11")
RECORD_SEEDS = (0, 1, 2, 3, 4)
RECORD_FORMAT = 1


# The address the setup cell installs gancourse from on Colab (tools/adopt.py points it at a
# fork). Off Colab that cell does nothing, so the address is not part of what a run executed.
INSTALL_ADDRESS = re.compile(r'"gancourse @ git\+[^"]*"')


def code_hash(path: Path) -> str:
    """sha256 of a notebook's code cells, in order: what the record's runs executed (the setup
    cell's install address left out, so that a fork keeps the record)."""
    nb = nbformat.read(path, as_version=4)
    code = "\0".join(INSTALL_ADDRESS.sub('"gancourse"', cell.source) for cell in nb.cells if cell.cell_type == "code")
    return hashlib.sha256(code.encode()).hexdigest()


def kernels(env: dict[str, str]) -> str:
    """The CPU kernels PyTorch picks under ``env`` ("AVX512", "AVX2", "DEFAULT", ...)."""
    probe = "import torch; print(torch.backends.cpu.get_cpu_capability())"
    done = subprocess.run([sys.executable, "-c", probe], env={**os.environ, **env}, capture_output=True, text=True, check=True)
    return done.stdout.strip()


def provenance() -> dict[str, str]:
    def git(*command):
        try:
            return subprocess.run(["git", *command], cwd=ROOT, capture_output=True, text=True, timeout=30).stdout.strip()
        except OSError:
            return ""

    cpu = platform.machine()
    with contextlib.suppress(OSError):
        names = [line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                 if line.startswith("model name")]  # fmt: skip
        cpu = names[0] if names else cpu
    import torch  # only here: the runs themselves happen in kernels of their own

    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    if git("status", "--porcelain", "--untracked-files=no"):
        commit += " (with uncommitted changes)"
    return {
        "commit": commit,
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": f"{cpu}, {os.cpu_count()} cores",
        "torch": torch.__version__,
        "python": platform.python_version(),
    }


def add_to_record(record_path: Path, chapter_path: Path, run: dict) -> None:
    """Add one run to the record (under a lock: two sessions, e.g. one per kernel set, may share it).

    The chapter's entry keeps only runs of its current code; a run with the same seed,
    kernels and budget as an earlier one replaces it."""
    record_path.parent.mkdir(parents=True, exist_ok=True)
    with open(record_path.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        record = json.loads(record_path.read_text()) if record_path.exists() else {}
        record.setdefault("format", RECORD_FORMAT)
        record["description"] = ("The chapters' asserts over seeds and CPU kernels: benchmarks/bench_claims.py "
                                 "--record; checked by tests/test_claims_record.py.")  # fmt: skip
        chapters = record.setdefault("chapters", {})
        current = code_hash(chapter_path)
        entry = chapters.get(chapter_path.stem)
        if entry is None or entry["code_hash"] != current:
            entry = chapters[chapter_path.stem] = {"code_hash": current, "runs": []}
        key = (run["seed"], run["kernels"], run["budget"])
        entry["runs"] = [r for r in entry["runs"] if (r["seed"], r["kernels"], r["budget"]) != key] + [run]
        entry["runs"].sort(key=lambda r: (r["budget"], r["kernels"], r["seed"]))
        record["chapters"] = dict(sorted(chapters.items()))
        partial = record_path.with_suffix(".partial")
        partial.write_text(json.dumps(record, indent=1) + "\n")
        partial.replace(record_path)  # never a half-written record


def glued(nb) -> dict[str, str]:
    """The values a notebook glued into its text: name -> text/plain."""
    values = {}
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            name = out.get("metadata", {}).get("scrapbook", {}).get("name")
            if name is not None:
                values[name] = out.get("data", {}).get(GLUE_PREFIX) or out.get("data", {}).get("text/plain", "")
    return values


def run_chapter(path: Path, env: dict[str, str], timeout: int) -> dict:
    nb = nbformat.read(path, as_version=4)
    saved = {key: os.environ.get(key) for key in env}
    os.environ.update(env)  # the kernel inherits this process's environment
    start = time.perf_counter()
    try:
        with tempfile.TemporaryDirectory() as folder:
            client = NotebookClient(nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": folder}})
            try:
                client.execute()
                status = "ok"
            except CellExecutionError as error:
                text = re.sub(r"\x1b\[[0-9;]*m", "", str(error))  # no terminal colours in the report
                lines = [line for line in text.splitlines() if "Error" in line]
                status = "FAILED: " + (lines[-1] if lines else str(error).splitlines()[-1])[:160]
            except (CellTimeoutError, DeadKernelError) as error:  # a hung or crashed run: report it, go on
                status = f"FAILED: {type(error).__name__}: " + str(error).splitlines()[0][:120]
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    return {"status": status, "seconds": time.perf_counter() - start, "glued": glued(nb)}


def short(value: str) -> str:
    try:
        number = float(value)
    except ValueError:
        return value.strip("'\"")[:12]
    return f"{number:.4g}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chapters", nargs="+", default=list(TRAINING), help="chapter numbers (default: those that train)")
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2, 3, 4], help="GANCOURSE_SEED values")
    parser.add_argument("--budget", default="book", choices=["smoke", "book", "full"])
    parser.add_argument("--cap", default=None, help="ATEN_CPU_CAPABILITY for the kernels (default, avx2, ...)")
    parser.add_argument("--threads", default=None, help="GANCOURSE_THREADS for the kernels")
    parser.add_argument("--timeout", type=int, default=1800, help="seconds per cell")
    parser.add_argument("--json", default=None, help="write every run here")
    parser.add_argument("--record", default=None, help="add every run to this record (benchmarks/records/claims.json)")
    args = parser.parse_args()

    results = {}
    for chapter in args.chapters:
        paths = sorted((ROOT / "chapters").glob(f"{chapter}_*.ipynb"))
        if not paths:
            raise SystemExit(f"error: no chapter {chapter!r} in {ROOT / 'chapters'}")
        for seed in args.seeds:
            # as `make book` runs the page (GANCOURSE_SITE=1), with this seed
            env = {"GANCOURSE_BUDGET": args.budget, "GANCOURSE_SEED": str(seed), "GANCOURSE_SITE": "1"}
            if args.cap:
                env["ATEN_CPU_CAPABILITY"] = args.cap
            if args.threads:
                env["GANCOURSE_THREADS"] = args.threads
            hash_before = code_hash(paths[0])
            result = run_chapter(paths[0], env, args.timeout)
            results[f"{paths[0].stem} seed {seed}"] = {**result, "env": env}
            print(f"{paths[0].stem} seed {seed}: {result['status']} in {result['seconds']:.0f} s", flush=True)
            interrupted = "KeyboardInterrupt" in result["status"]  # stopped by hand: no result about the claims
            if args.record and not interrupted and code_hash(paths[0]) == hash_before:  # nor if the chapter was edited meanwhile
                run = {"seed": seed, "kernels": kernels(env), "budget": args.budget, "threads": args.threads,
                       "status": result["status"], "minutes": round(result["seconds"] / 60, 2),
                       "glued": result["glued"], **provenance()}  # fmt: skip
                add_to_record(Path(args.record), paths[0], run)

    for chapter in args.chapters:
        rows = {k: v for k, v in results.items() if k.startswith(chapter)}
        names = sorted({name for r in rows.values() for name in r["glued"]})
        if not names:
            continue
        print(f"\nchapter {chapter}: glued values by seed")
        print(f"{'':24}" + "".join(f"{k.split()[-1]:>12}" for k in rows))
        for name in names:
            print(f"{name[:24]:24}" + "".join(f"{short(r['glued'].get(name, '-')):>12}" for r in rows.values()))
    failed = [k for k, v in results.items() if v["status"] != "ok"]
    print(f"\n{len(results) - len(failed)} of {len(results)} runs passed every assert"
          + (f"; failed: {', '.join(failed)}" if failed else ""))  # fmt: skip
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    raise SystemExit(1 if failed else 0)


if __name__ == "__main__":
    main()
