"""Facts about the Dirac-GAN (Mescheder et al., 2018)."""

import math

import pytest
import torch

from gancourse import dirac, losses


def test_vector_field_is_the_gradient_of_the_gan_value_with_r1():
    theta = torch.tensor(0.7, dtype=torch.float64, requires_grad=True)
    psi = torch.tensor(-1.3, dtype=torch.float64, requires_grad=True)
    gamma = 0.4
    x_real = torch.zeros(1, 1, dtype=torch.float64)
    D = lambda x: (psi * x).squeeze(1)  # noqa: E731  (a linear discriminator)
    V = -losses.d_loss(D(x_real), D(theta.reshape(1, 1)))
    assert torch.isclose(V, dirac.value(theta.detach(), psi.detach()))
    r1 = losses.r1_penalty(D, x_real, gamma)
    g_theta, g_psi = torch.autograd.grad(V - r1, (theta, psi))
    v_theta, v_psi = dirac.vector_field(theta.detach(), psi.detach(), gamma)
    assert torch.isclose(v_theta, -g_theta) and torch.isclose(v_psi, g_psi)


def test_the_flow_is_a_rotation_and_simultaneous_steps_spiral_out():
    points = dirac.trajectory(1.0, 0.0, lr=0.1, steps=200)
    r = dirac.distance_to_equilibrium(points)
    assert (r[1:] > r[:-1]).all()
    # |x + h v|^2 = |x|^2 + h^2 |v|^2 because x . v = 0
    theta, psi = points[:-1].T
    v_theta, v_psi = dirac.vector_field(theta, psi)
    assert torch.allclose(r[1:] ** 2, r[:-1] ** 2 + 0.01 * (v_theta**2 + v_psi**2))


def test_alternating_steps_stay_bounded_and_r1_converges():
    alt = dirac.distance_to_equilibrium(dirac.trajectory(1.0, 0.0, 0.1, 2000, method="alternating"))
    assert alt.max() < 1.2 and alt[-200:].min() > 0.8
    r1 = dirac.distance_to_equilibrium(dirac.trajectory(1.0, 0.0, 0.1, 2000, gamma=0.3))
    assert r1[-1] < 1e-3


def test_jacobian_eigenvalues():
    eig = torch.linalg.eigvals(dirac.jacobian_at_equilibrium(0.0))
    assert torch.allclose(eig.real, torch.zeros(2, dtype=torch.float64))
    assert math.isclose(eig.imag.abs().max().item(), 0.5)
    assert (torch.linalg.eigvals(dirac.jacobian_at_equilibrium(0.3)).real < 0).all()
    # the Jacobian is the derivative of the field at 0 (finite differences)
    eps = 1e-6
    J = torch.stack([torch.stack(dirac.vector_field(*e, 0.3)) / eps
                     for e in (torch.tensor([eps, 0.0]), torch.tensor([0.0, eps]))], dim=1)
    assert torch.allclose(J, dirac.jacobian_at_equilibrium(0.3), atol=1e-5)


def test_bad_method():
    with pytest.raises(ValueError):
        dirac.trajectory(1.0, 0.0, 0.1, 10, method="sideways")
