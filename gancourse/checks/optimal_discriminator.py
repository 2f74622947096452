"""Checks for assignment 2: the optimal discriminator and the JSD identity, on a grid.

Densities are float64 tensors sampled on a uniform grid of spacing ``dx`` (or probability
vectors with ``dx = 1``), and integrals are Riemann sums. References:
``torch.distributions.Normal`` for the densities; the integrals written out with
``torch.special.xlogy`` (:math:`0 \\log 0 = 0`); closed forms (the logistic form of
:math:`D^*` for two Gaussians of equal variance, the KL divergence of two Gaussians); and
values computed by hand (:math:`-\\log 4`, :math:`\\log 2`, :math:`\\tfrac34\\log\\tfrac43`).
"""

from __future__ import annotations

import math
from functools import partial

import torch
from torch.special import xlogy

from . import Case, Check, f64

LOG_2, LOG_4 = math.log(2), math.log(4)

# The checks' own grid: -12 to 14 in steps of 0.01, wide enough for every density used here.
X = torch.arange(-1_200, 1_401, dtype=f64) / 100
DX = 0.01

PLAIN_SUM = "That is the plain sum over the grid points: an integral on a grid is the sum times dx."


def _normal(mu: float, sigma: float) -> torch.Tensor:
    """The density of N(mu, sigma^2) on the checks' grid, from torch.distributions."""
    return torch.distributions.Normal(mu, sigma).log_prob(X).exp()


def _kl(p, q, dx):
    """KL(p || q) on a grid: the sum of p log p - p log q times dx, with 0 log 0 = 0."""
    return (xlogy(p, p) - xlogy(p, q)).sum() * dx


def _jsd(p, q, dx, mixture=0.5):
    """The mean of KL(p || m) and KL(q || m), m = mixture * (p + q)."""
    m = mixture * (p + q)
    return (_kl(p, m, dx) + _kl(q, m, dx)) / 2


def _value(d, p_data, p_g, dx):
    """V(D, G) on a grid: the sum of p_data log D + p_g log(1 - D), times dx."""
    return (xlogy(p_data, d) + xlogy(p_g, 1 - d)).sum() * dx


def _kl_gaussians(mu1: float, s1: float, mu2: float, s2: float) -> float:
    """KL(N(mu1, s1^2) || N(mu2, s2^2)) in closed form."""
    return math.log(s2 / s1) + (s1**2 + (mu1 - mu2) ** 2) / (2 * s2**2) - 0.5


ROOT_2PI = math.sqrt(2 * math.pi)
gaussian_pdf = Check(
    "gaussian_pdf", doc="``fn(x, mu, sigma)``: the density :math:`e^{-(x-\\mu)^2/2\\sigma^2} / (\\sigma\\sqrt{2\\pi})` of :math:`\\mathcal N(\\mu, \\sigma^2)`.",
    reference=lambda x, mu, sigma: torch.distributions.Normal(mu, sigma).log_prob(x).exp(), cases=[
    *(Case(f"gaussian_pdf(x, {mu}, {sigma}) on a grid", (X, mu, sigma), what=f"gaussian_pdf(x, {mu}, {sigma})")
      for mu, sigma in ((0.0, 1.0), (1.5, 0.5), (-1.0, 2.0))),
    Case("gaussian_pdf(0, 0, 1)", (torch.zeros(1, dtype=f64), 0.0, 1.0), 1 / ROOT_2PI, scalar=True),
], mistakes={
    "The normalising factor 1/(sigma sqrt(2 pi)) is missing: without it the density does not integrate to 1.":
        lambda x, mu, sigma: torch.exp(-0.5 * ((x - mu) / sigma) ** 2),
    "The factor 1/sigma is missing from the normalising constant 1/(sigma sqrt(2 pi)).":
        lambda x, mu, sigma: torch.exp(-0.5 * ((x - mu) / sigma) ** 2) / ROOT_2PI,
    "That treats sigma as the variance: sigma is the standard deviation, the exponent is -(x - mu)^2 / (2 sigma^2).":
        lambda x, mu, sigma: torch.exp(-0.5 * (x - mu) ** 2 / sigma) / math.sqrt(2 * math.pi * sigma),
    "That uses sigma^2 where sigma belongs: the exponent is -(x - mu)^2 / (2 sigma^2), the constant 1/(sigma sqrt(2 pi)).":
        lambda x, mu, sigma: torch.exp(-0.5 * ((x - mu) / sigma**2) ** 2) / (sigma**2 * ROOT_2PI),
    "The 1/2 in the exponent is missing: it is -(x - mu)^2 / (2 sigma^2).":
        lambda x, mu, sigma: torch.exp(-(((x - mu) / sigma) ** 2)) / (sigma * ROOT_2PI),
    "The mean enters as x - mu, not x + mu.": lambda x, mu, sigma: torch.distributions.Normal(-mu, sigma).log_prob(x).exp(),
}, dtype=f64, report=lambda r: f"matches torch.distributions.Normal; peak of N(0, 1) = {r[3]:.6f}, integral = {r[1].sum() * DX:.6f}")  # fmt: skip

_MU = 1.5  # two Gaussians of equal variance: log p_data - log p_g = mu^2 / 2 - mu x, a logistic regression
optimal_discriminator = Check(
    "optimal_discriminator", doc="``fn(p_data, p_g)``: :math:`D^*(x) = p_{data}(x) / (p_{data}(x) + p_g(x))`, and 1/2 where both vanish.",
    reference=lambda p, q: torch.where(p + q > 0, p / (p + q), 0.5), cases=[
    Case("optimal_discriminator(N(0, 1), N(1.5, 1)) on a grid", (_normal(0.0, 1.0), _normal(_MU, 1.0)), torch.sigmoid(_MU**2 / 2 - _MU * X)),
    Case("optimal_discriminator(p, p)", (_normal(0.0, 1.0), _normal(0.0, 1.0)), torch.full_like(X, 0.5)),
    Case("optimal_discriminator([0.5, 0.3, 0.2, 0, 0], [0.1, 0.3, 0, 0.6, 0])",
         (torch.tensor([0.5, 0.3, 0.2, 0.0, 0.0], dtype=f64), torch.tensor([0.1, 0.3, 0.0, 0.6, 0.0], dtype=f64)),
         torch.tensor([5 / 6, 0.5, 1.0, 0.0, 0.5], dtype=f64),
         finite="Where both densities vanish, p_data / (p_data + p_g) is 0 / 0; "
                "V does not depend on D there, and D* is set to 1/2 (use torch.where)."),
], mistakes={
    "That is p_g / (p_data + p_g) = 1 - D*: the real data's density goes on top, D* is the probability that x is real.":
        lambda p, q: torch.where(p + q > 0, q / (p + q), 0.5),
    "That is the density ratio p_data / p_g; divide by the sum p_data + p_g instead.": lambda p, q: p / q,
    "Where both densities vanish, D* is set to 1/2 (the coin flip), not 0.": lambda p, q: torch.nan_to_num(p / (p + q)),
    "Where both densities vanish, D* is set to 1/2 (the coin flip), not 1.": lambda p, q: torch.nan_to_num(p / (p + q), nan=1.0),
}, dtype=f64, report="D* = sigmoid(mu^2/2 - mu x) for N(0, 1) vs N(1.5, 1), 1/2 at x = 0.75 and where both vanish")  # fmt: skip

_D = torch.sigmoid(0.4 - 1.1 * X)  # some discriminator, not the optimal one
value_function = Check(
    "value_function", doc="``fn(d, p_data, p_g, dx)``: :math:`V(D, G) = \\int p_{data}\\log D\\,dx + \\int p_g \\log(1 - D)\\,dx`, with :math:`0 \\log 0 = 0`.",
    reference=_value, cases=[
    Case("value_function(sigmoid(0.4 - 1.1 x), N(0, 1), N(1.5, 0.7^2), dx=0.01)", (_D, _normal(0.0, 1.0), _normal(1.5, 0.7), DX), scalar=True),
    Case("value_function(1/2, N(0, 1), N(1.5, 0.7^2), dx=0.01)", (torch.full_like(X, 0.5), _normal(0.0, 1.0), _normal(1.5, 0.7), DX),
         -LOG_4, scalar=True, what="value_function(1/2, ...)"),
    Case("value_function([1, 0.5, 0], [0.5, 0.5, 0], [0, 0.5, 0.5], dx=1)",
         (*[torch.tensor(v, dtype=f64) for v in ([1.0, 0.5, 0.0], [0.5, 0.5, 0.0], [0.0, 0.5, 0.5])], 1.0), -LOG_2, scalar=True,
         finite="Where a density is 0 and D is 0 or 1, the term is 0 log 0, which counts as 0; torch.log gives "
                "0 * (-inf) = nan there. Use torch.special.xlogy(p, D), which is p log D with 0 log 0 = 0."),
    Case("value_function([0.9, 0.5, 0.2], [0.5, 0.3, 0.2], [0.2, 0.3, 0.5], dx=1)",
         (*[torch.tensor(v, dtype=f64) for v in ([0.9, 0.5, 0.2], [0.5, 0.3, 0.2], [0.2, 0.3, 0.5])], 1.0), scalar=True),
], mistakes={
    "The generator's term is p_g log(1 - D): D is the probability of *real*, so a fake should push D down.":
        lambda d, p_data, p_g, dx: (xlogy(p_data, d) + xlogy(p_g, d)).sum() * dx,
    PLAIN_SUM: lambda d, p_data, p_g, dx: _value(d, p_data, p_g, 1.0),
    "That is the mean over the grid points: an integral on a grid is the sum times dx.": lambda d, p_data, p_g, dx: _value(d, p_data, p_g, 1 / len(d)),
    "That is -V, the discriminator's loss; this task is the value V itself.": lambda d, p_data, p_g, dx: -_value(d, p_data, p_g, dx),
    "p_data and p_g are swapped: p_data goes with log D, p_g with log(1 - D).": lambda d, p_data, p_g, dx: _value(d, p_g, p_data, dx),
    "That is only the real data's term; add the generator's term, the integral of p_g log(1 - D).": lambda d, p_data, p_g, dx: xlogy(p_data, d).sum() * dx,
    "That is only the generator's term; add the real data's term, the integral of p_data log D.": lambda d, p_data, p_g, dx: xlogy(p_g, 1 - d).sum() * dx,
    "That is log base 2; use the natural log (torch.special.xlogy or torch.log).": lambda d, p_data, p_g, dx: _value(d, p_data, p_g, dx) / LOG_2,
    "That is the trapezoid rule, which halves the first and the last term; an integral on a grid is here the plain sum times dx.":
        lambda d, p_data, p_g, dx: torch.trapezoid(xlogy(p_data, d) + xlogy(p_g, 1 - d), dx=dx),
}, dtype=f64, report=lambda r: f"V(D, G) = {r[0]:.6f} for a logistic D; the constant D = 1/2 gives -log 4 = {r[1]:.6f}")  # fmt: skip

_P, _Q = torch.tensor([0.5, 0.5, 0.0, 0.0], dtype=f64), torch.tensor([0.25, 0.25, 0.5, 0.0], dtype=f64)
kl_divergence = Check(
    "kl_divergence", doc="``fn(p, q, dx)``: :math:`\\mathrm{KL}(p\\,\\|\\,q) = \\int p \\log(p / q)\\,dx` in nats, with :math:`0 \\log 0 = 0`.",
    reference=_kl, cases=[
    *(Case(f"kl_divergence(N({mu1}, {s1}^2), N({mu2}, {s2}^2), dx=0.01)", (_normal(mu1, s1), _normal(mu2, s2), DX),
           _kl_gaussians(mu1, s1, mu2, s2), scalar=True)
      for mu1, s1, mu2, s2 in ((0.0, 1.0, 1.0, 2.0), (1.0, 2.0, 0.0, 1.0), (0.5, 0.7, -1.0, 1.3))),
    Case("kl_divergence([0.5, 0.5, 0, 0], [0.25, 0.25, 0.5, 0], dx=1)", (_P, _Q, 1.0), LOG_2, scalar=True,
         finite="Where p = 0 the term 0 log(0 / q) counts as 0, but torch.log gives 0 * (-inf) or 0 / 0 = nan. "
                "Write p log p - p log q with torch.special.xlogy, which has 0 log 0 = 0."),
    Case("kl_divergence(p, p)", (_P, _P, 1.0), 0.0, scalar=True),
], mistakes={
    "That is KL(q || p): the arguments are swapped. KL is not symmetric; it averages log(p / q) over p, the first argument.":
        lambda p, q, dx: _kl(q, p, dx),
    "The sign is flipped: KL is the integral of p log(p / q), which is never negative.": lambda p, q, dx: -_kl(p, q, dx),
    PLAIN_SUM: lambda p, q, dx: _kl(p, q, 1.0),
    "That is in bits (log base 2); use the natural log, divergences here are in nats.": lambda p, q, dx: _kl(p, q, dx) / LOG_2,
    "That is log base 10; use the natural log.": lambda p, q, dx: _kl(p, q, dx) / math.log(10),
}, dtype=f64, report=f"matches the closed form for Gaussians, e.g. KL(N(0,1) || N(0,4)) = {_kl_gaussians(0.0, 1.0, 0.0, 2.0):.6f} "
                     f"but the reverse is {_kl_gaussians(0.0, 2.0, 0.0, 1.0):.6f}")  # fmt: skip

_K = torch.arange(-100, 400)  # the grid x = k / 100 from -1 to 4: two uniform densities, 1 apart
js_divergence = Check(
    "js_divergence", doc="``fn(p, q, dx)``: :math:`\\mathrm{JSD}(p\\,\\|\\,q) = \\tfrac12\\mathrm{KL}(p\\,\\|\\,m) + \\tfrac12\\mathrm{KL}(q\\,\\|\\,m)`, :math:`m = \\tfrac12(p + q)`.",
    reference=_jsd, cases=[
    *(Case(f"js_divergence(N({mu1}, {s1}^2), N({mu2}, {s2}^2), dx=0.01)", (_normal(mu1, s1), _normal(mu2, s2), DX), scalar=True)
      for mu1, s1, mu2, s2 in ((0.0, 1.0, 1.5, 0.7), (0.0, 1.0, 1.0, 1.0))),  # at mu = 1: chapter 4's 0.111421
    Case("js_divergence(p, p, dx=0.01)", (_normal(0.0, 1.0), _normal(0.0, 1.0), DX), 0.0, scalar=True, what="js_divergence(p, p)"),
    Case("js_divergence(U[0, 1], U[2, 3], dx=0.01)", (((_K >= 0) & (_K < 100)).to(f64), ((_K >= 200) & (_K < 300)).to(f64), 0.01), LOG_2,
         scalar=True, finite="Where p = q = 0 the mixture m is 0 too; every term there is 0 log 0 = 0. "
                             "Does your kl_divergence use torch.special.xlogy(p, p) - torch.special.xlogy(p, q)?"),
    Case("js_divergence([0.5, 0.5], [0, 1], dx=1)", (torch.tensor([0.5, 0.5], dtype=f64), torch.tensor([0.0, 1.0], dtype=f64), 1.0),
         0.75 * math.log(4 / 3), scalar=True, what="js_divergence(Bern(1/2), Bern(0), dx=1)"),
], mistakes={
    "The mixture is m = (p + q) / 2, not p + q: with p + q each KL term is too small by log 2.": partial(_jsd, mixture=1.0),
    "The two KL terms are weighted 1/2 each; without the weights the result is twice the JSD.": lambda p, q, dx: 2 * _jsd(p, q, dx),
    "That is only the half of KL(p || m); the JSD averages KL(p || m) and KL(q || m).": lambda p, q, dx: _kl(p, (p + q) / 2, dx) / 2,
    "That is only KL(p || m); the JSD averages KL(p || m) and KL(q || m).": lambda p, q, dx: _kl(p, (p + q) / 2, dx),
    "That is only KL(q || m); the JSD averages KL(p || m) and KL(q || m).": lambda p, q, dx: _kl(q, (p + q) / 2, dx),
    "That is the symmetrised KL, (KL(p || q) + KL(q || p)) / 2; the JSD compares each with the mixture m = (p + q) / 2.":
        lambda p, q, dx: (_kl(p, q, dx) + _kl(q, p, dx)) / 2,
    "That is the sum of KL(p || q) and KL(q || p); the JSD compares each with the mixture m = (p + q) / 2.":
        lambda p, q, dx: _kl(p, q, dx) + _kl(q, p, dx),
    "That is in bits (log base 2); use the natural log, the JSD here is in nats.": lambda p, q, dx: _jsd(p, q, dx) / LOG_2,
    "That is the plain sum over the grid points: pass dx on to kl_divergence.": lambda p, q, dx: _jsd(p, q, 1.0),
}, dtype=f64, report=lambda r: f"JSD(N(0, 1) || N(1, 1)) = {r[1]:.6f} nats; disjoint supports give log 2 = {r[3]:.6f}")  # fmt: skip
