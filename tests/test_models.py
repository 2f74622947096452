"""The networks: shapes, output ranges, DCGAN's rules and initialisation."""

import pytest
import torch
from torch import nn

from gancourse import models


def test_mlp_generator_and_discriminator_shapes():
    G, D = models.MLPGenerator(z_dim=4, x_dim=2), models.MLPDiscriminator(x_dim=2)
    x = G(torch.randn(10, 4))
    assert x.shape == (10, 2) and D(x).shape == (10,)


def test_packed_discriminator_scores_packs_of_samples():
    D = models.MLPDiscriminator(x_dim=2, pack=4)
    assert D(torch.randn(16, 2)).shape == (4,)
    with pytest.raises(ValueError, match="packs of 4"):
        D(torch.randn(10, 2))


def test_dcgan_generator_makes_28x28_images_in_tanh_range():
    G = models.DCGANGenerator(z_dim=100, ngf=16)
    x = G(torch.randn(6, 100) * 50)  # large inputs saturate tanh, never exceed it
    assert x.shape == (6, 1, 28, 28)
    assert x.min() >= -1 and x.max() <= 1
    assert G(torch.randn(2, 100, 1, 1)).shape == (2, 1, 28, 28)


def test_dcgan_follows_the_architecture_rules():
    G, D = models.DCGANGenerator(ngf=8), models.DCGANDiscriminator(ndf=8)
    layers = list(G.modules()) + list(D.modules())
    assert not any(isinstance(m, nn.MaxPool2d | nn.AvgPool2d | nn.Linear) for m in layers)  # no pooling, no FC
    assert any(isinstance(m, nn.ConvTranspose2d) and m.stride == (2, 2) for m in G.modules())
    assert any(isinstance(m, nn.Conv2d) and m.stride == (2, 2) for m in D.modules())
    assert any(isinstance(m, nn.LeakyReLU) for m in D.modules())
    assert isinstance(list(G.modules())[-1], nn.Tanh)
    assert D(torch.randn(3, 1, 28, 28)).shape == (3,)


def test_dcgan_init_is_normal_0_002():
    torch.manual_seed(0)
    G = models.DCGANGenerator(ngf=64)
    w = G.net[3].weight  # 256 x 128 x 4 x 4 weights
    assert w.mean().abs().item() < 1e-3
    assert w.std().item() == pytest.approx(0.02, rel=0.02)
    bn = G.net[1]
    assert bn.weight.mean().item() == pytest.approx(1.0, abs=0.01) and bn.bias.abs().max().item() == 0


def test_wgan_critic_has_no_batch_norm_and_no_sigmoid():
    critic = models.WGANCritic(ndf=8)
    assert not any(isinstance(m, nn.BatchNorm2d | nn.Sigmoid) for m in critic.modules())
    # each sample's score depends on that sample only (what the per-sample gradient penalty assumes)
    x = torch.randn(4, 1, 28, 28)
    assert torch.allclose(critic(x)[:2], critic(x[:2]), atol=1e-6)


def test_count_parameters():
    assert models.count_parameters(models.MLPGenerator(z_dim=4, x_dim=2, hidden=8, depth=1)) == 4 * 8 + 8 + 8 * 2 + 2
