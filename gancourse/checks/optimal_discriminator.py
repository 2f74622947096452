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

import torch
from torch.special import xlogy

from . import Case, f64, passed, run

LOG_2, LOG_4 = math.log(2), math.log(4)

# The checks' own grid: -12 to 14 in steps of 0.01, wide enough for every density used here.
X = torch.arange(-1_200, 1_401, dtype=f64) / 100
DX = 0.01

PLAIN_SUM = "That is the plain sum over the grid points: an integral on a grid is the sum times dx."


def _normal(mu: float, sigma: float) -> torch.Tensor:
    """The density of N(mu, sigma^2) on the checks' grid, from torch.distributions."""
    return torch.distributions.Normal(mu, sigma).log_prob(X).exp()


def _kl_gaussians(mu1: float, s1: float, mu2: float, s2: float) -> float:
    """KL(N(mu1, s1^2) || N(mu2, s2^2)) in closed form."""
    return math.log(s2 / s1) + (s1**2 + (mu1 - mu2) ** 2) / (2 * s2**2) - 0.5


def gaussian_pdf(fn) -> None:
    """``fn(x, mu, sigma)``: the density :math:`e^{-(x-\\mu)^2/2\\sigma^2} / (\\sigma\\sqrt{2\\pi})` of :math:`\\mathcal N(\\mu, \\sigma^2)`."""
    root_2pi = math.sqrt(2 * math.pi)
    cases = []
    for mu, sigma in ((0.0, 1.0), (1.5, 0.5), (-1.0, 2.0)):
        kernel = torch.exp(-0.5 * ((X - mu) / sigma) ** 2)
        cases.append(Case(f"gaussian_pdf(x, {mu}, {sigma}) on a grid", (X, mu, sigma), _normal(mu, sigma), {
            "The normalising factor 1/(sigma sqrt(2 pi)) is missing: without it the density does not integrate to 1.": kernel,
            "The factor 1/sigma is missing from the normalising constant 1/(sigma sqrt(2 pi)).": kernel / root_2pi,
            "That treats sigma as the variance: sigma is the standard deviation, the exponent is -(x - mu)^2 / (2 sigma^2).":
                torch.exp(-0.5 * (X - mu) ** 2 / sigma) / math.sqrt(2 * math.pi * sigma),
            "That uses sigma^2 where sigma belongs: the exponent is -(x - mu)^2 / (2 sigma^2), the constant 1/(sigma sqrt(2 pi)).":
                torch.exp(-0.5 * ((X - mu) / sigma**2) ** 2) / (sigma**2 * root_2pi),
            "The 1/2 in the exponent is missing: it is -(x - mu)^2 / (2 sigma^2).": torch.exp(-(((X - mu) / sigma) ** 2)) / (sigma * root_2pi),
            "The mean enters as x - mu, not x + mu.": _normal(-mu, sigma),
        }, what=f"gaussian_pdf(x, {mu}, {sigma})"))  # fmt: skip
    zero = torch.zeros(1, dtype=f64)
    cases.append(Case("gaussian_pdf(0, 0, 1)", (zero, 0.0, 1.0), 1 / root_2pi, scalar=True))
    _, narrow, _, peak = run("gaussian_pdf", fn, cases, dtype=f64)
    passed("gaussian_pdf", f"matches torch.distributions.Normal; peak of N(0, 1) = {peak:.6f}, integral = {narrow.sum() * DX:.6f}")  # fmt: skip


def optimal_discriminator(fn) -> None:
    """``fn(p_data, p_g)``: :math:`D^*(x) = p_{data}(x) / (p_{data}(x) + p_g(x))`, and 1/2 where both vanish."""
    mu = 1.5
    p_data, p_g = _normal(0.0, 1.0), _normal(mu, 1.0)
    # Two Gaussians of equal variance: log p_data - log p_g = mu^2 / 2 - mu x, a logistic regression.
    logit = mu**2 / 2 - mu * X
    p = torch.tensor([0.5, 0.3, 0.2, 0.0, 0.0], dtype=f64)
    q = torch.tensor([0.1, 0.3, 0.0, 0.6, 0.0], dtype=f64)
    run("optimal_discriminator", fn, [
        Case("optimal_discriminator(N(0, 1), N(1.5, 1)) on a grid", (p_data, p_g), torch.sigmoid(logit), {
            "That is p_g / (p_data + p_g) = 1 - D*: the real data's density goes on top, D* is the probability that x is real.":
                torch.sigmoid(-logit),
            "That is the density ratio p_data / p_g; divide by the sum p_data + p_g instead.": torch.exp(logit),
        }),
        Case("optimal_discriminator(p, p)", (p_data, p_data), torch.full_like(X, 0.5)),
        Case("optimal_discriminator([0.5, 0.3, 0.2, 0, 0], [0.1, 0.3, 0, 0.6, 0])", (p, q), torch.tensor([5 / 6, 0.5, 1.0, 0.0, 0.5], dtype=f64), {
            "Where both densities vanish, D* is set to 1/2 (the coin flip), not 0.": torch.tensor([5 / 6, 0.5, 1.0, 0.0, 0.0], dtype=f64),
            "Where both densities vanish, D* is set to 1/2 (the coin flip), not 1.": torch.tensor([5 / 6, 0.5, 1.0, 0.0, 1.0], dtype=f64),
            "That is p_g / (p_data + p_g) = 1 - D*: the real data's density goes on top.": torch.tensor([1 / 6, 0.5, 0.0, 1.0, 0.5], dtype=f64),
        }, finite="Where both densities vanish, p_data / (p_data + p_g) is 0 / 0; "
                  "V does not depend on D there, and D* is set to 1/2 (use torch.where)."),
    ], dtype=f64)  # fmt: skip
    passed("optimal_discriminator", "D* = sigmoid(mu^2/2 - mu x) for N(0, 1) vs N(1.5, 1), 1/2 at x = 0.75 and where both vanish")  # fmt: skip


def value_function(fn) -> None:
    """``fn(d, p_data, p_g, dx)``: :math:`V(D, G) = \\int p_{data}\\log D\\,dx + \\int p_g \\log(1 - D)\\,dx`, with :math:`0 \\log 0 = 0`."""
    p_data, p_g = _normal(0.0, 1.0), _normal(1.5, 0.7)
    d = torch.sigmoid(0.4 - 1.1 * X)  # some discriminator, not the optimal one
    term_data, term_g = xlogy(p_data, d).sum() * DX, xlogy(p_g, 1 - d).sum() * DX
    want = term_data + term_g
    tiny = [torch.tensor(v, dtype=f64) for v in ([1.0, 0.5, 0.0], [0.5, 0.5, 0.0], [0.0, 0.5, 0.5])]
    _, half, _ = run("value_function", fn, [
        Case("value_function(sigmoid(0.4 - 1.1 x), N(0, 1), N(1.5, 0.7^2), dx=0.01)", (d, p_data, p_g, DX), want, {
            "The generator's term is p_g log(1 - D): D is the probability of *real*, so a fake should push D down.":
                term_data + xlogy(p_g, d).sum() * DX,
            PLAIN_SUM: want / DX,
            "That is the mean over the grid points: an integral on a grid is the sum times dx.": want / DX / X.numel(),
            "That is -V, the discriminator's loss; this task is the value V itself.": -want,
            "p_data and p_g are swapped: p_data goes with log D, p_g with log(1 - D).": (xlogy(p_g, d) + xlogy(p_data, 1 - d)).sum() * DX,
            "That is only the real data's term; add the generator's term, the integral of p_g log(1 - D).": term_data,
            "That is only the generator's term; add the real data's term, the integral of p_data log D.": term_g,
            "That is log base 2; use the natural log (torch.special.xlogy or torch.log).": want / LOG_2,
        }, scalar=True),
        Case("value_function(1/2, N(0, 1), N(1.5, 0.7^2), dx=0.01)", (torch.full_like(X, 0.5), p_data, p_g, DX), -LOG_4,
             scalar=True, what="value_function(1/2, ...)"),
        Case("value_function([1, 0.5, 0], [0.5, 0.5, 0], [0, 0.5, 0.5], dx=1)", (*tiny, 1.0), -LOG_2, scalar=True,
             finite="Where a density is 0 and D is 0 or 1, the term is 0 log 0, which counts as 0; torch.log gives "
                    "0 * (-inf) = nan there. Use torch.special.xlogy(p, D), which is p log D with 0 log 0 = 0."),
    ], dtype=f64)  # fmt: skip
    passed("value_function", f"V(D, G) = {want:.6f} for a logistic D; the constant D = 1/2 gives -log 4 = {half:.6f}")  # fmt: skip


def kl_divergence(fn) -> None:
    """``fn(p, q, dx)``: :math:`\\mathrm{KL}(p\\,\\|\\,q) = \\int p \\log(p / q)\\,dx` in nats, with :math:`0 \\log 0 = 0`."""
    cases = []
    for mu1, s1, mu2, s2 in ((0.0, 1.0, 1.0, 2.0), (1.0, 2.0, 0.0, 1.0), (0.5, 0.7, -1.0, 1.3)):
        want = _kl_gaussians(mu1, s1, mu2, s2)
        cases.append(Case(f"kl_divergence(N({mu1}, {s1}^2), N({mu2}, {s2}^2), dx=0.01)", (_normal(mu1, s1), _normal(mu2, s2), DX), want, {
            "That is KL(q || p): the arguments are swapped. KL is not symmetric; it averages log(p / q) over p, the first argument.":
                _kl_gaussians(mu2, s2, mu1, s1),
            "The sign is flipped: KL is the integral of p log(p / q), which is never negative.": -want,
            PLAIN_SUM: want / DX,
            "That is in bits (log base 2); use the natural log, divergences here are in nats.": want / LOG_2,
            "That is log base 10; use the natural log.": want / math.log(10),
        }, scalar=True))  # fmt: skip
    p = torch.tensor([0.5, 0.5, 0.0, 0.0], dtype=f64)
    q = torch.tensor([0.25, 0.25, 0.5, 0.0], dtype=f64)
    run("kl_divergence", fn, cases + [
        Case("kl_divergence([0.5, 0.5, 0, 0], [0.25, 0.25, 0.5, 0], dx=1)", (p, q, 1.0), LOG_2, scalar=True,
             finite="Where p = 0 the term 0 log(0 / q) counts as 0, but torch.log gives 0 * (-inf) or 0 / 0 = nan. "
                    "Write p log p - p log q with torch.special.xlogy, which has 0 log 0 = 0."),
        Case("kl_divergence(p, p)", (p, p, 1.0), 0.0, scalar=True),
    ], dtype=f64)  # fmt: skip
    forward, backward = _kl_gaussians(0.0, 1.0, 0.0, 2.0), _kl_gaussians(0.0, 2.0, 0.0, 1.0)
    passed("kl_divergence", f"matches the closed form for Gaussians, e.g. KL(N(0,1) || N(0,4)) = {forward:.6f} but the reverse is {backward:.6f}")  # fmt: skip


def js_divergence(fn) -> None:
    """``fn(p, q, dx)``: :math:`\\mathrm{JSD}(p\\,\\|\\,q) = \\tfrac12\\mathrm{KL}(p\\,\\|\\,m) + \\tfrac12\\mathrm{KL}(q\\,\\|\\,m)`, :math:`m = \\tfrac12(p + q)`."""
    cases = []
    for (mu1, s1), (mu2, s2) in (((0.0, 1.0), (1.0, 1.0)), ((0.0, 1.0), (1.5, 0.7))):
        p, q = _normal(mu1, s1), _normal(mu2, s2)
        m = (p + q) / 2
        kl_p, kl_q = [(xlogy(r, r) - xlogy(r, m)).sum() * DX for r in (p, q)]  # KL(. || m)
        want = (kl_p + kl_q) / 2  # at mu = 1: chapter 4's 0.111421
        symmetrised = _kl_gaussians(mu1, s1, mu2, s2) + _kl_gaussians(mu2, s2, mu1, s1)
        cases.append(Case(f"js_divergence(N({mu1}, {s1}^2), N({mu2}, {s2}^2), dx=0.01)", (p, q, DX), want, {
            "The mixture is m = (p + q) / 2, not p + q: with p + q each KL term is too small by log 2.": want - LOG_2,
            "The two KL terms are weighted 1/2 each; without the weights the result is twice the JSD.": 2 * want,
            "That is only the half of KL(p || m); the JSD averages KL(p || m) and KL(q || m).": kl_p / 2,
            "That is only KL(p || m); the JSD averages KL(p || m) and KL(q || m).": kl_p,
            "That is only KL(q || m); the JSD averages KL(p || m) and KL(q || m).": kl_q,
            "That is the symmetrised KL, (KL(p || q) + KL(q || p)) / 2; the JSD compares each with the mixture m = (p + q) / 2.":
                symmetrised / 2,
            "That is the sum of KL(p || q) and KL(q || p); the JSD compares each with the mixture m = (p + q) / 2.": symmetrised,
            "That is in bits (log base 2); use the natural log, the JSD here is in nats.": want / LOG_2,
            "That is the plain sum over the grid points: pass dx on to kl_divergence.": want / DX,
        }, scalar=True))  # fmt: skip
    k = torch.arange(-100, 400)  # the grid x = k / 100 from -1 to 4: two uniform densities, 1 apart
    left, right = ((k >= 0) & (k < 100)).to(f64), ((k >= 200) & (k < 300)).to(f64)
    fair, tails = torch.tensor([0.5, 0.5], dtype=f64), torch.tensor([0.0, 1.0], dtype=f64)
    at_one, _, _, disjoint, _ = run("js_divergence", fn, cases + [
        Case("js_divergence(p, p, dx=0.01)", (_normal(0.0, 1.0), _normal(0.0, 1.0), DX), 0.0, scalar=True, what="js_divergence(p, p)"),
        Case("js_divergence(U[0, 1], U[2, 3], dx=0.01)", (left, right, 0.01), LOG_2, {
            "The mixture is m = (p + q) / 2, not p + q.": 0.0,
            "That is twice the JSD: weight the two KL terms 1/2 each.": 2 * LOG_2,
            "That is in bits; use the natural log: the JSD of disjoint supports is log 2 = 0.693147 nats.": 1.0,
        }, scalar=True, finite="Where p = q = 0 the mixture m is 0 too; every term there is 0 log 0 = 0. "
                               "Does your kl_divergence use torch.special.xlogy(p, p) - torch.special.xlogy(p, q)?"),
        Case("js_divergence([0.5, 0.5], [0, 1], dx=1)", (fair, tails, 1.0), 0.75 * math.log(4 / 3), scalar=True,
             what="js_divergence(Bern(1/2), Bern(0), dx=1)"),
    ], dtype=f64)  # fmt: skip
    passed("js_divergence", f"JSD(N(0, 1) || N(1, 1)) = {at_one:.6f} nats; disjoint supports give log 2 = {disjoint:.6f}")  # fmt: skip
