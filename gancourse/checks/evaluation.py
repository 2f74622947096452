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

import torch

from . import Case, call, f64, judge, pair, passed, run

# --------------------------------------------------------------------------- references


def _cov(x: torch.Tensor) -> torch.Tensor:
    return torch.cov(x.T)


def _trace_sqrt_product(cov_a: torch.Tensor, cov_b: torch.Tensor) -> torch.Tensor:
    """Tr (Σa Σb)^{1/2}: Σa Σb has the eigenvalues of the PSD Σa^{1/2} Σb Σa^{1/2}, real and >= 0."""
    eigenvalues = torch.linalg.eigvals(cov_a @ cov_b).real.clamp(min=0)
    return eigenvalues.sqrt().sum()


def _frechet(mu_a, cov_a, mu_b, cov_b) -> torch.Tensor:
    return (mu_a - mu_b).pow(2).sum() + cov_a.trace() + cov_b.trace() - 2 * _trace_sqrt_product(cov_a, cov_b)  # fmt: skip


def _frechet_features(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return _frechet(a.mean(0), _cov(a), b.mean(0), _cov(b))


def _distances(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """All Euclidean distances ||a_i - b_j||, shape (len(a), len(b)), by broadcasting."""
    return (a[:, None, :] - b[None, :, :]).pow(2).sum(-1).sqrt()


def _radii(x: torch.Tensor, k: int, rank: int | None = None) -> torch.Tensor:
    """Distance of each point to its k-th nearest *other* point (``rank`` overrides the order)."""
    d = _distances(x, x)
    d.fill_diagonal_(math.inf)  # the point itself is no neighbour
    return d.sort(dim=1).values[:, (k if rank is None else rank) - 1]


def _fraction_inside(points, centres, radii, strict=False, squared=False, every=False) -> float:
    """The fraction of ``points`` in at least one ball (centre, radius): the definition, with variants."""
    d = _distances(points, centres)
    d = d**2 if squared else d
    inside = d < radii[None, :] if strict else d <= radii[None, :]
    return (inside.all(dim=1) if every else inside.any(dim=1)).double().mean().item()


def _generator(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _random_covariance(d: int, gen: torch.Generator) -> torch.Tensor:
    """A positive definite matrix with positive entries (so that entrywise square roots stay real)."""
    B = torch.rand(d, d, dtype=f64, generator=gen)
    return B @ B.T + 0.1 * torch.eye(d, dtype=f64)



def _inside_mistakes(points, centres, k, radii, points_radii, other_radii) -> dict:
    """The fraction of ``points`` inside the balls around ``centres``, as common mistakes compute it.

    ``radii`` are the centres' own k-NN radii (right), ``points_radii`` the tested points' radii
    in their own set, ``other_radii`` the radii of the other set when both sets have one size.
    """
    self_counted = _radii(centres, k, rank=k - 1) if k > 1 else torch.zeros(len(centres), dtype=f64)
    nearest = _distances(points, centres).min(dim=1).values
    named = {
        "A point on a ball's boundary is inside it: compare with <=, not <.":
            _fraction_inside(points, centres, radii, strict=True),
        "Compare distances with the radii, not squared distances.":
            _fraction_inside(points, centres, radii, squared=True),
        "A point is inside the manifold if it lies in *at least one* ball (any), not in all of them.":
            _fraction_inside(points, centres, radii, every=True),
        "Each ball has the radius of its own centre (its k-th neighbour among the centres' set), "
        "not the radius of the point being tested.": (nearest <= points_radii).double().mean().item(),
        "The radii were counted with the point itself as a neighbour: the k-th neighbour excludes the point.":
            _fraction_inside(points, centres, self_counted),
        "That is the (k+1)-th neighbour's distance as the radius: after excluding the point, take the k-th.":
            _fraction_inside(points, centres, _radii(centres, k, rank=k + 1)),
    }  # fmt: skip
    if len(points) == len(centres):  # radii[:, None] broadcasts without an error only then
        rows = (_distances(points, centres) <= radii[:, None]).any(dim=1).double().mean().item()
        named["The radii were broadcast along the wrong axis: in the distance matrix (tested points x centres) "
              "radius j belongs to column j, its ball's centre; compare with radii[None, :], not radii[:, None]."] = rows  # fmt: skip
    if other_radii is not None:
        message = "The balls around a set's points have that set's radii: you used the other set's."
        named[message] = _fraction_inside(points, centres, other_radii)
    return named


def _psd_root(matrix: torch.Tensor) -> torch.Tensor:
    """The symmetric PSD square root, to compute what a mistake gives (never a reference)."""
    lam, V = torch.linalg.eigh(matrix)
    return V @ torch.diag(lam.clamp(min=0).sqrt()) @ V.T


def _frechet_mistakes(mu_a, cov_a, mu_b, cov_b) -> dict:
    """What common mistakes make of the Fréchet distance between two Gaussians."""
    mean_term, traces = (mu_a - mu_b).pow(2).sum(), cov_a.trace() + cov_b.trace()
    tr = _trace_sqrt_product(cov_a, cov_b)
    return {
        "The trace term needs its factor 2: Tr(Σa + Σb - 2 (Σa Σb)^{1/2}).": mean_term + traces - tr,
        "That is the square root of d²; the Fréchet distance of FID is the squared distance d², no square root.":
            (mean_term + traces - 2 * tr).sqrt(),
        "The mean term is the *squared* norm ||μa - μb||².": (mu_a - mu_b).norm() + traces - 2 * tr,
        "(Σa Σb)^{1/2} is not Σa^{1/2} Σb^{1/2} unless the two commute; take the square root of Σa^{1/2} Σb Σa^{1/2}.":
            mean_term + traces - 2 * (_psd_root(cov_a) @ _psd_root(cov_b)).trace(),
        "That takes the square root of each entry of Σa Σb; the trace term needs the matrix square root.":
            mean_term + traces - 2 * (cov_a @ cov_b).sqrt().trace(),
        "Σa Σb is not symmetric, and eigh (or your sqrtm_psd) reads only one triangle of it: take the square root of "
        "the symmetric Σa^{1/2} Σb Σa^{1/2}, which has the same eigenvalues.":
            mean_term + traces - 2 * torch.linalg.eigvalsh(cov_a @ cov_b).clamp(min=0).sqrt().sum(),
        "That is only the mean term; add the covariance term.": mean_term,
    }  # fmt: skip


def _root_mistakes(A: torch.Tensor) -> dict:
    """What common mistakes make of the square root of a symmetric PSD matrix ``A``."""
    lam, V = torch.linalg.eigh(A)
    root = torch.diag(lam.clamp(min=0).sqrt())
    return {
        "That is the matrix itself: take the square root of the eigenvalues.": A,
        "The eigenvectors are the columns of V: rebuild V diag(√λ) Vᵀ, not Vᵀ diag(√λ) V.": V.T @ root @ V,
        "The eigenvectors are the columns of V: rebuild V diag(√λ) Vᵀ, with the transpose on the right.": V @ root @ V,
    }  # fmt: skip


# --------------------------------------------------------------------------- Task 1


def gaussian_stats(fn) -> None:
    """``fn(features)`` -> ``(mu, cov)``: the sample mean (d,) and the unbiased covariance (d, d) of (N, d) features."""
    task = "gaussian_stats"
    corners = torch.tensor([[0.0, 0.0], [2.0, 0.0], [0.0, 2.0], [2.0, 2.0]], dtype=f64)
    x = torch.randn(40, 3, dtype=f64, generator=_generator(1)) @ torch.tensor(
        [[1.0, 0.5, 0.0], [0.0, 1.0, -0.3], [0.0, 0.0, 2.0]], dtype=f64
    ) + torch.tensor([1.0, -2.0, 0.5], dtype=f64)
    cases = [("the four corners of the square [0, 2]^2", corners), ("40 random points in 3-D", x)]
    for name, features in cases:
        N, d = features.shape
        mu, cov = pair(task, fn(features.clone()), "(mu, cov)")
        centred = features - features.mean(0)
        judge(task, Case(f"mu on {name}", want=features.mean(0), shapes={
            "That is the mean of each sample over its features; average over the samples, dim=0.": (N,),
        }, mistakes={
            "That is the sum over the samples; divide by N.": features.sum(0),
        }), mu)  # fmt: skip
        judge(task, Case(f"cov on {name}", want=_cov(features), shapes={
            "That is the covariance between the N samples; the variables are the d features "
            "(torch.cov treats rows as variables: pass features.T).": (N, N),
        }, mistakes={
            "That divides by N, the biased covariance; the unbiased one divides by N - 1.": centred.T @ centred / N,
            "That is the mean of x xᵀ without subtracting the mean first; centre the features.": features.T @ features / (N - 1),
            "That is the uncentred second moment divided by N; centre the features and divide by N - 1.": features.T @ features / N,
        }), cov)  # fmt: skip
    passed(task, "the sample mean and the unbiased covariance (as torch.cov), on 2 point sets")


# --------------------------------------------------------------------------- Task 2


def sqrtm_psd(fn) -> None:
    """``fn(matrix)`` -> the symmetric positive semidefinite square root :math:`S` with :math:`S S = A`."""
    task = "sqrtm_psd"
    A2 = torch.tensor([[5.0, 4.0], [4.0, 5.0]], dtype=f64)
    # closed form for a 2 x 2 positive definite matrix: (A + sqrt(det A) I) / sqrt(Tr A + 2 sqrt(det A))
    s = math.sqrt(torch.linalg.det(A2).item())
    root2 = (A2 + s * torch.eye(2, dtype=f64)) / math.sqrt(A2.trace().item() + 2 * s)
    S = _random_covariance(5, _generator(2))  # a root chosen first, then squared
    Q, _ = torch.linalg.qr(torch.randn(3, 3, dtype=f64, generator=_generator(3)))
    # eigenvalues 4, 1 and a zero that rounding made slightly negative
    rounded = Q @ torch.diag(torch.tensor([4.0, 1.0, -1e-12], dtype=f64)) @ Q.T
    rounded = (rounded + rounded.T) / 2
    rounded_root = Q @ torch.diag(torch.tensor([2.0, 1.0, 0.0], dtype=f64)) @ Q.T
    run(task, fn, [
        Case("sqrtm_psd([[5, 4], [4, 5]])", (A2,), root2, {
            "That is the square root of each entry; the matrix square root is S with S @ S = A, here [[2, 1], [1, 2]].": A2.sqrt(),
            "That is the Cholesky factor L (L Lᵀ = A); the square root is the symmetric S with S @ S = A.": torch.linalg.cholesky(A2),
            **_root_mistakes(A2),
        }),
        Case("sqrtm_psd(diag(4, 9, 0))", (torch.diag(torch.tensor([4.0, 9.0, 0.0], dtype=f64)),),
             torch.diag(torch.tensor([2.0, 3.0, 0.0], dtype=f64)), {
            **_root_mistakes(torch.diag(torch.tensor([4.0, 9.0, 0.0], dtype=f64))),
        }, shapes={"Those are the square roots of the eigenvalues; rebuild the matrix V diag(√λ) Vᵀ.": (3,)}),
        Case("sqrtm_psd(S @ S) for a random 5 x 5 positive definite S", (S @ S,), S, {
            "That is the square root of each entry; the matrix square root is S with S @ S = A.": (S @ S).sqrt(),
            **_root_mistakes(S @ S),
        }, rtol=1e-6, atol=1e-8),
        Case("sqrtm_psd(A) for a 3 x 3 A with eigenvalues 4, 1 and -1e-12 (a zero, after rounding)", (rounded,),
             rounded_root, atol=1e-5,
             finite="Rounding left an eigenvalue slightly below 0, and its square root is nan: "
                    "clamp the eigenvalues at 0 first (lam.clamp(min=0))."),
    ])  # fmt: skip
    passed(task, "S @ S = A with S symmetric positive semidefinite, on 4 matrices (one with a rounded-negative zero)")  # fmt: skip


# --------------------------------------------------------------------------- Task 3


def frechet_distance(fn) -> None:
    """``fn(mu_a, cov_a, mu_b, cov_b)`` -> :math:`d^2 = \\|\\mu_a - \\mu_b\\|^2 + \\operatorname{Tr}(\\Sigma_a + \\Sigma_b - 2(\\Sigma_a\\Sigma_b)^{1/2})`."""
    task = "frechet_distance"
    one = lambda v: torch.tensor([v], dtype=f64)  # noqa: E731
    var = lambda v: torch.tensor([[v]], dtype=f64)  # noqa: E731
    gen = _generator(4)
    # diagonal (commuting) covariances: d^2 = |mu_a - mu_b|^2 + sum_i (sqrt(a_i) - sqrt(b_i))^2
    a_diag, b_diag = torch.tensor([1.0, 4.0, 9.0], dtype=f64), torch.tensor([4.0, 4.0, 1.0], dtype=f64)  # fmt: skip
    mu_3a, mu_3b = torch.tensor([0.0, 1.0, 2.0], dtype=f64), torch.tensor([1.0, 1.0, 0.0], dtype=f64)  # fmt: skip
    diag_want = (mu_3a - mu_3b).pow(2).sum() + (a_diag.sqrt() - b_diag.sqrt()).pow(2).sum()
    # proportional covariances, Σb = c² Σa: (Σa Σb)^{1/2} = c Σa, so d^2 = |Δμ|^2 + (1 - c)^2 Tr Σa
    cov_p = _random_covariance(4, gen)
    mu_p, c = torch.randn(4, dtype=f64, generator=gen), 3.0
    prop_want = mu_p.pow(2).sum() + (1 - c) ** 2 * cov_p.trace()
    # general covariances that do not commute
    cov_a, cov_b = _random_covariance(4, gen), _random_covariance(4, gen)
    mu_a, mu_b = torch.randn(4, dtype=f64, generator=gen), torch.randn(4, dtype=f64, generator=gen)
    want = _frechet(mu_a, cov_a, mu_b, cov_b)
    results = run(task, fn, [
        Case("frechet_distance for N(0, 4) and N(3, 1)", (one(0.0), var(4.0), one(3.0), var(1.0)), 10.0, {
            "The trace term needs its factor 2: 4 + 1 - 2·2 = 1, plus 3² = 10.": 12.0,
            "That is the square root of d²; the Fréchet distance of FID is the squared distance d², no square root.": math.sqrt(10),
            "The mean term is the *squared* difference of the means, 3² = 9.": 4.0,
            "The covariance term is Tr(Σa + Σb - 2 (Σa Σb)^{1/2}) = 4 + 1 - 2·2 = 1: did you leave out the square-root term?": 14.0,
            "That is only the mean term; add the covariance term.": 9.0,
        }, scalar=True, what="frechet_distance(...)"),
        Case("frechet_distance for two Gaussians with diagonal covariances", (mu_3a, torch.diag(a_diag), mu_3b, torch.diag(b_diag)),
             diag_want, _frechet_mistakes(mu_3a, torch.diag(a_diag), mu_3b, torch.diag(b_diag)),
             scalar=True, what="frechet_distance(...)"),
        Case("frechet_distance for Σb = 9 Σa (4-D, not diagonal)", (mu_p, cov_p, torch.zeros(4, dtype=f64), c**2 * cov_p),
             prop_want, _frechet_mistakes(mu_p, cov_p, torch.zeros(4, dtype=f64), c**2 * cov_p),
             scalar=True, what="frechet_distance(...)"),
        Case("frechet_distance for two random 4-D Gaussians", (mu_a, cov_a, mu_b, cov_b), want,
             _frechet_mistakes(mu_a, cov_a, mu_b, cov_b),
             scalar=True, what="frechet_distance(...)", finite="A square root of something negative: the trace "
             "term is the trace of the matrix square root of Σa^{1/2} Σb Σa^{1/2}, whose eigenvalues are >= 0."),
        Case("frechet_distance for the same two Gaussians, swapped", (mu_b, cov_b, mu_a, cov_a), want,
             scalar=True, what="frechet_distance(...)"),
        Case("frechet_distance of a Gaussian with itself", (mu_a, cov_a, mu_a, cov_a), 0.0, atol=1e-8,
             scalar=True, what="frechet_distance(...)"),
    ])  # fmt: skip
    passed(task, f"the closed forms and Tr (Σa Σb)^(1/2) from torch.linalg.eigvals agree (N(0, 4) vs N(3, 1): {results[0]:.4g})")  # fmt: skip


# --------------------------------------------------------------------------- Task 4


def frechet_floor(fn) -> None:
    """``fn(features, n, generator)`` -> the Fréchet distance between rows ``perm[:n]`` and ``perm[n:2n]`` of
    ``features``, ``perm = torch.randperm(len(features), generator=generator)``."""
    task = "frechet_floor"
    gen = _generator(5)
    mix = torch.tensor([[1.0, 0.0, 0.0, 0.0], [0.5, 1.0, 0.0, 0.0], [0.0, -0.4, 0.7, 0.0], [0.2, 0.0, 0.3, 1.5]], dtype=f64)  # fmt: skip
    floors = []
    for n, N, seed in [(100, 300, 11), (150, 300, 12), (400, 800, 13)]:
        features = torch.randn(N, 4, dtype=f64, generator=gen) @ mix.T + 1.0
        perm = torch.randperm(N, generator=_generator(seed))
        a, b = features[perm[:n]], features[perm[n : 2 * n]]
        mistakes = {
            "That is 0: the two sets are the same rows. Take perm[:n] for one set and perm[n:2n] for the other.": 0.0,
            "Each set must hold n rows: you split n rows into two halves.":
                _frechet_features(features[perm[: n // 2]], features[perm[n // 2 : n]]),
            "That compares one set with all of features, which contains it; the two sets must be disjoint.":
                _frechet_features(a, features),
            "Those are the first n rows and the next n rows; draw the sets with "
            "perm = torch.randperm(len(features), generator=generator).":
                _frechet_features(features[:n], features[n : 2 * n]),
        }  # fmt: skip
        state = torch.get_rng_state()  # what randperm without the generator would draw now
        unseeded = torch.randperm(N)
        torch.set_rng_state(state)
        unseeded_sets = features[unseeded[:n]], features[unseeded[n : 2 * n]]
        mistakes["That permutation did not come from the generator passed in: "
                 "torch.randperm(len(features), generator=generator)."] = _frechet_features(*unseeded_sets)  # fmt: skip
        case = Case(f"frechet_floor({N} x 4 Gaussian features, n={n}, generator seeded {seed})",
                    (features, n, _generator(seed)), _frechet_features(a, b), mistakes,
                    scalar=True, what="frechet_floor(...)")  # fmt: skip
        floors.append((n, run(task, fn, [case])[0]))
    shown = ", ".join(f"n={n}: {value:.3g}" for n, value in floors)
    passed(task, f"the distance between two disjoint random sets of n rows ({shown}): above 0 though both sets come from one Gaussian")  # fmt: skip


# --------------------------------------------------------------------------- Task 5


def kth_neighbour_radii(fn) -> None:
    """``fn(x, k)`` -> for each row of ``x`` (N, d), the distance to its k-th nearest neighbour among the other rows."""
    task = "kth_neighbour_radii"
    line = torch.tensor([0.0, 1.0, 3.0, 6.0, 10.0], dtype=f64)[:, None]
    cloud = torch.randn(50, 2, dtype=f64, generator=_generator(6))
    twins = torch.tensor([[0.0, 0.0], [0.0, 0.0], [1.0, 0.0], [3.0, 0.0]], dtype=f64)

    def mistakes(x, k):
        d = _distances(x, x).sort(dim=1).values  # column 0: the point itself
        named = {
            "The nearest point to x is x itself, at distance 0: exclude it, and take the k-th of the *other* points.": d[:, k - 1],
            "That is the (k+1)-th neighbour: after excluding the point itself, take the k-th of the others.": d[:, k + 1] if k + 1 < len(x) else None,
            "Those are squared distances; take the square root.": _radii(x, k) ** 2,
            "That is the mean distance to the k nearest neighbours; the radius is the distance to the k-th.": d[:, 1 : k + 1].mean(dim=1),
            "That is the k-th *farthest* point; sort the distances in increasing order.": d[:, -k],
        }  # fmt: skip
        return {m: v for m, v in named.items() if v is not None}  # fmt: skip

    run(task, fn, [
        Case("kth_neighbour_radii(points 0, 1, 3, 6, 10 on a line, k=1)", (line, 1),
             torch.tensor([1.0, 1.0, 2.0, 3.0, 4.0], dtype=f64), mistakes(line, 1), atol=1e-6,
             shapes={"Return one radius per point, shape (N,).": (5, 1)}),
        Case("kth_neighbour_radii(points 0, 1, 3, 6, 10 on a line, k=2)", (line, 2),
             torch.tensor([3.0, 2.0, 3.0, 4.0, 7.0], dtype=f64), mistakes(line, 2), atol=1e-6),
        Case("kth_neighbour_radii((0, 0), (0, 0), (1, 0), (3, 0), k=1)", (twins, 1),
             torch.tensor([0.0, 0.0, 1.0, 2.0], dtype=f64), {
            "A duplicate of a point is a neighbour at distance 0: exclude only the point itself "
            "(one entry per row), not every zero distance.": torch.tensor([1.0, 1.0, 1.0, 2.0], dtype=f64),
            **mistakes(twins, 1)}, atol=1e-6),
        Case("kth_neighbour_radii(50 random points in 2-D, k=3)", (cloud, 3), _radii(cloud, 3), mistakes(cloud, 3),
             atol=1e-6),
    ])  # fmt: skip
    passed(task, "the distance to the k-th nearest other point, on 4 point sets (duplicates included)")  # fmt: skip


# --------------------------------------------------------------------------- Task 6


def precision_recall(fn) -> None:
    """``fn(real, fake, k)`` -> ``(precision, recall)``: the fraction of ``fake`` inside the real k-NN balls,
    and of ``real`` inside the generated ones (a point on a ball's boundary is inside)."""
    task = "precision_recall"
    gen = _generator(7)
    sets = [
        ("120 real and 100 generated points in 2-D, k=3",
         torch.randn(120, 2, dtype=f64, generator=gen),
         torch.tensor([1.5, 0.0], dtype=f64) + 0.7 * torch.randn(100, 2, dtype=f64, generator=gen), 3),
        ("80 real and 80 generated points in 4-D, k=2",
         torch.randn(80, 4, dtype=f64, generator=gen),
         1.5 * torch.randn(80, 4, dtype=f64, generator=gen) + 0.3, 2),
        ("real 0, 1, 2, 3, 4 and generated 5, 2.5, 7, 8 on a line, k=1 (points on the balls' boundaries)",
         torch.tensor([0.0, 1.0, 2.0, 3.0, 4.0], dtype=f64)[:, None],
         torch.tensor([5.0, 2.5, 7.0, 8.0], dtype=f64)[:, None], 1),
    ]  # fmt: skip
    for name, real, fake, k in sets:
        r_real, r_fake = _radii(real, k), _radii(fake, k)
        P = _fraction_inside(fake, real, r_real)
        R = _fraction_inside(real, fake, r_fake)
        result = call(task, Case(f"precision_recall on {name}", (real, fake, k)), fn, hints={
            "must match the size": "The radii do not line up with the distances. In d = torch.cdist(tested, centres), "
                                   "of shape (tested points, centres), radius j belongs to column j: compare d with "
                                   "radii[None, :]; and the balls around a set's points have that set's radii (the "
                                   "real points' for the real balls, the generated points' for theirs).",
        })  # fmt: skip
        precision, recall = pair(task, result, "(precision, recall)")

        same_size = len(real) == len(fake)
        judge(task, Case(f"precision on {name}", want=P, mistakes={
            "That is the recall: precision is the fraction of *generated* samples inside the real manifold.": R,
            "That is the fraction of generated samples inside their own manifold (always 1): test them against the real balls.":
                _fraction_inside(fake, fake, r_fake),
            **_inside_mistakes(fake, real, k, r_real, r_fake, r_fake if same_size else None),
        }, atol=1e-12, scalar=True, what="precision"), precision)  # fmt: skip
        judge(task, Case(f"recall on {name}", want=R, mistakes={
            "That is the precision: recall is the fraction of *real* samples inside the generated manifold.": P,
            "That is the fraction of real samples inside their own manifold (always 1): test them against the generated balls.":
                _fraction_inside(real, real, r_real),
            **_inside_mistakes(real, fake, k, r_fake, r_real, r_real if same_size else None),
        }, atol=1e-12, scalar=True, what="recall"), recall)  # fmt: skip
    passed(task, "the k-NN definitions of Kynkäänniemi et al. on 3 pairs of sets, boundary ties included")  # fmt: skip
