"""Checkpoints that survive crashes: written atomically, read with ``weights_only=True``.

A checkpoint is a plain dictionary of tensors, numbers, strings, lists and dicts (nothing
that needs pickle's code execution), written to a temporary file in the same folder and
renamed over the previous one, so an interrupted write leaves the last good checkpoint.
"""

from __future__ import annotations

import os
import pickle
import tempfile
import zipfile
from pathlib import Path

import torch

from . import models

FORMAT = "gancourse-checkpoint-v1"


class CheckpointError(RuntimeError):
    """A checkpoint that cannot be used: corrupt, truncated, or written for another model."""


def save_checkpoint(state: dict, path: str | os.PathLike) -> Path:
    """Write ``state`` to ``path`` atomically (temporary file, fsync, rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save({"format": FORMAT, **state}, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def load_checkpoint(path: str | os.PathLike) -> dict:
    """Read a checkpoint written by :func:`save_checkpoint` onto the CPU.

    Raises:
        FileNotFoundError: there is no file at ``path``.
        CheckpointError: the file is truncated, corrupt or not a course checkpoint.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}; train without resume to create one.")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except (RuntimeError, EOFError, OSError, ValueError, pickle.UnpicklingError, zipfile.BadZipFile) as err:
        raise CheckpointError(
            f"{path} is truncated or corrupt and cannot be read ({type(err).__name__}). "
            "Delete it to start afresh, or restore an earlier copy."
        ) from err
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not a gancourse training checkpoint ({FORMAT}).")
    return state


def check_compatible(model: torch.nn.Module, saved: dict, role: str, path: Path) -> None:
    """Raise :class:`CheckpointError` unless ``saved`` (a state dict) fits ``model`` exactly."""
    own = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    theirs = {k: tuple(v.shape) for k, v in saved.items()}
    if own == theirs:
        return
    missing = sorted(set(own) - set(theirs))
    extra = sorted(set(theirs) - set(own))
    reshaped = sorted(k for k in set(own) & set(theirs) if own[k] != theirs[k])
    details = "; ".join(
        part
        for part in (
            f"missing {missing[:3]}" if missing else "",
            f"unexpected {extra[:3]}" if extra else "",
            f"shape of {reshaped[0]}: {theirs[reshaped[0]]} in the file, {own[reshaped[0]]} here"
            if reshaped
            else "",
        )
        if part
    )
    raise CheckpointError(
        f"{path} holds a {role} with different layers than {type(model).__name__} here ({details}). "
        "Build the models with the settings of the run that wrote it, or use a new checkpoint folder."
    )


def load_models(path: str | os.PathLike) -> tuple[torch.nn.Module, torch.nn.Module]:
    """G and D rebuilt from a checkpoint alone: their classes, constructor arguments and weights.

    The models come back on the CPU in eval mode. Only the course's own networks
    (:data:`gancourse.models.MODEL_CLASSES`) can be rebuilt this way.

    Raises:
        FileNotFoundError, CheckpointError: as :func:`load_checkpoint`, or the checkpoint
            does not record how to build its models.
    """
    state = load_checkpoint(path)
    described = state.get("models")
    built = []
    for role, name in (("G", "generator"), ("D", "discriminator")):
        record = described.get(role) if isinstance(described, dict) else None
        if not isinstance(record, dict):
            raise CheckpointError(
                f"{path} does not record how to build its {name} (it predates model arguments in "
                "checkpoints); build the models with the run's settings and load its state dicts."
            )
        try:
            model = models.rebuild(record)
        except (ValueError, TypeError) as err:
            raise CheckpointError(f"{path}: {err}") from None
        check_compatible(model, state[role], name, Path(path))
        model.load_state_dict(state[role])
        built.append(model.eval())
    return built[0], built[1]
