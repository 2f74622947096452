"""The training loop: it learns, it resumes exactly, and it stops cleanly when it must."""

import copy
import os
import signal
from dataclasses import replace

import pytest
import torch

from gancourse import data, losses, models, runs, train
from gancourse.checkpoint import CheckpointError, load_checkpoint


def mlp_pair(seed: int, z_dim: int = 4, hidden: int = 64, pack: int = 1):
    torch.manual_seed(seed)
    G = models.MLPGenerator(z_dim=z_dim, x_dim=2, hidden=hidden, depth=2)
    D = models.MLPDiscriminator(x_dim=2, hidden=hidden, depth=2, pack=pack)
    return G, D


def moments_error(G, target: data.Gaussian):
    x = train.generate(G, 20_000, seed=123)
    return (x.mean(0) - target.mean).abs().max().item(), (torch.cov(x.T) - target.cov).abs().max().item()


def test_fully_connected_gan_learns_a_2d_gaussian():
    """The first GAN of the course: G takes 4 noise numbers and learns N(mu, Sigma) in 1,000 steps.

    Tolerance: every entry of the mean within 0.15 and of the covariance within 0.3
    (the target's largest covariance entry is 1.0).
    """
    run = runs.load_config("gaussian", train={"progress": False})
    target, G, D = runs.build(run)
    config = run.training_config("smoke")
    assert config.steps == 1_000 and G.z_dim == 4
    before = moments_error(G, target)
    assert before[0] > 0.5  # the untrained generator is far off, so the test can fail
    result = train.train(G, D, target, config)
    mean_err, cov_err = moments_error(G, target)
    assert mean_err < 0.15, f"mean off by {mean_err:.3f}"
    assert cov_err < 0.3, f"covariance off by {cov_err:.3f}"
    # At the end the game is near its equilibrium: D can hardly tell, D(x) ~ D(G(z)) ~ 1/2.
    late = slice(-100, None)
    mean = lambda key: sum(result.history[key][late]) / 100  # noqa: E731
    assert abs(mean("D_x") - 0.5) < 0.15 and abs(mean("D_G_z") - 0.5) < 0.15


def test_feature_matching_learns_the_2d_gaussian_too():
    """Salimans et al.'s generator loss on the first GAN of the course: matching the mean of D's
    last hidden layer is enough for G to learn N(mu, Sigma) within the same tolerances
    (measured on seeds 0-2: mean within 0.01-0.02, covariance within 0.08-0.09)."""
    run = runs.load_config("gaussian", train={"progress": False, "loss": "feature-matching"})
    target, G, D = runs.build(run)
    assert moments_error(G, target)[0] > 0.5
    train.train(G, D, target, run.training_config("smoke"))
    mean_err, cov_err = moments_error(G, target)
    assert mean_err < 0.15 and cov_err < 0.3, (mean_err, cov_err)


@pytest.mark.parametrize("loss", [name for name in train.LOSSES if not losses.OBJECTIVES[name].auxiliary])  # AC-GAN: test_conditional
def test_every_loss_runs_and_records_a_full_history(loss):
    G, D = mlp_pair(seed=1)
    config = train.TrainConfig(loss, steps=30, batch_size=32, log_every=7, progress=False)
    result = train.train(G, D, data.ring(), config)
    h = result.history
    assert set(h) == set(train.HISTORY_KEYS)
    assert h["step"] == list(range(1, 31))
    assert all(len(h[key]) == 30 for key in train.HISTORY_KEYS)
    assert all(v > 0 for v in h["grad_norm_D"] + h["grad_norm_G"])
    if loss.startswith("wgan"):
        assert config.k == 5
    else:  # probabilities
        assert all(0 < v < 1 for v in h["D_x"] + h["D_G_z"])
    assert (max(h["penalty"]) > 0) == (loss == "wgan-gp")


class CountingSampler:
    """A data source that counts the real batches it hands out."""

    def __init__(self):
        self.calls = 0
        self.mixture = data.ring()

    def sample(self, n, generator=None):
        self.calls += 1
        return self.mixture.sample(n, generator=generator)


@pytest.mark.parametrize(("loss", "k", "expected_k"), [("nonsaturating", 3, 3), ("wgan", None, 5), ("wgan-gp", 2, 2)])
def test_k_discriminator_steps_per_generator_step(loss, k, expected_k):
    G, D = mlp_pair(seed=2)
    source = CountingSampler()
    train.train(G, D, source, train.TrainConfig(loss, steps=4, batch_size=16, k=k, progress=False))
    assert source.calls == 1 + 4 * expected_k  # one batch for check_first_batch, then k per generator step


def test_weight_clipping_keeps_the_critic_in_the_box():
    G, D = mlp_pair(seed=3)
    train.train(G, D, data.ring(), train.TrainConfig("wgan", steps=5, batch_size=32, clip=0.01, progress=False))
    assert all(p.abs().max().item() <= 0.01 + 1e-7 for p in D.parameters())
    assert max(p.abs().max().item() for p in D.parameters()) == pytest.approx(0.01)


def test_same_seed_same_run():
    runs = []
    for _ in range(2):
        G, D = mlp_pair(seed=4)
        runs.append(train.train(G, D, data.ring(), train.TrainConfig(steps=20, batch_size=32, seed=7, progress=False)))
    assert runs[0].history == runs[1].history
    G, D = mlp_pair(seed=4)
    other = train.train(G, D, data.ring(), train.TrainConfig(steps=20, batch_size=32, seed=8, progress=False))
    assert other.history["loss_D"] != runs[0].history["loss_D"]


@pytest.mark.parametrize("loss", ["nonsaturating", "wgan-gp"])
def test_resume_continues_exactly_as_an_uninterrupted_run(tmp_path, loss):
    points = data.gaussian_2d().sample(500, seed=0)  # a finite dataset: epochs and permutations
    config = dict(loss=loss, batch_size=64, seed=3, progress=False, checkpoint_every=10)

    G, D = mlp_pair(seed=5)
    whole = train.train(G, D, points, train.TrainConfig(steps=40, **config), checkpoint_dir=tmp_path / "whole")

    G1, D1 = mlp_pair(seed=5)
    train.train(G1, D1, points, train.TrainConfig(steps=17, **config), checkpoint_dir=tmp_path / "split")
    G2, D2 = mlp_pair(seed=99)  # different initial weights: everything must come from the checkpoint
    resumed = train.train(
        G2, D2, points, train.TrainConfig(steps=40, **config), checkpoint_dir=tmp_path / "split", resume=True
    )
    assert resumed.step == 40
    assert resumed.history == whole.history
    for a, b in zip(G.state_dict().values(), G2.state_dict().values(), strict=True):
        assert torch.equal(a, b)


def test_dcgan_resumes_exactly_with_batch_norm(tmp_path):
    images = torch.rand(96, 1, 28, 28) * 2 - 1
    config = dict(batch_size=16, progress=False, checkpoint_every=3)

    def pair():
        torch.manual_seed(0)
        return models.DCGANGenerator(z_dim=8, ngf=4), models.DCGANDiscriminator(ndf=4)

    G, D = pair()
    whole = train.train(G, D, images, train.TrainConfig(steps=8, **config), checkpoint_dir=tmp_path / "a")
    G1, D1 = pair()
    train.train(G1, D1, images, train.TrainConfig(steps=3, **config), checkpoint_dir=tmp_path / "b")
    G2, D2 = pair()
    resumed = train.train(G2, D2, images, train.TrainConfig(steps=8, **config), checkpoint_dir=tmp_path / "b", resume=True)
    assert resumed.history == whole.history


def test_checkpoint_from_another_model_is_refused(tmp_path):
    G, D = mlp_pair(seed=0)
    train.train(G, D, data.ring(), train.TrainConfig(steps=2, batch_size=8, progress=False), checkpoint_dir=tmp_path)
    G_big, D_big = mlp_pair(seed=0, hidden=32)
    with pytest.raises(CheckpointError, match="different layers"):
        train.train(G_big, D_big, data.ring(), train.TrainConfig(steps=4, batch_size=8, progress=False),
                    checkpoint_dir=tmp_path, resume=True)  # fmt: skip
    with pytest.raises(CheckpointError, match="loss 'nonsaturating' -> 'wgan'"):
        train.train(G, D, data.ring(), train.TrainConfig("wgan", steps=4, batch_size=8, progress=False),
                    checkpoint_dir=tmp_path, resume=True)  # fmt: skip


class ExplodingDiscriminator(torch.nn.Module):
    """An MLP discriminator whose output turns NaN after a given number of calls."""

    def __init__(self, after_calls: int):
        super().__init__()
        self.net = models.MLPDiscriminator(x_dim=2, hidden=8, depth=1)
        self.calls, self.after = 0, after_calls

    def forward(self, x):
        self.calls += 1
        out = self.net(x)
        return out * float("nan") if self.calls > self.after else out


def test_nan_losses_stop_training_and_keep_the_last_good_checkpoint(tmp_path):
    torch.manual_seed(0)
    G = models.MLPGenerator(z_dim=2, x_dim=2, hidden=8, depth=1)
    D = ExplodingDiscriminator(after_calls=2 * 13)  # 2 D calls + 1 G call per step: NaN from step 9
    config = train.TrainConfig(steps=50, batch_size=8, checkpoint_every=5, log_every=5, progress=False)
    with pytest.raises(train.TrainingDiverged, match=r"NaN/inf at step 9 .*last good checkpoint is .* \(step 5\)"):
        train.train(G, D, data.ring(), config, checkpoint_dir=tmp_path)
    state = load_checkpoint(tmp_path / train.CHECKPOINT_NAME)
    assert state["step"] == 5
    assert all(torch.isfinite(v).all() for v in state["G"].values())


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"loss": "lsgan"}, "unknown loss 'lsgan'; choose one of minimax, nonsaturating, wgan, wgan-gp"),
        ({"steps": -5}, "steps must be a positive integer"),
        ({"k": 0}, r"n_critic \(k\) must be a positive integer"),
        ({"batch_size": 0}, "batch_size must be a positive integer"),
        ({"lr_d": 0.0}, "lr_d must be a positive number"),
        ({"steps": True}, "steps must be a positive integer, got True"),  # a bool is not a number of steps
        ({"lr_d": "fast"}, "lr_d must be a positive number, got 'fast'"),
        ({"betas": [0.5]}, r"betas must be two numbers in \[0, 1\), e.g. \[0.5, 0.999\], got \[0.5\]"),
        ({"progress": "no"}, "progress must be true, false or None .*, got 'no'"),
        ({"seed": 1.5}, r"seed must be an integer from -2\*\*63 to 2\*\*64 - 1, got 1.5"),
        ({"seed": 10**23}, r"seed must be an integer from -2\*\*63 to 2\*\*64 - 1, got 100000000000000000000000"),
        ({"lr_d": 1e39}, r"lr_d must be below 3.4e\+38 \(float32's largest\), got 1e\+39"),
        ({"lr_g": float("inf")}, "lr_g must be a positive number, got inf"),
        ({"loss": ["wgan"]}, "loss must be one of minimax"),
        ({"optimizer": "adagrad"}, "unknown optimizer"),
    ],
)
def test_impossible_configs_are_refused_with_the_fix(kwargs, message):
    with pytest.raises(ValueError, match=message):
        train.TrainConfig(**kwargs)


def test_paper_defaults_per_loss():
    wgan = train.TrainConfig("wgan")
    assert (wgan.optimizer, wgan.lr_d, wgan.k, wgan.clip) == ("rmsprop", 5e-5, 5, 0.01)
    gp = train.TrainConfig("wgan-gp")
    assert (gp.optimizer, gp.lr_d, gp.betas, gp.k, gp.gp_lambda) == ("adam", 1e-4, (0.0, 0.9), 5, 10.0)
    dcgan = train.TrainConfig("nonsaturating")
    assert (dcgan.lr_d, dcgan.betas, dcgan.k) == (2e-4, (0.5, 0.999), 1)


def test_data_and_batch_mismatches_are_explained():
    G, D = mlp_pair(seed=0, pack=2)
    with pytest.raises(ValueError, match="multiple of the discriminator's pack 2"):
        train.train(G, D, data.ring(), train.TrainConfig(steps=1, batch_size=7, progress=False))
    with pytest.raises(ValueError, match="fewer than one batch"):
        train.train(G, D, torch.zeros(10, 2), train.TrainConfig(steps=1, batch_size=16, progress=False))
    with pytest.raises(ValueError, match="needs an integer attribute z_dim"):
        train.train(torch.nn.Linear(2, 2), D, data.ring(), train.TrainConfig(steps=1, progress=False))
    with pytest.raises(ValueError, match="resume=True needs the checkpoint_dir"):
        train.train(G, D, data.ring(), train.TrainConfig(steps=1, progress=False), resume=True)


def test_callback_sees_the_models_at_the_requested_steps():
    G, D = mlp_pair(seed=0)
    seen = []
    train.train(G, D, data.ring(), train.TrainConfig(steps=9, batch_size=8, progress=False),
                callback=lambda step, g, d: seen.append((step, g is G, d is D)), callback_every=3)  # fmt: skip
    assert seen == [(3, True, True), (6, True, True), (9, True, True)]


def test_generation_phase_needs_only_the_generator():
    G, _ = mlp_pair(seed=0)
    a, b = train.generate(G, 100, seed=1), train.generate(G, 100, seed=1)
    assert a.shape == (100, 2) and torch.equal(a, b)
    assert G.training  # put back in train mode
    z = torch.randn(100, G.z_dim, generator=torch.Generator().manual_seed(1))
    assert torch.equal(train.decode(G, z), a)  # generate is decode of fresh noise


def test_a_discriminator_trained_against_a_fixed_generator_approaches_d_star():
    from gancourse import theory

    p_data, p_g = data.gaussian_1d(0.0, 1.0), data.gaussian_1d(1.5, 1.0)
    torch.manual_seed(0)
    D = models.MLPDiscriminator(x_dim=1, hidden=32, depth=2)
    loss = train.fit_discriminator(D, p_data, p_g, steps=400, batch_size=512, lr=3e-3)
    x = torch.linspace(-2.0, 3.5, 56)
    with torch.no_grad():
        D_x = torch.sigmoid(D(x[:, None]))
    D_star = theory.optimal_discriminator(theory.gaussian_pdf(x, 0.0, 1.0), theory.gaussian_pdf(x, 1.5, 1.0))
    assert (D_x - D_star).abs().max().item() < 0.06
    # its loss approaches -V(D*, G) = log 4 - 2 JSD from above
    grid = torch.linspace(-12, 13, 100_001, dtype=torch.float64)
    V_star = theory.value_function(theory.gaussian_pdf(grid, 0.0, 1.0), theory.gaussian_pdf(grid, 1.5, 1.0),
                                   dx=(grid[1] - grid[0]).item())  # fmt: skip
    assert abs(sum(loss[-50:]) / 50 - (-V_star.item())) < 0.03


class RecordingDiscriminator(torch.nn.Module):
    """An MLP discriminator that keeps the spread of every batch it is shown."""

    def __init__(self):
        super().__init__()
        self.net = models.MLPDiscriminator(x_dim=2, hidden=8, depth=1)
        self.stds = []

    def forward(self, x):
        self.stds.append(x.std().item())
        return self.net(x)


def test_instance_noise_blurs_what_d_sees_and_anneals_to_zero():
    torch.manual_seed(0)
    G = models.MLPGenerator(z_dim=2, x_dim=2, hidden=8, depth=1)
    D = RecordingDiscriminator()
    real = torch.zeros(4096, 2)  # a point mass: any spread D sees is the noise
    train.train(G, D, real, train.TrainConfig(steps=4, batch_size=2048, instance_noise=1.0, progress=False))
    # three D calls per step: real and fake in update_D, fake in update_G; real batches first
    real_stds = D.stds[0::3]
    assert real_stds == pytest.approx([1.0, 0.75, 0.5, 0.25], abs=0.03)
    D.stds.clear()
    train.train(G, D, real, train.TrainConfig(steps=2, batch_size=2048, progress=False))
    assert D.stds[0] == 0.0  # no noise unless asked for


def test_fit_discriminator_trains_a_critic_towards_the_earth_mover_distance():
    # N(0, I) vs N((2, 0), I) in the plane: a shift, so W = 2 and the optimal critic is f(x) = -x_1.
    # (In 1-D the two-sided penalty can trap a critic in the wrong sign: its slope would have to
    # pass through 0, where the penalty is lambda. In the plane the gradient can turn instead.)
    torch.manual_seed(0)
    critic = models.MLPDiscriminator(x_dim=2, hidden=32, depth=2)
    p_data = data.Gaussian(torch.zeros(2), torch.eye(2))
    p_g = data.Gaussian(torch.tensor([2.0, 0.0]), torch.eye(2))
    loss = train.fit_discriminator(critic, p_data, p_g, steps=600, loss="wgan-gp", lr=1e-3, betas=(0.0, 0.9))
    estimate = -sum(loss[-100:]) / 100
    assert 1.7 < estimate < 2.3 and -loss[0] < 0.5
    with pytest.raises(ValueError, match="not 'wgan'"):
        train.fit_discriminator(critic, p_data, p_g, steps=1, loss="wgan")
    # The one-sided penalty leaves the optimal critic (slope 1) free: the same estimate.
    torch.manual_seed(0)
    critic = models.MLPDiscriminator(x_dim=2, hidden=32, depth=2)
    loss = train.fit_discriminator(critic, p_data, p_g, steps=600, loss="wgan-gp", lr=1e-3, betas=(0.0, 0.9), one_sided=True)
    assert 1.7 < -sum(loss[-100:]) / 100 < 2.3
    with pytest.raises(ValueError, match="one_sided"):
        train.fit_discriminator(critic, p_data, p_g, steps=1, one_sided=True)


def test_a_frozen_generator_samples_like_generate_and_stays_frozen():
    torch.manual_seed(0)
    G = models.MLPGenerator(z_dim=2, x_dim=2)
    frozen = train.FrozenGenerator(G)
    x = frozen.sample(5, generator=torch.Generator().manual_seed(3))
    assert torch.equal(x, train.generate(G, 5, seed=3)) and not x.requires_grad


def test_lr_milestones_drop_both_rates_tenfold_and_resume_exactly(tmp_path):
    config = train.TrainConfig(steps=40, batch_size=32, lr_d=1e-3, lr_g=2e-3, lr_milestones=(0.5, 0.75),
                               checkpoint_every=5, progress=False)  # fmt: skip
    assert [config.lr_factor(s) for s in (1, 20, 21, 30, 31, 40)] == pytest.approx([1, 1, 0.1, 0.1, 0.01, 0.01])
    ring = data.ring()

    def models_at_seed_0():
        torch.manual_seed(0)
        return models.MLPGenerator(z_dim=2, hidden=16), models.MLPDiscriminator(hidden=16)

    G, D = models_at_seed_0()
    train.train(G, D, ring, config, checkpoint_dir=tmp_path / "full")
    state = load_checkpoint(tmp_path / "full" / train.CHECKPOINT_NAME)
    assert state["opt_D"]["param_groups"][0]["lr"] == pytest.approx(1e-5)
    assert state["opt_G"]["param_groups"][0]["lr"] == pytest.approx(2e-5)

    class Interrupted(Exception):
        pass

    def stop_at_25(step, G, D):
        if step == 25:  # between the two milestones, just after a checkpoint
            raise Interrupted

    G2, D2 = models_at_seed_0()
    with pytest.raises(Interrupted):
        train.train(G2, D2, ring, config, checkpoint_dir=tmp_path / "part", callback=stop_at_25, callback_every=1)
    train.train(G2, D2, ring, config, checkpoint_dir=tmp_path / "part", resume=True)
    for a, b in zip(G.state_dict().values(), G2.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    with pytest.raises(ValueError, match="lr_milestones must be increasing fractions"):
        train.TrainConfig(lr_milestones=(0.8, 0.5))


def test_simultaneous_updates_step_g_on_its_gradient_from_before_ds_step():
    ring = data.ring()
    torch.manual_seed(0)
    G, D = models.MLPGenerator(z_dim=2, hidden=8), models.MLPDiscriminator(hidden=8)
    G_by_hand, D_before = copy.deepcopy(G), copy.deepcopy(D)
    G_alternating, D_alternating = copy.deepcopy(G), copy.deepcopy(D)
    # plain SGD, so that the step is proportional to the gradient (Adam's first step is about lr * sign)
    config = train.TrainConfig(steps=1, batch_size=16, optimizer="sgd", lr_d=0.5, lr_g=0.5, simultaneous=True,
                               seed=3, progress=False)  # fmt: skip
    train.train(G, D, ring, config)
    train.train(G_alternating, D_alternating, ring, replace(config, simultaneous=False))
    # by hand: the same draws as the loop (a real batch, then the noise), D as it was before its step
    rng = torch.Generator().manual_seed(3)
    ring.sample(16, generator=rng)
    z = torch.randn(16, 2, generator=rng)
    optimizer = torch.optim.SGD(G_by_hand.parameters(), lr=config.lr_g)
    losses.g_loss_nonsaturating(D_before(G_by_hand(z))).backward()
    optimizer.step()
    for a, b in zip(G.parameters(), G_by_hand.parameters(), strict=True):
        assert torch.allclose(a, b)
    assert not all(torch.allclose(a, c) for a, c in zip(G.parameters(), G_alternating.parameters(), strict=True))
    assert all(torch.equal(a, b) for a, b in zip(D.parameters(), D_alternating.parameters(), strict=True))


# --------------------------------------------------------------------------- the step as a unit


def state_for(config, seed=0):
    G, D = mlp_pair(seed=seed, hidden=16)
    return train.TrainingState.create(G, D, data.ring(), config, device="cpu")


def params(module):
    return [p.detach().clone() for p in module.parameters()]


def same(a, b):
    return all(torch.equal(x, y) for x, y in zip(a, b, strict=True))


def test_update_D_moves_only_D_and_update_G_moves_only_G():
    state = state_for(train.TrainConfig(steps=1, batch_size=32, progress=False))
    G0, D0 = params(state.G), params(state.D)
    x_fake = state.G(state.noise())
    out_D = train.update_D(state, state.batches.next(), x_fake)
    assert same(params(state.G), G0) and not same(params(state.D), D0)
    assert all(p.grad is None for p in state.G.parameters())  # D's step saw x_fake.detach()
    D1 = params(state.D)
    out_G = train.update_G(state, x_fake)
    assert same(params(state.D), D1) and not same(params(state.G), G0)
    assert set(out_D) | set(out_G) == set(train.HISTORY_KEYS) - {"step"}
    # D(G(z)) before D's step and after it, on the same fakes (the PyTorch example's pair)
    with torch.no_grad():
        after = torch.sigmoid(state.D(x_fake)).mean()
    assert out_G["D_G_z_after"] == pytest.approx(after.item(), abs=1e-6)
    assert out_G["D_G_z_after"] != out_D["D_G_z"]  # D's step changed its score of these fakes


def test_simultaneous_updates_record_d_of_g_of_z_before_ds_step_twice():
    G, D = mlp_pair(seed=0, hidden=16)
    config = train.TrainConfig(steps=5, batch_size=32, simultaneous=True, progress=False)
    h = train.train(G, D, data.ring(), config).history
    assert h["D_G_z_after"] == pytest.approx(h["D_G_z"], abs=1e-6)


def test_a_new_loss_is_one_row_of_the_objectives_table(monkeypatch):
    """Least squares (Mao et al., 2017) added as one row: D regresses real to 1 and fake to 0."""
    lsgan = losses.Objective(
        d_loss=lambda real, fake: 0.5 * ((real - 1) ** 2).mean() + 0.5 * (fake**2).mean(),
        g_loss=lambda fake: 0.5 * ((fake - 1) ** 2).mean(),
        critic=True,  # raw outputs, recorded as they are
    )
    monkeypatch.setitem(losses.OBJECTIVES, "least-squares", lsgan)
    config = train.TrainConfig("least-squares", steps=3, batch_size=32, progress=False)
    state = state_for(config)
    D_before = copy.deepcopy(state.D)
    x_real, x_fake = state.batches.next(), state.G(state.noise())
    out = train.update_D(state, x_real, x_fake)
    with torch.no_grad():
        expected = 0.5 * ((D_before(x_real) - 1) ** 2).mean() + 0.5 * (D_before(x_fake) ** 2).mean()
    assert out["loss_D"].item() == pytest.approx(expected.item(), rel=1e-6)
    G, D = mlp_pair(seed=0, hidden=16)
    history = train.train(G, D, data.ring(), config).history
    assert len(history["loss_G"]) == 3 and all(v == v for v in history["loss_G"])


@pytest.mark.parametrize("pack", [1, 2])
def test_feature_matching_steps_G_down_the_distance_of_Ds_feature_means(pack):
    """update_G with loss 'feature-matching': the loss is ||mean h(x_real) - mean h(G(z))||^2 of
    D's last hidden layer, G's gradient is that loss's, and D's logits come from the same pass."""
    config = train.TrainConfig("feature-matching", steps=3, batch_size=32, progress=False)
    G, D = mlp_pair(seed=3, hidden=16, pack=pack)
    state = train.TrainingState.create(G, D, data.ring(), config, device="cpu")
    G_copy, D_copy = copy.deepcopy(state.G), copy.deepcopy(state.D)
    z, x_real = state.noise(), state.batches.next()
    with pytest.raises(ValueError, match="needs the real batch"):
        train.update_G(state, state.G(z))
    out = train.update_G(state, state.G(z), apply=False, x_real=x_real)
    h_fake = D_copy.features(G_copy(z))
    expected = ((D_copy.features(x_real).mean(0) - h_fake.mean(0)) ** 2).sum()
    expected.backward()
    assert out["loss_G"].item() == pytest.approx(expected.item(), rel=1e-5)
    for got, want in zip(state.G.parameters(), G_copy.parameters(), strict=True):
        assert torch.allclose(got.grad, want.grad, rtol=1e-4, atol=1e-7)
    assert out["D_G_z_after"].item() == pytest.approx(torch.sigmoid(D_copy.head(h_fake)).mean().item(), rel=1e-5)


def test_feature_matching_trains_and_refuses_a_discriminator_without_features():
    """The loop passes the real batch (sequential and simultaneous updates alike); a network of the
    reader's own without features/head is refused before the first step, and so is a fixed D."""
    for simultaneous in (False, True):
        G, D = mlp_pair(seed=4, hidden=16)
        config = train.TrainConfig("feature-matching", steps=5, batch_size=32, simultaneous=simultaneous, progress=False)
        history = train.train(G, D, data.ring(), config).history
        assert len(history["loss_G"]) == 5 and all(v >= 0 for v in history["loss_G"])
    G, _ = mlp_pair(seed=4, hidden=16)
    plain = torch.nn.Sequential(torch.nn.Linear(2, 8), torch.nn.LeakyReLU(0.2), torch.nn.Linear(8, 1), torch.nn.Flatten(0))
    with pytest.raises(ValueError, match="give a discriminator with features") as refused:
        train.train(G, plain, data.ring(), train.TrainConfig("feature-matching", steps=2, progress=False))
    assert "\n" not in str(refused.value)
    with pytest.raises(ValueError, match="a fixed D alone gives none"):
        train.fit_generator(G, models.MLPDiscriminator(), steps=2, loss="feature-matching")
    with pytest.raises(ValueError, match="needs a conditional generator and an AC-GAN discriminator"):
        train.fit_generator(G, models.MLPDiscriminator(), steps=2, loss="acgan")


def test_callbacks_run_at_chosen_steps_and_every_n_steps():
    G, D = mlp_pair(seed=0, hidden=16)
    seen = []
    config = train.TrainConfig(steps=9, batch_size=8, progress=False)
    train.train(G, D, data.ring(), config, callback=lambda step, g, d: seen.append(step), callback_at=[2, 5])
    assert seen == [2, 5]
    seen.clear()
    G, D = mlp_pair(seed=0, hidden=16)
    train.train(G, D, data.ring(), config, callback=lambda step, g, d: seen.append(step),
                callback_at=[5, 2], callback_every=4)  # fmt: skip
    assert seen == [2, 4, 5, 8]


def test_training_state_round_trips_through_its_state_dict():
    config = train.TrainConfig(steps=6, batch_size=32, progress=False)
    a = state_for(config, seed=0)
    for _ in range(3):
        x_fake = a.G(a.noise())
        train.update_D(a, a.batches.next(), x_fake)
        train.update_G(a, x_fake)
    a.step = 3
    saved = copy.deepcopy(a.state_dict())
    assert saved["models"]["G"] == {"class": "MLPGenerator",
                                    "args": {"z_dim": 4, "x_dim": 2, "hidden": 16, "depth": 2, "batch_norm": False}}  # fmt: skip
    b = state_for(config, seed=1)  # other weights, fresh optimisers and random state
    b.load_state_dict(saved)
    assert b.step == 3 and same(params(b.G), params(a.G)) and same(params(b.D), params(a.D))
    assert torch.equal(a.noise(), b.noise())  # the random streams continue alike
    with pytest.raises(CheckpointError, match="loss 'nonsaturating' -> 'wgan-gp'"):
        state_for(replace(config, loss="wgan-gp")).load_state_dict(saved)


def test_r1_is_refused_for_the_wasserstein_losses():
    with pytest.raises(ValueError, match="r1_gamma is a penalty of the GAN losses"):
        train.TrainConfig("wgan-gp", r1_gamma=1.0)


def test_train_discriminator_builds_and_fits_in_one_or_two_phases():
    p_data, p_g = data.gaussian_1d(0.0, 1.0), data.gaussian_1d(2.0, 1.0)
    D, loss = train.train_discriminator(p_data, p_g, 40, seed=3, batch_size=64, lr=3e-3, final_lr=3e-4)
    torch.manual_seed(3)
    by_hand = models.MLPDiscriminator(x_dim=1, hidden=32, depth=2)
    expected = train.fit_discriminator(by_hand, p_data, p_g, 30, 64, 3e-3, 3)
    expected += train.fit_discriminator(by_hand, p_data, p_g, 10, 64, 3e-4, 4)
    assert loss == expected and len(loss) == 40
    assert all(torch.equal(a, b) for a, b in zip(D.state_dict().values(), by_hand.state_dict().values(), strict=True))
    _, one_phase = train.train_discriminator(p_data, p_g, 40, seed=3, batch_size=64, lr=3e-3)
    assert one_phase[:30] == expected[:30] and one_phase[30:] != expected[30:]


def test_ctrl_c_finishes_the_step_saves_it_and_resume_is_exact(tmp_path):
    """Ctrl-C (a real SIGINT) during step 23: the step ends, is checkpointed, then training stops."""
    config = train.TrainConfig(steps=40, batch_size=32, seed=1, checkpoint_every=10, progress=False)
    G, D = mlp_pair(seed=4)
    whole = train.train(G, D, data.ring(), config, checkpoint_dir=tmp_path / "whole")

    def ctrl_c_at_23(step, G, D):
        if step == 23:
            os.kill(os.getpid(), signal.SIGINT)

    G1, D1 = mlp_pair(seed=4)
    with pytest.raises(KeyboardInterrupt):
        train.train(G1, D1, data.ring(), config, checkpoint_dir=tmp_path / "cut", callback=ctrl_c_at_23, callback_every=1)
    assert load_checkpoint(tmp_path / "cut" / train.CHECKPOINT_NAME)["step"] == 23  # not the periodic 20
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # the handler is put back
    G2, D2 = mlp_pair(seed=99)
    resumed = train.train(G2, D2, data.ring(), config, checkpoint_dir=tmp_path / "cut", resume=True)
    assert resumed.history == whole.history
    for a, b in zip(G.state_dict().values(), G2.state_dict().values(), strict=True):
        assert torch.equal(a, b)


def test_a_divergence_names_only_a_checkpoint_this_run_wrote(tmp_path):
    G, D = mlp_pair(seed=0)
    train.train(G, D, data.ring(), train.TrainConfig(steps=2, batch_size=8, progress=False), checkpoint_dir=tmp_path)
    torch.manual_seed(0)  # a new run into the same folder diverges before its first checkpoint
    G = models.MLPGenerator(z_dim=2, x_dim=2, hidden=8, depth=1)
    config = train.TrainConfig(steps=50, batch_size=8, checkpoint_every=20, log_every=5, progress=False)
    with pytest.raises(train.TrainingDiverged, match="training stopped and no checkpoint was written"):
        train.train(G, ExplodingDiscriminator(after_calls=2 * 3), data.ring(), config, checkpoint_dir=tmp_path)


def test_weights_that_an_update_made_nan_are_never_saved_as_the_last_good_checkpoint(tmp_path):
    """lr_g = 1e30: the losses of the first step are finite; after it G's weights are huge and its outputs NaN."""
    G, D = mlp_pair(seed=0)
    config = train.TrainConfig(steps=20, batch_size=8, lr_g=1e30, checkpoint_every=1, progress=False)
    with pytest.raises(train.TrainingDiverged, match=r"NaN/inf in G's samples after step 1; .*no checkpoint was written"):
        train.train(G, D, data.ring(), config, checkpoint_dir=tmp_path)
    assert not (tmp_path / train.CHECKPOINT_NAME).exists()
    G, D = mlp_pair(seed=0)  # with a good checkpoint first: that one is named, and kept as it was
    train.train(G, D, data.ring(), replace(config, lr_g=1e-3, steps=3), checkpoint_dir=tmp_path)
    good = (tmp_path / train.CHECKPOINT_NAME).read_bytes()
    with pytest.raises(train.TrainingDiverged, match=r"the last good checkpoint is .* \(step 3\)"):
        train.train(G, D, data.ring(), replace(config, steps=20), checkpoint_dir=tmp_path, resume=True)
    assert (tmp_path / train.CHECKPOINT_NAME).read_bytes() == good


def test_non_finite_names_the_first_tensor_that_holds_nan_or_inf():
    G, D = mlp_pair(seed=0)
    state = {"G": G.state_dict(), "D": D.state_dict(), "opt_G": {"state": {0: {"exp_avg": torch.zeros(2)}}}, "opt_D": {}}
    assert train._non_finite(state) == ""
    state["opt_G"]["state"][0]["exp_avg"][1] = float("inf")
    assert train._non_finite(state) == "opt_G: state.0.exp_avg"
    key = next(iter(state["D"]))
    state["D"][key] = state["D"][key].clone().fill_(float("nan"))
    assert train._non_finite(state) == f"D: {key}"


def test_resuming_with_more_steps_says_where_the_learning_rate_milestones_move(tmp_path, capsys):
    config = train.TrainConfig(steps=20, batch_size=16, lr_milestones=(0.6, 0.85), progress=False)
    G, D = mlp_pair(seed=0)
    train.train(G, D, data.ring(), config, checkpoint_dir=tmp_path)
    capsys.readouterr()
    train.train(G, D, data.ring(), replace(config, steps=40), checkpoint_dir=tmp_path, resume=True)
    out = capsys.readouterr().out.splitlines()
    assert out == ["resume: steps 20 -> 40 moves the learning-rate milestones from steps 12, 17 to 24, 34; "
                   "at step 21 the rates are 1 times lr_d and lr_g (they were 0.01 times)"]  # fmt: skip


def test_resume_applies_new_learning_rates_and_betas_and_says_so(tmp_path, capsys):
    G, D = mlp_pair(seed=0)
    config = train.TrainConfig(steps=10, batch_size=16, lr_d=1e-3, lr_g=1e-3, progress=False)
    train.train(G, D, data.ring(), config, checkpoint_dir=tmp_path)
    slower = replace(config, steps=20, lr_d=1e-5, betas=(0.6, 0.99))  # the advice after a divergence
    train.train(G, D, data.ring(), slower, checkpoint_dir=tmp_path, resume=True)
    out = capsys.readouterr().out.splitlines()
    assert out == ["resume: lr_d 0.001 -> 1e-05 (applied to the restored optimiser)",
                   "resume: betas (0.5, 0.999) -> (0.6, 0.99) (applied to both restored optimisers)"]  # fmt: skip
    state = load_checkpoint(tmp_path / train.CHECKPOINT_NAME)
    assert state["opt_D"]["param_groups"][0]["lr"] == 1e-5 and state["opt_G"]["param_groups"][0]["lr"] == 1e-3
    assert tuple(state["opt_G"]["param_groups"][0]["betas"]) == (0.6, 0.99) and state["config"]["lr_d"] == 1e-5


def test_resume_refuses_settings_that_cannot_change_and_a_smaller_dataset(tmp_path):
    images = torch.rand(96, 2)
    G, D = mlp_pair(seed=0)
    config = train.TrainConfig(steps=4, batch_size=32, progress=False)
    train.train(G, D, images, config, checkpoint_dir=tmp_path)
    with pytest.raises(CheckpointError, match=r"batch_size 32 -> 16, seed 0 -> 1; only steps, lr_d"):
        train.train(G, D, images, replace(config, steps=8, batch_size=16, seed=1), checkpoint_dir=tmp_path, resume=True)
    with pytest.raises(CheckpointError, match="training set of 96 samples, this one holds 64"):
        train.train(G, D, images[:64], replace(config, steps=8), checkpoint_dir=tmp_path, resume=True)


# --------------------------------------------------------------------------- speed options and ranks


def test_the_speed_options_train_and_leave_the_networks_as_they_were(tmp_path):
    """bf16 autocast, channels-last and fused Adam on the DCGAN: a finite run whose outputs
    stay fp32, then networks without the autocast wrapper, answering in fp32 again."""
    x = torch.rand(64, 1, 28, 28) * 2 - 1
    torch.manual_seed(0)
    G, D = models.DCGANGenerator(z_dim=8, ngf=8), models.DCGANDiscriminator(ndf=8)
    config = train.TrainConfig(steps=3, batch_size=16, precision="bf16", channels_last=True,
                               adam_impl="fused", progress=False)  # fmt: skip
    seen = []
    result = train.train(G, D, x, config, device="cpu", callback=lambda step, G, D: seen.append(G(torch.randn(2, 8))),
                         callback_every=1)
    assert all(torch.isfinite(torch.tensor(result.history[k])).all() for k in train.HISTORY_KEYS)
    assert {out.dtype for out in seen} == {torch.float32}  # autocast inside, fp32 out
    conv = next(m for m in G.modules() if isinstance(m, torch.nn.ConvTranspose2d))
    assert conv.weight.is_contiguous(memory_format=torch.channels_last)
    # the trained networks answer as plain fp32 copies of themselves do, bit for bit: no autocast left
    plain_G, plain_D = models.DCGANGenerator(z_dim=8, ngf=8), models.DCGANDiscriminator(ndf=8)
    for net, plain in ((G, plain_G), (D, plain_D)):
        plain.load_state_dict(net.state_dict())
        plain.to(memory_format=torch.channels_last).eval()
        net.eval()
    z = torch.randn(4, 8)
    with torch.no_grad():
        x_fake = G(z)
        assert x_fake.dtype == torch.float32 and torch.equal(x_fake, plain_G(z))
        assert torch.equal(D(x_fake), plain_D(x_fake))
    state = train.TrainingState.create(G, D, x, config, device="cpu")
    assert state.opt_G.defaults["fused"] and state.opt_D.defaults["fused"]


def test_bf16_changes_the_arithmetic_and_off_means_off():
    """With the options off the run is the fp32 one, bit for bit; bf16 is a different run."""
    runs_ = {}
    for precision in ("fp32", "fp32", "bf16"):
        G, D = mlp_pair(0)
        config = train.TrainConfig(steps=20, batch_size=64, precision=precision, progress=False)
        runs_.setdefault(precision, []).append(train.train(G, D, data.gaussian_2d(), config, device="cpu").history)
    assert runs_["fp32"][0] == runs_["fp32"][1]
    assert runs_["bf16"][0]["loss_D"] != runs_["fp32"][0]["loss_D"]
    # ...but not a wrong one: the same losses to bf16's 8 bits of mantissa at the start
    assert runs_["bf16"][0]["loss_D"][0] == pytest.approx(runs_["fp32"][0]["loss_D"][0], rel=2e-2)


@pytest.mark.parametrize(("settings", "message"), [
    ({"precision": "fp16"}, "precision must be 'fp32' or 'bf16', got 'fp16'"),
    ({"adam_impl": "fast"}, "adam_impl must be 'default' or 'foreach' or 'fused', got 'fast'"),
    ({"adam_impl": "fused", "loss": "wgan"}, "adam_impl 'fused' chooses Adam's kernels, but the optimizer is 'rmsprop'"),
    ({"compile": "yes"}, "compile must be left out or one of 'default', 'reduce-overhead', 'max-autotune', got 'yes'"),
    ({"compile": "default", "loss": "wgan-gp"}, "torch.compile does not support its double backward"),
    ({"channels_last": 1}, "channels_last must be true or false, got 1"),
])  # fmt: skip
def test_bad_speed_options_are_named(settings, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        train.TrainConfig(**settings)


def test_the_ranks_shares_of_a_global_batch_are_one_process_batch():
    """Batches under World(r, 2) with batch b: rank 0's and rank 1's batches, put together,
    are the batches of one process with batch 2b, epoch after epoch."""
    from gancourse.distributed import World

    x = torch.arange(40.0)[:, None]

    def batches(world, b, n=7):
        source = train.Batches(x, b, torch.Generator().manual_seed(1), torch.device("cpu"), world)
        return [source.next() for _ in range(n)]

    one = batches(World(0, 1), 8)
    ranks = [batches(World(r, 2), 4) for r in (0, 1)]
    assert all(torch.equal(torch.cat([r0, r1]), whole) for r0, r1, whole in zip(*ranks, one, strict=True))
    sampled = [train.Batches(data.ring(), 4, torch.Generator().manual_seed(2), torch.device("cpu"), World(r, 2)).next()
               for r in (0, 1)]  # fmt: skip
    whole = train.Batches(data.ring(), 8, torch.Generator().manual_seed(2), torch.device("cpu")).next()
    assert torch.equal(torch.cat(sampled), whole)


def test_a_cpu_checkpoint_records_one_process_and_no_device_generator(tmp_path):
    G, D = mlp_pair(0)
    train.train(G, D, data.gaussian_2d(), train.TrainConfig(steps=2, batch_size=8, progress=False),
                device="cpu", checkpoint_dir=tmp_path)  # fmt: skip
    saved = load_checkpoint(tmp_path / train.CHECKPOINT_NAME)
    assert saved["world_size"] == 1 and "device_rng" not in saved
    assert train.device_generator(torch.device("cpu"), 0) is None


def test_samples_of_another_shape_than_the_data_are_refused_before_the_first_step(tmp_path):
    G, D = models.DCGANGenerator(z_dim=8, ngf=4), models.DCGANDiscriminator(ndf=4)
    config = train.TrainConfig(steps=2, batch_size=8, progress=False)
    with pytest.raises(ValueError, match=r"G makes samples of shape \(1, 28, 28\) and the data are \(1, 32, 32\)"):
        train.train(G, D, torch.zeros(16, 1, 32, 32), config, checkpoint_dir=tmp_path)
    G, D = mlp_pair(seed=0)
    with pytest.raises(ValueError, match=r"G makes samples of shape \(2,\) and the data are \(3,\)"):
        train.train(G, D, torch.zeros(64, 3), config, checkpoint_dir=tmp_path)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("player", "named"), [(0, "G's samples"), (1, "D's outputs on the real batch")])
def test_initial_weights_that_overflow_are_refused_before_the_first_step(tmp_path, player, named):
    pair = mlp_pair(seed=0)
    with torch.no_grad():
        for p in pair[player].parameters():
            p.mul_(1e30)
    with pytest.raises(ValueError, match=f"before the first step, {named} hold NaN or inf"):
        train.train(*pair, data.ring(), train.TrainConfig(steps=2, batch_size=8, progress=False), checkpoint_dir=tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_the_first_batch_check_leaves_every_random_stream_batch_and_statistic_as_it_was():
    G, D = models.DCGANGenerator(z_dim=8, ngf=4), models.DCGANDiscriminator(ndf=4)
    config = train.TrainConfig(steps=2, batch_size=8, progress=False)
    state = train.TrainingState.create(G, D, torch.rand(40, 1, 28, 28) * 2 - 1, config, device="cpu")
    state.batches.next()  # mid-epoch, as after a resume
    before = copy.deepcopy(state.state_dict())
    train.check_first_batch(state)
    after = state.state_dict()
    assert torch.equal(after["rng"], before["rng"]) and after["batches"]["pos"] == before["batches"]["pos"]
    assert torch.equal(after["batches"]["perm"], before["batches"]["perm"])
    for player in ("G", "D"):  # weights and batch-norm statistics (running means, counts)
        for key, value in before[player].items():
            assert torch.equal(after[player][key], value), (player, key)
    assert G.training and D.training


def test_a_divergence_message_names_the_rates_and_blames_no_loss_that_is_in_use(tmp_path):
    G, D = mlp_pair(seed=0)
    config = train.TrainConfig(steps=30, batch_size=32, lr_d=1e30, lr_g=1e30, log_every=5, progress=False)
    with pytest.raises(train.TrainingDiverged) as caught:
        train.train(G, D, data.ring(), config)
    message = str(caught.value)
    assert "lr_d 1e+30, lr_g 1e+30" in message and "non-saturating" not in message


def test_a_spectrally_normalised_discriminator_resumes_exactly(tmp_path):
    # the power iteration's vectors are buffers of the parametrisation: the checkpoint keeps them
    points = data.ring().sample(500, seed=0)
    config = dict(batch_size=64, seed=3, progress=False, checkpoint_every=10)

    def pair(seed):
        torch.manual_seed(seed)
        return models.MLPGenerator(2, 2, 32, 2), models.MLPDiscriminator(2, 32, 2, spectral_norm=True)

    G, D = pair(5)
    whole = train.train(G, D, points, train.TrainConfig(steps=30, **config), checkpoint_dir=tmp_path / "whole")
    G1, D1 = pair(5)
    train.train(G1, D1, points, train.TrainConfig(steps=13, **config), checkpoint_dir=tmp_path / "split")
    G2, D2 = pair(99)
    resumed = train.train(G2, D2, points, train.TrainConfig(steps=30, **config), checkpoint_dir=tmp_path / "split", resume=True)
    assert resumed.history == whole.history
    for a, b in zip(D.state_dict().items(), D2.state_dict().items(), strict=True):
        assert a[0] == b[0] and torch.equal(a[1], b[1])
    assert any(name.endswith("_u") for name in D2.state_dict())
