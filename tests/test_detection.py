"""Fake detection (gancourse.metrics.detection): a detector is at chance between two sets from one
distribution, near certain between two that differ plainly, and its accuracy is balanced."""

import pytest
import torch

from gancourse import data, metrics
from gancourse.metrics import detection


@pytest.fixture(scope="module")
def images():
    return data.fashion_mnist(limit=4_000), data.fashion_mnist(train=False, limit=2_000)


def test_real_against_real_is_a_coin_toss(images):
    x_train, x_test = images
    detector = metrics.train_detector(x_train[:2_000], x_train[2_000:4_000], steps=300, seed=0, device="cpu")
    accuracy = metrics.detection_accuracy(detector, x_test[:1_000], x_test[1_000:])
    assert 0.45 < accuracy < 0.55  # 1,000 images a side: chance, within about 3 standard errors


def test_a_plain_difference_is_caught(images):
    """Real images against the same images with their brightness halved: easy to tell apart."""
    x_train, x_test = images
    darker = lambda x: (x + 1) / 2 - 1  # noqa: E731 - [-1, 1] onto [-1, 0]
    detector = metrics.train_detector(x_train[:2_000], darker(x_train[2_000:4_000]), steps=300, seed=0, device="cpu")
    assert metrics.detection_accuracy(detector, x_test[:1_000], darker(x_test[1_000:])) > 0.95


def test_the_accuracy_is_balanced_whatever_the_sizes(images):
    """A detector that calls everything real scores 1/2, however many real images there are."""
    _, x_test = images
    always_real = metrics.FeatureClassifier(num_classes=2)
    with torch.no_grad():
        always_real.head.weight.zero_()
        always_real.head.bias.copy_(torch.tensor([1.0, -1.0]))  # class 0, real
    for n_real in (100, 1_500):
        assert metrics.detection_accuracy(always_real, x_test[:n_real], x_test[1_500:1_600]) == 0.5
    assert detection.REAL == 0 and detection.GENERATED == 1


def test_bad_input_is_refused_with_one_line(images):
    x_train, _ = images
    with pytest.raises(ValueError, match="the same number of images, got 100 and 50"):
        metrics.train_detector(x_train[:100], x_train[100:150], steps=1)
    with pytest.raises(ValueError, match=r"generated must have shape \(N, 1, 28, 28\)"):
        metrics.train_detector(x_train[:100], torch.zeros(100, 784), steps=1)
    with pytest.raises(ValueError, match="steps"):
        metrics.train_detector(x_train[:100], x_train[100:200], steps=0)
