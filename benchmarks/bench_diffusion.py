"""A GAN and a diffusion model on the same data: the 8-Gaussian ring, scored alike.

On each seed given, the script trains the course's best GAN recipe for the ring (the preset
``best-ring``, through ``gancourse.runs.train_and_measure``, as ``bench_modes.py`` runs it) and
a denoising diffusion model (``gancourse.diffusion``, Ho et al., 2020), draws 2,500 samples of
each and scores them with ``gancourse.metrics.mode_coverage`` (modes covered, % high-quality
samples, reverse KL). Then it measures what sampling costs: the network evaluations per sample
(counted, not assumed: 1 for the generator, T for the diffusion model) and the wall time to
draw 10,000 samples. Runs go side by side, one process and one thread each.

    python benchmarks/bench_diffusion.py --seeds 0 1 2 --budget smoke
    python benchmarks/bench_diffusion.py --seeds 0 1 2 3 4                   # the book budget
    python benchmarks/bench_diffusion.py --seeds 0 1 2 --steps 5000 --gan-steps 1000

Steps follow the budget (``--budget``, else ``$GANCOURSE_BUDGET``, else book): the preset's for
the GAN, :data:`DIFFUSION_STEPS` for the diffusion model; ``--gan-steps`` and ``--steps``
replace them.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import torch

from gancourse import budget, data, diffusion, metrics, parallel, runs, train

DIFFUSION = dict(hidden=128, depth=3, T=1000, scale=0.05)  # Ho et al.'s schedule; scale: five times a mode's std
DIFFUSION_STEPS = {"smoke": 200, "book": 10_000, "full": 50_000}  # Adam steps of 256 points at 1e-3
SAMPLES_SCORED = 2_500  # PacGAN's benchmarks score 2,500 samples
SAMPLES_TIMED = 10_000


def count_calls(module: torch.nn.Module) -> list[int]:
    """A one-element counter that the module's forward passes increment."""
    calls = [0]
    module.register_forward_hook(lambda *_: calls.__setitem__(0, calls[0] + 1))
    return calls


def measure_gan(seed: int, steps: int | None) -> dict:
    run = runs.train_and_measure("best-ring", "gan", seed=seed, steps=steps, n_samples=SAMPLES_SCORED, progress=False)
    calls = count_calls(run.G)
    start = time.perf_counter()
    train.generate(run.G, SAMPLES_TIMED, seed=20_000 + seed)
    return dict(model="GAN (best-ring)", seed=seed, steps=run.history["step"][-1], coverage=run.coverage,
                train_seconds=run.seconds, evaluations=calls[0], sample_seconds=time.perf_counter() - start)  # fmt: skip


def measure_diffusion(seed: int, steps: int) -> dict:
    ring = data.ring()
    torch.manual_seed(seed)  # the initial weights
    model = diffusion.DiffusionMLP(**DIFFUSION)
    result = diffusion.train_diffusion(model, ring, steps=steps, batch_size=256, lr=1e-3, seed=seed)
    samples = model.sample(SAMPLES_SCORED, generator=torch.Generator().manual_seed(10_000 + seed))
    coverage = metrics.mode_coverage(samples, ring.centers, ring.std)
    before = model.evaluations
    start = time.perf_counter()
    model.sample(SAMPLES_TIMED, generator=torch.Generator().manual_seed(20_000 + seed))
    return dict(model=f"diffusion (T = {model.T})", seed=seed, steps=steps, coverage=coverage,
                train_seconds=result.seconds, evaluations=model.evaluations - before,
                sample_seconds=time.perf_counter() - start)  # fmt: skip


def measure(model: str, seed: int, steps: int | None) -> dict:
    return measure_gan(seed, steps) if model == "gan" else measure_diffusion(seed, steps)


def print_table(rows: list[dict]) -> None:
    print()
    print(f"{'model':22}{'steps':>7}{'modes (worst)':>16}{'high quality % (worst)':>25}{'rev. KL':>9}"
          f"{'train s':>9}{'evals/sample':>14}{f'{SAMPLES_TIMED:,} samples s':>19}")  # fmt: skip
    for name in dict.fromkeys(r["model"] for r in rows):
        mine = [r for r in rows if r["model"] == name]
        modes = [r["coverage"].modes for r in mine]
        quality = [100 * r["coverage"].high_quality for r in mine]
        print(f"{name:22}{mine[0]['steps']:7d}{statistics.mean(modes):8.1f} ({min(modes)})/{mine[0]['coverage'].n_modes}"
              f"{statistics.mean(quality):17.1f} ({min(quality):5.1f})"
              f"{statistics.mean(r['coverage'].reverse_kl for r in mine):9.3f}"
              f"{statistics.mean(r['train_seconds'] for r in mine):9.1f}"
              f"{statistics.mean(r['evaluations'] for r in mine):14.0f}"
              f"{statistics.mean(r['sample_seconds'] for r in mine):19.3f}")  # fmt: skip
    print(f"means over seeds {', '.join(str(r['seed']) for r in rows if r['model'] == rows[0]['model'])}; "
          f"{SAMPLES_SCORED:,} samples scored per run; one thread per run")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4], help="the seeds to run")
    parser.add_argument("--budget", choices=budget.BUDGETS, help=f"the budget of both models' steps (default: ${budget.ENV_VAR} or book)")
    parser.add_argument("--steps", type=int, default=None, help="the diffusion model's training steps (default: the budget's)")
    parser.add_argument("--gan-steps", type=int, default=None, help="the GAN's generator steps (default: the preset's for the budget)")
    parser.add_argument("--workers", type=int, default=None, help="parallel processes (default: one per core)")
    args = parser.parse_args()
    if args.budget:
        os.environ[budget.ENV_VAR] = args.budget  # the workers inherit it
    for name, value in (("--steps", args.steps), ("--gan-steps", args.gan_steps)):
        if value is not None and value < 1:
            parser.error(f"{name} must be a positive integer, got {value}")
    steps = args.steps or budget.choose(**DIFFUSION_STEPS)
    jobs = [dict(model=model, seed=seed, steps=args.gan_steps if model == "gan" else steps)
            for model in ("gan", "diffusion") for seed in args.seeds]  # fmt: skip
    workers = args.workers or parallel.default_workers(len(jobs))
    print(f"{len(jobs)} runs in {workers} parallel processes, budget {budget.current()}, "
          f"kernels {torch.backends.cpu.get_cpu_capability()}", flush=True)  # fmt: skip
    start = time.perf_counter()
    rows = parallel.map(measure, jobs, workers)
    for r in rows:
        print(f"{r['model']} seed {r['seed']}: {r['coverage']}; {r['steps']} steps in {r['train_seconds']:.1f} s; "
              f"{r['evaluations']} network evaluation{'s' * (r['evaluations'] != 1)} per sample; {SAMPLES_TIMED:,} samples in {r['sample_seconds']:.3f} s")  # fmt: skip
    print_table(rows)
    print(f"wall time {(time.perf_counter() - start) / 60:.1f} min")


if __name__ == "__main__":
    main()
