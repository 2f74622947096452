"""Checks for assignment 5: measure mode collapse on the ring of 8 Gaussians, then cure it.

The metric is that of VEEGAN and PacGAN (see :func:`gancourse.metrics.mode_coverage`): a
sample is *high quality* when it lies within 3 standard deviations of its nearest mode, and
a mode is *covered* when at least one high-quality sample is nearest to it.

References: the distances to every mode by brute force, and the definitions applied to them,
in the check. :func:`remedy` trains the student's settings with
:func:`gancourse.runs.train_and_measure` and scores them with
:func:`gancourse.metrics.mode_coverage` (checked against closed forms in
``tests/test_metrics.py``), against the targets set here.
"""

from __future__ import annotations

import math

import torch

from .. import budget, data, metrics, runs
from . import Case, f64, fail, judge, pair, passed, to_float, to_tensor

# The collapsing GAN of the assignment: the ring preset with a generator that learns 50 times
# faster than its discriminator, so G keeps jumping to wherever D is currently fooled most.
COLLAPSING = {"train": {"lr_g": 5e-3, "lr_d": 1e-4}}
# The target a remedy must reach on each seed: (modes covered, fraction of high-quality samples).
TARGET_MODES, TARGET_HIGH_QUALITY = 7, 0.25
SEEDS = (0, 1)


def steps() -> tuple[int, int]:
    """Training steps for the remedy check at the current budget: (main phase, slow phase at lr/10)."""
    return budget.choose(smoke=(1_000, 300), book=(3_000, 1_000), full=(10_000, 3_000))


def _sample_sets():
    """Point sets with known scores: a perfect sampler, one mode, points between modes, a far blur."""
    ring = data.ring()
    gen = torch.Generator().manual_seed(5)
    perfect = ring.sample(2_500, generator=gen).to(f64)
    one_mode = ring.centers[3].to(f64) + 0.01 * torch.randn(500, 2, dtype=f64, generator=gen)
    between = 0.5 * (ring.centers + ring.centers.roll(1, dims=0)).to(f64).repeat(20, 1)  # no mode's
    blur = 1.5 * torch.randn(2_000, 2, dtype=f64, generator=gen)  # far from the ring, mostly
    mixed = torch.cat([perfect[:300], one_mode[:200], between, blur[:300]])
    sets = {"perfect sampler": perfect, "one mode": one_mode, "between the modes": between, "a wide blur": blur, "a mixture of those": mixed}  # fmt: skip
    return ring.centers.to(f64), ring.std, sets


def _brute_nearest(samples, centers):
    """(distance, index) of each sample's nearest centre, by brute force; and all squared distances."""
    squared = ((samples[:, None, :] - centers[None, :, :]) ** 2).sum(-1)
    distance, nearest = squared.sqrt().min(dim=1)
    return distance, nearest, squared



def nearest_mode(fn) -> None:
    """``fn(samples, centers)`` -> ``(index, distance)``: :math:`k(x) = \\arg\\min_k \\|x - c_k\\|_2` and that distance."""
    task, (centers, _, sets) = "nearest_mode", _sample_sets()
    for name, samples in sets.items():
        index, distance = pair(task, fn(samples, centers), "(index, distance)")
        want_distance, want_index, squared = _brute_nearest(samples, centers)
        index = to_tensor(task, index, "index")
        if index.shape != want_index.shape:
            fail(task, f"on {name} index has shape {tuple(index.shape)}; expected {tuple(want_index.shape)}, one mode per sample")  # fmt: skip
        judge(task, Case(f"distance on {name}", want=want_distance, mistakes={
            "That is the squared distance; take the square root.": squared.min(dim=1).values,
            "That is the distance to the farthest mode; use the minimum, not the maximum.": squared.max(dim=1).values.sqrt(),
        }, rtol=1e-5, atol=1e-7), distance)  # fmt: skip
        if name != "between the modes":  # there two modes are equally near
            judge(task, Case(f"index on {name}", want=want_index.to(f64), mistakes={
                "Those are the farthest modes; use argmin.": squared.argmax(dim=1).to(f64),
            }, atol=0), index)  # fmt: skip
    passed(task, f"agrees with a brute-force search on {len(sets)} point sets")


def coverage(fn) -> None:
    """``fn(samples, centers, std)`` -> ``(modes, high_quality)``: modes with at least one sample within
    :math:`3\\sigma` of it (as nearest mode), and the fraction of samples within :math:`3\\sigma` of their nearest mode."""
    task, (centers, std, sets) = "coverage", _sample_sets()
    for name, samples in sets.items():
        modes, high_quality = pair(task, fn(samples, centers, std), "(modes, high_quality)")
        modes, high_quality = to_float(task, modes, "modes"), to_float(task, high_quality, "high_quality")  # fmt: skip
        distance, nearest, _ = _brute_nearest(samples, centers)
        within = {tau: distance < tau * std for tau in (1.0, 3.0)}  # high quality: within 3 std
        want_quality, want_modes = within[3.0].double().mean(), nearest[within[3.0]].unique().numel()  # fmt: skip
        judge(task, Case(f"high_quality on {name}", want=want_quality, mistakes={
            "That is the fraction within 1 standard deviation; the threshold is 3 standard deviations.": within[1.0].double().mean(),
            "That is a count of samples; return the fraction of all samples.": float(within[3.0].sum()),
            "That is a percentage; return a fraction between 0 and 1.": 100 * want_quality,
            "Compare the distance itself (not its square) with 3 std.": ((distance**2) < 3 * std).double().mean(),
        }, rtol=1e-9, atol=1e-12, scalar=True, what="high_quality"), high_quality)  # fmt: skip
        judge(task, Case(f"modes on {name}", want=want_modes, mistakes={
            "That counts every mode that is nearest to some sample; a mode counts only if a *high-quality* sample is nearest to it.": nearest.unique().numel(),
            "That counts modes within 1 standard deviation; the threshold is 3 standard deviations.": nearest[within[1.0]].unique().numel(),
            "That is the number of high-quality samples; count the distinct modes they sit on.": int(within[3.0].sum()),
        }, atol=0, scalar=True, what="modes"), modes)  # fmt: skip
        if name == "perfect sampler":
            perfect = f"{want_modes}/8 modes, {100 * want_quality:.1f}% high quality"
    passed(task, f"agrees with the PacGAN definitions on {len(sets)} point sets (a perfect sampler: "
                 f"{perfect}; 1 - exp(-9/2) = {100 * (1 - math.exp(-4.5)):.1f}%)")  # fmt: skip


def remedy(fn) -> list[tuple[torch.Tensor, metrics.ModeCoverage]]:
    """``fn()`` -> settings that, applied over :data:`COLLAPSING`, cover at least 7 of the 8 modes with
    at least 25% high-quality samples, on each of two seeds.

    The settings are those of :func:`gancourse.runs.load_config` (``pack``, ``hidden``, ...) with a
    ``"train"`` entry for :class:`gancourse.train.TrainConfig` fields (``lr_g``, ``lr_d``, ``k``,
    ``loss``, ``instance_noise``, ``r1_gamma``, ...). Each run trains for the budget's steps, then a
    third as many at a tenth of the learning rates, and scores 2,500 samples.

    Returns:
        ``(samples, score)`` of each seed, for a figure.
    """
    task = "remedy"
    settings = fn()
    if not isinstance(settings, dict):
        fail(task, f"remedy() should return a dict of settings, but returned {type(settings).__name__}")  # fmt: skip
    if "steps" in settings or "steps" in settings.get("train", {}):
        fail(task, "the number of steps is set by the check (by the budget); change how the GAN trains, not how long")  # fmt: skip
    overrides = {**settings, "train": {**COLLAPSING["train"], **settings.get("train", {})}}
    main, slow = steps()
    scores = []
    for seed in SEEDS:
        try:
            result = runs.train_and_measure("ring", "gan", seed, main, finetune=slow, progress=False, overrides=overrides)  # fmt: skip
        except (TypeError, ValueError) as error:
            fail(task, f"these settings cannot be used: {error}")
        samples, score = result.samples, result.coverage
        print(f"  seed {seed}: {score}  ({result.seconds:.0f} s)")
        if score.modes < TARGET_MODES or score.high_quality < TARGET_HIGH_QUALITY:
            unchanged = overrides["train"] == COLLAPSING["train"] and set(overrides) == {"train"}
            hint = " These are the collapsing settings themselves: change something." if unchanged else ""  # fmt: skip
            fail(task, f"seed {seed}: {score.modes}/8 modes and {100 * score.high_quality:.1f}% high quality "
                       f"after {main} + {slow} steps; the target is at least {TARGET_MODES}/8 modes and "
                       f"{100 * TARGET_HIGH_QUALITY:.0f}% high quality.{hint}")  # fmt: skip
        scores.append((samples, score))
    passed(task, f"at least {TARGET_MODES}/8 modes and {100 * TARGET_HIGH_QUALITY:.0f}% high quality on seeds {SEEDS}")  # fmt: skip
    return scores
