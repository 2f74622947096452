"""The references of assignment 7's checks (``gancourse/checks/evaluation.py``) met by a second route.

``tests/test_assignments.py`` runs these checks on the solution and on wrong answers; here
each check's ``reference`` is compared with an independent computation, and the check
accepts that computation as a right answer: the Fréchet distance with the trace term by the
symmetric route of chapter 5, precision and recall by
:func:`gancourse.metrics.precision_recall` (tested against hand values in test_metrics.py).
"""

from __future__ import annotations

import pytest
import torch

from gancourse import metrics
from gancourse.checks import CheckFailed, evaluation, f64


def _symmetric_route(cov_a, cov_b):
    """Tr (Σa Σb)^{1/2} as the trace of the square root of the symmetric Σa^{1/2} Σb Σa^{1/2}."""
    lam, V = torch.linalg.eigh(cov_a)
    root = V @ torch.diag(lam.clamp(min=0).sqrt()) @ V.T
    return torch.linalg.eigvalsh(root @ cov_b @ root).clamp(min=0).sqrt().sum()


def _frechet_by_the_symmetric_route(mu_a, cov_a, mu_b, cov_b):
    return (mu_a - mu_b).pow(2).sum() + cov_a.trace() + cov_b.trace() - 2 * _symmetric_route(cov_a, cov_b)


@pytest.mark.parametrize("rank", [5, 2])  # full rank, and singular covariances as from few samples
def test_the_frechet_reference_equals_the_symmetric_route(rank):
    """The reference takes Tr (Σa Σb)^{1/2} from the eigenvalues of the non-symmetric Σa Σb."""
    gen = torch.Generator().manual_seed(rank)
    for _ in range(5):
        A, B = (torch.randn(5, rank, dtype=f64, generator=gen) for _ in range(2))
        cov_a, cov_b = A @ A.T, B @ B.T
        mu_a, mu_b = (torch.randn(5, dtype=f64, generator=gen) for _ in range(2))
        want = _frechet_by_the_symmetric_route(mu_a, cov_a, mu_b, cov_b)
        got = evaluation.frechet_distance.reference(mu_a, cov_a, mu_b, cov_b)
        assert torch.allclose(got, want, rtol=1e-6, atol=1e-6)
    evaluation.frechet_distance.results(_frechet_by_the_symmetric_route)  # and the check accepts that route


def _precision_recall_of_metrics(real, fake, k):
    found = metrics.precision_recall(real, fake, k=k)
    return found.precision, found.recall


def test_the_precision_recall_reference_agrees_with_metrics_precision_recall():
    gen = torch.Generator().manual_seed(0)
    for k in (1, 3):
        real = torch.randn(90, 3, dtype=f64, generator=gen)
        fake = 0.4 + 1.3 * torch.randn(70, 3, dtype=f64, generator=gen)
        reference = evaluation.precision_recall.reference(real, fake, k)
        assert reference == pytest.approx(_precision_recall_of_metrics(real, fake, k), abs=1e-12)
    evaluation.precision_recall.results(_precision_recall_of_metrics)  # and the check accepts the package's


def test_a_result_that_is_not_a_pair_is_refused_with_what_to_return():
    with pytest.raises(CheckFailed, match=r"should return the pair \(precision, recall\)"):
        evaluation.precision_recall(lambda real, fake, k: 0.5)
    with pytest.raises(CheckFailed, match=r"should return the pair \(mu, cov\)"):
        evaluation.gaussian_stats(lambda features: features.mean(dim=0))
