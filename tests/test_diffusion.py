"""The denoising diffusion model (Ho et al., 2020): its forward process in closed form, its loss,
its sampler, and a short training on the 8-Gaussian ring."""

import math

import pytest
import torch

from gancourse import data, diffusion, metrics, record


@pytest.fixture(autouse=True)
def one_thread():
    """One thread, as the course trains its toy models: faster for networks this small."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def alpha_bar_by_hand(betas) -> list[float]:
    """The running product of 1 - beta_s, one factor at a time."""
    products, p = [], 1.0
    for beta in betas:
        p *= 1.0 - float(beta)
        products.append(p)
    return products


def test_the_linear_schedule_is_ho_et_als_and_alpha_bar_is_the_running_product():
    schedule = diffusion.linear_schedule()  # T = 1000, beta from 1e-4 to 0.02
    betas = schedule.betas
    assert schedule.T == 1000 and betas.shape == (1000,)
    assert betas[0].item() == pytest.approx(1e-4) and betas[-1].item() == pytest.approx(0.02)
    steps = betas.diff()
    assert torch.allclose(steps, torch.full_like(steps, (0.02 - 1e-4) / 999))  # linear
    assert torch.allclose(schedule.alphas, 1 - betas)
    assert torch.allclose(schedule.alpha_bars, torch.tensor(alpha_bar_by_hand(betas), dtype=torch.float64), rtol=1e-12)
    # x_T keeps almost nothing of x_0: alpha_bar_T = prod(1 - beta_t), about 4e-5
    assert 1e-5 < schedule.alpha_bars[-1].item() < 1e-4
    # the same end points over fewer steps leave much of x_0 in x_T
    assert diffusion.linear_schedule(T=100).alpha_bars[-1].item() > 0.3
    assert diffusion.linear_schedule(T=1).betas.tolist() == [0.02]


def test_the_forward_process_matches_its_closed_form():
    """q(x_t | x_0) = N(sqrt(alpha_bar_t) x_0, (1 - alpha_bar_t) I), checked on 200,000 draws two ways:
    against the formula with alpha_bar computed here, and against the chain of one-step noisings
    x_t = sqrt(1 - beta_t) x_{t-1} + sqrt(beta_t) z, run step by step from x_0."""
    schedule = diffusion.linear_schedule(T=1000)
    N, x0 = 200_000, torch.tensor([1.5, -0.5], dtype=torch.float64)
    alpha_bar = alpha_bar_by_hand(schedule.betas)
    chain, g = x0.repeat(N, 1), gen(1)
    done = 0
    for t in (1, 50, 300, 1000):
        x_t, eps = diffusion.q_sample(x0.repeat(N, 1), torch.full((N,), t), schedule, gen(t))
        ab = alpha_bar[t - 1]
        # x_t and the noise it returns agree exactly
        assert torch.allclose(x_t, math.sqrt(ab) * x0 + math.sqrt(1 - ab) * eps, atol=1e-12)
        for s in range(done + 1, t + 1):  # the Markov chain, one step at a time
            beta = schedule.betas[s - 1].item()
            chain = math.sqrt(1 - beta) * chain + math.sqrt(beta) * torch.randn(chain.shape, generator=g, dtype=torch.float64)
        done = t
        for draws in (x_t, chain):
            mean, var = draws.mean(dim=0), draws.var(dim=0)
            # within 5 standard errors: sqrt(var / N) for the mean, var * sqrt(2 / N) for the variance
            assert torch.allclose(mean, math.sqrt(ab) * x0, atol=5 * math.sqrt((1 - ab) / N)), (t, mean)
            assert torch.allclose(var, torch.full((2,), 1 - ab, dtype=torch.float64),
                                  atol=5 * (1 - ab) * math.sqrt(2 / N)), (t, var)  # fmt: skip


def test_the_forward_process_is_seeded_and_keeps_dtype_and_shape():
    x0, t = torch.randn(5, 2), torch.tensor([1, 2, 3, 999, 1000])
    schedule = diffusion.linear_schedule()
    a, b, c = (diffusion.q_sample(x0, t, schedule, gen(s)) for s in (0, 0, 1))
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1]) and not torch.equal(a[0], c[0])
    assert a[0].shape == a[1].shape == (5, 2) and a[0].dtype == torch.float32
    images, t = torch.rand(3, 1, 4, 4), torch.tensor([1, 500, 1000])  # one step per image
    x_t, eps = diffusion.q_sample(images, t, schedule, gen(2))
    ab = torch.tensor(alpha_bar_by_hand(schedule.betas))[t - 1].float().reshape(3, 1, 1, 1)
    assert x_t.shape == images.shape and torch.allclose(x_t, ab.sqrt() * images + (1 - ab).sqrt() * eps, atol=1e-6)


class PointOracle(diffusion.DiffusionMLP):
    """The exact noise predictor when the data is one point c: eps = (x_t - sqrt(alpha_bar_t) c) / sqrt(1 - alpha_bar_t),
    with alpha_bar computed here, in float64 (in diffusion units: c / scale)."""

    def __init__(self, c, **kwargs):
        super().__init__(**kwargs)
        self.c = torch.as_tensor(c, dtype=torch.float64) / self.scale
        self.alpha_bar = torch.tensor(alpha_bar_by_hand(self.schedule.betas), dtype=torch.float64)

    def forward(self, x_t, t):
        self.evaluations += 1
        ab = self.alpha_bar[t - 1].unsqueeze(1)
        return ((x_t.double() - ab.sqrt() * self.c) / (1 - ab).sqrt()).to(x_t.dtype)


class GaussianOracle(diffusion.DiffusionMLP):
    """The exact noise predictor E[eps | x_t] for data N(mu, s^2 I): x_t ~ N(sqrt(ab) mu, (ab s^2 + 1 - ab) I), so
    E[eps | x_t] = sqrt(1 - ab) (x_t - sqrt(ab) mu) / (ab s^2 + 1 - ab) (in diffusion units)."""

    def __init__(self, mu, s, **kwargs):
        super().__init__(**kwargs)
        self.mu, self.s = torch.as_tensor(mu, dtype=torch.float64) / self.scale, s / self.scale
        self.alpha_bar = torch.tensor(alpha_bar_by_hand(self.schedule.betas), dtype=torch.float64)

    def forward(self, x_t, t):
        self.evaluations += 1
        ab = self.alpha_bar[t - 1].unsqueeze(1)
        var = ab * self.s**2 + 1 - ab
        return ((1 - ab).sqrt() * (x_t.double() - ab.sqrt() * self.mu) / var).to(x_t.dtype)


def test_a_predictor_that_knows_the_noise_has_zero_loss_and_one_that_says_zero_has_about_one():
    c = torch.tensor([0.3, -0.7], dtype=torch.float64)
    x = c.repeat(4096, 1)  # data: one point
    for scale in (1.0, 0.1):
        oracle = PointOracle(c, scale=scale)
        assert diffusion.loss(oracle, x, gen(0)).item() < 1e-20
    eps = torch.randn(4096, 2, generator=gen(1))
    assert diffusion.simple_loss(eps, eps).item() == 0.0
    assert diffusion.simple_loss(eps, torch.zeros_like(eps)).item() == pytest.approx(1.0, abs=0.05)


def test_ancestral_sampling_with_the_exact_predictor_recovers_the_data():
    """Algorithm 2 with the true E[eps | x_t]: one point comes back exactly; a Gaussian comes back
    with its mean and standard deviation (10,000 samples, T = 1000)."""
    c = torch.tensor([0.3, -0.7])
    samples = PointOracle(c, T=1000).sample(100, generator=gen(0))
    assert torch.allclose(samples, c.repeat(100, 1), atol=1e-4)
    mu, s = torch.tensor([1.0, -2.0]), 0.5
    for scale in (1.0, 4.0):
        oracle = GaussianOracle(mu, s, T=1000, scale=scale)
        x = oracle.sample(10_000, generator=gen(1))
        assert torch.allclose(x.mean(dim=0), mu, atol=0.025), x.mean(dim=0)  # 5 standard errors: 5 * 0.5 / sqrt(10,000)
        assert torch.allclose(x.std(dim=0), torch.full((2,), s), atol=0.018), x.std(dim=0)  # 5 * 0.5 / sqrt(2 * 10,000)


def test_the_sampler_returns_n_points_per_seed_and_costs_T_evaluations_whatever_n():
    torch.manual_seed(0)
    model = diffusion.DiffusionMLP(hidden=16, depth=2, T=50)
    a, b, c = (model.sample(7, generator=gen(s)) for s in (0, 0, 1))
    assert a.shape == (7, 2) and a.dtype == torch.float32 and a.device.type == "cpu"
    assert torch.equal(a, b) and not torch.allclose(a, c) and torch.isfinite(a).all()
    assert model.evaluations == 3 * 50
    model.sample(1000, generator=gen(2))
    assert model.evaluations == 4 * 50
    assert model.training  # put back in train mode


def train_ring(seed: int, steps: int, **kwargs):
    torch.manual_seed(seed)
    model = diffusion.DiffusionMLP(**kwargs)
    result = diffusion.train_diffusion(model, data.ring(), steps=steps, batch_size=256, lr=1e-3, seed=seed)
    return model, result


def test_training_is_deterministic_and_lowers_the_loss():
    """1,000 steps; on seeds 0-4 the loss on a fixed batch fell to 0.33-0.35 of its start; asserted: below half."""
    x = data.ring().sample(4096, seed=123)  # a fixed batch, scored with fixed t and noise
    torch.manual_seed(0)
    before = diffusion.loss(diffusion.DiffusionMLP(hidden=64, scale=0.05), x, gen(7)).item()  # the same weights as below
    model, result = train_ring(0, 1000, hidden=64, scale=0.05)
    again, result_again = train_ring(0, 1000, hidden=64, scale=0.05)
    other, _ = train_ring(1, 1000, hidden=64, scale=0.05)
    assert result.history["step"] == list(range(1, 1001)) and len(result.history["loss"]) == 1000
    assert result.history["loss"] == result_again.history["loss"]
    assert all(torch.equal(p, q) for p, q in zip(model.parameters(), again.parameters(), strict=True))
    assert not torch.equal(next(model.parameters()), next(other.parameters()))
    after = diffusion.loss(model, x, gen(7)).item()  # the same t and noise as `before`
    assert after < 0.5 * before, (before, after)
    assert result.seconds > 0


def test_a_short_training_covers_the_ring():
    """5,000 steps (about 6 s on one core), 2,500 samples. Measured on seeds 0-4 (sampling seed
    10,000 + seed): 8/8 modes on every seed, high quality 87.0-93.2 %, reverse KL 0.002-0.017
    nats; asserted with margin: 8/8 modes, >= 75 %, KL < 0.1."""
    ring = data.ring()
    model, _ = train_ring(0, 5_000, scale=0.05)
    coverage = metrics.mode_coverage(model.sample(2_500, generator=gen(10_000)), ring.centers, ring.std)
    assert coverage.modes == 8, coverage
    assert coverage.high_quality >= 0.75, coverage
    assert coverage.reverse_kl < 0.1, coverage


def one_line_error(call, *names):
    with pytest.raises(ValueError) as error:
        call()
    message = str(error.value)
    assert "\n" not in message and all(name in message for name in names), message


def test_bad_input_is_refused_in_one_line_naming_the_argument():
    one_line_error(lambda: diffusion.linear_schedule(T=0), "T")
    one_line_error(lambda: diffusion.linear_schedule(T=2.5), "T")
    for bad in (0.0, 1.0, -0.1, 1.5, float("nan")):
        one_line_error(lambda bad=bad: diffusion.linear_schedule(beta_1=bad), "beta_1")
        one_line_error(lambda bad=bad: diffusion.linear_schedule(beta_T=bad), "beta_T")
    one_line_error(lambda: diffusion.NoiseSchedule(torch.tensor([0.1, 1.0])), "betas", "(0, 1)")
    one_line_error(lambda: diffusion.DiffusionMLP(T=0), "T")
    one_line_error(lambda: diffusion.DiffusionMLP(scale=0), "scale")
    model = diffusion.DiffusionMLP(hidden=8, depth=1, T=10)
    for n in (0, -3, 2.0):
        one_line_error(lambda n=n: model.sample(n), "n")
    x0 = torch.zeros(3, 2)
    one_line_error(lambda: diffusion.q_sample(x0, torch.tensor([0, 1, 2]), model.schedule), "t", "1..10")
    one_line_error(lambda: diffusion.q_sample(x0, torch.tensor([1, 11, 2]), model.schedule), "t", "1..10")
    one_line_error(lambda: diffusion.q_sample(x0, torch.tensor([1.0, 2.0, 3.0]), model.schedule), "t")
    one_line_error(lambda: diffusion.simple_loss(torch.zeros(3, 2), torch.zeros(3)), "eps_hat")
    ring = data.ring()
    one_line_error(lambda: diffusion.train_diffusion(model, ring, steps=0), "steps")
    one_line_error(lambda: diffusion.train_diffusion(model, ring, batch_size=0), "batch_size")
    one_line_error(lambda: diffusion.train_diffusion(model, ring, lr=0.0), "lr")
    one_line_error(lambda: diffusion.train_diffusion(model, ring, seed="0"), "seed")
    with pytest.raises(TypeError, match="sample"):
        diffusion.train_diffusion(model, torch.zeros(10, 2))
    assert model.evaluations == 0  # nothing ran


def test_measure_trains_a_recipe_scores_it_and_counts_its_network_evaluations():
    run = diffusion.measure("grid", seed=3, steps=20, n_samples=300, n_timed=50)
    assert run.samples.shape == (300, 2) and run.evaluations == 1000 and run.n_timed == 50 and run.sample_seconds > 0
    assert run.model.scale == diffusion.RECIPES["grid"].scale and run.history["step"][-1] == 20
    grid = data.grid()
    scored = metrics.mode_coverage(run.samples, grid.centers, grid.std)
    assert (run.coverage.modes, run.coverage.high_quality) == (scored.modes, scored.high_quality)
    again = diffusion.measure("grid", seed=3, steps=20, n_samples=300)  # the same seed: the same run
    assert torch.equal(again.samples, run.samples) and again.sample_seconds == 0.0
    with pytest.raises(ValueError, match="dataset must be 'ring' or 'grid'"):
        diffusion.measure("moons")


def test_settings_follow_the_recipes_and_stale_names_every_change(monkeypatch):
    stored = diffusion.settings("ring", budget_name="book")
    assert stored["steps"] == diffusion.RECIPES["ring"].steps["book"] and stored["scale"] == 0.05
    assert diffusion.settings("ring", steps=7)["steps"] == 7
    session = {"sessions": [{"configs": {"diffusion/ring": stored, "best-ring/gan": record.settings("best-ring", "gan")}}]}
    assert record.stale(session) == []
    changed = diffusion.RECIPES["ring"].__class__(scale=0.1)
    monkeypatch.setitem(diffusion.RECIPES, "ring", changed)
    assert record.stale(session) == ["diffusion/ring: scale was 0.05, is now 0.1"]


def test_count_evaluations_counts_forward_passes_and_removes_its_hook():
    net = torch.nn.Linear(2, 2)
    with diffusion.count_evaluations(net) as calls:
        for _ in range(3):
            net(torch.zeros(5, 2))
    assert calls == [3]
    net(torch.zeros(1, 2))
    assert calls == [3] and not net._forward_hooks  # the hook is gone after the block
    with pytest.raises(RuntimeError), diffusion.count_evaluations(net) as calls:
        net(torch.zeros(1, 2))
        raise RuntimeError("stop")
    assert calls == [1] and not net._forward_hooks  # and after an error
    model = diffusion.DiffusionMLP(T=7)
    with diffusion.count_evaluations(model.net) as calls:
        model.sample(4, generator=torch.Generator().manual_seed(0))
    assert calls == [7]  # a sample costs T evaluations


def test_measure_trains_on_the_reweighted_modes_and_scores_against_the_same_centres(monkeypatch):
    seen = []
    real_train = diffusion.train_diffusion

    def record_data(model, mixture, **kwargs):
        seen.append(mixture)
        return real_train(model, mixture, **{**kwargs, "steps": 1})

    monkeypatch.setattr(diffusion, "train_diffusion", record_data)
    weights = torch.tensor([0.3, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1])
    run = diffusion.measure("ring", seed=0, steps=1, n_samples=20, weights=weights)
    assert torch.equal(seen[-1].weights, weights.double()) and torch.equal(seen[-1].centers, data.ring().centers)
    assert run.coverage.n_modes == 8
    diffusion.measure("ring", seed=0, steps=1, n_samples=20)
    assert seen[-1].weights is None  # no weights: the equal mixture, as before
