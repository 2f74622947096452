"""Course experiments as small configs: build the data and models, train, write the results.

A run is described by a :class:`RunConfig` (a preset, a TOML file, or keyword arguments)
and writes into a folder of its own::

    config.json       the resolved configuration
    checkpoint.pt     models, optimisers, random state, history (resumable, checksummed)
    history.json      per-step losses, mean D outputs and gradient norms
    samples.png       a grid of generated images, or generated vs real points
    metrics.json      mode coverage for the ring / grid mixtures (reverse_kl null if no sample is high quality)
    .lock             held while a process writes into the folder

Every file is written atomically (:func:`gancourse.checkpoint.atomic_write`).

Used by ``python -m gancourse train`` so that instructors can regenerate any result,
e.g. at the ``full`` budget on a GPU.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import os
import tomllib
import uuid
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path

import torch

from . import budget, data, distributed, metrics, models, train
from .checkpoint import atomic_write, load_checkpoint, remove_temporary_files
from .device import default_device
from .settings import is_int, is_number, require

DATASETS = ("gaussian", "ring", "grid", "fashion-mnist", "mnist")
MODELS = ("mlp", "dcgan")
TRAIN_FIELDS = {f.name for f in fields(train.TrainConfig)} - {"steps"}
RUN_FILES = ("config.json", train.CHECKPOINT_NAME, "history.json", "metrics.json", "samples.png")
LOCK_NAME = ".lock"


@dataclass
class RunConfig:
    """A whole experiment: data, models and the training configuration."""

    dataset: str = "ring"  # one of DATASETS
    model: str = "mlp"  # "mlp" for 2-D data, "dcgan" for 28x28 images
    z_dim: int = 2  # noise dimension
    hidden: int = 128  # MLP width
    depth: int = 3  # MLP hidden layers
    pack: int = 1  # PacGAN packing degree of D (1: a plain discriminator)
    ngf: int = 64  # DCGAN generator feature maps
    ndf: int = 64  # DCGAN discriminator feature maps
    limit: int | None = None  # use only the first `limit` training images
    batch_norm: bool = False  # MLP generator: batch norm before each ReLU (PacGAN's generator)
    hidden_d: int | None = None  # MLP discriminator width (None: `hidden`)
    depth_d: int | None = None  # MLP discriminator hidden layers (None: `depth`)
    maxout: int = 0  # MLP discriminator: maxout units with this many pieces (0: LeakyReLU units)
    minibatch_std: bool = False  # MLP discriminator: sees its batch's standard deviation (Karras et al., 2018)
    spectral_norm: bool = False  # discriminator or critic: spectral normalisation of every layer (Miyato et al., 2018)
    layer_norm: bool = False  # DCGAN discriminator or critic: layer norm where batch norm was (Gulrajani et al., 2017)
    init_std: float | None = None  # MLP weights ~ N(0, init_std), biases 0 (PacGAN: 0.02); None: PyTorch's default
    n_train: int | None = None  # toy data: a fixed training set of this many points (PacGAN: 100,000); None: fresh draws
    batch_in_packs: bool = False  # train.batch_size counts packs of `pack` samples (PacGAN), not samples
    steps: dict | int = field(default_factory=lambda: {"smoke": 200, "book": 5_000, "full": 25_000})
    train: dict = field(default_factory=dict)  # TrainConfig fields other than steps
    init_seed: int = 0  # seeds the models' initial weights

    def __post_init__(self):
        require(isinstance(self.dataset, str), "dataset", self.dataset, f"one of {', '.join(DATASETS)}")
        require(isinstance(self.model, str), "model", self.model, f"one of {', '.join(MODELS)}")
        if self.dataset not in DATASETS:
            raise ValueError(f"unknown dataset {self.dataset!r}; choose one of {', '.join(DATASETS)}.")
        if self.model not in MODELS:
            raise ValueError(f"unknown model {self.model!r}; choose one of {', '.join(MODELS)}.")
        images = self.dataset in ("fashion-mnist", "mnist")
        if images != (self.model == "dcgan"):
            raise ValueError(
                f"model {self.model!r} does not fit dataset {self.dataset!r}: "
                "use model 'dcgan' for image datasets and 'mlp' for 2-D ones."
            )
        require(isinstance(self.train, dict), "train", self.train, "a table of training settings ([train] in TOML)")
        unknown = set(self.train) - TRAIN_FIELDS
        if unknown:
            raise ValueError(f"unknown training setting(s) {sorted(unknown)}; known: {sorted(TRAIN_FIELDS)}.")
        if isinstance(self.steps, dict):
            if set(self.steps) != set(budget.BUDGETS):
                raise ValueError(f"steps must be a number or give all of {budget.BUDGETS}, got {sorted(self.steps)}.")
            for name, value in self.steps.items():
                require(is_int(value) and value >= 1, f"steps.{name}", value, "a positive integer")
        else:
            require(is_int(self.steps) and self.steps >= 1, "steps", self.steps, "a positive integer")
        for name in ("z_dim", "hidden", "depth", "pack", "ngf", "ndf"):
            value = getattr(self, name)
            require(is_int(value) and value >= 1, name, value, "a positive integer")
        for name in ("hidden_d", "depth_d", "n_train", "limit"):
            value = getattr(self, name)
            require(value is None or (is_int(value) and value >= 1), name, value, "a positive integer (or left out)")
        for name in ("batch_norm", "minibatch_std", "batch_in_packs", "spectral_norm", "layer_norm"):
            require(isinstance(getattr(self, name), bool), name, getattr(self, name), "true or false")
        if self.layer_norm and self.model != "dcgan":
            raise ValueError("layer_norm applies to the DCGAN discriminator and critic (model 'dcgan'), not to the MLPs.")
        require(is_int(self.maxout) and self.maxout >= 0, "maxout", self.maxout, "0 (LeakyReLU units) or a number of pieces")
        init_std_ok = self.init_std is None or (is_number(self.init_std) and self.init_std > 0)
        require(init_std_ok, "init_std", self.init_std, "a positive number (or left out)")
        require(train.is_seed(self.init_seed), "init_seed", self.init_seed, train.SEED_RANGE)
        self.training_config()  # validate the training settings now, not after loading data

    def steps_for(self, budget_name: str | None = None) -> int:
        if isinstance(self.steps, int):
            return self.steps
        return budget.choose(**self.steps, budget=budget_name)

    def training_config(self, budget_name: str | None = None) -> train.TrainConfig:
        config = train.TrainConfig(**{"steps": self.steps_for(budget_name), **self.train})
        if self.batch_in_packs:  # the generator makes batch_size packs of `pack` samples per step
            config = replace(config, batch_size=config.batch_size * self.pack)
        return config


PRESETS: dict[str, dict] = {
    # Chapter 2: the first GAN. G takes 4 noise numbers and learns a correlated 2-D Gaussian.
    "gaussian": dict(
        dataset="gaussian", z_dim=4, hidden=64, depth=2,
        steps={"smoke": 1_000, "book": 3_000, "full": 10_000},
        train={"batch_size": 256, "lr_d": 2e-4, "lr_g": 2e-4},
    ),
    # The mode-collapse benchmarks (8 Gaussians on a ring, 25 on a grid) with the course's small
    # networks: MLPs of 3 x 128, batch 256, Adam 1e-3. Not PacGAN's networks (see below).
    "ring": dict(dataset="ring", train={"batch_size": 256, "lr_d": 1e-3, "lr_g": 1e-3}),
    "grid": dict(dataset="grid", train={"batch_size": 256, "lr_d": 1e-3, "lr_g": 1e-3}),
    "ring-wgan-gp": dict(dataset="ring", train={"loss": "wgan-gp", "batch_size": 256}),
    # Chapter 8: a generator that learns ten times faster than its discriminator (the rates of
    # the unrolled-GAN authors' toy notebook) jumps to wherever D is fooled most before D can
    # react: it collapses on the ring.
    "ring-collapse": dict(
        dataset="ring", steps={"smoke": 150, "book": 2_000, "full": 10_000},
        train={"batch_size": 256, "lr_d": 1e-4, "lr_g": 1e-3},
    ),
    # The course's best recipe for the two benchmarks: a generator twice as wide as D, the R1 penalty
    # (gamma 1 on the ring, 0.1 on the grid) and a learning rate that drops tenfold twice: the most
    # high-quality samples of the variants tried in benchmarks/bench_modes.py (benchmarks/records/NOTES.md).
    # Its full budget made gancourse/records/best.json; the book budget is chapter 8's short run.
    "best-ring": dict(
        dataset="ring", hidden=256, hidden_d=128, steps={"smoke": 200, "book": 2_000, "full": 30_000},
        train={"batch_size": 256, "lr_d": 1e-3, "lr_g": 1e-3, "r1_gamma": 1.0, "lr_milestones": (0.6, 0.85)},
    ),
    "best-grid": dict(
        dataset="grid", hidden=256, hidden_d=128, steps={"smoke": 200, "book": 2_000, "full": 30_000},
        train={"batch_size": 256, "lr_d": 1e-3, "lr_g": 1e-3, "r1_gamma": 0.1, "lr_milestones": (0.5, 0.85)},
    ),
    # PacGAN's own synthetic experiments (Lin et al., 2018; their repository's
    # synthetic_data_experiments/2D{Ring,Grid}_GAN&PacGAN/config.py): G 4 x 400 ReLU with batch
    # norm, D 3 x 200 maxout units of 5 pieces, weights ~ N(0, 0.02), Adam 1e-4 with beta1 = 0.8,
    # 100 (packs of) samples per batch, 100,000 training points, 400 epochs of 1,000 steps, and
    # simultaneous updates (their code steps G on its gradient from before D's step).
    "pacgan-ring": dict(
        dataset="ring", hidden=400, depth=4, batch_norm=True, hidden_d=200, depth_d=3, maxout=5,
        init_std=0.02, n_train=100_000, batch_in_packs=True, steps={"smoke": 50, "book": 10_000, "full": 400_000},
        train={"batch_size": 100, "lr_d": 1e-4, "lr_g": 1e-4, "betas": (0.8, 0.999), "simultaneous": True},
    ),
    "pacgan-grid": dict(
        dataset="grid", hidden=400, depth=4, batch_norm=True, hidden_d=200, depth_d=3, maxout=5,
        init_std=0.02, n_train=100_000, batch_in_packs=True, steps={"smoke": 50, "book": 10_000, "full": 400_000},
        train={"batch_size": 100, "lr_d": 1e-4, "lr_g": 1e-4, "betas": (0.8, 0.999), "simultaneous": True},
    ),
    # Chapter 5: DCGAN on Fashion-MNIST.
    "dcgan": dict(
        dataset="fashion-mnist", model="dcgan", z_dim=100,
        steps={"smoke": 5, "book": 600, "full": 10_000},
        train={"batch_size": 128},
    ),
    # Chapter 5's book budget on a CPU: a quarter of the feature maps and half the batch, the recipe that
    # got furthest at equal time in benchmarks/bench_book_recipe.py (benchmarks/records/NOTES.md).
    "dcgan-small": dict(
        dataset="fashion-mnist", model="dcgan", z_dim=100, ngf=16, ndf=16,
        steps={"smoke": 20, "book": 5_000, "full": 20_000},
        train={"batch_size": 64},
    ),
    # Chapter 7: WGAN-GP on Fashion-MNIST (the critic has no batch norm).
    "wgan-gp-fashion": dict(
        dataset="fashion-mnist", model="dcgan", z_dim=100,
        steps={"smoke": 3, "book": 300, "full": 10_000},
        train={"loss": "wgan-gp", "batch_size": 64},
    ),
    # Chapter 7's book budget on a CPU: a quarter of the feature maps, batches of 32, one critic step
    # per generator step at twice the paper's rate: the recipe that got furthest at equal time in
    # benchmarks/bench_book_recipe.py; 4,000 steps fit chapter 7's six minutes (benchmarks/records/NOTES.md).
    "wgan-gp-small": dict(
        dataset="fashion-mnist", model="dcgan", z_dim=100, ngf=16, ndf=16,
        steps={"smoke": 20, "book": 4_000, "full": 20_000},
        train={"loss": "wgan-gp", "batch_size": 32, "k": 1, "lr_d": 2e-4, "lr_g": 2e-4},
    ),
}  # fmt: skip


def load_config(
    preset: str | None = None, path: str | os.PathLike | None = None, *, seed: int | None = None, **overrides
) -> RunConfig:
    """A :class:`RunConfig` from a preset, then a TOML file, then keyword overrides (later wins).

    A TOML file may name its own base with ``preset = "ring"``; its ``[train]`` table holds
    :class:`~gancourse.train.TrainConfig` settings. ``seed`` sets both the models' initial
    weights (``init_seed``) and the training loop's random numbers (``train.seed``).

    Introduced in chapter 2.
    """
    if seed is not None:
        overrides = {**overrides, "init_seed": seed, "train": {**overrides.get("train", {}), "seed": seed}}
    settings: dict = {}
    file_settings: dict = {}
    if path is not None:
        try:
            file_settings = tomllib.loads(Path(path).read_text())
        except FileNotFoundError:
            raise FileNotFoundError(f"config file {path} does not exist.") from None
        except tomllib.TOMLDecodeError as err:
            raise ValueError(f"config file {path} is not valid TOML: {err}") from None
        named = file_settings.pop("preset", None)
        if named is not None and preset is not None and named != preset:
            raise ValueError(
                f"config file {path} names preset {named!r}, and preset {preset!r} was asked for too (--preset); "
                "keep one of them."
            )
        preset = named if named is not None else preset
    if preset is not None:
        require(isinstance(preset, str), "preset", preset, f"one of {', '.join(PRESETS)}")
        if preset not in PRESETS:
            raise ValueError(f"unknown preset {preset!r}; choose one of {', '.join(PRESETS)}.")
        settings = json.loads(json.dumps(PRESETS[preset]))  # a deep copy
    for layer in (file_settings, overrides):
        layer = dict(layer)
        train_settings = layer.pop("train", {})
        require(isinstance(train_settings, dict), "train", train_settings, "a table of training settings ([train] in TOML)")
        settings.setdefault("train", {}).update(train_settings)
        settings.update(layer)
    known = {f.name for f in fields(RunConfig)}
    unknown = set(settings) - known
    if unknown:
        raise ValueError(f"unknown setting(s) {sorted(unknown)}; known: {sorted(known)}.")
    return RunConfig(**settings)


def distribution(config: RunConfig):
    """The toy distribution of a run (the Gaussian, the ring or the grid); ``None`` for images."""
    if config.dataset == "gaussian":
        return data.gaussian_2d()
    if config.dataset in ("ring", "grid"):
        return getattr(data, config.dataset)()
    return None


def build(config: RunConfig, download: bool = False):
    """The real data and fresh models (seeded with ``config.init_seed``) for a run.

    The data are a sampler that draws fresh points at every step, or, with ``n_train``, a
    fixed training set of that many points (drawn with ``init_seed``), read in epochs.
    Image datasets are read from disk (:func:`gancourse.data.fashion_mnist`); only with
    ``download=True`` may torchvision download them when no local copy exists (Colab).

    Introduced in chapter 2.
    """
    source = distribution(config)
    if source is None:
        loader = data.fashion_mnist if config.dataset == "fashion-mnist" else data.mnist
        source = loader(limit=config.limit, download=download)
    elif config.n_train is not None:
        source = source.sample(config.n_train, seed=config.init_seed)
    torch.manual_seed(config.init_seed)
    if config.model == "mlp":
        G = models.MLPGenerator(config.z_dim, 2, config.hidden, config.depth, batch_norm=config.batch_norm)
        D = models.MLPDiscriminator(
            2, config.hidden_d or config.hidden, config.depth_d or config.depth, pack=config.pack,
            maxout=config.maxout, minibatch_std=config.minibatch_std, spectral_norm=config.spectral_norm,
        )  # fmt: skip
        if config.init_std is not None:
            for module in (*G.modules(), *D.modules()):
                if isinstance(module, torch.nn.Linear):
                    normalised = torch.nn.utils.parametrize.is_parametrized(module, "weight")
                    weight = module.parametrizations.weight.original if normalised else module.weight
                    torch.nn.init.normal_(weight, 0.0, config.init_std)
                    if module.bias is not None:
                        torch.nn.init.zeros_(module.bias)
    else:
        G = models.DCGANGenerator(config.z_dim, config.ngf)
        loss = config.train.get("loss", "nonsaturating")
        norms = {"spectral_norm": config.spectral_norm, "layer_norm": config.layer_norm}
        D = (models.WGANCritic(config.ndf, **norms) if loss == "wgan-gp"
             else models.DCGANDiscriminator(config.ndf, batch_norm=not config.layer_norm, **norms))  # fmt: skip
    return source, G, D


CHECKPOINTS_PER_RUN = 20  # a run's default: a checkpoint every 5 % of its steps


def run(
    config: RunConfig, out: str | os.PathLike, *, resume: bool = False, force: bool = False, device=None,
    download: bool = False, sync_batchnorm: bool = False,
) -> train.TrainResult:  # fmt: skip
    """Train the run described by ``config`` in the folder ``out`` and write its results there.

    One run per folder: a folder holding another run's files (:data:`RUN_FILES`) is refused
    unless ``resume`` (continue that run; its data, models and loss must be ``config``'s,
    see :func:`check_resume`) or ``force`` (delete its files, say so, and start over). A
    lock on ``out/.lock`` keeps other processes out while this one runs. Nothing is written
    (nor deleted) before every check has passed: the device, the resume, the data, and one
    forward pass on the first batch (:func:`gancourse.train.check_first_batch`); a refused
    start leaves the folder as it found it. A folder holding only the ``config.json`` of a
    start that stopped before its first checkpoint takes a new run without ``force``, and a
    folder holding run files but no run's ``config.json`` is refused even with ``force``.
    Unless the configuration sets ``checkpoint_every`` (0: only at the end), a checkpoint is
    written every 5 % of the steps, so an interrupted run loses at most that much;
    ``download`` as in :func:`build`.

    Under ``torchrun`` (see :mod:`gancourse.distributed`) every rank trains and rank 0 alone
    checks and writes the folder; a refusal is reported by rank 0 and ends every rank.
    ``sync_batchnorm`` turns the networks' batch norms into SyncBatchNorm (statistics over
    the global batch; CUDA only).

    Raises:
        ValueError: the folder holds another run, another process holds its lock, or the
            settings cannot resume it.
        CheckpointError, FileNotFoundError, OSError: a damaged checkpoint, missing data, a
            folder that cannot be written.
    """
    if resume and force:
        raise ValueError("--resume continues the run in the folder and --force deletes it: choose one.")
    world = distributed.current()
    out = Path(out)
    train_config = config.training_config()
    if "checkpoint_every" not in config.train:
        train_config = replace(train_config, checkpoint_every=max(1, train_config.steps // CHECKPOINTS_PER_RUN))
    with contextlib.ExitStack() as held:
        previous, refusal, run_id = [], None, None
        if world.main:
            try:
                held.enter_context(_locked(out))
                previous, run_id = _check_folder(out, config, train_config, resume, force)
            except Exception as err:  # every rank must hear of it, or the others wait for rank 0
                refusal = err
        world.rank_zero_says(None if refusal is None else str(refusal))
        if refusal is not None:
            raise refusal
        device = default_device(device)
        if sync_batchnorm and device.type != "cuda":
            raise ValueError("--sync-batchnorm needs CUDA GPUs: PyTorch's SyncBatchNorm does not run on the CPU.")
        source, G, D = build(config, download=download)
        if sync_batchnorm:
            G, D = map(torch.nn.SyncBatchNorm.convert_sync_batchnorm, (G, D))

        def ready() -> None:  # every check has passed: only now does the folder change
            if not world.main:
                return
            if force and previous:
                for name in previous:
                    (out / name).unlink()
                print(f"--force: deleted the previous run's {', '.join(previous)} in {out}")
            elif previous == ["config.json"] and not resume:
                print(f"reusing {out}: it held only the config.json of a start that stopped before its first checkpoint")
            launch = {"processes": world.size, "sync_batchnorm": sync_batchnorm}
            resolved = {**asdict(config), "run_id": run_id, "resolved_train": asdict(train_config), "launch": launch}
            atomic_write(out / "config.json", json.dumps(resolved, indent=2))

        identity = run_identity(config, run_id) if world.main else None  # rank 0 checks and writes
        result = train.train(G, D, source, train_config, device=device, checkpoint_dir=out, resume=resume,
                             run=identity, ready=ready)  # fmt: skip
        if world.main:
            atomic_write(out / "history.json", json.dumps(result.history))
            _write_samples(G, distribution(config), config, out)
    return result


def _check_folder(out: Path, config: RunConfig, train_config: train.TrainConfig, resume: bool, force: bool) -> tuple[list[str], str | None]:  # fmt: skip
    """Make ``out`` (locked) ready for a run, or refuse: returns the names of the previous run's
    files, and the run's id (a new one, or the resumed run's: None for a run from before ids)."""
    remove_temporary_files(out, RUN_FILES)  # left by writes that were killed
    previous = [name for name in RUN_FILES if (out / name).exists()]
    ours = "config.json" in previous and _written_by_a_run(out / "config.json")
    if "config.json" in previous and not ours:
        raise ValueError(
            f"{out / 'config.json'} was not written by a gancourse run, and a run will neither overwrite nor "
            "delete it (not even with --force): choose another --out."
        )
    if previous and not ours:
        raise ValueError(
            f"{out} holds {', '.join(previous)} but no run's config.json, so nothing says a run wrote them; a run "
            "will neither overwrite nor delete them (not even with --force): move them away or choose another --out."
        )
    if resume:
        if train.CHECKPOINT_NAME not in previous:
            before = " (its run stopped before its first checkpoint)" if ours else ""
            raise ValueError(f"{out} holds no checkpoint to resume{before}; run the command without --resume to start the run.")
        return previous, check_resume(config, train_config, out)
    if previous and previous != ["config.json"] and not force:  # config.json alone: a start that wrote no checkpoint
        raise ValueError(
            f"{out} holds another run ({', '.join(previous)}); add --resume to continue it, "
            "--force to delete it and start over, or choose another --out."
        )
    return previous, uuid.uuid4().hex[:12]


def _written_by_a_run(path: Path) -> bool:
    """Whether ``path`` is a run's own config.json: JSON with the settings :func:`run` resolves."""
    try:
        saved = json.loads(path.read_text())
    except (OSError, ValueError):
        return False
    return isinstance(saved, dict) and {"dataset", "model", "resolved_train"} <= saved.keys()


@contextlib.contextmanager
def _locked(out: Path):
    """Hold an exclusive lock on ``out/.lock`` (``flock``; released when the process ends)."""
    import fcntl  # POSIX only: Linux, macOS, Colab

    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {out} is a file; a run needs a folder: choose another --out.")
    made = not out.exists()
    out.mkdir(parents=True, exist_ok=True)
    created = not (out / LOCK_NAME).exists()
    with open(out / LOCK_NAME, "a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ValueError(
                f"another process is writing into {out} (it holds {out / LOCK_NAME}); "
                "wait until it ends, or choose another --out."
            ) from None
        try:
            yield
        except BaseException:
            if created:  # a refused or failed start leaves the folder as it found it
                (out / LOCK_NAME).unlink(missing_ok=True)
            if made and not any(out.iterdir()):
                out.rmdir()
            raise


def run_identity(config: RunConfig, run_id: str | None) -> dict:
    """What a checkpoint records of its run: the id and the settings that cannot change on resume."""
    settings = json.loads(json.dumps(asdict(config)))
    return {"run_id": run_id, **{key: value for key, value in settings.items() if key not in ("steps", "train")}}


def check_resume(config: RunConfig, train_config: train.TrainConfig, out: Path) -> str | None:
    """Refuse to resume the run in ``out`` with settings it cannot take; return its id.

    Its checkpoint must be intact, written by this run (the id and settings it records are
    the folder's, see :func:`run_identity`) and not past ``train_config.steps``; of the run's
    settings (``config.json``) only ``steps`` may change, and of the training settings only
    :data:`gancourse.train.CHANGEABLE_ON_RESUME` (new learning rates and betas apply).
    """
    path = out / train.CHECKPOINT_NAME
    state = load_checkpoint(path)
    train.check_resumable(state["config"], train_config, path)
    train.check_same_world(state, distributed.current().size, path)  # here, so that rank 0 alone says it
    train.check_steps_left(state["step"], train_config, path)
    try:
        saved = json.loads((out / "config.json").read_text())
    except (OSError, ValueError):
        raise ValueError(
            f"{out / 'config.json'} is missing or damaged, so the run's settings cannot be checked; "
            "start over with --force."
        ) from None
    now = json.loads(json.dumps(asdict(config)))
    fixed = [key for key in now if key not in ("steps", "train")]
    changed = [f"{key} {saved.get(key)!r} -> {now[key]!r}" for key in fixed if saved.get(key) != now[key]]
    if changed:
        raise ValueError(
            f"cannot resume the run in {out} with other settings: {', '.join(changed)}; its data and models "
            "are fixed. Resume with its settings, or start over with --force."
        )
    run_id = saved.get("run_id")
    train.check_same_run(state.get("run"), run_identity(config, run_id), path)
    return run_id


def _write_samples(G, source, config: RunConfig, out: Path) -> None:
    import matplotlib.pyplot as plt

    from . import viz

    if source is None:
        fig = viz.show_grid(train.generate(G, 64, seed=0), nrow=8).figure
    else:
        fake = train.generate(G, 2_500, seed=0)
        centers = getattr(source, "centers", None)
        fig = viz.plot_samples_2d(source.sample(2_500, seed=0), fake, centers=centers).figure
        if centers is not None:
            coverage = metrics.mode_coverage(fake, centers, source.std)
            reverse_kl = coverage.reverse_kl if math.isfinite(coverage.reverse_kl) else None  # no high-quality sample
            summary = {"modes": coverage.modes, "n_modes": coverage.n_modes,
                       "high_quality": coverage.high_quality, "reverse_kl": reverse_kl}  # fmt: skip
            atomic_write(out / "metrics.json", json.dumps(summary, indent=2, allow_nan=False))
    try:
        atomic_write(out / "samples.png", png_bytes(fig))
    finally:
        plt.close(fig)


def png_bytes(fig) -> bytes:
    """A matplotlib figure as the bytes of a PNG file (100 dpi, tight)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    return buffer.getvalue()


# The mode-collapse experiments live in gancourse.remedies; runs.X serves the recorded chapters 7-8 until they are next re-recorded.
_MOVED_TO_REMEDIES = ("REMEDIES", "PACK", "NOISE_STD", "R1_GAMMA", "TTUR_RATIO", "WGAN_GP_PAPER", "WGAN_GP_TOY",
                      "remedy_settings", "remedy_config", "ToyRun", "train_and_measure", "compare_remedies")  # fmt: skip


def __getattr__(name: str):
    if name in _MOVED_TO_REMEDIES:
        from . import remedies

        return getattr(remedies, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_MOVED_TO_REMEDIES])
