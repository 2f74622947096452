"""The theory of the original GAN, on densities you can write down.

Everything here works on densities sampled on a uniform grid (spacing ``dx``) or on
probability vectors (``dx = 1``), as float64 tensors. Integrals are Riemann sums, which for
smooth, fast-decaying densities such as Gaussians are accurate to many digits.

Natural logarithms throughout: divergences are in nats, and the GAN value at equilibrium
is ``-log 4``.

What cannot be computed is refused with a one-line ``ValueError`` that names the argument,
never answered with a wrong number: NaN or inf anywhere, densities that are negative,
probabilities outside [0, 1], a spacing ``dx`` or standard deviation that is not positive,
two densities of different shapes (no broadcasting), and, for the divergences, a density
whose integral ``sum(p) * dx`` is not 1 within :data:`MASS_TOLERANCE`.
"""

from __future__ import annotations

import math

import torch

Array = torch.Tensor

LOG_4 = math.log(4.0)
MASS_TOLERANCE = 0.01
"""How far ``sum(p) * dx`` of a density given to a divergence may be from 1: a Riemann sum
on a grid that covers the density is far closer; a forgotten ``dx`` or unnormalised
counts are far off."""


def _as_tensor(x) -> Array:
    return torch.as_tensor(x, dtype=torch.float64)


def _checked(x, name: str, expected: str = "finite", ok=None) -> Array:
    """``x`` as a float64 tensor, after checking that every value is finite (and ``ok``).

    Otherwise a one-line ``ValueError``: ``{name} must be {expected}``, and the first value
    that is not. ``ok`` maps the values to a boolean tensor.
    """
    x = _as_tensor(x)
    values = x.detach()
    good = torch.isfinite(values) if ok is None else torch.isfinite(values) & ok(values)
    if not good.all():
        value = values[~good].flatten()[0].item()  # the first value that is not good
        what = ("NaN values" if math.isnan(value) else "an infinite value" if math.isinf(value)
                else f"a negative value, {value:.3g}" if value < 0 else f"a value of {value:.3g}")  # fmt: skip
        raise ValueError(f"{name} must be {expected}; " + (f"got {value!r}." if values.dim() == 0 else f"it has {what}."))
    return x


_DENSITY = "a density, finite and >= 0 everywhere"
_STD = "positive and finite (a standard deviation)"
_PROBABILITIES = "probabilities in [0, 1]"


def _positive(values: Array) -> Array:
    return values > 0


def _non_negative(values: Array) -> Array:
    return values >= 0


def _in_unit_interval(values: Array) -> Array:
    return (values >= 0) & (values <= 1)


def _spacing(dx) -> None:
    _checked(dx, "dx", "positive and finite (the grid's spacing)", _positive)


def _densities(p, q, names: tuple[str, str] = ("p", "q"), dx: float | None = None) -> tuple[Array, Array]:
    """``p`` and ``q`` as float64 tensors, after checking that they are densities on one grid.

    With ``dx``, each must also integrate to 1 (within :data:`MASS_TOLERANCE`).
    """
    p, q = _as_tensor(p), _as_tensor(q)
    if p.shape != q.shape:
        raise ValueError(
            f"{names[0]} and {names[1]} must have the same shape (values on one grid), "
            f"got {tuple(p.shape)} and {tuple(q.shape)}."
        )
    if dx is not None:
        _spacing(dx)
    for name, density in zip(names, (p, q), strict=True):
        _checked(density, name, _DENSITY, _non_negative)
        if dx is not None:
            mass = density.detach().sum().item() * dx
            if not abs(mass - 1) <= MASS_TOLERANCE:
                raise ValueError(
                    f"{name} must integrate to 1, but sum({name}) * dx = {mass:.6g}; normalise it "
                    "(divide by its sum times dx), and pass the grid's spacing as dx."
                )
    return p, q


def _xlogy(x: Array, y: Array) -> Array:
    """``x * log(y)`` with the convention ``0 * log(anything) = 0``."""
    return torch.special.xlogy(x, y)


def bce(y_hat, y, reduction: str = "mean") -> Array:
    """Binary cross-entropy, the loss (note the minus sign) of a prediction ``y_hat`` for label ``y``.

    .. math:: \\ell(\\hat y, y) = -\\left[y\\log\\hat y + (1-y)\\log(1-\\hat y)\\right]

    Without the minus sign this is the log-likelihood of the label, which a classifier
    *maximises*; with it, a loss to *minimise*. ``-log(0.5) = 0.693`` (natural log).

    Args:
        y_hat: predicted probabilities in [0, 1], any shape.
        y: labels in {0, 1} (or soft labels in [0, 1]), broadcastable to ``y_hat``.
        reduction: ``"mean"``, ``"sum"`` or ``"none"``.

    Raises:
        ValueError: ``y_hat`` or ``y`` is NaN or outside [0, 1] somewhere (a logit, not a
            probability?), or ``reduction`` is none of the three.

    Introduced in chapter 1.
    """
    y_hat = _checked(y_hat, "y_hat", _PROBABILITIES + " (a logit? pass torch.sigmoid of it)", _in_unit_interval)
    y = _checked(y, "y", "labels in [0, 1]", _in_unit_interval)
    loss = -(_xlogy(y, y_hat) + _xlogy(1 - y, 1 - y_hat))
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    if reduction == "none":
        return loss
    raise ValueError(f"reduction must be 'mean', 'sum' or 'none', not {reduction!r}")


def gaussian_pdf(x, mu: float = 0.0, sigma: float = 1.0) -> Array:
    """Density of :math:`\\mathcal N(\\mu, \\sigma^2)`: :math:`e^{-(x-\\mu)^2/2\\sigma^2}/(\\sigma\\sqrt{2\\pi})`.

    Raises:
        ValueError: ``x`` or ``mu`` is not finite, or ``sigma`` is not positive and finite.

    Introduced in chapter 0.
    """
    x = _checked(x, "x")
    _checked(mu, "mu")
    _checked(sigma, "sigma", _STD, _positive)
    return torch.exp(-0.5 * ((x - mu) / sigma) ** 2) / (sigma * math.sqrt(2 * math.pi))


def optimal_discriminator(p_data, p_g) -> Array:
    """The discriminator that maximises V(D, G) for a fixed generator.

    .. math:: D^*(x) = \\frac{p_{data}(x)}{p_{data}(x) + p_g(x)}

    Where both densities vanish, D* is not determined by V; it is set to 1/2 there.

    Raises:
        ValueError: a density is negative, NaN or inf somewhere, or the two have different shapes.

    Introduced in chapter 0.
    """
    p_data, p_g = _densities(p_data, p_g, ("p_data", "p_g"))
    total = p_data + p_g
    return torch.where(total > 0, p_data / torch.where(total > 0, total, 1.0), 0.5)


def kl_divergence(p, q, dx: float = 1.0) -> Array:
    """Kullback-Leibler divergence in nats.

    .. math:: \\mathrm{KL}(p\\,\\|\\,q) = \\int p(x) \\log\\frac{p(x)}{q(x)}\\,dx

    with ``0 log 0 = 0``; it is ``inf`` where ``q = 0 < p``.

    Args:
        p, q: densities on the same grid of spacing ``dx``, or probability vectors (``dx = 1``).

    Raises:
        ValueError: ``p`` or ``q`` is negative, NaN or inf somewhere, the shapes differ, ``dx``
            is not positive, or one does not integrate to 1 (``|sum * dx - 1| > MASS_TOLERANCE``):
            it is not normalised.

    Introduced in chapter 0.
    """
    p, q = _densities(p, q, dx=dx)
    return (_xlogy(p, p) - _xlogy(p, q)).sum() * dx


def kl_gaussians(mu1: float, sigma1: float, mu2: float, sigma2: float) -> float:
    r"""KL between two 1-D Gaussians in closed form, in nats.

    .. math:: \mathrm{KL}\bigl(\mathcal N(\mu_1, \sigma_1^2)\,\|\,\mathcal N(\mu_2, \sigma_2^2)\bigr)
              = \log\frac{\sigma_2}{\sigma_1} + \frac{\sigma_1^2 + (\mu_1 - \mu_2)^2}{2\sigma_2^2} - \frac12

    Raises:
        ValueError: a mean is not finite, or a standard deviation not positive and finite.

    Introduced in chapter 4.
    """
    _checked(mu1, "mu1")
    _checked(sigma1, "sigma1", _STD, _positive)
    _checked(mu2, "mu2")
    _checked(sigma2, "sigma2", _STD, _positive)
    return math.log(sigma2 / sigma1) + (sigma1**2 + (mu1 - mu2) ** 2) / (2 * sigma2**2) - 0.5


def js_divergence(p, q, dx: float = 1.0) -> Array:
    """Jensen-Shannon divergence in nats; always between 0 and ``log 2``.

    .. math:: \\mathrm{JSD}(p\\,\\|\\,q) = \\tfrac12\\mathrm{KL}(p\\,\\|\\,m) + \\tfrac12\\mathrm{KL}(q\\,\\|\\,m),
              \\quad m = \\tfrac12(p+q)

    Raises:
        ValueError: as :func:`kl_divergence`; unnormalised inputs would break the bound.

    Introduced in chapter 3.
    """
    p, q = _densities(p, q, dx=dx)
    m = 0.5 * (p + q)
    return 0.5 * kl_divergence(p, m, dx) + 0.5 * kl_divergence(q, m, dx)


def tv_distance(p, q, dx: float = 1.0) -> Array:
    """Total variation distance; always between 0 and 1.

    .. math:: \\delta(p, q) = \\sup_A |P(A) - Q(A)| = \\tfrac12 \\int |p(x) - q(x)|\\,dx

    The largest difference between the probabilities the two give one event (the event
    :math:`\\{p > q\\}` attains it). Like the JSD it only measures overlap: two distributions on
    disjoint sets are at distance 1, however near or far the sets are.

    Raises:
        ValueError: as :func:`kl_divergence`.

    Introduced in chapter 7.
    """
    p, q = _densities(p, q, dx=dx)
    return 0.5 * (p - q).abs().sum() * dx


PACKED_OUTCOMES_MAX = 10**7
"""The most outcomes ``len(p) ** m`` that :func:`packed_tv_distance` enumerates."""


def packed_tv_distance(p, q, m: int) -> Array:
    """Total variation distance between packs of ``m`` independent samples, for discrete ``p``, ``q``.

    .. math:: \\delta(P^m, Q^m) = \\tfrac12 \\sum_{x_1, \\dots, x_m}
              \\Bigl|\\prod_{i=1}^m p(x_i) - \\prod_{i=1}^m q(x_i)\\Bigr|

    What a discriminator that judges packs of ``m`` samples (PacGAN, Lin et al., 2018) can at
    best tell apart, measured as their analysis measures it. ``m = 1`` is :func:`tv_distance`.
    If ``q`` is ``p`` with the mass of a set :math:`S` removed and the rest rescaled, a
    generator that drops the modes in :math:`S`, then
    :math:`\\delta(P^m, Q^m) = 1 - (1 - P(S))^m`: every pack that touches :math:`S` gives it away.

    Args:
        p, q: probabilities of the same outcomes, each summing to 1.
        m: samples per pack, 1 or more.

    Raises:
        ValueError: for distributions that are negative, NaN or inf somewhere, on different
            outcomes, or not summing to 1, or an ``m`` that is not a positive integer or would
            enumerate more than :data:`PACKED_OUTCOMES_MAX` packs.

    Introduced in chapter 8.
    """
    p, q = _densities(p, q, dx=1.0)
    if p.dim() != 1:
        raise ValueError(f"p and q must be vectors of probabilities, got shape {tuple(p.shape)}.")
    if isinstance(m, bool) or not isinstance(m, int) or m < 1:
        raise ValueError(f"m must be a positive integer (samples per pack), got {m!r}.")
    if len(p) ** m > PACKED_OUTCOMES_MAX:
        raise ValueError(f"{len(p)} outcomes in packs of {m} are {len(p)}^{m} packs, more than "
                         f"{PACKED_OUTCOMES_MAX:.0e}; use fewer outcomes or a smaller m.")  # fmt: skip
    p_m, q_m = p, q
    for _ in range(m - 1):  # the joint probabilities of all packs, one factor at a time
        p_m, q_m = torch.outer(p_m, p).flatten(), torch.outer(q_m, q).flatten()
    return 0.5 * (p_m - q_m).abs().sum()


def wasserstein_1d(p, q, dx: float = 1.0) -> Array:
    """Earth-Mover (Wasserstein-1) distance between two 1-D densities on the same grid.

    .. math:: W_1(p, q) = \\int \\bigl|F_p(x) - F_q(x)\\bigr|\\,dx, \\qquad F_p(x) = \\int_{-\\infty}^x p

    In one dimension the cheapest transport plan moves mass in order, so the cost is the
    area between the two distribution functions. Unlike the JSD it keeps growing with the
    distance between disjoint supports: two unit-width uniforms ``θ`` apart are ``|θ|`` apart.

    Raises:
        ValueError: ``p`` or ``q`` is negative, NaN or inf somewhere, the two are not 1-D
            arrays of one shape, or ``dx`` is not positive.

    Introduced in chapter 4.
    """
    p, q = _densities(p, q)
    if p.dim() != 1:
        raise ValueError(f"p and q must be 1-D (densities on a line), got shape {tuple(p.shape)}.")
    _spacing(dx)
    F_p, F_q = torch.cumsum(p, 0) * dx, torch.cumsum(q, 0) * dx
    return (F_p - F_q).abs().sum() * dx


def transport_plan_1d(p, q) -> Array:
    r"""The optimal transport plan between two probability vectors on the same sorted 1-D grid.

    The plan :math:`\gamma` (an n x n matrix, :math:`\gamma_{ij}` the mass moved from point
    i to point j) solves the linear program

    .. math:: \min_{\gamma \ge 0} \sum_{ij} \gamma_{ij} |x_i - x_j| \quad\text{s.t.}\quad
              \sum_j \gamma_{ij} = p_i, \quad \sum_i \gamma_{ij} = q_j .

    On the line the monotone plan is optimal for this cost: it fills the destinations from
    left to right with the sources taken from left to right (the "north-west corner" rule),
    so no two transports cross. :func:`kantorovich_potential_1d` gives the dual solution
    that certifies it.

    Raises:
        ValueError: as :func:`kl_divergence` (with ``dx = 1``: probability vectors).

    Introduced in chapter 7.
    """
    p, q = _densities(p, q, dx=1.0)
    if p.dim() != 1:
        raise ValueError(f"p and q must be probability vectors (1-D), got shape {tuple(p.shape)}.")
    if abs(p.sum() - q.sum()) > 1e-9:
        raise ValueError(f"p and q must carry the same mass to be transported, got {p.sum():.6g} and {q.sum():.6g}.")
    n = p.numel()
    plan = torch.zeros(n, n, dtype=p.dtype)
    left_p, left_q = p.clone(), q.clone()
    i = j = 0
    while i < n and j < n:  # move min(what is left at i, what is missing at j) from i to j
        if left_p[i] <= left_q[j]:
            plan[i, j] += left_p[i]
            left_q[j] -= left_p[i]
            i += 1
        else:
            plan[i, j] += left_q[j]
            left_p[i] -= left_q[j]
            j += 1
    return plan


def kantorovich_potential_1d(p, q, x) -> Array:
    r"""An optimal dual solution (a 1-Lipschitz critic) for :func:`transport_plan_1d`.

    The dual of that linear program maximises :math:`\sum_i f_i (p_i - q_i)` over
    :math:`f` with :math:`f_i - f_j \le |x_i - x_j|` (for this cost the two potentials of
    the general dual coincide). On the sorted grid ``x`` the maximiser steps by
    :math:`-\operatorname{sign}(F_p - F_q)` times the spacing, from :math:`f_0 = 0`:

    .. math:: f_{k+1} = f_k - \operatorname{sign}\bigl(F_p(x_k) - F_q(x_k)\bigr)\,(x_{k+1} - x_k),

    and summing by parts gives :math:`\sum_k f_k (p_k - q_k) = \sum_k |F_p(x_k) - F_q(x_k)|
    (x_{k+1} - x_k)`, the Earth-Mover distance. A feasible plan and a feasible potential of
    equal value are both optimal (weak duality).

    Raises:
        ValueError: as :func:`optimal_discriminator` for ``p`` and ``q``, or ``x`` is not their
            finite, increasing grid.

    Introduced in chapter 7.
    """
    p, q = _densities(p, q)
    x = _checked(x, "x")
    if x.shape != p.shape or x.dim() != 1 or not bool((x[1:] > x[:-1]).all()):
        raise ValueError("x must be the increasing grid of p and q (same length).")
    steps = -torch.sign(torch.cumsum(p - q, 0)[:-1]) * (x[1:] - x[:-1])
    return torch.cat([torch.zeros(1, dtype=steps.dtype), torch.cumsum(steps, 0)])


def value_function(p_data, p_g, D=None, dx: float = 1.0) -> Array:
    """The GAN value V(D, G) with the generator given by its density ``p_g``.

    .. math:: V(D, G) = \\int p_{data}(x)\\log D(x)\\,dx + \\int p_g(x)\\log\\bigl(1 - D(x)\\bigr)\\,dx

    Args:
        p_data, p_g: densities on the same grid (or probability vectors with ``dx=1``).
        D: discriminator values on the grid, in [0, 1]; ``None`` uses the optimal
            discriminator, so the result is :math:`V(D^*, G) = -\\log 4 + 2\\,\\mathrm{JSD}`.

    Raises:
        ValueError: a density is negative, NaN or inf somewhere, the two have different shapes,
            ``D`` is not in [0, 1] everywhere or not of their shape, or ``dx`` is not positive.

    Introduced in chapter 1.
    """
    p_data, p_g = _densities(p_data, p_g, ("p_data", "p_g"))
    _spacing(dx)
    if D is None:
        # log D* = log p_data - log(p_data + p_g), log(1 - D*) = log p_g - log(p_data + p_g):
        # no rounding of D* to exactly 0 or 1 in the far tails.
        total = p_data + p_g
        terms = _xlogy(p_data, p_data) + _xlogy(p_g, p_g) - _xlogy(total, total)
        return terms.sum() * dx
    D = _checked(D, "D", _PROBABILITIES + ", D's outputs on the grid", _in_unit_interval)
    if D.shape != p_data.shape:
        raise ValueError(f"D must have the shape of p_data and p_g, {tuple(p_data.shape)}, got {tuple(D.shape)} (D's outputs on their grid).")
    return (_xlogy(p_data, D).sum() + _xlogy(p_g, 1 - D).sum()) * dx


def empirical_value(D_x, D_G_z) -> Array:
    """Monte-Carlo estimate of V(D, G) from discriminator outputs on samples.

    .. math:: \\hat V = \\frac1m\\sum_i \\log D(x_i) + \\frac1m\\sum_j \\log\\bigl(1 - D(G(z_j))\\bigr)

    Args:
        D_x: D's outputs (probabilities) on real samples, shape (m,).
        D_G_z: D's outputs on generated samples, shape (m',).

    Raises:
        ValueError: ``D_x`` or ``D_G_z`` is empty, or not in [0, 1] everywhere.

    Introduced in chapter 1.
    """
    D_x = _checked(D_x, "D_x", _PROBABILITIES + ", D's outputs on real samples", _in_unit_interval)
    D_G_z = _checked(D_G_z, "D_G_z", _PROBABILITIES + ", D's outputs on generated samples", _in_unit_interval)
    for name, D in (("D_x", D_x), ("D_G_z", D_G_z)):
        if D.numel() == 0:
            raise ValueError(f"{name} must hold at least one output of D, got shape {tuple(D.shape)}.")
    return torch.log(D_x).mean() + torch.log1p(-D_G_z).mean()
