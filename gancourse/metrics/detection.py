"""Can a generated image be told from a real one? A detector is a classifier of two classes.

:func:`train_detector` trains a :class:`~gancourse.metrics.FeatureClassifier` to label real
images 0 and generated ones 1, by minimising the cross-entropy

.. math:: -\\frac1m \\sum_i \\log \\operatorname{softmax}(f_\\theta(x_i))_{y_i},
          \\qquad y_i = [x_i \\text{ is generated}],

on equal numbers of each: chapter 2's discriminator, trained against a generator that no
longer moves. :func:`detection_accuracy` scores it on images it has not seen, as the
balanced accuracy

.. math:: \\tfrac12\\big(\\Pr[\\text{real called real}] + \\Pr[\\text{generated called generated}]\\big),

which is 1/2 for a coin toss whatever the two sets' sizes, and for the best detector
:math:`\\tfrac12 + \\tfrac12\\,\\mathrm{TV}(p_{data}, p_g)` (:math:`\\mathrm{TV}`, the total
variation distance).

Introduced in chapter 11.
"""

from __future__ import annotations

import torch

from .frechet import FeatureClassifier, classifier_accuracy, train_feature_classifier
from .inputs import as_images

REAL, GENERATED = 0, 1  # the detector's two labels


def train_detector(real, generated, steps: int = 1_000, batch_size: int = 64, lr: float = 1e-3,
                   seed: int = 0, device=None) -> FeatureClassifier:  # fmt: skip
    """A :class:`FeatureClassifier` of two classes trained to tell ``real`` images (label 0)
    from ``generated`` ones (label 1).

    Args:
        real, generated: images of shape (N, 1, 28, 28) in [-1, 1], the same number of each
            (so that the detector cannot win by guessing the larger class).
        steps, batch_size, lr, seed, device: as in :func:`train_feature_classifier`, whose
            minibatches are drawn from both sets together.

    Returns:
        The trained detector, in eval mode, its parameters frozen.

    Introduced in chapter 11.
    """
    real, generated = as_images(real, "real"), as_images(generated, "generated")
    if len(real) != len(generated):
        raise ValueError(f"real and generated must hold the same number of images, got {len(real)} and {len(generated)}.")  # fmt: skip
    x = torch.cat([real, generated])
    y = torch.cat([torch.full((len(real),), REAL), torch.full((len(generated),), GENERATED)])
    return train_feature_classifier(x, y, steps=steps, batch_size=batch_size, lr=lr, seed=seed,
                                    device=device, num_classes=2)  # fmt: skip


def detection_accuracy(detector: FeatureClassifier, real, generated) -> float:
    """The balanced accuracy of ``detector`` on held-out ``real`` and ``generated`` images:
    the mean of its accuracy on each set (1/2 is chance; 1, every image told apart).

    Introduced in chapter 11.
    """
    real, generated = as_images(real, "real"), as_images(generated, "generated")
    on_real = classifier_accuracy(detector, real, torch.full((len(real),), REAL))
    on_generated = classifier_accuracy(detector, generated, torch.full((len(generated),), GENERATED))
    return (on_real + on_generated) / 2
