"""What the measures take: point sets, features and images, checked, or one line naming the argument.

A point set is an (N, d) array or tensor, N, d >= 1, turned into float64 (:func:`as_points`);
features are (N, ...) flattened to (N, d) with N >= 2 (:func:`as_features`); images are
(N, 1, 28, 28) in [-1, 1] as float32 with N >= 2, enough to estimate a covariance
(:func:`as_images`). Tensors are detached and moved to the CPU first. NaN or inf in the
samples, a diverged generator's, is refused (:func:`require_finite`), and so is a size or a
step that is not positive (:func:`require_positive`).
"""

from __future__ import annotations

import numbers

import torch
from torch import Tensor, nn

from ..settings import is_number, require


def as_points(points, name: str, finite: bool = True) -> Tensor:
    """``points`` as a float64 CPU tensor (N, d), N, d >= 1; finite unless ``finite=False``."""
    if isinstance(points, Tensor):
        points = points.detach().cpu()
    points = torch.as_tensor(points, dtype=torch.float64)
    if points.dim() != 2 or points.shape[0] == 0 or points.shape[1] == 0:
        raise ValueError(f"{name} must have shape (N, d) with N, d >= 1, got {tuple(points.shape)}")
    if finite:
        require_finite(points, name)
    return points


def as_features(x, name: str) -> Tensor:
    """:func:`as_points` of ``x`` flattened to (N, d), at least 2 rows, all finite."""
    x = torch.as_tensor(x.detach().cpu() if isinstance(x, Tensor) else x)
    x = as_points(x.reshape(x.shape[0], -1) if x.dim() > 2 else x, name)
    if x.shape[0] < 2:
        raise ValueError(f"{name} must have shape (N, d) with N >= 2, got {tuple(x.shape)}")
    return x


def as_images(x, name: str) -> Tensor:
    """``x`` as float32 CPU images (N, 1, 28, 28), N >= 2 (a covariance needs two), all finite."""
    if isinstance(x, Tensor):
        x = x.detach().cpu()
    x = torch.as_tensor(x, dtype=torch.float32)
    if x.dim() != 4 or tuple(x.shape[1:]) != (1, 28, 28):
        raise ValueError(f"{name} must have shape (N, 1, 28, 28), got {tuple(x.shape)}")
    if x.shape[0] < 2:
        raise ValueError(
            f"{name} needs at least 2 images to estimate a covariance, got {x.shape[0]}"
        )
    require_finite(x, name)
    return x


def require_finite(x: Tensor, name: str) -> None:
    """One line naming the argument when ``x`` holds NaN or inf (a diverged generator's samples)."""
    bad = ~torch.isfinite(x.reshape(len(x), -1)).all(dim=1) if x.dim() else ~torch.isfinite(x)
    if bad.any():
        raise ValueError(
            f"{name} holds NaN or inf in {int(bad.sum())} of {bad.numel()} samples; a diverged generator "
            "gives such samples: score a checkpoint from before the divergence."
        )


def require_positive(value, name: str, integer: bool = False) -> None:
    """One line naming the argument unless ``value`` is a positive finite number (or integer; a bool is neither)."""
    ok = is_number(value) and value > 0 and (not integer or isinstance(value, numbers.Integral))
    require(ok, name, value, f"a positive {'integer' if integer else 'number'}")


def device_of(module: nn.Module) -> torch.device:
    """Where ``module``'s parameters are (the CPU for a module without any)."""
    param = next(module.parameters(), None)
    return param.device if param is not None else torch.device("cpu")
