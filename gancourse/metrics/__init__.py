"""Measuring a generator: its modes on the toy mixtures, its manifold, and Fréchet distances.

- :mod:`~gancourse.metrics.toy`: :func:`mode_coverage` on a Gaussian mixture with known
  centres (modes covered, % high quality, reverse KL of the mode histogram: VEEGAN / PacGAN),
  and :func:`sinkhorn_w1`, the Earth-Mover distance between two point sets.
- :mod:`~gancourse.metrics.manifold`: :func:`precision_recall` (Kynkäänniemi et al., 2019) and
  :func:`density_coverage` (Naeem et al., 2020) from k-nearest-neighbour balls, and
  :func:`nearest_neighbours`, the memorisation check.
- :mod:`~gancourse.metrics.frechet`: :func:`frechet_classifier_distance`, FID's formula in the
  features of :class:`FeatureClassifier`, a small CNN trained on the real data
  (:func:`train_feature_classifier`): **not** comparable with published FIDs, so reported
  beside the real-vs-real floor; :func:`frechet_distance` on features already computed.
- :mod:`~gancourse.metrics.inception_score`: :func:`inception_score` (Salimans et al., 2016) of a
  classifier's class probabilities; with the course's classifier, the "classifier score".
- :mod:`~gancourse.metrics.proportions`: :func:`class_frequencies`, the share of images a
  classifier assigns to each class.
- :mod:`~gancourse.metrics.membership`: :func:`membership_attack`, LOGAN's membership
  inference with a discriminator's scores (its :func:`auc` and accuracy).
- :mod:`~gancourse.metrics.detection`: :func:`train_detector`, a two-class
  :class:`FeatureClassifier` that tells real images from generated ones, and
  :func:`detection_accuracy`, its balanced accuracy on held-out images (1/2 is chance).
- :mod:`~gancourse.metrics.inception`: :func:`inception_fid`, the Fréchet Inception Distance
  itself, where torch-fidelity and its weights can be had; elsewhere it fails at once with
  :class:`InceptionUnavailable`, which points back to :func:`frechet_classifier_distance`.

Their inputs are checked by :mod:`~gancourse.metrics.inputs`. Import this package
(``from gancourse import metrics``); every measure is one of its names.
"""

from .detection import detection_accuracy, train_detector
from .frechet import (
    FeatureClassifier,
    classifier_accuracy,
    frechet_classifier_distance,
    frechet_distance,
    train_feature_classifier,
)
from .inception import (
    INCEPTION_FEATURES,
    INCEPTION_WEIGHTS_URL,
    InceptionUnavailable,
    inception_fid,
)
from .inception import (
    _inception_input as _inception_input,  # tests/test_metrics.py checks its 8-bit pixels
)
from .inception_score import inception_score
from .manifold import (
    DensityCoverage,
    PrecisionRecall,
    density_coverage,
    nearest_neighbours,
    precision_recall,
)
from .membership import MembershipAttack, auc, membership_attack
from .proportions import class_frequencies
from .toy import ModeCoverage, mode_coverage, sinkhorn_w1

__all__ = [
    "DensityCoverage", "FeatureClassifier", "INCEPTION_FEATURES", "INCEPTION_WEIGHTS_URL", "InceptionUnavailable",
    "MembershipAttack", "ModeCoverage", "PrecisionRecall", "auc", "class_frequencies", "classifier_accuracy", "density_coverage", "detection_accuracy", "frechet_classifier_distance",
    "frechet_distance", "inception_fid", "inception_score", "membership_attack", "mode_coverage", "nearest_neighbours", "precision_recall", "sinkhorn_w1",
    "train_detector", "train_feature_classifier",
]  # fmt: skip

# A measure's public address is this package (help(), pickles, the fault table of
# tests/test_faults.py): gancourse.metrics.mode_coverage, not gancourse.metrics.toy.mode_coverage.
# Functions only: a class's source is found through its __module__.
for _name in __all__:
    if callable(globals()[_name]) and not isinstance(globals()[_name], type):
        globals()[_name].__module__ = __name__
del _name
