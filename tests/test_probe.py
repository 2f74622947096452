"""A discriminator's features and the linear classifier that judges them (Radford et al., 2016)."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from gancourse import models, probe


def images(n, seed=0):
    return torch.rand(n, 1, 28, 28, generator=torch.Generator().manual_seed(seed)) * 2 - 1


def test_features_are_every_hidden_layer_max_pooled_to_the_grid():
    torch.manual_seed(0)
    D = models.DCGANDiscriminator(ndf=8)
    x = images(6)
    f = probe.discriminator_features(D, x, grid=4)
    assert f.shape == (6, 8 * 16 + 16 * 16)  # 8 maps of 14x14 and 16 of 7x7, each pooled to 4x4
    D.eval()
    with torch.no_grad():
        h1 = D.net[:2](x)  # conv, LeakyReLU
        h2 = D.net[:5](x)  # ... conv, batch norm, LeakyReLU
    expected = torch.cat([F.adaptive_max_pool2d(h, 4).flatten(1) for h in (h1, h2)], dim=1)
    torch.testing.assert_close(f, expected)


def test_features_do_not_depend_on_the_batch_and_leave_D_as_it_was():
    D = models.DCGANDiscriminator(ndf=8).train()
    D.net[3].running_mean.add_(0.3)  # batch norm statistics as after training
    x = images(7)
    whole = probe.discriminator_features(D, x, batch_size=3)
    torch.testing.assert_close(whole[:2], probe.discriminator_features(D, x[:2]))
    assert D.training  # mode restored
    assert all(not m._forward_hooks for m in D.modules())  # no hook left behind
    assert D.net[3].running_mean.sub(0.3).abs().max() < 1e-7  # eval mode: statistics untouched


def test_features_refuse_what_they_cannot_read():
    with pytest.raises(ValueError, match="no ReLU or LeakyReLU"):
        probe.discriminator_features(nn.Sequential(nn.Conv2d(1, 2, 3), nn.Flatten()), images(2))
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        probe.discriminator_features(models.DCGANDiscriminator(ndf=8), torch.zeros(2, 784))


def blobs(n_per_class, d, spread, seed):
    """Ten Gaussian clusters in d dimensions: a task whose difficulty ``spread`` sets."""
    g = torch.Generator().manual_seed(seed)
    centres = torch.randn(10, d, generator=torch.Generator().manual_seed(99)) * 3
    y = torch.arange(10).repeat_interleave(n_per_class)
    return centres[y] + spread * torch.randn(len(y), d, generator=g), y


def test_linear_probe_separates_separable_classes_and_not_noise():
    f, y = blobs(30, 20, 0.1, seed=1)
    f_test, y_test = blobs(20, 20, 0.1, seed=2)
    assert probe.linear_probe(f, y, f_test, y_test, weight_decays=(1e-2, 1e-1)).accuracy == 1.0
    g = torch.Generator().manual_seed(3)
    noise, noise_test = torch.randn(300, 20, generator=g), torch.randn(1000, 20, generator=g)
    labels = torch.randint(10, (1000,), generator=g)
    chance = probe.linear_probe(noise, y, noise_test, labels, weight_decays=(1e-2, 1e-1, 1.0))
    assert chance.accuracy < 0.16  # ten classes: 0.1 expected, 0.16 is five standard errors


def test_linear_probe_is_blind_to_the_units_of_each_feature():
    f, y = blobs(20, 30, 10.0, seed=4)  # overlapping classes: the accuracy is neither 0 nor 1
    f_test, y_test = blobs(50, 30, 10.0, seed=5)
    scale = torch.logspace(-3, 3, 30)  # each feature in other units
    grid = (1e-2, 1e-1, 1.0)  # the smaller default penalties only take longer on 200 points
    plain = probe.linear_probe(f, y, f_test, y_test, weight_decays=grid)
    scaled = probe.linear_probe(f * scale, y, f_test * scale, y_test, weight_decays=grid)
    assert 0.3 < plain.accuracy < 0.95
    assert scaled.accuracy == plain.accuracy and scaled.weight_decay == plain.weight_decay


def test_logistic_regression_reaches_the_optimum():
    f, y = blobs(20, 15, 2.0, seed=6)
    f = ((f - f.mean(0)) / f.std(0)).double()  # standardised, as linear_probe does
    lam = 1e-2
    W, b = probe._logistic_regression(f, y, 10, lam)
    W, b = W.requires_grad_(), b.requires_grad_()
    loss = F.cross_entropy(f @ W + b, y) + 0.5 * lam * (W * W).sum()
    grads = torch.autograd.grad(loss, (W, b))
    assert max(g.abs().max().item() for g in grads) < 1e-6  # stationary, and the loss is convex


def test_linear_probe_refuses_bad_input():
    f, y = blobs(5, 4, 1.0, seed=7)
    with pytest.raises(ValueError, match="single class"):
        probe.linear_probe(f, torch.zeros_like(y), f, y)
    with pytest.raises(ValueError, match="one label"):
        probe.linear_probe(f, y[:-1], f, y)
    with pytest.raises(ValueError, match=r"\(m, d\) and \(n, d\)"):
        probe.linear_probe(f, y, f[:, :2], y)
    with pytest.raises(ValueError, match="empty part"):
        probe.linear_probe(f, y, f, y, validation=0.0)
