"""One training loop for every GAN in the course.

The loop is Algorithm 1 of Goodfellow et al. (2014), with the Wasserstein variants of
Arjovsky et al. (2017) and Gulrajani et al. (2017) as options of the same loop:

.. code-block:: text

    for step in 1..steps:
        repeat k times:                          # k = n_critic for the WGANs
            update_D: ascend V(D, G) (or the critic objective) on m real and m fake samples
        update_G:  descend the generator loss on m fake samples

:func:`update_D` and :func:`update_G` are the two steps, public functions over a
:class:`TrainingState` (models, optimisers, random generator, batches, history) that
students can read, call and rewrite (assignment 6); :func:`train` is the loop around them.
``loss`` picks the objective from :data:`gancourse.losses.OBJECTIVES`: ``"minimax"``
(saturating), ``"nonsaturating"``, ``"wgan"`` (weight clipping), ``"wgan-gp"`` (gradient
penalty), ``"feature-matching"`` or ``"acgan"`` (an auxiliary classifier in D, chapter 10). All randomness (batches, noise, interpolation weights) comes from one seeded
generator (and, on an accelerator, its seeded twin on the device) saved in the checkpoints,
so a run stopped and resumed continues exactly as an uninterrupted one would on the CPU.
Under ``torchrun`` the same loop trains data-parallel (:mod:`gancourse.distributed`).

Its speed is measured against the textbook loop of the PyTorch DCGAN example, written out
as ``textbook_loop`` in ``benchmarks/bench_train.py``: with its speed options off this loop
should match it, and with those that pay, beat it.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from torch import nn
from tqdm.auto import tqdm

from . import distributed, losses, models, site
from .checkpoint import (
    CheckpointError,
    check_compatible,
    load_checkpoint,
    remove_temporary_files,
    save_checkpoint,
)
from .device import default_device
from .running import running
from .settings import SEED_RANGE, is_int, is_number, is_seed, require

LOSSES = tuple(losses.OBJECTIVES)  # "minimax", "nonsaturating", "wgan", "wgan-gp", "feature-matching", "acgan"
OPTIMIZERS = ("adam", "rmsprop", "sgd")
PRECISIONS = ("fp32", "bf16")
ADAM_IMPLS = ("default", "foreach", "fused")
COMPILE_MODES = ("default", "reduce-overhead", "max-autotune")
HISTORY_KEYS = ("step", "loss_D", "loss_G", "D_x", "D_G_z", "D_G_z_after", "grad_norm_D", "grad_norm_G", "penalty")
"""What :func:`train` records at every generator step. ``D_x`` and ``D_G_z``: D's mean output on the
real and fake batches of its (last) step, before that step; ``D_G_z_after``: on the fakes in G's
step, after D's (the PyTorch DCGAN example's pair; with ``simultaneous`` both come before it).
Means of probabilities for the GAN losses, of critic scores for the WGANs (whose difference
estimates the EM distance). Gradient norms over all parameters; ``penalty``: D's penalty term."""
CHECKPOINT_NAME = "checkpoint.pt"

# Per-loss defaults from the papers: (optimizer, learning rate, betas, k); a loss not listed
# here gets the non-saturating GAN's.
PAPER_DEFAULTS = {
    "minimax": ("adam", 2e-4, (0.5, 0.999), 1),  # Radford et al. (2016)
    "nonsaturating": ("adam", 2e-4, (0.5, 0.999), 1),
    "wgan": ("rmsprop", 5e-5, None, 5),  # Arjovsky et al. (2017), Algorithm 1
    "wgan-gp": ("adam", 1e-4, (0.0, 0.9), 5),  # Gulrajani et al. (2017), Algorithm 1
}


CHANGEABLE_ON_RESUME = ("steps", "lr_d", "lr_g", "betas", "log_every", "checkpoint_every", "progress",
                        "channels_last", "precision", "adam_impl", "compile")  # fmt: skip
"""The :class:`TrainConfig` settings a resumed run may change; the others must be the checkpoint's."""


class TrainingDiverged(FloatingPointError):
    """The losses turned NaN or infinite; the last good checkpoint is kept."""


FLOAT32_MAX = torch.finfo(torch.float32).max  # a learning rate above it is inf in the optimiser's float32 arithmetic


@dataclass
class TrainConfig:
    """What to train and how. ``None`` means "the paper's default for this loss".

    Introduced in chapter 2.
    """

    loss: str = "nonsaturating"  # a key of losses.OBJECTIVES: "minimax" | "nonsaturating" | "wgan" | "wgan-gp" | ...
    steps: int = 1_000  # generator updates
    batch_size: int = 64  # m, samples per batch (real and fake alike)
    k: int | None = None  # D (critic) updates per G update: Goodfellow's k, WGAN's n_critic
    optimizer: str | None = None  # "adam" | "rmsprop" | "sgd"
    lr_d: float | None = None
    lr_g: float | None = None
    betas: tuple[float, float] | None = None  # Adam's (beta1, beta2)
    clip: float = 0.01  # WGAN weight clipping: critic weights stay in [-c, c]
    gp_lambda: float = 10.0  # WGAN-GP penalty weight
    r1_gamma: float = 0.0  # R1 penalty on real data for the GAN losses (0: off)
    instance_noise: float = 0.0  # std of noise added to D's inputs, annealed linearly to 0 (0: off)
    lr_milestones: tuple[float, ...] = ()  # fractions of `steps` after which both learning rates drop tenfold
    simultaneous: bool = False  # G steps on its gradient from before D's step (PacGAN's code); False: after
    seed: int = 0
    log_every: int = 25  # steps between history flushes (and NaN checks)
    checkpoint_every: int = 0  # steps between checkpoints; 0: only at the end
    progress: bool | None = None  # a tqdm.auto progress bar; None: on, except while building the website
    # Speed options (off: the textbook loop). benchmarks/bench_train.py measures each, on each device.
    channels_last: bool = False  # images and convolution weights in channels-last memory layout
    precision: str = "fp32"  # "bf16": forward passes under bfloat16 autocast (weights, gradients, Adam stay fp32)
    adam_impl: str = "default"  # "foreach" | "fused": Adam's multi-tensor or fused kernels ("default": PyTorch's choice)
    compile: str | None = None  # torch.compile G and D: "default" | "reduce-overhead" (CUDA graphs) | "max-autotune"

    def __post_init__(self):
        require(isinstance(self.loss, str), "loss", self.loss, f"one of {', '.join(losses.OBJECTIVES)}")
        if self.loss not in losses.OBJECTIVES:
            raise ValueError(f"unknown loss {self.loss!r}; choose one of {', '.join(losses.OBJECTIVES)}.")
        require(self.optimizer is None or isinstance(self.optimizer, str), "optimizer", self.optimizer, "a name")
        betas_ok = isinstance(self.betas, list | tuple) and len(self.betas) == 2
        require(self.betas is None or (betas_ok and all(is_number(b) and 0 <= b < 1 for b in self.betas)),
                "betas", self.betas, "two numbers in [0, 1), e.g. [0.5, 0.999]")  # fmt: skip
        milestones_ok = isinstance(self.lr_milestones, list | tuple) and all(map(is_number, self.lr_milestones))
        require(milestones_ok, "lr_milestones", self.lr_milestones, "a list of fractions of the run, e.g. [0.6, 0.85]")
        optimizer, lr, betas, k = PAPER_DEFAULTS.get(self.loss, PAPER_DEFAULTS["nonsaturating"])
        self.optimizer = self.optimizer or optimizer
        self.lr_d = lr if self.lr_d is None else self.lr_d
        self.lr_g = lr if self.lr_g is None else self.lr_g
        self.betas = tuple(self.betas or betas or (0.9, 0.999))
        self.k = k if self.k is None else self.k
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"unknown optimizer {self.optimizer!r}; choose one of {', '.join(OPTIMIZERS)}.")
        for name in ("steps", "batch_size", "k", "log_every"):
            value = getattr(self, name)
            require(is_int(value) and value >= 1, "n_critic (k)" if name == "k" else name, value, "a positive integer")
        every = self.checkpoint_every
        require(is_int(every) and every >= 0, "checkpoint_every", every, "0 (off) or a positive integer")
        for name in ("lr_d", "lr_g", "clip"):
            value = getattr(self, name)
            require(is_number(value) and value > 0, name, value, "a positive number")
            require(value < FLOAT32_MAX, name, value, f"below {FLOAT32_MAX:.2g} (float32's largest)")
        for name in ("gp_lambda", "r1_gamma", "instance_noise"):
            value = getattr(self, name)
            require(is_number(value) and value >= 0, name, value, "a number >= 0")
        require(isinstance(self.simultaneous, bool), "simultaneous", self.simultaneous, "true or false")
        require(is_seed(self.seed), "seed", self.seed, SEED_RANGE)
        require(self.progress is None or isinstance(self.progress, bool), "progress", self.progress,
                "true, false or None (on, except while building the website)")  # fmt: skip
        require(isinstance(self.channels_last, bool), "channels_last", self.channels_last, "true or false")
        require(self.precision in PRECISIONS, "precision", self.precision, " or ".join(map(repr, PRECISIONS)))
        require(self.adam_impl in ADAM_IMPLS, "adam_impl", self.adam_impl, " or ".join(map(repr, ADAM_IMPLS)))
        if self.adam_impl != "default" and self.optimizer != "adam":
            raise ValueError(f"adam_impl {self.adam_impl!r} chooses Adam's kernels, but the optimizer is {self.optimizer!r}.")
        require(self.compile is None or self.compile in COMPILE_MODES, "compile", self.compile,
                "left out or one of " + ", ".join(map(repr, COMPILE_MODES)))  # fmt: skip
        if self.compile and (self.loss == "wgan-gp" or self.r1_gamma > 0):
            raise ValueError("compile cannot train a gradient penalty: torch.compile does not support its double backward.")
        if self.r1_gamma > 0 and losses.OBJECTIVES[self.loss].weight != "r1_gamma":
            raise ValueError(f"r1_gamma is a penalty of the GAN losses (minimax, nonsaturating), not of {self.loss!r}.")
        self.lr_milestones = tuple(self.lr_milestones)
        if any(not 0 < m < 1 for m in self.lr_milestones) or list(self.lr_milestones) != sorted(self.lr_milestones):
            raise ValueError(f"lr_milestones must be increasing fractions of the run in (0, 1), got {self.lr_milestones!r}.")

    def lr_factor(self, step: int) -> float:
        """The learning rates' multiplier at generator step ``step`` (1, 2, ...): 0.1 per milestone passed."""
        return 0.1 ** sum(step > m * self.steps for m in self.lr_milestones)

    def noise_std(self, step: int) -> float:
        """The instance noise's standard deviation at step ``step`` (1, 2, ...), annealed linearly to 0."""
        return self.instance_noise * (1 - (step - 1) / self.steps)


@dataclass
class TrainResult:
    """What a run returns; the models themselves are trained in place."""

    history: dict[str, list[float]]
    step: int  # generator steps done in total (including those before a resume)
    seconds: float  # wall-clock time of this call
    checkpoint: Path | None = None
    config: TrainConfig = field(default_factory=TrainConfig)


@torch.no_grad()
def decode(G: nn.Module, z: torch.Tensor) -> torch.Tensor:
    """``G(z)`` for given noise vectors ``z`` (N, z_dim), returned on the CPU.

    G is run in eval mode (batch norm uses its running statistics) and put back as it was.

    Introduced in chapter 5.
    """
    device = next(G.parameters()).device
    was_training = G.training
    G.eval()
    try:
        return G(z.to(device)).cpu()
    finally:
        G.train(was_training)


def generate(G: nn.Module, n: int, seed: int | None = None) -> torch.Tensor:
    """The generation phase: D is discarded; draw ``z ~ N(0, I)`` and return ``G(z)`` on the CPU
    (see :func:`decode`).

    Introduced in chapter 2.
    """
    generator = torch.Generator().manual_seed(seed) if seed is not None else None
    return decode(G, torch.randn(n, G.z_dim, generator=generator))


def fit_discriminator(
    D: nn.Module,
    p_data,
    p_g,
    steps: int,
    batch_size: int = 256,
    lr: float = 1e-3,
    seed: int = 0,
    device=None,
    loss: str = "nonsaturating",
    gp_lambda: float = 10.0,
    betas: tuple[float, float] = (0.9, 0.999),
    one_sided: bool = False,
) -> list[float]:
    """Train D alone against a *fixed* generator: the inner maximisation of the game, with p_g held still.

    .. math:: \\max_D\\; \\mathbb E_{x\\sim p_{data}}\\log D(x) + \\mathbb E_{x\\sim p_g}\\log(1 - D(x))

    Run to (near) convergence, its solution is the optimal discriminator
    :math:`D^* = p_{data}/(p_{data} + p_g)`. With ``loss="wgan-gp"`` D is a critic f and the
    objective is :math:`\\mathbb E_{p_{data}} f - \\mathbb E_{p_g} f` minus the gradient penalty
    (``gp_lambda``; ``one_sided=True``: the penalty on slopes above 1 only, see
    :func:`gancourse.losses.gradient_penalty`), whose maximum estimates the Earth-Mover distance.

    Args:
        D: a discriminator returning logits (or a critic returning scores), (N, d) -> (N,).
        p_data, p_g: samplers with ``.sample(n, generator=...)``, e.g. :func:`gancourse.data.gaussian_1d`
            or a :class:`FrozenGenerator`.
        steps: Adam steps, each on ``batch_size`` samples of each distribution.
        loss: ``"nonsaturating"`` (or ``"minimax"``: the same loss for D) or ``"wgan-gp"``.
        one_sided: with ``"wgan-gp"``, penalise only gradient norms above 1.

    Returns:
        D's loss at every step: :math:`-\\hat V` for the GAN losses; the critic loss
        :math:`\\overline{f(G(z))} - \\overline{f(x)}` without the penalty for WGAN-GP (its
        negative is the critic's estimate of the distance).

    Introduced in chapter 1.
    """
    if not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps must be a positive integer, got {steps!r}.")
    if loss not in ("minimax", "nonsaturating", "wgan-gp"):
        raise ValueError(f"fit_discriminator trains a GAN discriminator or a WGAN-GP critic, not {loss!r}.")
    if one_sided and loss != "wgan-gp":
        raise ValueError(f"one_sided shapes the gradient penalty of loss='wgan-gp'; the {loss} loss has none.")
    device = default_device(device)
    D.to(device).train()
    optimizer = torch.optim.Adam(D.parameters(), lr=lr, betas=betas)
    rng = torch.Generator().manual_seed(seed)
    history = []
    for _ in range(steps):
        x_real = p_data.sample(batch_size, generator=rng).to(device)
        x_fake = p_g.sample(batch_size, generator=rng).to(device)
        optimizer.zero_grad(set_to_none=True)
        if loss == "wgan-gp":
            loss_D = losses.critic_loss(D(x_real), D(x_fake))
            penalty = losses.gradient_penalty(D, x_real, x_fake, gp_lambda, generator=rng, one_sided=one_sided)
        else:
            loss_D, penalty = losses.d_loss(D(x_real), D(x_fake)), 0.0
        (loss_D + penalty).backward()
        optimizer.step()
        history.append(loss_D.detach())
    return torch.stack(history).tolist()


def train_discriminator(
    p_data, p_g, steps: int, *, seed: int = 0, x_dim: int = 1, hidden: int = 32, depth: int = 2,
    batch_size: int = 256, lr: float = 1e-3, final_lr: float | None = None, device=None,
) -> tuple[nn.Module, list[float]]:  # fmt: skip
    """A fresh MLP discriminator trained against a fixed p_g with :func:`fit_discriminator` (chapters 3, 4).

    Its initial weights come from ``seed``. With ``final_lr`` the fit has two phases: three
    quarters of the steps at ``lr``, then the last quarter at ``final_lr`` (with ``seed + 1``),
    which settles Adam's jitter around the optimum.

    Returns:
        ``(D, losses)``: the trained discriminator and its loss at every step.

    Introduced in chapter 3.
    """
    torch.manual_seed(seed)
    D = models.MLPDiscriminator(x_dim=x_dim, hidden=hidden, depth=depth)
    fast = steps if final_lr is None else steps - steps // 4
    loss = fit_discriminator(D, p_data, p_g, fast, batch_size, lr, seed, device)
    if final_lr is not None:
        loss += fit_discriminator(D, p_data, p_g, steps // 4, batch_size, final_lr, seed + 1, device)
    return D, loss


def fit_generator(
    G: nn.Module,
    D: nn.Module,
    steps: int,
    batch_size: int = 256,
    lr: float = 1e-3,
    seed: int = 0,
    device=None,
    loss: str = "nonsaturating",
) -> list[float]:
    """Train G alone against a *fixed* discriminator: the inner minimisation with D held still.

    .. math:: \\min_G\\; \\mathbb E_{z}\\bigl[-\\log D(G(z))\\bigr]

    (or the generator loss of ``loss``, one of :data:`LOSSES`). Against a
    fixed D the best a generator can do is to put all its mass where D is largest, so run
    long enough this collapses G: the mechanism of mode collapse in its purest form.

    Returns:
        G's loss at every step.

    Introduced in chapter 8.
    """
    if not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps must be a positive integer, got {steps!r}.")
    if loss not in losses.OBJECTIVES:
        raise ValueError(f"unknown loss {loss!r}; choose one of {', '.join(losses.OBJECTIVES)}.")
    if losses.OBJECTIVES[loss].features:
        raise ValueError(f"the loss {loss!r} matches real data's features, and a fixed D alone gives none; choose another loss.")
    if losses.OBJECTIVES[loss].auxiliary:
        raise ValueError(f"the loss {loss!r} needs a conditional generator and an AC-GAN discriminator; choose another loss.")
    generator_loss = losses.OBJECTIVES[loss].g_loss
    device = default_device(device)
    G.to(device).train()
    D.to(device)
    optimizer = torch.optim.Adam(G.parameters(), lr=lr)
    rng = torch.Generator().manual_seed(seed)
    history = []
    for _ in range(steps):
        z = torch.randn(batch_size, G.z_dim, generator=rng).to(device)
        optimizer.zero_grad(set_to_none=True)
        loss_G = generator_loss(D(G(z)))
        loss_G.backward()  # D's parameters get gradients too; only G's optimiser steps
        optimizer.step()
        history.append(loss_G.detach())
    D.zero_grad(set_to_none=True)
    return torch.stack(history).tolist()


class FrozenGenerator:
    """A generator held fixed, as a distribution: ``.sample(n, generator=None)`` returns G(z), z ~ N(0, I).

    For :func:`fit_discriminator` against a fixed p_g. G runs in eval mode, without gradients.

    Introduced in chapter 8.
    """

    def __init__(self, G: nn.Module):
        self.G = G

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        return decode(self.G, torch.randn(n, self.G.z_dim, generator=generator))


class Batches:
    """Real batches: epochs of a random permutation of a tensor, or draws from a sampler.

    Its state (permutation and position) is part of the checkpoint. Under ``torchrun`` every
    rank reads the same global batch of ``world.size * batch_size`` samples and keeps its
    share (:meth:`gancourse.distributed.World.share`); the permutation is drawn on the CPU
    (one random stream on every device) and held on the device with the data.
    """

    def __init__(self, data, batch_size: int, generator: torch.Generator, device: torch.device,
                 world: distributed.World | None = None):  # fmt: skip
        self.batch_size, self.generator, self.device = batch_size, generator, device
        self.world = world or distributed.World()
        self.perm, self.pos = torch.empty(0, dtype=torch.long), 0
        if isinstance(data, torch.Tensor):
            if data.shape[0] < batch_size * self.world.size:
                raise ValueError(
                    f"the data holds {data.shape[0]} samples, fewer than one batch of {batch_size * self.world.size}; "
                    "use a smaller batch_size or more data."
                )
            # Small enough datasets (Fashion-MNIST is 188 MB) live on the device.
            self.data, self.sampler = data.to(device), None
        elif callable(getattr(data, "sample", None)):
            self.data, self.sampler = None, data
        else:
            raise TypeError("data must be a tensor of real samples or an object with .sample(n, generator=...)")

    def next(self) -> torch.Tensor:
        n = self.batch_size * self.world.size  # the global batch
        if self.sampler is not None:
            return self.world.share(self.sampler.sample(n, generator=self.generator)).to(self.device)
        if self.pos + n > self.perm.numel():
            self.perm, self.pos = torch.randperm(self.data.shape[0], generator=self.generator).to(self.device), 0
        idx = self.world.share(self.perm[self.pos : self.pos + n])
        self.pos += n
        return self.data[idx]

    def state_dict(self) -> dict:
        return {"perm": self.perm.cpu(), "pos": self.pos}

    def load_state_dict(self, state: dict) -> None:
        """Continue the saved epoch; refuse a permutation of another training set's size."""
        n_saved = state["perm"].numel()
        if self.data is not None and n_saved and n_saved != self.data.shape[0]:
            raise CheckpointError(
                f"the checkpoint was written for a training set of {n_saved} samples, this one holds "
                f"{self.data.shape[0]}; resume with the same data (the same limit), or start over."
            )
        self.perm, self.pos = state["perm"].to(self.device), state["pos"]


def device_generator(device: torch.device, seed: int) -> torch.Generator | None:
    """A random generator on ``device`` seeded with ``seed``; None on the CPU (or where the
    device has none), where the CPU generator serves.

    Noise drawn on the device needs no copy from the host at every step. On CUDA the
    generator's state (a seed and an offset) is saved and restored exactly, so a resumed run
    draws the same numbers; its arithmetic is bit-identical only with deterministic kernels
    (``torch.use_deterministic_algorithms(True)``).
    """
    if device.type == "cpu":
        return None
    try:
        return torch.Generator(device=device).manual_seed(seed)
    except RuntimeError:  # a backend without device generators
        return None


def make_optimizer(params, config: TrainConfig, lr: float) -> torch.optim.Optimizer:
    """The optimiser ``config.optimizer`` over ``params`` at rate ``lr`` (Adam with ``config.betas``)."""
    if config.optimizer == "adam":
        impl = {"foreach": {"foreach": True}, "fused": {"fused": True}}.get(config.adam_impl, {})
        return torch.optim.Adam(params, lr=lr, betas=config.betas, **impl)
    if config.optimizer == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr)
    return torch.optim.SGD(params, lr=lr)


def grad_norm(module: nn.Module) -> torch.Tensor:
    """:math:`\\|\\nabla_\\theta\\|_2` over all of a module's parameters that have a gradient."""
    grads = [p.grad for p in module.parameters() if p.grad is not None]
    return torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g) for g in grads]))


@dataclass(eq=False)
class TrainingState:
    """Everything a training step reads and writes (chapter 2 describes it; assignment 6 builds one).

    The two players and their optimisers, the seeded random generator that draws the
    batches, the noise and the penalties' random numbers, the real batches, the generator
    steps done and the history. :meth:`state_dict` is exactly what a checkpoint holds.

    On an accelerator the noise and the penalties' random numbers come from a second
    generator on the device (``device_rng``, seeded alike and checkpointed too), so that no
    step copies random numbers from the host; on the CPU it is ``rng`` itself. Under
    ``torchrun``, ``G`` and ``D`` are DistributedDataParallel wrappers of the networks
    (:func:`gancourse.distributed.bare` unwraps them) and ``world`` says which rank this is.

    Introduced in assignment 6.
    """

    G: nn.Module
    D: nn.Module
    opt_G: torch.optim.Optimizer
    opt_D: torch.optim.Optimizer
    rng: torch.Generator
    batches: Batches
    config: TrainConfig
    device: torch.device
    device_rng: torch.Generator | None = None  # None: rng (on the CPU)
    world: distributed.World = field(default_factory=distributed.World)
    step: int = 0  # generator steps done
    history: dict[str, list[float]] = field(default_factory=lambda: {key: [] for key in HISTORY_KEYS})
    pending: list[torch.Tensor] = field(default_factory=list, repr=False)  # records not yet in history
    last_checkpoint: tuple[Path, int] | None = None  # (path, step) of the last checkpoint this run wrote or resumed
    run: dict | None = None  # which run this is (runs.run: its id and settings), kept in every checkpoint
    stop_requested: bool = False  # Ctrl-C was pressed: stop after this step

    @classmethod
    def create(cls, G: nn.Module, D: nn.Module, data, config: TrainConfig, device=None) -> TrainingState:
        """Move the models to ``device`` in train mode and give each a fresh optimiser."""
        if not isinstance(getattr(G, "z_dim", None), int):
            raise ValueError(f"{type(G).__name__} needs an integer attribute z_dim (its noise dimension) to be trained.")
        if config.batch_size % getattr(D, "pack", 1):
            raise ValueError(f"batch_size {config.batch_size} must be a multiple of the discriminator's pack {D.pack}.")
        device, world = default_device(device), distributed.current()
        layout = torch.channels_last if config.channels_last else torch.preserve_format
        G.to(device, memory_format=layout).train()
        D.to(device, memory_format=layout).train()
        if config.channels_last and isinstance(data, torch.Tensor) and data.dim() == 4:
            data = data.to(device).contiguous(memory_format=torch.channels_last)
        rng = torch.Generator().manual_seed(config.seed)
        device_rng = device_generator(device, config.seed)
        opt_G, opt_D = make_optimizer(G.parameters(), config, config.lr_g), make_optimizer(D.parameters(), config, config.lr_d)
        batches = Batches(data, config.batch_size, rng, device, world)
        G, D = world.wrap(G, device), world.wrap(D, device)
        return cls(G, D, opt_G, opt_D, rng, batches, config, device, device_rng, world)

    def _random(self, draw, shape: tuple[int, ...]) -> torch.Tensor:
        """``draw`` (torch.randn or torch.rand) of this rank's rows of a global batch of ``shape``."""
        rows = shape[0] * self.world.size
        if self.device_rng is None:
            x = draw(rows, *shape[1:], generator=self.rng).to(self.device)
        else:
            x = draw(rows, *shape[1:], generator=self.device_rng, device=self.device)
        return self.world.share(x)

    def noise(self) -> torch.Tensor:
        """A batch of noise vectors :math:`z \\sim \\mathcal N(0, I)`, (batch_size, z_dim), on the device."""
        return self._random(torch.randn, (self.config.batch_size, distributed.bare(self.G).z_dim))

    def rand(self, n: int) -> torch.Tensor:
        """``n`` numbers from U[0, 1] on the device (the gradient penalty's interpolation weights)."""
        return self._random(torch.rand, (n,))

    def noisy(self, x: torch.Tensor, sigma: float) -> torch.Tensor:
        """Instance noise (Sønderby et al., 2017): D sees x + sigma * eps, real and fake alike,
        so the two distributions overlap and D's gradients stay informative."""
        if sigma == 0:
            return x
        return x + sigma * self._random(torch.randn, tuple(x.shape))

    def set_learning_rates(self, step: int) -> None:
        """Both rates times :meth:`TrainConfig.lr_factor` (a step schedule; a no-op without milestones)."""
        if self.config.lr_milestones:
            for optimizer, lr in ((self.opt_D, self.config.lr_d), (self.opt_G, self.config.lr_g)):
                for group in optimizer.param_groups:
                    group["lr"] = lr * self.config.lr_factor(step)

    def record(self, values: dict[str, torch.Tensor]) -> None:
        """Keep one step's records on the device; :meth:`flush` moves them into ``history``."""
        self.pending.append(torch.stack([values[key] for key in HISTORY_KEYS[1:]]).float())

    def flush(self) -> None:
        """Move the pending records into ``history``; raise :class:`TrainingDiverged` on NaN/inf."""
        if not self.pending:
            return
        rows = self.world.average(torch.stack(self.pending)).cpu()  # the ranks' mean: the global batch's
        self.pending.clear()
        first = self.step - rows.shape[0] + 1
        if not torch.isfinite(rows).all():
            bad = first + int((~torch.isfinite(rows)).any(dim=1).nonzero()[0])
            kept = "no checkpoint was written"
            if self.last_checkpoint is not None:  # one of this run's, never an older run's file
                kept = "the last good checkpoint is {} (step {})".format(*self.last_checkpoint)
            raise TrainingDiverged(
                f"the losses became NaN/inf at step {bad} ({self.config.loss}); training stopped and {kept}. "
                f"{self.advice()}"
            )
        self.history["step"].extend(range(first, self.step + 1))
        for key, column in zip(HISTORY_KEYS[1:], rows.T.tolist(), strict=True):
            self.history[key].extend(column)

    def advice(self) -> str:
        """What to try after a divergence: lower rates; for the minimax loss, the non-saturating one."""
        rates = f"Lower the learning rates (lr_d {self.config.lr_d:g}, lr_g {self.config.lr_g:g})"
        return rates + (", or use the non-saturating loss." if self.config.loss == "minimax" else ".")

    def state_dict(self) -> dict:
        """Models (with their constructor arguments), optimisers, random state, data order, history."""
        self.flush()
        G, D = distributed.bare(self.G), distributed.bare(self.D)
        return {
            "step": self.step,
            "config": asdict(self.config),
            "models": {"G": models.describe(G), "D": models.describe(D)},
            "G": G.state_dict(),
            "D": D.state_dict(),
            "opt_G": self.opt_G.state_dict(),
            "opt_D": self.opt_D.state_dict(),
            **self.random_state(),
            "world_size": self.world.size,
            "history": self.history,
            **({"run": self.run} if self.run is not None else {}),
        }

    def random_state(self) -> dict:
        """Where the random streams and the data order stand: ``rng``, ``device_rng`` (on an
        accelerator) and ``batches``, as :meth:`state_dict` holds them."""
        device = {"device_rng": self.device_rng.get_state()} if self.device_rng is not None else {}
        return {"rng": self.rng.get_state(), **device, "batches": self.batches.state_dict()}

    def set_random_state(self, state: dict) -> None:
        """Put the random streams and the data order back where :meth:`random_state` found them."""
        self.rng.set_state(state["rng"])
        if self.device_rng is not None and "device_rng" in state:
            self.device_rng.set_state(state["device_rng"])
        self.batches.load_state_dict(state["batches"])

    def save(self, path: Path) -> None:
        """Write :meth:`state_dict` to ``path`` (atomically, checksummed): the last good checkpoint.

        Weights, optimiser states and a few of G's samples are checked finite first: an update
        can turn them NaN while the losses it was computed from were finite (or make the
        weights so large that G's outputs overflow), and such a state is never written
        (:class:`TrainingDiverged`; the previous checkpoint stays). Under ``torchrun`` only
        rank 0 writes (every rank holds the same state)."""
        state = self.state_dict()
        if bad := _non_finite(state) or _non_finite_samples(distributed.bare(self.G)):
            kept = "no checkpoint was written"
            if self.last_checkpoint is not None:
                kept = "the last good checkpoint is {} (step {})".format(*self.last_checkpoint)
            raise TrainingDiverged(
                f"NaN/inf in {bad} after step {self.step}; training stopped, this step was not saved, "
                f"and {kept}. {self.advice()}"
            )
        if self.world.main:
            save_checkpoint(state, path)
        self.last_checkpoint = (path, self.step)

    def load_state_dict(self, state: dict, source: str | Path = "the checkpoint") -> None:
        """Continue from ``state`` (a :meth:`state_dict`), after checking that it fits this run.

        Only the settings in :data:`CHANGEABLE_ON_RESUME` may differ from the checkpoint's.
        """
        G, D = distributed.bare(self.G), distributed.bare(self.D)
        check_same_run(state.get("run"), self.run, source)
        check_resumable(state["config"], self.config, source)
        check_compatible(G, state["G"], "generator", source)
        check_compatible(D, state["D"], "discriminator", source)
        check_steps_left(state["step"], self.config, source)
        check_same_world(state, self.world.size, source)
        G.load_state_dict(state["G"])
        D.load_state_dict(state["D"])
        self.opt_G.load_state_dict(state["opt_G"])
        self.opt_D.load_state_dict(state["opt_D"])
        self.set_random_state(state)
        self.step = int(state["step"])
        saved = state["history"]
        n = len(saved["step"])  # checkpoints older than a history key have no column for it
        self.history = {key: list(saved.get(key, [float("nan")] * n)) for key in HISTORY_KEYS}
        self.last_checkpoint = (Path(source), self.step) if isinstance(source, Path) else None


def _as_json(value):
    return json.loads(json.dumps(value))  # tuples as lists, as config.json and checkpoints compare


def check_resumable(saved: dict, config: TrainConfig, source: str | Path = "the checkpoint") -> None:
    """Raise :class:`CheckpointError` unless ``config`` differs from a checkpoint's settings
    (``saved``) only where :data:`CHANGEABLE_ON_RESUME` allows."""
    now = _as_json(asdict(config))
    changed = [f"{key} {_as_json(saved[key])!r} -> {now[key]!r}" for key in now
               if key in saved and key not in CHANGEABLE_ON_RESUME and _as_json(saved[key]) != now[key]]  # fmt: skip
    if changed:
        raise CheckpointError(
            f"cannot resume {source} with other settings: {', '.join(changed)}; only "
            f"{', '.join(CHANGEABLE_ON_RESUME)} may change. Resume with the run's settings, or start over."
        )


def check_steps_left(step: int, config: TrainConfig, source: str | Path = "the checkpoint") -> None:
    """Refuse to resume a checkpoint at generator step ``step`` past the run's ``config.steps``."""
    if step > config.steps:
        raise ValueError(f"{source} is already at step {step}, past steps={config.steps}; ask for more steps.")


def check_same_world(saved: dict, size: int, source: str | Path = "the checkpoint") -> None:
    """Refuse to resume a checkpoint (a :meth:`TrainingState.state_dict`) with another number of processes."""
    saved_size = saved.get("world_size", 1)
    if saved_size != size:
        raise CheckpointError(
            f"{source} was written by a run of {saved_size} process(es), this one has {size}: "
            "the global batch would change. Resume with the same number of processes, or start over."
        )


def check_same_run(saved: dict | None, run: dict | None, source: str | Path = "the checkpoint") -> None:
    """Raise :class:`CheckpointError` if a checkpoint records another run (``saved``, its id and
    settings) than ``run``; a checkpoint or a caller that names no run is not compared."""
    if saved is None or run is None or saved == run:
        return
    changed = [f"{key} {saved.get(key)!r} -> {run.get(key)!r}" for key in sorted(set(saved) | set(run)) if saved.get(key) != run.get(key)]  # fmt: skip
    raise CheckpointError(
        f"{source} was written by another run ({', '.join(changed)}); it cannot continue this one. "
        "Resume in the folder it came from, or start over with --force."
    )


def _milestone_steps(config: TrainConfig) -> str:
    return ", ".join(str(int(m * config.steps)) for m in config.lr_milestones)


def apply_changed_rates(state: TrainingState, saved: dict) -> list[str]:
    """Give the restored optimisers the learning rates and betas of ``state.config`` where they
    differ from the checkpoint's settings (``saved``). Returns one line per change."""
    config, lines = state.config, []
    for name, optimizer in (("lr_d", state.opt_D), ("lr_g", state.opt_G)):
        lr = getattr(config, name)
        if saved.get(name) != lr:
            for group in optimizer.param_groups:
                group["lr"] = lr * config.lr_factor(state.step + 1)
            lines.append(f"resume: {name} {saved.get(name)} -> {lr} (applied to the restored optimiser)")
    saved_betas = tuple(saved.get("betas") or ())
    if config.optimizer == "adam" and saved_betas != config.betas:
        for optimizer in (state.opt_D, state.opt_G):
            for group in optimizer.param_groups:
                group["betas"] = config.betas
        lines.append(f"resume: betas {saved_betas} -> {config.betas} (applied to both restored optimisers)")
    saved_steps, step = saved.get("steps"), state.step + 1
    if saved_steps != config.steps and config.lr_milestones:  # the milestones are fractions of the steps
        before = dataclasses.replace(config, steps=saved_steps) if isinstance(saved_steps, int) and saved_steps > 0 else config
        lines.append(
            f"resume: steps {saved_steps} -> {config.steps} moves the learning-rate milestones from steps "
            f"{_milestone_steps(before)} to {_milestone_steps(config)}; at step {step} the rates are "
            f"{config.lr_factor(step):g} times lr_d and lr_g (they were {before.lr_factor(step):g} times)"
        )
    if saved_steps != config.steps and config.instance_noise:
        lines.append(f"resume: steps {saved_steps} -> {config.steps} stretches the instance noise's annealing to the new length")
    return lines


def update_D(state: TrainingState, x_real, x_fake, sigma=0.0) -> dict:
    r"""Step (1) of Algorithm 1: one step of D up the value
    :math:`\log D(x) + \log(1 - D(G(z)))` (a critic: up
    :math:`f(x) - f(G(z))`), minus its penalty if it has one.
    ``sigma`` is the instance noise.

    D sees ``x_fake.detach()``: its step must not push gradients into G.
    Under ``torchrun`` ``state.D`` is D's DistributedDataParallel wrapper,
    whose backward pass averages D's gradients over the ranks.

    Introduced in chapter 2.
    """
    config, D = state.config, state.D
    objective = losses.OBJECTIVES[config.loss]
    state.opt_D.zero_grad(set_to_none=True)
    x_real = state.noisy(x_real, sigma)
    x_fake = state.noisy(x_fake.detach(), sigma)
    out_real, out_fake = D(x_real), D(x_fake)
    loss_D = objective.d_loss(out_real, out_fake)
    penalty = torch.zeros((), device=state.device)
    weight = getattr(config, objective.weight, 0.0)  # gp_lambda, r1_gamma
    if objective.penalty is not None and weight > 0:
        penalty = objective.penalty(D, x_real, x_fake, weight, state.rand)
    (loss_D + penalty).backward()
    norm = grad_norm(D)
    state.opt_D.step()
    if objective.clip:  # WGAN: clipped weights keep the critic Lipschitz
        with torch.no_grad():
            for p in D.parameters():
                p.clamp_(-config.clip, config.clip)
    return {
        "loss_D": loss_D.detach(),
        "D_x": _mean_output(out_real, objective),
        "D_G_z": _mean_output(out_fake, objective),  # before D's step
        "grad_norm_D": norm,
        "penalty": penalty.detach(),
    }


def update_G(state: TrainingState, x_fake, sigma=0.0, apply=True, x_real=None) -> dict:
    """Step (2) of Algorithm 1: one step of G down its loss of D(G(z)).

    D's weights stay. ``apply=False`` only computes G's gradient. The
    backward pass also leaves gradients in D's parameters; D's next
    ``zero_grad`` clears them, and D's optimiser never uses them.
    Feature matching also needs the real batch ``x_real``, whose features are its target.

    Introduced in chapter 2.
    """
    objective = losses.OBJECTIVES[state.config.loss]
    state.opt_G.zero_grad(set_to_none=True)
    D = distributed.bare(state.D)  # under torchrun: no all-reduce of D's unused gradients
    if objective.features:
        if x_real is None:
            raise ValueError(f"the loss {state.config.loss!r} needs the real batch: update_G(state, x_fake, x_real=...)")
        h_fake = D.features(state.noisy(x_fake, sigma))
        with torch.no_grad():
            h_real = D.features(state.noisy(x_real, sigma))
        out_fake = D.head(h_fake)
        loss_G = objective.g_loss(h_fake, h_real)
    else:
        out_fake = D(state.noisy(x_fake, sigma))
        loss_G = objective.g_loss(out_fake)
    loss_G.backward()
    norm = grad_norm(state.G)
    if apply:
        state.opt_G.step()
    return {
        "loss_G": loss_G.detach(),
        "D_G_z_after": _mean_output(out_fake, objective),  # after D's step
        "grad_norm_G": norm,
    }


@torch.no_grad()
def _mean_output(out: torch.Tensor, objective: losses.Objective) -> torch.Tensor:
    """The mean probability D(x) for a discriminator, the mean score f(x) for a critic."""
    out = out[:, 0] if objective.auxiliary else out  # AC-GAN: the source logits
    return (out if objective.critic else torch.sigmoid(out)).mean()


def train(G: nn.Module, D: nn.Module, data, config: TrainConfig | None = None, *, device=None,
          checkpoint_dir: str | Path | None = None, resume: bool = False, callback: Callable | None = None,
          callback_every: int = 0, callback_at: Iterable[int] = (), run: dict | None = None,
          ready: Callable[[], None] | None = None) -> TrainResult:  # fmt: skip
    """Train ``G`` against ``D`` on ``data`` for ``config.steps`` generator steps.

    Args:
        G: a generator with an integer attribute ``z_dim``; (N, z_dim) noise -> samples.
        D: a discriminator (logits) or critic (scores), (N, ...) -> (N,).
        data: real samples, a tensor (N, ...) (images in [-1, 1]), or a sampler with
            ``.sample(n, generator=...)`` such as :func:`gancourse.data.ring`.
        config: a :class:`TrainConfig` (None: the defaults); ``device``: None, the best here.
        checkpoint_dir: where ``checkpoint.pt`` goes (every ``config.checkpoint_every`` steps,
            at the end, after Ctrl-C); ``resume`` continues from it (see :func:`resume_from`).
        callback: ``callback(step, G, D)`` after the steps in ``callback_at`` and every
            ``callback_every`` steps (the models in train mode).
        run: which run this is (JSON values: an id and the settings that cannot change),
            written into every checkpoint; ``resume`` refuses a checkpoint of another run.
        ready: called once, when every check has passed (the settings, the resume and
            :func:`check_first_batch`) and before the first step: a caller that writes
            files for the run (``runs.run``) writes them there, so a refused start writes nothing.

    Returns:
        A :class:`TrainResult` whose history has one entry per step for each of :data:`HISTORY_KEYS`.

    Raises:
        ValueError: settings, data and models that cannot train together (before any step).
        TrainingDiverged: a loss turned NaN/inf; training stops, the last good checkpoint stays.
        KeyboardInterrupt: Ctrl-C; with ``checkpoint_dir``, after saving the last whole step.
        CheckpointError: ``resume`` from a damaged checkpoint, or one of other settings.

    Introduced in chapter 2.
    """
    config = config or TrainConfig()
    state = TrainingState.create(G, D, data, config, device)
    state.run = run
    path = _checkpoint_path(state, checkpoint_dir, resume)  # and resume from it
    check_first_batch(state)
    if ready is not None:
        ready()
    start, t0 = state.step, time.perf_counter()
    callback_steps = _callback_steps(config.steps, callback_every, callback_at)
    bar = _progress_bar(config, start, state.world)
    with running(state, path is not None, bar):  # Ctrl-C ends the step; speed options; the bar closes
        for step in range(start + 1, config.steps + 1):
            state.set_learning_rates(step)
            sigma = config.noise_std(step)
            for j in range(config.k):  # (1) k steps of D, fresh batches each
                x_real = state.batches.next()
                last = j == config.k - 1
                with torch.set_grad_enabled(last):  # G reuses the last fakes
                    x_fake = state.G(state.noise())
                if last and config.simultaneous:  # G's gradient, before D's step
                    out_G = update_G(state, x_fake, sigma, apply=False, x_real=x_real)
                out_D = update_D(state, x_real, x_fake, sigma)
            # (2) one step of G on the last fakes, as in PyTorch's DCGAN example:
            # the same expectation as fresh noise, one pass of G fewer.
            if config.simultaneous:
                state.opt_G.step()  # on the gradient computed before D's step
            else:
                out_G = update_G(state, x_fake, sigma, x_real=x_real)
            state.step = step
            state.record(out_D | out_G)
            call = callback if step in callback_steps else None
            _after_step(state, path, bar, call)  # log, checkpoint, callback
    state.flush()
    if path is not None and state.step > start:
        _save_unless_saved(state, path)
    return TrainResult(state.history, state.step, time.perf_counter() - t0, path, config)


def _checkpoint_path(state: TrainingState, checkpoint_dir, resume: bool) -> Path | None:
    """``checkpoint_dir/checkpoint.pt`` (None without a folder), cleared of what killed writes
    left there; with ``resume``, ``state`` continues from it."""
    if checkpoint_dir is None:
        if resume:
            raise ValueError("resume=True needs the checkpoint_dir to resume from.")
        return None
    path = Path(checkpoint_dir) / CHECKPOINT_NAME
    if state.world.main:  # under torchrun, rank 0 writes and cleans
        remove_temporary_files(path.parent, [CHECKPOINT_NAME])
    if resume:
        resume_from(state, path)
    return path


def resume_from(state: TrainingState, path: Path) -> None:
    """Continue ``state`` from the checkpoint at ``path``: its step, weights, optimisers, random
    state and history, checked by :func:`check_resumable`; the learning rates and betas of
    ``state.config`` apply where they changed, one printed line each."""
    saved = load_checkpoint(path)
    state.load_state_dict(saved, path)
    for line in apply_changed_rates(state, saved["config"]):
        if state.world.main:
            print(line)


def check_first_batch(state: TrainingState) -> None:
    """Refuse, before the first step, players that cannot train on these data.

    One forward pass on the first batch, as the first step will make it: G's samples must
    have the data's shape and be finite, and D's outputs on both batches must be finite.
    It runs on copies of the players, and puts the random streams and the batch position
    back, so the run trains exactly as without it (a sampler is asked for one batch more; the
    course's samplers, drawing from the run's random stream, draw the same batch again).
    """
    G, D = (copy.deepcopy(distributed.bare(m)) for m in (state.G, state.D))
    auxiliary = losses.OBJECTIVES[state.config.loss].auxiliary
    if auxiliary and not getattr(D, "auxiliary", False):
        raise ValueError(
            f"the loss {state.config.loss!r} needs a discriminator with an auxiliary classifier, whose outputs are "
            "(source logit, log q(y | x)) per pair: conditional.ACGANDiscriminator."
        )
    if getattr(D, "auxiliary", False) and not auxiliary:
        raise ValueError(
            f"{type(D).__name__} returns a source logit and a class log-likelihood per pair: train it with "
            f"loss 'acgan', not {state.config.loss!r}."
        )
    if losses.OBJECTIVES[state.config.loss].features and not (callable(getattr(D, "features", None)) and callable(getattr(D, "head", None))):
        raise ValueError(
            f"the loss {state.config.loss!r} matches D's hidden features: give a discriminator with features(x) "
            "and head(h) methods (the course's MLPDiscriminator and DCGANDiscriminator have them)."
        )
    before = state.random_state()
    try:
        with torch.no_grad():
            x_real = state.batches.next()
            x_fake = G(state.noise())
            if x_fake.shape[1:] != x_real.shape[1:]:
                raise ValueError(
                    f"G makes samples of shape {tuple(x_fake.shape[1:])} and the data are {tuple(x_real.shape[1:])}: "
                    "give the generator the data's shape, or the data the generator's."
                )
            outputs = {"G's samples": x_fake, "D's outputs on the real batch": D(x_real),
                       "D's outputs on G's samples": D(x_fake)}  # fmt: skip
    finally:
        state.set_random_state(before)
    for name, x in outputs.items():
        if not torch.isfinite(x).all():
            raise ValueError(
                f"before the first step, {name} hold NaN or inf: the initial weights or the data are out of range "
                "(a large init_std, or data far from [-1, 1])."
            )


def _non_finite(state: dict) -> str:
    """Where the first NaN or inf of a :meth:`TrainingState.state_dict` sits ("G: net.0.weight"), or ""."""
    for part in ("G", "D", "opt_G", "opt_D"):
        stack = [(part, state[part])]
        while stack:
            where, value = stack.pop()
            if isinstance(value, torch.Tensor):
                if value.is_floating_point() and not torch.isfinite(value).all():
                    return where
            elif isinstance(value, dict):
                stack += [(f"{where}: {key}" if where == part else f"{where}.{key}", v) for key, v in reversed(value.items())]
            elif isinstance(value, list | tuple):
                stack += [(f"{where}[{i}]", v) for i, v in reversed(list(enumerate(value)))]
    return ""


def _non_finite_samples(G: nn.Module, n: int = 16) -> str:
    """"G's samples" if G, with finite but huge weights, generates NaN or inf; else ""."""
    with torch.no_grad():
        return "" if torch.isfinite(generate(G, n, seed=0)).all() else "G's samples"


def _save_unless_saved(state: TrainingState, path: Path) -> None:
    if state.last_checkpoint != (path, state.step):
        state.save(path)


def _callback_steps(steps: int, every: int, at: Iterable[int]) -> set[int]:
    return set(at) | (set(range(every, steps + 1, every)) if every else set())


def _progress_bar(config: TrainConfig, start: int, world: distributed.World) -> tqdm:
    show = (config.progress if config.progress is not None else not site.building()) and world.main
    return tqdm(total=config.steps, initial=start, disable=not show, desc=config.loss)


def _after_step(state: TrainingState, path: Path | None, bar: tqdm, callback) -> None:
    """Flush the history (and check it for NaN), checkpoint, call back, tick the bar;
    after Ctrl-C, save this step and stop."""
    config, step = state.config, state.step
    checkpoint_now = path is not None and config.checkpoint_every and step % config.checkpoint_every == 0
    if step % config.log_every == 0 or checkpoint_now or step == config.steps:
        state.flush()
        bar.set_postfix(loss_D=f"{state.history['loss_D'][-1]:.3f}", loss_G=f"{state.history['loss_G'][-1]:.3f}")
    if checkpoint_now:
        state.save(path)
    if callback is not None:
        callback(step, distributed.bare(state.G), distributed.bare(state.D))
    bar.update(1)
    if state.stop_requested and path is not None:  # Ctrl-C during this step: keep it, then stop
        _save_unless_saved(state, path)
        raise KeyboardInterrupt
