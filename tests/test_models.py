"""The networks: shapes, output ranges, DCGAN's rules and initialisation."""

import math

import pytest
import torch
from torch import nn

from gancourse import models, runs


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
    """Radford et al. (2016): convolution weights ~ N(0, 0.02), batch-norm scales ~ N(1, 0.02), shifts 0."""
    torch.manual_seed(0)
    for net in (models.DCGANGenerator(ngf=64), models.DCGANDiscriminator(ndf=64)):
        convs = [m for m in net.modules() if isinstance(m, nn.Conv2d | nn.ConvTranspose2d)]
        norms = [m for m in net.modules() if isinstance(m, nn.BatchNorm2d)]
        assert convs and norms
        w = torch.cat([m.weight.flatten() for m in convs])  # over 10^5 weights
        assert w.mean().abs().item() < 1e-3
        assert w.std().item() == pytest.approx(0.02, rel=0.02)
        scale = torch.cat([m.weight for m in norms])
        assert scale.mean().item() == pytest.approx(1.0, abs=0.01) and scale.std().item() == pytest.approx(0.02, rel=0.2)
        assert all(m.bias.abs().max().item() == 0 for m in norms)


def test_wgan_critic_has_no_batch_norm_and_no_sigmoid():
    critic = models.WGANCritic(ndf=8)
    assert not any(isinstance(m, nn.BatchNorm2d | nn.Sigmoid) for m in critic.modules())
    # each sample's score depends on that sample only (what the per-sample gradient penalty assumes)
    x = torch.randn(4, 1, 28, 28)
    assert torch.allclose(critic(x)[:2], critic(x[:2]), atol=1e-6)


def test_count_parameters():
    assert models.count_parameters(models.MLPGenerator(z_dim=4, x_dim=2, hidden=8, depth=1)) == 4 * 8 + 8 + 8 * 2 + 2


def test_maxout_keeps_the_largest_of_its_linear_pieces():
    layer = models.Maxout(3, 2, pieces=4)
    x = torch.randn(5, 3)
    pieces = (x @ layer.linear.weight.T + layer.linear.bias).view(5, 2, 4)
    assert torch.equal(layer(x), pieces.max(dim=2).values)
    with pytest.raises(ValueError, match="at least 1 piece"):
        models.Maxout(3, 2, pieces=0)


def test_minibatch_std_appends_the_batch_spread():
    x = torch.tensor([[0.0, 1.0], [2.0, 5.0], [4.0, 3.0]])
    out = models.MinibatchStd()(x)
    assert out.shape == (3, 4) and torch.equal(out[:, :2], x)
    assert torch.allclose(out[:, 2:], torch.tensor([2.0, 2.0]).expand(3, 2))  # std of (0, 2, 4) and (1, 5, 3)
    assert models.MinibatchStd()(torch.ones(4, 2))[:, 2:].abs().max() == 0  # a collapsed batch has no spread


def test_minibatch_std_lets_a_discriminator_score_a_batch_by_its_diversity():
    torch.manual_seed(0)
    D = models.MLPDiscriminator(minibatch_std=True)
    x = torch.randn(8, 2)
    plain = models.MLPDiscriminator()  # its first layer sees 2 inputs, this one 2 + their batch's 2 stds
    assert models.count_parameters(D) - models.count_parameters(plain) == 2 * 128
    assert not torch.allclose(D(x)[:1], D(x[:1].repeat(8, 1))[:1])  # the same sample in another batch
    assert D(torch.randn(8, 2)).shape == (8,) and models.MLPDiscriminator(pack=2, minibatch_std=True)(x).shape == (4,)


def test_pacgan_networks_have_the_papers_shapes():
    # Lin et al. (2018), synthetic experiments: G 4 x 400 ReLU + batch norm, D 3 x 200 maxout (5 pieces)
    G = models.MLPGenerator(z_dim=2, x_dim=2, hidden=400, depth=4, batch_norm=True)
    D = models.MLPDiscriminator(hidden=200, depth=3, pack=2, maxout=5)
    assert sum(isinstance(m, nn.BatchNorm1d) for m in G.modules()) == 4
    assert all(m.bias is None for m in G.modules() if isinstance(m, nn.Linear) and m.out_features == 400)
    # G: 2 -> 400 -> 400 -> 400 -> 400 without biases, a scale and a shift per unit, 400 -> 2 with biases
    assert models.count_parameters(G) == 2 * 400 + 3 * 400 * 400 + 4 * 2 * 400 + 400 * 2 + 2
    assert sum(isinstance(m, models.Maxout) for m in D.modules()) == 3
    pieces = 200 * 5  # 200 maxout units of 5 linear pieces each, on packs of 2 samples in 2-D
    assert models.count_parameters(D) == (2 * 2 + 1) * pieces + 2 * (200 + 1) * pieces + 200 + 1
    assert G(torch.randn(6, 2)).shape == (6, 2) and D(torch.randn(6, 2)).shape == (3,)


def test_layer_outputs_and_summary_follow_a_dummy_batch():
    G = models.DCGANGenerator(z_dim=10, ngf=8)
    shapes = [shape for _, shape in models.layer_outputs(G, torch.randn(3, 10))]
    assert shapes[0] == (3, 32, 7, 7) and shapes[3] == (3, 16, 14, 14) and shapes[-1] == (3, 1, 28, 28)
    table = models.summary(G, torch.randn(3, 10)).split("\n")
    assert table[0].split() == ["input", "(3,", "10)"] and len(table) == len(shapes) + 2
    assert table[-1].split() == ["total", f"{models.count_parameters(G):,}"]
    seen = models.layer_outputs(G, torch.randn(3, 10))
    G(torch.randn(5, 10))
    assert len(seen) == len(shapes)  # the hooks are removed: running G again records nothing


def test_models_remember_their_constructor_arguments_and_rebuild():
    for model in (models.MLPGenerator(3, hidden=16, batch_norm=True), models.MLPDiscriminator(pack=2, maxout=3),
                  models.WGANCritic(ndf=8), models.DCGANDiscriminator(ndf=8, batch_norm=False)):  # fmt: skip
        record = models.describe(model)
        rebuilt = models.rebuild(record)
        assert type(rebuilt) is type(model) and rebuilt.init_args == model.init_args
        assert {k: v.shape for k, v in rebuilt.state_dict().items()} == {k: v.shape for k, v in model.state_dict().items()}
    assert models.describe(models.WGANCritic(ndf=8))["args"] == {"ndf": 8, "channels": 1, "spectral_norm": False, "layer_norm": False}
    assert models.describe(torch.nn.Linear(2, 2)) == {"class": "Linear", "args": None}
    with pytest.raises(ValueError, match="cannot rebuild a 'Linear' network"):
        models.rebuild({"class": "Linear", "args": None})


def test_power_iteration_finds_the_largest_singular_value():
    gen = torch.Generator().manual_seed(0)
    for shape in ((5, 3), (3, 7), (16, 16), (8, 4, 3, 3)):  # the last: a convolution's kernel
        W = torch.randn(*shape, generator=gen, dtype=torch.float64)
        exact = torch.linalg.matrix_norm(W.reshape(shape[0], -1), ord=2).item()
        assert models.largest_singular_value(W, iters=500) == pytest.approx(exact, rel=1e-6), shape
    diagonal = torch.diag(torch.tensor([3.0, -5.0, 1.0]))  # singular values 5, 3, 1
    assert models.largest_singular_value(diagonal, iters=200) == pytest.approx(5.0, rel=1e-9)
    for bad in (torch.ones(3), torch.tensor([[1.0, float("nan")]])):
        with pytest.raises(ValueError, match="W "):
            models.largest_singular_value(bad)


def test_spectral_norm_bounds_every_layer_and_the_discriminators_slope_by_one():
    torch.manual_seed(0)
    D = models.MLPDiscriminator(hidden=64, spectral_norm=True)
    x = torch.randn(256, 2)
    for _ in range(300):  # PyTorch's power iteration: one step per forward pass in training mode
        D(x)
    D.eval()  # the estimate is kept: the weights no longer change
    layers = [m for m in D.modules() if isinstance(m, nn.Linear)]
    norms = [torch.linalg.matrix_norm(layer.weight.detach(), ord=2).item() for layer in layers]
    assert len(layers) == 4 and all(n == pytest.approx(1.0, rel=2e-2) for n in norms), norms
    points = torch.randn(512, 2, requires_grad=True)
    (slopes,) = torch.autograd.grad(D(points).sum(), points)
    bound = math.prod(norms)  # LeakyReLU is 1-Lipschitz: the slope is at most the product of the layers' norms
    assert slopes.norm(dim=1).max() <= bound * (1 + 1e-6) and bound < 1.1
    unnormalised = models.MLPDiscriminator(hidden=64)
    assert max(torch.linalg.matrix_norm(m.weight.detach(), ord=2).item() for m in unnormalised.modules()
               if isinstance(m, nn.Linear)) > 1.5  # fmt: skip


def test_spectrally_normalised_models_rebuild_from_their_description():
    for D in (models.MLPDiscriminator(spectral_norm=True, maxout=3), models.WGANCritic(ndf=8, spectral_norm=True),
              models.DCGANDiscriminator(ndf=8, spectral_norm=True)):  # fmt: skip
        again = models.rebuild(models.describe(D))
        again.load_state_dict(D.state_dict())  # the same parametrized keys
        x = torch.randn(4, 2) if isinstance(D, models.MLPDiscriminator) else torch.randn(4, 1, 28, 28)
        D.eval(), again.eval()
        assert torch.equal(D(x), again(x))
        assert any(nn.utils.parametrize.is_parametrized(m) for m in again.modules())


def test_a_spectrally_normalised_discriminator_pickles_and_copies_as_it_is():
    # PyTorch refuses to pickle parametrized modules; the course's come back from worker processes
    import copy
    import pickle

    torch.manual_seed(0)
    for D, x in ((models.MLPDiscriminator(spectral_norm=True), torch.randn(8, 2)),
                 (models.WGANCritic(ndf=8, spectral_norm=True), torch.randn(4, 1, 28, 28))):  # fmt: skip
        D(x)  # one power-iteration step: the vectors differ from a fresh network's
        D.eval()
        state = torch.get_rng_state()
        for twin in (pickle.loads(pickle.dumps(D)), copy.deepcopy(D)):
            assert type(twin) is type(D) and not twin.training
            assert all(torch.equal(a, b) for a, b in zip(D.state_dict().values(), twin.state_dict().values(), strict=True))
            assert torch.equal(twin(x), D(x))
        assert torch.equal(torch.get_rng_state(), state)  # copying draws nothing from the seeded stream
    plain = models.MLPDiscriminator()
    assert torch.equal(pickle.loads(pickle.dumps(plain))(torch.ones(2, 2)), plain(torch.ones(2, 2)))


def test_spectral_norm_leaves_the_seeded_random_stream_alone():
    torch.manual_seed(3)
    models.MLPDiscriminator(spectral_norm=True)
    after_normalised = torch.rand(3)
    torch.manual_seed(3)
    models.MLPDiscriminator()
    assert torch.equal(torch.rand(3), after_normalised)


def test_a_discriminators_head_of_its_features_is_its_forward_pass():
    """features(x) is the last hidden layer and head(h) the rest: together, bit for bit, forward(x)
    (packed, with the minibatch's standard deviation, and in the convolutional discriminator)."""
    torch.manual_seed(0)
    cases = [(models.MLPDiscriminator(pack=2, minibatch_std=True), torch.randn(8, 2), (4, 128)),
             (models.MLPDiscriminator(maxout=3), torch.randn(6, 2), (6, 128)),
             (models.DCGANDiscriminator(ndf=8), torch.randn(4, 1, 28, 28), (4, 16, 7, 7)),
             (models.WGANCritic(ndf=8), torch.randn(4, 1, 28, 28), (4, 16, 7, 7))]  # fmt: skip
    for D, x, shape in cases:
        h = D.features(x)
        assert h.shape == shape and torch.equal(D.head(h), D(x))


def test_layer_norm_normalises_each_sample_over_its_channels_and_positions():
    torch.manual_seed(0)
    norm = models.layer_norm_2d(6)
    x = 3 * torch.randn(4, 6, 7, 7) + 5
    flat = x.reshape(4, -1)
    by_hand = (flat - flat.mean(1, keepdim=True)) / (flat.var(1, unbiased=False, keepdim=True) + 1e-5).sqrt()
    assert torch.allclose(norm(x), by_hand.reshape(x.shape), atol=1e-5)
    with torch.no_grad():  # then scaled and shifted per channel
        norm.weight.copy_(torch.arange(1.0, 7.0))
        norm.bias.fill_(0.5)
    assert torch.allclose(norm(x), by_hand.reshape(x.shape) * torch.arange(1.0, 7.0)[:, None, None] + 0.5, atol=1e-5)


def test_a_layer_normed_critic_scores_each_sample_alone_and_a_batch_normed_one_does_not():
    """The gradient penalty needs d f(x_i) / d x_j = 0 for j != i (Gulrajani et al., 2017)."""
    torch.manual_seed(0)
    x = torch.randn(5, 1, 28, 28)
    critics = {"layer norm": models.WGANCritic(ndf=8, layer_norm=True), "batch norm": models.DCGANDiscriminator(ndf=8).train()}
    for name, critic in critics.items():
        jacobian = torch.autograd.functional.jacobian(critic, x)  # (5, 5, 1, 28, 28)
        across = jacobian.abs().sum(dim=(2, 3, 4)) * (1 - torch.eye(5))
        if name == "layer norm":
            assert across.max() == 0
            alone = torch.stack([critic(x[i : i + 1])[0] for i in range(5)])
            assert torch.allclose(critic(x), alone, atol=1e-6)  # a batch of one scores the same
        else:
            assert across.max() > 1e-4  # each score leans on the rest of the batch
    assert any(isinstance(m, torch.nn.GroupNorm) for m in critics["layer norm"].modules())
    with pytest.raises(ValueError, match="batch_norm and layer_norm exclude each other"):
        models.DCGANDiscriminator(ndf=8, layer_norm=True)
    # from a run's settings: the critic of WGAN-GP, or a DCGAN discriminator with layer norm instead of batch norm
    for preset in ("wgan-gp-small", "dcgan-small"):
        _, _, D = runs.build(runs.load_config(preset, layer_norm=True))
        assert any(isinstance(m, torch.nn.GroupNorm) for m in D.modules())
        assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in D.modules())
    with pytest.raises(ValueError, match="layer_norm applies to the DCGAN discriminator and critic"):
        runs.load_config("ring", layer_norm=True)
