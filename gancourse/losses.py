"""Every loss in the course, written on the discriminator's *logits*.

The networks in :mod:`gancourse.models` output a logit :math:`\\ell`, and
:math:`D = \\sigma(\\ell)` is the probability that the input is real. Writing the losses on
logits is the same mathematics, computed stably:
:math:`\\log D = -\\operatorname{softplus}(-\\ell)` and
:math:`\\log(1 - D) = -\\operatorname{softplus}(\\ell)` never take the log of 0.

For the Wasserstein losses the same network output is the critic value :math:`f(x)`; it
is not squashed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

Tensor = torch.Tensor


def d_loss(logits_real: Tensor, logits_fake: Tensor) -> Tensor:
    """The discriminator's loss: minus the GAN value, which D maximises.

    .. math:: \\mathcal L_D = -\\frac1m\\sum_i \\log D(x_i) - \\frac1m\\sum_j \\log\\bigl(1 - D(G(z_j))\\bigr)

    It is the BCE of the real half (label 1) plus the BCE of the fake half (label 0), each
    averaged over its own half; with equal halves, twice the mean BCE of the whole batch.

    Introduced in chapter 1.
    """
    return F.softplus(-logits_real).mean() + F.softplus(logits_fake).mean()


def g_loss_saturating(logits_fake: Tensor) -> Tensor:
    """The generator's side of the minimax game (it *minimises* this).

    .. math:: \\mathcal L_G^{\\text{minimax}} = \\frac1m\\sum_j \\log\\bigl(1 - D(G(z_j))\\bigr)

    Its gradient with respect to the logit is :math:`-D(G(z))`: it *saturates* (vanishes)
    exactly when D confidently rejects the fakes, i.e. early in training.

    Introduced in chapter 1.
    """
    return -F.softplus(logits_fake).mean()


def g_loss_nonsaturating(logits_fake: Tensor) -> Tensor:
    """The non-saturating ("modified minimax") generator loss of Goodfellow et al. (2014).

    .. math:: \\mathcal L_G^{\\text{NS}} = -\\frac1m\\sum_j \\log D(G(z_j))

    Same fixed point as the minimax loss; its logit gradient is :math:`-(1 - D(G(z)))`,
    large when D rejects the fakes.

    Introduced in chapter 1.
    """
    return F.softplus(-logits_fake).mean()


def g_loss_feature_matching(features_fake: Tensor, features_real: Tensor) -> Tensor:
    """Feature matching (Salimans et al., 2016): G matches the mean of D's last hidden layer.

    .. math:: \\mathcal L_G^{\\text{FM}} = \\Bigl\\|\\frac1m\\sum_i h(x_i) - \\frac1m\\sum_j h(G(z_j))\\Bigr\\|_2^2

    with :math:`h` the discriminator's last hidden layer (``D.features``), summed over all
    its units. D trains as usual, on :func:`d_loss`; the real batch's mean is a target, so
    no gradient flows through ``features_real``. Chasing the statistics D currently uses,
    rather than D's verdict, keeps G from overfitting the current D.
    """
    if features_fake.shape[1:] != features_real.shape[1:]:
        raise ValueError(
            f"real and fake features differ in shape: {tuple(features_real.shape)} vs {tuple(features_fake.shape)}"
        )
    return (features_real.detach().mean(0) - features_fake.mean(0)).pow(2).sum()


def critic_loss(f_real: Tensor, f_fake: Tensor) -> Tensor:
    """The WGAN critic's loss (Arjovsky et al., 2017); the critic maximises the negated form.

    .. math:: \\mathcal L_f = \\frac1m\\sum_j f(G(z_j)) - \\frac1m\\sum_i f(x_i)

    ``-critic_loss`` estimates the Earth-Mover distance when ``f`` is 1-Lipschitz.

    Introduced in chapter 7.
    """
    return f_fake.mean() - f_real.mean()


def g_loss_wasserstein(f_fake: Tensor) -> Tensor:
    """The WGAN generator's loss: :math:`\\mathcal L_G = -\\frac1m\\sum_j f(G(z_j))`.

    Introduced in chapter 7.
    """
    return -f_fake.mean()


def interpolates(real: Tensor, fake: Tensor, eps: Tensor) -> Tensor:
    """Points on the segments between real and fake samples: :math:`\\hat x = \\epsilon x + (1-\\epsilon)\\tilde x`.

    Args:
        real, fake: batches of the same shape (N, ...).
        eps: shape (N,), values in [0, 1].
    """
    eps = eps.reshape(-1, *([1] * (real.dim() - 1))).to(real)
    return eps * real + (1 - eps) * fake


def gradient_penalty(
    critic,
    real: Tensor,
    fake: Tensor,
    lam: float = 10.0,
    eps: Tensor | None = None,
    generator: torch.Generator | None = None,
    one_sided: bool = False,
) -> Tensor:
    """The WGAN-GP penalty (Gulrajani et al., 2017), on random interpolates of real and fake.

    .. math:: \\lambda\\,\\mathbb E_{\\hat x}\\bigl(\\|\\nabla_{\\hat x} f(\\hat x)\\|_2 - 1\\bigr)^2,
              \\quad \\hat x = \\epsilon x + (1-\\epsilon)\\tilde x,\\ \\epsilon \\sim U[0, 1]

    With ``one_sided=True``, :math:`\\lambda\\,\\mathbb E_{\\hat x}\\max(0, \\|\\nabla_{\\hat x} f(\\hat x)\\|_2 - 1)^2`:
    only slopes above 1 pay, so every 1-Lipschitz critic goes free (Petzka et al., 2018).
    The graph is kept (``create_graph=True``) so the penalty trains the critic.

    Args:
        critic: maps a batch (N, ...) to scores (N,) or (N, 1).
        real, fake: batches of the same shape; ``fake`` should be detached from G.
        lam: the penalty weight λ (10 in the paper).
        eps: interpolation weights, shape (N,); drawn from U[0, 1] with ``generator`` if None.
        one_sided: penalise only gradient norms above 1.

    Introduced in chapter 7.
    """
    if real.shape != fake.shape:
        raise ValueError(f"real and fake batches differ in shape: {tuple(real.shape)} vs {tuple(fake.shape)}")
    if eps is None:
        eps = torch.rand(real.shape[0], generator=generator).to(real.device)
    x_hat = interpolates(real, fake, eps).detach().requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(x_hat).sum(), x_hat, create_graph=True)
    grad_norm = grad.flatten(start_dim=1).norm(2, dim=1)
    excess = (grad_norm - 1).clamp(min=0) if one_sided else grad_norm - 1
    return lam * (excess**2).mean()


def r1_penalty(discriminator, real: Tensor, gamma: float = 10.0) -> Tensor:
    """The R1 regulariser (Mescheder et al., 2018): penalise D's gradient on real data.

    .. math:: R_1 = \\frac{\\gamma}{2}\\,\\mathbb E_{x \\sim p_{data}}\\|\\nabla_x \\ell(x)\\|_2^2

    with :math:`\\ell` the discriminator's logit.

    Introduced in chapter 8.
    """
    x = real.detach().requires_grad_(True)
    (grad,) = torch.autograd.grad(discriminator(x).sum(), x, create_graph=True)
    return 0.5 * gamma * grad.flatten(start_dim=1).pow(2).sum(dim=1).mean()


def gp_term(critic, real: Tensor, fake: Tensor, weight: float, rand: Callable[[int], Tensor]) -> Tensor:
    """:func:`gradient_penalty` in the training loop's common penalty signature; ``rand(n)``
    draws the n interpolation weights from U[0, 1]."""
    return gradient_penalty(critic, real, fake, weight, eps=rand(real.shape[0]))


def d_loss_auxiliary(out_real: Tensor, out_fake: Tensor) -> Tensor:
    """AC-GAN's discriminator loss (Odena et al., 2017): :func:`d_loss` on the source logits,
    plus the negative log-likelihood of the classes on both halves.

    .. math:: \\mathcal L_D = \\mathcal L_D^{\\text{GAN}}(s) - \\frac1m\\sum_i \\log q(y_i \\mid x_i)
              - \\frac1m\\sum_j \\log q(y_j \\mid G(z_j, y_j))

    Each output row is a pair's ``(s, log q(y | x))``: the source logit and the log-probability
    that D's auxiliary classifier gives the pair's own class
    (:class:`gancourse.conditional.ACGANDiscriminator`). D learns to classify the generated
    images too, so that G is paid for images of its class that D recognises.

    Introduced in chapter 10.
    """
    return d_loss(out_real[:, 0], out_fake[:, 0]) - out_real[:, 1].mean() - out_fake[:, 1].mean()


def g_loss_auxiliary(out_fake: Tensor) -> Tensor:
    """AC-GAN's generator loss: the non-saturating loss on the source logits, plus the negative
    log-likelihood that D's classifier gives the class each fake was made for.

    .. math:: \\mathcal L_G = -\\frac1m\\sum_j \\log D(G(z_j, y_j)) - \\frac1m\\sum_j \\log q(y_j \\mid G(z_j, y_j))

    Introduced in chapter 10.
    """
    return g_loss_nonsaturating(out_fake[:, 0]) - out_fake[:, 1].mean()


def r1_term(discriminator, real: Tensor, fake: Tensor, weight: float, rand=None) -> Tensor:
    """:func:`r1_penalty` in the training loop's common penalty signature (it ignores ``fake``)."""
    return r1_penalty(discriminator, real, weight)


@dataclass(frozen=True)
class Objective:
    """One GAN objective, as the training loop uses it (introduced in chapter 2; the WGANs in chapter 7).

    ``penalty(D, x_real, x_fake, weight, rand)`` is added to D's loss when the
    :class:`~gancourse.train.TrainConfig` field named ``weight`` is positive; ``clip`` clips
    the critic's weights after each of its steps; ``critic`` says D's output is a score f(x)
    rather than a logit (its mean is recorded as it is, not through a sigmoid);
    ``features`` says ``g_loss`` takes D's last hidden layer on the fake and the real batch
    (``D.features``) instead of D's outputs on the fakes; ``auxiliary`` says D's outputs are
    rows ``(s, log q(y | x))``, a source logit and a class log-likelihood (AC-GAN), and that D
    must say so (an attribute ``auxiliary = True``).
    """

    d_loss: Callable[[Tensor, Tensor], Tensor]  # (D's outputs on real, on fake) -> D's loss
    g_loss: Callable[..., Tensor]  # D's outputs on fake -> G's loss (features: h(fake), h(real))
    penalty: Callable[..., Tensor] | None = None
    weight: str = ""  # the TrainConfig field holding the penalty's weight
    clip: bool = False
    critic: bool = False
    features: bool = False
    auxiliary: bool = False


OBJECTIVES: dict[str, Objective] = {
    "minimax": Objective(d_loss, g_loss_saturating, r1_term, "r1_gamma"),
    "nonsaturating": Objective(d_loss, g_loss_nonsaturating, r1_term, "r1_gamma"),
    "wgan": Objective(critic_loss, g_loss_wasserstein, clip=True, critic=True),
    "wgan-gp": Objective(critic_loss, g_loss_wasserstein, gp_term, "gp_lambda", critic=True),
    "feature-matching": Objective(d_loss, g_loss_feature_matching, r1_term, "r1_gamma", features=True),
    "acgan": Objective(d_loss_auxiliary, g_loss_auxiliary, auxiliary=True),
}
"""Each loss name of :class:`~gancourse.train.TrainConfig` and its objective: a new loss is one row."""
