"""The course's data: toy distributions generated in code, and 28x28 image datasets.

Toy data (no files): the 2-D Gaussian of the first GAN, 1-D Gaussians, and the two
mixtures used to measure mode collapse (PacGAN / VEEGAN settings):

- :func:`ring`: 8 Gaussians on the unit circle, std 0.01;
- :func:`grid`: 25 Gaussians on {-4, -2, 0, 2, 4}^2, std 0.05.

Images: :func:`fashion_mnist` and :func:`mnist` return tensors of shape (N, 1, 28, 28)
scaled to [-1, 1] (the range of a tanh generator). Nothing is downloaded unless you ask
(``download=True``). Sources, tried in order:

1. ``root`` (or the ``GANCOURSE_DATA`` environment variable): a folder with the four
   IDX files, gzipped or not, directly or under ``FashionMNIST/raw`` / ``MNIST/raw``;
2. Debian's package ``dataset-fashion-mnist`` (``/usr/share/datasets/fashion-mnist``);
3. torchvision's download into ``root`` (default ``~/.cache/gancourse``), only if
   ``download=True``, giving up after ``$GANCOURSE_DOWNLOAD_TIMEOUT`` seconds (default 30)
   without an answer from the server.
"""

from __future__ import annotations

import gzip
import math
import os
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .settings import env_seconds

DATA_ENV_VAR = "GANCOURSE_DATA"
DEFAULT_ROOT = Path("~/.cache/gancourse").expanduser()
TIMEOUT_ENV_VAR = "GANCOURSE_DOWNLOAD_TIMEOUT"
DEFAULT_TIMEOUT = 30.0  # seconds without an answer before a download gives up


# --------------------------------------------------------------------------- toy data


@dataclass(frozen=True)
class Gaussian:
    """A Gaussian :math:`\\mathcal N(\\mu, \\Sigma)` in ``d`` dimensions.

    Introduced in chapter 7.
    """

    mean: torch.Tensor  # (d,)
    cov: torch.Tensor  # (d, d)

    @property
    def dim(self) -> int:
        return self.mean.numel()

    def sample(self, n: int, seed: int | None = None, generator: torch.Generator | None = None):
        """``n`` samples, shape (n, d): :math:`x = \\mu + Lz`, :math:`LL^\\top = \\Sigma`, :math:`z\\sim\\mathcal N(0, I)`."""
        generator = _generator(seed, generator)
        z = torch.randn(n, self.dim, generator=generator, dtype=self.mean.dtype)
        L = torch.linalg.cholesky(self.cov)
        return self.mean + z @ L.T


def gaussian_1d(mu: float = 0.0, sigma: float = 1.0) -> Gaussian:
    """A 1-D Gaussian :math:`\\mathcal N(\\mu, \\sigma^2)`; samples have shape (n, 1).

    Introduced in chapter 0.
    """
    if sigma <= 0:
        raise ValueError(f"sigma must be positive, got {sigma}")
    return Gaussian(torch.tensor([float(mu)]), torch.tensor([[float(sigma) ** 2]]))


def gaussian_2d(mean=(1.0, -1.0), cov=((1.0, 0.6), (0.6, 0.5))) -> Gaussian:
    """The 2-D Gaussian the course's first GAN learns (correlated, off-centre by default).

    Introduced in chapter 0.
    """
    mean_t = torch.as_tensor(mean, dtype=torch.float32).reshape(2)
    cov_t = torch.as_tensor(cov, dtype=torch.float32).reshape(2, 2)
    if not torch.allclose(cov_t, cov_t.T) or torch.linalg.eigvalsh(cov_t).min() <= 0:
        raise ValueError("cov must be a symmetric positive-definite 2x2 matrix")
    return Gaussian(mean_t, cov_t)


@dataclass(frozen=True)
class GaussianMixture:
    """A mixture of isotropic Gaussians with common std, as in PacGAN's benchmarks: equal
    weights unless ``weights`` are given (then mode k has probability ``weights[k]``).

    Introduced in chapter 3.
    """

    centers: torch.Tensor  # (K, d)
    std: float
    weights: torch.Tensor | None = None  # (K,), >= 0, summing to 1; None: 1/K each

    def __post_init__(self):
        if self.weights is None:
            return
        w = torch.as_tensor(self.weights, dtype=torch.float64)
        if w.shape != (self.n_modes,) or not torch.isfinite(w).all() or (w < 0).any() or abs(float(w.sum()) - 1) > 1e-6:
            raise ValueError(f"weights must be {self.n_modes} non-negative numbers summing to 1, one per mode; got {self.weights!r:.80}")  # fmt: skip
        object.__setattr__(self, "weights", w)

    @property
    def n_modes(self) -> int:
        return self.centers.shape[0]

    def reweighted(self, weights) -> GaussianMixture:
        """The same modes with probabilities ``weights`` (K numbers >= 0 summing to 1).

        Introduced in chapter 11.
        """
        return GaussianMixture(self.centers, self.std, weights)

    def pdf(self, x) -> torch.Tensor:
        """Density at points ``x`` of shape (N, d), or (N,) in 1-D, as float64:
        :math:`p(x) = \\sum_k w_k\\, \\mathcal N(x; c_k, \\sigma^2 I)`, :math:`w_k = 1/K` by default."""
        x = torch.as_tensor(x, dtype=torch.float64)
        x = x.reshape(-1, 1) if x.dim() == 1 else x
        d = self.centers.shape[1]
        sq = torch.cdist(x, self.centers.double()) ** 2
        norm = (2 * math.pi * self.std**2) ** (d / 2)
        densities = torch.exp(-0.5 * sq / self.std**2)
        mixed = densities.mean(dim=1) if self.weights is None else densities @ self.weights
        return mixed / norm

    def log_pdf(self, x) -> torch.Tensor:
        """:math:`\\log p(x)` at points ``x`` of shape (N, d), or (N,) in 1-D, as float64, by
        log-sum-exp: finite far from every centre, where :meth:`pdf` rounds to 0.

        Introduced in chapter 11.
        """
        x = torch.as_tensor(x, dtype=torch.float64)
        x = x.reshape(-1, 1) if x.dim() == 1 else x
        d = self.centers.shape[1]
        w = torch.full((self.n_modes,), 1 / self.n_modes, dtype=torch.float64) if self.weights is None else self.weights
        sq = torch.cdist(x, self.centers.double()) ** 2
        return torch.logsumexp(w.log() - 0.5 * sq / self.std**2, dim=1) - 0.5 * d * math.log(2 * math.pi * self.std**2)

    def sample(self, n: int, seed: int | None = None, generator: torch.Generator | None = None):
        """``n`` samples, shape (n, d): pick a centre (uniformly, or with the weights), add :math:`\\sigma z`."""
        generator = _generator(seed, generator)
        if self.weights is None:
            k = torch.randint(self.n_modes, (n,), generator=generator)
        else:
            k = torch.multinomial(self.weights, n, replacement=True, generator=generator)
        noise = torch.randn(n, self.centers.shape[1], generator=generator, dtype=self.centers.dtype)
        return self.centers[k] + self.std * noise


@dataclass(frozen=True)
class Empirical:
    """The empirical distribution of a set of points: ``sample`` draws from them with replacement.

    Introduced in chapter 7.
    """

    points: torch.Tensor  # (N, d)

    def sample(self, n: int, seed: int | None = None, generator: torch.Generator | None = None):
        """``n`` of the points, shape (n, d), drawn uniformly with replacement."""
        index = torch.randint(self.points.shape[0], (n,), generator=_generator(seed, generator))
        return self.points[index]


def ring(n_modes: int = 8, radius: float = 1.0, std: float = 0.01) -> GaussianMixture:
    """``n_modes`` Gaussians evenly spaced on a circle: centres at angles :math:`2\\pi k/K`, k = 0..K-1.

    (Not ``linspace(0, 2π, K)``, which puts the first and last centre on the same point.)

    Introduced in chapter 0.
    """
    if n_modes < 1:
        raise ValueError(f"n_modes must be at least 1, got {n_modes}")
    angles = 2 * math.pi * torch.arange(n_modes, dtype=torch.float64) / n_modes
    centers = radius * torch.stack([torch.cos(angles), torch.sin(angles)], dim=1)
    return GaussianMixture(centers.float(), float(std))


def grid(side: int = 5, spacing: float = 2.0, std: float = 0.05) -> GaussianMixture:
    """``side``² Gaussians on a square grid centred on 0: {-4, -2, 0, 2, 4}² by default.

    Introduced in chapter 8.
    """
    if side < 1:
        raise ValueError(f"side must be at least 1, got {side}")
    ticks = spacing * (torch.arange(side, dtype=torch.float32) - (side - 1) / 2)
    gx, gy = torch.meshgrid(ticks, ticks, indexing="ij")
    return GaussianMixture(torch.stack([gx.flatten(), gy.flatten()], dim=1), float(std))


def _generator(seed: int | None, generator: torch.Generator | None) -> torch.Generator | None:
    if generator is not None:
        return generator
    if seed is not None:
        return torch.Generator().manual_seed(seed)
    return None


# --------------------------------------------------------------------------- images

FASHION_MNIST_CLASSES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)  # fmt: skip

DEBIAN_FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")

_FILES = {
    True: ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    False: ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
SPLIT_SIZES = {True: 60_000, False: 10_000}  # images in the train and test splits of (Fashion-)MNIST


def fashion_mnist(
    train: bool = True,
    root: str | os.PathLike | None = None,
    download: bool = False,
    limit: int | None = None,
    labels: bool = False,
):
    """Fashion-MNIST (Xiao et al., 2017): 28x28 greyscale clothes, 10 classes.

    Args:
        train: the 60,000 training images, or the 10,000 test images.
        root: a folder holding the IDX files; defaults to ``$GANCOURSE_DATA``.
        download: let torchvision download the files into ``root`` if no source has them.
        limit: keep only the first ``limit`` images.
        labels: also return the class labels.

    Returns:
        ``x`` of shape (N, 1, 28, 28), float32 in [-1, 1]; with ``labels=True``, ``(x, y)``
        with ``y`` int64 of shape (N,).

    Introduced in chapter 5.
    """
    return _load_images("FashionMNIST", train, root, download, limit, labels)


def mnist(
    train: bool = True,
    root: str | os.PathLike | None = None,
    download: bool = False,
    limit: int | None = None,
    labels: bool = False,
):
    """MNIST digits (LeCun et al., 1998), same format and sources as :func:`fashion_mnist`
    (there is no Debian package for it: give ``root`` or ``download=True``)."""
    return _load_images("MNIST", train, root, download, limit, labels)


def to_image_range(pixels: torch.Tensor) -> torch.Tensor:
    """Map uint8 pixels {0..255} to [-1, 1]: :math:`x = p/127.5 - 1`.

    Introduced in chapter 5.
    """
    return pixels.float().div(127.5).sub(1.0)


def _load_images(name, train, root, download, limit, labels):
    if limit is not None and limit < 1:
        raise ValueError(f"limit must be a positive number of images, got {limit}")
    root = _root(root)
    images_name, labels_name = _FILES[train]
    found = locate_images(name, train, root)
    if found is not None:
        pixels = torch.from_numpy(_read_idx(_find(found, images_name), ndim=3))
        targets = torch.from_numpy(_read_idx(_find(found, labels_name), ndim=1)).long()
    elif download:
        pixels, targets = _torchvision_download(name, root, train)
    else:
        hint = "sudo apt-get install dataset-fashion-mnist, or " if name == "FashionMNIST" else ""
        searched = ", ".join(str(f) for f in _folders(name, root))
        raise FileNotFoundError(
            f"{name} was not found in {searched}. "
            f"Install it ({hint}pass download=True to let torchvision download it, "
            f"or set {DATA_ENV_VAR} to a folder holding {images_name}[.gz] and {labels_name}[.gz])."
        )
    if pixels.shape[0] != targets.shape[0]:
        raise ValueError(f"{name}: {pixels.shape[0]} images but {targets.shape[0]} labels; the files are corrupt.")
    if limit is not None:
        pixels, targets = pixels[:limit], targets[:limit]
    x = to_image_range(pixels).unsqueeze(1)
    return (x, targets) if labels else x


def _root(root) -> Path:
    return Path(root or os.environ.get(DATA_ENV_VAR) or DEFAULT_ROOT).expanduser()


def _folders(name: str, root: Path) -> list[Path]:
    debian = [DEBIAN_FASHION_MNIST] if name == "FashionMNIST" else []
    return [root, root / name / "raw", *debian]


def locate_images(name: str, train: bool, root: str | os.PathLike | None = None) -> Path | None:
    """The first folder that holds both IDX files of a split (``name``: "FashionMNIST" or "MNIST"), if any."""
    root = _root(root)
    for folder in _folders(name, root):
        if all(_find(folder, stem) for stem in _FILES[train]):
            return folder
    return None


def _find(folder: Path, stem: str) -> Path | None:
    for candidate in (folder / stem, folder / f"{stem}.gz"):
        if candidate.is_file():
            return candidate
    return None


def _read_idx(path: Path, ndim: int) -> np.ndarray:
    """Read an IDX file (the MNIST format): magic 0x0000 08 ndim, big-endian sizes, uint8 data."""
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError, zlib.error) as err:  # zlib.error: a damaged deflate block in a .gz file
        raise ValueError(f"{path} could not be read ({err}); delete it and fetch it again.") from err
    header = 4 + 4 * ndim
    if len(raw) < header or raw[:3] != b"\x00\x00\x08" or raw[3] != ndim:
        raise ValueError(f"{path} is not a {ndim}-D uint8 IDX file; delete it and fetch it again.")
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    expected = header + int(np.prod(shape))
    if len(raw) != expected:
        raise ValueError(
            f"{path} holds {len(raw)} bytes but its header announces {expected}; "
            "the file is truncated or corrupt: delete it and fetch it again."
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(shape).copy()


def download_timeout() -> float:
    """Seconds a download waits for the server: ``$GANCOURSE_DOWNLOAD_TIMEOUT``, default 30."""
    return env_seconds(TIMEOUT_ENV_VAR, DEFAULT_TIMEOUT, "a number of seconds; set it to e.g. 30, or unset it.")


def _torchvision_download(name: str, root: Path, train: bool):
    import socket

    import torchvision

    dataset_cls = getattr(torchvision.datasets, name)
    timeout = download_timeout()
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(timeout)  # torchvision opens its URLs without a timeout of its own
    try:
        dataset = dataset_cls(str(root), train=train, download=True)
    except Exception as err:  # torchvision raises several kinds of network errors
        if isinstance(err, TimeoutError) or "timed out" in str(err):
            reason = f"no answer from the server within {timeout:g} s (set {TIMEOUT_ENV_VAR} to wait longer)"
        else:
            reason = (str(err).strip().splitlines() or [type(err).__name__])[0]
        raise FileNotFoundError(
            f"{name} could not be downloaded into {root}: {reason}. Without internet, install "
            f"the files by hand and point {DATA_ENV_VAR} (or root=) at them"
            + (" or run: sudo apt-get install dataset-fashion-mnist" if name == "FashionMNIST" else "")
            + "."
        ) from err
    finally:
        socket.setdefaulttimeout(previous)
    return dataset.data, dataset.targets
