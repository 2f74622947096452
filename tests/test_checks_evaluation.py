"""The references of assignment 7's checks (``gancourse/checks/evaluation.py``) met by a second route.

``tests/test_assignments.py`` runs these checks on the solution and on wrong answers; here
the references themselves are compared with independent computations: the trace term with
the symmetric route of chapter 5, the radii and the fractions inside the balls with
:func:`gancourse.metrics.precision_recall` (tested against hand values in test_metrics.py).
"""

from __future__ import annotations

import pytest
import torch

from gancourse import metrics
from gancourse.checks import CheckFailed, evaluation, f64


def _symmetric_route(cov_a, cov_b):
    lam, V = torch.linalg.eigh(cov_a)
    root = V @ torch.diag(lam.clamp(min=0).sqrt()) @ V.T
    return torch.linalg.eigvalsh(root @ cov_b @ root).clamp(min=0).sqrt().sum()


@pytest.mark.parametrize("rank", [5, 2])  # full rank, and singular covariances as from few samples
def test_the_trace_term_from_eigvals_equals_the_symmetric_route(rank):
    gen = torch.Generator().manual_seed(rank)
    for _ in range(5):
        A, B = (torch.randn(5, rank, dtype=f64, generator=gen) for _ in range(2))
        cov_a, cov_b = A @ A.T, B @ B.T
        want = _symmetric_route(cov_a, cov_b)
        got = evaluation._trace_sqrt_product(cov_a, cov_b)
        assert torch.allclose(got, want, rtol=1e-6, atol=1e-6)


def test_the_radii_and_the_fractions_inside_agree_with_metrics_precision_recall():
    gen = torch.Generator().manual_seed(0)
    for k in (1, 3):
        real = torch.randn(90, 3, dtype=f64, generator=gen)
        fake = 0.4 + 1.3 * torch.randn(70, 3, dtype=f64, generator=gen)
        precision = evaluation._fraction_inside(fake, real, evaluation._radii(real, k))
        recall = evaluation._fraction_inside(real, fake, evaluation._radii(fake, k))
        package = metrics.precision_recall(real, fake, k=k)
        assert (precision, recall) == pytest.approx((package.precision, package.recall), abs=1e-12)


def test_a_result_that_is_not_a_pair_is_refused_with_what_to_return():
    with pytest.raises(CheckFailed, match=r"should return the pair \(precision, recall\)"):
        evaluation.precision_recall(lambda real, fake, k: 0.5)
    with pytest.raises(CheckFailed, match=r"should return the pair \(mu, cov\)"):
        evaluation.gaussian_stats(lambda features: features.mean(dim=0))
