"""Checks for assignment 5: measure mode collapse on the ring of 8 Gaussians, then cure it.

The metric is that of VEEGAN and PacGAN (see :func:`gancourse.metrics.mode_coverage`): a
sample is *high quality* when it lies within 3 standard deviations of its nearest mode, and
a mode is *covered* when at least one high-quality sample is nearest to it.

References: the distances to every mode by brute force, and the definitions applied to them,
in the check. :func:`remedy` trains the student's settings with
:func:`gancourse.remedies.train_and_measure` and scores them with
:func:`gancourse.metrics.mode_coverage` (checked against closed forms in
``tests/test_metrics.py``), against the targets set here.
"""

from __future__ import annotations

import math
from functools import partial

import torch

from .. import budget, data, metrics, remedies
from . import Case, Check, f64, fail, passed, seeded

# The collapsing GAN of the assignment: the ring preset with a generator that learns 50 times
# faster than its discriminator, so G keeps jumping to wherever D is currently fooled most.
COLLAPSING = {"train": {"lr_g": 5e-3, "lr_d": 1e-4}}
# The target a remedy must reach on each seed: (modes covered, fraction of high-quality samples).
TARGET_MODES, TARGET_HIGH_QUALITY = 7, 0.25
SEEDS = (0, 1)


def _cases(coverage: bool) -> list[Case]:
    """A case for each point set with known scores: a perfect sampler, one mode, points between modes,
    a far blur; between the modes, two modes are equally near: no index compared there."""
    ring = data.ring()
    gen = seeded(5)
    perfect = ring.sample(2_500, generator=gen).to(f64)
    one_mode = ring.centers[3].to(f64) + 0.01 * torch.randn(500, 2, dtype=f64, generator=gen)
    between = 0.5 * (ring.centers + ring.centers.roll(1, dims=0)).to(f64).repeat(20, 1)  # no mode's
    blur = 1.5 * torch.randn(2_000, 2, dtype=f64, generator=gen)  # far from the ring, mostly
    mixed = torch.cat([perfect[:300], one_mode[:200], between, blur[:300]])
    sets = {"perfect sampler": perfect, "one mode": one_mode, "between the modes": between, "a wide blur": blur, "a mixture of those": mixed}  # fmt: skip
    centers, std = ring.centers.to(f64), ring.std
    if coverage:
        return [Case(name, (samples, centers, std), scalar=True) for name, samples in sets.items()]
    return [Case(name, (samples, centers), rtol=1e-5, atol=1e-7,
                 want=(None, _nearest(samples, centers)[1]) if name == "between the modes" else None) for name, samples in sets.items()]  # fmt: skip


def _nearest(samples, centers):
    """(index, distance) of each sample's nearest centre, by brute force; and all squared distances."""
    squared = ((samples[:, None, :] - centers[None, :, :]) ** 2).sum(-1)
    distance, index = squared.sqrt().min(dim=1)
    return index, distance, squared


nearest_mode = Check(
    "nearest_mode", doc="``fn(samples, centers)`` -> ``(index, distance)``: :math:`k(x) = \\arg\\min_k \\|x - c_k\\|_2` and that distance.",
    parts=("index", "distance"), reference=lambda x, c: _nearest(x, c)[:2], cases=lambda: _cases(coverage=False), mistakes={
        "That is the squared distance; take the square root.": lambda x, c: (_nearest(x, c)[0], _nearest(x, c)[2].min(dim=1).values),
        "That is the distance to the farthest mode; use the minimum, not the maximum.": lambda x, c: _nearest(x, c)[2].sqrt().max(dim=1)[::-1],
        "Those are the farthest modes; use argmin.": lambda x, c: (_nearest(x, c)[2].argmax(dim=1), _nearest(x, c)[1]),
        "Return one mode per sample, an index of shape (N,) (argmin without keepdim).": lambda x, c: (_nearest(x, c)[0][:, None], _nearest(x, c)[1]),
    }, report="agrees with a brute-force search on 5 point sets",
)  # fmt: skip


def _coverage(samples, centers, std, tau=3.0, any_sample=False):
    """(modes, high_quality): the modes nearest to a sample within tau std (or to any sample), the fraction within tau std."""
    index, distance, _ = _nearest(samples, centers)
    good = distance < tau * std
    return (index if any_sample else index[good]).unique().numel(), good.double().mean()


coverage = Check(
    "coverage", doc="""``fn(samples, centers, std)`` -> ``(modes, high_quality)``: modes with at least one sample within
    :math:`3\\sigma` of it (as nearest mode), and the fraction of samples within :math:`3\\sigma` of their nearest mode.""",
    parts=("modes", "high_quality"), reference=_coverage, cases=lambda: _cases(coverage=True), mistakes={
        "That is the fraction within 1 standard deviation; the threshold is 3 standard deviations.": partial(_coverage, tau=1.0),
        "That counts modes within 1 standard deviation; the threshold is 3 standard deviations.":
            lambda x, c, std: (_coverage(x, c, std, 1.0)[0], _coverage(x, c, std)[1]),
        "That is a count of samples; return the fraction of all samples.": lambda x, c, std: (_coverage(x, c, std)[0], _coverage(x, c, std)[1] * len(x)),
        "That is a percentage; return a fraction between 0 and 1.": lambda x, c, std: (_coverage(x, c, std)[0], 100 * _coverage(x, c, std)[1]),
        "Compare the distance itself (not its square) with 3 std.":
            lambda x, c, std: (_coverage(x, c, std)[0], ((_nearest(x, c)[1] ** 2) < 3 * std).double().mean()),
        "That counts every mode that is nearest to some sample; a mode counts only if a *high-quality* sample is nearest to it.":
            partial(_coverage, any_sample=True),
        "That is the number of high-quality samples; count the distinct modes they sit on.":
            lambda x, c, std: (int(_coverage(x, c, std)[1] * len(x)), _coverage(x, c, std)[1]),
    }, report=lambda r: f"agrees with the PacGAN definitions on {len(r)} point sets (a perfect sampler: {r[0][0]:.0f}/8 modes, "
                        f"{100 * r[0][1]:.1f}% high quality; 1 - exp(-9/2) = {100 * (1 - math.exp(-4.5)):.1f}%)",
)  # fmt: skip


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
    main, slow = budget.choose(smoke=(1_000, 300), book=(3_000, 1_000), full=(10_000, 3_000))  # then at lr/10
    scores = []
    for seed in SEEDS:
        try:
            result = remedies.train_and_measure("ring", "gan", seed, main, finetune=slow, progress=False, overrides=overrides)  # fmt: skip
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
