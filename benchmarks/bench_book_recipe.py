"""Which recipe gets furthest in a chapter's book-budget time on a CPU?

Chapter 5 (preset ``dcgan``) and chapter 7 (preset ``wgan-gp-fashion``) train on Fashion-MNIST
at the book budget in a few minutes on one CPU thread. This script gives every candidate
recipe of a preset the same wall time (that of ``--base-steps`` steps of the base recipe, what
the chapter trained before) and compares the Fréchet classifier distance each reaches, as a
multiple of the real-vs-real floor, by chapter 5's protocol: 1,000 generated images (noise
seed 1) against the last 1,000 training images, features of a classifier trained for 300
steps on 3,000 labelled images (seed 0), floor = the next 1,000 training images against the
same set.

1. **Time.** Every candidate trains for ``--time-steps`` steps per round, in rotating order,
   for ``--rounds`` rounds in this one process (one thread), so that whatever else the
   machine does hits them alike; the median gives seconds per step and its ratio to the
   base recipe's.
2. **Equal time.** Candidate c trains for ``base_steps * t_base / t_c`` steps.
3. **Score.** Each candidate and seed trains in a worker process of one thread
   (``--jobs`` at a time) and returns its 1,000 images; FCD / floor per seed, and the median.

    python benchmarks/bench_book_recipe.py                      # dcgan: all candidates, seeds 0-2
    python benchmarks/bench_book_recipe.py --seeds 0 1 2 3 4 --only preset "width 16, batch 64"
    python benchmarks/bench_book_recipe.py --time-only --rounds 5
    python benchmarks/bench_book_recipe.py --preset wgan-gp-fashion   # chapter 7's candidates

Candidates with bfloat16 autocast run only where the CPU has bf16 in hardware
(:func:`native_bf16`). All twelve DCGAN candidates with three seeds take about 45 minutes on
two cores. For ``dcgan`` the preset ``dcgan-small`` is the winner ("width 16, batch 64"); see
``gancourse/runs.py``. For ``wgan-gp-fashion`` narrower networks and smaller batches alone
helped less (on seeds 0-2 the best median was 33 times the floor, "width 16, batch 16", against
58 for chapter 7's former width 24 at 300 steps, all blobs); one critic step per generator step
instead of five helped most: "width 16, batch 32, k 1, lr 2e-4" reached 3.6-7.0 times the floor
on seeds 0-2 in the time of 600 steps of width 24 (6,935 steps), and is the preset
``wgan-gp-small`` that chapter 7 trains at the book budget.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import torch

from gancourse import data, device, reference, runs, train

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_train  # noqa: E402  (its rotating-rounds timer, beside this file)

DCGAN = {  # name: overrides of the dcgan preset (its own: 64 feature maps, batch 128, Adam 2e-4)
    "preset": {},
    "preset, bf16 + channels-last": {"train": {"precision": "bf16", "channels_last": True}},
    "batch 64": {"train": {"batch_size": 64}},
    "width 32": {"ngf": 32, "ndf": 32},
    "width 32, batch 64": {"ngf": 32, "ndf": 32, "train": {"batch_size": 64}},
    "width 32, batch 64, lr 4e-4": {"ngf": 32, "ndf": 32, "train": {"batch_size": 64, "lr_d": 4e-4, "lr_g": 4e-4}},
    "width 32, batch 32": {"ngf": 32, "ndf": 32, "train": {"batch_size": 32}},
    "width 16, batch 64": {"ngf": 16, "ndf": 16, "train": {"batch_size": 64}},
    "width 16, batch 64, lr 4e-4": {"ngf": 16, "ndf": 16, "train": {"batch_size": 64, "lr_d": 4e-4, "lr_g": 4e-4}},
    "width 16, batch 32": {"ngf": 16, "ndf": 16, "train": {"batch_size": 32}},
    "width 8, batch 64": {"ngf": 8, "ndf": 8, "train": {"batch_size": 64}},
    "width 16, batch 64, bf16 + channels-last": {"ngf": 16, "ndf": 16, "train": {"batch_size": 64, "precision": "bf16", "channels_last": True}},
}  # fmt: skip
WGAN_GP = {  # overrides of wgan-gp-fashion (64 feature maps, batch 64, five critic steps, the paper's Adam)
    "width 24": {"ngf": 24, "ndf": 24},  # what chapter 7 trains at the book budget
    "width 16": {"ngf": 16, "ndf": 16},
    "width 16, batch 32": {"ngf": 16, "ndf": 16, "train": {"batch_size": 32}},
    "width 16, batch 16": {"ngf": 16, "ndf": 16, "train": {"batch_size": 16}},
    "width 24, batch 32": {"ngf": 24, "ndf": 24, "train": {"batch_size": 32}},
    "width 32, batch 32": {"ngf": 32, "ndf": 32, "train": {"batch_size": 32}},
    "width 12": {"ngf": 12, "ndf": 12},
    "width 8": {"ngf": 8, "ndf": 8},
    # One or two critic steps per generator step: more generator steps in the same time, with
    # the critic kept up by a larger rate (the two time-scale rule) or Adam's beta1 = 0.5.
    "width 16, batch 32, k 1, lr 2e-4": {"ngf": 16, "ndf": 16, "train": {"batch_size": 32, "k": 1, "lr_d": 2e-4, "lr_g": 2e-4}},
    "width 16, batch 32, k 1, lr 4e-4/1e-4": {"ngf": 16, "ndf": 16, "train": {"batch_size": 32, "k": 1, "lr_d": 4e-4, "lr_g": 1e-4}},
    "width 16, batch 64, k 1, lr 4e-4/1e-4": {"ngf": 16, "ndf": 16, "train": {"batch_size": 64, "k": 1, "lr_d": 4e-4, "lr_g": 1e-4}},
    "width 16, batch 32, k 1, lr 2e-4, b1 0.5": {"ngf": 16, "ndf": 16, "train": {"batch_size": 32, "k": 1, "lr_d": 2e-4, "lr_g": 2e-4, "betas": (0.5, 0.9)}},
    "width 16, batch 32, k 2, lr 2e-4": {"ngf": 16, "ndf": 16, "train": {"batch_size": 32, "k": 2, "lr_d": 2e-4, "lr_g": 2e-4}},
    "width 16, batch 32, k 5, lr 3e-4, b1 0.5": {"ngf": 16, "ndf": 16, "train": {"batch_size": 32, "lr_d": 3e-4, "lr_g": 3e-4, "betas": (0.5, 0.9)}},
    "width 24, batch 32, k 1, lr 2e-4": {"ngf": 24, "ndf": 24, "train": {"batch_size": 32, "k": 1, "lr_d": 2e-4, "lr_g": 2e-4}},
    # chapter 7's book recipe with layer norm in the critic, as Gulrajani et al. (2017) recommend
    "width 16, batch 32, k 1, lr 2e-4, layer norm": {"ngf": 16, "ndf": 16, "layer_norm": True, "train": {"batch_size": 32, "k": 1, "lr_d": 2e-4, "lr_g": 2e-4}},
}  # fmt: skip
CANDIDATES = {"dcgan": DCGAN, "wgan-gp-fashion": WGAN_GP}  # preset: its candidates, the base recipe first
BASE_STEPS = {"dcgan": 400, "wgan-gp-fashion": 300}  # the base recipe's steps in the chapter's book time
N_FCD = 1_000  # chapter 5's book-budget protocol
CLASSIFIER_STEPS = 300  # on reference.scorer's 3,000 labelled images


def native_bf16() -> bool:
    """Whether this CPU does bfloat16 arithmetic in hardware (AVX-512 BF16 or AMX tiles);
    elsewhere autocast emulates it, and bf16 candidates are not run."""
    checks = [getattr(torch.cpu, name, None) for name in ("_is_avx512_bf16_supported", "_is_amx_tile_supported")]
    return any(check() for check in checks if check is not None)


def runnable(names: list[str], bf16: bool, preset: str = "dcgan") -> tuple[list[str], list[str]]:
    """The candidates to run here and those skipped: bf16 ones only where ``bf16`` (hardware)."""
    table = CANDIDATES[preset]
    skipped = [] if bf16 else [n for n in names if table[n].get("train", {}).get("precision") == "bf16"]
    return [n for n in names if n not in skipped], skipped


def config(preset: str, name: str, steps: int, seed: int) -> runs.RunConfig:
    overrides = json.loads(json.dumps(CANDIDATES[preset][name]))
    overrides["train"] = {**overrides.get("train", {}), "progress": False}
    return runs.load_config(preset, steps=steps, seed=seed, **overrides)


def seconds_per_step(preset: str, names: list[str], steps: int, rounds: int) -> dict[str, float]:
    """Median seconds per generator step of each candidate, over rotating rounds, one thread."""
    x = data.fashion_mnist()
    models = {name: runs.build(config(preset, name, steps, 0))[1:] for name in names}

    def run(name: str, seed: int) -> float:  # steps per second
        G, D = models[name]
        t0 = time.perf_counter()
        train.train(G, D, x, config(preset, name, steps, seed).training_config())
        return steps / (time.perf_counter() - t0)

    rates = bench_train.measure(dict.fromkeys(names), run, rounds)
    return {name: 1 / statistics.median(values) for name, values in rates.items()}


def trained_samples(preset: str, name: str, steps: int, seed: int) -> tuple[torch.Tensor, float]:
    """The images of one candidate trained for ``steps`` steps with ``seed``, and the seconds."""
    device.set_cpu_threads(1)
    cfg = config(preset, name, steps, seed)
    x, G, D = runs.build(cfg)
    result = train.train(G, D, x, cfg.training_config())
    return train.generate(G, N_FCD, seed=1), result.seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--preset", choices=list(CANDIDATES), default="dcgan", help="whose recipes: dcgan (chapter 5) or wgan-gp-fashion (chapter 7)")
    parser.add_argument("--base-steps", type=int, help="steps of the base recipe (the first candidate) that set the time; default: what the chapter trained before, 400 for dcgan, 300 for wgan-gp-fashion")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--only", nargs="+", choices=sorted({n for table in CANDIDATES.values() for n in table}), help="candidates to run besides the base recipe (default: all of the preset's)")
    parser.add_argument("--time-steps", type=int, default=10, help="steps per timing round")
    parser.add_argument("--rounds", type=int, default=3, help="timing rounds")
    parser.add_argument("--time-only", action="store_true", help="only measure the seconds per step")
    parser.add_argument("--jobs", type=int, default=2, help="training processes at a time (one thread each)")
    parser.add_argument("--json", help="also write the figures to this JSON file")
    parser.add_argument("--grids", help="also save each run's first 64 images as a PNG in this folder")
    args = parser.parse_args()
    table = CANDIDATES[args.preset]
    unknown = [n for n in args.only or [] if n not in table]
    if unknown:
        parser.error(f"not a candidate of {args.preset}: {', '.join(unknown)}; choose from {', '.join(table)}")
    base = next(iter(table))  # the recipe whose time every candidate gets
    base_steps = args.base_steps or BASE_STEPS[args.preset]

    names, skipped = runnable([base] + [n for n in (args.only or table) if n != base], native_bf16(), args.preset)
    if skipped:
        print(f"no bfloat16 in this CPU's hardware: not run {', '.join(skipped)}", flush=True)
    device.set_cpu_threads(1)
    per_step = seconds_per_step(args.preset, names, args.time_steps, args.rounds)
    budget_s = base_steps * per_step[base]
    steps = {name: max(1, round(budget_s / per_step[name])) for name in names}
    print(f"timed: {', '.join(f'{n} {per_step[n]:.3f} s/step' for n in names)}", flush=True)
    if args.time_only:
        for name in names:
            print(f"{name:42s} {per_step[name]:7.4f} s/step  {per_step[base] / per_step[name]:6.2f} x the speed of {base!r}")
        return

    measure = reference.scorer(N_FCD, CLASSIFIER_STEPS, seed=0)  # chapter 5's protocol at book

    jobs = [(name, seed) for name in names for seed in args.seeds]
    with ProcessPoolExecutor(args.jobs) as pool:
        futures = {job: pool.submit(trained_samples, args.preset, job[0], steps[job[0]], job[1]) for job in jobs}
        done = {job: future.result() for job, future in futures.items()}
    scores = {job: measure(images) for job, (images, _) in done.items()}
    ratio = {job: score["ratio"] for job, score in scores.items()}
    floor = scores[jobs[0]]["floor"]  # the same for all: one classifier, one real set

    print(f"torch {torch.__version__}, CPU capability {torch.backends.cpu.get_cpu_capability()}, one thread per run")
    print(f"preset {args.preset}; time: {base_steps} steps of {base!r} = {budget_s:.0f} s here; "
          f"FCD floor {floor:.3f} ({N_FCD:,} images)")
    print(f"{'candidate':32s} {'s/step':>7s} {'x base':>8s} {'steps':>6s} {'images':>8s}   FCD / floor by seed   median")
    for name in names:
        cfg = config(args.preset, name, steps[name], 0).training_config()
        by_seed = [ratio[(name, seed)] for seed in args.seeds]
        print(f"{name:32s} {per_step[name]:7.3f} {per_step[base] / per_step[name]:8.2f} {steps[name]:6d} "
              f"{steps[name] * cfg.batch_size:8,}   {' '.join(f'{r:6.1f}' for r in by_seed)}   {statistics.median(by_seed):6.1f}")  # fmt: skip
    if args.json:
        figures = {
            "torch": torch.__version__, "capability": torch.backends.cpu.get_cpu_capability(),
            "preset": args.preset, "base": base, "base_steps": base_steps, "budget_s": budget_s, "floor": floor, "seeds": args.seeds,
            "seconds_per_step": per_step, "steps": steps,
            "fcd_over_floor": {name: [ratio[(name, s)] for s in args.seeds] for name in names},
            "train_seconds": {name: [done[(name, s)][1] for s in args.seeds] for name in names},
        }  # fmt: skip
        with open(args.json, "w") as f:
            json.dump(figures, f, indent=2)

    if args.grids:  # last: the figures above are safe if a file cannot be written
        import matplotlib.pyplot as plt

        from gancourse import viz

        Path(args.grids).mkdir(parents=True, exist_ok=True)
        for (name, seed), (images, _) in done.items():
            fig, ax = plt.subplots(figsize=(4, 4))
            viz.show_grid(images[:64], nrow=8, ax=ax)
            ax.set_title(f"{name}, seed {seed}: {ratio[(name, seed)]:.1f} x floor", fontsize=9)
            stem = "".join(c if c.isalnum() or c in "-." else "_" for c in name)  # a name may hold "/"
            fig.savefig(Path(args.grids) / f"{stem}_seed{seed}.png", dpi=80)
            plt.close(fig)


if __name__ == "__main__":
    main()
