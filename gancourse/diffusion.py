"""A denoising diffusion model (Ho et al., 2020) for the course's 2-D toy data: the GANs' point of comparison.

A diffusion model learns to undo noise instead of playing a game. The *forward process*
adds Gaussian noise in T small steps, :math:`q(x_t \\mid x_{t-1}) = \\mathcal N(\\sqrt{1-\\beta_t}\\,x_{t-1}, \\beta_t I)`,
until :math:`x_T` is almost :math:`\\mathcal N(0, I)`; it has a closed form for any t,

.. math:: q(x_t \\mid x_0) = \\mathcal N\\bigl(\\sqrt{\\bar\\alpha_t}\\,x_0,\\ (1 - \\bar\\alpha_t) I\\bigr),
          \\quad \\alpha_t = 1 - \\beta_t,\\ \\bar\\alpha_t = \\prod_{s \\le t} \\alpha_s,

so :math:`x_t = \\sqrt{\\bar\\alpha_t}\\,x_0 + \\sqrt{1 - \\bar\\alpha_t}\\,\\epsilon` with
:math:`\\epsilon \\sim \\mathcal N(0, I)`. A network :math:`\\epsilon_\\theta(x_t, t)` learns to
tell the noise :math:`\\epsilon` from :math:`x_t` (the *simple loss*, a mean squared error), and
the *reverse process* starts from noise and removes it one step at a time (ancestral
sampling): T network evaluations per sample, where a GAN's generator needs one.

- :func:`linear_schedule` / :class:`NoiseSchedule`: the :math:`\\beta_t`, :math:`\\alpha_t`, :math:`\\bar\\alpha_t`;
- :func:`q_sample`: a draw of :math:`x_t` from :math:`q(x_t \\mid x_0)`, with its noise;
- :class:`DiffusionMLP`: :math:`\\epsilon_\\theta`, its schedule, and :meth:`DiffusionMLP.sample`
  (Ho et al.'s Algorithm 2), which counts its network evaluations; :func:`count_evaluations`
  counts any network's, a GAN's generator's too;
- :func:`simple_loss`, :func:`loss` and :func:`train_diffusion` (Algorithm 1, with Adam);
- :data:`RECIPES` and :func:`measure`: the course's settings for the ring and the grid, trained
  and scored as the GANs are (chapter 11 and ``benchmarks/bench_diffusion.py``); :func:`settings`
  lets :func:`gancourse.record.stale` keep the shipped record (``gancourse/records/diffusion.json``) honest.

Everything is seeded through ``torch.Generator`` objects, so a run on the CPU repeats exactly.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import torch
from torch import nn

from . import budget, data, metrics
from .models import mlp
from .settings import SEED_RANGE, is_int, is_number, is_seed, require

Tensor = torch.Tensor


@dataclass(frozen=True)
class NoiseSchedule:
    """The variances :math:`\\beta_1, \\dots, \\beta_T` of the forward process, and what follows from them.

    Tensors are indexed from 0: entry ``t - 1`` holds the value at step t = 1..T.

    Introduced in chapter 11.
    """

    betas: Tensor  # (T,) float64, each in (0, 1)

    def __post_init__(self):
        betas = self.betas
        if not isinstance(betas, Tensor) or betas.dim() != 1 or betas.numel() < 1:
            shape = f"shape {tuple(betas.shape)}" if isinstance(betas, Tensor) else type(betas).__name__
            raise ValueError(f"betas must be a 1-D tensor of T >= 1 values, got {shape}")
        if not ((betas > 0) & (betas < 1)).all():
            raise ValueError(f"betas must lie in (0, 1), got values from {float(betas.min())} to {float(betas.max())}")

    @property
    def T(self) -> int:
        """The number of diffusion steps."""
        return self.betas.numel()

    @property
    def alphas(self) -> Tensor:
        """:math:`\\alpha_t = 1 - \\beta_t`, shape (T,)."""
        return 1 - self.betas

    @property
    def alpha_bars(self) -> Tensor:
        """:math:`\\bar\\alpha_t = \\prod_{s=1}^t \\alpha_s`, shape (T,): the signal kept in :math:`x_t`."""
        return torch.cumprod(self.alphas, dim=0)


def linear_schedule(T: int = 1000, beta_1: float = 1e-4, beta_T: float = 0.02) -> NoiseSchedule:
    """Ho et al. (2020)'s schedule: :math:`\\beta_t` linear from :math:`\\beta_1 = 10^{-4}` to :math:`\\beta_T = 0.02`.

    With their T = 1000, :math:`\\bar\\alpha_T \\approx 4 \\cdot 10^{-5}`: :math:`x_T` holds almost
    nothing of :math:`x_0`. The same end points over fewer steps add less noise in all
    (:math:`\\bar\\alpha_T \\approx 0.36` for T = 100), so a shorter chain needs larger betas,
    e.g. ``beta_1=0.1 / T, beta_T=20 / T`` (the same sum of betas; for T > 20).

    Args:
        T: the number of steps (>= 1); with T = 1 the single beta is ``beta_T``.
        beta_1, beta_T: the first and last variance, each in (0, 1).

    Introduced in chapter 11.
    """
    require(is_int(T) and T >= 1, "T", T, "a positive integer")
    for name, value in (("beta_1", beta_1), ("beta_T", beta_T)):
        require(is_number(value) and 0 < value < 1, name, value, "a number in (0, 1)")
    if T == 1:
        return NoiseSchedule(torch.tensor([float(beta_T)], dtype=torch.float64))
    return NoiseSchedule(torch.linspace(beta_1, beta_T, T, dtype=torch.float64))


def q_sample(x_0: Tensor, t: Tensor, schedule: NoiseSchedule, generator: torch.Generator | None = None):
    """A draw from the forward process in closed form: :math:`x_t \\sim q(x_t \\mid x_0)`.

    .. math:: x_t = \\sqrt{\\bar\\alpha_t}\\,x_0 + \\sqrt{1 - \\bar\\alpha_t}\\,\\epsilon,
              \\quad \\epsilon \\sim \\mathcal N(0, I)

    Args:
        x_0: clean data, shape (N, ...): points (N, d), or images.
        t: steps, shape (N,), integers in 1..T (one per row).
        schedule: the :class:`NoiseSchedule`.
        generator: the source of :math:`\\epsilon`; the noise is drawn on its device (the CPU
            if None) and moved to ``x_0``'s, so a run draws the same on every device.

    Returns:
        ``(x_t, eps)``, both of ``x_0``'s shape, dtype and device.

    Introduced in chapter 11.
    """
    t = _steps(t, x_0.shape[0], schedule.T)
    alpha_bar = schedule.alpha_bars.to(x_0.device)[t - 1].to(x_0.dtype)
    alpha_bar = alpha_bar.reshape(-1, *[1] * (x_0.dim() - 1))  # (N, 1, ...): one value per row
    eps = torch.randn(x_0.shape, generator=generator, dtype=x_0.dtype, device=_device_of(generator)).to(x_0.device)
    return alpha_bar.sqrt() * x_0 + (1 - alpha_bar).sqrt() * eps, eps


def time_embedding(t: Tensor, dim: int) -> Tensor:
    """Sinusoids of the step, as the Transformer encodes positions (Ho et al. use the same for t).

    .. math:: e(t) = \\bigl(\\sin(\\omega_0 t), \\dots, \\sin(\\omega_{k-1} t), \\cos(\\omega_0 t), \\dots, \\cos(\\omega_{k-1} t)\\bigr),
              \\quad \\omega_i = 10000^{-i/k},\\ k = \\text{dim}/2

    (N,) -> (N, dim): nearby steps get nearby codes, and every step a distinct one.

    Introduced in chapter 11.
    """
    k = dim // 2
    omega = torch.exp(-math.log(10_000.0) * torch.arange(k, device=t.device) / k)  # (k,)
    angles = t.float().unsqueeze(1) * omega  # (N, k)
    return torch.cat([angles.sin(), angles.cos()], dim=1)


class DiffusionMLP(nn.Module):
    """:math:`\\epsilon_\\theta(x_t, t)`: an MLP that predicts the noise in :math:`x_t`, with its noise schedule.

    Its input is :math:`x_t` beside the :func:`time_embedding` of t; SiLU (swish) units, the
    activation of Ho et al. (2020)'s network; a linear output of the data's dimension.

    ``scale`` is the length, in the data's units, that the diffusion sees as 1: it diffuses
    :math:`x_0 = x / \\text{scale}` and multiplies its samples back. Ho et al. scale images to
    [-1, 1]; on the toy mixtures what matters is the modes' width, which should be well above
    the smallest noise, :math:`\\sqrt{\\beta_1} = 0.01`: at scale 1 a mode of the ring (std 0.01)
    is no wider than that noise and most samples land outside it. About five times the modes'
    std works: ``scale=0.05`` for the ring, ``0.25`` for the grid.

    ``evaluations`` counts the calls of the network since the model was built (training
    included): :meth:`sample` adds T, however many samples it draws.

    Introduced in chapter 11.
    """

    def __init__(
        self,
        x_dim: int = 2,
        hidden: int = 128,
        depth: int = 3,
        T: int = 1000,
        beta_1: float = 1e-4,
        beta_T: float = 0.02,
        embed_dim: int = 32,
        scale: float = 1.0,
    ):
        super().__init__()
        require(is_int(x_dim) and x_dim >= 1, "x_dim", x_dim, "a positive integer")
        require(is_int(embed_dim) and embed_dim >= 2 and embed_dim % 2 == 0, "embed_dim", embed_dim,
                "an even integer >= 2")  # fmt: skip
        require(is_number(scale) and scale > 0, "scale", scale, "a positive number")
        self.x_dim, self.embed_dim, self.scale = x_dim, embed_dim, float(scale)
        self.schedule = linear_schedule(T, beta_1, beta_T)
        self.net = mlp(x_dim + embed_dim, x_dim, hidden, depth, nn.SiLU)
        self.evaluations = 0

    @property
    def T(self) -> int:
        """The number of diffusion steps, and of network evaluations per sample."""
        return self.schedule.T

    def forward(self, x_t: Tensor, t: Tensor) -> Tensor:
        """The predicted noise :math:`\\epsilon_\\theta(x_t, t)`: (N, d) and steps (N,) -> (N, d)."""
        self.evaluations += 1
        return self.net(torch.cat([x_t, time_embedding(t, self.embed_dim)], dim=1))

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        """``n`` samples by ancestral sampling, Algorithm 2 of Ho et al. (2020): (n, d), on the CPU.

        .. math:: x_T \\sim \\mathcal N(0, I);\\quad
                  x_{t-1} = \\frac{1}{\\sqrt{\\alpha_t}}\\Bigl(x_t - \\frac{\\beta_t}{\\sqrt{1 - \\bar\\alpha_t}}\\,
                  \\epsilon_\\theta(x_t, t)\\Bigr) + \\sigma_t z \\quad\\text{for } t = T, \\dots, 1,

        with :math:`z \\sim \\mathcal N(0, I)` for t > 1, z = 0 at t = 1, and
        :math:`\\sigma_t^2 = \\beta_t` (one of the two variances Ho et al. found to work alike).
        T network evaluations, each on the whole batch. The model runs in eval mode and is put
        back as it was. ``generator`` draws :math:`x_T` and every z on its own device (the CPU
        if None), so a seed gives the same samples on every device, up to rounding.
        """
        require(is_int(n) and n >= 1, "n", n, "a positive integer")
        device = next(self.parameters()).device
        draws_on = _device_of(generator)
        betas, alphas, alpha_bars = (v.to(device, torch.float32) for v in
                                     (self.schedule.betas, self.schedule.alphas, self.schedule.alpha_bars))  # fmt: skip
        was_training = self.training
        self.eval()
        try:
            x = torch.randn(n, self.x_dim, generator=generator, device=draws_on).to(device)  # x_T
            for t in range(self.T, 0, -1):
                eps_hat = self(x, torch.full((n,), t, device=device))
                x = (x - betas[t - 1] / (1 - alpha_bars[t - 1]).sqrt() * eps_hat) / alphas[t - 1].sqrt()
                if t > 1:
                    z = torch.randn(n, self.x_dim, generator=generator, device=draws_on).to(device)
                    x = x + betas[t - 1].sqrt() * z
        finally:
            self.train(was_training)
        return (self.scale * x).cpu()


def simple_loss(eps: Tensor, eps_hat: Tensor) -> Tensor:
    """Ho et al. (2020)'s simple loss: :math:`L_\\text{simple} = \\mathbb E\\,\\|\\epsilon - \\epsilon_\\theta(x_t, t)\\|^2`.

    The mean squared error over the batch and the coordinates (so a predictor that always says 0
    scores about 1, the variance of the noise).

    Introduced in chapter 11.
    """
    if eps.shape != eps_hat.shape:
        raise ValueError(f"eps and eps_hat must have the same shape, got {tuple(eps.shape)} and {tuple(eps_hat.shape)}")
    return ((eps - eps_hat) ** 2).mean()


def loss(model: DiffusionMLP, x: Tensor, generator: torch.Generator | None = None) -> Tensor:
    """:func:`simple_loss` on a batch of data ``x`` (N, d): t uniform in 1..T, :math:`x_t` from :func:`q_sample`.

    ``generator`` draws t and :math:`\\epsilon` (on its device, moved to ``x``'s); with a
    generator seeded alike, the same draws, a fixed estimate to compare models by.

    Introduced in chapter 11.
    """
    x_0 = x / model.scale
    t = torch.randint(1, model.T + 1, (x_0.shape[0],), generator=generator, device=_device_of(generator)).to(x_0.device)
    x_t, eps = q_sample(x_0, t, model.schedule, generator)
    return simple_loss(eps, model(x_t, t))


@dataclass
class DiffusionResult:
    """What :func:`train_diffusion` returns; the model itself is trained in place."""

    history: dict[str, list[float]] = field(default_factory=dict)  # "step" (1, 2, ...) and "loss" at every step
    seconds: float = 0.0  # wall-clock training time


def train_diffusion(
    model: DiffusionMLP,
    data,
    steps: int = 2_000,
    batch_size: int = 256,
    lr: float = 1e-3,
    seed: int = 0,
) -> DiffusionResult:
    """Train :math:`\\epsilon_\\theta` with the simple loss: Algorithm 1 of Ho et al. (2020), with Adam.

    .. code-block:: text

        repeat steps times:
            x_0 ~ data (a batch),  t ~ Uniform{1, ..., T},  eps ~ N(0, I)
            descend  || eps - eps_theta(sqrt(alpha_bar_t) x_0 + sqrt(1 - alpha_bar_t) eps, t) ||^2

    One seeded generator draws the batches, the steps and the noise, so with the model's
    initial weights fixed (``torch.manual_seed`` before building it) a run on the CPU repeats
    exactly. The model stays on its device.

    Args:
        model: the :class:`DiffusionMLP` to train.
        data: a sampler with ``.sample(n, generator=...)`` returning (n, d), such as
            :func:`gancourse.data.ring`.
        steps: optimiser steps (>= 1).
        batch_size: samples per step (>= 1).
        lr: Adam's learning rate (> 0).
        seed: the generator's seed.

    Returns:
        A :class:`DiffusionResult`: the loss at every step, and the training time.

    Introduced in chapter 11.
    """
    if not callable(getattr(data, "sample", None)):
        raise TypeError("data must be a sampler with .sample(n, generator=...), such as gancourse.data.ring()")
    require(is_int(steps) and steps >= 1, "steps", steps, "a positive integer")
    require(is_int(batch_size) and batch_size >= 1, "batch_size", batch_size, "a positive integer")
    require(is_number(lr) and lr > 0, "lr", lr, "a positive number")
    require(is_seed(seed), "seed", seed, SEED_RANGE)
    device = next(model.parameters()).device
    generator = torch.Generator().manual_seed(seed)  # on the CPU: the same draws on every device
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    history: dict[str, list[float]] = {"step": [], "loss": []}
    model.train()
    start = time.perf_counter()
    for step in range(1, steps + 1):
        x = data.sample(batch_size, generator=generator).to(device)  # a batch of data, x_0 after scaling
        loss_eps = loss(model, x, generator)
        optimizer.zero_grad(set_to_none=True)
        loss_eps.backward()
        optimizer.step()
        history["step"].append(step)
        history["loss"].append(loss_eps.item())
    return DiffusionResult(history, time.perf_counter() - start)


@dataclass(frozen=True)
class Recipe:
    """The course's diffusion model and training for one toy mixture (Ho et al.'s schedule and loss).

    ``scale``: about five times the modes' std (see :class:`DiffusionMLP`); ``steps``: Adam
    steps per budget. Introduced in chapter 11.
    """

    scale: float
    hidden: int = 128
    depth: int = 3
    T: int = 1000
    beta_1: float = 1e-4
    beta_T: float = 0.02
    embed_dim: int = 32
    batch_size: int = 256
    lr: float = 1e-3
    steps: dict = field(default_factory=lambda: {"smoke": 200, "book": 5_000, "full": 50_000})

    def steps_for(self, budget_name: str | None = None) -> int:
        """The training steps of ``budget_name`` (None: the budget in force)."""
        return budget.choose(**self.steps, budget=budget_name)

    def build(self) -> DiffusionMLP:
        """A fresh, untrained model of this recipe (seed it with ``torch.manual_seed`` first)."""
        return DiffusionMLP(hidden=self.hidden, depth=self.depth, T=self.T, beta_1=self.beta_1, beta_T=self.beta_T,
                            embed_dim=self.embed_dim, scale=self.scale)  # fmt: skip


# The ring's modes have std 0.01, the grid's 0.05: the scale is five times that.
RECIPES: dict[str, Recipe] = {"ring": Recipe(scale=0.05), "grid": Recipe(scale=0.25)}
MIXTURES = {"ring": data.ring, "grid": data.grid}


@dataclass
class DiffusionRun:
    """What :func:`measure` returns: the trained model, its scored samples and what they cost."""

    model: DiffusionMLP
    samples: Tensor  # (n_samples, 2), the ones scored
    coverage: metrics.ModeCoverage
    history: dict[str, list[float]]
    seconds: float  # training time
    evaluations: int  # network evaluations per sample (counted while drawing the scored ones)
    sample_seconds: float  # wall time to draw n_timed samples (0.0 if none were timed)
    n_timed: int


def measure(dataset: str, seed: int = 0, steps: int | None = None, n_samples: int = 2_500,
            n_timed: int = 0, weights=None) -> DiffusionRun:  # fmt: skip
    """Train :data:`RECIPES`'s model for ``dataset`` (``"ring"`` or ``"grid"``) and score it as the GANs are.

    ``seed`` seeds the initial weights and the training (:func:`train_diffusion`); the
    ``n_samples`` scored (2,500, as PacGAN's benchmarks) are drawn with seed ``10_000 + seed``
    and scored with :func:`gancourse.metrics.mode_coverage`, and the network evaluations they
    took are counted. With ``n_timed`` > 0, that many more are drawn (seed ``20_000 + seed``)
    and timed. ``steps``: Adam steps (None: the recipe's for the budget in force).
    ``weights``: the modes' probabilities in the training data (None: equal), as in
    :meth:`gancourse.data.GaussianMixture.reweighted`.

    Introduced in chapter 11.
    """
    require(dataset in RECIPES, "dataset", dataset, " or ".join(map(repr, RECIPES)))
    require(is_seed(seed), "seed", seed, SEED_RANGE)
    require(is_int(n_samples) and n_samples >= 1, "n_samples", n_samples, "a positive integer")
    require(is_int(n_timed) and n_timed >= 0, "n_timed", n_timed, "a non-negative integer")
    recipe, mixture = RECIPES[dataset], MIXTURES[dataset]()
    mixture = mixture if weights is None else mixture.reweighted(weights)
    steps = recipe.steps_for() if steps is None else steps
    torch.manual_seed(seed)  # the initial weights
    model = recipe.build()
    result = train_diffusion(model, mixture, steps=steps, batch_size=recipe.batch_size, lr=recipe.lr, seed=seed)
    before = model.evaluations
    samples = model.sample(n_samples, generator=torch.Generator().manual_seed(10_000 + seed))
    evaluations = model.evaluations - before  # counted, not assumed: T, whatever n_samples is
    coverage = metrics.mode_coverage(samples, mixture.centers, mixture.std)
    sample_seconds = 0.0
    if n_timed:
        start = time.perf_counter()
        model.sample(n_timed, generator=torch.Generator().manual_seed(20_000 + seed))
        sample_seconds = time.perf_counter() - start
    return DiffusionRun(model, samples, coverage, result.history, result.seconds, evaluations, sample_seconds, n_timed)


def settings(dataset: str, steps: int | None = None, budget_name: str = "book") -> dict:
    """Every setting a run of :func:`measure` on ``dataset`` trains with, flat, as a benchmark session stores it.

    Introduced in chapter 11.
    """
    require(dataset in RECIPES, "dataset", dataset, " or ".join(map(repr, RECIPES)))
    recipe = RECIPES[dataset]
    flat = {"model": "diffusion", "dataset": dataset, "steps_asked": steps, "budget": budget_name}
    flat |= {name: value for name, value in recipe.__dict__.items() if name != "steps"}
    flat["steps"] = recipe.steps_for(budget_name) if steps is None else steps
    return flat


@contextmanager
def count_evaluations(network: nn.Module) -> Iterator[list[int]]:
    """Count the forward passes of ``network`` inside a ``with`` block, any model alike.

    ``with count_evaluations(G) as calls: train.generate(G, n)`` leaves the count in ``calls[0]``
    (1 for a GAN's batch, T for a diffusion model's). The hook is removed when the block ends,
    however it ends.

    Introduced in chapter 11.
    """
    calls = [0]
    handle = network.register_forward_hook(lambda *_: calls.__setitem__(0, calls[0] + 1))
    try:
        yield calls
    finally:
        handle.remove()


def _device_of(generator: torch.Generator | None) -> torch.device:
    return generator.device if generator is not None else torch.device("cpu")


def _steps(t, n: int, T: int) -> Tensor:
    """``t`` as a (n,) integer tensor of steps in 1..T; a clear error otherwise."""
    t = torch.as_tensor(t)
    if t.dtype.is_floating_point or t.dtype == torch.bool or t.shape != (n,):
        raise ValueError(f"t must be n = {n} integer steps, shape ({n},), got dtype {t.dtype} and shape {tuple(t.shape)}")
    if t.numel() and not (1 <= int(t.min()) and int(t.max()) <= T):
        raise ValueError(f"t must lie in 1..T = 1..{T}, got values from {int(t.min())} to {int(t.max())}")
    return t
