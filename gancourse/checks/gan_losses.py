"""Checks for assignment 1: binary cross-entropy and the GAN losses, written on probabilities.

References: PyTorch's ``F.binary_cross_entropy``; closed forms (the losses written with
``torch.log``, and the chain rule through the sigmoid, which gives the saturating loss the
slope :math:`-p` and the non-saturating one :math:`-(1 - p)` at the logit); and the worked
example of chapter 1: 16 real samples on which D outputs 0.9 and 16 generated ones on which
it outputs 0.2, whose mean BCE is :math:`-\\tfrac12(\\ln 0.9 + \\ln 0.8) = 0.164`.
"""

from __future__ import annotations

import math
from functools import partial

import torch
import torch.nn.functional as F

from . import Case, Check, f64, seeded

LN10 = math.log(10)
SUM = "That is the sum; the loss is the mean over the batch."
BASE_10 = "That is log base 10; use torch.log."


def lecture_batch():
    """D's outputs on the worked example: (D(x) on 16 real samples, D(G(z)) on 16 fakes)."""
    return torch.full((16,), 0.9, dtype=f64), torch.full((16,), 0.2, dtype=f64)


_loss = partial(Case, scalar=True, what="the result")  # a case whose answer is one number, a loss
(_real, _fake), _gen = lecture_batch(), seeded(1)
_y_hat = 0.02 + 0.96 * torch.rand(64, dtype=f64, generator=_gen)  # 64 predictions in (0.02, 0.98)
_y = torch.randint(0, 2, (64,), generator=_gen).to(f64)  # and random labels


def _d_loss(d_real, d_fake, real=1.0, fake=0.0):
    """BCE(D(x), real) + BCE(D(G(z)), fake): D's loss with those labels."""
    return F.binary_cross_entropy(d_real, torch.full_like(d_real, real)) + F.binary_cross_entropy(d_fake, torch.full_like(d_fake, fake))  # fmt: skip


def _saturating(d_fake):
    return torch.log1p(-d_fake).mean()


def _nonsaturating(d_fake):
    return -torch.log(d_fake).mean()


bce = Check(
    "bce", doc="``fn(y_hat, y)``: the mean binary cross-entropy :math:`-\\frac1N\\sum[y\\ln\\hat y + (1-y)\\ln(1-\\hat y)]`.",
    reference=F.binary_cross_entropy, cases=[
        _loss("bce([0.5], [1.0])", (torch.tensor([0.5], dtype=f64), torch.tensor([1.0], dtype=f64))),
        _loss("bce on 64 random predictions", (_y_hat, _y)),
        _loss("bce on the lecture's batch", (torch.cat([_real, _fake]), torch.cat([torch.ones(16), torch.zeros(16)]).to(f64)),
              want=-(math.log(0.9) + math.log(0.8)) / 2),
    ], mistakes={
        "The loss is the *negative* log-likelihood: did you drop the minus sign?": lambda y_hat, y: -F.binary_cross_entropy(y_hat, y),
        "That is log base 10 (the lecture's -0.3); use the natural log, torch.log.": lambda y_hat, y: F.binary_cross_entropy(y_hat, y) / LN10,
        "That is the sum over the batch; the loss is the mean.": partial(F.binary_cross_entropy, reduction="sum"),
        "The labels are swapped: y multiplies log(y_hat), (1 - y) multiplies log(1 - y_hat).": lambda y_hat, y: F.binary_cross_entropy(y_hat, 1 - y),
    }, report=lambda r: f"matches F.binary_cross_entropy; the lecture's batch gives {r[-1]:.3f}",
)  # fmt: skip

d_loss = Check(
    "d_loss", doc="``fn(d_real, d_fake)``: :math:`\\mathcal L_D = -\\frac1m\\sum\\ln D(x_i) - \\frac1m\\sum\\ln(1 - D(G(z_j)))`.",
    reference=_d_loss, cases=[
        _loss("d_loss on 32 + 32 random outputs", (_y_hat[:32], _y_hat[32:])),
        _loss("d_loss on the lecture's batch", lecture_batch(), want=-math.log(0.9) - math.log(0.8)),
    ], mistakes={
        "That is the mean BCE of the whole batch, half of L_D: average each half on its own, then add.":
            lambda d_real, d_fake: F.binary_cross_entropy(torch.cat([d_real, d_fake]), torch.cat([torch.ones_like(d_real), torch.zeros_like(d_fake)])),
        "The labels are swapped: real samples have label 1, generated ones label 0.": partial(_d_loss, real=0.0, fake=1.0),
        "That is V(D, G), which D maximises; its loss is -V.": lambda d_real, d_fake: -_d_loss(d_real, d_fake),
        "That is only the real half; add the loss of the generated half.": lambda d_real, d_fake: F.binary_cross_entropy(d_real, torch.ones_like(d_real)),
        "That is only the generated half; add the loss of the real half.": lambda d_real, d_fake: F.binary_cross_entropy(d_fake, torch.zeros_like(d_fake)),
    }, report=lambda r: f"the sum of the two halves' BCE; the lecture's batch gives {r[-1]:.3f}",
)  # fmt: skip

g_loss_saturating = Check(
    "g_loss_saturating", doc="``fn(d_fake)``: the minimax generator loss :math:`\\frac1m\\sum\\ln(1 - D(G(z_j)))`, which G minimises.",
    reference=_saturating, cases=[
        _loss("g_loss_saturating(16 x 0.2)", (_fake,), want=math.log(0.8)),
        _loss("g_loss_saturating on 64 random outputs", (_y_hat,)),
    ], mistakes={
        "That is D's loss on the fakes; the generator of the minimax game minimises +mean log(1 - D(G(z))), the opposite.":
            lambda d_fake: -_saturating(d_fake),
        "That is the non-saturating loss -mean log D(G(z)); this task is the minimax one.": _nonsaturating,
        BASE_10: lambda d_fake: _saturating(d_fake) / LN10,
        SUM: lambda d_fake: torch.log1p(-d_fake).sum(),
    }, report=f"mean log(1 - D(G(z))) = {math.log(0.8):.3f} on the lecture's fakes",
)  # fmt: skip

g_loss_nonsaturating = Check(
    "g_loss_nonsaturating", doc="``fn(d_fake)``: the non-saturating generator loss :math:`-\\frac1m\\sum\\ln D(G(z_j))`.",
    reference=_nonsaturating, cases=[
        _loss("g_loss_nonsaturating(16 x 0.2)", (_fake,), want=-math.log(0.2)),
        _loss("g_loss_nonsaturating on 64 random outputs", (_y_hat,)),
    ], mistakes={
        "The generator *minimises* -log D(G(z)): did you drop the minus sign?": lambda d_fake: -_nonsaturating(d_fake),
        "That is the saturating loss mean log(1 - D(G(z))); the non-saturating one is -mean log D(G(z)).": _saturating,
        BASE_10: lambda d_fake: _nonsaturating(d_fake) / LN10,
        SUM: lambda d_fake: -torch.log(d_fake).sum(),
    }, report=f"-mean log D(G(z)) = {-math.log(0.2):.3f} on the lecture's fakes",
)  # fmt: skip


def _slope(g_loss, p: float, wrt_logit: bool = True) -> float:
    """d g_loss(sigma(a)) / da at sigma(a) = p, by autograd (or d g_loss(p) / dp)."""
    x = torch.tensor([math.log(p / (1 - p)) if wrt_logit else p], dtype=f64, requires_grad=True)
    g_loss(torch.sigmoid(x) if wrt_logit else x).backward()
    return x.grad.item()


logit_gradient = Check(
    "logit_gradient", doc="""``fn(g_loss, p)``: :math:`\\partial\\,g\\_loss(\\sigma(a)) / \\partial a` at the logit :math:`a` with :math:`\\sigma(a) = p`.

    Chain rule: the saturating loss has slope :math:`-p`, the non-saturating one :math:`-(1 - p)`;
    with respect to p itself they would be :math:`-1/(1 - p)` and :math:`-1/p`.""",
    cases=lambda g_loss_saturating, g_loss_nonsaturating: [  # p = 0.01 first
        _loss(f"logit_gradient({name}, {p})", (loss, p), want=want, rtol=1e-5)
        for p in (0.01, 0.5, 0.9)
        for name, loss, want in (("g_loss_saturating", g_loss_saturating, -p), ("g_loss_nonsaturating", g_loss_nonsaturating, -(1 - p)))
    ], mistakes={
        "That is the derivative with respect to p = D(G(z)); differentiate with respect to the logit a, with p = sigmoid(a).":
            partial(_slope, wrt_logit=False),
        "The sign is flipped: the loss falls as the logit of a fake rises.": lambda g_loss, p: -_slope(g_loss, p),
    }, given=(_saturating, _nonsaturating),
    report=lambda r: f"at D(G(z)) = 0.01 the non-saturating loss pushes the logit {r[1] / r[0]:.0f} times harder",
)  # fmt: skip
