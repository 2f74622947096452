"""The losses, checked against values computed by hand and against autograd written out."""

import math

import pytest
import torch
import torch.nn.functional as F

from gancourse import losses, theory


def logit(p: float, n: int) -> torch.Tensor:
    return torch.logit(torch.full((n,), p, dtype=torch.float64))


def test_lecture_batch_mean_bce_is_0164():
    # 16 real samples at D = 0.9 and 16 fakes at D = 0.2:
    # mean BCE = (16 * -log 0.9 + 16 * -log 0.8) / 32 = 0.16425
    expected = (-math.log(0.9) - math.log(0.8)) / 2
    assert expected == pytest.approx(0.164, abs=5e-4)
    D_out = torch.tensor([0.9] * 16 + [0.2] * 16, dtype=torch.float64)
    labels = torch.tensor([1.0] * 16 + [0.0] * 16, dtype=torch.float64)
    assert theory.bce(D_out, labels).item() == pytest.approx(expected, rel=1e-12)
    assert F.binary_cross_entropy(D_out, labels).item() == pytest.approx(expected, rel=1e-12)
    # d_loss averages each half separately: twice the mean BCE of the joint batch.
    assert losses.d_loss(logit(0.9, 16), logit(0.2, 16)).item() == pytest.approx(2 * expected, rel=1e-9)


def test_d_loss_is_minus_the_value_function():
    D_x = torch.tensor([0.7, 0.95, 0.6], dtype=torch.float64)
    D_G_z = torch.tensor([0.1, 0.4], dtype=torch.float64)
    V = theory.empirical_value(D_x, D_G_z)
    assert losses.d_loss(torch.logit(D_x), torch.logit(D_G_z)).item() == pytest.approx(-V.item(), rel=1e-12)


def test_d_loss_is_stable_for_confident_discriminators():
    # D(x) = sigmoid(60) and D(G(z)) = sigmoid(-60): log(1 - D) in probability space would be log(0).
    loss = losses.d_loss(torch.tensor([60.0]), torch.tensor([-60.0]))
    assert torch.isfinite(loss) and loss.item() < 1e-20


def test_generator_losses_have_the_lecture_formulas():
    D_G_z = torch.tensor([0.1, 0.3, 0.8], dtype=torch.float64)
    ell = torch.logit(D_G_z)
    assert losses.g_loss_saturating(ell).item() == pytest.approx(torch.log(1 - D_G_z).mean().item(), rel=1e-12)
    assert losses.g_loss_nonsaturating(ell).item() == pytest.approx(-torch.log(D_G_z).mean().item(), rel=1e-12)


def test_saturating_loss_vanishes_where_nonsaturating_does_not():
    # Early in training D rejects the fakes: D(G(z)) = 0.001.
    ell = logit(0.001, 1).requires_grad_(True)
    (g_sat,) = torch.autograd.grad(losses.g_loss_saturating(ell), ell)
    (g_ns,) = torch.autograd.grad(losses.g_loss_nonsaturating(ell), ell)
    # d/dl log(1 - sigmoid(ell)) = -D ;  d/dl -log sigmoid(ell) = -(1 - D)
    assert g_sat.item() == pytest.approx(-0.001, rel=1e-9)
    assert g_ns.item() == pytest.approx(-0.999, rel=1e-9)
    assert abs(g_ns.item()) / abs(g_sat.item()) > 900
    # Both push the same way: towards a larger D(G(z)).
    assert g_sat.item() < 0 and g_ns.item() < 0


def test_both_generator_losses_share_the_equilibrium_direction():
    # At D(G(z)) = 1/2 both gradients (w.r.t. the logit) equal -1/2.
    ell = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    (g_sat,) = torch.autograd.grad(losses.g_loss_saturating(ell), ell)
    (g_ns,) = torch.autograd.grad(losses.g_loss_nonsaturating(ell), ell)
    assert g_sat.item() == pytest.approx(-0.5) and g_ns.item() == pytest.approx(-0.5)


def test_wasserstein_losses():
    f_real = torch.tensor([2.0, 4.0])
    f_fake = torch.tensor([-1.0, 0.0, 1.0])
    # critic maximises E f(x) - E f(G(z)) = 3 - 0: its loss is -3
    assert losses.critic_loss(f_real, f_fake).item() == pytest.approx(-3.0)
    assert losses.g_loss_wasserstein(f_fake).item() == pytest.approx(0.0)
    assert losses.g_loss_wasserstein(f_real).item() == pytest.approx(-3.0)


class Linear(torch.nn.Module):
    """f(x) = w . x: its gradient is w everywhere, so the penalty is known in closed form."""

    def __init__(self, w):
        super().__init__()
        self.w = torch.nn.Parameter(torch.as_tensor(w, dtype=torch.float64))

    def forward(self, x):
        return x.flatten(1) @ self.w


def test_gradient_penalty_of_a_linear_critic_is_lambda_times_norm_minus_one_squared():
    critic = Linear([3.0, 4.0])  # ||w|| = 5
    real, fake = torch.randn(8, 2, dtype=torch.float64), torch.randn(8, 2, dtype=torch.float64)
    gp = losses.gradient_penalty(critic, real, fake, lam=10.0)
    assert gp.item() == pytest.approx(10.0 * (5.0 - 1.0) ** 2)
    assert losses.gradient_penalty(Linear([0.6, 0.8]), real, fake).item() == pytest.approx(0.0, abs=1e-12)


def test_gradient_penalty_matches_autograd_written_out():
    torch.manual_seed(0)
    critic = torch.nn.Sequential(torch.nn.Linear(3, 16), torch.nn.Tanh(), torch.nn.Linear(16, 1)).double()
    real, fake = torch.randn(5, 3, dtype=torch.float64), torch.randn(5, 3, dtype=torch.float64)
    eps = torch.rand(5, dtype=torch.float64)
    gp = losses.gradient_penalty(critic, real, fake, lam=10.0, eps=eps)
    # Written out: one sample at a time, x_hat = eps x + (1 - eps) x_tilde, grad of f at x_hat.
    expected = 0.0
    for i in range(5):
        x_hat = (eps[i] * real[i] + (1 - eps[i]) * fake[i]).detach().requires_grad_(True)
        (g,) = torch.autograd.grad(critic(x_hat).sum(), x_hat)
        expected += (g.norm() - 1) ** 2 / 5
    assert gp.item() == pytest.approx(10.0 * expected.item(), rel=1e-10)
    # The penalty is on the interpolates: evaluated on the real points it differs.
    gp_on_real = losses.gradient_penalty(critic, real, real, lam=10.0)
    assert gp_on_real.item() != pytest.approx(gp.item(), rel=1e-3)
    # And it trains the critic: it has a gradient with respect to the critic's weights.
    grads = torch.autograd.grad(gp, list(critic.parameters()), allow_unused=True)
    assert sum(g.abs().sum() for g in grads if g is not None) > 0


def test_one_sided_gradient_penalty_charges_only_slopes_above_one():
    torch.manual_seed(0)
    real, fake = torch.randn(8, 2, dtype=torch.float64), torch.randn(8, 2, dtype=torch.float64)
    steep, flat = Linear([3.0, 4.0]), Linear([0.3, 0.4])  # ||w|| = 5 and 0.5
    assert losses.gradient_penalty(steep, real, fake, lam=10.0, one_sided=True).item() == pytest.approx(10.0 * 4.0**2)
    assert losses.gradient_penalty(flat, real, fake, lam=10.0, one_sided=True).item() == 0.0
    assert losses.gradient_penalty(flat, real, fake, lam=10.0).item() == pytest.approx(10.0 * 0.5**2)
    # A network whose slope crosses 1 between the points: only the interpolates above 1 count.
    torch.manual_seed(1)
    critic = torch.nn.Sequential(torch.nn.Linear(2, 16), torch.nn.Tanh(), torch.nn.Linear(16, 1)).double()
    with torch.no_grad():
        critic[0].weight.mul_(3.0)
        critic[2].weight.mul_(4.0)
    eps = torch.rand(8, dtype=torch.float64)
    x_hat = losses.interpolates(real, fake, eps).requires_grad_(True)
    (g,) = torch.autograd.grad(critic(x_hat).sum(), x_hat)
    norms = g.norm(dim=1)
    assert (norms > 1).any() and (norms < 1).any()
    expected = 10.0 * (torch.where(norms > 1, norms - 1, 0.0) ** 2).mean()
    assert losses.gradient_penalty(critic, real, fake, 10.0, eps=eps, one_sided=True).item() == pytest.approx(expected.item(), rel=1e-10)


def test_gradient_penalty_rejects_mismatched_batches():
    with pytest.raises(ValueError, match="shape"):
        losses.gradient_penalty(Linear([1.0, 0.0]), torch.zeros(4, 2), torch.zeros(3, 2))


def test_r1_penalty_of_a_linear_discriminator():
    D = Linear([1.0, 2.0])  # ||grad||^2 = 5 everywhere
    x = torch.randn(6, 2, dtype=torch.float64)
    assert losses.r1_penalty(D, x, gamma=4.0).item() == pytest.approx(0.5 * 4.0 * 5.0)


def test_feature_matching_is_the_squared_distance_of_the_feature_means_with_the_real_side_fixed():
    """Salimans et al.'s loss: ||mean h(x) - mean h(G(z))||^2; its gradient -2 (mu_r - mu_f) / m
    reaches each fake row, none the real features (a target, not a path to D)."""
    g = torch.Generator().manual_seed(0)
    h_real = torch.randn(40, 3, 2, 2, generator=g, dtype=torch.float64).requires_grad_(True)
    h_fake = torch.randn(25, 3, 2, 2, generator=g, dtype=torch.float64).requires_grad_(True)
    loss = losses.g_loss_feature_matching(h_fake, h_real)
    gap = h_real.detach().mean(0) - h_fake.detach().mean(0)
    assert loss.item() == pytest.approx((gap**2).sum().item(), rel=1e-12)
    loss.backward()
    assert h_real.grad is None
    assert torch.allclose(h_fake.grad, (-2 * gap / 25).expand(25, 3, 2, 2))
    same = torch.ones(7, 4)
    assert losses.g_loss_feature_matching(same, 2 * torch.ones(9, 4)).item() == 4.0
    assert losses.g_loss_feature_matching(same, same).item() == 0.0
    with pytest.raises(ValueError, match="real and fake features differ in shape"):
        losses.g_loss_feature_matching(torch.zeros(5, 4), torch.zeros(5, 3))
