"""Does a GAN leak its training data? Chapter 5's networks trained on 256 images and on all 60,000.

On each seed given, the script trains the preset ``dcgan-small`` (chapter 5's recipe at its
budget's steps) twice: on the first 256 Fashion-MNIST training images (``limit=256``) and on the
whole training set. Then it measures two leaks, with images nobody trained on as the control:

- **membership inference** (Hayes et al., 2019, LOGAN, white-box): the trained discriminator
  scores 256 members (training images: all 256 of the small set, or 256 drawn from the full
  one) and 256 non-members (test images); ``gancourse.metrics.membership_attack`` gives the
  AUC and LOGAN's accuracy (1/2 is chance);
- **near-copies** (chapter 9's memorisation check): for 1,000 generated images and 1,000
  test images, the distance to the nearest image of the training set the generator saw
  (``gancourse.metrics.nearest_neighbours``); a near-copy is a generated image closer to the
  training set than 99 % of the test images are.

Runs go side by side, one process and one thread each. Chapter 11's record trains each run
for 1,000 steps (``--steps 1000``), a fifth of the preset's book budget, so that its 20 runs fit
a 2-core machine; on the small set that is still 250 passes over its 256 images.

    python benchmarks/bench_membership.py --seeds 0 --budget smoke
    python benchmarks/bench_membership.py --seeds 0 1 2 3 4 --steps 1000 --json membership-native.json
    ATEN_CPU_CAPABILITY=default python benchmarks/bench_membership.py --steps 1000 --json membership-default.json
    python tools/export_record.py --name membership --description "..." membership-native.json membership-default.json

``--json`` writes a session (provenance, settings, every run) in ``bench_modes.py``'s format,
which ``tools/export_record.py`` ships as ``gancourse/records/membership.json``, chapter 11's record.
"""

from __future__ import annotations

import argparse
import statistics

import torch
from bench_modes import run_jobs, session_arguments, session_settings, write_session

from gancourse import budget, data, metrics, record, runs, train

PRESET = "dcgan-small"
SMALL = 256  # the small training set: the first 256 images
N_ATTACK = 256  # members and non-members scored by the attack, as many of each
N_COPIES = 1_000  # generated and test images looked up in the training set
SIZES = {"small": SMALL, "full": None}  # the training set: its first 256 images, or all of it


def label(size: str) -> str:
    return f"{PRESET} limit={SMALL}" if size == "small" else PRESET


def config(size: str, seed: int, steps: int | None = None) -> runs.RunConfig:
    """The run: the preset on the small or the full training set, seeded."""
    return runs.load_config(PRESET, seed=seed, limit=SIZES[size], train={"progress": False},
                            **({} if steps is None else {"steps": steps}))  # fmt: skip


def measure(size: str, seed: int, steps: int | None) -> dict:
    """Train one run, then attack its discriminator and look its samples up in its training set."""
    run_config = config(size, seed, steps)
    trained_on, G, D = runs.build(run_config)
    result = train.train(G, D, trained_on, run_config.training_config(), device="cpu")
    pick = torch.Generator().manual_seed(10_000 + seed)  # which images are scored: the seed's own
    held_out = data.fashion_mnist(train=False)
    held_out = held_out[torch.randperm(len(held_out), generator=pick)]
    members = trained_on[torch.randperm(len(trained_on), generator=pick)[:N_ATTACK]]
    attack = metrics.membership_attack(D, members, held_out[:N_ATTACK])
    generated = train.generate(G, N_COPIES, seed=20_000 + seed)
    d_generated, _ = metrics.nearest_neighbours(generated, trained_on)
    d_held_out, _ = metrics.nearest_neighbours(held_out[-N_COPIES:], trained_on)
    threshold = d_held_out.quantile(0.01).item()  # 99 % of the test images are at least this far
    return dict(label=label(size), preset=PRESET, remedy=None, size=size, train_images=len(trained_on), seed=seed,
                steps=result.step, seconds=result.seconds, auc=attack.auc, accuracy=attack.accuracy,
                member_score=attack.member_scores.mean().item(), non_member_score=attack.non_member_scores.mean().item(),
                nn_median_generated=d_generated.median().item(), nn_median_held_out=d_held_out.median().item(),
                copy_threshold=threshold, near_copies=(d_generated < threshold).double().mean().item())  # fmt: skip


def spread(rows: list[dict], key: str, scale: float = 1.0) -> str:
    """The least and the largest value of ``key`` over ``rows``, as "low-high"."""
    values = [scale * r[key] for r in rows]
    return f"{min(values):.3g}-{max(values):.3g}"


def print_table(rows: list[dict]) -> None:
    print()
    print(f"{'trained on':>16}{'steps':>7}{'attack AUC':>18}{'accuracy %':>18}{'near-copies %':>18}"
          f"{'NN median gen / held-out':>26}{'train s':>9}")  # fmt: skip
    for size in dict.fromkeys(r["size"] for r in rows):
        mine = [r for r in rows if r["size"] == size]
        for r in mine:
            r["nn_ratio"] = r["nn_median_generated"] / r["nn_median_held_out"]
        print(f"{mine[0]['train_images']:>9,} images{mine[0]['steps']:7d}{spread(mine, 'auc'):>18}"
              f"{spread(mine, 'accuracy', 100):>18}{spread(mine, 'near_copies', 100):>18}{spread(mine, 'nn_ratio'):>26}"
              f"{statistics.mean(r['seconds'] for r in mine):9.0f}")  # fmt: skip
    print(f"ranges over seeds {', '.join(str(r['seed']) for r in rows if r['size'] == rows[0]['size'])}; "
          f"{N_ATTACK} members and {N_ATTACK} non-members attacked, {N_COPIES:,} images looked up; one thread per run")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    session_arguments(parser, "the preset's steps")
    parser.add_argument("--sizes", nargs="+", choices=SIZES, default=list(SIZES), help="the training sets (default: both)")
    parser.add_argument("--steps", type=int, default=None, help="generator steps (default: the preset's for the budget)")
    args = parser.parse_args()
    session_settings(parser, args)
    if args.steps is not None and args.steps < 1:
        parser.error(f"--steps must be a positive integer, got {args.steps}")
    data.fashion_mnist()  # a missing data set fails here, once, not in every worker
    sizes = list(dict.fromkeys(args.sizes))
    jobs = [dict(size=size, seed=seed, steps=args.steps) for seed in args.seeds for size in sizes]
    configs = {label(size): record.settings(PRESET, None, args.steps, budget.current(), overrides={"limit": SIZES[size]})
               for size in sizes}  # fmt: skip
    rows, workers, wall = run_jobs(measure, jobs, args.workers)
    for r in rows:
        print(f"{r['train_images']:,} training images, seed {r['seed']}: attack AUC {r['auc']:.3f}, accuracy "
              f"{100 * r['accuracy']:.1f} %; {100 * r['near_copies']:.1f} % near-copies; NN median "
              f"{r['nn_median_generated']:.2f} generated, {r['nn_median_held_out']:.2f} held out; "
              f"{r['steps']} steps in {r['seconds']:.0f} s")  # fmt: skip
    print_table(rows)
    print(f"wall time {wall / 60:.1f} min")
    if args.json:
        write_session(args.json, workers, wall, args, configs, rows)


if __name__ == "__main__":
    main()
