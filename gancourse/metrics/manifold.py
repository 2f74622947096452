"""Manifold measures: how much of the generated samples lies on the real data's manifold, and the reverse.

A set's manifold is estimated as the union of balls around its points, the radius of each
ball the distance to the point's k-th nearest neighbour in its own set.
:func:`precision_recall` (Kynkäänniemi et al., 2019): precision is the share of generated
samples inside the real manifold (fidelity), recall the share of real samples inside the
generated one (coverage). :func:`density_coverage` (Naeem et al., 2020) asks the same of the
real balls alone, so that a few outliers cannot fool it. :func:`nearest_neighbours`: each
generated sample's nearest training sample, the memorisation check. On images, pass
features (a :class:`~gancourse.metrics.FeatureClassifier`'s), not pixels.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from .inputs import as_features, require_finite, require_positive


@dataclass(frozen=True)
class PrecisionRecall:
    """Precision and recall of a generator (Kynkäänniemi et al., 2019), each in [0, 1]."""

    precision: float  # share of generated samples inside the real samples' manifold: fidelity
    recall: float  # share of real samples inside the generated samples' manifold: coverage
    k: int  # the neighbour whose distance sets each ball's radius

    def __str__(self) -> str:
        return f"precision {self.precision:.3f}, recall {self.recall:.3f} (k = {self.k})"


def precision_recall(real, fake, k: int = 3, batch_size: int = 1024) -> PrecisionRecall:
    r"""Precision and recall for generative models, from k-nearest-neighbour manifolds.

    Each set's manifold is estimated as the union of balls around its points, the radius of
    the ball around :math:`\phi` being the distance to its k-th nearest neighbour in the same
    set, :math:`\mathrm{NN}_k(\phi)`. A point is inside a set's manifold if it lies in one of
    those balls:

    .. math:: f(\phi, \Phi) = \mathbb 1\bigl[\exists\, \phi' \in \Phi:\
              \|\phi - \phi'\|_2 \le \|\phi' - \mathrm{NN}_k(\phi')\|_2\bigr]

    and precision :math:`= \frac1{|\Phi_g|}\sum_{\phi_g} f(\phi_g, \Phi_r)` (how many
    generated samples look real), recall :math:`= \frac1{|\Phi_r|}\sum_{\phi_r} f(\phi_r, \Phi_g)`
    (how much of the real data the generator reaches). A collapsed generator has a high
    precision and a low recall; one that spreads its samples beyond the data, the reverse.
    Kynkäänniemi et al. use k = 3 on VGG-16 features of 50,000 images per set; for images,
    pass features (e.g. a :class:`FeatureClassifier`'s), not pixels. Both values depend on k
    and on the number of samples (a larger k inflates the balls).

    Args:
        real, fake: samples or their features, shapes (N_r, d) and (N_g, d) (or (N, ...),
            flattened), N > k.
        k: the neighbour that sets the radii (3 in the paper).
        batch_size: rows of the distance matrix computed at once.

    Introduced in chapter 9.
    """
    real, fake = as_features(real, "real"), as_features(fake, "fake")
    if real.shape[1] != fake.shape[1]:
        raise ValueError(f"real and fake have {real.shape[1]} and {fake.shape[1]} features; they must match.")
    if isinstance(k, bool) or not (isinstance(k, int) and 1 <= k < min(len(real), len(fake))):
        raise ValueError(f"k must be an integer in 1 .. {min(len(real), len(fake)) - 1} (fewer than each set's size), got {k!r}.")
    require_positive(batch_size, "batch_size", integer=True)
    radii_real = _kth_neighbour_distance(real, k, batch_size)
    radii_fake = _kth_neighbour_distance(fake, k, batch_size)
    precision = _inside(fake, real, radii_real, batch_size).double().mean().item()
    recall = _inside(real, fake, radii_fake, batch_size).double().mean().item()
    return PrecisionRecall(precision, recall, k)


@dataclass(frozen=True)
class DensityCoverage:
    """Density and coverage of a generator (Naeem et al., 2020)."""

    density: float  # mean number of real balls around a generated sample, over k: about 1 when p_g = p_data
    coverage: float  # share of real balls holding at least one generated sample, in [0, 1]
    k: int

    def __str__(self) -> str:
        return f"density {self.density:.3f}, coverage {self.coverage:.3f} (k = {self.k})"


def density_coverage(real, fake, k: int = 5, batch_size: int = 1024) -> DensityCoverage:
    r"""Density and coverage (Naeem et al., 2020): precision and recall that outliers do not fool.

    With the balls :math:`B(\phi_r, \mathrm{NN}_k(\phi_r))` around the real samples only
    (:func:`precision_recall` builds balls around the generated ones for recall, so one
    stray generated sample with a large ball can cover many real ones):

    .. math:: \text{density} = \frac{1}{k\,|\Phi_g|} \sum_{\phi_g} \sum_{\phi_r}
              \mathbb 1\bigl[\phi_g \in B(\phi_r, \mathrm{NN}_k(\phi_r))\bigr], \qquad
              \text{coverage} = \frac{1}{|\Phi_r|} \sum_{\phi_r}
              \mathbb 1\bigl[\exists\, \phi_g \in B(\phi_r, \mathrm{NN}_k(\phi_r))\bigr].

    If the N real and M generated samples are independent draws from one continuous
    distribution, :math:`\mathbb E[\text{density}] = 1` and
    :math:`\mathbb E[\text{coverage}] = 1 - \prod_{i=1}^{k} \frac{N - i}{M + N - i}`
    (their Lemmas 1 and 2; 0.875 for M = N, k = 3, as N grows). Naeem et al. use k = 5.

    Args:
        real, fake: samples or features, shapes (N, d) and (M, d) (or (N, ...), flattened), N > k.
        k: the neighbour that sets the radii of the real balls.
        batch_size: rows of the distance matrix computed at once.

    Introduced in chapter 9.
    """
    real, fake = as_features(real, "real"), as_features(fake, "fake")
    if real.shape[1] != fake.shape[1]:
        raise ValueError(f"real and fake have {real.shape[1]} and {fake.shape[1]} features; they must match.")
    if isinstance(k, bool) or not (isinstance(k, int) and 1 <= k < len(real)):
        raise ValueError(f"k must be an integer in 1 .. {len(real) - 1} (fewer than the real samples), got {k!r}.")
    require_positive(batch_size, "batch_size", integer=True)
    radii = _kth_neighbour_distance(real, k, batch_size)
    balls_per_fake, covered = [], torch.zeros(len(real), dtype=torch.bool)
    for start in range(0, len(fake), batch_size):
        inside = torch.cdist(fake[start : start + batch_size], real) <= radii[None, :]
        balls_per_fake.append(inside.sum(dim=1))
        covered |= inside.any(dim=0)
    density = torch.cat(balls_per_fake).double().mean().item() / k
    return DensityCoverage(density, covered.double().mean().item(), k)


def nearest_neighbours(x, pool, batch_size: int = 250) -> tuple[Tensor, Tensor]:
    r"""For each row of ``x``, its nearest row of ``pool`` in Euclidean distance: (distances, indices).

    The memorisation check of chapter 9: ``pool`` is the training set, ``x`` generated images
    (both flattened). The search uses :func:`torch.cdist`, whose fast formula
    :math:`\sqrt{\|a\|^2 + \|b\|^2 - 2a^\top b}` rounds, so the distance to the row it finds is then
    computed directly: an exact copy is at distance 0.

    Introduced in chapter 5.
    """
    x, pool = (torch.as_tensor(v.detach().cpu() if isinstance(v, Tensor) else v, dtype=torch.float32) for v in (x, pool))
    x, pool = x.reshape(len(x), -1), pool.reshape(len(pool), -1)
    if x.shape[1] != pool.shape[1] or not (len(x) and len(pool)):
        raise ValueError(f"x and pool must be non-empty with the same number of features, got {tuple(x.shape)} and {tuple(pool.shape)}.")
    require_finite(x, "x")
    require_finite(pool, "pool")
    require_positive(batch_size, "batch_size", integer=True)
    index = torch.cat([torch.cdist(x[i : i + batch_size], pool).argmin(dim=1) for i in range(0, len(x), batch_size)])
    return (x.double() - pool[index].double()).norm(dim=1), index


def _kth_neighbour_distance(x: Tensor, k: int, batch_size: int) -> Tensor:
    """Each point's distance to its k-th nearest neighbour among the others (itself excluded)."""
    out = []
    for start in range(0, len(x), batch_size):
        d = torch.cdist(x[start : start + batch_size], x)
        out.append(d.kthvalue(k + 1, dim=1).values)  # the smallest is the point itself, at 0
    return torch.cat(out)


def _inside(points: Tensor, centres: Tensor, radii: Tensor, batch_size: int) -> Tensor:
    """For each point: does it lie in at least one ball (centre, radius)?"""
    out = []
    for start in range(0, len(points), batch_size):
        d = torch.cdist(points[start : start + batch_size], centres)
        out.append((d <= radii[None, :]).any(dim=1))
    return torch.cat(out)
