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
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

ROOT = Path(__file__).resolve().parents[1]
GLUE_PREFIX = "application/papermill.record/text/plain"


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
                lines = [line for line in str(error).splitlines() if "Error" in line]
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
    parser.add_argument("--chapters", nargs="+", default=["02", "05", "07", "08"], help="chapter numbers")
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2, 3, 4], help="GANCOURSE_SEED values")
    parser.add_argument("--budget", default="book", choices=["smoke", "book", "full"])
    parser.add_argument("--cap", default=None, help="ATEN_CPU_CAPABILITY for the kernels (default, avx2, ...)")
    parser.add_argument("--threads", default=None, help="GANCOURSE_THREADS for the kernels")
    parser.add_argument("--timeout", type=int, default=1800, help="seconds per cell")
    parser.add_argument("--json", default=None, help="write every run here")
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
            result = run_chapter(paths[0], env, args.timeout)
            results[f"{paths[0].stem} seed {seed}"] = {**result, "env": env}
            print(f"{paths[0].stem} seed {seed}: {result['status']} in {result['seconds']:.0f} s", flush=True)

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
