"""``python -m gancourse``: train a course model from a preset or a TOML file, resume, refuse bad input."""

import json
import subprocess
import sys

import pytest
import torch

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


def test_sample_refuses_a_generator_whose_samples_are_not_finite(tmp_path, capsys):
    from gancourse.checkpoint import load_checkpoint, save_checkpoint

    out = tmp_path / "ring"
    assert main(ring_argv(out)) == 0
    capsys.readouterr()
    state = load_checkpoint(out / "checkpoint.pt")
    first = next(key for key, value in state["G"].items() if value.is_floating_point())
    state["G"][first] = torch.full_like(state["G"][first], float("nan"))  # as a diverged run's weights
    save_checkpoint(state, tmp_path / "diverged.pt")
    png = tmp_path / "samples.png"
    code = main(["sample", "--checkpoint", str(tmp_path / "diverged.pt"), "--n", "50", "--out", str(png)])
    one_error_line(capsys, code, "gives NaN or inf in 50 of 50 samples: its weights diverged")
    assert not png.exists()


def test_metrics_json_is_valid_json_when_no_sample_is_high_quality(tmp_path, capsys):
    out = tmp_path / "ring"
    assert main(["train", "--preset", "ring", "--out", str(out), "--steps", "1", "--no-progress"]) == 0
    text = (out / "metrics.json").read_text()
    summary = json.loads(text, parse_constant=lambda name: pytest.fail(f"metrics.json holds {name}, which is not JSON"))
    assert summary["high_quality"] == 0.0 and summary["reverse_kl"] is None


def test_a_toml_file_and_preset_that_name_different_presets_are_refused(tmp_path, capsys):
    config = tmp_path / "grid.toml"
    config.write_text('preset = "grid"\nsteps = 2\n')
    code = main(["train", "--preset", "ring", "--config", str(config), "--out", str(tmp_path / "run"), "--no-progress"])
    one_error_line(capsys, code, "names preset 'grid', and preset 'ring' was asked for too (--preset); keep one of them")
    assert not (tmp_path / "run").exists()
    assert main(["train", "--preset", "grid", "--config", str(config), "--out", str(tmp_path / "same"), "--no-progress"]) == 0


def test_a_config_json_that_no_run_wrote_is_never_overwritten_or_deleted(tmp_path, capsys):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "config.json").write_text('{"my": "settings"}')
    (out / "samples.png").write_bytes(b"a picture of mine")
    before = snapshot(out)
    for extra in ((), ("--force",), ("--resume",)):
        one_error_line(capsys, main(ring_argv(out, *extra)), "was not written by a gancourse run")
        assert snapshot(out) == before


def test_a_checkpoint_from_another_run_is_refused_and_names_what_differs(tmp_path, capsys):
    import shutil

    ring, grid = tmp_path / "ring", tmp_path / "grid"
    assert main(ring_argv(ring)) == 0
    assert main(["train", "--preset", "grid", "--out", str(grid), "--steps", "6", "--no-progress"]) == 0
    capsys.readouterr()
    before = snapshot(grid)
    shutil.copy(ring / "checkpoint.pt", grid / "checkpoint.pt")  # "restore an earlier copy", from the wrong run
    argv = ["train", "--preset", "grid", "--out", str(grid), "--steps", "12", "--no-progress", "--resume"]
    err = one_error_line(capsys, main(argv), "checkpoint.pt was written by another run (dataset 'ring' -> 'grid'")
    assert "run_id '" in err and "Resume in the folder it came from" in err
    assert snapshot(grid) == {**before, "checkpoint.pt": (ring / "checkpoint.pt").read_bytes()}  # nothing rewritten
    twin = tmp_path / "twin"  # the same settings, another run: refused by its id alone
    assert main(ring_argv(twin)) == 0
    shutil.copy(ring / "checkpoint.pt", twin / "checkpoint.pt")
    capsys.readouterr()
    err = one_error_line(capsys, main(ring_argv(twin, "--resume")), "was written by another run (run_id '")
    assert "dataset" not in err


def ring_argv(out, *extra):
    return ["train", "--preset", "ring", "--out", str(out), "--steps", "6", "--no-progress", *extra]


def one_error_line(capsys, code, expected):
    """The command ended with exit code 2 and one line `error: ...` holding ``expected``."""
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.startswith("error: ") and err.count("\n") == 1 and expected in err, err
    return err


def snapshot(folder):
    return {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}


def test_a_folder_holding_another_run_is_refused_unless_resume_or_force(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(ring_argv(out)) == 0
    before = snapshot(out)
    one_error_line(capsys, main(ring_argv(out)), f"{out} holds another run (config.json, checkpoint.pt, history.json")
    code = main(["train", "--preset", "grid", "--out", str(out), "--steps", "9", "--resume", "--no-progress"])
    one_error_line(capsys, code, "cannot resume the run in")
    assert snapshot(out) == before  # nothing of the refused runs was written, config.json included
    one_error_line(capsys, main(ring_argv(out, "--resume", "--force")), "choose one")
    # --force deletes the old run, says so, and leaves none of its files (the gaussian run writes no metrics.json)
    assert main(["train", "--preset", "gaussian", "--out", str(out), "--steps", "3", "--no-progress", "--force"]) == 0
    assert "--force: deleted the previous run's config.json, checkpoint.pt, history.json, metrics.json, samples.png" in (
        capsys.readouterr().out)  # fmt: skip
    assert not (out / "metrics.json").exists()
    assert json.loads((out / "config.json").read_text())["dataset"] == "gaussian"


def test_resume_refuses_another_dataset_or_data_size_and_names_what_changed(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(ring_argv(out)) == 0
    code = main(["train", "--preset", "grid", "--out", str(out), "--steps", "9", "--resume", "--no-progress"])
    one_error_line(capsys, code, "other settings: dataset 'ring' -> 'grid'; its data and models are fixed")
    images = tmp_path / "images.toml"
    images.write_text('preset = "dcgan"\nngf = 4\nndf = 4\nz_dim = 8\nlimit = 256\nsteps = 2\n[train]\nbatch_size = 32\n')
    assert main(["train", "--config", str(images), "--out", str(tmp_path / "dcgan"), "--no-progress"]) == 0
    images.write_text(images.read_text().replace("limit = 256", "limit = 128"))  # once an IndexError
    code = main(["train", "--config", str(images), "--out", str(tmp_path / "dcgan"), "--steps", "4", "--resume"])
    one_error_line(capsys, code, "limit 256 -> 128")


def test_resume_applies_a_lower_learning_rate_and_records_it(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(ring_argv(out)) == 0
    slower = tmp_path / "slower.toml"
    slower.write_text('preset = "ring"\n[train]\nlr_d = 1e-5\nlr_g = 1e-5\n')
    assert main(["train", "--config", str(slower), "--out", str(out), "--steps", "9", "--resume", "--no-progress"]) == 0
    printed = capsys.readouterr().out
    assert "resume: lr_d 0.001 -> 1e-05" in printed and "resume: lr_g 0.001 -> 1e-05" in printed
    assert json.loads((out / "config.json").read_text())["resolved_train"]["lr_d"] == 1e-05
    from gancourse.checkpoint import load_checkpoint

    state = load_checkpoint(out / "checkpoint.pt")
    assert state["step"] == 9 and state["opt_D"]["param_groups"][0]["lr"] == 1e-05


def test_config_json_is_written_only_after_everything_is_checked(tmp_path, capsys):
    out = tmp_path / "run"
    one_error_line(capsys, main(ring_argv(out, "--device", "cuda:7")), "device 'cuda:7' was requested but is not available")
    one_error_line(capsys, main(ring_argv(out, "--resume")), f"{out} holds no checkpoint to resume; run the command without")
    assert not out.exists()


def test_a_second_process_cannot_write_into_a_locked_folder(tmp_path, capsys):
    import fcntl

    out = tmp_path / "run"
    out.mkdir()
    with open(out / ".lock", "a") as held:  # as another process training there holds it
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        one_error_line(capsys, main(ring_argv(out)), f"another process is writing into {out}")
    assert not (out / "config.json").exists()
    assert main(ring_argv(out)) == 0  # released


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ('steps = "ten"', "steps must be a positive integer, got 'ten'"),
        ("steps = true", "steps must be a positive integer, got True"),
        ('hidden = "wide"', "hidden must be a positive integer, got 'wide'"),
        ("z_dim = 2.5", "z_dim must be a positive integer, got 2.5"),
        ("train = 5", "train must be a table of training settings ([train] in TOML), got 5"),
        ('[train]\nlr_d = "fast"', "lr_d must be a positive number, got 'fast'"),
        ("[train]\nbetas = [0.5]", "betas must be two numbers in [0, 1), e.g. [0.5, 0.999], got [0.5]"),
        ('[train]\nprogress = "no"', "progress must be true, false or None"),
        ('preset = ["ring"]', "preset must be one of gaussian, ring"),
    ],
)
def test_wrong_types_in_a_toml_file_get_one_line_naming_key_value_and_what_is_allowed(tmp_path, capsys, toml, message):
    config = tmp_path / "run.toml"
    config.write_text(toml + "\n" if toml.startswith("preset") else f'preset = "ring"\n{toml}\n')
    one_error_line(capsys, main(["train", "--config", str(config), "--out", str(tmp_path / "x")]), message)
    assert not (tmp_path / "x").exists() or not any((tmp_path / "x").iterdir())


def test_unwritable_out_and_damaged_checkpoints_get_one_line_and_debug_shows_the_traceback(tmp_path, capsys):
    a_file = tmp_path / "file"
    a_file.write_text("")
    one_error_line(capsys, main(ring_argv(a_file)), f"--out {a_file} is a file; a run needs a folder")
    read_only = "/sys/gancourse-test-run"  # a read-only file system, even for root
    one_error_line(capsys, main(ring_argv(read_only)), f"{read_only}: Operation not permitted; check its permissions")
    out = tmp_path / "run"
    assert main(ring_argv(out)) == 0
    (out / "checkpoint.pt").write_bytes(b"PK\x03\x04\x00\x00")  # six bytes
    one_error_line(capsys, main(ring_argv(out, "--resume", "--steps", "9")), "is truncated or corrupt")
    with pytest.raises(Exception, match="is truncated or corrupt"):
        main(ring_argv(out, "--resume", "--steps", "9", "--debug"))
    one_error_line(capsys, main(["train", "--preset", "ring", "--out", str(out), "--steps", "ten"]), "invalid int value")


def test_ctrl_c_saves_the_step_it_reached_and_says_how_to_resume(tmp_path, capsys, monkeypatch):
    import os
    import signal

    from gancourse import train

    argv = ["train", "--preset", "ring", "--steps", "40", "--no-progress", "--seed", "3"]
    assert main([*argv, "--out", str(tmp_path / "whole")]) == 0
    whole = json.loads((tmp_path / "whole" / "history.json").read_text())
    real_update_G, calls = train.update_G, []

    def ctrl_c_in_step_27(state, *args, **kwargs):
        calls.append(1)
        if len(calls) == 27:
            os.kill(os.getpid(), signal.SIGINT)  # arrives in the middle of the step
        return real_update_G(state, *args, **kwargs)

    monkeypatch.setattr(train, "update_G", ctrl_c_in_step_27)
    out = tmp_path / "cut"
    assert main([*argv, "--out", str(out)]) == 130  # checkpoints every 2 steps: 26 was the last
    err = capsys.readouterr().err
    assert err == f"interrupted. The last checkpoint, at step 27, is {out / 'checkpoint.pt'}: add --resume to the same command to continue from it.\n"
    monkeypatch.setattr(train, "update_G", real_update_G)
    assert main([*argv, "--out", str(out), "--resume"]) == 0
    assert json.loads((out / "history.json").read_text()) == whole


def test_train_never_downloads_unless_asked(tmp_path, capsys, monkeypatch):
    from gancourse import data

    monkeypatch.setenv(data.DATA_ENV_VAR, str(tmp_path / "no-data"))
    monkeypatch.setattr(data, "DEBIAN_FASHION_MNIST", tmp_path / "not-installed")

    def no_network(*args):
        raise AssertionError("downloaded without being asked")

    monkeypatch.setattr(data, "_torchvision_download", no_network)
    out = tmp_path / "dcgan"
    one_error_line(capsys, main(["train", "--preset", "dcgan", "--out", str(out)]), "FashionMNIST was not found in")
    assert not (out / "config.json").exists()
    with pytest.raises(FileNotFoundError, match="pass download=True"):
        runs.build(runs.load_config("dcgan"))


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ('preset = "ring"\npack = 3', "batch_size 256 must be a multiple of the discriminator's pack 3"),
        ('preset = "ring"\nn_train = 10', "the data holds 10 samples, fewer than one batch of 256"),
        ('preset = "dcgan"\nlimit = 10', "the data holds 10 samples, fewer than one batch of 128"),
        ('preset = "ring"\ninit_std = 1e30', "before the first step, G's samples hold NaN or inf"),
        ('preset = "ring"\n[train]\nseed = 12345678901234567890123', "seed must be an integer from -2**63 to 2**64 - 1"),
        ('preset = "ring"\ninit_seed = 12345678901234567890123', "init_seed must be an integer from -2**63"),
        ('preset = "ring"\n[train]\nlr_g = 1e39', "lr_g must be below 3.4e+38 (float32's largest), got 1e+39"),
    ],
)
def test_a_failed_start_writes_nothing_and_the_folder_stays_usable(tmp_path, capsys, toml, message):
    config, out = tmp_path / "run.toml", tmp_path / "run"
    config.write_text(toml + "\n")
    one_error_line(capsys, main(["train", "--config", str(config), "--out", str(out), "--steps", "3", "--no-progress"]), message)
    assert not out.exists()  # the folder it created is gone again
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    one_error_line(capsys, main(["train", "--config", str(config), "--out", str(out), "--steps", "3", "--no-progress"]), message)
    assert snapshot(out) == {"notes.txt": b"mine"}  # a folder that was there stays as it was
    assert main(ring_argv(out)) == 0  # and takes a run without --force


def test_a_start_killed_before_its_first_checkpoint_leaves_a_folder_that_a_plain_run_reuses(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(ring_argv(out)) == 0
    for name in ("checkpoint.pt", "history.json", "metrics.json", "samples.png"):  # as after kill -9 at step 0
        (out / name).unlink()
    capsys.readouterr()
    one_error_line(capsys, main(ring_argv(out, "--resume")), f"{out} holds no checkpoint to resume")
    assert main(ring_argv(out)) == 0
    assert "reusing" in capsys.readouterr().out and (out / "checkpoint.pt").is_file()


def test_force_deletes_only_files_that_a_run_wrote(tmp_path, capsys):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "samples.png").write_bytes(b"a picture of mine")
    (out / "history.json").write_text('{"my": "history"}')
    before = snapshot(out)
    for extra in ((), ("--force",), ("--resume",)):
        one_error_line(capsys, main(ring_argv(out, *extra)), "no run's config.json")
        assert snapshot(out) == before


def test_an_empty_out_and_a_config_that_is_a_folder_get_one_line_that_names_them(tmp_path, capsys):
    one_error_line(capsys, main(["train", "--preset", "ring", "--out", "", "--steps", "2"]), "--out is empty")
    code = main(["train", "--config", str(tmp_path), "--out", str(tmp_path / "run"), "--steps", "2"])
    err = one_error_line(capsys, code, str(tmp_path))
    assert "cannot write" not in err
