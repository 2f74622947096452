"""Mode collapse, measured: the plain GAN and its remedies on the 8-Gaussian ring and the
25-Gaussian grid, over several seeds, beside PacGAN's published numbers.

Each run trains the course's toy GAN (``runs.load_config("ring")`` or ``("grid")``: MLPs
of 128, batch 256, Adam 1e-3) with one remedy switched on, draws 2,500 samples and scores
them with :func:`gancourse.metrics.mode_coverage` (PacGAN's settings: a sample is high
quality within 3 sigma of its nearest mode, a mode is covered by one such sample). The
script prints one line per run (with its time) and a table of mean +- std over seeds,
with Table 1 of Lin et al. (2018) beside it.

    python benchmarks/bench_modes.py                             # everything, full size
    python benchmarks/bench_modes.py --datasets ring --seeds 5 --steps 2000 \
        --remedies gan pacgan r1
    nice python benchmarks/bench_modes.py --json results.json    # keep the numbers

Remedies (``--remedies``): gan (non-saturating loss), minimax (the original saturating
loss), pacgan (packing: 2 samples per D input on the ring, 4 on the grid, as in the
paper's Table 1), wgan-gp (the paper's settings), noise (instance noise, annealed to 0),
r1 (R1 penalty on real data), pacgan-r1 (both).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import torch

from gancourse import runs

# Lin et al. (2018), Table 1 (mean over 10 trials): modes covered, high-quality samples.
PUBLISHED = {
    "ring": {"GAN": (6.3, 98.2), "PacGAN2": (7.9, 95.6)},
    "grid": {"GAN": (17.3, 94.8), "PacGAN4": (24.8, 93.6)},
}
REMEDIES = runs.REMEDIES  # their settings: gancourse.runs.remedy_settings (chapter 8 uses the same)


def summarise(rows: list[dict]) -> dict:
    def mean_std(values):
        return statistics.mean(values), (statistics.stdev(values) if len(values) > 1 else 0.0)

    return {
        "modes": mean_std([r["modes"] for r in rows]),
        "high_quality": mean_std([100 * r["high_quality"] for r in rows]),
        "reverse_kl": mean_std([r["reverse_kl"] for r in rows]),
        "seconds": statistics.mean(r["seconds"] for r in rows),
        "n": len(rows),
    }


def print_table(results: dict) -> None:
    print()
    print(f"{'dataset':8}{'remedy':11}{'modes':>15}{'high quality %':>18}{'reverse KL':>16}{'s/run':>8}")
    for dataset, by_remedy in results.items():
        K = 8 if dataset == "ring" else 25
        for remedy, s in by_remedy.items():
            (m, ms), (q, qs), (kl, kls) = s["modes"], s["high_quality"], s["reverse_kl"]
            print(
                f"{dataset:8}{remedy:11}{m:7.1f} +- {ms:3.1f}/{K}{q:10.1f} +- {qs:4.1f}"
                f"{kl:10.3f} +- {kls:5.3f}{s['seconds']:8.1f}"
            )
        for name, (m, q) in PUBLISHED[dataset].items():
            print(f"{dataset:8}{name + '*':11}{m:7.1f}{'':8}/{K}{q:10.1f}{'':8}{'':16}")
    print("* published: Lin et al. (2018), Table 1, mean over 10 trials")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", nargs="+", default=["ring", "grid"], choices=["ring", "grid"])
    parser.add_argument("--remedies", nargs="+", default=list(REMEDIES), choices=REMEDIES)
    parser.add_argument("--seeds", type=int, default=5, help="seeds 0, 1, ..., seeds-1")
    parser.add_argument("--steps", type=int, default=5_000, help="generator steps per run")
    parser.add_argument("--lr", type=float, default=None, help="Adam lr of both players (not WGAN-GP)")
    parser.add_argument("--finetune", type=int, default=0, help="extra steps at lr / 10 after --steps")
    parser.add_argument("--samples", type=int, default=2_500, help="samples scored per run")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (tiny MLPs: 1 is fastest)")
    parser.add_argument("--json", default=None, help="write every run and the summary here")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    results, all_rows = {}, []
    t_start = time.perf_counter()
    for dataset in args.datasets:
        results[dataset] = {}
        for remedy in args.remedies:
            rows = []
            for seed in range(args.seeds):
                _, cov, seconds = runs.train_and_measure(
                    dataset, remedy, seed, args.steps, args.samples, args.lr, args.finetune, progress=False
                )
                row = dict(dataset=dataset, remedy=remedy, seed=seed, steps=args.steps,
                           modes=cov.modes, high_quality=cov.high_quality,
                           reverse_kl=cov.reverse_kl, seconds=seconds)  # fmt: skip
                rows.append(row)
                print(f"{dataset} {remedy:10} seed {seed}: {cov}  ({seconds:.1f} s)", flush=True)
            results[dataset][remedy] = summarise(rows)
            all_rows += rows
    print_table(results)
    print(f"total {time.perf_counter() - t_start:.0f} s; command: steps={args.steps}, finetune={args.finetune}, seeds={args.seeds}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"args": vars(args), "runs": all_rows, "summary": results}, f, indent=2)


if __name__ == "__main__":
    main()
