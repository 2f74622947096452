"""Data parallelism under ``torchrun``: one process per device, PyTorch's DistributedDataParallel.

::

    torchrun --nproc_per_node=4 -m gancourse train --preset dcgan --budget full --out runs/dcgan

starts four processes (ranks). Each holds a replica of G and D and trains on its own share of
every batch; DistributedDataParallel (DDP) averages the gradients over the ranks during the
backward pass, so the replicas stay identical. NCCL connects GPUs, gloo CPUs.

What each rank does, in :func:`gancourse.train.train`:

- **The same random numbers as one process.** Every rank draws the random numbers of the
  *global* batch (the data order, the noise, the interpolation weights) from the one seeded
  generator and keeps its own rows, :meth:`World.share`. With ``batch_size`` b per rank, N
  ranks therefore compute what one process computes with batch N·b, up to the rounding of
  the gradient average (a test checks it); networks with batch norm see per-rank batch
  statistics unless ``sync_batchnorm`` is asked for (GPUs only).
- **D's gradients in G's step stay local.** G's loss is computed through D's own module, not
  its DDP wrapper: those gradients of D are never used (D's next step clears them), so
  averaging them over the ranks would be communication for nothing.
- **Rank 0 writes**: checkpoints, ``config.json``, the history, the samples. Every rank reads
  a checkpoint to resume. The history holds the ranks' averaged losses (one collective per
  ``log_every`` steps), so all ranks see a divergence at the same step.
- **No hang.** A collective that waits longer than ``GANCOURSE_DIST_TIMEOUT`` seconds (300)
  fails; a rank that dies ends the others' next collective with an error.

Outside ``torchrun`` (``WORLD_SIZE`` unset or 1) nothing here does anything: one process
trains exactly as it always has.

Introduced in the README ("On several GPUs").
"""

from __future__ import annotations

import contextlib
import datetime
import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn

from .settings import env_seconds

TIMEOUT_ENV_VAR = "GANCOURSE_DIST_TIMEOUT"
DEFAULT_TIMEOUT = 300.0  # seconds a collective may wait for the other ranks
MAX_TIMEOUT = 7 * 24 * 3600.0


@dataclass(frozen=True)
class World:
    """This process's place among the ranks of a run: ``rank`` of ``size`` (1: no parallelism)."""

    rank: int = 0
    size: int = 1

    @property
    def main(self) -> bool:
        """Rank 0: the one process that writes files and prints."""
        return self.rank == 0

    def share(self, x: torch.Tensor) -> torch.Tensor:
        """This rank's rows of a global batch ``x`` (size·b rows): rows rank·b to (rank+1)·b − 1."""
        if self.size == 1:
            return x
        b = x.shape[0] // self.size
        return x[self.rank * b : (self.rank + 1) * b]

    def average(self, x: torch.Tensor) -> torch.Tensor:
        """The mean of ``x`` over the ranks (every rank gets it); ``x`` itself in one process."""
        if self.size == 1:
            return x
        x = x.clone()
        dist.all_reduce(x, op=dist.ReduceOp.SUM)
        return x / self.size

    def wrap(self, module: nn.Module, device: torch.device) -> nn.Module:
        """``module`` in a DistributedDataParallel wrapper (``module`` itself in one process)."""
        if self.size == 1:
            return module
        device_ids = [device.index] if device.type == "cuda" else None
        return nn.parallel.DistributedDataParallel(module, device_ids=device_ids)

    def rank_zero_says(self, error: str | None) -> None:
        """Every rank learns whether rank 0 met ``error`` (rank 0's argument; the others pass None).

        Rank 0 raises nothing here (it raises its own error); the others raise
        :class:`RankZeroFailed`, so that a refusal is reported once, by rank 0.
        """
        if self.size == 1:
            return
        verdict = [error]
        dist.broadcast_object_list(verdict, src=0)
        if verdict[0] is not None and not self.main:
            raise RankZeroFailed(verdict[0])


class RankZeroFailed(RuntimeError):
    """Rank 0 stopped the run (and said why); the other ranks stop without repeating it."""


def bare(module: nn.Module) -> nn.Module:
    """The network itself: ``module``, or the one inside a DistributedDataParallel wrapper."""
    return module.module if isinstance(module, nn.parallel.DistributedDataParallel) else module


def current() -> World:
    """The running process group's :class:`World`, or a world of one process."""
    if dist.is_available() and dist.is_initialized():
        return World(dist.get_rank(), dist.get_world_size())
    return World()


def lost_contact(err: BaseException) -> bool:
    """``err`` is a collective's failure under ``torchrun``: a rank died, hung past the timeout,
    or the connection broke (gloo and NCCL raise RuntimeErrors naming themselves)."""
    if not launched_by_torchrun():
        return False
    if isinstance(err, getattr(dist, "DistError", ())):
        return True
    text = str(err)
    return isinstance(err, RuntimeError) and any(
        word in text for word in ("gloo", "NCCL", "nccl", "Connection reset", "Connection closed", "timed out", "Timed out")
    )


def launched_by_torchrun() -> bool:
    """``torchrun`` (or another launcher) set ``WORLD_SIZE`` > 1 for this process."""
    return int(os.environ.get("WORLD_SIZE", "1") or 1) > 1


def timeout() -> float:
    """Seconds a collective waits for the other ranks: ``GANCOURSE_DIST_TIMEOUT``, else 300."""
    advice = f"a number of seconds from 0 to {MAX_TIMEOUT:.0f} (a week); set it to e.g. 300 or unset it."
    return env_seconds(TIMEOUT_ENV_VAR, DEFAULT_TIMEOUT, advice, maximum=MAX_TIMEOUT)


@contextlib.contextmanager
def started(device: str | torch.device | None = None):
    """Join the process group ``torchrun`` set up, for the duration of a ``with`` block.

    Yields the device this rank trains on: ``cuda:LOCAL_RANK`` where CUDA is there (unless
    ``device`` asks for the CPU), else the CPU. Outside ``torchrun`` it yields ``device``
    unchanged and starts nothing.
    """
    if not launched_by_torchrun():
        yield device
        return
    if not dist.is_available():
        raise ValueError("this PyTorch has no torch.distributed; run without torchrun.")
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    wanted = torch.device(device) if device is not None else None
    use_cuda = torch.cuda.is_available() and (wanted is None or wanted.type == "cuda")
    if wanted is not None and wanted.type not in ("cpu", "cuda"):
        raise ValueError(f"under torchrun the course trains on CUDA GPUs or CPUs, not on {wanted.type!r}.")
    if wanted is not None and wanted.type == "cuda" and not torch.cuda.is_available():
        raise ValueError("--device cuda was asked for, but CUDA is not available here; use --device cpu.")
    if use_cuda:
        if local_rank >= torch.cuda.device_count():
            raise ValueError(
                f"LOCAL_RANK {local_rank} has no GPU: this machine has {torch.cuda.device_count()}; "
                "start at most that many processes per node (--nproc_per_node)."
            )
        rank_device = torch.device("cuda", local_rank)
        torch.cuda.set_device(rank_device)
    else:
        rank_device = torch.device("cpu")
    dist.init_process_group(
        "nccl" if use_cuda else "gloo", timeout=datetime.timedelta(seconds=timeout()),
        device_id=rank_device if use_cuda else None,
    )  # fmt: skip
    try:
        yield rank_device
    finally:
        dist.destroy_process_group()
