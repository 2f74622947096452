"""Checks for assignment 7: evaluate a generator with the Fréchet distance and with precision and recall.

The Fréchet distance between :math:`\\mathcal N(\\mu_a, \\Sigma_a)` and :math:`\\mathcal N(\\mu_b, \\Sigma_b)`
(chapter 5; FID's formula) is

.. math:: d^2 = \\|\\mu_a - \\mu_b\\|^2 + \\operatorname{Tr}\\bigl(\\Sigma_a + \\Sigma_b - 2(\\Sigma_a\\Sigma_b)^{1/2}\\bigr),

and precision and recall for generative models (Kynkäänniemi et al., 2019) count the
generated samples inside the union of the real samples' k-nearest-neighbour balls, and the
real samples inside the generated samples' balls.

References, all computed in the check: ``Tensor.mean`` and ``torch.cov`` for the sample
statistics; hand values (the four corners of a square, the points 0, 1, 3, 6, 10 on a line,
ties on the balls' boundaries); closed forms (the square root of a 2 x 2 matrix,
:math:`(S^2)^{1/2} = S` for a symmetric positive definite :math:`S`, the distance between
one-dimensional, diagonal and proportional Gaussians); the trace term from the eigenvalues of
the non-symmetric :math:`\\Sigma_a\\Sigma_b` (``torch.linalg.eigvals``), a route the
assignment does not take; and the definitions of the radii, precision and recall applied by
brute force to all pairwise distances. No course code gives a reference.
"""

from __future__ import annotations

import math
from functools import partial

import torch

from . import Case, Check, f64, seeded


# --------------------------------------------------------------------------- references
def _frechet(mu_a, cov_a, mu_b, cov_b, mean=None, trace=None, factor=2.0) -> torch.Tensor:
    """d²; for a mistake, with a part replaced: ``mean`` for ||μa - μb||², ``trace`` for Tr (Σa Σb)^{1/2}, the sum of
    the square roots of the eigenvalues of Σa Σb (those of the PSD Σa^{1/2} Σb Σa^{1/2}: real and >= 0)."""
    mean = (mu_a - mu_b).pow(2).sum() if mean is None else mean
    trace = torch.linalg.eigvals(cov_a @ cov_b).real.clamp(min=0).sqrt().sum() if trace is None else trace
    return mean + cov_a.trace() + cov_b.trace() - factor * trace


def _distances(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """All Euclidean distances ||a_i - b_j||, shape (len(a), len(b)), by broadcasting."""
    return (a[:, None, :] - b[None, :, :]).pow(2).sum(-1).sqrt()


def _sorted_distances(x: torch.Tensor) -> torch.Tensor:
    """Each point's distances to all the points, in increasing order: column 0 is the point itself, at 0."""
    return _distances(x, x).sort(dim=1).values


def _radii(x: torch.Tensor, k: int) -> torch.Tensor:
    """Distance of each point to its k-th nearest *other* point: column k of the sorted distances."""
    return _sorted_distances(x)[:, k]


def _fraction_inside(points, centres, radii, strict=False, squared=False, every=False) -> float:
    """The fraction of ``points`` in at least one ball (centre, radius): the definition, with variants."""
    d = _distances(points, centres)
    d = d**2 if squared else d
    inside = d < radii[None, :] if strict else d <= radii[None, :]
    return (inside.all(dim=1) if every else inside.any(dim=1)).double().mean().item()


def _random_covariance(d: int, gen: torch.Generator) -> torch.Tensor:
    """A positive definite matrix with positive entries (so that entrywise square roots stay real)."""
    B = torch.rand(d, d, dtype=f64, generator=gen)
    return B @ B.T + 0.1 * torch.eye(d, dtype=f64)


# --------------------------------------------------------------------------- Task 1
_CORNERS = torch.tensor([[0.0, 0.0], [2.0, 0.0], [0.0, 2.0], [2.0, 2.0]], dtype=f64)
_MIX3 = torch.tensor([[1.0, 0.5, 0.0], [0.0, 1.0, -0.3], [0.0, 0.0, 2.0]], dtype=f64)


gaussian_stats = Check(
    "gaussian_stats", doc="``fn(features)`` -> ``(mu, cov)``: the sample mean (d,) and the unbiased covariance (d, d) of (N, d) features.",
    parts=("mu", "cov"), reference=lambda x: (x.mean(0), torch.cov(x.T)), cases=[
        Case("the four corners of the square [0, 2]^2", (_CORNERS,)),
        Case("40 random points in 3-D", (torch.randn(40, 3, dtype=f64, generator=seeded(1)) @ _MIX3 + torch.tensor([1.0, -2.0, 0.5], dtype=f64),)),
    ], mistakes={
        "That is the mean of each sample over its features; average over the samples, dim=0.": lambda x: (x.mean(1), torch.cov(x.T)),
        "That is the sum over the samples; divide by N.": lambda x: (x.sum(0), torch.cov(x.T)),
        "That is the covariance between the N samples; the variables are the d features "
        "(torch.cov treats rows as variables: pass features.T).": lambda x: (x.mean(0), torch.cov(x)),
        "That divides by N, the biased covariance; the unbiased one divides by N - 1.": lambda x: (x.mean(0), (x - x.mean(0)).T @ (x - x.mean(0)) / len(x)),
        "That is the mean of x xᵀ without subtracting the mean first; centre the features.": lambda x: (x.mean(0), x.T @ x / (len(x) - 1)),
        "That is the uncentred second moment divided by N; centre the features and divide by N - 1.": lambda x: (x.mean(0), x.T @ x / len(x)),
    }, report="the sample mean and the unbiased covariance (as torch.cov), on 2 point sets",
)  # fmt: skip


# --------------------------------------------------------------------------- Task 2
_A2 = torch.tensor([[5.0, 4.0], [4.0, 5.0]], dtype=f64)
_S = _random_covariance(5, seeded(2))  # a root chosen first, then squared
_Q, _ = torch.linalg.qr(torch.randn(3, 3, dtype=f64, generator=seeded(3)))
_ROUNDED = _Q @ torch.diag(torch.tensor([4.0, 1.0, -1e-12], dtype=f64)) @ _Q.T  # eigenvalues 4, 1 and a zero, after rounding


def _rebuilt(A, order="V diag Vt", clamp=True):
    """V diag(sqrt(lam)) V^T from eigh, the symmetric PSD square root (to make mistakes with, never a
    reference), or with the factors in another order or no square root."""
    lam, V = torch.linalg.eigh(A)
    root = torch.diag(lam.clamp(min=0).sqrt() if clamp else lam)
    return {"V diag Vt": V @ root @ V.T, "Vt diag V": V.T @ root @ V, "V diag V": V @ root @ V}[order]


sqrtm_psd = Check(
    "sqrtm_psd", doc="``fn(matrix)`` -> the symmetric positive semidefinite square root :math:`S` with :math:`S S = A`.",
    cases=[  # closed form for a 2 x 2 positive definite matrix: (A + sqrt(det A) I) / sqrt(Tr A + 2 sqrt(det A)) = [[2, 1], [1, 2]]
        Case("sqrtm_psd([[5, 4], [4, 5]])", (_A2,), (_A2 + 3 * torch.eye(2, dtype=f64)) / math.sqrt(10 + 6)),
        Case("sqrtm_psd(diag(4, 9, 0))", (torch.diag(torch.tensor([4.0, 9.0, 0.0], dtype=f64)),), torch.diag(torch.tensor([2.0, 3.0, 0.0], dtype=f64))),
        Case("sqrtm_psd(S @ S) for a random 5 x 5 positive definite S", (_S @ _S,), _S, atol=1e-8),
        Case("sqrtm_psd(A) for a 3 x 3 A with eigenvalues 4, 1 and -1e-12 (a zero, after rounding)", ((_ROUNDED + _ROUNDED.T) / 2,),
             _Q @ torch.diag(torch.tensor([2.0, 1.0, 0.0], dtype=f64)) @ _Q.T, atol=1e-5,
             finite="Rounding left an eigenvalue slightly below 0, and its square root is nan: "
                    "clamp the eigenvalues at 0 first (lam.clamp(min=0))."),
    ], mistakes={
        "That is the square root of each entry; the matrix square root is S with S @ S = A, here [[2, 1], [1, 2]].": torch.sqrt,
        "That is the Cholesky factor L (L Lᵀ = A); the square root is the symmetric S with S @ S = A.": torch.linalg.cholesky,
        "That is the matrix itself: take the square root of the eigenvalues.": lambda A: _rebuilt(A, clamp=False),
        "The eigenvectors are the columns of V: rebuild V diag(√λ) Vᵀ, not Vᵀ diag(√λ) V.": lambda A: _rebuilt(A, "Vt diag V"),
        "The eigenvectors are the columns of V: rebuild V diag(√λ) Vᵀ, with the transpose on the right.": lambda A: _rebuilt(A, "V diag V"),
        "Those are the square roots of the eigenvalues; rebuild the matrix V diag(√λ) Vᵀ.": lambda A: torch.linalg.eigvalsh(A).clamp(min=0).sqrt(),
    }, report="S @ S = A with S symmetric positive semidefinite, on 4 matrices (one with a rounded-negative zero)",
)  # fmt: skip


# --------------------------------------------------------------------------- Task 3
FACTOR_2 = partial(_frechet, factor=1.0)
NORM = lambda mu_a, cov_a, mu_b, cov_b: _frechet(mu_a, cov_a, mu_b, cov_b, mean=(mu_a - mu_b).norm())  # noqa: E731
NO_ROOT_TERM = partial(_frechet, factor=0.0)
_one, _var = (lambda v: torch.tensor([v], dtype=f64)), (lambda v: torch.tensor([[v]], dtype=f64))
_A_DIAG, _B_DIAG = torch.tensor([1.0, 4.0, 9.0], dtype=f64), torch.tensor([4.0, 4.0, 1.0], dtype=f64)
_MU_3A, _MU_3B = torch.tensor([0.0, 1.0, 2.0], dtype=f64), torch.tensor([1.0, 1.0, 0.0], dtype=f64)
_gen = seeded(4)
_COV_P = _random_covariance(4, _gen)
_MU_P = torch.randn(4, dtype=f64, generator=_gen)
_COV_A, _COV_B = _random_covariance(4, _gen), _random_covariance(4, _gen)
_MU_A, _MU_B = torch.randn(4, dtype=f64, generator=_gen), torch.randn(4, dtype=f64, generator=_gen)
_distance = partial(Case, scalar=True, what="frechet_distance(...)")

frechet_distance = Check(
    "frechet_distance", doc="``fn(mu_a, cov_a, mu_b, cov_b)`` -> :math:`d^2 = \\|\\mu_a - \\mu_b\\|^2 + \\operatorname{Tr}(\\Sigma_a + \\Sigma_b - 2(\\Sigma_a\\Sigma_b)^{1/2})`.",
    reference=_frechet, cases=[
        _distance("frechet_distance for N(0, 4) and N(3, 1)", (_one(0.0), _var(4.0), _one(3.0), _var(1.0)), 10.0, {
            "The trace term needs its factor 2: 4 + 1 - 2·2 = 1, plus 3² = 10.": FACTOR_2,
            "The mean term is the *squared* difference of the means, 3² = 9.": NORM,
            "The covariance term is Tr(Σa + Σb - 2 (Σa Σb)^{1/2}) = 4 + 1 - 2·2 = 1: did you leave out the square-root term?": NO_ROOT_TERM,
        }),
        # diagonal (commuting) covariances: d^2 = |mu_a - mu_b|^2 + sum_i (sqrt(a_i) - sqrt(b_i))^2
        _distance("frechet_distance for two Gaussians with diagonal covariances", (_MU_3A, torch.diag(_A_DIAG), _MU_3B, torch.diag(_B_DIAG)),
                  (_MU_3A - _MU_3B).pow(2).sum() + (_A_DIAG.sqrt() - _B_DIAG.sqrt()).pow(2).sum()),
        # proportional covariances, Σb = c² Σa: (Σa Σb)^{1/2} = c Σa, so d^2 = |Δμ|^2 + (1 - c)^2 Tr Σa
        _distance("frechet_distance for Σb = 9 Σa (4-D, not diagonal)", (_MU_P, _COV_P, torch.zeros(4, dtype=f64), 9 * _COV_P),
                  _MU_P.pow(2).sum() + 4 * _COV_P.trace()),
        _distance("frechet_distance for two random 4-D Gaussians", (_MU_A, _COV_A, _MU_B, _COV_B),
                  finite="A square root of something negative: the trace term is the trace of the matrix square root of "
                         "Σa^{1/2} Σb Σa^{1/2}, whose eigenvalues are >= 0."),
        _distance("frechet_distance for the same two Gaussians, swapped", (_MU_B, _COV_B, _MU_A, _COV_A), _frechet(_MU_A, _COV_A, _MU_B, _COV_B)),
        _distance("frechet_distance of a Gaussian with itself", (_MU_A, _COV_A, _MU_A, _COV_A), 0.0, atol=1e-8),
    ], mistakes={
        "The trace term needs its factor 2: Tr(Σa + Σb - 2 (Σa Σb)^{1/2}).": FACTOR_2,
        "That is the square root of d²; the Fréchet distance of FID is the squared distance d², no square root.": lambda *args: _frechet(*args).sqrt(),
        "The mean term is the *squared* norm ||μa - μb||².": NORM,
        "(Σa Σb)^{1/2} is not Σa^{1/2} Σb^{1/2} unless the two commute; take the square root of Σa^{1/2} Σb Σa^{1/2}.":
            lambda mu_a, cov_a, mu_b, cov_b: _frechet(mu_a, cov_a, mu_b, cov_b, trace=(_rebuilt(cov_a) @ _rebuilt(cov_b)).trace()),
        "That takes the square root of each entry of Σa Σb; the trace term needs the matrix square root.":
            lambda mu_a, cov_a, mu_b, cov_b: _frechet(mu_a, cov_a, mu_b, cov_b, trace=(cov_a @ cov_b).sqrt().trace()),
        "Σa Σb is not symmetric, and eigh (or your sqrtm_psd) reads only one triangle of it: take the square root of "
        "the symmetric Σa^{1/2} Σb Σa^{1/2}, which has the same eigenvalues.":
            lambda mu_a, cov_a, mu_b, cov_b: _frechet(mu_a, cov_a, mu_b, cov_b, trace=torch.linalg.eigvalsh(cov_a @ cov_b).clamp(min=0).sqrt().sum()),
        "The covariance term is Tr(Σa + Σb - 2 (Σa Σb)^{1/2}): did you leave out the square-root term?": NO_ROOT_TERM,
        "That is only the mean term; add the covariance term.": lambda mu_a, cov_a, mu_b, cov_b: (mu_a - mu_b).pow(2).sum(),
    }, report=lambda r: f"the closed forms and Tr (Σa Σb)^(1/2) from torch.linalg.eigvals agree (N(0, 4) vs N(3, 1): {r[0]:.4g})",
)  # fmt: skip


# --------------------------------------------------------------------------- Task 4
def _floor(features, n, generator, sets=lambda perm, n: (perm[:n], perm[n : 2 * n]), perm=None):
    """The Fréchet distance between the rows ``sets(perm, n)`` of ``features``, ``perm`` drawn
    from ``generator`` unless given."""
    perm = torch.randperm(len(features), generator=generator) if perm is None else perm
    a, b = (features[rows] for rows in sets(perm, n))
    return _frechet(a.mean(0), torch.cov(a.T), b.mean(0), torch.cov(b.T))


_MIX4 = torch.tensor([[1.0, 0.0, 0.0, 0.0], [0.5, 1.0, 0.0, 0.0], [0.0, -0.4, 0.7, 0.0], [0.2, 0.0, 0.3, 1.5]], dtype=f64)
_gen5 = seeded(5)

frechet_floor = Check(
    "frechet_floor", doc="""``fn(features, n, generator)`` -> the Fréchet distance between rows ``perm[:n]`` and ``perm[n:2n]`` of
    ``features``, ``perm = torch.randperm(len(features), generator=generator)``.""",
    reference=_floor, cases=[
        Case(f"frechet_floor({N} x 4 Gaussian features, n={n}, generator seeded {seed})",
             (torch.randn(N, 4, dtype=f64, generator=_gen5) @ _MIX4.T + 1.0, n, seeded(seed)), scalar=True, what="frechet_floor(...)")
        for n, N, seed in [(100, 300, 11), (150, 300, 12), (400, 800, 13)]
    ], mistakes={
        "That is 0: the two sets are the same rows. Take perm[:n] for one set and perm[n:2n] for the other.":
            partial(_floor, sets=lambda perm, n: (perm[:n], perm[:n])),
        "Each set must hold n rows: you split n rows into two halves.": partial(_floor, sets=lambda perm, n: (perm[: n // 2], perm[n // 2 : n])),
        "That compares one set with all of features, which contains it; the two sets must be disjoint.":
            partial(_floor, sets=lambda perm, n: (perm[:n], perm)),
        "Those are the first n rows and the next n rows; draw the sets with perm = torch.randperm(len(features), generator=generator).":
            lambda features, n, generator: _floor(features, n, generator, perm=torch.arange(len(features))),
        "That permutation did not come from the generator passed in: torch.randperm(len(features), generator=generator).":
            lambda features, n, generator: _floor(features, n, None),
    }, report=lambda r: "the distance between two disjoint random sets of n rows ("
                        + ", ".join(f"n={n}: {value:.3g}" for n, value in zip((100, 150, 400), r, strict=True))
                        + "): above 0 though both sets come from one Gaussian",
)  # fmt: skip


# --------------------------------------------------------------------------- Task 5
_LINE = torch.tensor([0.0, 1.0, 3.0, 6.0, 10.0], dtype=f64)[:, None]

kth_neighbour_radii = Check(
    "kth_neighbour_radii", doc="``fn(x, k)`` -> for each row of ``x`` (N, d), the distance to its k-th nearest neighbour among the other rows.",
    reference=_radii, cases=[
        Case("kth_neighbour_radii(points 0, 1, 3, 6, 10 on a line, k=1)", (_LINE, 1), torch.tensor([1.0, 1.0, 2.0, 3.0, 4.0], dtype=f64),
             atol=1e-6),
        Case("kth_neighbour_radii(points 0, 1, 3, 6, 10 on a line, k=2)", (_LINE, 2), torch.tensor([3.0, 2.0, 3.0, 4.0, 7.0], dtype=f64), atol=1e-6),
        Case("kth_neighbour_radii((0, 0), (0, 0), (1, 0), (3, 0), k=1)", (torch.tensor([[0.0, 0.0], [0.0, 0.0], [1.0, 0.0], [3.0, 0.0]], dtype=f64), 1),
             torch.tensor([0.0, 0.0, 1.0, 2.0], dtype=f64), atol=1e-6),
        Case("kth_neighbour_radii(50 random points in 2-D, k=3)", (torch.randn(50, 2, dtype=f64, generator=seeded(6)), 3), atol=1e-6),
    ], mistakes={
        "The nearest point to x is x itself, at distance 0: exclude it, and take the k-th of the *other* points.": lambda x, k: _radii(x, k - 1),
        "That is the (k+1)-th neighbour: after excluding the point itself, take the k-th of the others.": lambda x, k: _radii(x, k + 1),
        "Those are squared distances; take the square root.": lambda x, k: _radii(x, k) ** 2,
        "That is the mean distance to the k nearest neighbours; the radius is the distance to the k-th.": lambda x, k: _sorted_distances(x)[:, 1 : k + 1].mean(dim=1),
        "That is the k-th *farthest* point; sort the distances in increasing order.": lambda x, k: _sorted_distances(x)[:, -k],
        "Return one radius per point, shape (N,).": lambda x, k: _radii(x, k)[:, None],
        "A duplicate of a point is a neighbour at distance 0: exclude only the point itself (one entry per row), not every zero distance.":
            lambda x, k: torch.stack([row[row > 0].sort().values[k - 1] for row in _distances(x, x)]),
    }, report="the distance to the k-th nearest other point, on 4 point sets (duplicates included)",
)  # fmt: skip


# --------------------------------------------------------------------------- Task 6
def _way(radius=lambda centres, points, k: _radii(centres, k), inside=None, **how):
    """(precision, recall) with ``inside(points, centres, k)`` for the fraction of points in the centres' balls: by default
    the definition, with the balls' radii from ``radius(centres, points, k)``, compared as ``how`` says."""
    inside = inside or (lambda points, centres, k: _fraction_inside(points, centres, radius(centres, points, k), **how))
    return lambda real, fake, k: (inside(fake, real, k), inside(real, fake, k))


_reference = _way()
_gen7 = seeded(7)

precision_recall = Check(
    "precision_recall", doc="""``fn(real, fake, k)`` -> ``(precision, recall)``: the fraction of ``fake`` inside the real k-NN balls,
    and of ``real`` inside the generated ones (a point on a ball's boundary is inside).""",
    parts=("precision", "recall"), reference=_reference, cases=[
        Case("120 real and 100 generated points in 2-D, k=3", (torch.randn(120, 2, dtype=f64, generator=_gen7),
             torch.tensor([1.5, 0.0], dtype=f64) + 0.7 * torch.randn(100, 2, dtype=f64, generator=_gen7), 3), atol=1e-12, scalar=True),
        Case("80 real and 80 generated points in 4-D, k=2", (torch.randn(80, 4, dtype=f64, generator=_gen7),
             1.5 * torch.randn(80, 4, dtype=f64, generator=_gen7) + 0.3, 2), atol=1e-12, scalar=True),
        Case("real 0, 1, 2, 3, 4 and generated 5, 2.5, 7, 8 on a line, k=1 (points on the balls' boundaries)",
             (torch.tensor([0.0, 1.0, 2.0, 3.0, 4.0], dtype=f64)[:, None], torch.tensor([5.0, 2.5, 7.0, 8.0], dtype=f64)[:, None], 1),
             atol=1e-12, scalar=True),
    ], mistakes={
        "That is the recall: precision is the fraction of *generated* samples inside the real manifold.": lambda *a: _reference(*a)[::-1],
        "That is the precision: recall is the fraction of *real* samples inside the generated manifold.": lambda *a: (_reference(*a)[0],) * 2,
        "That is the fraction of generated samples inside their own manifold (always 1): test them against the real balls.":
            lambda real, fake, k: (_fraction_inside(fake, fake, _radii(fake, k)), _reference(real, fake, k)[1]),
        "That is the fraction of real samples inside their own manifold (always 1): test them against the generated balls.":
            lambda real, fake, k: (_reference(real, fake, k)[0], _fraction_inside(real, real, _radii(real, k))),
        "A point on a ball's boundary is inside it: compare with <=, not <.": _way(strict=True),
        "Compare distances with the radii, not squared distances.": _way(squared=True),
        "A point is inside the manifold if it lies in *at least one* ball (any), not in all of them.": _way(every=True),
        "Each ball has the radius of its own centre (its k-th neighbour among the centres' set), not the radius of the point being tested.":
            _way(inside=lambda points, centres, k: (_distances(points, centres).min(dim=1).values <= _radii(points, k)).double().mean().item()),
        "The radii were counted with the point itself as a neighbour: the k-th neighbour excludes the point.":
            _way(lambda c, p, k: _radii(c, k - 1)),
        "That is the (k+1)-th neighbour's distance as the radius: after excluding the point, take the k-th.": _way(lambda c, p, k: _radii(c, k + 1)),
        "The radii were broadcast along the wrong axis: in the distance matrix (tested points x centres) radius j belongs to column j, "
        "its ball's centre; compare with radii[None, :], not radii[:, None].":
            _way(inside=lambda points, centres, k: (_distances(points, centres) <= _radii(centres, k)[:, None]).any(dim=1).double().mean().item()),
        "The balls around a set's points have that set's radii: you used the other set's.": _way(lambda c, p, k: _radii(p, k)),
    }, hints={
        "must match the size": "The radii do not line up with the distances. In d = torch.cdist(tested, centres), of shape (tested "
                               "points, centres), radius j belongs to column j: compare d with radii[None, :]; and the balls around a "
                               "set's points have that set's radii (the real points' for the real balls, the generated points' for theirs).",
    }, report="the k-NN definitions of Kynkäänniemi et al. on 3 pairs of sets, boundary ties included",
)  # fmt: skip
