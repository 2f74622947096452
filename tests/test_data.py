"""The course's data: toy mixtures with the published geometry, images in [-1, 1]."""

import gzip
import math
import zlib

import pytest
import torch

from gancourse import data


def test_ring_has_8_distinct_centres_on_the_unit_circle():
    mix = data.ring()
    assert mix.centers.shape == (8, 2) and mix.std == 0.01
    assert torch.allclose(mix.centers.norm(dim=1), torch.ones(8))
    gaps = torch.cdist(mix.centers, mix.centers) + torch.eye(8) * 10
    # neighbours are 2 sin(pi/8) = 0.765 apart; linspace(0, 2pi, 8) would repeat a centre (gap 0)
    assert gaps.min().item() == pytest.approx(2 * math.sin(math.pi / 8), abs=1e-6)


def test_grid_has_25_centres_on_the_pacgan_lattice():
    mix = data.grid()
    assert mix.centers.shape == (25, 2) and mix.std == 0.05
    assert sorted(set(mix.centers[:, 0].tolist())) == [-4.0, -2.0, 0.0, 2.0, 4.0]
    assert len({tuple(c) for c in mix.centers.tolist()}) == 25


def test_mixture_samples_sit_on_their_modes():
    mix = data.ring()
    x = mix.sample(20_000, seed=0)
    nearest = torch.cdist(x, mix.centers).min(dim=1)
    assert nearest.values.std().item() < 3 * mix.std
    counts = torch.bincount(nearest.indices, minlength=8).float()
    assert (counts / 20_000 - 1 / 8).abs().max() < 0.015  # equal weights
    assert torch.equal(mix.sample(5, seed=1), mix.sample(5, seed=1))


def test_gaussians_have_the_requested_moments():
    g = data.gaussian_2d()
    x = g.sample(200_000, seed=0)
    assert torch.allclose(x.mean(0), g.mean, atol=0.01)
    assert torch.allclose(torch.cov(x.T), g.cov, atol=0.01)
    one = data.gaussian_1d(1.0, 2.0).sample(200_000, seed=0)
    assert one.shape == (200_000, 1)
    assert one.mean().item() == pytest.approx(1.0, abs=0.02) and one.std().item() == pytest.approx(2.0, abs=0.02)
    with pytest.raises(ValueError, match="sigma must be positive"):
        data.gaussian_1d(0.0, 0.0)
    with pytest.raises(ValueError, match="positive-definite"):
        data.gaussian_2d(cov=((1.0, 2.0), (2.0, 1.0)))


def write_idx(folder, train: bool, pixels: torch.Tensor, labels: torch.Tensor, gz: bool = True):
    """Tiny fake IDX files in the MNIST format (no network, as torchvision's tests do)."""
    stem_x, stem_y = ("train", "train") if train else ("t10k", "t10k")
    n = pixels.shape[0]
    x_bytes = b"\x00\x00\x08\x03" + b"".join(v.to_bytes(4, "big") for v in (n, 28, 28)) + pixels.numpy().tobytes()
    y_bytes = b"\x00\x00\x08\x01" + n.to_bytes(4, "big") + labels.numpy().tobytes()
    opener, suffix = (gzip.open, ".gz") if gz else (open, "")
    with opener(folder / f"{stem_x}-images-idx3-ubyte{suffix}", "wb") as f:
        f.write(x_bytes)
    with opener(folder / f"{stem_y}-labels-idx1-ubyte{suffix}", "wb") as f:
        f.write(y_bytes)
    return x_bytes


@pytest.mark.parametrize("gz", [True, False])
def test_image_loader_scales_to_minus_one_one(tmp_path, gz):
    pixels = torch.randint(0, 256, (5, 28, 28), dtype=torch.uint8)
    pixels[0, 0, 0], pixels[0, 0, 1] = 0, 255
    labels = torch.tensor([3, 1, 4, 1, 5], dtype=torch.uint8)
    write_idx(tmp_path, False, pixels, labels, gz)
    x, y = data.fashion_mnist(train=False, root=tmp_path, labels=True)
    assert x.shape == (5, 1, 28, 28) and x.dtype == torch.float32
    assert x.min().item() == -1.0 and x.max().item() == 1.0
    assert torch.allclose(x[:, 0], pixels.float() / 127.5 - 1)
    assert y.tolist() == [3, 1, 4, 1, 5]
    assert data.fashion_mnist(train=False, root=tmp_path, limit=2).shape == (2, 1, 28, 28)


def test_truncated_image_file_is_reported(tmp_path):
    pixels = torch.zeros(3, 28, 28, dtype=torch.uint8)
    x_bytes = write_idx(tmp_path, True, pixels, torch.zeros(3, dtype=torch.uint8), gz=False)
    (tmp_path / "train-images-idx3-ubyte").write_bytes(x_bytes[:-100])
    with pytest.raises(ValueError, match="truncated or corrupt"):
        data.fashion_mnist(root=tmp_path)


def test_a_gz_file_with_a_damaged_block_is_named(tmp_path):
    pixels = torch.randint(0, 8, (40, 28, 28), generator=torch.Generator().manual_seed(0), dtype=torch.uint8)
    write_idx(tmp_path, True, pixels, torch.zeros(40, dtype=torch.uint8), gz=True)  # Huffman-coded blocks
    path = tmp_path / "train-images-idx3-ubyte.gz"
    raw = bytearray(path.read_bytes())
    raw[len(raw) // 3 : len(raw) // 3 + 16] = b"\xab" * 16  # garbage inside the deflate stream
    path.write_bytes(bytes(raw))
    with pytest.raises(zlib.error):  # what the damage does: zlib's own error, which names no file
        gzip.decompress(bytes(raw))
    with pytest.raises(ValueError, match=r"train-images-idx3-ubyte.gz could not be read \(.*\); delete it and fetch it again"):
        data.fashion_mnist(root=tmp_path)


def test_missing_data_offline_says_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setattr(data, "DEBIAN_FASHION_MNIST", tmp_path / "not-installed")
    with pytest.raises(FileNotFoundError, match="apt-get install dataset-fashion-mnist.*download=True"):
        data.fashion_mnist(root=tmp_path)
    with pytest.raises(FileNotFoundError, match="download=True"):
        data.mnist(root=tmp_path)


def test_real_fashion_mnist_from_the_debian_package():
    # CI installs Debian's dataset-fashion-mnist; on Colab torchvision downloads it instead.
    x, y = data.fashion_mnist(train=True, labels=True)
    assert x.shape == (60_000, 1, 28, 28)
    assert x.min().item() == -1.0 and x.max().item() == 1.0
    assert torch.bincount(y).tolist() == [6_000] * 10
    assert data.fashion_mnist(train=False).shape == (10_000, 1, 28, 28)


def test_mixture_density_integrates_to_one_and_matches_its_components():
    from gancourse import theory

    one_d = data.GaussianMixture(torch.tensor([[-2.0], [2.0]]), 0.75)
    x = torch.linspace(-10, 10, 20_001, dtype=torch.float64)
    p = one_d.pdf(x)
    assert (p.sum() * (x[1] - x[0])).item() == pytest.approx(1.0, abs=1e-9)
    expected = 0.5 * (theory.gaussian_pdf(x, -2.0, 0.75) + theory.gaussian_pdf(x, 2.0, 0.75))
    assert torch.allclose(p, expected)
    mix = data.ring()  # 2-D: at a centre, one component dominates: 1 / (8 * 2 pi sigma^2)
    assert mix.pdf(mix.centers[:1]).item() == pytest.approx(1 / (8 * 2 * math.pi * 0.01**2), rel=1e-6)


def test_an_empirical_distribution_draws_its_own_points():
    points = torch.arange(10.0).reshape(5, 2)
    x = data.Empirical(points).sample(200, seed=0)
    assert x.shape == (200, 2)
    assert all((row == points).all(dim=1).any() for row in x)  # every draw is one of the points
    assert len({tuple(row.tolist()) for row in x}) == 5  # and all of them are drawn
    assert torch.equal(x, data.Empirical(points).sample(200, seed=0))


def test_gancourse_data_says_found_only_when_both_splits_are_complete(tmp_path, capsys, monkeypatch):
    from gancourse.__main__ import main

    monkeypatch.setattr(data, "DEBIAN_FASHION_MNIST", tmp_path / "not-installed")
    monkeypatch.setenv(data.DATA_ENV_VAR, str(tmp_path))
    write_idx(tmp_path, False, torch.zeros(10_000, 28, 28, dtype=torch.uint8), torch.zeros(10_000, dtype=torch.uint8))
    write_idx(tmp_path, True, torch.zeros(3, 28, 28, dtype=torch.uint8), torch.zeros(3, dtype=torch.uint8))
    assert main(["data"]) == 2  # a train split of 3 images, its header consistent
    err = capsys.readouterr().err
    assert err == (f"error: Fashion-MNIST's train split in {tmp_path} holds 3 images, not 60,000: "
                   "the files are incomplete; delete them and fetch them again.\n")  # fmt: skip
    x_bytes = write_idx(tmp_path, True, torch.zeros(3, 28, 28, dtype=torch.uint8), torch.zeros(3, dtype=torch.uint8), gz=False)
    (tmp_path / "train-images-idx3-ubyte.gz").unlink()
    (tmp_path / "train-images-idx3-ubyte").write_bytes(x_bytes[:-100])  # cut short
    assert main(["data"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "is truncated or corrupt" in err and err.count("\n") == 1


def test_a_download_that_gets_no_answer_stops_with_one_clear_line(tmp_path, monkeypatch):
    """A server (or proxy) that accepts the connection and never answers: no hang."""
    import signal
    import socket
    import threading
    import time

    import torchvision

    server = socket.create_server(("127.0.0.1", 0))
    accepted = []
    threading.Thread(target=lambda: accepted.append(server.accept()), daemon=True).start()
    monkeypatch.setattr(torchvision.datasets.FashionMNIST, "mirrors", [f"http://127.0.0.1:{server.getsockname()[1]}/"])
    monkeypatch.setattr(data, "DEBIAN_FASHION_MNIST", tmp_path / "not-installed")
    monkeypatch.setenv(data.TIMEOUT_ENV_VAR, "1")
    def hung(signum, frame):
        raise RuntimeError("still waiting after 20 s")

    previous = signal.signal(signal.SIGALRM, hung)  # a bound on this test, should the timeout not work
    signal.alarm(20)
    start = time.perf_counter()
    try:
        with pytest.raises(FileNotFoundError) as failed:
            data.fashion_mnist(root=tmp_path, download=True)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
        server.close()
    message = str(failed.value)
    assert time.perf_counter() - start < 10 and accepted  # it connected, waited 1 s, gave up
    assert "could not be downloaded" in message and "no answer from the server within 1 s" in message
    assert "\n" not in message and socket.getdefaulttimeout() is None
    monkeypatch.setenv(data.TIMEOUT_ENV_VAR, "soon")
    with pytest.raises(ValueError, match="GANCOURSE_DOWNLOAD_TIMEOUT='soon' is not a number of seconds"):
        data.fashion_mnist(root=tmp_path, download=True)


def test_a_reweighted_mixture_draws_its_modes_with_their_weights_and_its_density_follows():
    ring = data.ring()
    weights = torch.tensor([0.03, 0.47, 0.0, 0.1, 0.1, 0.1, 0.1, 0.1])
    skewed = ring.reweighted(weights)
    x = skewed.sample(200_000, seed=0)
    share = torch.bincount(torch.cdist(x, ring.centers).argmin(dim=1), minlength=8) / len(x)
    assert torch.allclose(share, weights, atol=0.004)  # binomial sd <= 0.0012
    assert share[2] == 0  # a mode of weight 0 is never drawn
    assert torch.equal(skewed.sample(50, seed=3), skewed.sample(50, seed=3))
    # the density is the weighted sum of the components; the equal weights give the mixture as before
    points = torch.randn(30, 2, dtype=torch.float64)
    parts = torch.stack([data.GaussianMixture(ring.centers[k : k + 1], ring.std).pdf(points) for k in range(8)], dim=1)
    assert torch.allclose(skewed.pdf(points), parts @ weights.double(), rtol=1e-9, atol=0)
    assert torch.allclose(ring.reweighted(torch.full((8,), 1 / 8)).pdf(points), ring.pdf(points), rtol=1e-6, atol=0)
    assert torch.equal(ring.sample(100, seed=1), data.ring().sample(100, seed=1))  # no weights: the draws of before


@pytest.mark.parametrize("weights", [[0.5, 0.5], [0.2] * 8, [-0.1, 0.3, 0.1, 0.1, 0.1, 0.2, 0.2, 0.1], [math.nan] + [1 / 7] * 7])
def test_weights_that_are_not_a_distribution_over_the_modes_are_refused(weights):
    with pytest.raises(ValueError, match="weights must be 8 non-negative numbers summing to 1"):
        data.ring().reweighted(weights)


def test_the_log_density_is_the_log_of_the_density_and_stays_finite_far_from_every_mode():
    ring = data.ring().reweighted(torch.tensor([0.3, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1]))
    near = ring.sample(1_000, seed=0)
    assert torch.allclose(ring.log_pdf(near), ring.pdf(near).log(), rtol=0, atol=1e-9)
    one = data.GaussianMixture(torch.zeros(1, 2), 0.01)
    far = torch.tensor([[1.0, 0.0]], dtype=torch.float64)  # pdf rounds to 0 here
    assert one.pdf(far).item() == 0
    assert one.log_pdf(far).item() == pytest.approx(-0.5 / 0.01**2 - math.log(2 * math.pi * 0.01**2), rel=1e-12)
