"""Mode collapse, measured: GANs and their remedies on the 8-Gaussian ring and the 25-Gaussian
grid, over several seeds, beside PacGAN's published Table 1.

Each run trains one preset of ``gancourse.runs`` with one remedy switched on
(``remedies.remedy_settings``), draws 2,500 samples and scores them with
``gancourse.metrics.mode_coverage`` (PacGAN's definitions: a sample is high quality within
3 standard deviations of its nearest mode; a mode is covered by one such sample). Runs go
side by side in parallel processes, one per core. The script prints one line per run, then a
table of mean, standard deviation and worst seed, Table 1 of Lin et al. (2018) beside it,
the minutes per run, and the speed-up of running the seeds in parallel.

    python benchmarks/bench_modes.py --experiment record --seeds 5            # the course's record
    python benchmarks/bench_modes.py --experiment wasserstein --steps 10000   # WGAN-GP, five times the book's steps
    python benchmarks/bench_modes.py --experiment wasserstein --budget full   # gan_toy.py's 100,000 steps, for a GPU
    python benchmarks/bench_modes.py --preset ring-collapse --remedies gan ttur pacgan minibatch-std r1 noise
    python benchmarks/bench_modes.py --preset pacgan-ring pacgan-grid --remedies gan pacgan \\
        --budget full --seeds 10                                                  # PacGAN's own setting, for a GPU
    ATEN_CPU_CAPABILITY=default python benchmarks/bench_modes.py --experiment record --json best-default.json

An experiment names its presets and remedies (``--preset``/``--remedies`` name them one by
one). Presets (``python -m gancourse presets`` lists them): ``ring``/``grid`` (the course's
small networks), ``ring-collapse`` (chapter 8), ``best-ring``/``best-grid`` (the course's
best recipe), ``pacgan-ring``/``pacgan-grid`` (PacGAN's networks, optimiser, batch and data).
Steps follow the preset and the budget (or the experiment's steps for the budget) unless
``--steps`` is given.

``--json`` writes a session that ``tools/export_record.py`` can ship as a record
(``gancourse.record``): the provenance (the command, the commit, the date, the CPU, the
kernels PyTorch chose on it, the versions), every configuration's full settings, every run.
Set ``ATEN_CPU_CAPABILITY`` in the environment to measure with other CPU kernels; the session
records the kernels the runs used.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shlex
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch

from gancourse import budget, parallel, record, remedies
from gancourse.device import default_device

ROOT = Path(__file__).resolve().parents[1]
PUBLISHED = record.TABLE_1  # Lin et al. (2018), Table 1: modes covered, % high-quality samples
RECORD = record.TARGET  # what the course's best recipe must reach on every seed
EXPERIMENTS = {
    # The course's best recipe on both benchmarks (the record of chapter 8), at its full length.
    "record": {"runs": [("best-ring", "gan"), ("best-grid", "gan")], "budget": "full"},
    # Does the Wasserstein loss cure mode collapse? The plain GAN beside WGAN-GP with the paper's
    # penalty weight and with gan_toy.py's, on the collapsing ring and on the grid. At the full
    # budget, the 100,000 generator steps of Gulrajani et al.'s gan_toy.py (its ITERS).
    "wasserstein": {"runs": [(preset, remedy) for preset in ("ring-collapse", "grid")
                             for remedy in ("gan", "wgan-gp", "wgan-gp-toy")], "steps": {"full": 100_000}},
    # Chapter 8's remedies on the collapsing ring, with the settings that explain them: R1 and
    # instance noise at other strengths, and each beside the two time-scale rule.
    "remedies": {"runs": [("ring-collapse", remedy) for remedy in ("gan", "ttur", "r1", "noise", "ttur+r1", "ttur+noise")]
                 + [("ring-collapse", "r1", {"train": {"r1_gamma": gamma}}) for gamma in (0.1, 1.0)]
                 + [("ring-collapse", "noise", {"train": {"instance_noise": sigma}}) for sigma in (0.2, 0.5)]},
}  # fmt: skip


def label(preset: str, remedy: str, overrides: dict | None = None) -> str:
    """A configuration's name in tables and sessions: ``preset/remedy``, then its overrides."""
    flat = {}
    for key, value in (overrides or {}).items():
        flat |= {name: v for name, v in value.items()} if key == "train" else {key: value}
    return f"{preset}/{remedy}" + "".join(f" {name}={value}" for name, value in flat.items())


def summarise(rows: list[dict]) -> dict:
    def stats(values):
        spread = statistics.stdev(values) if len(values) > 1 else 0.0
        return statistics.mean(values), spread, min(values)

    return {
        "modes": stats([r["modes"] for r in rows]),
        "high_quality": stats([100 * r["high_quality"] for r in rows]),
        "reverse_kl": statistics.mean(r["reverse_kl"] for r in rows),
        "minutes": statistics.mean(r["seconds"] for r in rows) / 60,
        "n": len(rows),
    }


def print_table(results: dict, datasets: dict) -> None:
    print()
    print(f"{'configuration':44}{'modes (worst)':>22}{'high quality % (worst)':>28}{'rev. KL':>9}{'min/run':>9}")
    for name, s in results.items():
        K = 8 if datasets[name] == "ring" else 25
        (m, ms, mw), (q, qs, qw) = s["modes"], s["high_quality"]
        print(f"{name:44}{m:8.1f} +- {ms:3.1f} ({mw:2d})/{K:<2}"
              f"{q:12.1f} +- {qs:4.1f} ({qw:5.1f}){s['reverse_kl']:9.3f}{s['minutes']:9.2f}")  # fmt: skip
    for dataset in dict.fromkeys(datasets.values()):
        K = 8 if dataset == "ring" else 25
        for name, (m, q) in PUBLISHED[dataset].items():
            print(f"{'(' + dataset + ') ' + name + ' *':44}{m:8.1f}{'':14}/{K:<2}{q:12.1f}")
    print("* Lin et al. (2018), Table 1, mean over 10 trials, PacGAN's networks")


def print_record(configurations: list[tuple], datasets: dict, rows: list[dict]) -> None:
    """Does every seed of the course's best recipe beat every row of Table 1 (the course's record)?"""
    for preset, remedy, overrides in configurations:
        if not preset.startswith("best-"):
            continue
        name = label(preset, remedy, overrides)
        K, target = RECORD[datasets[name]]
        seeds = [r for r in rows if r["label"] == name]
        held = sum(r["modes"] == K and 100 * r["high_quality"] >= target for r in seeds)
        print(f"record ({K}/{K} modes and >= {target:.0f}% high quality on every seed): "
              f"{name}: {held} of {len(seeds)} seeds")  # fmt: skip


def provenance(workers: int, wall: float) -> dict:
    """Where, when and how this session ran: what a reader needs to reproduce its figures."""
    def git(*command):
        try:
            return subprocess.run(["git", *command], cwd=ROOT, capture_output=True, text=True, timeout=30).stdout.strip()
        except OSError:
            return ""

    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    if git("status", "--porcelain", "--untracked-files=no"):
        commit += " (with uncommitted changes)"
    cpu = platform.processor() or platform.machine()
    try:
        names = [line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                 if line.startswith("model name")]  # fmt: skip
        cpu = names[0] if names else cpu
    except OSError:
        pass
    capability = os.environ.get("ATEN_CPU_CAPABILITY")
    command = f"python benchmarks/{Path(sys.argv[0]).name} " + shlex.join(sys.argv[1:])  # this script or bench_diffusion.py
    return {
        "command": (f"ATEN_CPU_CAPABILITY={capability} " if capability else "") + command,
        "commit": commit,
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": f"{cpu}, {parallel.cpu_count()} cores",
        "kernels": torch.backends.cpu.get_cpu_capability(),  # what the workers use too: they inherit the environment
        "device": str(default_device()),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "workers": workers,
        "threads_per_run": 1 if workers > 1 else torch.get_num_threads(),
        "wall_seconds": round(wall, 1),
    }



def session_arguments(parser: argparse.ArgumentParser, what_budget: str) -> None:
    """The arguments every seeded benchmark takes: ``--seeds``, ``--budget`` (of ``what_budget``),
    ``--workers`` and ``--json``; read them back with :func:`session_settings`."""
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4], help="the seeds to run")
    parser.add_argument("--budget", choices=budget.BUDGETS, help=f"the budget of {what_budget} (default: ${budget.ENV_VAR} or book)")
    parser.add_argument("--workers", type=int, default=None, help="parallel processes (default: one per core)")
    parser.add_argument("--json", default=None, help="write the session (provenance, settings, every run) here")


def session_settings(parser: argparse.ArgumentParser, args) -> None:
    """Act on :func:`session_arguments`: the budget for the workers too, and a ``--json`` that
    would overwrite a file refused."""
    if args.budget:
        os.environ[budget.ENV_VAR] = args.budget  # the workers inherit it
    if args.json and Path(args.json).exists():
        parser.error(f"{args.json} exists; give another path (a session is never overwritten)")


def run_jobs(measure, jobs: list[dict], workers: int | None) -> tuple[list, int, float]:
    """``measure(**job)`` for every job, side by side in ``workers`` processes (default: one per
    core), after one line that says how: the results in the jobs' order, the workers, the wall seconds."""
    workers = workers or parallel.default_workers(len(jobs))
    print(f"{len(jobs)} runs in {workers} parallel processes, budget {budget.current()}, "
          f"kernels {torch.backends.cpu.get_cpu_capability()}", flush=True)  # fmt: skip
    start = time.perf_counter()
    results = parallel.map(measure, jobs, workers)
    return results, workers, time.perf_counter() - start


def write_session(path: str, workers: int, wall: float, args, configs: dict, rows: list[dict], **more) -> None:
    """Write a session to ``path``: the provenance, the arguments, every configuration's settings
    and every run (and ``more``), what ``tools/export_record.py`` ships as a record."""
    session = {"provenance": provenance(workers, wall), "args": vars(args), "configs": configs, "runs": rows, **more}
    Path(path).write_text(json.dumps(session, indent=2) + "\n")

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--experiment", choices=EXPERIMENTS, help="named configurations (see the top of this file)")
    parser.add_argument("--preset", nargs="+", default=None, help="ring or grid presets (default: best-ring best-grid)")
    parser.add_argument("--remedies", nargs="+", default=None, help=f"of {', '.join(remedies.REMEDIES)}, or several joined by '+' (default: gan)")
    parser.add_argument("--seeds", type=int, default=5, help="how many seeds: first-seed, first-seed + 1, ...")
    parser.add_argument("--first-seed", type=int, default=0, help="the first seed (held-out checks: 5 and up)")
    parser.add_argument("--budget", choices=budget.BUDGETS, help=f"the budget of the presets' steps (default: the experiment's, ${budget.ENV_VAR} or book)")
    parser.add_argument("--steps", type=int, default=None, help="generator steps per run (default: the preset's)")
    parser.add_argument("--finetune", type=int, default=0, help="extra steps at a tenth of the learning rates")
    parser.add_argument("--samples", type=int, default=2_500, help="samples scored per run")
    parser.add_argument("--workers", type=int, default=None, help="parallel processes (default: one per core)")
    parser.add_argument("--json", default=None, help="write the session (provenance, settings, every run, summary) here")
    parser.add_argument("--dry-run", action="store_true", help="print the runs and their steps, train nothing")
    args = parser.parse_args()
    experiment = EXPERIMENTS.get(args.experiment, {})
    if experiment and (args.preset or args.remedies):
        parser.error("--experiment names its presets and remedies; leave out --preset and --remedies")
    if args.budget or experiment.get("budget"):
        os.environ[budget.ENV_VAR] = args.budget or experiment["budget"]
    configurations = [(c[0], c[1], c[2] if len(c) > 2 else None) for c in experiment.get("runs", [])]
    configurations = configurations or [(preset, remedy, None) for preset in args.preset or ["best-ring", "best-grid"]
                                        for remedy in args.remedies or ["gan"]]  # fmt: skip
    steps = args.steps if args.steps is not None else experiment.get("steps", {}).get(budget.current())
    try:
        configs = {label(*c): record.settings(*c[:2], steps, budget.current(), args.finetune, c[2]) for c in configurations}
    except ValueError as error:
        parser.error(str(error))
    datasets = {name: settings["dataset"] for name, settings in configs.items()}
    seeds = range(args.first_seed, args.first_seed + args.seeds)

    jobs = [dict(preset=preset, remedy=remedy, seed=seed, steps=steps, n_samples=args.samples,
                 finetune=args.finetune, progress=False, overrides=overrides)
            for preset, remedy, overrides in configurations for seed in seeds]  # fmt: skip
    names = [label(preset, remedy, overrides) for preset, remedy, overrides in configurations for _ in seeds]
    if args.dry_run:
        for name, settings in configs.items():
            print(f"{name}: seeds {seeds.start}-{seeds.stop - 1}, {settings['train.steps']} steps"
                  + (f" + {args.finetune} at a tenth of the rates" if args.finetune else ""))  # fmt: skip
        return
    measured, workers, wall = run_jobs(remedies.train_and_measure, jobs, args.workers)

    rows = []
    for job, name, run in zip(jobs, names, measured, strict=True):
        cov = run.coverage
        row = dict(label=name, preset=job["preset"], remedy=job["remedy"], seed=job["seed"],
                   steps=run.history["step"][-1], modes=cov.modes, n_modes=cov.n_modes, high_quality=cov.high_quality,
                   reverse_kl=cov.reverse_kl, seconds=run.seconds)  # fmt: skip
        rows.append(row)
        print(f"{name} seed {row['seed']}: {cov}  ({row['steps']} steps, {run.seconds / 60:.1f} min)")
    results = {name: summarise([r for r in rows if r["label"] == name]) for name in configs}
    print_table(results, datasets)
    print_record(configurations, datasets, rows)
    serial = sum(r["seconds"] for r in rows)
    print(f"wall time {wall / 60:.1f} min; the runs' training times add up to {serial / 60:.1f} min "
          f"({serial / wall:.2f}x the wall time, {workers} processes)")  # fmt: skip
    if args.json:
        write_session(args.json, workers, wall, args, configs, rows, summary=results)


if __name__ == "__main__":
    main()
