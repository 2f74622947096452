"""The class-conditional GAN: pairs as tensors, a uniform class prior read from the noise,
classes on request, and training, checkpoints and resume through the ordinary loop."""

import math

import pytest
import torch

from gancourse import checkpoint, conditional, train
from gancourse.__main__ import main

C = 10


def tiny_pair(seed=0, num_classes=C):
    torch.manual_seed(seed)
    G = conditional.ConditionalGenerator(noise_dim=6, num_classes=num_classes, ngf=4)
    D = conditional.ConditionalDiscriminator(num_classes=num_classes, ndf=4)
    return G, D


def fake_labelled_images(n=120, num_classes=C, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, 1, 28, 28, generator=g) * 2 - 1, torch.arange(n) % num_classes


def test_a_pair_is_the_image_and_exact_one_hot_planes():
    x, y = fake_labelled_images(12)
    pairs = conditional.join(x, y, C)
    assert pairs.shape == (12, 1 + C, 28, 28)
    assert torch.equal(conditional.images(pairs), x)
    assert torch.equal(conditional.labels(pairs), y)
    planes = pairs[:, 1:]
    assert set(planes.unique().tolist()) == {0.0, 1.0}
    assert torch.equal(planes.sum(dim=1), torch.ones(12, 28, 28))  # exactly one plane of ones
    assert torch.equal(planes[torch.arange(12), y], torch.ones(12, 28, 28))


def test_shapes_of_the_generator_and_the_discriminator():
    G, D = tiny_pair()
    assert G.z_dim == 7 and isinstance(G.z_dim, int)  # the class coordinate + noise_dim
    pairs = G(torch.randn(5, G.z_dim))
    assert pairs.shape == (5, 1 + C, 28, 28)
    x = conditional.images(pairs)
    assert x.min() >= -1 and x.max() <= 1
    assert D(pairs).shape == (5,)
    assert train.generate(G, 3, seed=0).shape == (3, 1 + C, 28, 28)


def test_the_class_prior_is_uniform():
    """y = floor(C Phi(z_0)) with z_0 ~ N(0, 1): a chi-square test on 200,000 draws
    (99.9 % quantile of chi-square with 9 degrees of freedom: 27.88), and the generator's
    own classes on N(0, I) noise."""
    n = 200_000
    z0 = torch.randn(n, generator=torch.Generator().manual_seed(0))
    counts = torch.bincount(conditional.class_of(z0, C), minlength=C).double()
    assert counts.sum() == n
    chi2 = ((counts - n / C) ** 2 / (n / C)).sum().item()
    assert chi2 < 27.88, counts
    G, _ = tiny_pair()
    y = conditional.labels(train.generate(G, 4_000, seed=1))
    assert torch.bincount(y, minlength=C).min() > 300  # 400 expected per class


def test_the_class_intervals_are_the_quantiles_of_the_normal():
    """Class k is read from z_0 in [Phi^-1(k/C), Phi^-1((k+1)/C)): check at the boundaries."""
    k = torch.arange(1, C)
    edges = torch.special.ndtri(k.double() / C)
    assert torch.equal(conditional.class_of(edges + 1e-9, C), k)
    assert torch.equal(conditional.class_of(edges - 1e-9, C), k - 1)
    assert torch.equal(conditional.class_of(torch.tensor([-40.0, 40.0]), C), torch.tensor([0, C - 1]))


def test_noise_for_gives_the_requested_classes():
    G, _ = tiny_pair()
    y = torch.tensor([3, 0, 9, 9, 5, 1])
    z = G.noise_for(y, generator=torch.Generator().manual_seed(2))
    assert z.shape == (6, G.z_dim)
    assert torch.equal(conditional.class_of(z[:, 0], C), y)
    assert torch.equal(conditional.labels(train.decode(G, z)), y)
    # z_0 is the middle of its class's interval of u = Phi(z_0)
    u = torch.special.ndtr(z[:, 0].double())
    assert torch.allclose(u, (y.double() + 0.5) / C, atol=1e-6)


def test_labelled_images_sample_pairs_with_replacement():
    x, y = fake_labelled_images(30)
    real = conditional.LabelledImages(x, y, C)
    assert torch.allclose(real.class_frequencies(), torch.full((C,), 0.1, dtype=torch.float64))
    pairs = real.sample(64, generator=torch.Generator().manual_seed(0))
    assert pairs.shape == (64, 1 + C, 28, 28)
    # each drawn image comes with its own label
    index = [int((x == image).flatten(1).all(1).nonzero()) for image in conditional.images(pairs)]
    assert torch.equal(conditional.labels(pairs), y[index])
    again = real.sample(64, generator=torch.Generator().manual_seed(0))
    assert torch.equal(pairs, again)


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: conditional.LabelledImages(*fake_labelled_images(20, num_classes=11), 10), "labels must lie in 0..9"),
        (lambda: conditional.LabelledImages(torch.zeros(4, 1, 28, 28), torch.zeros(3, dtype=torch.long)), "4 images and 3 labels"),
        (lambda: conditional.LabelledImages(torch.zeros(4, 28, 28), torch.zeros(4, dtype=torch.long)), r"shape \(N, 1, 28, 28\)"),
        (lambda: conditional.join(torch.zeros(2, 1, 28, 28), torch.tensor([0.0, 1.0]), C), "labels must be integers"),
        (lambda: tiny_pair()[0].noise_for(torch.tensor([2, -1])), r"labels must lie in 0..9"),
        (lambda: tiny_pair()[0](torch.randn(2, 6)), r"noise must have shape \(N, 7\)"),
        (lambda: tiny_pair()[1](torch.randn(2, 1, 28, 28)), r"expected pairs of shape \(N, 11, 28, 28\)"),
    ],
)
def test_bad_input_gets_one_clear_line(call, message):
    with pytest.raises(ValueError, match=message) as error:
        call()
    assert "\n" not in str(error.value)


def test_training_checkpoints_rebuilds_and_resumes_exactly(tmp_path):
    real = conditional.LabelledImages(*fake_labelled_images(), C)
    config = dict(batch_size=16, progress=False, checkpoint_every=3)
    G, D = tiny_pair()
    whole = train.train(G, D, real, train.TrainConfig(steps=8, **config), checkpoint_dir=tmp_path / "a")
    assert whole.step == 8 and all(math.isfinite(v) for v in whole.history["loss_D"])
    G1, D1 = tiny_pair()
    train.train(G1, D1, real, train.TrainConfig(steps=3, **config), checkpoint_dir=tmp_path / "b")
    G2, D2 = tiny_pair()
    resumed = train.train(G2, D2, real, train.TrainConfig(steps=8, **config), checkpoint_dir=tmp_path / "b", resume=True)
    assert resumed.history == whole.history
    # the checkpoint alone rebuilds both models
    G3, D3 = checkpoint.load_models(tmp_path / "a" / train.CHECKPOINT_NAME)
    assert type(G3) is conditional.ConditionalGenerator and G3.init_args == G.init_args
    assert type(D3) is conditional.ConditionalDiscriminator and D3.init_args == D.init_args
    z = G.noise_for(torch.arange(C), generator=torch.Generator().manual_seed(0))
    assert torch.equal(train.decode(G3, z), train.decode(G, z))
    # and `python -m gancourse sample` draws its images (not the label planes) from it
    png = tmp_path / "grid.png"
    assert main(["sample", "--checkpoint", str(tmp_path / "a" / train.CHECKPOINT_NAME), "--n", "16", "--out", str(png)]) == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_projection_discriminator_is_a_score_of_the_image_plus_the_class_embedding_times_its_pooled_features():
    torch.manual_seed(0)
    D = conditional.ProjectionDiscriminator(num_classes=C, ndf=4).eval()
    x, y = fake_labelled_images(6)
    pairs = conditional.join(x, y, C)
    logits = D(pairs)
    assert logits.shape == (6,)
    with torch.no_grad():  # written out: psi(phi(x)) + e_y . sum_hw phi(x)
        phi = D.net[:-1](x)
        by_hand = D.net[-1](phi).flatten() + (D.embed.weight[y] * phi.sum(dim=(2, 3))).sum(dim=1)
    assert torch.allclose(logits, by_hand, atol=1e-6)
    # the label enters only through the projection: changing it moves the logit by (e_y' - e_y) . sum phi
    other = (y + 3) % C
    moved = D(conditional.join(x, other, C)) - logits
    with torch.no_grad():
        assert torch.allclose(moved, ((D.embed.weight[other] - D.embed.weight[y]) * phi.sum(dim=(2, 3))).sum(dim=1), atol=1e-6)
    with pytest.raises(ValueError, match=r"expected pairs of shape \(N, 11, 28, 28\)"):
        D(x)


def test_the_projection_discriminator_trains_in_the_ordinary_loop_and_its_checkpoint_rebuilds_it(tmp_path):
    x, y = fake_labelled_images()
    real = conditional.LabelledImages(x, y, C)
    torch.manual_seed(0)
    G = conditional.ConditionalGenerator(noise_dim=6, num_classes=C, ngf=4)
    D = conditional.ProjectionDiscriminator(num_classes=C, ndf=4)
    before = D.embed.weight.detach().clone()
    result = train.train(G, D, real, train.TrainConfig(steps=4, batch_size=16, progress=False), checkpoint_dir=tmp_path)
    assert result.step == 4 and all(math.isfinite(v) for v in result.history["loss_D"])
    assert not torch.equal(D.embed.weight, before)  # the class embedding learns
    _, D2 = checkpoint.load_models(tmp_path / train.CHECKPOINT_NAME)
    assert type(D2) is conditional.ProjectionDiscriminator and D2.init_args == D.init_args
    pairs = conditional.join(x[:8], y[:8], C)
    assert torch.equal(D2.eval()(pairs), D.eval()(pairs))
    fm = train.TrainConfig(steps=2, batch_size=16, loss="feature-matching", progress=False)  # needs head(features)
    with pytest.raises(ValueError, match="matches D's hidden features: give a discriminator with features"):
        train.train(G, D, real, fm)


def test_the_acgan_discriminator_returns_the_source_logit_and_the_log_probability_of_the_pairs_class():
    torch.manual_seed(0)
    D = conditional.ACGANDiscriminator(num_classes=C, ndf=4).eval()
    x, y = fake_labelled_images(6)
    out = D(conditional.join(x, y, C))
    assert out.shape == (6, 2)
    with torch.no_grad():  # written out: s = psi(phi(x)); log q(y | x) = log softmax(classifier(phi(x)))_y
        phi = D.net[:-1](x)
        q = torch.softmax(D.classifier(phi).flatten(1), dim=1)
        assert torch.allclose(out[:, 0], D.net[-1](phi).flatten(), atol=1e-6)
        assert torch.allclose(out[:, 1], q[torch.arange(6), y].log(), atol=1e-5)
        assert torch.allclose(D.class_logits(x).softmax(1), q, atol=1e-6)
    # the label is not an input: another label keeps the source logit and picks another probability
    other = D(conditional.join(x, (y + 3) % C, C))
    assert torch.equal(other[:, 0], out[:, 0])
    assert torch.allclose(other[:, 1].exp(), q[torch.arange(6), (y + 3) % C], atol=1e-6)


def test_the_acgan_losses_are_the_gan_losses_of_the_source_logits_plus_the_classes_negative_log_likelihood():
    from gancourse import losses

    g = torch.Generator().manual_seed(1)
    s_real, s_fake = torch.randn(5, generator=g), torch.randn(7, generator=g)
    q_real, q_fake = torch.rand(5, generator=g) * 0.9 + 0.05, torch.rand(7, generator=g) * 0.9 + 0.05
    out_real, out_fake = torch.stack([s_real, q_real.log()], 1), torch.stack([s_fake, q_fake.log()], 1)
    # Odena et al. (2017): D maximises L_S + L_C, G maximises L_C - L_S (here with G's non-saturating L_S)
    sig = torch.sigmoid
    L_S = sig(s_real).log().mean() + (1 - sig(s_fake)).log().mean()
    L_C = q_real.log().mean() + q_fake.log().mean()
    assert torch.allclose(losses.d_loss_auxiliary(out_real, out_fake), -(L_S + L_C), atol=1e-6)
    assert torch.allclose(losses.g_loss_auxiliary(out_fake), -sig(s_fake).log().mean() - q_fake.log().mean(), atol=1e-6)


def test_the_acgan_discriminator_trains_with_its_loss_only_and_its_checkpoint_rebuilds_it(tmp_path):
    x, y = fake_labelled_images()
    real = conditional.LabelledImages(x, y, C)
    torch.manual_seed(0)
    G = conditional.ConditionalGenerator(noise_dim=6, num_classes=C, ngf=4)
    D = conditional.ACGANDiscriminator(num_classes=C, ndf=4)
    before = D.classifier.weight.detach().clone()
    config = train.TrainConfig(steps=4, batch_size=16, loss="acgan", progress=False)
    result = train.train(G, D, real, config, checkpoint_dir=tmp_path)
    assert result.step == 4 and all(math.isfinite(v) for v in result.history["loss_D"])
    assert all(0 < v < 1 for v in result.history["D_x"])  # a probability: the source logit only, through a sigmoid
    assert not torch.equal(D.classifier.weight, before)  # the auxiliary classifier learns
    G2, D2 = checkpoint.load_models(tmp_path / train.CHECKPOINT_NAME)
    assert type(D2) is conditional.ACGANDiscriminator and D2.init_args == D.init_args
    pairs = conditional.join(x[:8], y[:8], C)
    assert torch.equal(D2.eval()(pairs), D.eval()(pairs))
    # each refuses the other's partner, before the first step
    with pytest.raises(ValueError, match="train it with loss 'acgan', not 'nonsaturating'"):
        train.train(G, D, real, train.TrainConfig(steps=1, batch_size=16, progress=False))
    with pytest.raises(ValueError, match="needs a discriminator with an auxiliary classifier"):
        train.train(G, tiny_pair()[1], real, config)


def test_chapter_10s_recipe_gives_each_discriminator_its_loss_and_a_record_of_it_goes_stale_when_it_changes():
    from gancourse import record

    book = {name: conditional.recipe(name, "book") for name in conditional.DISCRIMINATORS}
    assert {name: r["loss"] for name, r in book.items()} == {"concatenation": "nonsaturating", "projection": "nonsaturating", "acgan": "acgan"}  # fmt: skip
    assert all(r["steps"] == 1_500 and r["width"] == 32 and r["batch_size"] == 64 for r in book.values())
    assert conditional.recipe("acgan", "full")["width"] == 64
    session = {"configs": {"conditional/acgan": book["acgan"]}, "runs": [], "provenance": {}}
    assert record.stale({"sessions": [session]}) == []
    session["configs"]["conditional/acgan"] = {**book["acgan"], "steps": 2_000}
    assert record.stale({"sessions": [session]}) == ["conditional/acgan: steps was 2000, is now 1500"]
    with pytest.raises(ValueError, match="unknown discriminator 'hinge'; choose one of concatenation, projection, acgan"):
        conditional.recipe("hinge")
