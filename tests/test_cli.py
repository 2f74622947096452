"""``python -m gancourse``: train a course model from a preset or a TOML file, resume, refuse bad input."""

import json
import subprocess
import sys

import pytest

from gancourse import runs
from gancourse.__main__ import main


def test_train_a_preset_writes_samples_history_and_checkpoint(tmp_path, capsys):
    out = tmp_path / "ring"
    assert main(["train", "--preset", "ring", "--out", str(out), "--steps", "20", "--no-progress"]) == 0
    assert {p.name for p in out.iterdir()} >= {"config.json", "checkpoint.pt", "history.json", "samples.png", "metrics.json"}
    history = json.loads((out / "history.json").read_text())
    assert history["step"] == list(range(1, 21))
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["n_modes"] == 8 and 0 <= metrics["modes"] <= 8
    assert "trained 20 steps" in capsys.readouterr().out
    # Resume to 30 steps: the history continues where it stopped.
    assert main(["train", "--preset", "ring", "--out", str(out), "--steps", "30", "--resume", "--no-progress"]) == 0
    assert json.loads((out / "history.json").read_text())["step"] == list(range(1, 31))


def test_train_from_a_toml_config(tmp_path):
    config = tmp_path / "run.toml"
    config.write_text('preset = "grid"\nhidden = 32\nsteps = 6\n\n[train]\nloss = "wgan-gp"\nbatch_size = 50\n')
    out = tmp_path / "grid"
    assert main(["train", "--config", str(config), "--out", str(out), "--no-progress"]) == 0
    saved = json.loads((out / "config.json").read_text())
    assert saved["hidden"] == 32 and saved["resolved_train"]["loss"] == "wgan-gp"
    assert saved["resolved_train"]["k"] == 5 and saved["resolved_train"]["betas"] == [0.0, 0.9]


def test_dcgan_preset_at_the_smoke_budget(tmp_path):
    out = tmp_path / "dcgan"
    assert main(["train", "--preset", "dcgan", "--out", str(out), "--budget", "smoke", "--no-progress"]) == 0
    assert json.loads((out / "history.json").read_text())["step"] == [1, 2, 3, 4, 5]
    assert (out / "samples.png").stat().st_size > 1000


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--preset", "nope"], "unknown preset 'nope'; choose one of gaussian, ring"),
        (["--preset", "ring", "--loss", "hinge"], "unknown loss 'hinge'"),
        (["--preset", "ring", "--steps", "-3"], "steps must be a positive integer"),
        ([], "name what to train"),
        (["--config", "missing.toml"], "config file missing.toml does not exist"),
    ],
)
def test_bad_input_gets_one_clear_error(tmp_path, capsys, argv, message):
    assert main(["train", "--out", str(tmp_path / "x"), *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err
    assert "Traceback" not in err


def test_bad_toml_settings_are_named(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('dataset = "cifar"\n')
    with pytest.raises(ValueError, match="unknown dataset 'cifar'; choose one of gaussian, ring, grid"):
        runs.load_config(path=bad)
    bad.write_text('preset = "ring"\n[train]\nn_critic = 0\n')
    with pytest.raises(ValueError, match=r"unknown training setting\(s\) \['n_critic'\]"):
        runs.load_config(path=bad)
    bad.write_text('preset = "ring"\n[train]\nk = 0\n')
    with pytest.raises(ValueError, match=r"n_critic \(k\) must be a positive integer"):
        runs.load_config(path=bad)
    with pytest.raises(ValueError, match="does not fit dataset"):
        runs.load_config(dataset="fashion-mnist", model="mlp")


def test_truncated_checkpoint_is_reported_not_resumed(tmp_path, capsys):
    out = tmp_path / "ring"
    assert main(["train", "--preset", "ring", "--out", str(out), "--steps", "3", "--no-progress"]) == 0
    checkpoint = out / "checkpoint.pt"
    checkpoint.write_bytes(checkpoint.read_bytes()[:2000])  # a copy cut short
    assert main(["train", "--preset", "ring", "--out", str(out), "--steps", "6", "--resume", "--no-progress"]) == 2
    assert "is truncated or corrupt" in capsys.readouterr().err
    assert checkpoint.stat().st_size == 2000  # nothing was overwritten


def test_module_entry_point_runs(tmp_path):
    done = subprocess.run([sys.executable, "-m", "gancourse", "presets"], capture_output=True, text=True, check=True)
    assert "dcgan" in done.stdout and "ring" in done.stdout


def test_sample_draws_from_a_checkpoint_alone(tmp_path, capsys):
    out = tmp_path / "ring"
    assert main(["train", "--preset", "ring", "--out", str(out), "--steps", "5", "--no-progress"]) == 0
    png = tmp_path / "samples.png"
    argv = ["sample", "--checkpoint", str(out / "checkpoint.pt"), "--n", "200", "--out", str(png)]
    assert main(argv) == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and "200 samples of MLPGenerator" in capsys.readouterr().out
    before = png.read_bytes()
    assert main(argv) == 2  # an existing file is kept unless --force
    assert "exists; choose another --out, or add --force" in capsys.readouterr().err
    assert png.read_bytes() == before
    assert main([*argv, "--force", "--seed", "1"]) == 0 and png.read_bytes() != before
    assert main(["sample", "--checkpoint", str(tmp_path / "none.pt"), "--out", str(tmp_path / "x.png")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: no checkpoint at") and "Traceback" not in err
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temporary file left


def test_ctrl_c_keeps_the_last_checkpoint_and_resume_finishes_the_run_exactly(tmp_path, capsys, monkeypatch):
    from gancourse import train

    argv = ["train", "--preset", "ring", "--steps", "40", "--no-progress", "--seed", "3"]
    assert main([*argv, "--out", str(tmp_path / "whole")]) == 0
    whole = json.loads((tmp_path / "whole" / "history.json").read_text())
    real_update_G, calls = train.update_G, []

    def interrupted_at_step_31(state, *args, **kwargs):
        calls.append(1)
        if len(calls) == 31:
            raise KeyboardInterrupt
        return real_update_G(state, *args, **kwargs)

    monkeypatch.setattr(train, "update_G", interrupted_at_step_31)
    out = tmp_path / "cut"
    assert main([*argv, "--out", str(out)]) == 130  # a checkpoint every 5 % of 40 steps: 2
    err = capsys.readouterr().err
    assert err.startswith("interrupted. The last checkpoint, at step 30,") and "add --resume" in err
    assert "Traceback" not in err
    monkeypatch.setattr(train, "update_G", real_update_G)
    assert main([*argv, "--out", str(out), "--resume"]) == 0
    assert json.loads((out / "history.json").read_text()) == whole  # as if never interrupted
    assert main([*argv, "--out", str(tmp_path / "end"), "--checkpoint-every", "-1"]) == 2
    assert "checkpoint_every must be 0 (off) or a positive integer" in capsys.readouterr().err
