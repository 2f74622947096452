"""Faults injected into real command-line runs: kill -9, Ctrl-C, damaged checkpoints, bad configs, a full disk.

The runs are ``python -m gancourse train`` processes on a small ring GAN, so that what is
killed or interrupted is a real process writing real files. One thread each: resumed runs
are compared bit for bit with an uninterrupted one.
"""

import json
import os
import random
import signal
import subprocess
import sys
import time

import pytest
import torch

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
