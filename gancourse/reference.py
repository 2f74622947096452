"""Reference generators: the course's finished runs, shipped with the package.

The chapters train at the ``book`` budget to show the process; what a full run reaches is
shown with generators trained by the course's own command (``python -m gancourse train
--preset ... --budget full``) and shipped in ``gancourse/references/``, so that they load
offline, here and on Colab: ``dcgan`` and ``wgan-gp-fashion``. A third, ``dcgan-small``, is
chapter 5's own run at the ``book`` budget, the weaker generator of chapter 11's detection
experiment. Each reference is two or three files:

    <name>.pt     the generator's class, constructor arguments and weights (half precision),
                  a plain dictionary that ``torch.load(..., weights_only=True)`` reads
    <name>.json   its provenance: the command and commit that trained it, the budget whose
                  steps it ran, the steps and images seen, the device, the wall time, its
                  Fréchet classifier distance and the real-vs-real floor (:func:`score`),
                  and the SHA-256 of the .pt file (and of the next one, where it exists)
    <name>-discriminator.pt   the discriminator trained beside the generator, the same way

``load_reference("dcgan")`` returns the generator, ``load_discriminator("dcgan")`` its
discriminator, ``provenance("dcgan")`` the record. ``tools/export_reference.py`` writes the
files from a finished run folder.
"""

from __future__ import annotations

import datetime
import hashlib
import io
import json
import os
from importlib import resources
from pathlib import Path

import torch
from torch import nn

from . import checkpoint, data, metrics, models, train

FORMAT = "gancourse-reference-v1"
REFERENCES = ("dcgan", "wgan-gp-fashion", "dcgan-small")  # named after the presets that trained them
DISCRIMINATOR_SUFFIX = "-discriminator.pt"
ROLES = {"G": "generator", "D": "discriminator"}


def folder() -> Path:
    """Where the package keeps its reference generators."""
    return Path(str(resources.files("gancourse") / "references"))


def provenance(name: str, where: str | os.PathLike | None = None) -> dict:
    """The record of how the reference ``name`` was trained and how it scores.

    Raises:
        ValueError: ``name`` is not a reference.
        FileNotFoundError: its files are missing (an incomplete installation).
        checkpoint.CheckpointError: its ``.json`` record is damaged (not a JSON object).

    Introduced in chapter 5.
    """
    path = _path(name, where, ".json")
    try:
        record = json.loads(path.read_bytes())
    except ValueError:  # JSONDecodeError, or bytes that are not text
        record = None
    if not isinstance(record, dict):
        raise checkpoint.CheckpointError(
            f"{path} is damaged (not a reference's JSON record); reinstall gancourse to restore it."
        )
    return record


def load_reference(name: str, device=None, where: str | os.PathLike | None = None) -> nn.Module:
    """The reference generator ``name`` in float32, in eval mode, on ``device`` (default: the CPU).

    The weights are read with ``weights_only=True`` after their SHA-256 is checked against
    the provenance record; ``where`` is a folder to read instead of the package's.

    Raises:
        ValueError: ``name`` is not a reference.
        FileNotFoundError, checkpoint.CheckpointError: a missing or damaged file.

    Introduced in chapter 5.
    """
    record = provenance(name, where)
    return _load(_path(name, where, ".pt"), record.get("sha256"), "G", device)


def load_discriminator(name: str, device=None, where: str | os.PathLike | None = None) -> nn.Module:
    """The discriminator trained beside the reference generator ``name``, as :func:`load_reference`.

    It comes from the run's last checkpoint, the same step as the generator, in float32 and
    eval mode (batch norm with its running statistics).

    Raises:
        ValueError: ``name`` is not a reference, or ships no discriminator.
        FileNotFoundError, checkpoint.CheckpointError: a missing or damaged file.

    Introduced in chapter 9.
    """
    record = provenance(name, where)
    shipped = record.get("discriminator")
    if not isinstance(shipped, dict):
        having = [n for n in REFERENCES if isinstance(provenance(n).get("discriminator"), dict)]
        raise ValueError(f"the reference {name!r} ships no discriminator; these do: {', '.join(having) or 'none'}.")
    return _load(_path(name, where, DISCRIMINATOR_SUFFIX), shipped.get("sha256"), "D", device)


def _load(path: Path, sha256, role: str, device) -> nn.Module:
    raw = path.read_bytes()
    if hashlib.sha256(raw).hexdigest() != sha256:
        raise checkpoint.CheckpointError(
            f"{path} does not match its provenance record (SHA-256); reinstall gancourse to restore it."
        )
    saved = torch.load(io.BytesIO(raw), map_location="cpu", weights_only=True)
    if not isinstance(saved, dict) or saved.get("format") != FORMAT or role not in saved:
        raise checkpoint.CheckpointError(f"{path} is not a gancourse reference {ROLES[role]} ({FORMAT}).")
    model = models.rebuild(saved["model"])
    checkpoint.check_compatible(model, saved[role], ROLES[role], path)
    model.load_state_dict(saved[role])  # copy_ turns the half-precision tensors back into float32
    return model.eval().to(device or "cpu")


def scorer(n: int = 5_000, classifier_steps: int = 2_000, seed: int = 0, device=None):
    """The fixed half of :func:`score`'s protocol, for scoring many image sets alike.

    Trains the classifier and measures the floor once; returns a function that takes ``n``
    generated images and returns :func:`score`'s dictionary for them.
    """
    x_lab, y_lab = data.fashion_mnist(labels=True, limit=3_000)
    classifier = metrics.train_feature_classifier(x_lab, y_lab, steps=classifier_steps, seed=seed, device=device or "cpu")
    x_test, y_test = data.fashion_mnist(train=False, labels=True)
    x_train = data.fashion_mnist()
    if not 1 < n <= (len(x_train) - 3_000) // 2:
        raise ValueError(f"n must lie in 2 .. {(len(x_train) - 3_000) // 2}, got {n}.")
    x_ref, x_ref_2 = x_train[-n:], x_train[-2 * n : -n]
    floor = metrics.frechet_classifier_distance(x_ref, x_ref_2, classifier)
    accuracy = metrics.classifier_accuracy(classifier, x_test, y_test)

    def measure(x_gen) -> dict:
        fcd = metrics.frechet_classifier_distance(x_ref, x_gen, classifier)
        return {"fcd": fcd, "floor": floor, "ratio": fcd / floor, "n": n,
                "classifier_steps": classifier_steps, "classifier_accuracy": accuracy}  # fmt: skip

    return measure


def score(G: nn.Module, n: int = 5_000, classifier_steps: int = 2_000, seed: int = 0, device=None) -> dict:
    """The Fréchet classifier distance of ``G`` and the real-vs-real floor, by chapter 5's protocol.

    A :class:`gancourse.metrics.FeatureClassifier` trained (``classifier_steps`` steps,
    ``seed``) on the first 3,000 labelled Fashion-MNIST training images; then the FCD between
    ``n`` generated images (noise seed 1) and the last ``n`` training images, and between
    those and the ``n`` before them (the floor, what two real sets of that size reach). The
    classifier trains on ``device`` (default: the CPU); ``G`` generates where it is.
    :func:`scorer` keeps the classifier and floor for scoring several generators.

    Returns:
        ``{"fcd", "floor", "ratio", "n", "classifier_steps", "classifier_accuracy"}``.
    """
    measure = scorer(n, classifier_steps, seed, device)  # checks n before generating
    return measure(train.generate(G, n, seed=1))


def export(
    run: str | os.PathLike, name: str, record: dict, where: str | os.PathLike | None = None,
    n: int = 5_000, classifier_steps: int = 2_000,
) -> dict:  # fmt: skip
    """Write the generator and discriminator of the finished run folder ``run`` as the reference ``name``.

    ``record`` holds what the run folder cannot tell (the command, the commit, the device,
    the wall time); the rest is read from the run (its configuration, steps and images
    seen) or measured here (:func:`score`, and the largest pixel change that half precision
    makes; ``n`` and ``classifier_steps`` as in :func:`score`). The files are written
    atomically, into ``where`` or the package's folder, the record last. Returns the record.
    """
    run = Path(run)
    state = checkpoint.load_checkpoint(run / train.CHECKPOINT_NAME)
    G, D = checkpoint.load_models(run / train.CHECKPOINT_NAME)
    config = json.loads((run / "config.json").read_text())
    resolved = config["resolved_train"]
    G_half = models.rebuild(models.describe(G))
    G_half.load_state_dict(_half(G))
    z = torch.randn(256, G.z_dim, generator=torch.Generator().manual_seed(0))
    rounding = (train.decode(G, z) - train.decode(G_half.eval(), z)).abs().max().item()
    raw = _file(G, "G")
    full = {
        "name": name,
        **record,
        "budget": next((budget for budget, steps in config["steps"].items() if steps == state["step"]), None),
        "steps": state["step"],
        "images_seen": state["step"] * resolved["k"] * resolved["batch_size"],  # real images through D
        "config": {key: config[key] for key in ("dataset", "model", "z_dim", "ngf", "ndf", "init_seed")},
        "train": resolved,
        "half_precision_max_pixel_change": rounding,
        "score": score(G, n, classifier_steps),
        "sha256": hashlib.sha256(raw).hexdigest(),
        "bytes": len(raw),
    }
    out = Path(where) if where is not None else folder()
    out.mkdir(parents=True, exist_ok=True)
    checkpoint.atomic_write(out / f"{name}.pt", raw)
    return _write_discriminator(D, out, name, full)


def add_discriminator(run: str | os.PathLike, name: str, where: str | os.PathLike | None = None) -> dict:
    """Ship the discriminator of ``run`` beside the reference generator ``name`` that it trained.

    For a reference exported before discriminators were shipped. The run must be the one
    that trained the reference (or a rerun of its command that repeated it): the same step,
    and a generator whose half-precision weights equal the shipped ones exactly. The record
    says so in the discriminator's note. Returns the updated record.

    Raises:
        ValueError: ``run`` did not train ``name`` (another step or other weights).
    """
    record = provenance(name, where)
    G_ref = load_reference(name, where=where)
    state = checkpoint.load_checkpoint(Path(run) / train.CHECKPOINT_NAME)
    G, D = checkpoint.load_models(Path(run) / train.CHECKPOINT_NAME)
    shipped = G_ref.state_dict()
    same = state["step"] == record["steps"] and all(
        torch.equal(value.float(), shipped[key]) for key, value in _half(G).items()
    )
    if not same:
        raise ValueError(
            f"{run} did not train the reference {name!r} (another step or other generator weights); "
            "export it as a reference of its own instead."
        )
    note = (f"added on {datetime.date.today().isoformat()} from a run whose generator equals the shipped one "
            "exactly (half precision) at the same step")
    return _write_discriminator(D, Path(where) if where is not None else folder(), name, record, note)


def _half(model: nn.Module) -> dict:
    return {key: value.half() if value.is_floating_point() else value for key, value in model.state_dict().items()}


def _file(model: nn.Module, role: str) -> bytes:
    buffer = io.BytesIO()
    torch.save({"format": FORMAT, "model": models.describe(model), role: _half(model)}, buffer)
    return buffer.getvalue()


def _write_discriminator(D: nn.Module, out: Path, name: str, record: dict, note: str | None = None) -> dict:
    raw = _file(D, "D")
    shipped = {"sha256": hashlib.sha256(raw).hexdigest(), "bytes": len(raw)}
    record = {**record, "discriminator": {**shipped, "note": note} if note else shipped}
    checkpoint.atomic_write(out / f"{name}{DISCRIMINATOR_SUFFIX}", raw)
    checkpoint.atomic_write(out / f"{name}.json", json.dumps(record, indent=2) + "\n")
    return record


def _path(name: str, where, suffix: str) -> Path:
    if where is None and name not in REFERENCES:
        raise ValueError(f"unknown reference {name!r}; choose one of {', '.join(REFERENCES)}.")
    path = (Path(where) if where is not None else folder()) / f"{name}{suffix}"
    if not path.is_file():
        raise FileNotFoundError(f"the reference {name!r} is missing ({path}); reinstall gancourse to restore it.")
    return path
