"""A GAN and a diffusion model on the same data: the 8-Gaussian ring and the 25-Gaussian grid, scored alike.

On each seed given, the script trains the course's best GAN recipe for the mixture (the preset
``best-ring`` or ``best-grid``, through ``gancourse.remedies.train_and_measure``, as
``bench_modes.py`` runs it) and a denoising diffusion model (``gancourse.diffusion.measure``:
Ho et al., 2020, with the settings of ``gancourse.diffusion.RECIPES``), draws 2,500 samples of
each and scores them with ``gancourse.metrics.mode_coverage`` (modes covered, % high-quality
samples, reverse KL). Then it measures what sampling costs: the network evaluations per sample
(counted, not assumed: 1 for the generator, T for the diffusion model) and the wall time to
draw 10,000 samples. Runs go side by side, one process and one thread each.

    python benchmarks/bench_diffusion.py --seeds 0 1 2 --budget smoke
    python benchmarks/bench_diffusion.py --dataset ring grid --seeds 0 1 2 3 4        # the book budget
    python benchmarks/bench_diffusion.py --models diffusion --dataset ring grid --json diffusion-native.json
    python tools/export_record.py --name diffusion --description "..." diffusion-native.json diffusion-default.json

Steps follow the budget (``--budget``, else ``$GANCOURSE_BUDGET``, else book): the preset's for
the GAN, the recipe's for the diffusion model; ``--gan-steps`` and ``--steps`` replace them.
``--json`` writes a session (provenance, settings, every run) in ``bench_modes.py``'s format,
which ``tools/export_record.py`` ships as ``gancourse/records/diffusion.json``, chapter 11's record.
"""

from __future__ import annotations

import argparse
import statistics
import time

from bench_modes import run_jobs, session_arguments, session_settings, write_session

from gancourse import budget, diffusion, record, remedies, train

SAMPLES_SCORED = 2_500  # PacGAN's benchmarks score 2,500 samples
SAMPLES_TIMED = 10_000
MODELS = ("gan", "diffusion")


def label(model: str, dataset: str) -> str:
    return f"best-{dataset}/gan" if model == "gan" else f"diffusion/{dataset}"


def measure_gan(dataset: str, seed: int, steps: int | None) -> dict:
    preset = f"best-{dataset}"
    run = remedies.train_and_measure(preset, "gan", seed=seed, steps=steps, n_samples=SAMPLES_SCORED, progress=False)
    start = time.perf_counter()
    with diffusion.count_evaluations(run.G) as calls:
        train.generate(run.G, SAMPLES_TIMED, seed=20_000 + seed)
    return dict(name=f"GAN ({preset})", steps=run.history["step"][-1], coverage=run.coverage, seconds=run.seconds,
                evaluations=calls[0], sample_seconds=time.perf_counter() - start)  # fmt: skip


def measure_diffusion(dataset: str, seed: int, steps: int | None) -> dict:
    run = diffusion.measure(dataset, seed, steps, n_samples=SAMPLES_SCORED, n_timed=SAMPLES_TIMED)
    return dict(name=f"diffusion (T = {run.model.T})", steps=run.history["step"][-1], coverage=run.coverage,
                seconds=run.seconds, evaluations=run.evaluations, sample_seconds=run.sample_seconds)  # fmt: skip


def measure(model: str, dataset: str, seed: int, steps: int | None) -> dict:
    found = (measure_gan if model == "gan" else measure_diffusion)(dataset, seed, steps)
    c = found.pop("coverage")
    return dict(label=label(model, dataset), model=model, dataset=dataset, seed=seed, **found, modes=c.modes,
                n_modes=c.n_modes, high_quality=c.high_quality, reverse_kl=c.reverse_kl)  # fmt: skip


def print_table(rows: list[dict]) -> None:
    print()
    print(f"{'model':28}{'steps':>7}{'modes (worst)':>16}{'high quality % (worst)':>25}{'rev. KL':>9}"
          f"{'train s':>9}{'evals/sample':>14}{f'{SAMPLES_TIMED:,} samples s':>19}")  # fmt: skip
    for name in dict.fromkeys(r["label"] for r in rows):
        mine = [r for r in rows if r["label"] == name]
        modes = [r["modes"] for r in mine]
        quality = [100 * r["high_quality"] for r in mine]
        print(f"{mine[0]['name'] + ', ' + mine[0]['dataset']:28}{mine[0]['steps']:7d}"
              f"{statistics.mean(modes):8.1f} ({min(modes)})/{mine[0]['n_modes']}"
              f"{statistics.mean(quality):17.1f} ({min(quality):5.1f})"
              f"{statistics.mean(r['reverse_kl'] for r in mine):9.3f}"
              f"{statistics.mean(r['seconds'] for r in mine):9.1f}"
              f"{statistics.mean(r['evaluations'] for r in mine):14.0f}"
              f"{statistics.mean(r['sample_seconds'] for r in mine):19.3f}")  # fmt: skip
    print(f"means over seeds {', '.join(str(r['seed']) for r in rows if r['label'] == rows[0]['label'])}; "
          f"{SAMPLES_SCORED:,} samples scored per run; one thread per run")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    session_arguments(parser, "both models' steps")
    parser.add_argument("--dataset", nargs="+", choices=diffusion.RECIPES, default=["ring"], help="the mixtures (default: ring)")
    parser.add_argument("--models", nargs="+", choices=MODELS, default=list(MODELS), help="the models (default: both)")
    parser.add_argument("--steps", type=int, default=None, help="the diffusion model's training steps (default: the budget's)")
    parser.add_argument("--gan-steps", type=int, default=None, help="the GAN's generator steps (default: the preset's for the budget)")
    args = parser.parse_args()
    session_settings(parser, args)
    for name, value in (("--steps", args.steps), ("--gan-steps", args.gan_steps)):
        if value is not None and value < 1:
            parser.error(f"{name} must be a positive integer, got {value}")
    models, datasets = list(dict.fromkeys(args.models)), list(dict.fromkeys(args.dataset))
    jobs = [dict(model=model, dataset=dataset, seed=seed, steps=args.gan_steps if model == "gan" else args.steps)
            for model in models for dataset in datasets for seed in args.seeds]  # fmt: skip
    configs = {label(model, dataset): diffusion.settings(dataset, args.steps, budget.current()) if model == "diffusion"
               else record.settings(f"best-{dataset}", "gan", args.gan_steps, budget.current())
               for model in models for dataset in datasets}  # fmt: skip
    rows, workers, wall = run_jobs(measure, jobs, args.workers)
    for r in rows:
        print(f"{r['name']} on the {r['dataset']}, seed {r['seed']}: {r['modes']}/{r['n_modes']} modes, "
              f"{100 * r['high_quality']:.1f} % high quality, reverse KL {r['reverse_kl']:.3f}; "
              f"{r['steps']} steps in {r['seconds']:.1f} s; "
              f"{r['evaluations']} network evaluation{'s' * (r['evaluations'] != 1)} per sample; "
              f"{SAMPLES_TIMED:,} samples in {r['sample_seconds']:.3f} s")  # fmt: skip
    print_table(rows)
    print(f"wall time {wall / 60:.1f} min")
    if args.json:
        write_session(args.json, workers, wall, args, configs, rows)


if __name__ == "__main__":
    main()
