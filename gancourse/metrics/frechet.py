"""The Fréchet distance between two image sets, in the features of a small classifier trained on the real data.

A Gaussian is fitted to each set's features (sample mean, unbiased covariance), and

.. math:: d^2 = \\|\\mu_a - \\mu_b\\|_2^2
          + \\operatorname{Tr}\\bigl(\\Sigma_a + \\Sigma_b - 2(\\Sigma_a\\Sigma_b)^{1/2}\\bigr)

is the squared 2-Wasserstein distance between them: FID's formula (Heusel et al., 2017).
:class:`FeatureClassifier` is the feature space, trained by :func:`train_feature_classifier`
and checked by :func:`classifier_accuracy`; :func:`frechet_classifier_distance` measures in
it, :func:`frechet_distance` on features already computed, :func:`network_frechet_distance`
in any network's (Inception-v3's for :func:`gancourse.metrics.inception_fid`). In our own
features the values are **not** comparable with published FIDs: report them beside the
real-vs-real floor (the distance between two real subsets).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..device import default_device
from .inputs import as_features, as_images, device_of, require_finite, require_positive


class FeatureClassifier(nn.Module):
    """A small CNN for 28x28 greyscale images whose penultimate layer serves as a feature space.

    ``forward`` returns the features (that is what torchmetrics' Fréchet distance calls);
    ``logits`` adds the linear classification head used to train it.

    Args:
        num_features: size of the feature vector (the covariance is num_features^2).
        num_classes: number of classes (10 for Fashion-MNIST).
        width: channels of the first convolution (doubled in the second).
    """

    def __init__(self, num_features: int = 64, num_classes: int = 10, width: int = 16):
        super().__init__()
        self.num_features = num_features  # read by torchmetrics instead of a dummy forward pass
        self.features = nn.Sequential(
            nn.Conv2d(1, width, 4, 2, 1),  # width x 14 x 14
            nn.ReLU(),
            nn.Conv2d(width, 2 * width, 4, 2, 1),  # (2*width) x 7 x 7
            nn.ReLU(),
            nn.Flatten(),
            nn.Linear(2 * width * 7 * 7, num_features),  # num_features
            nn.ReLU(),
        )
        self.head = nn.Linear(num_features, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        """Features of images ``x`` (N, 1, 28, 28) in [-1, 1]; returns (N, num_features)."""
        if x.dim() != 4 or tuple(x.shape[1:]) != (1, 28, 28):
            raise ValueError(f"expected images of shape (N, 1, 28, 28), got {tuple(x.shape)}")
        return self.features(x)

    def logits(self, x: Tensor) -> Tensor:
        """Class logits, shape (N, num_classes)."""
        return self.head(self(x))


def train_feature_classifier(
    x,
    y,
    steps: int = 1000,
    batch_size: int = 64,
    lr: float = 1e-3,
    seed: int = 0,
    device: str | torch.device | None = None,
    num_features: int = 64,
    num_classes: int = 10,
) -> FeatureClassifier:
    """Train a :class:`FeatureClassifier` on labelled real images with Adam and cross-entropy.

    .. math:: \\min_\\theta\\; -\\frac1m \\sum_i \\log \\operatorname{softmax}(f_\\theta(x_i))_{y_i}

    Deterministic for a given ``seed`` on the CPU (initial weights and minibatches come from
    it; the global random state is left untouched); GPU kernels may add tiny differences.

    Args:
        x: images, shape (N, 1, 28, 28), float in [-1, 1] (e.g. ``data.fashion_mnist(labels=True)``).
        y: labels, shape (N,), integers in [0, num_classes).
        steps: Adam steps, each on ``batch_size`` images drawn with replacement.
        batch_size: images per step.
        lr: Adam's learning rate.
        seed: seed for the initial weights and the minibatches.
        device: where to train; :func:`gancourse.device.default_device` picks if ``None``.
        num_features: size of the feature layer.
        num_classes: number of classes (10 for Fashion-MNIST and MNIST).

    Returns:
        The trained classifier on ``device``, in eval mode, with ``requires_grad=False`` on
        every parameter (it is a fixed measuring instrument).

    Introduced in chapter 5.
    """
    x = torch.as_tensor(x, dtype=torch.float32)
    y = torch.as_tensor(y).long()
    if x.dim() != 4 or tuple(x.shape[1:]) != (1, 28, 28):
        raise ValueError(f"x must have shape (N, 1, 28, 28), got {tuple(x.shape)}")
    if y.shape != (x.shape[0],):
        raise ValueError(f"y must have shape ({x.shape[0]},) to match x, got {tuple(y.shape)}")
    require_positive(steps, "steps", integer=True)
    require_positive(batch_size, "batch_size", integer=True)
    require_positive(lr, "lr")
    require_finite(x, "x")
    if int(y.min()) < 0 or int(y.max()) >= num_classes:
        raise ValueError(
            f"labels must lie in [0, {num_classes}), got [{int(y.min())}, {int(y.max())}]"
        )
    device = default_device(device)
    with torch.random.fork_rng(devices=[]):  # seed the initial weights, restore the global RNG
        torch.manual_seed(seed)
        classifier = FeatureClassifier(num_features=num_features, num_classes=num_classes)
    classifier.to(device).train()
    optimizer = torch.optim.Adam(classifier.parameters(), lr=lr)
    batches = torch.Generator().manual_seed(seed)
    for _ in range(steps):
        idx = torch.randint(x.shape[0], (batch_size,), generator=batches)
        loss = F.cross_entropy(classifier.logits(x[idx].to(device)), y[idx].to(device))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    classifier.eval()
    classifier.requires_grad_(False)
    return classifier


@torch.no_grad()
def classifier_accuracy(classifier: FeatureClassifier, x, y, batch_size: int = 1000) -> float:
    """Fraction of images ``x`` (N, 1, 28, 28) whose predicted class equals ``y`` (N,).

    Introduced in chapter 5.
    """
    x, y = torch.as_tensor(x, dtype=torch.float32), torch.as_tensor(y)
    if len(x) == 0 or y.shape != (len(x),):
        raise ValueError(f"x and y must hold the same number (>= 1) of images and labels, got {tuple(x.shape)} and {tuple(y.shape)}.")  # fmt: skip
    require_finite(x, "x")
    require_positive(batch_size, "batch_size", integer=True)
    return int((predicted_classes(classifier, x, batch_size) == y).sum()) / x.shape[0]


@torch.no_grad()
def predicted_classes(classifier: nn.Module, x: Tensor, batch_size: int) -> Tensor:
    """The most probable class of each image of ``x`` by ``classifier.logits``, on the CPU,
    ``batch_size`` images per forward pass (the inputs already checked)."""
    device = device_of(classifier)
    return torch.cat([classifier.logits(x[start : start + batch_size].to(device)).argmax(dim=1).cpu()
                      for start in range(0, len(x), batch_size)])  # fmt: skip


def frechet_classifier_distance(
    x_a, x_b, classifier: FeatureClassifier, batch_size: int = 500
) -> float:
    """Fréchet distance between two image sets in a classifier's feature space.

    Fit a Gaussian :math:`\\mathcal N(\\mu, \\Sigma)` to the features of each set (sample
    mean, unbiased covariance) and take the squared 2-Wasserstein distance between them:

    .. math:: d^2 = \\|\\mu_a - \\mu_b\\|_2^2
              + \\operatorname{Tr}\\bigl(\\Sigma_a + \\Sigma_b - 2(\\Sigma_a\\Sigma_b)^{1/2}\\bigr)

    the formula of FID (Heusel et al., 2017), but in the feature space of a
    :class:`FeatureClassifier` trained on the real data, not Inception-v3's: not comparable
    with published FIDs. It is symmetric, 0 for identical sets, and positive between two
    samples of the same distribution (the real-vs-real floor, which shrinks as N grows):
    compare a generator against that floor, at the same N.

    Computed by ``torchmetrics.image.fid.FrechetInceptionDistance(feature=classifier,
    reset_real_features=True, normalize=True)``: with a custom module it passes the images
    through unchanged (``normalize=True`` only says they are float), reads
    ``classifier.num_features``, accumulates the statistics in float64 and takes the trace
    of the square root from the eigenvalues of :math:`\\Sigma_a\\Sigma_b`
    (``torch.linalg.eigvals``); it needs neither torch-fidelity nor scipy. The metric stays
    on the CPU (float64 statistics); the classifier runs on its own device.

    Args:
        x_a, x_b: images, shapes (N_a, 1, 28, 28) and (N_b, 1, 28, 28), in [-1, 1], N >= 2.
        classifier: a trained :class:`FeatureClassifier` (or any module mapping images to
            (N, num_features) with a ``num_features`` attribute).
        batch_size: images per forward pass.

    Returns:
        :math:`d^2` as a float (>= 0 up to rounding).

    Introduced in chapter 5.
    """
    return network_frechet_distance(x_a, x_b, classifier, batch_size)


def frechet_distance(f_a, f_b) -> float:
    """The Fréchet distance :math:`d^2` between Gaussians fitted to two sets of features.

    The formula of :func:`frechet_classifier_distance`, for features already computed, shapes
    (N_a, d) and (N_b, d), N >= 2 (sample means, unbiased covariances), by the same torchmetrics
    computation in float64.

    Introduced in chapter 9.
    """
    from torchmetrics.image.fid import FrechetInceptionDistance  # imported here: slow import

    f_a, f_b = as_features(f_a, "f_a"), as_features(f_b, "f_b")
    if f_a.shape[1] != f_b.shape[1]:
        raise ValueError(f"f_a and f_b have {f_a.shape[1]} and {f_b.shape[1]} features; they must match.")
    metric = FrechetInceptionDistance(feature=_GivenFeatures(f_a.shape[1]), reset_real_features=True, normalize=True)
    metric.update(f_a, real=True)
    metric.update(f_b, real=False)
    return float(metric.compute())


class _GivenFeatures(nn.Module):
    """The identity, for torchmetrics' FID on features that are already computed."""

    def __init__(self, num_features: int):
        super().__init__()
        self.num_features = num_features

    def forward(self, x: Tensor) -> Tensor:
        return x


def network_frechet_distance(x_a, x_b, network: nn.Module, batch_size: int, prepare=None) -> float:
    """d^2 between the Gaussians fitted to ``network``'s features of two image sets.

    ``prepare`` (if given) turns each batch of (N, 1, 28, 28) images in [-1, 1] into what
    ``network`` takes. The statistics accumulate in float64 on the CPU (torchmetrics).
    """
    from torchmetrics.image.fid import FrechetInceptionDistance  # imported here: slow import

    x_a = as_images(x_a, "x_a")
    x_b = as_images(x_b, "x_b")
    require_positive(batch_size, "batch_size", integer=True)
    metric = FrechetInceptionDistance(
        feature=_FeaturesToCPU(network), reset_real_features=True, normalize=True
    )
    for images, real in ((x_a, True), (x_b, False)):  # "real" / "fake" are just set a / set b
        for start in range(0, images.shape[0], batch_size):
            batch = images[start : start + batch_size]
            metric.update(batch if prepare is None else prepare(batch), real=real)
    return float(metric.compute())


class _FeaturesToCPU(nn.Module):
    """Runs the classifier on its own device and hands its features back on the CPU."""

    def __init__(self, classifier: nn.Module):
        super().__init__()
        self.classifier = classifier
        self.num_features = int(classifier.num_features)

    @torch.no_grad()
    def forward(self, x: Tensor) -> Tensor:
        return self.classifier(x.to(device_of(self.classifier))).float().cpu()
