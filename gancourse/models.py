"""The course's networks. Discriminators and critics return one raw score per sample, shape (N,):
a logit for the GAN losses (D = sigmoid(logit)), the critic value f(x) for the WGAN losses.

- :class:`MLPGenerator`, :class:`MLPDiscriminator`: fully connected, for toy 1-D/2-D data.
- :class:`DCGANGenerator`, :class:`DCGANDiscriminator`: Radford et al. (2016) adapted to 28x28.
- :class:`WGANCritic`: the DCGAN discriminator without batch norm (the gradient penalty is
  per-sample, and batch norm couples the samples of a batch).
"""

from __future__ import annotations

import torch
from torch import nn


def mlp(n_in: int, n_out: int, hidden: int, depth: int, activation: type[nn.Module]) -> nn.Sequential:
    """``depth`` hidden layers of width ``hidden`` with ``activation`` between linear layers."""
    if depth < 1 or hidden < 1:
        raise ValueError(f"an MLP needs depth >= 1 and hidden >= 1, got depth={depth}, hidden={hidden}")
    layers: list[nn.Module] = []
    width = n_in
    for _ in range(depth):
        layers += [nn.Linear(width, hidden), activation()]
        width = hidden
    layers.append(nn.Linear(width, n_out))
    return nn.Sequential(*layers)


class MLPGenerator(nn.Module):
    """G: z in R^{z_dim} -> x in R^{x_dim}, a fully connected network with ReLU and a linear output."""

    def __init__(self, z_dim: int = 4, x_dim: int = 2, hidden: int = 128, depth: int = 3):
        super().__init__()
        self.z_dim, self.x_dim = z_dim, x_dim
        self.net = mlp(z_dim, x_dim, hidden, depth, nn.ReLU)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z)


class MLPDiscriminator(nn.Module):
    """D: x in R^{x_dim} -> one logit, a fully connected network with LeakyReLU(0.2).

    ``pack`` > 1 makes it a PacGAN discriminator (Lin et al., 2018): it scores ``pack``
    samples at once, concatenated, and the batch it sees has N/pack rows.
    """

    def __init__(self, x_dim: int = 2, hidden: int = 128, depth: int = 3, pack: int = 1):
        super().__init__()
        if pack < 1:
            raise ValueError(f"pack must be >= 1, got {pack}")
        self.x_dim, self.pack = x_dim, pack
        self.net = mlp(x_dim * pack, 1, hidden, depth, lambda: nn.LeakyReLU(0.2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[0] % self.pack:
            raise ValueError(f"batch of {x.shape[0]} cannot be split into packs of {self.pack}")
        return self.net(x.reshape(x.shape[0] // self.pack, -1)).squeeze(1)


class DCGANGenerator(nn.Module):
    """DCGAN generator for 28x28x1 images: transposed convolutions, batch norm, ReLU, tanh output.

    z (N, z_dim) -> (N, 1, 28, 28) in [-1, 1].
    """

    def __init__(self, z_dim: int = 100, ngf: int = 64, channels: int = 1):
        super().__init__()
        self.z_dim = z_dim
        self.net = nn.Sequential(
            nn.ConvTranspose2d(z_dim, ngf * 4, 7, 1, 0, bias=False),  # (ngf*4) x 7 x 7
            nn.BatchNorm2d(ngf * 4),
            nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 4, ngf * 2, 4, 2, 1, bias=False),  # (ngf*2) x 14 x 14
            nn.BatchNorm2d(ngf * 2),
            nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 2, channels, 4, 2, 1, bias=False),  # channels x 28 x 28
            nn.Tanh(),
        )
        self.apply(dcgan_init)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z.reshape(z.shape[0], self.z_dim, 1, 1))


class DCGANDiscriminator(nn.Module):
    """DCGAN discriminator for 28x28 images: strided convolutions (no pooling), LeakyReLU(0.2).

    (N, 1, 28, 28) -> logits (N,). ``batch_norm=False`` gives the WGAN-GP critic.
    """

    def __init__(self, ndf: int = 64, channels: int = 1, batch_norm: bool = True):
        super().__init__()
        norm = nn.BatchNorm2d(ndf * 2) if batch_norm else nn.Identity()
        self.net = nn.Sequential(
            nn.Conv2d(channels, ndf, 4, 2, 1, bias=False),  # ndf x 14 x 14
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(ndf, ndf * 2, 4, 2, 1, bias=False),  # (ndf*2) x 7 x 7
            norm,
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(ndf * 2, 1, 7, 1, 0, bias=False),  # 1 x 1 x 1
        )
        self.apply(dcgan_init)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).flatten()


class WGANCritic(DCGANDiscriminator):
    """The DCGAN discriminator as a Wasserstein critic: no batch norm, an unbounded score f(x)."""

    def __init__(self, ndf: int = 64, channels: int = 1):
        super().__init__(ndf=ndf, channels=channels, batch_norm=False)


def dcgan_init(module: nn.Module) -> None:
    """Radford et al. (2016): conv weights ~ N(0, 0.02); batch-norm scales ~ N(1, 0.02), shifts 0."""
    if isinstance(module, nn.Conv2d | nn.ConvTranspose2d):
        nn.init.normal_(module.weight, 0.0, 0.02)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
