"""The theory of the original GAN, checked exactly on cases whose answers are known."""

import math

import pytest
import torch

from gancourse import theory

x = torch.linspace(-15.0, 16.0, 310_001, dtype=torch.float64)
dx = (x[1] - x[0]).item()


def test_bce_uses_the_natural_log():
    # The lecture's L(0.5, 1) = log 0.5 = -0.3 used log10; the BCE loss is -ln 0.5 = 0.693.
    assert theory.bce(0.5, 1).item() == pytest.approx(math.log(2), rel=1e-12)
    assert theory.bce(0.5, 0).item() == pytest.approx(0.693147, abs=1e-6)
    assert theory.bce(1.0, 1).item() == 0.0
    assert theory.bce(0.0, 1).item() == math.inf


def test_optimal_discriminator_formula_and_equilibrium():
    p_data = torch.tensor([0.2, 0.5, 0.0, 0.3])
    p_g = torch.tensor([0.6, 0.5, 0.0, 0.0])
    D = theory.optimal_discriminator(p_data, p_g)
    assert D.tolist() == pytest.approx([0.25, 0.5, 0.5, 1.0])
    # p_g = p_data everywhere: D* = 1/2 everywhere.
    p = theory.gaussian_pdf(x, 0.3, 1.2)
    assert torch.allclose(theory.optimal_discriminator(p, p), torch.full_like(p, 0.5))


def test_optimal_discriminator_maximises_the_value():
    p_data, p_g = theory.gaussian_pdf(x, 0.0, 1.0), theory.gaussian_pdf(x, 2.0, 1.0)
    best = theory.value_function(p_data, p_g, dx=dx)
    D_star = theory.optimal_discriminator(p_data, p_g)
    for delta in (0.05, -0.05):
        worse = theory.value_function(p_data, p_g, (D_star + delta).clamp(1e-9, 1 - 1e-9), dx)
        assert worse < best


def test_value_at_equilibrium_is_minus_log_4():
    p = theory.gaussian_pdf(x, 0.0, 1.0)
    V = theory.value_function(p, p, dx=dx)
    assert V.item() == pytest.approx(-math.log(4), abs=1e-9)
    assert -math.log(4) == pytest.approx(-1.386294, abs=1e-6)


def test_value_equals_minus_log4_plus_two_jsd_on_gaussians():
    p_data = theory.gaussian_pdf(x, 0.0, 1.0)
    for mu in (0.5, 1.0, 2.0, 4.0):
        p_g = theory.gaussian_pdf(x, mu, 1.0)
        V = theory.value_function(p_data, p_g, dx=dx)
        jsd = theory.js_divergence(p_data, p_g, dx)
        assert V.item() == pytest.approx(-math.log(4) + 2 * jsd.item(), abs=1e-6)
    p_g = theory.gaussian_pdf(x, 1.0, 1.0)
    assert theory.value_function(p_data, p_g, dx=dx).item() == pytest.approx(-1.163451, abs=1e-6)
    assert theory.js_divergence(p_data, p_g, dx).item() == pytest.approx(0.111421, abs=1e-6)


def test_kl_divergence_of_gaussians_matches_closed_form():
    # KL(N(m1, s1^2) || N(m2, s2^2)) = log(s2/s1) + (s1^2 + (m1-m2)^2) / (2 s2^2) - 1/2
    p, q = theory.gaussian_pdf(x, 0.0, 1.0), theory.gaussian_pdf(x, 1.0, 2.0)
    closed = math.log(2.0) + (1.0 + 1.0) / 8.0 - 0.5
    assert theory.kl_divergence(p, q, dx).item() == pytest.approx(closed, abs=1e-9)
    assert theory.kl_divergence(p, p, dx).item() == pytest.approx(0.0, abs=1e-12)
    # KL is not symmetric.
    assert theory.kl_divergence(q, p, dx).item() != pytest.approx(closed, abs=1e-3)


def test_jsd_is_symmetric_and_saturates_at_log2_for_disjoint_supports():
    p = torch.tensor([0.5, 0.5, 0.0, 0.0])
    q = torch.tensor([0.0, 0.0, 0.25, 0.75])
    assert theory.js_divergence(p, q).item() == pytest.approx(math.log(2), abs=1e-12)
    r = torch.tensor([0.1, 0.2, 0.3, 0.4])
    assert theory.js_divergence(p, r).item() == pytest.approx(theory.js_divergence(r, p).item())
    assert 0 < theory.js_divergence(p, r).item() < math.log(2)
    # Disjoint supports: V(D*, G) = -log 4 + 2 log 2 = 0, whatever the distance between them.
    assert theory.value_function(p, q).item() == pytest.approx(0.0, abs=1e-12)


def test_earth_mover_distance_keeps_growing_where_jsd_saturates():
    u = torch.arange(-1000, 8000, dtype=torch.float64) / 1000
    uniform = lambda a: ((u >= a) & (u < a + 1)).double()  # noqa: E731
    for theta in (0.5, 2.0, 4.0):
        assert theory.wasserstein_1d(uniform(0.0), uniform(theta), 1e-3).item() == pytest.approx(theta, abs=1e-9)
    # disjoint supports: JSD is log 2 at any distance, W1 is the distance
    assert theory.js_divergence(uniform(0.0), uniform(2.0), 1e-3).item() == pytest.approx(math.log(2))
    assert theory.js_divergence(uniform(0.0), uniform(4.0), 1e-3).item() == pytest.approx(math.log(2))
    # Gaussians shifted by mu: W1 = |mu|
    p, q = theory.gaussian_pdf(x, 0.0, 1.0), theory.gaussian_pdf(x, 1.5, 1.0)
    assert theory.wasserstein_1d(p, q, dx).item() == pytest.approx(1.5, abs=1e-6)


def test_kl_between_gaussians_in_closed_form_matches_the_grid():
    import math

    grid = torch.linspace(-30, 30, 600_001, dtype=torch.float64)
    dx = (grid[1] - grid[0]).item()
    for mu1, s1, mu2, s2 in [(0, 1, 1, 1), (0, 1, 0, 2), (0, 2, 0, 1), (1, 0.5, -1, 1.5)]:
        on_grid = theory.kl_divergence(theory.gaussian_pdf(grid, mu1, s1), theory.gaussian_pdf(grid, mu2, s2), dx)
        assert theory.kl_gaussians(mu1, s1, mu2, s2) == pytest.approx(on_grid.item(), abs=1e-9)
    assert theory.kl_gaussians(0, 1, 1, 1) == 0.5 and theory.kl_gaussians(2, 3, 2, 3) == 0.0
    assert theory.kl_gaussians(0, 1, 0, 2) == pytest.approx(math.log(2) + 1 / 8 - 0.5)
    with pytest.raises(ValueError, match="must be positive"):
        theory.kl_gaussians(0, 0, 0, 1)


@pytest.mark.parametrize(
    ("p", "q", "message"),
    [
        ([0.5, float("nan")], [0.5, 0.5], "p_data must be a density, finite and >= 0 everywhere; it has NaN values"),
        ([0.5, 0.5], [1.5, -0.5], "p_g must be a density, finite and >= 0 everywhere; it has a negative value, -0.5"),
        ([[0.2], [0.3], [0.5]], [0.2, 0.3, 0.5], r"must have the same shape .*got \(3, 1\) and \(3,\)"),
    ],
)
def test_what_is_not_a_pair_of_densities_is_refused(p, q, message):
    with pytest.raises(ValueError, match=message):
        theory.optimal_discriminator(p, q)  # once 0.5 for NaN or negative densities, 3 x 3 for the shapes
    with pytest.raises(ValueError, match=message.replace("p_data", "p").replace("p_g", "q")):
        theory.js_divergence(p, q)
    with pytest.raises(ValueError, match=message):
        theory.value_function(p, q)


def test_divergences_refuse_unnormalised_input():
    # once JSD([3, 0] || [0, 3]) = 2.079 > log 2, and a negative KL
    with pytest.raises(ValueError, match=r"p must integrate to 1, but sum\(p\) \* dx = 3; normalise it"):
        theory.js_divergence([3.0, 0.0], [0.0, 3.0])
    with pytest.raises(ValueError, match=r"q must integrate to 1, but sum\(q\) \* dx = 2"):
        theory.kl_divergence([0.5, 0.5], [1.0, 1.0])
    p = theory.gaussian_pdf(x, 0.0, 1.0)
    with pytest.raises(ValueError, match="p must integrate to 1"):
        theory.kl_divergence(p, p)  # the grid's dx forgotten
    assert theory.kl_divergence(p, p, dx).item() == 0.0
    cut = theory.gaussian_pdf(x, 15.0, 1.0)  # a density the grid cuts off: 84 % of its mass on it
    with pytest.raises(ValueError, match="q must integrate to 1"):
        theory.js_divergence(p, cut, dx)
    assert theory.MASS_TOLERANCE == 0.01


def test_total_variation_is_the_largest_difference_over_events_and_saturates_at_1():
    """On 6 atoms, 0.5 * sum |p - q| equals max over all 64 events A of |P(A) - Q(A)|; two
    Gaussians of equal width: 2 Phi(|mu1 - mu2| / (2 sigma)) - 1; disjoint supports: 1 at
    any distance; Pinsker's inequality TV <= sqrt(KL / 2) holds."""
    import itertools

    g = torch.Generator().manual_seed(0)
    p, q = torch.rand(6, generator=g, dtype=torch.float64), torch.rand(6, generator=g, dtype=torch.float64)
    p, q = p / p.sum(), q / q.sum()
    events = [torch.tensor(A) for A in itertools.product([False, True], repeat=6)]
    best = max(abs(p[A].sum() - q[A].sum()).item() for A in events)
    assert theory.tv_distance(p, q).item() == pytest.approx(best, abs=1e-15)
    assert theory.tv_distance(p, q).item() <= math.sqrt(theory.kl_divergence(p, q).item() / 2)
    x = torch.linspace(-12, 14, 26_001, dtype=torch.float64)
    dx = (x[1] - x[0]).item()
    tv = theory.tv_distance(theory.gaussian_pdf(x, 0.0, 1.5), theory.gaussian_pdf(x, 1.0, 1.5), dx).item()
    assert tv == pytest.approx(2 * 0.5 * (1 + math.erf(1.0 / (2 * 1.5) / math.sqrt(2))) - 1, abs=1e-6)
    for shift in (1, 5):  # disjoint unit-mass columns
        a, b = torch.zeros(10, dtype=torch.float64), torch.zeros(10, dtype=torch.float64)
        a[0], b[shift] = 1.0, 1.0
        assert theory.tv_distance(a, b).item() == 1.0
    with pytest.raises(ValueError):
        theory.tv_distance(torch.tensor([0.5, 0.6]), torch.tensor([0.5, 0.5]))


def test_the_monotone_plan_and_the_potential_solve_the_transport_linear_program():
    """On 12 unevenly spaced points with random masses: the plan is feasible (nonnegative,
    marginals p and q), the potential is feasible (1-Lipschitz), their values are equal
    (so both are optimal), complementary slackness holds, the value is the area between
    the distribution functions, and another feasible plan (the independent one) costs more."""
    g = torch.Generator().manual_seed(3)
    x = torch.cumsum(torch.rand(12, generator=g, dtype=torch.float64) + 0.1, 0)
    p, q = torch.rand(12, generator=g, dtype=torch.float64), torch.rand(12, generator=g, dtype=torch.float64)
    p, q = p / p.sum(), q / q.sum()
    plan, f = theory.transport_plan_1d(p, q), theory.kantorovich_potential_1d(p, q, x)
    cost = (x[:, None] - x[None, :]).abs()
    assert (plan >= 0).all()
    assert torch.allclose(plan.sum(1), p, atol=1e-12) and torch.allclose(plan.sum(0), q, atol=1e-12)
    assert ((f[:, None] - f[None, :]) <= cost + 1e-12).all()
    primal, dual = (plan * cost).sum().item(), (f * (p - q)).sum().item()
    area = ((torch.cumsum(p - q, 0)[:-1]).abs() * (x[1:] - x[:-1])).sum().item()
    assert primal == pytest.approx(dual, abs=1e-12) and primal == pytest.approx(area, abs=1e-12)
    tight = plan > 1e-12
    assert torch.allclose((f[:, None] - f[None, :])[tight], cost[tight], atol=1e-12)
    assert ((p[:, None] * q[None, :]) * cost).sum().item() > primal
    # chapter 7's example: 1/2 at 0 and 1 against 1/4 at 1 and 3/4 at 2, on an even grid
    P, Q = torch.tensor([0.5, 0.5, 0.0]), torch.tensor([0.0, 0.25, 0.75])
    even = torch.arange(3.0)
    plan = theory.transport_plan_1d(P, Q)
    assert (plan * (even[:, None] - even[None, :]).abs()).sum().item() == theory.wasserstein_1d(P, Q).item() == 1.25
    with pytest.raises(ValueError, match="same mass"):
        theory.transport_plan_1d(torch.tensor([0.5, 0.5]), torch.tensor([0.5, 0.505]))


def test_packed_tv_distance_is_tv_for_one_sample_and_matches_brute_force_and_the_dropped_mode_formula():
    import itertools

    p = torch.tensor([0.1, 0.2, 0.3, 0.4], dtype=torch.float64)
    q = torch.tensor([0.4, 0.3, 0.2, 0.1], dtype=torch.float64)
    assert theory.packed_tv_distance(p, q, 1).item() == pytest.approx(theory.tv_distance(p, q).item(), abs=1e-15)
    for m in (2, 3):
        brute = 0.5 * sum(abs(math.prod(p[list(t)].tolist()) - math.prod(q[list(t)].tolist()))
                          for t in itertools.product(range(4), repeat=m))  # fmt: skip
        assert theory.packed_tv_distance(p, q, m).item() == pytest.approx(brute, abs=1e-12)
    dropped = p.clone()  # p without its last mode ...
    dropped[3] = 0
    dropped /= dropped.sum()  # ... the rest rescaled
    for m in (1, 2, 5):
        assert theory.packed_tv_distance(p, dropped, m).item() == pytest.approx(1 - (1 - 0.4) ** m, abs=1e-12)
    # packing grows the distance; never beyond 1
    values = [theory.packed_tv_distance(p, q, m).item() for m in range(1, 7)]
    assert all(a < b <= 1 for a, b in zip(values, values[1:], strict=False))


@pytest.mark.parametrize(
    "p, q, m, words",
    [
        ([0.5, 0.5], [0.5, 0.5], 0, "positive integer"),
        ([0.5, 0.5], [0.5, 0.5], 2.0, "positive integer"),
        ([0.5, 0.5], [0.2, 0.3, 0.5], 2, "same shape"),
        ([0.5, 0.6], [0.5, 0.5], 2, "integrate to 1"),
        ([0.1] * 10, [0.1] * 10, 8, "more than"),
        ([[0.5, 0.5]], [[0.5, 0.5]], 2, "vectors"),
    ],
)
def test_packed_tv_distance_refuses_what_it_cannot_compute(p, q, m, words):
    with pytest.raises(ValueError, match=words):
        theory.packed_tv_distance(p, q, m)
