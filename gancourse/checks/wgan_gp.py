"""Checks for assignment 4: the WGAN critic's loss, the gradient penalty and the critic step.

References: closed forms and autograd, not :mod:`gancourse.losses`:

- a linear critic :math:`f(x) = w^\\top x + b` has the gradient :math:`w` everywhere, so its
  penalty is :math:`\\lambda(\\|w\\| - 1)^2` wherever it is evaluated;
- :math:`f(x) = \\tfrac12\\|x\\|^2` has the gradient :math:`x` itself, so its penalty depends on
  *where* it is evaluated: on the interpolates, not on the real or the generated points;
- for a small tanh network the penalty and its gradient with respect to the critic's weights
  are recomputed one sample at a time with ``torch.autograd.grad``;
- one SGD step of a linear critic moves its weights by the learning rate times the gradient
  of :math:`\\overline{f(\\tilde x)} - \\overline{f(x)} + \\lambda(\\|w\\| - 1)^2`, computed
  here on a copy of the critic.
"""

from __future__ import annotations

from dataclasses import replace
from functools import partial

import torch
from torch import nn

from . import Case, Check, call, compare, f64, fail, judge, passed, seeded, to_float, weights


# ----------------------------------------------------------------------------- data
def shift_batch(theta: float = 2.0, n: int = 256):
    """Real points x ~ N(0, I) in the plane and fakes x + (theta, 0): a shift, W1 = |theta|."""
    real = torch.randn(n, 2, dtype=f64, generator=seeded(4))
    return real, real + torch.tensor([theta, 0.0], dtype=f64)


def penalty_batch():
    """A fixed batch of four 1 x 4 x 4 "images" (real, fake) and asymmetric weights eps."""
    gen = seeded(7)
    real = 0.5 + 0.3 * torch.randn(4, 1, 4, 4, dtype=f64, generator=gen)
    fake = 0.2 * torch.randn(4, 1, 4, 4, dtype=f64, generator=gen)
    eps = torch.tensor([0.1, 0.25, 0.7, 1.0], dtype=f64)
    return real, fake, eps


def half_square_norm(x):
    """The critic f(x) = ||x||^2 / 2 per sample; its gradient at x is x itself."""
    return 0.5 * x.flatten(start_dim=1).pow(2).sum(dim=1)


def linear_critic(d: int, norm: float, image: bool = False) -> nn.Module:
    """f(x) = w . x + 0.5 with ||w|| = norm, on flattened samples of d numbers."""
    w = torch.randn(d, dtype=f64, generator=seeded(d))
    layer = nn.Linear(d, 1, dtype=f64)
    with torch.no_grad():
        layer.weight.copy_(norm * w / w.norm())
        layer.bias.fill_(0.5)
    return nn.Sequential(nn.Flatten(), layer) if image else layer


# ----------------------------------------------------------------------------- helpers
EPS_BROADCAST = ("eps of shape (N,) does not broadcast against the batch: reshape it to (N, 1, ..., 1), one 1 per "
                 "dimension of a sample, e.g. eps.reshape(-1, *[1] * (real.dim() - 1)).")
LEAF = ("torch.autograd.grad needs the points to require a gradient: call .requires_grad_(True) on the interpolates "
        "before the critic sees them.")


def _gradients(critic, points: torch.Tensor, create_graph: bool = False) -> torch.Tensor:
    """The critic's gradient at each point, one sample at a time (with its graph back to the
    critic's weights if ``create_graph``)."""
    rows = []
    for point in points:
        x = point.detach().clone().unsqueeze(0).requires_grad_(True)
        (g,) = torch.autograd.grad(critic(x).sum(), x, create_graph=create_graph)
        rows.append(g[0])
    return torch.stack(rows)


def _between(real, fake, eps):
    e = eps.reshape(-1, *([1] * (real.dim() - 1)))
    return e * real + (1 - e) * fake


def _penalty(grads: torch.Tensor, lam: float, norm=None, value=None) -> torch.Tensor:
    """lam * mean (||g_i|| - 1)^2; for a mistake, with the ``norm`` of each gradient or the ``value``
    from the norms and lam replaced."""
    norms = grads.flatten(start_dim=1).norm(dim=1) if norm is None else norm(grads)
    return lam * ((norms - 1) ** 2).mean() if value is None else value(norms, lam)


def _gp(critic, real, fake, lam=10.0, eps=None, at=None, mean_scores=False, create_graph=False, **replaced):
    """The penalty (with its graph back to the critic's weights if ``create_graph``); for a mistake, with a
    part replaced: the points ``at(real, fake, eps)``, the gradient of the scores' mean, or a part of :func:`_penalty`."""
    g = _gradients(critic, _between(real, fake, eps) if at is None else at(real, fake, eps), create_graph)
    return _penalty(g / len(g) if mean_scores else g, lam, **replaced)


# ----------------------------------------------------------------------------- Task 1
_F_REAL, _F_FAKE = torch.tensor([1.0, 2.0, 4.0, 5.0], dtype=f64), torch.tensor([0.5, -1.0, 1.5], dtype=f64)

_critic_loss = Check(
    "critic_loss", reference=lambda f_real, f_fake: f_fake.mean() - f_real.mean(), cases=[
        Case("critic_loss([1, 2, 4, 5], [0.5, -1, 1.5])", (_F_REAL, _F_FAKE), scalar=True, what="the result"),
        Case("critic_loss on scores of shape (N, 1)", (_F_REAL[:, None], _F_FAKE[:, None]), scalar=True, what="the result"),
    ], mistakes={
        "The sign is flipped: that is the critic's estimate of the distance, mean f(real) - mean f(fake), "
        "which it maximises; its loss is the negative, mean f(fake) - mean f(real).": lambda f_real, f_fake: f_real.mean() - f_fake.mean(),
        "That is the difference of sums; take the mean of each half (the halves may differ in size).": lambda f_real, f_fake: f_fake.sum() - f_real.sum(),
        "That is the generator's loss -mean f(fake); the critic's loss also has the real term.": lambda f_real, f_fake: -f_fake.mean(),
        "That is only the fake half; subtract the mean score of the real samples.": lambda f_real, f_fake: f_fake.mean(),
        "The real and the generated batches may differ in size (m and m'): take the mean of each, mean f(fake) - mean f(real), "
        "instead of subtracting them sample by sample.": lambda f_real, f_fake: (f_fake - f_real).mean(),
    },
)  # fmt: skip


def critic_loss(fn) -> None:
    """``fn(f_real, f_fake)``: :math:`\\mathcal L_f = \\frac1{m'}\\sum_j f(\\tilde x_j) - \\frac1m\\sum_i f(x_i)`, which the critic minimises."""
    task = "critic_loss"
    _critic_loss.results(fn)
    f_real, f_fake = _F_REAL.clone().requires_grad_(True), _F_FAKE.clone().requires_grad_(True)
    loss = fn(f_real, f_fake)  # the loss trains the critic: it must carry a graph back to the scores
    if not isinstance(loss, torch.Tensor) or loss.grad_fn is None:
        fail(task, "the loss has no graph back to the scores, so it cannot train the critic: "
                   "return a tensor, without .item() or .detach().")  # fmt: skip
    grad_real, grad_fake = torch.autograd.grad(loss, (f_real, f_fake))
    compare(task, "d critic_loss / d f_real", grad_real, torch.full((4,), -0.25, dtype=f64))
    compare(task, "d critic_loss / d f_fake", grad_fake, torch.full((3,), 1 / 3, dtype=f64))
    # the optimal critic of a shift by theta, f(x) = -x_1, estimates W1 = theta
    theta, (real, fake) = 1.5, shift_batch(1.5)
    shift = Case("critic_loss of f(x) = -x_1 on a shift by 1.5", (-real[:, 0], -fake[:, 0]))
    estimate = -to_float(task, call(task, shift, fn))
    compare(task, f"-{shift.label}", estimate, theta)
    passed(task, f"mean f(fake) - mean f(real); the optimal critic of a shift by {theta} estimates W1 = {estimate:.3f}")  # fmt: skip


# ----------------------------------------------------------------------------- Task 2
def _shaped_like(batch: torch.Tensor, got) -> str | None:
    """A guard: the result has the shape of the batch."""
    if (shape := tuple(torch.as_tensor(got).shape)) != tuple(batch.shape):
        return (f"returned shape {shape}; expected the shape of the batch, {tuple(batch.shape)}. Reshape eps from (N,) "
                "to (N, 1, ..., 1), one 1 per dimension of a sample, so that it works for images and for points alike.")  # fmt: skip


_gen3 = seeded(3)
_POINTS = [torch.randn(4, 2, dtype=f64, generator=_gen3) for _ in range(2)]  # real, fake

interpolates = Check(
    "interpolates", doc="``fn(real, fake, eps)``: :math:`\\hat x_i = \\epsilon_i x_i + (1 - \\epsilon_i)\\tilde x_i`, eps of shape (N,).",
    reference=_between, cases=[
        Case(f"interpolates on {what}, eps = {penalty_batch()[2].tolist()}", (x, x_fake, penalty_batch()[2]), guard=partial(_shaped_like, x))
        for what, (x, x_fake) in [("images of shape (4, 1, 4, 4)", penalty_batch()[:2]), ("points of shape (4, 2)", _POINTS)]
    ], mistakes={
        "eps and (1 - eps) are swapped: eps = 1 must give the real sample, eps = 0 the fake one.": lambda real, fake, eps: _between(fake, real, eps),
        "Every sample was mixed with the first eps; each sample has its own eps_i.": lambda real, fake, eps: _between(real, fake, eps[:1].expand(len(eps))),
        "Every sample was mixed with the mean eps; each sample has its own eps_i.": lambda real, fake, eps: _between(real, fake, eps.mean().expand(len(eps))),
        "eps of shape (N,) was broadcast along the *last* axis (the image width), not the batch: reshape it to (N, 1, ..., 1) first.":
            lambda real, fake, eps: eps * real + (1 - eps) * fake,
        "eps[:, None] only fits batches of shape (N, d); on images it lines up with the height axis. Reshape it to (N, 1, ..., 1), "
        "one 1 per dimension of a sample.": lambda real, fake, eps: eps[:, None] * real + (1 - eps[:, None]) * fake,
    }, hints={"must match the size": EPS_BROADCAST},
    report="eps_i * x_i + (1 - eps_i) * fake_i for batches of images and of points; eps = 1 gives the real sample, eps = 0 the fake one",
)  # fmt: skip


# ----------------------------------------------------------------------------- Task 3
_REAL, _FAKE, _EPS = penalty_batch()
with torch.random.fork_rng():
    torch.manual_seed(11)
    _NET = nn.Sequential(nn.Linear(2, 16), nn.Tanh(), nn.Linear(16, 16), nn.Tanh(), nn.Linear(16, 1)).to(f64)  # fmt: skip
_gen5 = seeded(5)
_TANH = _NET, torch.randn(8, 2, dtype=f64, generator=_gen5), 0.5 * torch.randn(8, 2, dtype=f64, generator=_gen5) + 1.0
_TANH_EPS = torch.rand(8, dtype=f64, generator=_gen5)
PENALTY_HINTS = {"does not require grad": LEAF, "must match the size": EPS_BROADCAST, "dtype": "Two tensors have different dtypes; if it is "
                 "eps that you drew, give it the batch's dtype and device, torch.rand(N, dtype=real.dtype, device=real.device)."}  # fmt: skip

_gradient_penalty = Check(
    "gradient_penalty", reference=_gp, cases=[
        *(Case(f"gradient_penalty of a linear critic with ||w|| = {norm} (lam = 10)", (linear_critic(16, norm, image=True), _REAL, _FAKE),
               10 * (norm - 1) ** 2, kwargs={"eps": _EPS}, scalar=True) for norm in (0.4, 3.0)),
        Case("gradient_penalty of f(x) = ||x||^2 / 2 (lam = 5)", (half_square_norm, _REAL, _FAKE), _penalty(_between(_REAL, _FAKE, _EPS), 5.0),
             kwargs={"lam": 5.0, "eps": _EPS}, scalar=True),
        Case("gradient_penalty of a tanh network on 8 points in the plane", _TANH, kwargs={"eps": _TANH_EPS}, scalar=True),
    ], mistakes={
        "That is the penalty on the real points; evaluate it on the interpolates x_hat = eps * real + (1 - eps) * fake.":
            partial(_gp, at=lambda real, fake, eps: real),
        "That is the penalty on the generated points; evaluate it on the interpolates x_hat = eps * real + (1 - eps) * fake.":
            partial(_gp, at=lambda real, fake, eps: fake),
        "The interpolates have eps and (1 - eps) swapped: eps multiplies the real batch.": partial(_gp, at=lambda real, fake, eps: _between(fake, real, eps)),
        "That is the squared norm minus 1, (||g||^2 - 1)^2; the penalty is (||g|| - 1)^2, with the norm itself (take the square root).":
            partial(_gp, value=lambda norms, lam: lam * ((norms**2 - 1) ** 2).mean()),
        "That is the one-sided penalty max(0, ||g|| - 1)^2, which spares slopes below 1; WGAN-GP penalises (||g|| - 1)^2 on both sides.":
            partial(_gp, value=lambda norms, lam: lam * (torch.clamp(norms - 1, min=0) ** 2).mean()),
        "That is (||g|| - 1)^2 without the weight lam; multiply by lam.": partial(_gp, value=lambda norms, lam: ((norms - 1) ** 2).mean()),
        "That is the sum over the batch; the penalty is the mean over the samples.": partial(_gp, value=lambda norms, lam: lam * ((norms - 1) ** 2).sum()),
        "That is the norm of the gradient of the whole batch, one number; take the norm of each sample's gradient (over all its "
        "dimensions), then the mean of (||g_i|| - 1)^2.": partial(_gp, norm=torch.linalg.norm),
        "The gradients are N times too small: that is the gradient of the *mean* of the scores. Differentiate their sum: each "
        "score depends on its own sample only.": partial(_gp, mean_scores=True),
        "That penalises ||g||^2 (as R1 does); the WGAN-GP penalty is (||g|| - 1)^2.": partial(_gp, value=lambda norms, lam: lam * (norms**2).mean()),
        "The norm ran over dimension 1 only; flatten each sample's gradient and take the norm over all its dimensions, "
        "g.flatten(start_dim=1).norm(dim=1).": partial(_gp, norm=lambda g: g.norm(dim=1)),
        "That is the penalty with lam = 10: use the argument lam.": lambda critic, real, fake, lam=10.0, eps=None: _gp(critic, real, fake, 10.0, eps),
    }, hints=PENALTY_HINTS,
)  # fmt: skip


def gradient_penalty(fn) -> None:
    """``fn(critic, real, fake, lam, eps)``: :math:`\\lambda\\,\\frac1N\\sum_i(\\|\\nabla f(\\hat x_i)\\|_2 - 1)^2` on the interpolates."""
    task = "gradient_penalty"
    _gradient_penalty.results(fn)
    # the tanh network: the graph back to the critic's weights
    critic, tanh = _NET, _gradient_penalty.cases[-1]
    reference = _gp(*_TANH, eps=_TANH_EPS, create_graph=True)
    penalty = call(task, tanh, fn, PENALTY_HINTS)
    if not isinstance(penalty, torch.Tensor) or penalty.grad_fn is None:
        fail(task, f"{tanh.label} has no graph back to the critic's weights (no grad_fn), so the penalty cannot "
                   "train the critic. Pass create_graph=True to torch.autograd.grad, and keep the result "
                   "a tensor (no .item() or .detach()).")  # fmt: skip
    params = list(critic.parameters())
    got_grads = torch.autograd.grad(penalty, params, allow_unused=True)
    want_grads = torch.autograd.grad(reference, params, materialize_grads=True)  # last bias: zeros (torch >= 2.1)
    for (name, _), got_g, want_g in zip(critic.named_parameters(), got_grads, want_grads, strict=True):  # fmt: skip
        if got_g is None and want_g.any():
            fail(task, f"the penalty does not depend on the critic's parameter {name}; compute it from "
                       "the gradient that torch.autograd.grad returns with create_graph=True.")  # fmt: skip
        got_g = torch.zeros_like(want_g) if got_g is None else got_g
        compare(task, f"the gradient of the penalty with respect to the critic's {name}", got_g, want_g, rtol=1e-5)  # fmt: skip
    size = torch.cat([g.flatten() for g in want_grads]).norm().item()

    # eps drawn by the function: uniform on [0, 1], one per sample
    seen = []

    def recording_critic(x):
        seen.append(x.detach().clone())
        return half_square_norm(x)

    many_real, many_fake = shift_batch(2.0, 64)
    label = "gradient_penalty(f, real, fake) with eps=None (64 points)"
    with torch.random.fork_rng():
        torch.manual_seed(2024)
        penalty = call(task, Case(label, (recording_critic, many_real, many_fake)), fn, PENALTY_HINTS)
    if not seen:
        fail(task, f"{label} never called the critic.")
    # one call on the whole batch, or one call per sample (a loop): both evaluate the critic
    # on every interpolate once
    x_hat = seen[-1]
    if x_hat.shape != many_real.shape and all(x.shape[1:] == many_real.shape[1:] for x in seen):
        x_hat = torch.cat(seen)
    if x_hat.shape != many_real.shape:
        calls = f"{len(seen)} calls" if len(seen) > 1 else "one call"
        fail(task, f"{label}: the critic saw a batch of shape {tuple(x_hat.shape)} in {calls}; expected the "
                   f"{len(many_real)} interpolates, shape {tuple(many_real.shape)}, each once.")  # fmt: skip
    # x_hat lies on the segments from fake to real, at weights eps ~ U[0, 1], one per sample
    direction = many_real - many_fake
    drawn = ((x_hat - many_fake) * direction).sum(dim=1) / direction.pow(2).sum(dim=1)
    if (x_hat - many_fake - drawn[:, None] * direction).abs().max().item() > 1e-6:
        fail(task, f"{label}: the critic was evaluated on points that are not on the segments between "
                   "the real and the generated samples; use x_hat = interpolates(real, fake, eps).")  # fmt: skip
    if drawn.min() < -1e-6 or drawn.max() > 1 + 1e-6:
        fail(task, f"{label}: the weights eps range over [{drawn.min():.2f}, {drawn.max():.2f}]; draw them "
                   "uniformly from [0, 1] with torch.rand (torch.randn is a normal distribution).")  # fmt: skip
    if drawn.std() < 0.05:
        fail(task, f"{label}: all samples were mixed with the same eps = {drawn.mean():.3f}; draw one "
                   "eps per sample, torch.rand(N).")  # fmt: skip
    # f = ||x||^2 / 2: the gradient at x is x
    judge(task, Case(label, want=_penalty(x_hat, 10.0), scalar=True), penalty)
    passed(task, f"lam * mean (||grad f(x_hat_i)|| - 1)^2 on the interpolates; on the tanh network it is "
                 f"{reference.item():.4f} and its gradient for the weights has norm {size:.4f}")  # fmt: skip


# ----------------------------------------------------------------------------- Task 4
LR = 0.01  # the critic step's SGD learning rate
STEP_HINTS = {"does not require grad": LEAF + " (in gradient_penalty, which the step calls)"}


def _step_with(zero_grad=True, loss_sign=1.0, penalty_sign=1.0, lam_used=None, step=True, returned="before"):
    """critic_step for a linear critic, whose penalty is lam (||w|| - 1)^2 wherever it is evaluated
    (its gradient is w); a mistake unless the defaults."""

    def critic_step(critic, optimizer, real, fake, lam=10.0):
        if zero_grad:
            optimizer.zero_grad()
        critic_loss = critic(fake).mean() - critic(real).mean()
        loss = loss_sign * critic_loss + penalty_sign * (lam if lam_used is None else lam_used) * (critic.weight.norm() - 1) ** 2
        loss.backward()
        if step:
            optimizer.step()
        after = critic(fake).mean() - critic(real).mean() + lam * (critic.weight.norm() - 1) ** 2  # the objective, after the step
        return {"before": loss, "critic loss": critic_loss, "after": after}[returned].item()

    return critic_step


def _play(fn, case: Case) -> tuple:
    """One step ``fn`` from a fresh linear critic with stale gradients: (its weights and bias after, the loss returned)."""
    critic = linear_critic(2, 2.0)
    optimizer = torch.optim.SGD(critic.parameters(), lr=LR)
    for p in critic.parameters():  # gradients left over from an earlier step
        p.grad = torch.ones_like(p)
    loss = call("critic_step", replace(case, args=(critic, optimizer, *case.args)), fn, STEP_HINTS)
    return weights(critic), loss


critic_step = Check(
    "critic_step", doc="``fn(critic, optimizer, real, fake, lam)``: one step on :math:`\\mathcal L_f + \\lambda\\,\\mathbb E(\\|\\nabla f(\\hat x)\\| - 1)^2`; returns the loss before the step.",
    cases=[Case(f"critic_step with a linear critic, ||w|| = 2, SGD lr = {LR}, lam = {lam}", shift_batch(1.0, 6), kwargs=kwargs)
           for lam, kwargs in ((10.0, {}), (2.0, {"lam": 2.0}))],  # the default lam is 10
    reference=_step_with(), play=_play, parts=(
        Case("the weights and bias after {label}"),
        Case("the loss returned by {label}", scalar=True, what="{label}", guard=lambda got: "is a tensor; return the loss as a Python number, "
             "loss.item(), so that the training loop does not keep the graph alive." if isinstance(got, torch.Tensor) else None),
    ), mistakes={
        "The old gradients were added to the new ones: call optimizer.zero_grad() before backward().": _step_with(zero_grad=False),
        "The weights did not move: call loss.backward() and then optimizer.step().": _step_with(step=False),
        "The step ignored the gradient penalty: the critic minimises critic_loss + gradient_penalty.": _step_with(penalty_sign=0.0),
        "The penalty was subtracted; the critic minimises critic_loss + gradient_penalty.": _step_with(penalty_sign=-1.0),
        "The critic loss has the wrong sign (real and fake swapped?): the critic minimises mean f(fake) - mean f(real).": _step_with(loss_sign=-1.0),
        "That is the step with lam = 10: pass the argument lam on to gradient_penalty.": _step_with(lam_used=10.0),
        "That is the loss after the step; return the loss the step was computed from.": _step_with(returned="after"),
        "That is the critic loss alone; return critic_loss + gradient_penalty.": _step_with(returned="critic loss"),
    }, report=lambda r: f"with lam = 10 one SGD step moves (w, b) from {_fmt(weights(linear_critic(2, 2.0)))} to {_fmt(r[0][0])}; "
                        f"the loss before it was {r[0][1]:.4f}",
)  # fmt: skip


def _fmt(t: torch.Tensor) -> str:
    return "(" + ", ".join(f"{x:.4f}" for x in t.tolist()) + ")"
