"""Does a generator keep the data's proportions? Class frequencies read by a classifier.

A classifier trained on labelled real images (:func:`~gancourse.metrics.train_feature_classifier`)
assigns each image its most probable class; :func:`class_frequencies` counts the shares. Its
own mistakes shift the shares of real images too, so a generator's shares are compared with
the same classifier's shares on real images, for example by their total variation distance
(:func:`gancourse.theory.tv_distance`).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from .frechet import predicted_classes
from .inputs import require_finite, require_positive


def class_frequencies(classifier: nn.Module, x, batch_size: int = 1000) -> Tensor:
    """The share of images ``x`` (N, 1, 28, 28) that ``classifier`` assigns to each class.

    .. math:: \\hat p_k = \\frac1N \\sum_i \\mathbb 1[\\arg\\max_j \\ell_j(x_i) = k]

    for the logits :math:`\\ell` of ``classifier.logits``.

    Returns:
        A float64 tensor of shape (K,) on the CPU, summing to 1.

    Introduced in chapter 11.
    """
    x = torch.as_tensor(x.detach().cpu() if isinstance(x, Tensor) else x, dtype=torch.float32)
    if x.dim() != 4 or tuple(x.shape[1:]) != (1, 28, 28) or len(x) == 0:
        raise ValueError(f"x must hold images of shape (N, 1, 28, 28), N >= 1, got {tuple(x.shape)}")
    require_finite(x, "x")
    require_positive(batch_size, "batch_size", integer=True)
    predicted = predicted_classes(classifier, x, batch_size)
    return torch.bincount(predicted, minlength=classifier.head.out_features).double() / len(x)

