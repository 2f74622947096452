"""The Dirac-GAN (Mescheder et al., 2018): the smallest GAN that fails to converge.

The real data sit at one point, :math:`p_{data} = \\delta_0`; the generator is one point,
:math:`p_g = \\delta_\\theta`; the discriminator is linear, logit :math:`\\ell(x) = \\psi x`,
:math:`D(x) = \\sigma(\\psi x)`. The value of the GAN game is then a function of two numbers,

.. math:: V(\\theta, \\psi) = \\log\\sigma(\\psi\\cdot 0) + \\log\\bigl(1 - \\sigma(\\psi\\theta)\\bigr)
          = -\\log 2 + \\log\\sigma(-\\psi\\theta),

which D ascends and G descends. The unique equilibrium is :math:`(\\theta, \\psi) = (0, 0)`.
The R1 penalty :math:`\\frac\\gamma2\\|\\nabla_x \\ell(x)\\|^2` at the real point is
:math:`\\frac\\gamma2\\psi^2`, subtracted from D's objective.

The gradient vector field (the direction both players move, G down V, D up V - R1) is

.. math:: v(\\theta, \\psi) = \\bigl(-\\partial_\\theta V,\\; \\partial_\\psi V - \\gamma\\psi\\bigr)
          = \\bigl(\\psi\\,\\sigma(\\psi\\theta),\\; -\\theta\\,\\sigma(\\psi\\theta) - \\gamma\\psi\\bigr).

Everything here works on floats or on tensors of any shape (e.g. a grid for a quiver plot).
"""

from __future__ import annotations

import torch

Tensor = torch.Tensor


def _as_tensor(x) -> Tensor:
    return torch.as_tensor(x, dtype=torch.float64)


def value(theta, psi) -> Tensor:
    """:math:`V(\\theta, \\psi) = \\log\\sigma(0) + \\log(1 - \\sigma(\\psi\\theta))`.

    Introduced in chapter 8.
    """
    theta, psi = _as_tensor(theta), _as_tensor(psi)
    return -torch.log(torch.tensor(2.0, dtype=torch.float64)) + torch.nn.functional.logsigmoid(-psi * theta)


def vector_field(theta, psi, gamma: float = 0.0) -> tuple[Tensor, Tensor]:
    """The simultaneous-gradient field :math:`v = (-\\partial_\\theta V, \\partial_\\psi V - \\gamma\\psi)`.

    Args:
        theta, psi: the generator's point and the discriminator's slope (floats or tensors).
        gamma: the R1 weight (0: the plain game).

    Returns:
        ``(v_theta, v_psi)``, float64 tensors of the broadcast shape.

    Introduced in chapter 8.
    """
    theta, psi = _as_tensor(theta), _as_tensor(psi)
    s = torch.sigmoid(psi * theta)
    return psi * s, -theta * s - gamma * psi


def jacobian_at_equilibrium(gamma: float = 0.0) -> Tensor:
    """The Jacobian of :math:`v` at (0, 0): :math:`\\begin{pmatrix}0 & 1/2\\\\ -1/2 & -\\gamma\\end{pmatrix}`.

    Its eigenvalues are :math:`\\pm i/2` without R1 (a pure rotation) and have real part
    :math:`-\\gamma/2 < 0` with it.

    Introduced in chapter 8.
    """
    return torch.tensor([[0.0, 0.5], [-0.5, -gamma]], dtype=torch.float64)


def simultaneous_step(theta, psi, lr: float, gamma: float = 0.0) -> tuple[Tensor, Tensor]:
    """Both players step at once from the same point: :math:`(\\theta, \\psi) + h\\,v(\\theta, \\psi)`."""
    v_theta, v_psi = vector_field(theta, psi, gamma)
    return _as_tensor(theta) + lr * v_theta, _as_tensor(psi) + lr * v_psi


def alternating_step(theta, psi, lr: float, gamma: float = 0.0) -> tuple[Tensor, Tensor]:
    """D steps first, then G steps against the *updated* D (the order of Algorithm 1).

    Introduced in chapter 8.
    """
    theta = _as_tensor(theta)
    _, v_psi = vector_field(theta, psi, gamma)
    psi = _as_tensor(psi) + lr * v_psi
    v_theta, _ = vector_field(theta, psi, gamma)
    return theta + lr * v_theta, psi


def trajectory(
    theta0: float,
    psi0: float,
    lr: float,
    steps: int,
    gamma: float = 0.0,
    method: str = "simultaneous",
) -> Tensor:
    """Iterate the gradient steps from :math:`(\\theta_0, \\psi_0)`.

    Args:
        method: ``"simultaneous"`` or ``"alternating"``.

    Returns:
        Shape (steps + 1, 2): :math:`(\\theta_n, \\psi_n)` for n = 0..steps.

    Introduced in chapter 8.
    """
    step = {"simultaneous": simultaneous_step, "alternating": alternating_step}.get(method)
    if step is None:
        raise ValueError(f"method must be 'simultaneous' or 'alternating', got {method!r}")
    if not isinstance(steps, int) or steps < 0:
        raise ValueError(f"steps must be a non-negative integer, got {steps!r}")
    theta, psi = _as_tensor(theta0), _as_tensor(psi0)
    points = [torch.stack([theta, psi])]
    for _ in range(steps):
        theta, psi = step(theta, psi, lr, gamma)
        points.append(torch.stack([theta, psi]))
    return torch.stack(points)


def distance_to_equilibrium(points: Tensor) -> Tensor:
    """:math:`\\sqrt{\\theta^2 + \\psi^2}` for each row of a trajectory (N, 2).

    Introduced in chapter 8.
    """
    return torch.linalg.vector_norm(points, dim=-1)
