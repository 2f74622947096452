"""The budget knob and device selection."""

import pytest
import torch

from gancourse import budget, device


def test_budget_defaults_to_book_and_reads_the_environment(monkeypatch):
    monkeypatch.delenv("GANCOURSE_BUDGET", raising=False)
    assert budget.current() == "book"
    assert budget.choose(smoke=1, book=2, full=3) == 2
    monkeypatch.setenv("GANCOURSE_BUDGET", "smoke")
    assert budget.choose(smoke=1, book=2, full=3) == 1
    monkeypatch.setenv("GANCOURSE_BUDGET", " FULL ")
    assert budget.choose(smoke=1, book=2, full=3) == 3
    assert budget.choose(smoke=1, book=2, full=3, budget="smoke") == 1


def test_unknown_budget_is_refused(monkeypatch):
    monkeypatch.setenv("GANCOURSE_BUDGET", "huge")
    with pytest.raises(ValueError, match="GANCOURSE_BUDGET='huge' is not a budget; set it to one of smoke, book, full"):
        budget.current()


def test_device_override_and_automatic_choice(monkeypatch):
    monkeypatch.delenv("GANCOURSE_DEVICE", raising=False)
    assert device.default_device("cpu") == torch.device("cpu")
    auto = device.default_device()
    assert auto.type in {"cpu", "cuda", "mps", "xpu", "hpu", "mtia"}
    if not torch.cuda.is_available():
        assert auto.type != "cuda"
    monkeypatch.setenv("GANCOURSE_DEVICE", "cpu")
    assert device.default_device() == torch.device("cpu")


def test_unavailable_or_unknown_device_is_refused(monkeypatch):
    with pytest.raises(ValueError, match="not a device name"):
        device.default_device("gpu-please")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="not available here; use 'cpu'"):
            device.default_device("cuda:3")
