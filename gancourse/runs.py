"""Course experiments as small configs: build the data and models, train, write the results.

A run is described by a :class:`RunConfig` (a preset, a TOML file, or keyword arguments)
and writes into one folder::

    config.json       the resolved configuration
    checkpoint.pt     models, optimisers, random state, history (resumable)
    history.json      per-step losses, mean D outputs and gradient norms
    samples.png       a grid of generated images, or generated vs real points
    metrics.json      mode coverage for the ring / grid mixtures

Used by ``python -m gancourse train`` so that instructors can regenerate any result,
e.g. at the ``full`` budget on a GPU.
"""

from __future__ import annotations

import copy
import json
import os
import tomllib
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path

import torch

from . import budget, data, models, train

DATASETS = ("gaussian", "ring", "grid", "fashion-mnist", "mnist")
MODELS = ("mlp", "dcgan")
TRAIN_FIELDS = {f.name for f in fields(train.TrainConfig)} - {"steps"}


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
    steps: dict | int = field(default_factory=lambda: {"smoke": 200, "book": 5_000, "full": 25_000})
    train: dict = field(default_factory=dict)  # TrainConfig fields other than steps
    init_seed: int = 0  # seeds the models' initial weights

    def __post_init__(self):
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
        unknown = set(self.train) - TRAIN_FIELDS
        if unknown:
            raise ValueError(f"unknown training setting(s) {sorted(unknown)}; known: {sorted(TRAIN_FIELDS)}.")
        if isinstance(self.steps, dict) and set(self.steps) != set(budget.BUDGETS):
            raise ValueError(f"steps must be a number or give all of {budget.BUDGETS}, got {sorted(self.steps)}.")
        for name in ("z_dim", "hidden", "depth", "pack", "ngf", "ndf"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}.")
        self.training_config()  # validate the training settings now, not after loading data

    def steps_for(self, budget_name: str | None = None) -> int:
        if isinstance(self.steps, int):
            return self.steps
        return budget.choose(**self.steps, budget=budget_name)

    def training_config(self, budget_name: str | None = None) -> train.TrainConfig:
        return train.TrainConfig(**{"steps": self.steps_for(budget_name), **self.train})


PRESETS: dict[str, dict] = {
    # Chapter 2: the first GAN. G takes 4 noise numbers and learns a correlated 2-D Gaussian.
    "gaussian": dict(
        dataset="gaussian", z_dim=4, hidden=64, depth=2,
        steps={"smoke": 1_000, "book": 3_000, "full": 10_000},
        train={"batch_size": 256, "lr_d": 2e-4, "lr_g": 2e-4},
    ),
    # Chapter 8: mode collapse, PacGAN's settings (MLPs of 128, batch 256).
    "ring": dict(dataset="ring", train={"batch_size": 256, "lr_d": 1e-3, "lr_g": 1e-3}),
    "grid": dict(dataset="grid", train={"batch_size": 256, "lr_d": 1e-3, "lr_g": 1e-3}),
    "ring-wgan-gp": dict(dataset="ring", train={"loss": "wgan-gp", "batch_size": 256}),
    # Chapter 5: DCGAN on Fashion-MNIST.
    "dcgan": dict(
        dataset="fashion-mnist", model="dcgan", z_dim=100,
        steps={"smoke": 5, "book": 600, "full": 10_000},
        train={"batch_size": 128},
    ),
    # Chapter 7: WGAN-GP on Fashion-MNIST (the critic has no batch norm).
    "wgan-gp-fashion": dict(
        dataset="fashion-mnist", model="dcgan", z_dim=100,
        steps={"smoke": 3, "book": 300, "full": 10_000},
        train={"loss": "wgan-gp", "batch_size": 64},
    ),
}  # fmt: skip


def load_config(preset: str | None = None, path: str | os.PathLike | None = None, **overrides) -> RunConfig:
    """A :class:`RunConfig` from a preset, then a TOML file, then keyword overrides (later wins).

    A TOML file may name its own base with ``preset = "ring"``; its ``[train]`` table holds
    :class:`~gancourse.train.TrainConfig` settings.
    """
    settings: dict = {}
    file_settings: dict = {}
    if path is not None:
        try:
            file_settings = tomllib.loads(Path(path).read_text())
        except FileNotFoundError:
            raise FileNotFoundError(f"config file {path} does not exist.") from None
        except tomllib.TOMLDecodeError as err:
            raise ValueError(f"config file {path} is not valid TOML: {err}") from None
        preset = file_settings.pop("preset", preset)
    if preset is not None:
        if preset not in PRESETS:
            raise ValueError(f"unknown preset {preset!r}; choose one of {', '.join(PRESETS)}.")
        settings = json.loads(json.dumps(PRESETS[preset]))  # a deep copy
    for layer in (file_settings, overrides):
        layer = dict(layer)
        settings.setdefault("train", {}).update(layer.pop("train", {}))
        settings.update(layer)
    known = {f.name for f in fields(RunConfig)}
    unknown = set(settings) - known
    if unknown:
        raise ValueError(f"unknown setting(s) {sorted(unknown)}; known: {sorted(known)}.")
    return RunConfig(**settings)


def build(config: RunConfig):
    """The real data and fresh models (seeded with ``config.init_seed``) for a run."""
    if config.dataset == "gaussian":
        source = data.gaussian_2d()
    elif config.dataset in ("ring", "grid"):
        source = getattr(data, config.dataset)()
    else:
        loader = data.fashion_mnist if config.dataset == "fashion-mnist" else data.mnist
        source = loader(limit=config.limit, download=True)
    torch.manual_seed(config.init_seed)
    if config.model == "mlp":
        G = models.MLPGenerator(config.z_dim, 2, config.hidden, config.depth)
        D = models.MLPDiscriminator(2, config.hidden, config.depth, pack=config.pack)
    else:
        G = models.DCGANGenerator(config.z_dim, config.ngf)
        loss = config.train.get("loss", "nonsaturating")
        D = models.WGANCritic(config.ndf) if loss == "wgan-gp" else models.DCGANDiscriminator(config.ndf)
    return source, G, D


def run(config: RunConfig, out: str | os.PathLike, *, resume: bool = False, device=None) -> train.TrainResult:
    """Train the run described by ``config`` and write its results into ``out``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    train_config = config.training_config()
    source, G, D = build(config)
    (out / "config.json").write_text(json.dumps({**asdict(config), "resolved_train": asdict(train_config)}, indent=2))
    result = train.train(G, D, source, train_config, device=device, checkpoint_dir=out, resume=resume)
    (out / "history.json").write_text(json.dumps(result.history))
    _write_samples(G, source, config, out)
    return result


def _write_samples(G, source, config: RunConfig, out: Path) -> None:
    import matplotlib.pyplot as plt

    from . import viz

    if config.model == "dcgan":
        fig = viz.show_grid(train.generate(G, 64, seed=0), nrow=8).figure
    else:
        fake = train.generate(G, 2_500, seed=0)
        centers = getattr(source, "centers", None)
        fig = viz.plot_samples_2d(source.sample(2_500, seed=0), fake, centers=centers).figure
        if centers is not None:
            from . import metrics

            coverage = metrics.mode_coverage(fake, centers, source.std)
            summary = {"modes": coverage.modes, "n_modes": coverage.n_modes,
                       "high_quality": coverage.high_quality, "reverse_kl": coverage.reverse_kl}  # fmt: skip
            (out / "metrics.json").write_text(json.dumps(summary, indent=2))
    fig.savefig(out / "samples.png", dpi=100, bbox_inches="tight")
    plt.close(fig)


# --------------------------------------------------------------------------- mode collapse

REMEDIES = ("gan", "minimax", "pacgan", "wgan-gp", "noise", "r1", "pacgan-r1")
PACK = {"ring": 2, "grid": 4}  # the packing degrees of PacGAN's Table 1 (Lin et al., 2018)
NOISE_STD = {"ring": 0.05, "grid": 0.25}  # instance noise: about 5 mode widths, annealed to 0
R1_GAMMA = 0.1  # small: the modes are tight (std 0.01 / 0.05), so D must stay steep


def remedy_settings(remedy: str, dataset: str) -> dict:
    """:class:`RunConfig` overrides that switch one mode-collapse remedy on, over the dataset's preset.

    ``gan``: the plain non-saturating GAN; ``minimax``: the saturating loss; ``pacgan``: D
    scores packs of 2 (ring) or 4 (grid) samples; ``wgan-gp``: the paper's settings;
    ``noise``: instance noise; ``r1``: the R1 penalty; ``pacgan-r1``: both of those.
    """
    if remedy not in REMEDIES:
        raise ValueError(f"unknown remedy {remedy!r}; choose one of {', '.join(REMEDIES)}.")
    if dataset not in PACK:
        raise ValueError(f"remedies are defined for the 'ring' and 'grid' mixtures, not {dataset!r}.")
    return {
        "gan": {},
        "minimax": {"train": {"loss": "minimax"}},
        "pacgan": {"pack": PACK[dataset]},
        "wgan-gp": {"train": {"loss": "wgan-gp", "lr_d": 1e-4, "lr_g": 1e-4, "betas": (0.0, 0.9)}},
        "noise": {"train": {"instance_noise": NOISE_STD[dataset]}},
        "r1": {"train": {"r1_gamma": R1_GAMMA}},
        "pacgan-r1": {"pack": PACK[dataset], "train": {"r1_gamma": R1_GAMMA}},
    }[remedy]


def train_and_measure(
    dataset: str,
    remedy: str,
    seed: int,
    steps: int,
    n_samples: int = 2_500,
    lr: float | None = None,
    finetune: int = 0,
    progress: bool | None = None,
    overrides: dict | None = None,
):
    """Train the toy GAN of ``dataset`` with one remedy and score it with :func:`~gancourse.metrics.mode_coverage`.

    ``finetune`` > 0 adds that many steps at a tenth of the learning rate (fresh optimisers):
    the modes are so narrow (3 std = 0.03 on the ring) that Adam's jitter at 1e-3 alone
    throws many samples out of them. ``lr`` overrides both players' rate (not for WGAN-GP).
    ``overrides`` are :class:`RunConfig` settings applied last (its ``"train"`` entry
    updates the training settings), e.g. ``{"pack": 2, "train": {"lr_d": 1e-4}}``.

    Returns:
        ``(samples, coverage, seconds)``: ``n_samples`` generated points (N, 2), their
        :class:`~gancourse.metrics.ModeCoverage`, and the training time.
    """
    from . import metrics

    settings = remedy_settings(remedy, dataset)
    train_settings = {**settings.pop("train", {}), "seed": seed, "progress": progress}
    if lr is not None and not remedy.startswith("wgan"):
        train_settings.update(lr_d=lr, lr_g=lr)
    overrides = copy.deepcopy(overrides or {})
    train_settings.update(overrides.pop("train", {}))
    settings.update(overrides)
    config = load_config(dataset, steps=steps, init_seed=seed, train=train_settings, **settings)
    source, G, D = build(config)
    train_config = config.training_config()
    seconds = train.train(G, D, source, train_config).seconds
    if finetune:
        slow = replace(
            train_config, steps=finetune, lr_d=train_config.lr_d / 10, lr_g=train_config.lr_g / 10, seed=seed + 1_000
        )
        seconds += train.train(G, D, source, slow).seconds
    samples = train.generate(G, n_samples, seed=10_000 + seed)
    return samples, metrics.mode_coverage(samples, source.centers, source.std), seconds
