"""Mode collapse, measured: GANs and their remedies on the 8-Gaussian ring and the 25-Gaussian
grid, over several seeds, beside PacGAN's published Table 1.

Each run trains one preset of ``gancourse.runs`` with one remedy switched on
(``runs.remedy_settings``), draws 2,500 samples and scores them with
``gancourse.metrics.mode_coverage`` (PacGAN's definitions: a sample is high quality within
3 standard deviations of its nearest mode; a mode is covered by one such sample). Runs go
side by side in parallel processes, one per core. The script prints one line per run, then a
table of mean, standard deviation and worst seed, Table 1 of Lin et al. (2018) beside it,
the minutes per run, and the speed-up of running the seeds in parallel.

    python benchmarks/bench_modes.py --preset best-ring best-grid --seeds 5     # the course's record
    python benchmarks/bench_modes.py --preset ring-collapse --remedies gan pacgan minibatch-std r1 noise
    python benchmarks/bench_modes.py --preset pacgan-ring pacgan-grid --remedies gan pacgan \\
        --budget full --seeds 10                                                  # PacGAN's own setting, for a GPU
    python benchmarks/bench_modes.py --preset grid --steps 3000 --finetune 1000 --json grid.json

Presets (``python -m gancourse presets`` lists them): ``ring``/``grid`` (the course's small
networks), ``ring-collapse`` (chapter 8), ``best-ring``/``best-grid`` (the course's best
recipe), ``pacgan-ring``/``pacgan-grid`` (PacGAN's networks, optimiser, batch and data).
Steps follow the preset and the budget unless ``--steps`` is given.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time

from gancourse import budget, parallel, runs

# Lin et al. (2018), Table 1 (mean over 10 trials): modes covered, % high-quality samples.
PUBLISHED = {
    "ring": {"GAN": (6.3, 98.2), "PacGAN2": (7.9, 95.6)},
    "grid": {"GAN": (17.3, 94.8), "PacGAN4": (24.8, 93.6)},
}
# The record the course's best recipe must hold on every seed: modes, % high quality.
RECORD = {"ring": (8, 97.0), "grid": (25, 95.0)}


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
    print(f"{'preset':14}{'remedy':15}{'modes (worst)':>22}{'high quality % (worst)':>28}"
          f"{'rev. KL':>9}{'min/run':>9}")  # fmt: skip
    for preset, by_remedy in results.items():
        K = 8 if datasets[preset] == "ring" else 25
        for remedy, s in by_remedy.items():
            (m, ms, mw), (q, qs, qw) = s["modes"], s["high_quality"]
            print(f"{preset:14}{remedy:15}{m:8.1f} +- {ms:3.1f} ({mw:2d})/{K:<2}"
                  f"{q:12.1f} +- {qs:4.1f} ({qw:5.1f}){s['reverse_kl']:9.3f}{s['minutes']:9.2f}")  # fmt: skip
    for dataset in dict.fromkeys(datasets.values()):
        K = 8 if dataset == "ring" else 25
        for name, (m, q) in PUBLISHED[dataset].items():
            print(f"{'(' + dataset + ')':14}{name + ' *':15}{m:8.1f}{'':14}/{K:<2}{q:12.1f}")
    print("* Lin et al. (2018), Table 1, mean over 10 trials, PacGAN's networks")


def print_record(results: dict, datasets: dict, rows: list[dict]) -> None:
    """Does every seed of the course's best recipe beat every row of Table 1 (the course's record)?"""
    for preset, by_remedy in results.items():
        if not preset.startswith("best-"):
            continue
        K, target = RECORD[datasets[preset]]
        for remedy in by_remedy:
            seeds = [r for r in rows if r["preset"] == preset and r["remedy"] == remedy]
            held = sum(r["modes"] == K and 100 * r["high_quality"] >= target for r in seeds)
            print(f"record ({K}/{K} modes and >= {target:.0f}% high quality on every seed): "
                  f"{preset} {remedy}: {held} of {len(seeds)} seeds")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--preset", nargs="+", default=["best-ring", "best-grid"], help="ring or grid presets")
    parser.add_argument("--remedies", nargs="+", default=["gan"], choices=runs.REMEDIES)
    parser.add_argument("--seeds", type=int, default=5, help="seeds 0, 1, ..., seeds-1")
    parser.add_argument("--budget", choices=budget.BUDGETS, help=f"the budget of the presets' steps (default ${budget.ENV_VAR} or book)")
    parser.add_argument("--steps", type=int, default=None, help="generator steps per run (default: the preset's)")
    parser.add_argument("--finetune", type=int, default=0, help="extra steps at a tenth of the learning rates")
    parser.add_argument("--samples", type=int, default=2_500, help="samples scored per run")
    parser.add_argument("--workers", type=int, default=None, help="parallel processes (default: one per core)")
    parser.add_argument("--json", default=None, help="write every run and the summary here")
    args = parser.parse_args()
    if args.budget:
        os.environ[budget.ENV_VAR] = args.budget
    datasets = {preset: runs.load_config(preset).dataset for preset in args.preset}

    jobs = [dict(preset=preset, remedy=remedy, seed=seed, steps=args.steps, n_samples=args.samples,
                 finetune=args.finetune, progress=False)
            for preset in args.preset for remedy in args.remedies for seed in range(args.seeds)]  # fmt: skip
    workers = args.workers or parallel.default_workers(len(jobs))
    print(f"{len(jobs)} runs in {workers} parallel processes, budget {budget.current()}", flush=True)
    t_start = time.perf_counter()
    measured = parallel.map(runs.train_and_measure, jobs, workers)
    wall = time.perf_counter() - t_start

    rows, results = [], {}
    for job, run in zip(jobs, measured, strict=True):
        cov = run.coverage
        row = dict(preset=job["preset"], remedy=job["remedy"], seed=job["seed"], steps=run.history["step"][-1],
                   modes=cov.modes, high_quality=cov.high_quality, reverse_kl=cov.reverse_kl, seconds=run.seconds)  # fmt: skip
        rows.append(row)
        print(f"{row['preset']} {row['remedy']:13} seed {row['seed']}: {cov}  "
              f"({row['steps']} steps, {run.seconds / 60:.1f} min)")  # fmt: skip
    for preset in args.preset:
        results[preset] = {}
        for remedy in args.remedies:
            results[preset][remedy] = summarise([r for r in rows if r["preset"] == preset and r["remedy"] == remedy])
    print_table(results, datasets)
    print_record(results, datasets, rows)
    serial = sum(r["seconds"] for r in rows)
    print(f"wall time {wall / 60:.1f} min; the runs' training times add up to {serial / 60:.1f} min "
          f"({serial / wall:.2f}x the wall time, {workers} processes)")  # fmt: skip
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"args": vars(args), "runs": rows, "summary": results, "wall_seconds": wall}, f, indent=2)


if __name__ == "__main__":
    main()
