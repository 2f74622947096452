"""Checkpoints that survive crashes: written atomically, checksummed, read with ``weights_only=True``.

A checkpoint is a plain dictionary of tensors, numbers, strings, lists and dicts (nothing
that needs pickle's code execution). On disk it is one header line, the SHA-256 of the
payload, then the payload (``torch.save``'s bytes)::

    gancourse-checkpoint-v2 <64 hex digits>\n<payload>

so a damaged file (a flipped byte, a cut-off copy) is refused before anything is unpickled.
Every file of a run folder is written by :func:`atomic_write`: into a temporary file in the
same folder, flushed to disk, then renamed over the old one, so an interrupted write
leaves the previous file whole.
"""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
from pathlib import Path

import torch

from . import (
    conditional,  # noqa: F401 - its models join models.course_models(), which load_models rebuilds
    models,
)

FORMAT = "gancourse-checkpoint-v2"
_HEADER = len(FORMAT) + 1 + 64 + 1  # "FORMAT <sha256 hex>\n"


class CheckpointError(RuntimeError):
    """A checkpoint that cannot be used: corrupt, truncated, or written for another model."""


def atomic_write(path: str | os.PathLike, data: bytes | str) -> Path:
    """Replace the file ``path`` by ``data`` all at once: readers see the old file or the new one.

    The bytes go to ``.NAME.*.tmp`` beside ``path``, are flushed to disk (fsync) and renamed
    over ``path``. If anything fails (a full disk, Ctrl-C) the temporary file is removed
    and ``path`` is untouched; only a kill -9 mid-write leaves one, which
    :func:`remove_temporary_files` clears.

    Raises:
        OSError: the folder cannot be written; ``filename`` is ``path``.
    """
    path = Path(path)
    data = data.encode() if isinstance(data, str) else data
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as err:
        raise OSError(err.errno, err.strerror, str(path)) from None
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # a plain file's permissions, not mkstemp's private ones
        os.replace(tmp, path)
    except OSError as err:
        Path(tmp).unlink(missing_ok=True)
        raise OSError(err.errno, err.strerror, str(path)) from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _umask() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return umask


def remove_temporary_files(folder: str | os.PathLike, names) -> list[Path]:
    """Delete what killed :func:`atomic_write` calls left in ``folder`` for these file names."""
    folder = Path(folder)
    left = [tmp for name in names for tmp in folder.glob(f".{name}.*.tmp") if tmp.is_file()]
    for tmp in left:
        tmp.unlink(missing_ok=True)
    return left


def save_checkpoint(state: dict, path: str | os.PathLike) -> Path:
    """Write ``state`` to ``path`` atomically, with the SHA-256 of its bytes in a header line."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    torch.save({"format": FORMAT, **state}, buffer)
    payload = buffer.getvalue()
    header = f"{FORMAT} {hashlib.sha256(payload).hexdigest()}\n".encode()
    return atomic_write(path, header + payload)


def load_checkpoint(path: str | os.PathLike) -> dict:
    """Read a checkpoint written by :func:`save_checkpoint` onto the CPU, after checking its checksum.

    Raises:
        FileNotFoundError: there is no file at ``path``.
        CheckpointError: the file is truncated, corrupt or not a course checkpoint; always
            the same message, whatever the damage.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}; train without resume to create one.")
    damaged = CheckpointError(
        f"{path} is truncated or corrupt, or not a gancourse checkpoint (its checksum or contents do not match); "
        "delete it to start afresh, or restore an earlier copy."
    )
    raw = path.read_bytes()
    header, payload = raw[:_HEADER], raw[_HEADER:]
    if header != f"{FORMAT} {hashlib.sha256(payload).hexdigest()}\n".encode():
        raise damaged
    try:
        state = torch.load(io.BytesIO(payload), map_location="cpu", weights_only=True)
    except Exception as err:  # an intact file torch cannot read, e.g. one holding arbitrary objects
        raise damaged from err
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise damaged
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
    (:func:`gancourse.models.course_models`, the conditional ones included) can be rebuilt this way.

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
