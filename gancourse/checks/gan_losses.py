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

from . import Case, f64, passed, run

LN10 = math.log(10)
MINUS = "The loss is the *negative* log-likelihood: did you drop the minus sign?"
SUM = "That is the sum; the loss is the mean over the batch."


def _random_outputs():
    """64 predictions in (0.02, 0.98) and random labels."""
    gen = torch.Generator().manual_seed(1)
    y_hat = 0.02 + 0.96 * torch.rand(64, dtype=f64, generator=gen)
    y = torch.randint(0, 2, (64,), generator=gen).to(f64)
    return y_hat, y


def lecture_batch():
    """D's outputs on the worked example: (D(x) on 16 real samples, D(G(z)) on 16 fakes)."""
    return torch.full((16,), 0.9, dtype=f64), torch.full((16,), 0.2, dtype=f64)


_loss = partial(Case, scalar=True, what="the result")  # a case whose answer is one number, a loss


def bce(fn) -> None:
    """``fn(y_hat, y)``: the mean binary cross-entropy :math:`-\\frac1N\\sum[y\\ln\\hat y + (1-y)\\ln(1-\\hat y)]`."""
    (y_hat, y), (real, fake) = _random_outputs(), lecture_batch()
    want = F.binary_cross_entropy(y_hat, y)
    log_likelihood = y * torch.log(y_hat) + (1 - y) * torch.log(1 - y_hat)
    *_, lecture = run("bce", fn, [
        _loss("bce([0.5], [1.0])", (torch.tensor([0.5], dtype=f64), torch.tensor([1.0], dtype=f64)), math.log(2), {
            MINUS: -math.log(2),
            "That is log base 10 (the lecture's -0.3); use the natural log, torch.log.": math.log(2) / LN10,
        }),
        _loss("bce on 64 random predictions", (y_hat, y), want, {
            MINUS: log_likelihood.mean(),
            "That is log base 10; use the natural log, torch.log.": want / LN10,
            "That is the sum over the batch; the loss is the mean.": -log_likelihood.sum(),
            "The labels are swapped: y multiplies log(y_hat), (1 - y) multiplies log(1 - y_hat).":
                -((1 - y) * torch.log(y_hat) + y * torch.log(1 - y_hat)).mean(),
        }),
        _loss("bce on the lecture's batch", (torch.cat([real, fake]), torch.cat([torch.ones(16), torch.zeros(16)]).to(f64)),
              -(math.log(0.9) + math.log(0.8)) / 2),
    ])  # fmt: skip
    passed("bce", f"matches F.binary_cross_entropy; the lecture's batch gives {lecture:.3f}")


def d_loss(fn) -> None:
    """``fn(d_real, d_fake)``: :math:`\\mathcal L_D = -\\frac1m\\sum\\ln D(x_i) - \\frac1m\\sum\\ln(1 - D(G(z_j)))`."""
    y_hat, _ = _random_outputs()
    d_real, d_fake = y_hat[:32], y_hat[32:]
    loss_real = F.binary_cross_entropy(d_real, torch.ones_like(d_real))
    loss_fake = F.binary_cross_entropy(d_fake, torch.zeros_like(d_fake))
    want = loss_real + loss_fake
    *_, lecture = run("d_loss", fn, [
        _loss("d_loss on 32 + 32 random outputs", (d_real, d_fake), want, {
            "That is the mean BCE of the whole batch, half of L_D: average each half on its own, then add.": want / 2,
            "The labels are swapped: real samples have label 1, generated ones label 0.":
                F.binary_cross_entropy(d_real, torch.zeros_like(d_real)) + F.binary_cross_entropy(d_fake, torch.ones_like(d_fake)),
            "That is V(D, G), which D maximises; its loss is -V.": -want,
            "That is only the real half; add the loss of the generated half.": loss_real,
            "That is only the generated half; add the loss of the real half.": loss_fake,
        }),
        _loss("d_loss on the lecture's batch", lecture_batch(), -math.log(0.9) - math.log(0.8)),
    ])  # fmt: skip
    passed("d_loss", f"the sum of the two halves' BCE; the lecture's batch gives {lecture:.3f}")


def g_loss_saturating(fn) -> None:
    """``fn(d_fake)``: the minimax generator loss :math:`\\frac1m\\sum\\ln(1 - D(G(z_j)))`, which G minimises."""
    (_, fake), (y_hat, _) = lecture_batch(), _random_outputs()
    want = math.log(0.8)
    run("g_loss_saturating", fn, [
        _loss("g_loss_saturating(16 x 0.2)", (fake,), want, {
            "That is D's loss on the fakes; the generator of the minimax game minimises +mean log(1 - D(G(z))), the opposite.": -want,
            "That is the non-saturating loss -mean log D(G(z)); this task is the minimax one.": -math.log(0.2),
            "That is log base 10; use torch.log.": want / LN10,
        }),
        _loss("g_loss_saturating on 64 random outputs", (y_hat,), torch.log1p(-y_hat).mean(), {SUM: torch.log1p(-y_hat).sum()}),
    ])  # fmt: skip
    passed("g_loss_saturating", f"mean log(1 - D(G(z))) = {want:.3f} on the lecture's fakes")


def g_loss_nonsaturating(fn) -> None:
    """``fn(d_fake)``: the non-saturating generator loss :math:`-\\frac1m\\sum\\ln D(G(z_j))`."""
    (_, fake), (y_hat, _) = lecture_batch(), _random_outputs()
    want = -math.log(0.2)
    run("g_loss_nonsaturating", fn, [
        _loss("g_loss_nonsaturating(16 x 0.2)", (fake,), want, {
            "The generator *minimises* -log D(G(z)): did you drop the minus sign?": -want,
            "That is the saturating loss mean log(1 - D(G(z))); the non-saturating one is -mean log D(G(z)).": math.log(0.8),
            "That is log base 10; use torch.log.": want / LN10,
        }),
        _loss("g_loss_nonsaturating on 64 random outputs", (y_hat,), -torch.log(y_hat).mean(), {SUM: -torch.log(y_hat).sum()}),
    ])  # fmt: skip
    passed("g_loss_nonsaturating", f"-mean log D(G(z)) = {want:.3f} on the lecture's fakes")


def logit_gradient(fn, g_loss_saturating, g_loss_nonsaturating) -> None:
    """``fn(g_loss, p)``: :math:`\\partial\\,g\\_loss(\\sigma(a)) / \\partial a` at the logit :math:`a` with :math:`\\sigma(a) = p`.

    Chain rule: the saturating loss has slope :math:`-p`, the non-saturating one :math:`-(1 - p)`;
    with respect to p itself they would be :math:`-1/(1 - p)` and :math:`-1/p`.
    """
    saturating, nonsaturating, *_ = run("logit_gradient", fn, [  # p = 0.01 first
        _loss(f"logit_gradient({name}, {p})", (loss, p), want, {
            "That is the derivative with respect to p = D(G(z)); differentiate with respect to the logit a, with p = sigmoid(a).": wrt_p,
            "The sign is flipped: the loss falls as the logit of a fake rises.": -want,
        }, rtol=1e-5)
        for p in (0.01, 0.5, 0.9)
        for name, loss, want, wrt_p in (
            ("g_loss_saturating", g_loss_saturating, -p, -1 / (1 - p)),
            ("g_loss_nonsaturating", g_loss_nonsaturating, -(1 - p), -1 / p),
        )
    ])  # fmt: skip
    passed("logit_gradient", f"at D(G(z)) = 0.01 the non-saturating loss pushes the logit {nonsaturating / saturating:.0f} times harder")  # fmt: skip
