"""Mode coverage and the Fréchet classifier distance measure what a GAN's samples look like."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from gancourse import data, metrics

HQ_PERFECT = 1 - math.exp(-4.5)  # P(||x - c|| < 3 sigma) for a 2-D isotropic Gaussian: 0.98889


# --------------------------------------------------------------------------- mode coverage


@pytest.mark.parametrize("mixture,K", [(data.ring(), 8), (data.grid(), 25)])
def test_perfect_sampler_covers_every_mode(mixture, K):
    result = metrics.mode_coverage(mixture.sample(2500, seed=0), mixture.centers, mixture.std)
    assert (result.modes, result.n_modes) == (K, K)
    assert abs(result.high_quality - HQ_PERFECT) < 0.01
    assert 0 <= result.reverse_kl < 0.02  # sampling noise only: about (K-1)/(2N)
    assert result.counts.shape == (K,) and result.counts.dtype == torch.int64
    assert int(result.counts.sum()) == round(result.high_quality * 2500)


@pytest.mark.parametrize("mixture", [data.ring(), data.grid()])
def test_perfect_sampler_high_quality_fraction_is_one_minus_exp_minus_4_5(mixture):
    result = metrics.mode_coverage(mixture.sample(200_000, seed=1), mixture.centers, mixture.std)
    assert abs(result.high_quality - HQ_PERFECT) < 1e-3
    assert result.reverse_kl < 1e-3


def test_collapsed_sampler_covers_one_mode_with_reverse_kl_log_8():
    mix = data.ring()
    noise = torch.randn(2500, 2, generator=torch.Generator().manual_seed(0))
    collapsed = mix.centers[3] + mix.std * noise  # every sample from mode 3
    result = metrics.mode_coverage(collapsed, mix.centers, mix.std)
    assert result.modes == 1
    assert result.counts.argmax() == 3 and result.counts.sum() == result.counts[3]
    assert result.reverse_kl == pytest.approx(math.log(8), abs=1e-12)
    assert abs(result.high_quality - HQ_PERFECT) < 0.01  # collapsed, yet high quality


def test_reverse_kl_of_two_equal_modes_is_log_k_over_2():
    mix = data.ring()
    samples = torch.cat([mix.centers[0].expand(100, 2), mix.centers[4].expand(100, 2)])
    result = metrics.mode_coverage(samples, mix.centers, mix.std)
    assert result.modes == 2 and result.high_quality == 1.0
    assert result.reverse_kl == pytest.approx(math.log(4), abs=1e-12)  # log(8 / 2)


def test_samples_halfway_between_modes_are_not_high_quality():
    mix = data.ring()
    halfway = (mix.centers + mix.centers.roll(1, dims=0)) / 2
    samples = halfway.repeat(100, 1)
    result = metrics.mode_coverage(samples, mix.centers, mix.std)
    assert result.high_quality == 0.0
    assert result.modes == 0
    assert torch.all(result.counts == 0)
    assert result.reverse_kl == math.inf  # no histogram to compare


def test_threshold_is_three_standard_deviations():
    mix = data.ring()
    angle = torch.rand(800, generator=torch.Generator().manual_seed(0)) * 2 * math.pi
    direction = torch.stack([angle.cos(), angle.sin()], dim=1)
    centre = mix.centers.repeat(100, 1)  # 100 points around every mode
    inside = metrics.mode_coverage(centre + 2.9 * mix.std * direction, mix.centers, mix.std)
    outside = metrics.mode_coverage(centre + 3.1 * mix.std * direction, mix.centers, mix.std)
    assert inside.high_quality == 1.0 and inside.modes == 8
    assert torch.all(inside.counts == 100)
    assert outside.high_quality == 0.0 and outside.modes == 0
    wider = metrics.mode_coverage(
        centre + 3.1 * mix.std * direction, mix.centers, mix.std, threshold=3.2
    )
    assert wider.high_quality == 1.0


def test_samples_are_assigned_to_their_nearest_mode():
    mix = data.grid()
    samples = mix.centers[[0, 0, 7, 24]] + torch.tensor(
        [[0.01, 0.0], [0.0, -0.02], [0.05, 0.05], [0.0, 0.1]]
    )
    result = metrics.mode_coverage(samples, mix.centers, mix.std)
    # the last point is 2 sigma away; the third is sqrt(2) sigma away
    assert result.counts[0] == 2 and result.counts[7] == 1 and result.counts[24] == 1
    assert result.modes == 3 and result.high_quality == 1.0


def test_mode_coverage_accepts_numpy_and_counts_nan_as_low_quality():
    mix = data.ring()
    samples = mix.sample(100, seed=0).numpy().astype(np.float64)
    samples[:10] = np.nan
    from_numpy = metrics.mode_coverage(samples, mix.centers.numpy(), mix.std)
    assert from_numpy.high_quality <= 0.9
    assert int(from_numpy.counts.sum()) == round(from_numpy.high_quality * 100)


def test_mode_coverage_reports_nicely():
    mix = data.ring()
    text = str(metrics.mode_coverage(mix.centers, mix.centers, mix.std))
    assert "8/8 modes" in text and "100.0% high quality" in text


@pytest.mark.parametrize(
    "samples,centers,std,message",
    [
        (torch.zeros(0, 2), torch.zeros(8, 2), 0.01, "samples must have shape"),
        (torch.zeros(10), torch.zeros(8, 2), 0.01, "samples must have shape"),
        (torch.zeros(10, 2), torch.zeros(0, 2), 0.01, "centers must have shape"),
        (torch.zeros(10, 3), torch.zeros(8, 2), 0.01, "dimensions"),
        (torch.zeros(10, 2), torch.zeros(8, 2), 0.0, "std"),
    ],
)
def test_mode_coverage_rejects_bad_input(samples, centers, std, message):
    with pytest.raises(ValueError, match=message):
        metrics.mode_coverage(samples, centers, std)


# --------------------------------------------------------------------------- Fréchet distance

STEPS = 120  # enough for ~78 % test accuracy on 3,000 images in a few seconds on 2 CPU cores


@pytest.fixture(scope="module")
def fashion():
    x, y = data.fashion_mnist(limit=3000, labels=True)
    x_test, y_test = data.fashion_mnist(train=False, limit=2000, labels=True)
    return x, y, x_test, y_test


@pytest.fixture(scope="module")
def classifier(fashion):
    x, y, _, _ = fashion
    return metrics.train_feature_classifier(x, y, steps=STEPS, batch_size=64, seed=0, device="cpu")


def test_feature_classifier_shapes():
    clf = metrics.FeatureClassifier(num_features=32)
    x = torch.zeros(5, 1, 28, 28)
    assert clf(x).shape == (5, 32) and clf.num_features == 32
    assert clf.logits(x).shape == (5, 10)
    with pytest.raises(ValueError, match=r"\(N, 1, 28, 28\)"):
        clf(torch.zeros(5, 3, 28, 28))


def test_classifier_beats_chance_on_held_out_images(classifier, fashion):
    _, _, x_test, y_test = fashion
    assert metrics.classifier_accuracy(classifier, x_test, y_test) > 0.6  # chance: 0.1


def test_trained_classifier_is_a_frozen_instrument(classifier):
    assert not classifier.training
    assert all(not p.requires_grad for p in classifier.parameters())


def test_training_is_deterministic_and_leaves_the_global_rng_alone(fashion):
    x, y = fashion[0][:256], fashion[1][:256]
    state = torch.get_rng_state()
    a = metrics.train_feature_classifier(x, y, steps=3, seed=5, device="cpu")
    assert torch.equal(torch.get_rng_state(), state)
    b = metrics.train_feature_classifier(x, y, steps=3, seed=5, device="cpu")
    c = metrics.train_feature_classifier(x, y, steps=3, seed=6, device="cpu")
    for pa, pb in zip(a.parameters(), b.parameters(), strict=True):
        assert torch.equal(pa, pb)
    assert not torch.equal(a.head.weight, c.head.weight)


def test_train_rejects_bad_input(fashion):
    x, y = fashion[0][:10], fashion[1][:10]
    with pytest.raises(ValueError, match="x must have shape"):
        metrics.train_feature_classifier(x[:, 0], y, steps=1, device="cpu")
    with pytest.raises(ValueError, match="y must have shape"):
        metrics.train_feature_classifier(x, y[:5], steps=1, device="cpu")
    with pytest.raises(ValueError, match="labels must lie"):
        metrics.train_feature_classifier(x, y + 10, steps=1, device="cpu")


def test_real_vs_real_is_far_below_real_vs_corrupted(classifier, fashion):
    x_test = fashion[2]
    real_a, real_b = x_test[:1000], x_test[1000:2000]  # two disjoint real subsets
    noise = torch.rand(1000, 1, 28, 28, generator=torch.Generator().manual_seed(0)) * 2 - 1
    blurred = F.avg_pool2d(real_b, 5, stride=1, padding=2, count_include_pad=False)
    shifted = torch.roll(real_b, shifts=(5, 5), dims=(2, 3))

    def distance(u, v):
        return metrics.frechet_classifier_distance(u, v, classifier)

    floor = distance(real_a, real_b)
    assert floor > 0  # finite samples of one distribution still differ
    assert distance(real_a, noise) > 100 * floor
    assert distance(real_a, blurred) > 5 * floor
    assert distance(real_a, shifted) > 50 * floor


def test_distance_of_a_set_to_itself_is_zero_and_distance_is_symmetric(classifier, fashion):
    x_test = fashion[2]
    a, b = x_test[:600], x_test[600:1000]
    d_aa = metrics.frechet_classifier_distance(a, a, classifier, batch_size=128)
    d_ab = metrics.frechet_classifier_distance(a, b, classifier, batch_size=128)
    d_ba = metrics.frechet_classifier_distance(b, a, classifier, batch_size=256)
    assert abs(d_aa) < 1e-3 * d_ab
    assert d_ab == pytest.approx(d_ba, rel=1e-4)


def test_distance_is_the_frechet_formula_on_the_classifier_features(classifier, fashion):
    """Recompute ||mu_a - mu_b||^2 + Tr(S_a + S_b - 2 (S_a S_b)^(1/2)) from the features directly."""
    x_test = fashion[2]
    a, b = x_test[:500], x_test[500:900]
    with torch.no_grad():
        f_a, f_b = classifier(a).double(), classifier(b).double()
    mu_a, mu_b = f_a.mean(0), f_b.mean(0)
    S_a, S_b = torch.cov(f_a.T), torch.cov(f_b.T)
    sqrt_trace = torch.linalg.eigvals(S_a @ S_b).sqrt().real.sum()
    expected = ((mu_a - mu_b) ** 2).sum() + S_a.trace() + S_b.trace() - 2 * sqrt_trace
    got = metrics.frechet_classifier_distance(a, b, classifier)
    assert got == pytest.approx(float(expected), rel=1e-3)


def test_distance_rejects_bad_images(classifier):
    with pytest.raises(ValueError, match="x_a must have shape"):
        metrics.frechet_classifier_distance(
            torch.zeros(4, 28, 28), torch.zeros(4, 1, 28, 28), classifier
        )
    with pytest.raises(ValueError, match="at least 2"):
        metrics.frechet_classifier_distance(
            torch.zeros(4, 1, 28, 28), torch.zeros(1, 1, 28, 28), classifier
        )


def test_sinkhorn_w1_agrees_with_the_exact_distance_on_the_line():
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(400, 1, generator=gen)
    y = 0.5 * torch.randn(400, 1, generator=gen) + 1.5
    exact = (x.sort(dim=0).values - y.sort(dim=0).values).abs().mean().item()  # the sorted matching
    approx = metrics.sinkhorn_w1(x, y, eps=0.01)
    assert exact <= approx < exact + 0.02
    assert metrics.sinkhorn_w1(x, x + 3.0) == pytest.approx(3.0, abs=0.01)  # a shift moves every point by 3
    with pytest.raises(ValueError, match="shape"):
        metrics.sinkhorn_w1(torch.zeros(3), y)


def test_mode_coverage_refuses_centres_that_are_not_finite():
    ring = data.ring()
    centers = ring.centers.clone()
    centers[3, 0] = float("nan")  # once 0/8 modes for perfect samples
    with pytest.raises(ValueError, match="centers must be finite; 1 of them hold NaN or inf"):
        metrics.mode_coverage(ring.sample(2_500, seed=0), centers, ring.std)
