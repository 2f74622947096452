"""One training loop for every GAN in the course.

The loop is Algorithm 1 of Goodfellow et al. (2014), with the Wasserstein variants of
Arjovsky et al. (2017) and Gulrajani et al. (2017) as options of the same loop:

.. code-block:: text

    for step in 1..steps:
        repeat k times:                          # k = n_critic for the WGANs
            update_D: ascend V(D, G) (or the critic objective) on m real and m fake samples
        update_G:  descend the generator loss on m fake samples

``loss`` picks the objective: ``"minimax"`` (saturating), ``"nonsaturating"``, ``"wgan"``
(weight clipping) or ``"wgan-gp"`` (gradient penalty). All randomness (batches, noise,
interpolation weights) comes from one seeded generator that is saved in the checkpoints,
so a run stopped and resumed continues exactly as an uninterrupted one would on the CPU.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from torch import nn
from tqdm.auto import tqdm

from . import losses, site
from .checkpoint import CheckpointError, check_compatible, load_checkpoint, save_checkpoint
from .device import default_device

LOSSES = ("minimax", "nonsaturating", "wgan", "wgan-gp")
OPTIMIZERS = ("adam", "rmsprop", "sgd")
HISTORY_KEYS = ("step", "loss_D", "loss_G", "D_x", "D_G_z", "grad_norm_D", "grad_norm_G", "penalty")
CHECKPOINT_NAME = "checkpoint.pt"

# Per-loss defaults from the papers: (optimizer, learning rate, betas, k).
PAPER_DEFAULTS = {
    "minimax": ("adam", 2e-4, (0.5, 0.999), 1),  # Radford et al. (2016)
    "nonsaturating": ("adam", 2e-4, (0.5, 0.999), 1),
    "wgan": ("rmsprop", 5e-5, None, 5),  # Arjovsky et al. (2017), Algorithm 1
    "wgan-gp": ("adam", 1e-4, (0.0, 0.9), 5),  # Gulrajani et al. (2017), Algorithm 1
}


class TrainingDiverged(FloatingPointError):
    """The losses turned NaN or infinite; the last good checkpoint is kept."""


@dataclass
class TrainConfig:
    """What to train and how. ``None`` means "the paper's default for this loss"."""

    loss: str = "nonsaturating"  # "minimax" | "nonsaturating" | "wgan" | "wgan-gp"
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

    def __post_init__(self):
        if self.loss not in LOSSES:
            raise ValueError(f"unknown loss {self.loss!r}; choose one of {', '.join(LOSSES)}.")
        optimizer, lr, betas, k = PAPER_DEFAULTS[self.loss]
        self.optimizer = self.optimizer or optimizer
        self.lr_d = lr if self.lr_d is None else self.lr_d
        self.lr_g = lr if self.lr_g is None else self.lr_g
        self.betas = tuple(self.betas or betas or (0.9, 0.999))
        self.k = k if self.k is None else self.k
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"unknown optimizer {self.optimizer!r}; choose one of {', '.join(OPTIMIZERS)}.")
        for name in ("steps", "batch_size", "k", "log_every"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                what = "n_critic (k)" if name == "k" else name
                raise ValueError(f"{what} must be a positive integer, got {value!r}.")
        if not isinstance(self.checkpoint_every, int) or self.checkpoint_every < 0:
            raise ValueError(f"checkpoint_every must be 0 (off) or a positive integer, got {self.checkpoint_every!r}.")
        for name in ("lr_d", "lr_g", "clip"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)!r}.")
        if self.gp_lambda < 0 or self.r1_gamma < 0 or self.instance_noise < 0:
            raise ValueError("gp_lambda, r1_gamma and instance_noise cannot be negative.")
        self.lr_milestones = tuple(self.lr_milestones)
        if any(not 0 < m < 1 for m in self.lr_milestones) or list(self.lr_milestones) != sorted(self.lr_milestones):
            raise ValueError(f"lr_milestones must be increasing fractions of the run in (0, 1), got {self.lr_milestones!r}.")

    def lr_factor(self, step: int) -> float:
        """The learning rates' multiplier at generator step ``step`` (1, 2, ...): 0.1 per milestone passed."""
        return 0.1 ** sum(step > m * self.steps for m in self.lr_milestones)

    @property
    def wasserstein(self) -> bool:
        return self.loss.startswith("wgan")


@dataclass
class TrainResult:
    """What a run returns; the models themselves are trained in place."""

    history: dict[str, list[float]]
    step: int  # generator steps done in total (including those before a resume)
    seconds: float  # wall-clock time of this call
    checkpoint: Path | None = None
    config: TrainConfig = field(default_factory=TrainConfig)


def seed_everything(seed: int) -> None:
    """Seed PyTorch's global generators (model initialisation happens outside the loop)."""
    torch.manual_seed(seed)


@torch.no_grad()
def decode(G: nn.Module, z: torch.Tensor) -> torch.Tensor:
    """``G(z)`` for given noise vectors ``z`` (N, z_dim), returned on the CPU.

    G is run in eval mode (batch norm uses its running statistics) and put back as it was.
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
    (see :func:`decode`)."""
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
) -> list[float]:
    """Train D alone against a *fixed* generator: the inner maximisation of the game, with p_g held still.

    .. math:: \\max_D\\; \\mathbb E_{x\\sim p_{data}}\\log D(x) + \\mathbb E_{x\\sim p_g}\\log(1 - D(x))

    Run to (near) convergence, its solution is the optimal discriminator
    :math:`D^* = p_{data}/(p_{data} + p_g)`. With ``loss="wgan-gp"`` D is a critic f and the
    objective is :math:`\\mathbb E_{p_{data}} f - \\mathbb E_{p_g} f` minus the gradient penalty
    (``gp_lambda``), whose maximum estimates the Earth-Mover distance.

    Args:
        D: a discriminator returning logits (or a critic returning scores), (N, d) -> (N,).
        p_data, p_g: samplers with ``.sample(n, generator=...)``, e.g. :func:`gancourse.data.gaussian_1d`
            or a :class:`FrozenGenerator`.
        steps: Adam steps, each on ``batch_size`` samples of each distribution.
        loss: ``"nonsaturating"`` (or ``"minimax"``: the same loss for D) or ``"wgan-gp"``.

    Returns:
        D's loss at every step: :math:`-\\hat V` for the GAN losses; the critic loss
        :math:`\\overline{f(G(z))} - \\overline{f(x)}` without the penalty for WGAN-GP (its
        negative is the critic's estimate of the distance).
    """
    if not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps must be a positive integer, got {steps!r}.")
    if loss not in ("minimax", "nonsaturating", "wgan-gp"):
        raise ValueError(f"fit_discriminator trains a GAN discriminator or a WGAN-GP critic, not {loss!r}.")
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
            penalty = losses.gradient_penalty(D, x_real, x_fake, gp_lambda, generator=rng)
        else:
            loss_D, penalty = losses.d_loss(D(x_real), D(x_fake)), 0.0
        (loss_D + penalty).backward()
        optimizer.step()
        history.append(loss_D.detach())
    return torch.stack(history).tolist()


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
    """
    if not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps must be a positive integer, got {steps!r}.")
    generator_loss = losses.GENERATOR_LOSSES.get(loss)
    if generator_loss is None:
        raise ValueError(f"unknown loss {loss!r}; choose one of {', '.join(LOSSES)}.")
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
    """

    def __init__(self, G: nn.Module):
        self.G = G

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        return decode(self.G, torch.randn(n, self.G.z_dim, generator=generator))


class _Batches:
    """Real batches: epochs of a random permutation of a tensor, or draws from a sampler.

    Its state (permutation and position) is part of the checkpoint.
    """

    def __init__(self, data, batch_size: int, generator: torch.Generator, device: torch.device):
        self.batch_size, self.generator, self.device = batch_size, generator, device
        self.perm, self.pos = torch.empty(0, dtype=torch.long), 0
        if isinstance(data, torch.Tensor):
            if data.shape[0] < batch_size:
                raise ValueError(
                    f"the data holds {data.shape[0]} samples, fewer than one batch of {batch_size}; "
                    "use a smaller batch_size or more data."
                )
            # Small enough datasets (Fashion-MNIST is 188 MB) live on the device.
            self.data, self.sampler = data.to(device), None
        elif callable(getattr(data, "sample", None)):
            self.data, self.sampler = None, data
        else:
            raise TypeError("data must be a tensor of real samples or an object with .sample(n, generator=...)")

    def next(self) -> torch.Tensor:
        if self.sampler is not None:
            return self.sampler.sample(self.batch_size, generator=self.generator).to(self.device)
        if self.pos + self.batch_size > self.perm.numel():
            self.perm, self.pos = torch.randperm(self.data.shape[0], generator=self.generator), 0
        idx = self.perm[self.pos : self.pos + self.batch_size]
        self.pos += self.batch_size
        return self.data[idx.to(self.device)]

    def state_dict(self) -> dict:
        return {"perm": self.perm, "pos": self.pos}

    def load_state_dict(self, state: dict) -> None:
        self.perm, self.pos = state["perm"], state["pos"]


def _make_optimizer(params, config: TrainConfig, lr: float) -> torch.optim.Optimizer:
    if config.optimizer == "adam":
        return torch.optim.Adam(params, lr=lr, betas=config.betas)
    if config.optimizer == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr)
    return torch.optim.SGD(params, lr=lr)


def _grad_norm(module: nn.Module) -> torch.Tensor:
    """:math:`\\|\\nabla_\\theta\\|_2` over all of a module's parameters."""
    grads = [p.grad for p in module.parameters() if p.grad is not None]
    return torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g) for g in grads]))


def train(
    G: nn.Module,
    D: nn.Module,
    data,
    config: TrainConfig | None = None,
    *,
    device=None,
    checkpoint_dir: str | Path | None = None,
    resume: bool = False,
    callback: Callable[[int, nn.Module, nn.Module], None] | None = None,
    callback_every: int = 0,
) -> TrainResult:
    """Train ``G`` against ``D`` on ``data`` for ``config.steps`` generator updates.

    Args:
        G: a generator with attribute ``z_dim``; maps (N, z_dim) noise to samples.
        D: a discriminator (logits) or critic (scores), (N, ...) -> (N,).
        data: real samples, a tensor (N, ...) (images in [-1, 1]), or an object with
            ``.sample(n, generator=...)`` such as :func:`gancourse.data.ring`.
        config: a :class:`TrainConfig`; ``TrainConfig()`` if None.
        device: ``None`` picks CUDA / MPS / another accelerator / CPU automatically.
        checkpoint_dir: where ``checkpoint.pt`` is written (every ``config.checkpoint_every``
            steps and at the end); ``None``: no checkpoints.
        resume: continue from ``checkpoint_dir/checkpoint.pt`` (models, optimisers, random
            state, data order and history) up to ``config.steps`` in total.
        callback: ``callback(step, G, D)`` every ``callback_every`` generator steps, e.g. to
            keep frames for an animation (called with the models in train mode).

    Returns:
        A :class:`TrainResult`; ``history`` has one entry per generator step for each of
        ``step, loss_D, loss_G, D_x, D_G_z, grad_norm_D, grad_norm_G, penalty``. ``D_x`` and
        ``D_G_z`` are mean probabilities D(x), D(G(z)) for the GAN losses and mean critic
        scores f(x), f(G(z)) for the WGANs (their difference estimates the EM distance).

    Raises:
        TrainingDiverged: a loss turned NaN/inf; training stops, the last good checkpoint stays.
    """
    config = config or TrainConfig()
    if not isinstance(getattr(G, "z_dim", None), int):
        raise ValueError(f"{type(G).__name__} needs an integer attribute z_dim (its noise dimension) to be trained.")
    device = default_device(device)
    pack = getattr(D, "pack", 1)
    if config.batch_size % pack:
        raise ValueError(f"batch_size {config.batch_size} must be a multiple of the discriminator's pack {pack}.")
    if resume and checkpoint_dir is None:
        raise ValueError("resume=True needs the checkpoint_dir to resume from.")
    G.to(device).train()
    D.to(device).train()
    opt_D = _make_optimizer(D.parameters(), config, config.lr_d)
    opt_G = _make_optimizer(G.parameters(), config, config.lr_g)
    rng = torch.Generator().manual_seed(config.seed)
    batches = _Batches(data, config.batch_size, rng, device)
    history: dict[str, list[float]] = {key: [] for key in HISTORY_KEYS}
    path = Path(checkpoint_dir) / CHECKPOINT_NAME if checkpoint_dir is not None else None
    start = 0
    if resume:
        start = _restore(path, config, G, D, opt_D, opt_G, rng, batches, history)

    def z_batch() -> torch.Tensor:
        return torch.randn(config.batch_size, G.z_dim, generator=rng).to(device)

    def noisy(x: torch.Tensor, sigma: float) -> torch.Tensor:
        """Instance noise (Sønderby et al., 2017): D sees x + sigma * eps, real and fake alike,
        so the two distributions overlap and D's gradients stay informative."""
        if sigma == 0:
            return x
        return x + sigma * torch.randn(x.shape, generator=rng).to(device)

    def update_D(x_real: torch.Tensor, x_fake: torch.Tensor, sigma: float):
        """(1) Update D: maximise log D(x) + log(1 - D(G(z)))  (critic: f(x) - f(G(z)) [- GP]).

        D sees ``x_fake.detach()``: this step must not push gradients into G.
        """
        opt_D.zero_grad(set_to_none=True)
        x_real = noisy(x_real, sigma)
        x_fake = noisy(x_fake.detach(), sigma)
        out_real, out_fake = D(x_real), D(x_fake)
        if config.wasserstein:
            loss_D = losses.critic_loss(out_real, out_fake)
        else:
            loss_D = losses.d_loss(out_real, out_fake)
        penalty = torch.zeros((), device=device)
        if config.loss == "wgan-gp":
            penalty = losses.gradient_penalty(D, x_real, x_fake, config.gp_lambda, generator=rng)
        elif config.r1_gamma > 0:
            penalty = losses.r1_penalty(D, x_real, config.r1_gamma)
        (loss_D + penalty).backward()
        grad_norm = _grad_norm(D)
        opt_D.step()
        if config.loss == "wgan":  # keep the critic (roughly) Lipschitz by clipping its weights
            with torch.no_grad():
                for p in D.parameters():
                    p.clamp_(-config.clip, config.clip)
        with torch.no_grad():
            squash = (lambda t: t) if config.wasserstein else torch.sigmoid
            D_x, D_G_z = squash(out_real).mean(), squash(out_fake).mean()
        return loss_D.detach(), D_x, D_G_z, grad_norm, penalty.detach()

    def update_G(x_fake: torch.Tensor, sigma: float, step: bool = True):
        """(2) Update G: minimise the generator loss on D(G(z)), D's weights left untouched.

        ``step=False`` only computes G's gradient (D's gradients from this backward pass are
        cleared by D's next ``zero_grad``)."""
        opt_G.zero_grad(set_to_none=True)
        loss_G = losses.GENERATOR_LOSSES[config.loss](D(noisy(x_fake, sigma)))
        loss_G.backward()
        grad_norm = _grad_norm(G)
        if step:
            opt_G.step()
        return loss_G.detach(), grad_norm

    pending: list[torch.Tensor] = []  # per-step records kept on the device until a flush

    def flush(step: int) -> None:
        if not pending:
            return
        rows = torch.stack(pending).cpu()
        pending.clear()
        first = step - rows.shape[0] + 1
        if not torch.isfinite(rows).all():
            bad = first + int((~torch.isfinite(rows)).any(dim=1).nonzero()[0])
            kept = f"the last good checkpoint is {path}" if path and path.exists() else "no checkpoint was written"
            raise TrainingDiverged(
                f"the losses became NaN/inf at step {bad} ({config.loss}); training stopped and {kept}. "
                "Lower the learning rates, or use the non-saturating or WGAN-GP loss."
            )
        history["step"].extend(range(first, step + 1))
        for key, column in zip(HISTORY_KEYS[1:], rows.T.tolist(), strict=True):
            history[key].extend(column)

    show = config.progress if config.progress is not None else not site.building()
    bar = tqdm(total=config.steps, initial=start, disable=not show, desc=config.loss)
    t0 = time.perf_counter()
    step = start
    try:
        for step in range(start + 1, config.steps + 1):
            sigma = config.instance_noise * (1 - (step - 1) / config.steps)  # annealed to 0
            if config.lr_milestones:  # a step schedule: both rates drop tenfold at each milestone
                for optimizer, lr in ((opt_D, config.lr_d), (opt_G, config.lr_g)):
                    for group in optimizer.param_groups:
                        group["lr"] = lr * config.lr_factor(step)
            for j in range(config.k):
                x_real = batches.next()
                last = j == config.k - 1
                with torch.set_grad_enabled(last):  # only the last fake batch is reused by update_G
                    x_fake = G(z_batch())
                if last and config.simultaneous:  # G's gradient against D as it is before D's step
                    loss_G, grad_norm_G = update_G(x_fake, sigma, step=False)
                loss_D, D_x, D_G_z, grad_norm_D, penalty = update_D(x_real, x_fake, sigma)
            # Like the PyTorch DCGAN example, G's step reuses the fake batch of the last D
            # step (which D has just been updated on) instead of drawing new noise: the
            # same expectation over z, one forward pass of G fewer.
            if config.simultaneous:
                opt_G.step()  # the gradient computed before D's step
            else:
                loss_G, grad_norm_G = update_G(x_fake, sigma)
            pending.append(torch.stack([loss_D, loss_G, D_x, D_G_z, grad_norm_D, grad_norm_G, penalty]).float())
            checkpoint_now = path is not None and config.checkpoint_every and step % config.checkpoint_every == 0
            if step % config.log_every == 0 or checkpoint_now or step == config.steps:
                flush(step)
                bar.set_postfix(loss_D=f"{history['loss_D'][-1]:.3f}", loss_G=f"{history['loss_G'][-1]:.3f}")
            if checkpoint_now:
                _save(path, step, config, G, D, opt_D, opt_G, rng, batches, history)
            if callback is not None and callback_every and step % callback_every == 0:
                callback(step, G, D)
            bar.update(1)
        flush(step)
    finally:
        bar.close()
    if path is not None and step > start:
        _save(path, step, config, G, D, opt_D, opt_G, rng, batches, history)
    return TrainResult(history, step, time.perf_counter() - t0, path, config)


def _save(path, step, config, G, D, opt_D, opt_G, rng, batches, history) -> None:
    save_checkpoint(
        {
            "step": step,
            "config": asdict(config),
            "models": {"G": type(G).__name__, "D": type(D).__name__},
            "G": G.state_dict(),
            "D": D.state_dict(),
            "opt_G": opt_G.state_dict(),
            "opt_D": opt_D.state_dict(),
            "rng": rng.get_state(),
            "batches": batches.state_dict(),
            "history": history,
        },
        path,
    )


def _restore(path, config, G, D, opt_D, opt_G, rng, batches, history) -> int:
    state = load_checkpoint(path)
    saved_loss = state["config"]["loss"]
    if saved_loss != config.loss:
        raise CheckpointError(
            f"{path} was written by a {saved_loss!r} run; this run uses {config.loss!r}. "
            "Resume with the same loss, or use a new checkpoint folder."
        )
    check_compatible(G, state["G"], "generator", path)
    check_compatible(D, state["D"], "discriminator", path)
    if state["step"] > config.steps:
        raise ValueError(
            f"{path} is already at step {state['step']}, past steps={config.steps}; ask for more steps."
        )
    G.load_state_dict(state["G"])
    D.load_state_dict(state["D"])
    opt_G.load_state_dict(state["opt_G"])
    opt_D.load_state_dict(state["opt_D"])
    rng.set_state(state["rng"])
    batches.load_state_dict(state["batches"])
    for key in HISTORY_KEYS:
        history[key].extend(state["history"][key])
    return int(state["step"])

