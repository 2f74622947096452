"""The Fréchet Inception Distance itself: FID in the features of the Inception-v3 that published FIDs use.

:func:`inception_fid` fits a Gaussian to the 2,048 pool3 features of each image set and returns
:math:`\\|\\mu_a - \\mu_b\\|_2^2 + \\operatorname{Tr}(\\Sigma_a + \\Sigma_b - 2(\\Sigma_a\\Sigma_b)^{1/2})`
(Heusel et al., 2017), with torch-fidelity's port of the TensorFlow weights, fetched once
into torch hub's cache (:mod:`gancourse.download`). Where torch-fidelity or the weights cannot
be had (no internet, the ``fid`` extra not installed) it fails at once with
:class:`InceptionUnavailable`, whose one line names
:func:`~gancourse.metrics.frechet_classifier_distance` as the measure that works offline.
"""

from __future__ import annotations

import http.client
import inspect
import pickle
from pathlib import Path

import torch
from torch import Tensor, nn

from ..data import download_timeout
from ..device import default_device
from ..download import download, failure_reason, first_line
from .frechet import network_frechet_distance
from .inputs import as_images

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
    x_a = as_images(x_a, "x_a")  # wrong input fails before any weights are fetched
    x_b = as_images(x_b, "x_b")
    if feature_network is None:
        feature_network = _inception_v3(default_device(device))
    return network_frechet_distance(x_a, x_b, feature_network, batch_size, prepare=_inception_input)


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
            f"({type(err).__name__}: {first_line(err)}); delete the file so that the next "
            f"call downloads it again, or {_OFFLINE_MEASURE}."
        ) from err
    return _Inception(network).to(device)


def _inception_weights() -> Path:
    """The path of the Inception-v3 weights in torch hub's cache, downloaded first if absent."""
    url = _weights_url()
    folder = Path(torch.hub.get_dir()) / "checkpoints"
    name = url.rsplit("/", 1)[-1]
    path = folder / name
    if path.is_file():
        return path
    timeout = download_timeout()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        download(url, path, timeout)
    except (OSError, http.client.HTTPException, ValueError) as err:
        raise InceptionUnavailable(
            f"Inception FID needs the Inception-v3 weights {name}, which are not in torch "
            f"hub's cache {folder} and could not be downloaded from {url}: "
            f"{failure_reason(err, timeout)}. Put that file into that folder (fetch it "
            f"where there is internet), or {_OFFLINE_MEASURE}."
        ) from err
    return path


def _weights_url() -> str:
    """:data:`INCEPTION_WEIGHTS_URL` as the package :mod:`gancourse.metrics` holds it at the call:
    pointing ``metrics.INCEPTION_WEIGHTS_URL`` at a mirror (or a test's server) takes effect."""
    from .. import metrics

    return metrics.INCEPTION_WEIGHTS_URL
