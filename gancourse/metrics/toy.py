"""Measures on the 2-D toy data: mode coverage of a Gaussian mixture, and the Earth-Mover distance.

:func:`mode_coverage`: on a mixture of K isotropic Gaussians with known centres (the 8-mode
ring, the 25-mode grid), how many modes a generator's samples reach, how many samples are high
quality (within :math:`3\\sigma` of their nearest centre), and how evenly they spread over the
modes, as the reverse KL :math:`\\mathrm{KL}(\\hat p\\,\\|\\,U_K)` of their mode histogram
(the VEEGAN and PacGAN metrics). :func:`sinkhorn_w1`: the Earth-Mover distance between two
point sets by Sinkhorn's algorithm, an independent check on a WGAN critic's estimate.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from .inputs import as_points, require_positive


@dataclass(frozen=True, eq=False)
class ModeCoverage:
    """The result of :func:`mode_coverage`."""

    modes: int  # modes covered: those with at least one high-quality sample
    n_modes: int  # K, the number of modes of the mixture
    high_quality: (
        float  # fraction in [0, 1] of the samples within threshold * std of their nearest mode
    )
    reverse_kl: float  # KL(mode histogram of the high-quality samples || uniform), nats
    counts: Tensor  # (K,) int64, high-quality samples per mode

    def __str__(self) -> str:
        return (
            f"{self.modes}/{self.n_modes} modes, {100 * self.high_quality:.1f}% high quality, "
            f"reverse KL {self.reverse_kl:.3f} nats"
        )


def mode_coverage(samples, centers, std: float, threshold: float = 3.0) -> ModeCoverage:
    """Mode coverage of generated samples on a mixture of isotropic Gaussians.

    The definitions of VEEGAN (Srivastava et al., 2017) and PacGAN (Lin et al., 2018):

    - each sample :math:`x` is assigned to its nearest centre
      :math:`k(x) = \\arg\\min_k \\|x - c_k\\|_2`;
    - it is **high quality** if :math:`\\|x - c_{k(x)}\\|_2 < \\tau\\sigma` (:math:`\\tau = 3`);
    - a mode is **covered** if at least one high-quality sample is assigned to it;
    - the **reverse KL** compares the histogram :math:`\\hat p_k = n_k / \\sum_j n_j` of the
      high-quality samples over the modes with the uniform distribution over the K modes:

      .. math:: \\mathrm{KL}(\\hat p\\,\\|\\,U_K) = \\sum_{k:\\,\\hat p_k > 0} \\hat p_k \\log(K \\hat p_k)
                = \\log K - H(\\hat p)

    Choices, following PacGAN's code (``MetricLogger`` in its synthetic-data experiments,
    and the KL of its stacked-MNIST experiments): only high-quality samples enter the
    histogram (in stacked MNIST a classifier labels every sample, so there all of them
    do); empty bins contribute :math:`0 \\log 0 = 0`, so the KL is finite: 0 for perfect
    balance, :math:`\\log K` when every high-quality sample sits on one mode. It is the
    *reverse* KL because the generator's histogram comes first; a dropped mode costs
    nothing by itself, only through the mass piled on the other modes. With no high-quality sample at all the histogram is
    undefined and ``reverse_kl`` is ``inf``. Non-finite samples count as low quality.

    For a perfect sampler in 2-D, :math:`\\|x - c\\|/\\sigma` is Rayleigh distributed, so
    the expected high-quality fraction is :math:`1 - e^{-\\tau^2/2} = 0.98889` for
    :math:`\\tau = 3`, and the reverse KL is :math:`\\approx (K-1)/(2N)` (sampling noise).
    PacGAN's benchmarks use 2,500 samples.

    Args:
        samples: generated points, shape (N, d), numpy or torch, any device.
        centers: mode centres, shape (K, d).
        std: the common standard deviation :math:`\\sigma` of the modes (> 0).
        threshold: :math:`\\tau`, the radius in units of ``std`` (> 0).

    Returns:
        A :class:`ModeCoverage` (``counts`` is a CPU int64 tensor of shape (K,)).

    Raises:
        ValueError: on empty input, wrong shapes, mismatched dimensions, centres that are
            not finite, or a ``std`` / ``threshold`` that is not positive and finite.

    Introduced in chapter 7.
    """
    x = as_points(samples, "samples", finite=False)  # a sample that is NaN is not high quality
    c = as_points(centers, "centers", finite=False)
    if not torch.isfinite(c).all():
        raise ValueError(
            f"centers must be finite; {int((~torch.isfinite(c)).any(dim=1).sum())} of them hold NaN or inf."
        )
    if x.shape[1] != c.shape[1]:
        raise ValueError(
            f"samples have {x.shape[1]} dimensions but centers have {c.shape[1]}: "
            f"shapes {tuple(x.shape)} and {tuple(c.shape)}"
        )
    if not (std > 0 and math.isfinite(std)):
        raise ValueError(f"std must be a positive number, got {std}")
    require_positive(threshold, "threshold")
    K = c.shape[0]
    distance, nearest = torch.cdist(x, c).min(dim=1)  # (N,), (N,)
    good = distance < threshold * std  # NaN/inf distances compare False
    counts = torch.bincount(nearest[good], minlength=K)
    n_good = int(counts.sum())
    if n_good == 0:
        reverse_kl = math.inf
    else:
        p = counts.double() / n_good
        reverse_kl = float(torch.special.xlogy(p, p * K).sum())
    return ModeCoverage(
        modes=int((counts > 0).sum()),
        n_modes=K,
        high_quality=n_good / x.shape[0],
        reverse_kl=reverse_kl,
        counts=counts,
    )


def sinkhorn_w1(x, y, eps: float = 0.01, iters: int = 300) -> float:
    """The Earth-Mover distance between two point sets, by Sinkhorn's algorithm (Cuturi, 2013).

    Each point carries mass 1/n (1/m). Entropic regularisation turns the transport problem
    into :math:`\\min_\\gamma \\mathbb E_\\gamma\\|x - y\\| - \\varepsilon H(\\gamma)`, solved by
    alternating scalings of the rows and columns of :math:`e^{-C/\\varepsilon}` (here in the
    log domain, stable for small :math:`\\varepsilon`). Returns the transport cost
    :math:`\\sum_{ij}\\gamma_{ij}\\|x_i - y_j\\|` of the resulting plan: a little above the
    exact distance of the two sets for a small :math:`\\varepsilon` (in the units of the data).
    The distance between two *samples* is itself above that of their distributions, by a
    sampling bias that shrinks as n grows.

    Args:
        x, y: point sets (n, d) and (m, d), numpy or torch.
        eps: the regularisation, in the units of the data (> 0).
        iters: Sinkhorn iterations (>= 1).

    Raises:
        ValueError: on empty, non-finite or mismatched point sets, or an ``eps`` or ``iters``
            that is not positive.

    Introduced in chapter 7.
    """
    x, y = as_points(x, "x").double(), as_points(y, "y").double()
    require_positive(eps, "eps")
    require_positive(iters, "iters", integer=True)
    cost = torch.cdist(x, y)
    log_a = torch.full((len(x),), -math.log(len(x)), dtype=torch.float64)
    log_b = torch.full((len(y),), -math.log(len(y)), dtype=torch.float64)
    u, v = torch.zeros_like(log_a), torch.zeros_like(log_b)
    for _ in range(iters):
        u = eps * (log_a - torch.logsumexp((v[None, :] - cost) / eps, dim=1))
        v = eps * (log_b - torch.logsumexp((u[:, None] - cost) / eps, dim=0))
    plan = torch.exp((u[:, None] + v[None, :] - cost) / eps)
    return float((plan * cost).sum())
