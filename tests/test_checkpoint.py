"""Checkpoints: atomic writes, safe loads, clear errors."""

import pickle

import pytest
import torch

from gancourse.checkpoint import CheckpointError, load_checkpoint, save_checkpoint


def test_round_trip(tmp_path):
    path = save_checkpoint({"step": 3, "w": torch.arange(4.0), "history": {"loss_D": [0.5]}}, tmp_path / "c.pt")
    state = load_checkpoint(path)
    assert state["step"] == 3 and torch.equal(state["w"], torch.arange(4.0))
    assert list(tmp_path.iterdir()) == [path]  # no temporary file left behind


def test_a_crash_mid_write_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    path = save_checkpoint({"step": 1}, tmp_path / "c.pt")

    def dying_save(obj, f):
        f.write(b"PK\x03\x04 half a zip file")
        raise KeyboardInterrupt  # the process is interrupted halfway through writing

    monkeypatch.setattr(torch, "save", dying_save)
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint({"step": 2}, path)
    monkeypatch.undo()
    assert load_checkpoint(path)["step"] == 1
    assert list(tmp_path.iterdir()) == [path]


def test_truncated_file_is_reported_with_the_fix(tmp_path):
    path = save_checkpoint({"step": 1, "w": torch.randn(1000)}, tmp_path / "c.pt")
    path.write_bytes(path.read_bytes()[:1500])
    with pytest.raises(CheckpointError, match="truncated or corrupt.*Delete it"):
        load_checkpoint(path)


def test_missing_file_and_foreign_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="no checkpoint at"):
        load_checkpoint(tmp_path / "none.pt")
    torch.save({"weights": torch.zeros(2)}, tmp_path / "other.pt")
    with pytest.raises(CheckpointError, match="not a gancourse training checkpoint"):
        load_checkpoint(tmp_path / "other.pt")


class Payload:
    def __reduce__(self):
        return (print, ("this would run code on load",))


def test_loading_never_executes_code(tmp_path):
    path = tmp_path / "evil.pt"
    with open(path, "wb") as f:
        torch.save({"format": "gancourse-checkpoint-v1", "x": Payload()}, f, pickle_module=pickle)
    with pytest.raises(CheckpointError):
        load_checkpoint(path)  # weights_only=True refuses arbitrary objects


def test_a_checkpoint_alone_rebuilds_both_models(tmp_path):
    from gancourse import checkpoint, data, models, train

    torch.manual_seed(0)
    G = models.MLPGenerator(z_dim=3, hidden=16, depth=2, batch_norm=True)
    D = models.MLPDiscriminator(hidden=24, depth=2, pack=2, maxout=3)
    train.train(G, D, data.ring(), train.TrainConfig(steps=4, batch_size=16, progress=False), checkpoint_dir=tmp_path)
    G2, D2 = checkpoint.load_models(tmp_path / train.CHECKPOINT_NAME)
    assert type(G2) is models.MLPGenerator and G2.init_args == G.init_args and D2.pack == 2
    assert torch.equal(train.generate(G2, 50, seed=1), train.generate(G, 50, seed=1))
    x = torch.randn(8, 2)
    assert torch.equal(D2(x), D.eval()(x))
    # a checkpoint without the models' arguments (an older one, or a network of one's own)
    state = torch.load(tmp_path / train.CHECKPOINT_NAME, weights_only=True)
    state["models"] = {"G": "MLPGenerator", "D": "MLPDiscriminator"}
    save_checkpoint(state, tmp_path / "old.pt")
    with pytest.raises(CheckpointError, match="does not record how to build its generator"):
        checkpoint.load_models(tmp_path / "old.pt")
    state["models"] = {"G": {"class": "MyNet", "args": None}, "D": {"class": "MyNet", "args": None}}
    save_checkpoint(state, tmp_path / "own.pt")
    with pytest.raises(CheckpointError, match="cannot rebuild a 'MyNet' network"):
        checkpoint.load_models(tmp_path / "own.pt")
