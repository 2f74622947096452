"""Faults injected into real command-line runs: kill -9, Ctrl-C, damaged checkpoints, bad configs, a full disk;
and nonsense given to the library: NaN and inf, wrong shapes, counts that are not counts, a damaged reference.

The runs are ``python -m gancourse train`` processes on a small ring GAN, so that what is
killed or interrupted is a real process writing real files. One thread each: resumed runs
are compared bit for bit with an uninterrupted one.
"""

import inspect
import json
import math
import os
import random
import signal
import subprocess
import sys
import time

import pytest
import torch
from torch import nn

from gancourse import checkpoint, metrics, reference, theory
from gancourse.__main__ import main
from gancourse.checkpoint import load_checkpoint

SMALL_RUN = 'preset = "ring"\nhidden = 32\nsteps = 1500\n\n[train]\nbatch_size = 64\nseed = 5\n'
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "GANCOURSE_DEVICE": "cpu", "PYTHONDONTWRITEBYTECODE": "1"}


@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    """The small run's TOML file, and the history and generator of one uninterrupted run."""
    folder = tmp_path_factory.mktemp("faults")
    config = folder / "small.toml"
    config.write_text(SMALL_RUN)
    out = folder / "whole"
    subprocess.run(train_command(config, out, "--checkpoint-every", "0"), env=ENV, check=True, capture_output=True)
    return config, json.loads((out / "history.json").read_text()), load_checkpoint(out / "checkpoint.pt")["G"]


def train_command(config, out, *extra) -> list[str]:
    return [sys.executable, "-m", "gancourse", "train", "--config", str(config), "--out", str(out), "--no-progress", *extra]


def assert_same_run(out, history, G):
    assert json.loads((out / "history.json").read_text()) == history
    resumed = load_checkpoint(out / "checkpoint.pt")["G"]
    assert all(torch.equal(resumed[key], G[key]) for key in G)


def checkpoint_version(out) -> int:
    try:
        return (out / "checkpoint.pt").stat().st_mtime_ns
    except FileNotFoundError:
        return 0


def wait_for(condition, seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "gave up waiting"
        time.sleep(0.01)


def test_kill_9_at_ten_random_points_then_resume_is_bit_identical(tmp_path, small_run):
    """Each process is killed at a random moment after it wrote a checkpoint (one per step,
    so some kills land mid-write); the next one resumes. The last one finishes the run."""
    config, history, G = small_run
    out, rng = tmp_path / "killed", random.Random(13)
    for kill in range(10):
        resume = ["--resume"] if kill else []
        before = checkpoint_version(out)
        process = subprocess.Popen(train_command(config, out, "--checkpoint-every", "1", *resume), env=ENV,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # fmt: skip
        wait_for(lambda: checkpoint_version(out) != before or process.poll() is not None)  # noqa: B023
        time.sleep(rng.uniform(0.0, 0.2))
        assert process.poll() is None, process.stderr.read().decode()  # still training when killed
        process.send_signal(signal.SIGKILL)
        process.communicate()
    step = load_checkpoint(out / "checkpoint.pt")["step"]
    assert 10 <= step < 1500
    done = subprocess.run(train_command(config, out, "--resume", "--checkpoint-every", "0"), env=ENV, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert_same_run(out, history, G)
    assert [p.name for p in out.iterdir() if p.name.endswith(".tmp")] == []  # leftovers of killed writes cleared


def test_ctrl_c_saves_the_step_reached_and_the_run_resumes_exactly(tmp_path, small_run):
    config, history, G = small_run
    out = tmp_path / "interrupted"
    process = subprocess.Popen(train_command(config, out, "--checkpoint-every", "500"), env=ENV,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)  # fmt: skip
    wait_for(lambda: checkpoint_version(out) != 0)  # training is under way: step 500 is saved
    time.sleep(random.Random(7).uniform(0.05, 0.2))
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    step = load_checkpoint(out / "checkpoint.pt")["step"]
    assert 500 < step < 1500 and step % 500, step  # the step reached, not the last periodic checkpoint
    assert err == f"interrupted. The last checkpoint, at step {step}, is {out / 'checkpoint.pt'}: add --resume to the same command to continue from it.\n"
    done = subprocess.run(train_command(config, out, "--resume"), env=ENV, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert_same_run(out, history, G)


def test_ctrl_c_in_the_first_seconds_is_one_line_and_exit_code_130(tmp_path, small_run):
    """SIGINT inside an import (torch, matplotlib) once gave a 30 to 60-line traceback, exit 0, 1 or 2, or a segfault."""
    config, _, _ = small_run
    rng = random.Random(11)
    for i, delay in enumerate([0.2, 0.25, 0.3, 0.32, 0.35, 0.45, 0.6, 0.8, 1.0] + [rng.uniform(0.2, 2.0) for _ in range(5)]):
        out = tmp_path / f"early{i}"
        process = subprocess.Popen(train_command(config, out), env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)  # fmt: skip
        time.sleep(delay)
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=60)
        assert process.returncode == 130, (delay, err)
        assert err.startswith("interrupted. ") and err.count("\n") == 1, (delay, err)


def test_the_command_line_names_the_checkpoint_as_the_loop_does():
    from gancourse import __main__, train

    assert __main__.CHECKPOINT_NAME == train.CHECKPOINT_NAME


def test_a_full_disk_during_a_checkpoint_write_is_one_line_and_keeps_the_last_checkpoint(tmp_path, small_run):
    config, _, _ = small_run
    out = tmp_path / "full"
    assert main(["train", "--config", str(config), "--out", str(out), "--steps", "20", "--no-progress"]) == 0
    before = (out / "checkpoint.pt").read_bytes()
    limit = 16_000  # bytes per file: config.json fits, a checkpoint (about 60 kB) does not
    child = (
        "import resource, signal, sys; signal.signal(signal.SIGXFSZ, signal.SIG_IGN); "
        f"resource.setrlimit(resource.RLIMIT_FSIZE, ({limit}, {limit})); "
        "from gancourse.__main__ import main; sys.exit(main(sys.argv[1:]))"
    )
    command = [sys.executable, "-c", child, *train_command(config, out, "--steps", "40", "--resume")[3:]]
    done = subprocess.run(command, env=ENV, capture_output=True, text=True)
    assert done.returncode == 2
    assert done.stderr == (f"error: cannot write {out / 'checkpoint.pt'}: File too large; "
                           "check that the folder is writable and the disk has room.\n")  # fmt: skip
    assert (out / "checkpoint.pt").read_bytes() == before and load_checkpoint(out / "checkpoint.pt")["step"] == 20
    assert [p.name for p in out.iterdir() if p.name.endswith(".tmp")] == []


def test_every_flipped_byte_of_a_checkpoint_is_refused_with_the_same_line(tmp_path, capsys, small_run):
    config, _, _ = small_run
    out = tmp_path / "fuzz"
    argv = ["train", "--config", str(config), "--out", str(out), "--no-progress"]
    assert main([*argv, "--steps", "5"]) == 0
    path = out / "checkpoint.pt"
    good = path.read_bytes()
    rng = random.Random(3)
    positions = [round(i * (len(good) - 1) / 39) for i in range(40)] + rng.sample(range(len(good)), 10)
    capsys.readouterr()
    errors = set()
    for position in positions:
        damaged = bytearray(good)
        damaged[position] ^= 1 << rng.randrange(8)
        path.write_bytes(bytes(damaged))
        assert main([*argv, "--steps", "10", "--resume"]) == 2
        errors.add(capsys.readouterr().err)
    assert errors == {
        f"error: {path} is truncated or corrupt, or not a gancourse checkpoint (its checksum or contents "
        "do not match); delete it to start afresh, or restore an earlier copy.\n"
    }
    path.write_bytes(good)
    assert main([*argv, "--steps", "10", "--resume"]) == 0


# Settings of a run and values of each: valid ones (any mix trains), invalid ones (each refused).
SETTINGS = {
    "dataset": (["ring", "grid", "gaussian"], ["cifar", 3]),
    "hidden": ([8, 16], ["wide", 2.5, 0, True]),
    "depth": ([1, 2], [0, "x", False]),
    "z_dim": ([2, 3], [2.5, "2", -1]),
    "pack": ([1, 2], ["two", 0]),
    "maxout": ([0, 2], [-1, 2.5]),
    "init_std": ([0.02, 0.1], [-1.0, "x"]),
    "steps": ([1], ["ten", True, 0, 1.5]),
    "train.loss": (["nonsaturating", "minimax", "wgan", "wgan-gp"], ["hinge", 5]),
    "train.lr_d": ([1e-3, 2e-4], ["fast", -1.0, True, 0]),
    "train.betas": ([[0.5, 0.999], [0.0, 0.9]], [[0.5], [1.5, 0.9], "x", [0.5, "a"]]),
    "train.batch_size": ([16, 32], [0, 12.5, True, "64"]),
    "train.k": ([1, 2], [0, "2", 1.5]),
    "train.seed": ([0, 7], [1.5, "x"]),
    "train.progress": ([False], ["no", 1]),
}


def random_config(rng: random.Random) -> tuple[dict, str | None]:
    """Valid values for every setting and, half of the time, one invalid value; the name of that setting."""
    chosen = {key: rng.choice(valid) for key, (valid, _) in SETTINGS.items()}
    wrong = rng.choice(list(SETTINGS)) if rng.random() < 0.5 else None
    if wrong is not None:
        chosen[wrong] = rng.choice(SETTINGS[wrong][1])
    return chosen, wrong


def as_toml(settings: dict) -> str:
    top = [f"{key} = {json.dumps(value)}" for key, value in settings.items() if not key.startswith("train.")]
    table = [f"{key[6:]} = {json.dumps(value)}" for key, value in settings.items() if key.startswith("train.")]
    return "\n".join([*top, "", "[train]", *table]) + "\n"


def test_random_configs_train_a_step_or_get_one_line_naming_the_setting(tmp_path, capsys):
    rng = random.Random(2026)
    outcomes = {"trained": 0, "refused": 0}
    for case in range(40):
        settings, wrong = random_config(rng)
        config = tmp_path / f"case{case}.toml"
        config.write_text(as_toml(settings))
        code = main(["train", "--config", str(config), "--out", str(tmp_path / f"case{case}")])
        out, err = capsys.readouterr()
        if wrong is None:
            assert code == 0 and "trained 1 steps" in out, (settings, err)
            outcomes["trained"] += 1
        else:
            assert code == 2 and err.startswith("error: ") and err.count("\n") == 1, (settings, err)
            assert wrong.split(".")[-1] in err and "Traceback" not in err, (wrong, err)
            assert not (tmp_path / f"case{case}").exists()  # refused before anything was written
            outcomes["refused"] += 1
    assert min(outcomes.values()) >= 10, outcomes


# --------------------------------------------------------------------------- nonsense given to the library
# theory and metrics once answered each call below with a number (or a raw error that names no
# argument); now each is one ValueError line that names the argument and says what is expected.

GRID = torch.linspace(-5, 5, 1001, dtype=torch.float64)  # spacing 0.01
N_0_1, N_1_1 = theory.gaussian_pdf(GRID, 0.0, 1.0), theory.gaussian_pdf(GRID, 1.0, 1.0)


def _points(n: int, seed: int = 0) -> torch.Tensor:
    return torch.randn(n, 2, generator=torch.Generator().manual_seed(seed))


def _images(n: int, seed: int = 0) -> torch.Tensor:
    return torch.rand(n, 1, 28, 28, generator=torch.Generator().manual_seed(seed)) * 2 - 1


def _tiny_classifier() -> metrics.FeatureClassifier:
    return metrics.FeatureClassifier(num_features=4, width=2).eval()


class _Flat(nn.Module):  # a stand-in feature network for inception_fid: never the real one
    num_features = 4

    def forward(self, x):
        return x.flatten(1)[:, :4]


def _t(values) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.float64)


NO_LABELS = torch.zeros(8, dtype=torch.long)

# what was once answered -> (the call, the start of the one-line refusal)
NONSENSE = {
    "wasserstein_1d of shapes (1001,) and (1,) (once 4.96)":
        (lambda: theory.wasserstein_1d(N_0_1, [1.0], 0.01), r"p and q must have the same shape \(values on one grid\), got \(1001,\) and \(1,\)"),
    "wasserstein_1d of a negative density (once 9.02)":
        (lambda: theory.wasserstein_1d(N_0_1, -N_1_1, 0.01), "q must be a density, finite and >= 0 everywhere; it has a negative value"),
    "wasserstein_1d of 2-D arrays (once 1.33)":
        (lambda: theory.wasserstein_1d(torch.eye(3) / 3, torch.eye(3).flip(0) / 3), r"p and q must be 1-D \(densities on a line\), got shape \(3, 3\)"),
    "value_function with D = 1.5 (once NaN)":
        (lambda: theory.value_function([0.5, 0.5], [0.5, 0.5], [1.5, 0.5]), r"D must be probabilities in \[0, 1\]"),
    "value_function with D of shape (1,) (once broadcast, -1.56)":
        (lambda: theory.value_function([0.5, 0.5], [0.5, 0.5], [0.3]), r"D must have the shape of p_data and p_g, \(2,\), got \(1,\)"),
    "optimal_discriminator of an infinite density (once NaN)":
        (lambda: theory.optimal_discriminator([math.inf, 0.5], [0.5, 0.5]), "p_data must be a density, finite and >= 0 everywhere; it has an infinite value"),
    "bce(1.5, 1) (once -0.405)": (lambda: theory.bce(1.5, 1), r"y_hat must be probabilities in \[0, 1\]"),
    "bce(0.5, 2) (once 0.693)": (lambda: theory.bce(0.5, 2), r"y must be labels in \[0, 1\]"),
    "empirical_value of no outputs (once NaN)": (lambda: theory.empirical_value([], [0.5]), "D_x must hold at least one output of D"),
    "empirical_value with D_x = 1.5 (once -0.288)": (lambda: theory.empirical_value([1.5], [0.5]), r"D_x must be probabilities in \[0, 1\]"),
    "gaussian_pdf with sigma = -1 (once a density of -0.399)":
        (lambda: theory.gaussian_pdf(0.0, 0.0, -1.0), r"sigma must be positive and finite \(a standard deviation\); got -1.0"),
    "gaussian_pdf with sigma = 0 (once NaN)": (lambda: theory.gaussian_pdf(0.0, 0.0, 0.0), "sigma must be positive and finite"),
    "wasserstein_1d with dx = 0 (once 0)": (lambda: theory.wasserstein_1d(N_0_1, N_1_1, 0.0), r"dx must be positive and finite \(the grid's spacing\); got 0.0"),
    "kantorovich_potential_1d on a grid from -inf (once -inf)":
        (lambda: theory.kantorovich_potential_1d([0.5, 0.5, 0.0], [0.0, 0.5, 0.5], [-math.inf, 1.0, 2.0]), "x must be finite; it has an infinite value"),
    "sinkhorn_w1 with iters = 0 (once 6e-10 for sets 3 apart)":
        (lambda: metrics.sinkhorn_w1(_points(50), _points(50) + 3, iters=0), "iters must be a positive integer, got 0"),
    "sinkhorn_w1 with iters = True (once 1.83)": (lambda: metrics.sinkhorn_w1(_points(50), _points(50) + 3, iters=True), "iters must be a positive integer, got True"),
    "sinkhorn_w1 with eps = 0 (once NaN)": (lambda: metrics.sinkhorn_w1(_points(50), _points(50) + 3, eps=0), "eps must be a positive number, got 0"),
    "sinkhorn_w1 with eps = -0.01 (once 4.70)": (lambda: metrics.sinkhorn_w1(_points(50), _points(50) + 3, eps=-0.01), "eps must be a positive number, got -0.01"),
    "precision_recall with k = True (once run as k = 1)":
        (lambda: metrics.precision_recall(_points(50), _points(50, 1), k=True), r"k must be an integer in 1 \.\. 49 .*, got True"),
    "precision_recall with batch_size = 0 (once 'range() arg 3 must not be zero')":
        (lambda: metrics.precision_recall(_points(50), _points(50, 1), batch_size=0), "batch_size must be a positive integer, got 0"),
    "precision_recall with batch_size = -1 (once 'torch.cat(): expected a non-empty list of Tensors')":
        (lambda: metrics.precision_recall(_points(50), _points(50, 1), batch_size=-1), "batch_size must be a positive integer, got -1"),
    "density_coverage with k = True (once run as k = 1)":
        (lambda: metrics.density_coverage(_points(50), _points(50, 1), k=True), r"k must be an integer in 1 \.\. 49 .*, got True"),
    "density_coverage with batch_size = 0 (once 'range() arg 3 must not be zero')":
        (lambda: metrics.density_coverage(_points(50), _points(50, 1), batch_size=0), "batch_size must be a positive integer, got 0"),
    "nearest_neighbours with batch_size = 0 (once 'range() arg 3 must not be zero')":
        (lambda: metrics.nearest_neighbours(_points(5), _points(50, 1), batch_size=0), "batch_size must be a positive integer, got 0"),
    "classifier_accuracy with batch_size = 0 (once 'range() arg 3 must not be zero')":
        (lambda: metrics.classifier_accuracy(_tiny_classifier(), _images(8), NO_LABELS, batch_size=0), "batch_size must be a positive integer, got 0"),
    "classifier_accuracy of no images (once ZeroDivisionError)":
        (lambda: metrics.classifier_accuracy(_tiny_classifier(), _images(0), NO_LABELS[:0]), r"x and y must hold the same number \(>= 1\) of images and labels"),
    "frechet_classifier_distance with batch_size = True (once run as 1)":
        (lambda: metrics.frechet_classifier_distance(_images(8), _images(8, 1), _tiny_classifier(), batch_size=True), "batch_size must be a positive integer, got True"),
    "train_feature_classifier with steps = True (once one step)":
        (lambda: metrics.train_feature_classifier(_images(8), NO_LABELS, steps=True), "steps must be a positive integer, got True"),
    "mode_coverage with threshold = inf (once 100 % high quality)":
        (lambda: metrics.mode_coverage(_points(50), _points(3, 1), 0.1, threshold=math.inf), "threshold must be a positive number, got inf"),
}  # fmt: skip


@pytest.mark.parametrize("case", list(NONSENSE))
def test_nonsense_given_to_the_library_is_refused_with_one_line_naming_the_argument(case):
    call, message = NONSENSE[case]
    with pytest.raises(ValueError, match="^" + message) as refused:
        call()
    assert "\n" not in str(refused.value)


# Every public function of theory and every public measure of metrics, with the keyword arguments
# of a valid call. Each floating-point tensor and float among them gets NaN, inf and -inf in turn
# and must be refused with one ValueError line that begins with that argument's name. Integer
# arguments and labels cannot hold NaN (counts are in NONSENSE); modules (a classifier) and
# strings are passed as they are.
P, Q = [0.5, 0.5, 0.0], [0.25, 0.25, 0.5]  # probability vectors on 3 points
PUBLIC_API = {
    "theory.bce": lambda: {"y_hat": _t([0.9, 0.2]), "y": _t([1.0, 0.0]), "reduction": "mean"},
    "theory.empirical_value": lambda: {"D_x": _t([0.9, 0.8]), "D_G_z": _t([0.2, 0.1])},
    "theory.gaussian_pdf": lambda: {"x": GRID[::100].clone(), "mu": 0.5, "sigma": 1.5},
    "theory.optimal_discriminator": lambda: {"p_data": _t(P), "p_g": _t(Q)},
    "theory.kl_divergence": lambda: {"p": _t(P), "q": _t(Q), "dx": 1.0},
    "theory.kl_gaussians": lambda: {"mu1": 0.0, "sigma1": 1.0, "mu2": 1.0, "sigma2": 2.0},
    "theory.js_divergence": lambda: {"p": _t(P), "q": _t(Q), "dx": 1.0},
    "theory.tv_distance": lambda: {"p": _t(P), "q": _t(Q), "dx": 1.0},
    "theory.packed_tv_distance": lambda: {"p": _t(P), "q": _t(Q), "m": 2},
    "theory.wasserstein_1d": lambda: {"p": _t(P), "q": _t(Q), "dx": 1.0},
    "theory.transport_plan_1d": lambda: {"p": _t(P), "q": _t(Q)},
    "theory.kantorovich_potential_1d": lambda: {"p": _t(P), "q": _t(Q), "x": _t([0.0, 1.0, 2.0])},
    "theory.value_function": lambda: {"p_data": _t(P), "p_g": _t(Q), "D": _t([0.5, 0.4, 0.3]), "dx": 1.0},
    "metrics.mode_coverage": lambda: {"samples": _points(50), "centers": _points(3, 1), "std": 0.1, "threshold": 3.0},
    "metrics.sinkhorn_w1": lambda: {"x": _points(20), "y": _points(20, 1), "eps": 0.01, "iters": 300},
    "metrics.precision_recall": lambda: {"real": _points(20), "fake": _points(20, 1), "k": 3, "batch_size": 7},
    "metrics.density_coverage": lambda: {"real": _points(20), "fake": _points(20, 1), "k": 5, "batch_size": 7},
    "metrics.inception_score": lambda: {"probabilities": torch.softmax(_points(20, 2), dim=1)},
    "metrics.nearest_neighbours": lambda: {"x": _points(5), "pool": _points(20, 1), "batch_size": 2},
    "metrics.frechet_distance": lambda: {"f_a": _points(20), "f_b": _points(20, 1)},
    "metrics.frechet_classifier_distance": lambda: {"x_a": _images(8), "x_b": _images(8, 1), "classifier": _tiny_classifier(), "batch_size": 3},
    "metrics.inception_fid": lambda: {"x_a": _images(8), "x_b": _images(8, 1), "feature_network": _Flat(), "batch_size": 3},
    "metrics.auc": lambda: {"positive": _t([0.9, 0.2, 0.4]), "negative": _t([0.1, 0.3])},
    "metrics.membership_attack": lambda: {"discriminator": nn.Sequential(nn.Flatten(), nn.Linear(784, 1)), "members": _images(8), "non_members": _images(8, 1), "batch_size": 3},
    "metrics.class_frequencies": lambda: {"classifier": _tiny_classifier(), "x": _images(8), "batch_size": 3},
    "metrics.classifier_accuracy": lambda: {"classifier": _tiny_classifier(), "x": _images(8), "y": NO_LABELS, "batch_size": 3},
    "metrics.train_feature_classifier": lambda: {"x": _images(8), "y": NO_LABELS, "steps": 1, "batch_size": 4, "lr": 1e-3, "device": "cpu"},
    "metrics.train_detector": lambda: {"real": _images(8), "generated": _images(8, 1), "steps": 1, "batch_size": 4, "lr": 1e-3, "device": "cpu"},
    "metrics.detection_accuracy": lambda: {"detector": _tiny_classifier(), "real": _images(8), "generated": _images(8, 1)},
}  # fmt: skip
# Inputs that take NaN on purpose, and why (a whole function would be listed with each of its inputs).
NOT_REFUSED = {
    # a NaN sample is scored as not high quality: a diverged generator's samples count as misses
    "metrics.mode_coverage": {"samples"},
}
BAD = (math.nan, math.inf, -math.inf)


def _public(name: str):
    module, function = name.split(".")
    return getattr({"theory": theory, "metrics": metrics}[module], function)


def _float_input(value) -> bool:
    return isinstance(value, float) or (isinstance(value, torch.Tensor) and value.is_floating_point())


def _spoiled(value, bad: float):
    if isinstance(value, float):
        return bad
    value = value.clone()
    value.view(-1)[0] = bad
    return value


INJECTIONS = [(name, argument) for name, valid in PUBLIC_API.items() for argument, value in valid().items()
              if _float_input(value) and argument not in NOT_REFUSED.get(name, ())]  # fmt: skip


@pytest.mark.parametrize(("name", "argument"), INJECTIONS)
def test_the_public_api_refuses_nan_and_inf_in_each_input_with_one_line_naming_it(name, argument):
    function = _public(name)
    function(**PUBLIC_API[name]())  # the valid call is answered
    for bad in BAD:
        inputs = PUBLIC_API[name]()
        inputs[argument] = _spoiled(inputs[argument], bad)
        with pytest.raises(ValueError) as refused:
            function(**inputs)
        message = str(refused.value)
        assert message.startswith(f"{argument} ") and "\n" not in message, (bad, message)


def test_every_public_function_of_theory_and_metrics_is_in_the_table():
    public = {f"{module.__name__.rsplit('.', 1)[-1]}.{name}" for module in (theory, metrics)
              for name, f in inspect.getmembers(module, inspect.isfunction)
              if f.__module__ == module.__name__ and not name.startswith("_")}  # fmt: skip
    missing = sorted(public - set(PUBLIC_API))
    assert not missing, f"add {missing} to PUBLIC_API in tests/test_faults.py with a valid call (and to NOT_REFUSED any input that may be NaN, with the reason)"
    assert set(PUBLIC_API) <= public, sorted(set(PUBLIC_API) - public)  # no entry for a function that is gone
    for name, valid in PUBLIC_API.items():  # every float parameter is given, so that it is spoiled too
        floats = {p for p, v in inspect.signature(_public(name)).parameters.items() if str(v.annotation).startswith("float")}
        assert floats <= set(valid()), f"{name}: give {sorted(floats - set(valid()))} in its PUBLIC_API entry"
    for name, inputs in NOT_REFUSED.items():
        assert inputs <= set(PUBLIC_API[name]()), (name, inputs)


@pytest.mark.parametrize("damage", [b'{"name": "dcgan", "sha2', b"[1, 2]", b"\xff\xfe\x00\x01", b""])
def test_a_damaged_reference_record_is_refused_with_one_line_that_says_to_reinstall(tmp_path, damage):
    """Once a JSONDecodeError, a UnicodeDecodeError or an AttributeError ('list' object has no attribute 'get')."""
    (tmp_path / "dcgan.pt").write_bytes((reference.folder() / "dcgan.pt").read_bytes())
    path = tmp_path / "dcgan.json"
    path.write_bytes(damage)
    for call in (reference.provenance, reference.load_reference, reference.load_discriminator):
        with pytest.raises(checkpoint.CheckpointError) as refused:
            call("dcgan", where=tmp_path)
        assert str(refused.value) == f"{path} is damaged (not a reference's JSON record); reinstall gancourse to restore it."
