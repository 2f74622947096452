"""Two processes on the CPU (gloo), as ``torchrun`` starts them on GPUs (NCCL).

The runs are real command-line runs of the ring GAN (``python -m gancourse train``), one
thread per process. What is checked:

- 2 ranks with batch b compute what 1 process computes with batch 2b (the same samples,
  the same noise): to within rounding at first, and far closer than a run with another seed;
- only rank 0 writes, and ``--resume`` under ``torchrun`` continues exactly;
- a rank killed, or frozen, ends the other with one line instead of a hang.

Why the tolerance: the two computations differ only in the order of additions. One process
averages the gradient over 2b samples; two ranks each average over b, and gloo averages the
two means. That is a relative difference of about 1e-7 (float32 rounding), measured at most
2.4e-7 on the losses over the first 25 steps. A GAN amplifies any perturbation (about tenfold
every 25 steps from step 50 on; measured 1e-3 at step 100 and 0.4 at step 200 on the ring),
so the comparison stops at step 40, where the largest difference measured (weights and
every history column) is 2.4e-7: the bound 1e-4 leaves a wide margin, and another training seed (the same initial weights) makes a
difference of about 0.09, more than a hundred times the bound (checked too).
"""

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from gancourse import distributed
from gancourse.checkpoint import load_checkpoint
from gancourse.train import HISTORY_KEYS

STEPS = 40
RING = 'preset = "ring"\nhidden = 32\n\n[train]\nbatch_size = {batch}\nseed = {seed}\ncheckpoint_every = 10\n'
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "GANCOURSE_DEVICE": "cpu", "PYTHONDONTWRITEBYTECODE": "1"}
WORKER = Path(__file__).with_name("ddp_worker.py")
TOLERANCE = 1e-4


def ring_config(folder: Path, batch: int, seed: int = 3) -> Path:
    path = folder / f"ring-b{batch}-s{seed}.toml"
    path.write_text(RING.format(batch=batch, seed=seed))
    return path


def train_args(config: Path, out: Path, steps: int = STEPS, *extra) -> list[str]:
    return ["train", "--config", str(config), "--out", str(out), "--steps", str(steps), "--no-progress", *extra]


def torchrun(log_dir: Path, args: list[str], timeout: float = 120) -> subprocess.CompletedProcess:
    """``torchrun --standalone --nproc_per_node=2 tests/ddp_worker.py LOG_DIR ARGS``."""
    log_dir.mkdir(exist_ok=True)
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
               str(WORKER), str(log_dir), *args]  # fmt: skip
    return subprocess.run(command, env=ENV, capture_output=True, text=True, timeout=timeout)


def one_process(args: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "gancourse", *args], env=ENV, capture_output=True, text=True, timeout=120)


def largest_difference(a: dict, b: dict) -> float:
    """The largest difference between two checkpoints' G and D weights and histories."""
    weights = [(a[net][k] - b[net][k]).abs().max().item() for net in ("G", "D") for k in a[net]]
    history = [(torch.tensor(a["history"][k]) - torch.tensor(b["history"][k])).abs().max().item()
               for k in HISTORY_KEYS]  # fmt: skip
    return max(weights + history)


@pytest.fixture(scope="module")
def two_ranks(tmp_path_factory):
    """A 2-rank run (batch 32 each) of STEPS steps: its folder and the ranks' write logs."""
    folder = tmp_path_factory.mktemp("ddp")
    done = torchrun(folder / "logs", train_args(ring_config(folder, 32), folder / "two"))
    assert done.returncode == 0, done.stdout + done.stderr
    return folder, done


def test_two_ranks_with_batch_b_follow_one_process_with_batch_2b(two_ranks):
    folder, _ = two_ranks
    for seed, out in ((3, "one"), (4, "other-seed")):
        done = one_process(train_args(ring_config(folder, 64, seed), folder / out))
        assert done.returncode == 0, done.stderr
    two = load_checkpoint(folder / "two" / "checkpoint.pt")
    one = load_checkpoint(folder / "one" / "checkpoint.pt")
    assert two["step"] == one["step"] == STEPS
    assert len(two["history"]["loss_D"]) == STEPS
    assert largest_difference(two, one) < TOLERANCE
    # The bound discriminates: another seed (other samples and noise) is far outside it.
    assert largest_difference(two, load_checkpoint(folder / "other-seed" / "checkpoint.pt")) > 100 * TOLERANCE


def test_only_rank_0_writes(two_ranks):
    folder, done = two_ranks
    rank0 = json.loads((folder / "logs" / "writes-rank0.json").read_text())
    rank1 = json.loads((folder / "logs" / "writes-rank1.json").read_text())
    assert rank1 == []
    assert rank0.count("checkpoint.pt") == STEPS // 10  # every 10 steps; the last one is step 40's
    assert {"config.json", "history.json", "samples.png", "metrics.json"} <= set(rank0)
    assert done.stdout.count("trained 40 steps") == 1  # rank 0 reports, once
    assert json.loads((folder / "two" / "config.json").read_text())["launch"]["processes"] == 2


def test_a_refusal_under_torchrun_is_said_once_and_ends_every_rank(two_ranks, tmp_path):
    folder, _ = two_ranks
    before = (folder / "two" / "checkpoint.pt").read_bytes()
    done = torchrun(tmp_path / "logs", train_args(ring_config(folder, 32), folder / "two"))
    assert done.returncode != 0
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "holds another run" in errors[0] and "--resume" in errors[0], done.stderr
    assert (folder / "two" / "checkpoint.pt").read_bytes() == before
    # A one-process checkpoint resumed by two ranks: refused by rank 0, once (every rank said it before).
    single = tmp_path / "single"
    assert one_process(train_args(ring_config(folder, 32), single, 10)).returncode == 0
    done = torchrun(tmp_path / "logs-single", train_args(ring_config(folder, 32), single, 20, "--resume"))
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "written by a run of 1 process(es), this one has 2" in errors[0], done.stderr


def test_resume_under_torchrun_continues_exactly(two_ranks, tmp_path):
    folder, _ = two_ranks
    config, out = ring_config(folder, 32), tmp_path / "resumed"
    first = torchrun(tmp_path / "logs1", train_args(config, out, 20))
    assert first.returncode == 0, first.stderr
    second = torchrun(tmp_path / "logs2", train_args(config, out, STEPS, "--resume"))
    assert second.returncode == 0, second.stderr
    resumed, whole = load_checkpoint(out / "checkpoint.pt"), load_checkpoint(folder / "two" / "checkpoint.pt")
    assert resumed["history"] == whole["history"]
    assert all(torch.equal(resumed["G"][k], whole["G"][k]) for k in whole["G"])
    # A checkpoint of 2 processes is not resumed by 1: the global batch would change.
    alone = one_process(train_args(config, out, STEPS + 10, "--resume"))
    assert alone.returncode == 2
    assert "written by a run of 2 process(es), this one has 1" in alone.stderr


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("fault", ["kill", "freeze"])
def test_a_rank_that_dies_or_hangs_ends_the_run_with_one_line(tmp_path, fault):
    """The ranks are started by hand (as torchrun would, without its agent, which would
    otherwise stop the survivors itself): rank 0 must end on its own, within the timeout."""
    config = ring_config(tmp_path, 32)
    env = {**ENV, "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(free_port()), "WORLD_SIZE": "2",
           "GANCOURSE_DIST_TIMEOUT": "5"}  # fmt: skip
    args = [sys.executable, "-m", "gancourse", *train_args(config, tmp_path / "run", 1_000_000)]
    ranks = [subprocess.Popen(args, env={**env, "RANK": str(r), "LOCAL_RANK": str(r)}, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE) for r in (0, 1)]  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while not (tmp_path / "run" / "checkpoint.pt").exists():  # training is under way
            assert time.monotonic() < deadline and ranks[0].poll() is None, ranks[0].communicate()
            time.sleep(0.05)
        os.kill(ranks[1].pid, signal.SIGKILL if fault == "kill" else signal.SIGSTOP)
        started = time.monotonic()
        _, stderr = ranks[0].communicate(timeout=60)
        seconds = time.monotonic() - started
    finally:
        for rank in ranks:
            rank.kill()
            rank.wait()
    assert ranks[0].returncode == 2
    assert seconds < 30  # "freeze": the 5 s timeout, then the shutdown
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: rank 0 lost the other processes of the run"), stderr
    assert "--resume" in lines[0]
    assert load_checkpoint(tmp_path / "run" / "checkpoint.pt")["step"] >= 1  # rank 0's last checkpoint is intact


def test_sync_batchnorm_is_refused_on_the_cpu(tmp_path):
    done = one_process(train_args(ring_config(tmp_path, 32), tmp_path / "run", 5, "--sync-batchnorm"))
    assert done.returncode == 2
    assert done.stderr.strip() == (
        "error: --sync-batchnorm needs CUDA GPUs: PyTorch's SyncBatchNorm does not run on the CPU."
    )
    assert not (tmp_path / "run" / "config.json").exists()


@pytest.mark.parametrize("value", ["inf", "1e300", "nan", "-5", "0", "soon"])
def test_a_timeout_that_is_not_a_number_of_seconds_is_refused_by_name(monkeypatch, value):
    monkeypatch.setenv(distributed.TIMEOUT_ENV_VAR, value)
    with pytest.raises(ValueError, match=f"GANCOURSE_DIST_TIMEOUT='{value}' is not a number of seconds from 0 to 604800"):
        distributed.timeout()
    monkeypatch.setenv(distributed.TIMEOUT_ENV_VAR, "604800")
    assert distributed.timeout() == 604800
