"""Checkpoints: atomic writes, checksums, safe loads, clear errors."""

import hashlib
import io
import pickle

import pytest
import torch

from gancourse import checkpoint
from gancourse.checkpoint import CheckpointError, atomic_write, load_checkpoint, save_checkpoint

DAMAGED = "is truncated or corrupt, or not a gancourse checkpoint"


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
    with pytest.raises(CheckpointError, match="truncated or corrupt.*delete it to start afresh"):
        load_checkpoint(path)


def test_missing_file_and_foreign_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="no checkpoint at"):
        load_checkpoint(tmp_path / "none.pt")
    torch.save({"weights": torch.zeros(2)}, tmp_path / "other.pt")
    with pytest.raises(CheckpointError, match=DAMAGED):
        load_checkpoint(tmp_path / "other.pt")


class Payload:
    def __reduce__(self):
        return (print, ("this would run code on load",))


def test_loading_never_executes_code(tmp_path):
    buffer = io.BytesIO()
    torch.save({"format": checkpoint.FORMAT, "x": Payload()}, buffer, pickle_module=pickle)
    payload = buffer.getvalue()  # with a valid checksum: only weights_only=True stands in the way
    path = tmp_path / "evil.pt"
    path.write_bytes(f"{checkpoint.FORMAT} {hashlib.sha256(payload).hexdigest()}\n".encode() + payload)
    with pytest.raises(CheckpointError, match=DAMAGED):
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
    state = load_checkpoint(tmp_path / train.CHECKPOINT_NAME)
    state["models"] = {"G": "MLPGenerator", "D": "MLPDiscriminator"}
    save_checkpoint(state, tmp_path / "old.pt")
    with pytest.raises(CheckpointError, match="does not record how to build its generator"):
        checkpoint.load_models(tmp_path / "old.pt")
    state["models"] = {"G": {"class": "MyNet", "args": None}, "D": {"class": "MyNet", "args": None}}
    save_checkpoint(state, tmp_path / "own.pt")
    with pytest.raises(CheckpointError, match="cannot rebuild a 'MyNet' network"):
        checkpoint.load_models(tmp_path / "own.pt")


def test_every_flipped_byte_is_refused_with_the_same_message(tmp_path):
    """A checksum over the saved bytes: no damaged checkpoint loads with changed weights."""
    path = save_checkpoint({"step": 7, "G": {"w": torch.randn(300)}, "history": {"loss_D": [0.5]}}, tmp_path / "c.pt")
    good = path.read_bytes()
    positions = sorted({round(i * (len(good) - 1) / 47) for i in range(48)})  # header, zip records, data
    messages = set()
    for position in positions:
        damaged = bytearray(good)
        damaged[position] ^= 0xFF
        path.write_bytes(bytes(damaged))
        with pytest.raises(CheckpointError) as refused:
            load_checkpoint(path)
        messages.add(str(refused.value))
    assert len(positions) >= 40 and len(messages) == 1 and DAMAGED in messages.pop()
    for size in (0, 6, 80, len(good) - 1):  # empty, six bytes, the header alone, one byte short
        path.write_bytes(good[:size])
        with pytest.raises(CheckpointError, match=DAMAGED):
            load_checkpoint(path)


def test_atomic_write_replaces_whole_files_and_leaves_no_temporary_file(tmp_path, monkeypatch):
    path = atomic_write(tmp_path / "history.json", "[1, 2]")
    assert path.read_text() == "[1, 2]" and (path.stat().st_mode & 0o777) != 0o600  # not mkstemp's mode

    def full_disk(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(checkpoint.os, "fsync", full_disk)
    with pytest.raises(OSError) as failed:
        atomic_write(path, b"[1, 2, 3]")
    monkeypatch.undo()
    assert failed.value.filename == str(path) and failed.value.strerror == "No space left on device"
    assert path.read_text() == "[1, 2]" and [p.name for p in tmp_path.iterdir()] == ["history.json"]


def test_temporary_files_of_a_killed_write_are_removed_when_training_starts(tmp_path):
    from gancourse import data, models, train

    left = tmp_path / ".checkpoint.pt.k1ll3d.tmp"
    left.write_bytes(b"PK\x03\x04" + bytes(1000))  # what kill -9 during a checkpoint write leaves
    other = tmp_path / ".notes.tmp"
    other.write_text("not ours")
    torch.manual_seed(0)
    G, D = models.MLPGenerator(z_dim=2, hidden=8, depth=1), models.MLPDiscriminator(hidden=8, depth=1)
    train.train(G, D, data.ring(), train.TrainConfig(steps=2, batch_size=8, progress=False), checkpoint_dir=tmp_path)
    assert not left.exists() and other.exists()
