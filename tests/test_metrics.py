"""Mode coverage and the Fréchet distances measure what a GAN's samples look like."""

import math
import socket
import sys
import threading
import time

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

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
    # a shift moves every point by 3
    assert metrics.sinkhorn_w1(x, x + 3.0) == pytest.approx(3.0, abs=0.01)
    with pytest.raises(ValueError, match="shape"):
        metrics.sinkhorn_w1(torch.zeros(3), y)


def test_mode_coverage_refuses_centres_that_are_not_finite():
    ring = data.ring()
    centers = ring.centers.clone()
    centers[3, 0] = float("nan")  # once 0/8 modes for perfect samples
    with pytest.raises(ValueError, match="centers must be finite; 1 of them hold NaN or inf"):
        metrics.mode_coverage(ring.sample(2_500, seed=0), centers, ring.std)


# --------------------------------------------------------------------------- Inception FID
# Never the network: stand-in feature networks for the arithmetic, and for the offline errors
# an empty torch hub cache with downloads that are refused, never answered, or cut short.

WEIGHTS = "weights-inception-2015-12-05-6726825d.pth"


class PixelFeatures(nn.Module):
    """A stand-in for Inception: a fixed linear map W of a few pixels (all three channels)."""

    def __init__(self, pixels, weight):
        super().__init__()
        self.pixels = pixels  # [(row, col), ...]
        self.register_buffer("weight", weight)  # (F, 3 * len(pixels))
        self.num_features = weight.shape[0]
        self.seen = []  # (shape, dtype, min, max, channels equal) of each batch

    def forward(self, x):
        self.seen.append((tuple(x.shape), x.dtype, float(x.min()), float(x.max()),
                          bool((x == x[:, :1]).all())))  # fmt: skip
        rows, cols = zip(*self.pixels, strict=True)
        v = x[:, :, list(rows), list(cols)].flatten(1)  # (N, 3 * K), channel-major
        return v @ self.weight.T


def frechet_by_hand(f_a, f_b):
    """||mu_a - mu_b||^2 + Tr(S_a + S_b - 2 (S_a S_b)^(1/2)) in float64, the square root's trace
    from the eigenvalues of the symmetric S_a^(1/2) S_b S_a^(1/2) (which are those of S_a S_b)."""
    f_a, f_b = f_a.double(), f_b.double()
    S_a, S_b = torch.cov(f_a.T), torch.cov(f_b.T)
    lam, V = torch.linalg.eigh(S_a)
    root_a = V @ torch.diag(lam.clamp(min=0).sqrt()) @ V.T
    tr_sqrt = torch.linalg.eigvalsh(root_a @ S_b @ root_a).clamp(min=0).sqrt().sum()
    mean_term = (f_a.mean(0) - f_b.mean(0)).pow(2).sum()
    return float(mean_term + S_a.trace() + S_b.trace() - 2 * tr_sqrt)


def pixel_images(n, seed, low=0, high=256):
    """n images whose pixels are 8-bit levels p, as the course stores real images: p / 127.5 - 1."""
    p = torch.randint(low, high, (n, 1, 28, 28), generator=torch.Generator().manual_seed(seed))
    return p, data.to_image_range(p)


def test_inception_fid_is_the_frechet_formula_on_stand_in_features():
    pixels = [(3, 4), (10, 10), (14, 20), (27, 0), (20, 13)]
    weight = torch.randn(4, 15, generator=torch.Generator().manual_seed(0))
    net = PixelFeatures(pixels, weight)
    p_a, x_a = pixel_images(300, seed=1)
    p_b, x_b = pixel_images(200, seed=2, low=30, high=220)  # another distribution
    got = metrics.inception_fid(x_a, x_b, feature_network=net, batch_size=64)

    def features(p):  # what the stand-in must see: 3 equal channels of p / 255
        rows, cols = zip(*pixels, strict=True)
        v = (p[:, 0, list(rows), list(cols)].double() / 255).repeat(1, 3)
        return v @ weight.double().T

    expected = frechet_by_hand(features(p_a), features(p_b))
    assert expected > 0.1
    assert got == pytest.approx(expected, rel=1e-5)
    shapes = {shape[1:] for shape, *_ in net.seen}
    assert shapes == {(3, 28, 28)} and sum(shape[0] for shape, *_ in net.seen) == 500
    assert all(dtype == torch.float32 and 0 <= lo and hi <= 1 and same
               for _, dtype, lo, hi, same in net.seen)  # fmt: skip


def test_inception_fid_of_a_constant_shift_in_feature_space_is_its_squared_length():
    """Equal covariances leave only ||mu_a - mu_b||^2 = ||c||^2 for a shift c of the features."""
    pixels = [(5, 5), (14, 14), (22, 8)]
    net = PixelFeatures(pixels, torch.eye(3, 9))  # identity on channel 0 of three pixels
    p, x_a = pixel_images(400, seed=3, low=40, high=200)
    shift = torch.tensor([10, -20, 30])  # in 8-bit levels
    p_b = p.clone()
    for (r, c), s in zip(pixels, shift, strict=True):
        p_b[:, 0, r, c] += s
    x_b = data.to_image_range(p_b)
    c = shift.double() / 255  # the shift in feature space
    got = metrics.inception_fid(x_a, x_b, feature_network=net)
    assert got == pytest.approx(float(c @ c), rel=1e-5)  # 1400 / 255^2 = 0.0215...
    assert abs(metrics.inception_fid(x_a, x_a, feature_network=net)) < 1e-9
    assert metrics.inception_fid(x_b, x_a, feature_network=net) == pytest.approx(got, rel=1e-9)


def test_images_reach_the_network_as_their_own_8_bit_levels():
    p = torch.arange(256).reshape(1, 1, 16, 16)
    converted = metrics._inception_input(data.to_image_range(p))
    assert converted.shape == (1, 3, 16, 16)
    assert torch.equal(converted * 255, p.float().expand(1, 3, 16, 16))  # every level comes back
    extreme = metrics._inception_input(torch.tensor([-1.5, -1.0, 1.0, 1.5]).reshape(1, 1, 2, 2))
    assert extreme[0, 0].flatten().tolist() == [0.0, 0.0, 1.0, 1.0]  # clipped to [0, 1]


def test_a_stand_in_needs_neither_torch_fidelity_nor_weights(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "torch_fidelity", None)  # import torch_fidelity fails
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    _, x = pixel_images(50, seed=4)
    net = PixelFeatures([(1, 1), (2, 2)], torch.eye(2, 6))
    assert metrics.inception_fid(x, x.flip(0), feature_network=net) == pytest.approx(0, abs=1e-9)
    assert list(tmp_path.iterdir()) == []  # no cache touched


def test_inception_fid_without_torch_fidelity_says_how_to_install_it(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "torch_fidelity", None)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    _, x = pixel_images(10, seed=5)
    with pytest.raises(metrics.InceptionUnavailable) as caught:
        metrics.inception_fid(x, x)
    message = str(caught.value)
    assert isinstance(caught.value, RuntimeError) and "\n" not in message
    assert "torch-fidelity, which is not installed: pip install torch-fidelity" in message
    assert "metrics.frechet_classifier_distance" in message
    assert list(tmp_path.iterdir()) == []  # it failed before looking for weights


def refused_port() -> int:
    """A local port nobody listens on: connecting to it is refused at once."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def offline(monkeypatch, tmp_path):
    """An empty torch hub cache, and every download through a proxy that refuses: the cache folder."""
    pytest.importorskip("torch_fidelity")  # a dev install has it (the fid extra)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    proxy = f"http://127.0.0.1:{refused_port()}"
    for name in ("https_proxy", "HTTPS_PROXY", "http_proxy", "HTTP_PROXY"):
        monkeypatch.setenv(name, proxy)
    for name in ("no_proxy", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path / "hub" / "checkpoints"


def inception_error(x=None) -> tuple[str, float]:
    """inception_fid's message and how long it took to fail."""
    x = pixel_images(10, seed=6)[1] if x is None else x
    start = time.monotonic()
    with pytest.raises(metrics.InceptionUnavailable) as caught:
        metrics.inception_fid(x, x)
    return str(caught.value), time.monotonic() - start


def test_inception_fid_offline_fails_at_once_and_names_the_offline_measure(offline):
    message, seconds = inception_error()
    assert seconds < 5
    assert "\n" not in message  # one line, for a notebook to print
    assert f"weights {WEIGHTS}, which are not in torch hub's cache {offline}" in message
    assert metrics.INCEPTION_WEIGHTS_URL in message
    assert "ConnectionRefusedError" in message  # the underlying error
    assert "metrics.frechet_classifier_distance" in message
    assert list(offline.iterdir()) == []  # nothing half-written left behind


def test_inception_fid_gives_up_on_a_server_that_never_answers(offline, monkeypatch):
    with socket.socket() as server:  # accepts connections (the kernel's backlog), never replies
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        url = f"http://127.0.0.1:{server.getsockname()[1]}/{WEIGHTS}"
        monkeypatch.setattr(metrics, "INCEPTION_WEIGHTS_URL", url)
        monkeypatch.setenv("no_proxy", "*")
        monkeypatch.setenv("GANCOURSE_DOWNLOAD_TIMEOUT", "0.5")
        message, seconds = inception_error()
    assert seconds < 4
    assert "no answer within 0.5 s (set GANCOURSE_DOWNLOAD_TIMEOUT to wait longer)" in message
    assert list(offline.iterdir()) == []


@pytest.mark.parametrize("then", ["stall", "close"])
def test_a_download_cut_short_leaves_nothing_in_the_cache(offline, monkeypatch, then):
    """The server promises a large file, sends a little, then stalls (a timeout) or hangs up
    (the checksum catches it); either way the cache holds no partial file afterwards."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    done = threading.Event()

    def serve():
        connection, _ = server.accept()
        with connection:
            connection.recv(65536)
            connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n" + b"x" * 5000)
            if then == "stall":
                done.wait(10)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.getsockname()[1]}/{WEIGHTS}"
    monkeypatch.setattr(metrics, "INCEPTION_WEIGHTS_URL", url)
    monkeypatch.setenv("no_proxy", "*")
    monkeypatch.setenv("GANCOURSE_DOWNLOAD_TIMEOUT", "0.5")
    try:
        message, seconds = inception_error()
    finally:
        done.set()
        thread.join(5)
        server.close()
    assert seconds < 4
    assert ("no answer within 0.5 s" if then == "stall" else "SHA-256 begins") in message
    assert list(offline.iterdir()) == []


def test_cached_weights_are_used_without_a_download(offline):
    offline.mkdir(parents=True)
    (offline / WEIGHTS).write_bytes(b"not a checkpoint")  # a download would be refused
    message, _ = inception_error()
    assert f"the cached weights {offline / WEIGHTS} cannot be read" in message
    assert "delete the file" in message and "metrics.frechet_classifier_distance" in message


# --------------------------------------------------------------------------- precision and recall


def test_precision_recall_by_hand():
    """k = 1 in one dimension. Real radii: 1, 1, 1, 8 (10's nearest is 2); fake radii: 4.5,
    4.5, 10, 10. Fakes 0.5 and 5 are inside the real balls, 20 and 30 are not: precision 1/2.
    Every real point is inside a fake ball (10 is exactly on the edge of 20's): recall 1."""
    real = torch.tensor([[0.0], [1.0], [2.0], [10.0]])
    fake = torch.tensor([[0.5], [5.0], [20.0], [30.0]])
    result = metrics.precision_recall(real, fake, k=1)
    assert (result.precision, result.recall, result.k) == (0.5, 1.0, 1)
    swapped = metrics.precision_recall(fake, real, k=1)  # the roles swap
    assert (swapped.precision, swapped.recall) == (result.recall, result.precision)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_precision_recall_tell_collapse_from_blur(seed):
    """On the 8-Gaussian ring, 2,000 samples a set (measured on seeds 0-2: same distribution
    0.98 / 0.97-0.98; one mode only 0.96-0.98 / 0.12-0.13, close to 1/8; blurred by noise
    of std 0.2, twenty times the modes' width, 0.01-0.02 / 0.98-1.0)."""
    g = torch.Generator().manual_seed(seed)
    ring = data.ring()
    real = ring.sample(2_000, seed=seed)
    same = metrics.precision_recall(real, ring.sample(2_000, seed=seed + 100))
    assert same.precision > 0.9 and same.recall > 0.9
    collapsed = metrics.precision_recall(real, ring.centers[0] + ring.std * torch.randn(2_000, 2, generator=g))
    assert collapsed.precision > 0.9 and collapsed.recall < 0.2
    blurry = metrics.precision_recall(real, ring.sample(2_000, seed=seed + 100) + 0.2 * torch.randn(2_000, 2, generator=g))
    assert blurry.precision < 0.1 and blurry.recall > 0.9


def test_precision_recall_flattens_images_and_refuses_what_it_cannot_compute():
    x = torch.rand(10, 1, 4, 4)
    assert metrics.precision_recall(x, x, k=2) == metrics.PrecisionRecall(1.0, 1.0, 2)
    with pytest.raises(ValueError, match="16 and 8 features"):
        metrics.precision_recall(x, torch.rand(10, 8))
    with pytest.raises(ValueError, match=r"k must be an integer in 1 \.\. 9"):
        metrics.precision_recall(x, x, k=10)
    with pytest.raises(ValueError, match="fake holds NaN"):
        metrics.precision_recall(x, torch.full((10, 16), float("nan")))


# --------------------------------------------------------------------------- density and coverage


def test_density_coverage_by_hand():
    """k = 1 in one dimension. Real radii: 1, 1, 1, 8. Fake 0.5 lies in the balls of 0 and 1,
    fake 5 in the ball of 10 (|5 - 10| <= 8), 20 and 30 in none: density (2 + 1) / 4 = 0.75.
    The balls of 0, 1 and 10 hold a fake, that of 2 does not: coverage 3/4."""
    real = torch.tensor([[0.0], [1.0], [2.0], [10.0]])
    fake = torch.tensor([[0.5], [5.0], [20.0], [30.0]])
    assert metrics.density_coverage(real, fake, k=1) == metrics.DensityCoverage(0.75, 0.75, 1)


def test_density_and_coverage_of_one_distribution_have_naeem_et_al_s_expectations():
    """Over 40 pairs of independent sets of 500 standard normal points in 4-D, density averages
    1 and coverage 1 - prod_{i=1..k} (N - i) / (M + N - i) (Naeem et al., 2020), within four
    standard errors of the 40-set mean (measured: 0.995 +- 0.006 and 0.872 +- 0.003 vs 0.876)."""
    g = torch.Generator().manual_seed(0)
    n, k = 500, 3
    results = [metrics.density_coverage(torch.randn(n, 4, generator=g), torch.randn(n, 4, generator=g), k=k)
               for _ in range(40)]  # fmt: skip
    expected = 1 - math.prod((n - i) / (2 * n - i) for i in range(1, k + 1))
    for values, mean in (([r.density for r in results], 1.0), ([r.coverage for r in results], expected)):
        values = torch.tensor(values, dtype=torch.float64)
        assert abs(values.mean().item() - mean) < 4 * values.std().item() / len(values) ** 0.5


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_few_outliers_inflate_recall_but_not_coverage(seed):
    """A collapsed generator (one mode of the 8-Gaussian ring) plus 1 % of samples spread wide:
    the outliers' k-NN balls are large and swallow real samples of every mode, so recall
    jumps (measured on seeds 0-2: 0.998-1.0); coverage, built on the real balls only, stays
    near the one mode's 1/8 (0.121-0.129)."""
    g = torch.Generator().manual_seed(seed)
    ring = data.ring()
    real = ring.sample(2_000, seed=seed)
    collapsed = ring.centers[0] + ring.std * torch.randn(1_980, 2, generator=g)
    outliers = 1.2 * (2 * torch.rand(20, 2, generator=g) - 1)
    fake = torch.cat([collapsed, outliers])
    pr, dc = metrics.precision_recall(real, fake), metrics.density_coverage(real, fake)
    assert pr.recall > 0.9 and dc.coverage < 0.2


def test_density_coverage_refuses_what_it_cannot_compute():
    x = torch.rand(10, 1, 4, 4)
    with pytest.raises(ValueError, match="16 and 8 features"):
        metrics.density_coverage(x, torch.rand(10, 8))
    with pytest.raises(ValueError, match=r"k must be an integer in 1 \.\. 9"):
        metrics.density_coverage(x, torch.rand(20, 16), k=10)


def test_nearest_neighbours_finds_copies_at_distance_zero_and_the_nearest_otherwise():
    g = torch.Generator().manual_seed(0)
    pool = torch.rand(500, 1, 28, 28, generator=g)
    copies = pool[[7, 300, 42]]
    dist, index = metrics.nearest_neighbours(copies, pool)
    assert index.tolist() == [7, 300, 42] and dist.tolist() == [0.0, 0.0, 0.0]
    x = torch.rand(20, 1, 28, 28, generator=g)
    dist, index = metrics.nearest_neighbours(x, pool, batch_size=7)
    brute = ((x.double().flatten(1)[:, None] - pool.double().flatten(1)[None]) ** 2).sum(-1).sqrt()
    assert torch.equal(index, brute.argmin(dim=1)) and torch.allclose(dist, brute.min(dim=1).values)
    with pytest.raises(ValueError, match="same number of features"):
        metrics.nearest_neighbours(torch.rand(3, 5), pool)


def test_frechet_distance_on_features_is_the_classifier_distance_of_those_features(classifier, fashion):
    """Both equal d^2 computed here from the classifier's features (sample means, unbiased
    covariances, the trace term by the symmetric route), and frechet_distance is the closed
    form for two Gaussians' sample statistics on constructed features."""
    x_test = fashion[2]
    a, b = x_test[:500], x_test[500:900]
    with torch.no_grad():
        f_a, f_b = classifier(a), classifier(b)
    cov_a, cov_b = torch.cov(f_a.double().T), torch.cov(f_b.double().T)
    lam, V = torch.linalg.eigh(cov_a)
    root_a = V @ torch.diag(lam.clamp(min=0).sqrt()) @ V.T  # Tr (Σa Σb)^1/2 = Tr (Σa^1/2 Σb Σa^1/2)^1/2
    trace_term = torch.linalg.eigvalsh(root_a @ cov_b @ root_a).clamp(min=0).sqrt().sum()
    d2 = (f_a.double().mean(0) - f_b.double().mean(0)).pow(2).sum() + cov_a.trace() + cov_b.trace() - 2 * trace_term
    assert metrics.frechet_distance(f_a, f_b) == pytest.approx(float(d2), rel=1e-4)
    assert metrics.frechet_classifier_distance(a, b, classifier) == pytest.approx(float(d2), rel=1e-4)
    g = torch.Generator().manual_seed(0)
    x = torch.randn(400, 3, generator=g, dtype=torch.float64)
    shifted = 2 * x + torch.tensor([1.0, 0.0, -2.0], dtype=torch.float64)  # same shape, scaled and shifted
    S = torch.cov(x.T)  # d^2 = |mu_a - mu_b|^2 + tr(S + 4S - 2 * 2S) = |shift + mean(x)|^2 + tr(S)
    expected = ((shifted.mean(0) - x.mean(0)) ** 2).sum() + S.trace()
    assert metrics.frechet_distance(x, shifted) == pytest.approx(float(expected), rel=1e-8)
    with pytest.raises(ValueError, match="3 and 2 features"):
        metrics.frechet_distance(x, x[:, :2])


# --------------------------------------------------------------------------- finite by construction
# Every public measure refuses NaN or inf in each input with one line that names the input (a NaN
# image once ended the process in MKL). The table that checks it, over the public functions of
# metrics and theory, is PUBLIC_API in tests/test_faults.py: a new public function must join it.


# --------------------------------------------------------------------------- the Inception Score


def test_inception_score_has_its_known_values_on_certain_labels():
    """Certain labels with class frequencies pi score exp(H(pi)): C for C classes used equally, 1 for one class."""
    assert metrics.inception_score(torch.eye(10)) == pytest.approx(10)
    assert metrics.inception_score(torch.eye(10)[torch.full((50,), 3)]) == pytest.approx(1)
    labels = torch.tensor([0] * 6 + [1] * 3 + [2] * 1)
    pi = torch.tensor([0.6, 0.3, 0.1], dtype=torch.float64)
    assert metrics.inception_score(torch.eye(3)[labels]) == pytest.approx(torch.exp(-(pi * pi.log()).sum()).item())
    assert metrics.inception_score(torch.full((7, 4), 0.25)) == pytest.approx(1)  # no sample tells its class


def test_inception_score_is_the_exponential_of_the_mean_kl_to_the_marginal():
    g = torch.Generator().manual_seed(0)
    p = torch.softmax(3 * torch.randn(200, 10, generator=g, dtype=torch.float64), dim=1)
    marginal = torch.distributions.Categorical(probs=p.mean(0))
    kl = torch.distributions.kl_divergence(torch.distributions.Categorical(probs=p), marginal)
    assert metrics.inception_score(p) == pytest.approx(kl.mean().exp().item(), rel=1e-12)
    assert 1 <= metrics.inception_score(p) <= 10
    assert metrics.inception_score(p.float()) == pytest.approx(metrics.inception_score(p), rel=1e-6)


@pytest.mark.parametrize(("bad", "says"), [
    (torch.full((4, 3), 0.5), "summing to 1"),
    (torch.tensor([[1.5, -0.5], [0.5, 0.5]]), "non-negative"),
    (torch.full((4,), 0.25), "shape"),
])  # fmt: skip
def test_inception_score_refuses_what_are_not_probabilities(bad, says):
    with pytest.raises(ValueError, match=says):
        metrics.inception_score(bad)


class _ByBrightness(nn.Module):
    """A stand-in classifier whose class is known: the mean pixel, cut into 10 bins of [-1, 1]."""

    def __init__(self):
        super().__init__()
        self.head = nn.Linear(1, 10)

    def logits(self, x):
        k = ((x.mean(dim=(1, 2, 3)) + 1) / 2 * 10).clamp(0, 9.999).floor().long()
        return F.one_hot(k, 10).float()


def test_class_frequencies_count_the_classifier_s_answers_in_any_batch_size():
    levels = torch.tensor([0, 0, 0, 3, 3, 9, 5])  # classes of 7 images
    x = (-1 + (levels.float() + 0.5) / 5).reshape(7, 1, 1, 1).expand(7, 1, 28, 28)
    want = torch.bincount(levels, minlength=10).double() / 7
    for batch_size in (1, 3, 7, 1000):
        shares = metrics.class_frequencies(_ByBrightness(), x, batch_size=batch_size)
        assert shares.dtype == torch.float64 and torch.equal(shares, want)
    # the course's classifier: shares sum to 1 and agree with its argmax
    classifier = metrics.FeatureClassifier(num_features=4, width=2).eval()
    images = torch.rand(50, 1, 28, 28) * 2 - 1
    shares = metrics.class_frequencies(classifier, images, batch_size=16)
    assert shares.sum().item() == pytest.approx(1.0)
    with torch.no_grad():
        assert torch.equal(shares, torch.bincount(classifier.logits(images).argmax(1), minlength=10).double() / 50)
    with pytest.raises(ValueError, match=r"x must hold images of shape \(N, 1, 28, 28\), N >= 1"):
        metrics.class_frequencies(classifier, images[:0])


def test_the_auc_is_the_share_of_pairs_that_the_scores_order_rightly_with_ties_counting_half():
    positive, negative = torch.tensor([0.9, 0.4, 0.4, 0.1]), torch.tensor([0.4, 0.2, 0.0])
    pairs = [(p > n) + 0.5 * (p == n) for p in positive.tolist() for n in negative.tolist()]
    assert metrics.auc(positive, negative) == pytest.approx(sum(pairs) / len(pairs))  # 8.5 of 12
    assert metrics.auc([3.0, 4.0], [1.0, 2.0]) == 1 and metrics.auc([1.0, 2.0], [3.0, 4.0]) == 0
    assert metrics.auc([1.0, 1.0], [1.0]) == 0.5
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(3_000, generator=g), torch.randn(2_000, generator=g) + 1.0  # Pr[N(0,1) > N(1,1)] = Phi(-1/sqrt 2)
    assert metrics.auc(a, b) == pytest.approx(0.5 * math.erfc(0.5), abs=0.02)


def test_the_membership_attack_calls_the_top_half_members_and_restores_the_mode():
    class Brightness(nn.Module):  # a stand-in discriminator: the mean pixel is its score
        def __init__(self):
            super().__init__()
            self.scale = nn.Parameter(torch.ones(()))
            self.modes = []

        def forward(self, x):
            self.modes.append(self.training)
            return self.scale * x.mean(dim=(1, 2, 3))

    levels = torch.tensor([0.9, 0.8, 0.2, 0.7]), torch.tensor([0.6, 0.1, 0.0, 0.3])  # members, non-members
    members, non_members = (v.reshape(4, 1, 1, 1).expand(4, 1, 28, 28) for v in levels)
    D = Brightness().train()
    result = metrics.membership_attack(D, members, non_members, batch_size=3)
    # the top four of all eight scores: 0.9, 0.8, 0.7 (members) and 0.6 (a non-member): 6 of 8 right
    assert result.accuracy == pytest.approx(6 / 8)
    assert result.auc == pytest.approx(metrics.auc(levels[0], levels[1])) and result.auc == pytest.approx(14 / 16)
    assert torch.allclose(result.member_scores, levels[0]) and D.training and not any(D.modes)
    assert metrics.membership_attack(D, members, members).auc == 0.5  # the same images: no signal
    with pytest.raises(ValueError, match="members and non_members must hold the same number"):
        metrics.membership_attack(D, members, non_members[:3])
