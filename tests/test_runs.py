"""Course experiments: presets, the mode-collapse remedies, runs measured side by side in parallel."""

import time
from dataclasses import fields, replace

import pytest
import torch
from torch import nn

from gancourse import data, models, parallel, runs


def test_each_mode_collapse_remedy_switches_on_what_it_names():
    assert runs.remedy_settings("pacgan", "ring") == {"pack": 2}
    assert runs.remedy_settings("pacgan", "grid") == {"pack": 4}  # PacGAN's Table 1
    # PacGAN's own presets count their batch in packs, as the paper does: 100 packs of 4 samples
    packed = runs.load_config("pacgan-grid", **runs.remedy_settings("pacgan", "pacgan-grid"))
    assert packed.training_config().batch_size == 400 and runs.load_config("pacgan-grid").training_config().batch_size == 100
    assert runs.remedy_settings("minibatch-std", "ring-collapse") == {"minibatch_std": True}
    assert runs.remedy_settings("spectral-norm", "ring-collapse") == {"spectral_norm": True}
    _, _, D = runs.build(runs.remedy_config("ring-collapse", "spectral-norm", seed=0))
    assert sum(nn.utils.parametrize.is_parametrized(m) for m in D.modules()) == 4  # every layer of D
    with pytest.raises(ValueError, match="spectral_norm must be true or false"):
        runs.load_config("ring", spectral_norm="yes")
    assert runs.remedy_settings("noise", "grid")["train"]["instance_noise"] > 0
    fm = runs.remedy_config("ring-collapse", "feature-matching", seed=0).training_config()
    assert (fm.loss, fm.lr_d, fm.lr_g) == ("feature-matching", 1e-4, 1e-3)  # the preset's rates stay
    gp = runs.load_config("ring", train=runs.remedy_settings("wgan-gp", "ring")["train"]).training_config()
    assert (gp.loss, gp.gp_lambda, gp.betas, gp.k, gp.lr_d) == ("wgan-gp", 10.0, (0.0, 0.9), 5, 1e-3)  # the paper's
    toy = runs.load_config("ring", train=runs.remedy_settings("wgan-gp-toy", "ring")["train"]).training_config()
    assert (toy.loss, toy.gp_lambda, toy.betas, toy.k, toy.lr_d) == ("wgan-gp", 0.1, (0.5, 0.9), 5, 1e-3)  # gan_toy.py's
    # TTUR: D at the larger of the preset's rates, G at a tenth of it, whichever player had it
    collapse = runs.load_config("ring-collapse").training_config()
    assert (collapse.lr_d, collapse.lr_g) == (1e-4, 1e-3)
    assert runs.remedy_settings("ttur", "ring-collapse") == {"train": {"lr_d": 1e-3, "lr_g": 1e-4}}
    assert runs.remedy_settings("ttur", "grid") == {"train": {"lr_d": 1e-3, "lr_g": 1e-4}}
    with pytest.raises(ValueError, match="unknown remedy 'unrolled'"):
        runs.remedy_settings("unrolled", "ring")
    with pytest.raises(ValueError, match="not 'gaussian'"):
        runs.remedy_settings("pacgan", "gaussian")


def test_pacgan_presets_build_the_papers_networks_and_training_set():
    config = runs.load_config("pacgan-grid")
    train_config = config.training_config(budget_name="full")
    assert (train_config.steps, train_config.batch_size, train_config.lr_g, train_config.betas) == (
        400_000, 100, 1e-4, (0.8, 0.999))  # fmt: skip
    assert train_config.simultaneous  # as PacGAN's code updates the two players
    source, G, D = runs.build(config)
    assert source.shape == (100_000, 2)  # a fixed training set, read in epochs
    assert torch.equal(source, runs.build(config)[0]) and not torch.equal(source, runs.build(
        runs.load_config("pacgan-grid", init_seed=1))[0])  # fmt: skip
    assert models.count_parameters(G) == 2 * 400 + 3 * 400 * 400 + 4 * 2 * 400 + 400 * 2 + 2
    assert sum(isinstance(m, models.Maxout) for m in D.modules()) == 3
    linear = [m for m in G.modules() if isinstance(m, torch.nn.Linear)]
    assert abs(torch.cat([m.weight.flatten() for m in linear]).std().item() - 0.02) < 1e-3  # N(0, 0.02)


def test_dcgan_small_is_the_dcgan_preset_with_a_quarter_of_the_width_and_half_the_batch():
    small, preset = runs.load_config("dcgan-small"), runs.load_config("dcgan")
    differ = {f.name for f in fields(runs.RunConfig) if getattr(small, f.name) != getattr(preset, f.name)}
    assert differ == {"ngf", "ndf", "steps", "train"}
    assert (small.ngf, small.ndf) == (preset.ngf // 4, preset.ndf // 4)
    small_train, preset_train = small.training_config("book"), preset.training_config("book")
    assert small_train.batch_size == preset_train.batch_size // 2
    assert replace(small_train, batch_size=1, steps=1) == replace(preset_train, batch_size=1, steps=1)  # loss, Adam
    _, G, D = runs.build(small)
    layers = [m for m in (*G.modules(), *D.modules()) if isinstance(m, torch.nn.Conv2d | torch.nn.ConvTranspose2d)]
    assert [m.out_channels for m in layers] == [64, 32, 1, 16, 32, 1]  # 4, 2, 1 and 1, 2, 1 times 16


def test_remedy_config_is_what_train_and_measure_trains():
    config = runs.remedy_config("ring-collapse", "ttur", seed=3, steps=7, overrides={"pack": 2, "train": {"k": 2}})
    trained = config.training_config()
    assert (config.pack, config.init_seed, trained.seed, trained.steps, trained.k) == (2, 3, 3, 7, 2)
    assert (trained.lr_d, trained.lr_g) == (1e-3, 1e-4)  # the remedy's, over the preset's
    spelled = runs.remedy_config("ring-collapse", "gan", seed=3, steps=7, lr=5e-4)
    assert spelled.training_config().lr_d == spelled.training_config().lr_g == 5e-4
    a = runs.train_and_measure("ring-collapse", "ttur", seed=1, steps=4, n_samples=100).samples
    b = runs.train_and_measure("ring-collapse", "gan", seed=1, steps=4, n_samples=100,
                               overrides={"train": {"lr_d": 1e-3, "lr_g": 1e-4}}).samples  # fmt: skip
    assert torch.equal(a, b)


def test_train_and_measure_keeps_snapshots_on_the_same_noise():
    run = runs.train_and_measure("ring-collapse", "pacgan", seed=0, steps=6, n_samples=300, snapshots=(0, 3, 6))
    assert run.samples.shape == (300, 2) and run.coverage.n_modes == 8 and run.seconds > 0
    assert sorted(run.snapshots) == [0, 3, 6] and torch.equal(run.snapshots[6], run.samples)
    assert not torch.equal(run.snapshots[0], run.snapshots[3])  # training moved the generator
    longer = runs.train_and_measure("ring-collapse", "pacgan", seed=0, steps=6, n_samples=300, finetune=2)
    assert not torch.equal(longer.samples, run.samples)


def test_train_and_measure_overrides_are_the_same_as_the_remedy_they_spell_out():
    packed = runs.train_and_measure("ring", "pacgan", seed=0, steps=5, n_samples=200).samples
    spelled = runs.train_and_measure("ring", "gan", seed=0, steps=5, n_samples=200, overrides={"pack": 2}).samples
    slower_d = runs.train_and_measure("ring", "pacgan", seed=0, steps=5, n_samples=200,
                                      overrides={"train": {"lr_d": 1e-5}}).samples  # fmt: skip
    assert torch.equal(packed, spelled)
    assert not torch.equal(packed, slower_d)


def test_runs_in_worker_processes_compute_exactly_what_they_compute_here():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # what every worker uses
    try:
        here = runs.compare_remedies("ring-collapse", ["gan", "minibatch-std"], seeds=[0, 1], steps=8, workers=1)
    finally:
        torch.set_num_threads(threads)
    there = runs.compare_remedies("ring-collapse", ["gan", "minibatch-std"], seeds=[0, 1], steps=8, workers=2)
    assert list(there) == [("gan", 0), ("gan", 1), ("minibatch-std", 0), ("minibatch-std", 1)]
    for key, run in here.items():
        assert torch.equal(run.samples, there[key].samples), key
    assert not torch.equal(here["gan", 0].samples, here["gan", 1].samples)


def _fails(x):
    if x == 2:
        raise ValueError("job 2 went wrong")
    if x == 30:
        time.sleep(30)  # a long job, still running when another one fails
    return x * x


def test_parallel_map_keeps_the_order_and_raises_a_jobs_error(monkeypatch):
    assert parallel.map(_fails, [dict(x=1), dict(x=3)], workers=2) == [1, 9]
    with pytest.raises(ValueError, match="job 2 went wrong"):
        parallel.map(_fails, [dict(x=1), dict(x=2), dict(x=3)], workers=2)
    start = time.perf_counter()
    with pytest.raises(ValueError, match="job 2 went wrong"):  # without waiting for the long job
        parallel.map(_fails, [dict(x=30), dict(x=2)], workers=2)
    assert time.perf_counter() - start < 20
    monkeypatch.setenv(parallel.ENV_VAR, "3")
    assert parallel.default_workers(10) == 3 and parallel.default_workers(2) == 2
    monkeypatch.setenv(parallel.ENV_VAR, "many")
    with pytest.raises(ValueError, match="GANCOURSE_WORKERS='many' is not a number of workers"):
        parallel.default_workers(4)


def _threads():
    return torch.get_num_threads()


def test_parallel_workers_run_one_thread_each_whatever_gancourse_threads_says(monkeypatch):
    # two workers of two threads on two cores oversubscribe them: a chapter's cell ran 7x slower
    monkeypatch.setenv("GANCOURSE_THREADS", "2")
    assert parallel.map(_threads, [{}, {}], workers=2) == [1, 1]


def test_one_seed_sets_the_initial_weights_and_the_training_randomness():
    config = runs.load_config("gaussian", seed=7, train={"k": 2})
    assert config.init_seed == 7 and config.train["seed"] == 7 and config.train["k"] == 2
    assert runs.load_config("gaussian").init_seed == 0


def test_train_and_measure_trains_on_the_reweighted_modes(monkeypatch):
    """The weights reach the training data: the sampler, or the fixed training set drawn from it."""
    import types

    from gancourse import remedies

    seen = []

    def record_source(G, D, source, config, **kwargs):
        seen.append(source)
        return types.SimpleNamespace(history={}, seconds=0.0)

    monkeypatch.setattr(remedies.train, "train", record_source)
    weights = torch.tensor([0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0])
    runs.train_and_measure("best-ring", seed=0, steps=1, n_samples=10, weights=weights)
    assert torch.equal(seen[-1].weights, weights.double())
    runs.train_and_measure("pacgan-ring", seed=0, steps=1, n_samples=10, weights=weights)  # 100,000 points drawn once
    points = seen[-1]
    assert points.shape == (100_000, 2) and torch.cdist(points, data.ring().centers).argmin(dim=1).eq(2).all()
