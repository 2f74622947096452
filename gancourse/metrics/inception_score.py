"""The Inception Score (Salimans et al., 2016): how confidently, and how evenly, a classifier
labels the samples.

For samples :math:`x_1, \\dots, x_N` and a classifier's class probabilities
:math:`p(y \\mid x_i)`, with :math:`\\hat p(y) = \\frac1N \\sum_i p(y \\mid x_i)` their mean,

.. math::

    \\mathrm{IS} = \\exp\\Big(\\frac1N \\sum_i \\mathrm{KL}\\big(p(y \\mid x_i) \\,\\|\\, \\hat p(y)\\big)\\Big)
                 = \\exp\\big(H(\\hat p) - \\tfrac1N \\textstyle\\sum_i H(p(\\cdot \\mid x_i))\\big),

the exponential of the mutual information between the sample and its label, so
:math:`1 \\le \\mathrm{IS} \\le C` for :math:`C` classes: 1 when every sample gets the same
probabilities, :math:`C` when each is labelled with certainty and the classes are used
equally. With Inception-v3's 1,000 ImageNet classes it is the published score; with the
course's Fashion-MNIST classifier it is a "classifier score", comparable only with itself.
It never looks at real data (Barratt and Sharma, 2018), so it cannot see a generator that
copies its training set, or one that draws a single confident image per class.
"""

from __future__ import annotations

import torch
from torch.special import xlogy

from .inputs import as_points


def inception_score(probabilities) -> float:
    """``exp(mean_i KL(p(y|x_i) || mean_j p(y|x_j)))`` of the (N, C) class probabilities, one row a sample.

    Rows must be probability vectors (non-negative, summing to 1 within 1e-4; e.g. a softmax of
    logits); :math:`0 \\log 0 = 0`. One split of all N samples (Salimans et al. average 10 splits
    of 5,000); the score rises with N towards its limit, so compare scores at equal N.

    Introduced in chapter 9.
    """
    p = as_points(probabilities, "probabilities")
    if (p < 0).any() or not torch.allclose(p.sum(dim=1), torch.ones(len(p), dtype=p.dtype), atol=1e-4):
        raise ValueError(
            "probabilities must be rows of non-negative numbers summing to 1 (a softmax over the classes), "
            f"got row sums from {p.sum(dim=1).min().item():.4g} to {p.sum(dim=1).max().item():.4g}"
        )
    marginal = p.mean(dim=0, keepdim=True)
    kl = (xlogy(p, p) - xlogy(p, marginal)).sum(dim=1)
    return torch.exp(kl.mean()).item()
