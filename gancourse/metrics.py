"""Measuring a generator: mode coverage on toy mixtures, and a Fréchet distance on images.

- :func:`mode_coverage`: on a Gaussian mixture with known centres (the 8-mode ring, the
  25-mode grid), how many modes a generator's samples reach, how many samples are
  high quality, and how evenly they spread over the modes (VEEGAN / PacGAN metrics).
- :func:`sinkhorn_w1`: the Earth-Mover distance between two point sets, an independent
  check on a WGAN critic's estimate.
- :func:`frechet_classifier_distance`: the Fréchet distance between Gaussians fitted to
  two image sets in the feature space of :class:`FeatureClassifier`, a small CNN trained
  on the real data (:func:`train_feature_classifier`). It is FID's formula with our own
  features instead of Inception-v3's, so its values are **not** comparable with published
  FIDs; report them beside the real-vs-real floor (the distance between two real subsets).
- :func:`precision_recall`: precision and recall for generative models (Kynkäänniemi et
  al., 2019): how many generated samples fall inside the real data's k-nearest-neighbour
  manifold, and how many real samples inside the generated one's.
- :func:`inception_fid`: the Fréchet Inception Distance itself, in the features of the
  Inception-v3 network that published FIDs use, where torch-fidelity and its weights can be
  had (Colab, a workstation online); elsewhere it fails at once with
  :class:`InceptionUnavailable`, which points back to :func:`frechet_classifier_distance`.
"""

from __future__ import annotations

import hashlib
import http.client
import inspect
import math
import numbers
import pickle
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from gancourse.checkpoint import atomic_write
from gancourse.data import TIMEOUT_ENV_VAR, download_timeout
from gancourse.device import default_device

Tensor = torch.Tensor


# --------------------------------------------------------------------------- mode coverage


@dataclass(frozen=True, eq=False)
class ModeCoverage:
    """The result of :func:`mode_coverage`."""

    modes: int  # modes covered: those with at least one high-quality sample
    n_modes: int  # K, the number of modes of the mixture
    high_quality: (
        float  # fraction in [0, 1] of the samples within threshold * std of their nearest mode
    )
    reverse_kl: float  # KL(mode histogram of the high-quality samples || uniform), nats
    counts: Tensor  # (K,) int64, high-quality samples per mode

    def __str__(self) -> str:
        return (
            f"{self.modes}/{self.n_modes} modes, {100 * self.high_quality:.1f}% high quality, "
            f"reverse KL {self.reverse_kl:.3f} nats"
        )


def mode_coverage(samples, centers, std: float, threshold: float = 3.0) -> ModeCoverage:
    """Mode coverage of generated samples on a mixture of isotropic Gaussians.

    The definitions of VEEGAN (Srivastava et al., 2017) and PacGAN (Lin et al., 2018):

    - each sample :math:`x` is assigned to its nearest centre
      :math:`k(x) = \\arg\\min_k \\|x - c_k\\|_2`;
    - it is **high quality** if :math:`\\|x - c_{k(x)}\\|_2 < \\tau\\sigma` (:math:`\\tau = 3`);
    - a mode is **covered** if at least one high-quality sample is assigned to it;
    - the **reverse KL** compares the histogram :math:`\\hat p_k = n_k / \\sum_j n_j` of the
      high-quality samples over the modes with the uniform distribution over the K modes:

      .. math:: \\mathrm{KL}(\\hat p\\,\\|\\,U_K) = \\sum_{k:\\,\\hat p_k > 0} \\hat p_k \\log(K \\hat p_k)
                = \\log K - H(\\hat p)

    Choices, following PacGAN's code (``MetricLogger`` in its synthetic-data experiments,
    and the KL of its stacked-MNIST experiments): only high-quality samples enter the
    histogram (in stacked MNIST a classifier labels every sample, so there all of them
    do); empty bins contribute :math:`0 \\log 0 = 0`, so the KL is finite: 0 for perfect
    balance, :math:`\\log K` when every high-quality sample sits on one mode. It is the
    *reverse* KL because the generator's histogram comes first; a dropped mode costs
    nothing by itself, only through the mass piled on the other modes. With no high-quality sample at all the histogram is
    undefined and ``reverse_kl`` is ``inf``. Non-finite samples count as low quality.

    For a perfect sampler in 2-D, :math:`\\|x - c\\|/\\sigma` is Rayleigh distributed, so
    the expected high-quality fraction is :math:`1 - e^{-\\tau^2/2} = 0.98889` for
    :math:`\\tau = 3`, and the reverse KL is :math:`\\approx (K-1)/(2N)` (sampling noise).
    PacGAN's benchmarks use 2,500 samples.

    Args:
        samples: generated points, shape (N, d), numpy or torch, any device.
        centers: mode centres, shape (K, d).
        std: the common standard deviation :math:`\\sigma` of the modes (> 0).
        threshold: :math:`\\tau`, the radius in units of ``std`` (> 0).

    Returns:
        A :class:`ModeCoverage` (``counts`` is a CPU int64 tensor of shape (K,)).

    Raises:
        ValueError: on empty input, wrong shapes, mismatched dimensions, centres that are
            not finite, or a ``std`` / ``threshold`` that is not positive and finite.

    Introduced in chapter 7.
    """
    x = _as_points(samples, "samples", finite=False)  # a sample that is NaN is not high quality
    c = _as_points(centers, "centers", finite=False)
    if not torch.isfinite(c).all():
        raise ValueError(
            f"centers must be finite; {int((~torch.isfinite(c)).any(dim=1).sum())} of them hold NaN or inf."
        )
    if x.shape[1] != c.shape[1]:
        raise ValueError(
            f"samples have {x.shape[1]} dimensions but centers have {c.shape[1]}: "
            f"shapes {tuple(x.shape)} and {tuple(c.shape)}"
        )
    if not (std > 0 and math.isfinite(std)):
        raise ValueError(f"std must be a positive number, got {std}")
    _require_positive(threshold, "threshold")
    K = c.shape[0]
    distance, nearest = torch.cdist(x, c).min(dim=1)  # (N,), (N,)
    good = distance < threshold * std  # NaN/inf distances compare False
    counts = torch.bincount(nearest[good], minlength=K)
    n_good = int(counts.sum())
    if n_good == 0:
        reverse_kl = math.inf
    else:
        p = counts.double() / n_good
        reverse_kl = float(torch.special.xlogy(p, p * K).sum())
    return ModeCoverage(
        modes=int((counts > 0).sum()),
        n_modes=K,
        high_quality=n_good / x.shape[0],
        reverse_kl=reverse_kl,
        counts=counts,
    )


def _as_points(points, name: str, finite: bool = True) -> Tensor:
    if isinstance(points, Tensor):
        points = points.detach().cpu()
    points = torch.as_tensor(points, dtype=torch.float64)
    if points.dim() != 2 or points.shape[0] == 0 or points.shape[1] == 0:
        raise ValueError(f"{name} must have shape (N, d) with N, d >= 1, got {tuple(points.shape)}")
    if finite:
        _require_finite(points, name)
    return points


def _require_finite(x: Tensor, name: str) -> None:
    """One line naming the argument when ``x`` holds NaN or inf (a diverged generator's samples)."""
    bad = ~torch.isfinite(x.reshape(len(x), -1)).all(dim=1) if x.dim() else ~torch.isfinite(x)
    if bad.any():
        raise ValueError(
            f"{name} holds NaN or inf in {int(bad.sum())} of {bad.numel()} samples; a diverged generator "
            "gives such samples: score a checkpoint from before the divergence."
        )


def _require_positive(value, name: str, integer: bool = False) -> None:
    """One line naming the argument unless ``value`` is a positive finite number (or integer; a bool is neither)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral if integer else numbers.Real) or not 0 < value < math.inf:
        raise ValueError(f"{name} must be a positive {'integer' if integer else 'number'}, got {value!r}.")


# --------------------------------------------------------------------------- Earth-Mover distance


def sinkhorn_w1(x, y, eps: float = 0.01, iters: int = 300) -> float:
    """The Earth-Mover distance between two point sets, by Sinkhorn's algorithm (Cuturi, 2013).

    Each point carries mass 1/n (1/m). Entropic regularisation turns the transport problem
    into :math:`\\min_\\gamma \\mathbb E_\\gamma\\|x - y\\| - \\varepsilon H(\\gamma)`, solved by
    alternating scalings of the rows and columns of :math:`e^{-C/\\varepsilon}` (here in the
    log domain, stable for small :math:`\\varepsilon`). Returns the transport cost
    :math:`\\sum_{ij}\\gamma_{ij}\\|x_i - y_j\\|` of the resulting plan: a little above the
    exact distance of the two sets for a small :math:`\\varepsilon` (in the units of the data).
    The distance between two *samples* is itself above that of their distributions, by a
    sampling bias that shrinks as n grows.

    Args:
        x, y: point sets (n, d) and (m, d), numpy or torch.
        eps: the regularisation, in the units of the data (> 0).
        iters: Sinkhorn iterations (>= 1).

    Raises:
        ValueError: on empty, non-finite or mismatched point sets, or an ``eps`` or ``iters``
            that is not positive.

    Introduced in chapter 7.
    """
    x, y = _as_points(x, "x").double(), _as_points(y, "y").double()
    _require_positive(eps, "eps")
    _require_positive(iters, "iters", integer=True)
    cost = torch.cdist(x, y)
    log_a = torch.full((len(x),), -math.log(len(x)), dtype=torch.float64)
    log_b = torch.full((len(y),), -math.log(len(y)), dtype=torch.float64)
    u, v = torch.zeros_like(log_a), torch.zeros_like(log_b)
    for _ in range(iters):
        u = eps * (log_a - torch.logsumexp((v[None, :] - cost) / eps, dim=1))
        v = eps * (log_b - torch.logsumexp((u[:, None] - cost) / eps, dim=0))
    plan = torch.exp((u[:, None] + v[None, :] - cost) / eps)
    return float((plan * cost).sum())


# --------------------------------------------------------------------------- precision and recall


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
    real, fake = _as_features(real, "real"), _as_features(fake, "fake")
    if real.shape[1] != fake.shape[1]:
        raise ValueError(f"real and fake have {real.shape[1]} and {fake.shape[1]} features; they must match.")
    if isinstance(k, bool) or not (isinstance(k, int) and 1 <= k < min(len(real), len(fake))):
        raise ValueError(f"k must be an integer in 1 .. {min(len(real), len(fake)) - 1} (fewer than each set's size), got {k!r}.")
    _require_positive(batch_size, "batch_size", integer=True)
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
    real, fake = _as_features(real, "real"), _as_features(fake, "fake")
    if real.shape[1] != fake.shape[1]:
        raise ValueError(f"real and fake have {real.shape[1]} and {fake.shape[1]} features; they must match.")
    if isinstance(k, bool) or not (isinstance(k, int) and 1 <= k < len(real)):
        raise ValueError(f"k must be an integer in 1 .. {len(real) - 1} (fewer than the real samples), got {k!r}.")
    _require_positive(batch_size, "batch_size", integer=True)
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
    _require_finite(x, "x")
    _require_finite(pool, "pool")
    _require_positive(batch_size, "batch_size", integer=True)
    index = torch.cat([torch.cdist(x[i : i + batch_size], pool).argmin(dim=1) for i in range(0, len(x), batch_size)])
    return (x.double() - pool[index].double()).norm(dim=1), index


def _as_features(x, name: str) -> Tensor:
    """:func:`_as_points` of ``x`` flattened to (N, d), at least 2 rows, all finite."""
    x = torch.as_tensor(x.detach().cpu() if isinstance(x, Tensor) else x)
    x = _as_points(x.reshape(x.shape[0], -1) if x.dim() > 2 else x, name)
    if x.shape[0] < 2:
        raise ValueError(f"{name} must have shape (N, d) with N >= 2, got {tuple(x.shape)}")
    return x


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


# --------------------------------------------------------------------------- Fréchet distance


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
    _require_positive(steps, "steps", integer=True)
    _require_positive(batch_size, "batch_size", integer=True)
    _require_positive(lr, "lr")
    _require_finite(x, "x")
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
    device = _device_of(classifier)
    x, y = torch.as_tensor(x, dtype=torch.float32), torch.as_tensor(y)
    if len(x) == 0 or y.shape != (len(x),):
        raise ValueError(f"x and y must hold the same number (>= 1) of images and labels, got {tuple(x.shape)} and {tuple(y.shape)}.")  # fmt: skip
    _require_finite(x, "x")
    _require_positive(batch_size, "batch_size", integer=True)
    correct = 0
    for start in range(0, x.shape[0], batch_size):
        logits = classifier.logits(x[start : start + batch_size].to(device))
        correct += int((logits.argmax(dim=1).cpu() == y[start : start + batch_size]).sum())
    return correct / x.shape[0]


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
    return _frechet_distance(x_a, x_b, classifier, batch_size)


def frechet_distance(f_a, f_b) -> float:
    """The Fréchet distance :math:`d^2` between Gaussians fitted to two sets of features.

    The formula of :func:`frechet_classifier_distance`, for features already computed, shapes
    (N_a, d) and (N_b, d), N >= 2 (sample means, unbiased covariances), by the same torchmetrics
    computation in float64.

    Introduced in chapter 9.
    """
    from torchmetrics.image.fid import FrechetInceptionDistance  # imported here: slow import

    f_a, f_b = _as_features(f_a, "f_a"), _as_features(f_b, "f_b")
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


def _frechet_distance(x_a, x_b, network: nn.Module, batch_size: int, prepare=None) -> float:
    """d^2 between the Gaussians fitted to ``network``'s features of two image sets.

    ``prepare`` (if given) turns each batch of (N, 1, 28, 28) images in [-1, 1] into what
    ``network`` takes. The statistics accumulate in float64 on the CPU (torchmetrics).
    """
    from torchmetrics.image.fid import FrechetInceptionDistance  # imported here: slow import

    x_a = _as_images(x_a, "x_a")
    x_b = _as_images(x_b, "x_b")
    _require_positive(batch_size, "batch_size", integer=True)
    metric = FrechetInceptionDistance(
        feature=_FeaturesToCPU(network), reset_real_features=True, normalize=True
    )
    for images, real in ((x_a, True), (x_b, False)):  # "real" / "fake" are just set a / set b
        for start in range(0, images.shape[0], batch_size):
            batch = images[start : start + batch_size]
            metric.update(batch if prepare is None else prepare(batch), real=real)
    return float(metric.compute())


# --------------------------------------------------------------------------- Inception FID

# torch-fidelity's port of the TensorFlow Inception-v3 (2015-12-05) that FID is defined with;
# torchmetrics' Inception loads it. The name ends in the first hex digits of its SHA-256.
INCEPTION_WEIGHTS_URL = (
    "https://github.com/toshas/torch-fidelity/releases/download/v0.2.0/"
    "weights-inception-2015-12-05-6726825d.pth"
)
INCEPTION_FEATURES = 2048  # the pool3 layer, the features of every published FID

_OFFLINE_MEASURE = (
    "measure offline with metrics.frechet_classifier_distance (the same formula in the "
    "features of a small classifier trained on the real images)"
)
_NOT_INSTALLED = (
    "Inception FID needs torch-fidelity, which is not installed: pip install torch-fidelity "
    "(or the course's extra, gancourse[fid]). Without it, " + _OFFLINE_MEASURE + "."
)


class InceptionUnavailable(RuntimeError):
    """Inception FID cannot be computed here; the one-line message says why and what to do.

    Raised by :func:`inception_fid` when torch-fidelity is not installed, or when the
    Inception-v3 weights are neither in torch hub's cache nor downloadable. The message
    names :func:`frechet_classifier_distance` as the measure that works offline.

    Introduced in chapter 5.
    """


def inception_fid(
    x_a,
    x_b,
    feature_network: nn.Module | None = None,
    batch_size: int = 50,
    device: str | torch.device | None = None,
) -> float:
    """Fréchet Inception Distance (FID) between two sets of Fashion-MNIST-like images.

    The features are the 2,048 activations of Inception-v3's last pooling layer (pool3),
    with the TensorFlow weights of the original FID (Heusel et al., 2017) as ported by
    torch-fidelity; a Gaussian is fitted to each set's features (sample mean, unbiased
    covariance) and

    .. math:: \\mathrm{FID} = \\|\\mu_a - \\mu_b\\|_2^2
              + \\operatorname{Tr}\\bigl(\\Sigma_a + \\Sigma_b - 2(\\Sigma_a\\Sigma_b)^{1/2}\\bigr)

    is returned (the squared Fréchet distance, as in :func:`frechet_classifier_distance`,
    which this shares its computation with). The greyscale images in [-1, 1] are mapped to
    [0, 1], repeated over 3 colour channels and rounded to 8 bits, as saving them to PNG
    would; the network resizes them to 299x299 with TensorFlow 1's bilinear resize, as the
    original implementation (torchmetrics' ``NoTrainInceptionV3`` with
    ``antialias=False`` where torchmetrics has that option).

    Its values are comparable with published FIDs only under the same protocol (papers
    usually compare 50,000 generated images with the training set): the estimate is biased
    upwards by an amount that grows as N shrinks (Bińkowski et al., 2018).
    Use more than 2,048 images per set: with fewer, each covariance is singular.

    The weights file (about 95 MB) is looked up in torch hub's cache,
    ``$TORCH_HOME/hub/checkpoints`` (``torch.hub.get_dir()``); if absent it is downloaded
    from :data:`INCEPTION_WEIGHTS_URL` into a temporary file that is renamed into place only
    once complete and checked (SHA-256), giving up when the server sends nothing for
    ``$GANCOURSE_DOWNLOAD_TIMEOUT`` seconds (default 30).

    Args:
        x_a, x_b: images, shapes (N_a, 1, 28, 28) and (N_b, 1, 28, 28), in [-1, 1], N >= 2.
        feature_network: ``None`` for Inception-v3; or a stand-in module that maps a batch
            of the converted images, (N, 3, 28, 28) floats in [0, 1], to features (N, F),
            with a ``num_features`` attribute (as ``frechet_classifier_distance``'s
            classifier). It runs on its own device and needs neither torch-fidelity nor
            any weights.
        batch_size: images per forward pass (Inception at 299x299 is memory hungry).
        device: where Inception runs; :func:`gancourse.device.default_device` if ``None``
            (on a CPU it is slow: minutes per few thousand images).

    Returns:
        FID as a float (>= 0 up to rounding).

    Raises:
        InceptionUnavailable: at once, without Inception: when torch-fidelity is not
            installed ("Inception FID needs torch-fidelity, which is not installed: pip
            install torch-fidelity ..."), or when the weights are not cached and cannot be
            downloaded ("Inception FID needs the Inception-v3 weights
            weights-inception-2015-12-05-6726825d.pth, which are not in torch hub's cache
            <folder> and could not be downloaded from <url>: <error> ..."); both end by
            naming ``metrics.frechet_classifier_distance`` as the offline measure.
        ValueError: on images of the wrong shape, fewer than 2 of them, or NaN or inf in them,
            or a ``batch_size`` that is not a positive integer.

    Introduced in chapter 5.
    """
    x_a = _as_images(x_a, "x_a")  # wrong input fails before any weights are fetched
    x_b = _as_images(x_b, "x_b")
    if feature_network is None:
        feature_network = _inception_v3(default_device(device))
    return _frechet_distance(x_a, x_b, feature_network, batch_size, prepare=_inception_input)


def _inception_input(x: Tensor) -> Tensor:
    """(N, 1, 28, 28) in [-1, 1] -> (N, 3, 28, 28) in [0, 1], on the 256 levels of 8-bit pixels."""
    levels = ((x.clamp(-1, 1) + 1) * 127.5).round()  # a real pixel p in 0..255 comes back as p
    return (levels / 255).expand(-1, 3, -1, -1)


class _Inception(nn.Module):
    """torchmetrics' Inception-v3 on images in [0, 1]: 8-bit pixels in, 2,048 features out."""

    num_features = INCEPTION_FEATURES

    def __init__(self, network: nn.Module):
        super().__init__()
        self.network = network

    def forward(self, x: Tensor) -> Tensor:
        # rounded, where torchmetrics' own (x * 255).byte() truncates 63 of the 256 levels of a
        # real image one level down (p / 127.5 - 1 does not map back to p exactly in float32)
        return self.network((x * 255).round().to(torch.uint8))


def _inception_v3(device: torch.device) -> nn.Module:
    """torchmetrics' Inception-v3 (pool3 features) on ``device``, or InceptionUnavailable."""
    try:
        import torch_fidelity  # noqa: F401  (torchmetrics' Inception is torch-fidelity's)
    except ImportError as err:
        raise InceptionUnavailable(_NOT_INSTALLED) from err
    weights = _inception_weights()
    from torchmetrics.image.fid import NoTrainInceptionV3

    options = {"antialias": False}  # TensorFlow 1's resize, as published FIDs
    if "antialias" not in inspect.signature(NoTrainInceptionV3.__init__).parameters:
        options = {}  # older torchmetrics: always TensorFlow 1's resize
    try:
        network = NoTrainInceptionV3(
            name="inception-v3-compat",
            features_list=[str(INCEPTION_FEATURES)],
            feature_extractor_weights_path=str(weights),
            **options,
        )
    except ModuleNotFoundError as err:  # torchmetrics did not find torch-fidelity
        raise InceptionUnavailable(_NOT_INSTALLED) from err
    except (RuntimeError, EOFError, pickle.UnpicklingError) as err:
        raise InceptionUnavailable(
            f"Inception FID: the cached weights {weights} cannot be read "
            f"({type(err).__name__}: {_first_line(err)}); delete the file so that the next "
            f"call downloads it again, or {_OFFLINE_MEASURE}."
        ) from err
    return _Inception(network).to(device)


def _inception_weights() -> Path:
    """The path of the Inception-v3 weights in torch hub's cache, downloaded first if absent."""
    folder = Path(torch.hub.get_dir()) / "checkpoints"
    name = INCEPTION_WEIGHTS_URL.rsplit("/", 1)[-1]
    path = folder / name
    if path.is_file():
        return path
    timeout = download_timeout()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        _download(INCEPTION_WEIGHTS_URL, path, timeout)
    except (OSError, http.client.HTTPException, ValueError) as err:
        raise InceptionUnavailable(
            f"Inception FID needs the Inception-v3 weights {name}, which are not in torch "
            f"hub's cache {folder} and could not be downloaded from {INCEPTION_WEIGHTS_URL}: "
            f"{_download_failure(err, timeout)}. Put that file into that folder (fetch it "
            f"where there is internet), or {_OFFLINE_MEASURE}."
        ) from err
    return path


def _download(url: str, path: Path, timeout: float) -> None:
    """Fetch ``url`` into ``path``: all of it, checked, or nothing (:func:`gancourse.checkpoint.atomic_write`).

    ``timeout`` bounds each wait for the server (connecting, and every read), so a proxy
    that never answers fails after ``timeout`` seconds. The file's name ends in the first
    hex digits of its SHA-256 (torch.hub's convention), which the download must match.
    """
    expected = path.stem.rsplit("-", 1)[-1]
    opener = urllib.request.build_opener()  # reads the proxy variables now, not at first use
    with opener.open(url, timeout=timeout) as response:
        content = bytearray()
        while chunk := response.read(1 << 20):
            content += chunk
    digest = hashlib.sha256(content).hexdigest()
    if not digest.startswith(expected):
        raise ValueError(
            f"what arrived is not that file (its SHA-256 begins {digest[:8]}, "
            f"not {expected}; a truncated download or a proxy's error page)"
        )
    atomic_write(path, bytes(content))


def _download_failure(err: BaseException, timeout: float) -> str:
    """One line saying why a download failed."""
    if isinstance(err, urllib.error.HTTPError | ValueError):
        return _first_line(err)  # "HTTP Error 404: Not Found", or the checksum's verdict
    reason = err.reason if isinstance(err, urllib.error.URLError) else err
    if isinstance(reason, TimeoutError):
        return f"no answer within {timeout:g} s (set {TIMEOUT_ENV_VAR} to wait longer)"
    if isinstance(reason, BaseException):
        return f"{type(reason).__name__}: {_first_line(reason)}"
    return f"{type(err).__name__}: {reason}"


def _first_line(err: BaseException) -> str:
    return (str(err).strip().splitlines() or [""])[0]


class _FeaturesToCPU(nn.Module):
    """Runs the classifier on its own device and hands its features back on the CPU."""

    def __init__(self, classifier: nn.Module):
        super().__init__()
        self.classifier = classifier
        self.num_features = int(classifier.num_features)

    @torch.no_grad()
    def forward(self, x: Tensor) -> Tensor:
        return self.classifier(x.to(_device_of(self.classifier))).float().cpu()


def _device_of(module: nn.Module) -> torch.device:
    param = next(module.parameters(), None)
    return param.device if param is not None else torch.device("cpu")


def _as_images(x, name: str) -> Tensor:
    if isinstance(x, Tensor):
        x = x.detach().cpu()
    x = torch.as_tensor(x, dtype=torch.float32)
    if x.dim() != 4 or tuple(x.shape[1:]) != (1, 28, 28):
        raise ValueError(f"{name} must have shape (N, 1, 28, 28), got {tuple(x.shape)}")
    if x.shape[0] < 2:
        raise ValueError(
            f"{name} needs at least 2 images to estimate a covariance, got {x.shape[0]}"
        )
    _require_finite(x, name)
    return x
