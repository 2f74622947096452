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


def test_the_seed_knob_shifts_every_chapter_seed_by_whole_thousands(monkeypatch):
    monkeypatch.delenv("GANCOURSE_SEED", raising=False)
    assert [budget.seed(k) for k in range(3)] == [0, 1, 2]
    monkeypatch.setenv("GANCOURSE_SEED", "2")
    assert [budget.seed(k) for k in range(3)] == [2_000, 2_001, 2_002]  # never another offset's seeds
    monkeypatch.setenv("GANCOURSE_SEED", "-1")
    with pytest.raises(ValueError, match="GANCOURSE_SEED='-1' is not a seed"):
        budget.seed()


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


def test_cpu_threads_default_to_the_chapters_choice_and_follow_the_environment(monkeypatch):
    before = torch.get_num_threads()
    try:
        monkeypatch.delenv("GANCOURSE_THREADS", raising=False)
        assert device.set_cpu_threads(1) == 1 and torch.get_num_threads() == 1
        monkeypatch.setenv("GANCOURSE_THREADS", "2")
        assert device.set_cpu_threads(1) == 2 and torch.get_num_threads() == 2
        monkeypatch.setenv("GANCOURSE_THREADS", "two")
        with pytest.raises(ValueError, match="GANCOURSE_THREADS='two' is not a number of threads"):
            device.set_cpu_threads()
    finally:
        torch.set_num_threads(before)
