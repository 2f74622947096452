"""The mode-collapse experiments: each remedy as settings over a toy preset, trained and measured.

A remedy is a set of :class:`~gancourse.runs.RunConfig` overrides (:func:`remedy_settings`)
laid over a ring or grid preset of :data:`gancourse.runs.PRESETS`; :func:`train_and_measure`
trains that run and scores its generator with :func:`gancourse.metrics.mode_coverage` on
2,500 samples (modes covered, % high quality, reverse KL of the mode histogram, PacGAN's
definitions), and :func:`compare_remedies` does so for every remedy and seed in worker
processes. Chapters 7 and 8 and ``benchmarks/bench_modes.py`` use them.
"""

from __future__ import annotations

import copy
import functools
from dataclasses import dataclass, field, replace

import torch

from . import metrics, train
from .runs import RunConfig, build, distribution, load_config
from .settings import require

REMEDIES = ("gan", "minimax", "ttur", "pacgan", "minibatch-std", "wgan-gp", "wgan-gp-toy", "noise", "r1", "spectral-norm",
            "feature-matching")  # fmt: skip
PACK = {"ring": 2, "grid": 4}  # PacGAN's Table 1 (Lin et al., 2018) has m = 2, 3, 4 on both; bench_modes quotes these rows
NOISE_STD = {"ring": 0.05, "grid": 0.25}  # instance noise: about 5 mode widths, annealed to 0
R1_GAMMA = 10.0  # strong enough to matter on ring-collapse, where 0.1 and 1 were not (benchmarks/records/NOTES.md)
TTUR_RATIO = 10  # the two time-scale update rule: D's rate ten times G's (Heusel et al., 2017)
# WGAN-GP as Gulrajani et al.'s Algorithm 1 has it (the penalty weight, Adam's betas, five critic
# steps per generator step; TrainConfig's defaults for the loss) ...
WGAN_GP_PAPER = {"loss": "wgan-gp", "gp_lambda": 10.0, "betas": (0.0, 0.9), "k": 5}
# ... and as their own toy script (gan_toy.py) runs it on the 8 Gaussians: a weak penalty and
# Adam's beta1 = 0.5.
WGAN_GP_TOY = {"loss": "wgan-gp", "gp_lambda": 0.1, "betas": (0.5, 0.9), "k": 5}


def remedy_settings(remedy: str, preset: str) -> dict:
    """:class:`RunConfig` overrides that switch one mode-collapse remedy on, over a ring or grid preset.

    ``gan``: the plain non-saturating GAN; ``minimax``: the saturating loss; ``ttur``: the
    two time-scale update rule, D at the larger of the preset's two rates and G at a tenth
    of it (:data:`TTUR_RATIO`); ``pacgan``: D scores packs of 2 (ring) or 4 (grid) samples
    (PacGAN's presets count their batch in packs, as the paper does); ``minibatch-std``: D
    sees its batch's standard deviation; ``wgan-gp``: the gradient penalty with the paper's
    settings (:data:`WGAN_GP_PAPER`, lambda = 10); ``wgan-gp-toy``: with those of Gulrajani
    et al.'s toy script (:data:`WGAN_GP_TOY`, lambda = 0.1); ``noise``: instance noise;
    ``r1``: the R1 penalty; ``spectral-norm``: spectral normalisation of every layer of D
    (Miyato et al., 2018); ``feature-matching``: G matches the mean of D's last hidden layer on
    real data (Salimans et al., 2016). Except for ``ttur``, the learning rates stay the preset's.
    Remedies join with ``+`` (``"ttur+noise"``): their settings merge, later ones winning.

    Introduced in chapter 8.
    """
    require(isinstance(remedy, str), "remedy", remedy, f"one of {', '.join(REMEDIES)}")
    if "+" in remedy:
        merged: dict = {"train": {}}
        for part in remedy.split("+"):
            settings = remedy_settings(part, preset)
            merged["train"].update(settings.pop("train", {}))
            merged.update(settings)
        return merged if merged["train"] else {k: v for k, v in merged.items() if k != "train"}
    if remedy not in REMEDIES:
        raise ValueError(f"unknown remedy {remedy!r}; choose one of {', '.join(REMEDIES)} (or several joined by '+').")
    config = load_config(preset)
    dataset = config.dataset
    if dataset not in PACK:
        raise ValueError(f"remedies are defined for the 'ring' and 'grid' mixtures, not {dataset!r} (preset {preset!r}).")
    if remedy == "ttur":
        rates = config.training_config()
        fast = max(rates.lr_d, rates.lr_g)
        return {"train": {"lr_d": fast, "lr_g": fast / TTUR_RATIO}}
    return {
        "gan": {},
        "minimax": {"train": {"loss": "minimax"}},
        "pacgan": {"pack": PACK[dataset]},
        "minibatch-std": {"minibatch_std": True},
        "wgan-gp": {"train": dict(WGAN_GP_PAPER)},
        "wgan-gp-toy": {"train": dict(WGAN_GP_TOY)},
        "noise": {"train": {"instance_noise": NOISE_STD[dataset]}},
        "r1": {"train": {"r1_gamma": R1_GAMMA}},
        "spectral-norm": {"spectral_norm": True},
        "feature-matching": {"train": {"loss": "feature-matching"}},
    }[remedy]


def remedy_config(
    preset: str, remedy: str = "gan", seed: int = 0, steps: int | None = None, lr: float | None = None,
    overrides: dict | None = None, progress: bool | None = None,
) -> RunConfig:  # fmt: skip
    """The :class:`RunConfig` that :func:`train_and_measure` trains, with the same arguments.

    The preset, then the remedy's settings (:func:`remedy_settings`), then ``lr`` (both
    players' rate) and ``overrides`` (applied last; a ``"train"`` entry updates the training
    settings), with ``seed`` as the initial weights' and the training loop's seed.

    Introduced in chapter 8.
    """
    settings = remedy_settings(remedy, preset)
    train_settings = {**settings.pop("train", {}), "seed": seed, "progress": progress}
    if lr is not None:
        train_settings.update(lr_d=lr, lr_g=lr)
    overrides = copy.deepcopy(overrides or {})
    train_settings.update(overrides.pop("train", {}))
    settings.update(overrides)
    steps_arg = {} if steps is None else {"steps": steps}
    return load_config(preset, init_seed=seed, train=train_settings, **steps_arg, **settings)


@dataclass
class ToyRun:
    """One toy GAN trained and measured by :func:`train_and_measure`."""

    samples: torch.Tensor  # (n_samples, 2) generated points, on the CPU
    coverage: metrics.ModeCoverage  # their mode coverage
    seconds: float  # training time
    snapshots: dict[int, torch.Tensor] = field(default_factory=dict)  # step -> samples on the same noise
    history: dict[str, list[float]] = field(default_factory=dict)  # train.train's history, all phases
    G: torch.nn.Module | None = None  # the trained generator, on the CPU
    D: torch.nn.Module | None = None  # the trained discriminator (or critic), on the CPU


def train_and_measure(
    preset: str,
    remedy: str = "gan",
    seed: int = 0,
    steps: int | None = None,
    n_samples: int = 2_500,
    lr: float | None = None,
    finetune: int = 0,
    progress: bool | None = None,
    overrides: dict | None = None,
    snapshots: tuple[int, ...] = (),
    weights=None,
) -> ToyRun:
    """Train the toy GAN of a ring or grid preset with one remedy; score it with :func:`~gancourse.metrics.mode_coverage`.

    ``seed`` seeds the initial weights, the training set (if the preset has one), the
    batches and the noise. ``steps``: generator steps (None: the preset's for the budget).
    ``finetune`` > 0 adds that many steps at a tenth of the learning rates (fresh
    optimisers): the modes are so narrow (3 std = 0.03 on the ring) that Adam's jitter at
    1e-3 alone throws many samples out of them. ``lr`` overrides both players' rate.
    ``overrides`` are :class:`RunConfig` settings applied last (its ``"train"`` entry
    updates the training settings), e.g. ``{"pack": 2, "train": {"lr_d": 1e-4}}``.
    ``snapshots``: steps at which to keep ``n_samples`` generated points (0 = before training).
    ``weights``: the modes' probabilities in the training data (K numbers >= 0 summing to 1;
    None: equal), :meth:`~gancourse.data.GaussianMixture.reweighted`.

    Returns:
        A :class:`ToyRun`; the final samples and the snapshots use the same noise.

    Introduced in chapter 7.
    """
    config = remedy_config(preset, remedy, seed, steps, lr, overrides, progress)
    mixture = distribution(config)
    source, G, D = build(config)
    if weights is not None:  # the same modes, drawn with other probabilities
        mixture = mixture.reweighted(weights)
        source = mixture if config.n_train is None else mixture.sample(config.n_train, seed=config.init_seed)
    train_config = config.training_config()
    z = torch.randn(n_samples, G.z_dim, generator=torch.Generator().manual_seed(10_000 + seed))
    kept: dict[int, torch.Tensor] = {0: train.decode(G, z)} if 0 in snapshots else {}
    phases = [train_config]
    if finetune:
        lr_d, lr_g = train_config.lr_d / 10, train_config.lr_g / 10
        phases.append(replace(train_config, steps=finetune, lr_d=lr_d, lr_g=lr_g, seed=seed + 1_000))
    seconds, done, history = 0.0, 0, {}
    for phase in phases:
        at = [s - done for s in snapshots if done < s <= done + phase.steps]  # this phase's own steps
        callback = functools.partial(_keep_samples, kept, z, done)
        result = train.train(G, D, source, phase, callback=callback, callback_at=at)
        for key, values in result.history.items():
            history.setdefault(key, []).extend([done + v for v in values] if key == "step" else values)
        seconds += result.seconds
        done += phase.steps
    samples = train.decode(G, z)
    coverage = metrics.mode_coverage(samples, mixture.centers, mixture.std)
    return ToyRun(samples, coverage, seconds, kept, history, G.cpu(), D.cpu())


def _keep_samples(kept: dict, z: torch.Tensor, offset: int, step: int, G, D) -> None:
    kept[offset + step] = train.decode(G, z)


def compare_remedies(
    preset: str, remedies, seeds, steps: int | None = None, workers: int | None = None, **kwargs
) -> dict[tuple[str, int], ToyRun]:
    """:func:`train_and_measure` for every remedy and seed, side by side in parallel processes.

    Returns:
        ``{(remedy, seed): ToyRun}``. Keyword arguments go to every run (``finetune``,
        ``snapshots``, ``overrides``, ...); ``workers`` as in :func:`gancourse.parallel.map`.

    Introduced in chapter 8.
    """
    from . import parallel

    keys = [(remedy, seed) for remedy in remedies for seed in seeds]
    kwargs.setdefault("progress", False)  # a worker's progress bar would not reach the notebook
    jobs = [dict(preset=preset, remedy=remedy, seed=seed, steps=steps, **kwargs) for remedy, seed in keys]
    return dict(zip(keys, parallel.map(train_and_measure, jobs, workers), strict=True))
