"""Device selection: the course's code runs on whatever accelerator PyTorch finds, or the CPU.

Order: the ``GANCOURSE_DEVICE`` environment variable or an explicit argument, then
``torch.accelerator`` (PyTorch >= 2.6: CUDA, ROCm, MPS, XPU, ...), then CUDA and MPS
checked directly for older PyTorch, then the CPU. Nothing in the package assumes CUDA.
"""

from __future__ import annotations

import os

import torch

from .settings import env_count

ENV_VAR = "GANCOURSE_DEVICE"
THREADS_ENV_VAR = "GANCOURSE_THREADS"


def default_device(preferred: str | torch.device | None = None) -> torch.device:
    """Return the device to train on.

    Args:
        preferred: ``"cpu"``, ``"cuda"``, ``"cuda:1"``, ``"mps"``, ... or ``None`` for automatic
            selection. ``GANCOURSE_DEVICE`` plays the same role when ``preferred`` is ``None``.

    Raises:
        ValueError: if the requested device is not a device name PyTorch knows, or is
            not available on this machine.

    Introduced in chapter 5.
    """
    preferred = preferred if preferred is not None else os.environ.get(ENV_VAR) or None
    if preferred is not None:
        try:
            device = torch.device(preferred)
        except RuntimeError as err:
            raise ValueError(
                f"{preferred!r} is not a device name; use 'cpu', 'cuda', 'cuda:0', 'mps', ..."
            ) from err
        if not _available(device):
            raise ValueError(
                f"device {str(device)!r} was requested but is not available here; "
                f"use 'cpu' or leave {ENV_VAR} unset to pick automatically."
            )
        return device
    accelerator = getattr(torch, "accelerator", None)
    if accelerator is not None and accelerator.is_available():
        return torch.device(accelerator.current_accelerator())
    if torch.cuda.is_available():
        return torch.device("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def _available(device: torch.device) -> bool:
    if device.type == "cpu":
        return True
    if device.type == "cuda":
        return torch.cuda.is_available() and (device.index or 0) < torch.cuda.device_count()
    if device.type == "mps":
        mps = getattr(torch.backends, "mps", None)
        return mps is not None and mps.is_available()
    accelerator = getattr(torch, "accelerator", None)
    if accelerator is not None and accelerator.is_available():
        return accelerator.current_accelerator().type == device.type
    return False


def set_cpu_threads(default: int = 1) -> int:
    """Set PyTorch's CPU threads: ``GANCOURSE_THREADS`` if set, else ``default``; returns the number.

    The course's networks are small, and one thread trains them fastest (more threads only
    add synchronisation), so the chapters ask for 1. The variable lets a build check that
    nothing the pages assert depends on it (``GANCOURSE_THREADS=2 make book``).
    """
    threads = env_count(THREADS_ENV_VAR, default, 1, "a number of threads; set it to 1, 2, ... or unset it.")
    torch.set_num_threads(threads)
    return threads
