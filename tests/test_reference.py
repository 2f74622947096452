"""The reference generators shipped with the package: they load offline, generate, score as
their records say, and a damaged or unknown one is refused with one clear line."""

import hashlib
import json
import subprocess
import sys

import pytest
import torch

from gancourse import checkpoint, data, reference, runs, train

# The FCD of each reference over its real-vs-real floor must stay below this bound, by the
# protocol of the test below (1,000 images, a 300-step classifier). Measured here: 1.67 for
# the DCGAN, 2.10 for the WGAN-GP, 4.89 for the book-budget DCGAN; the bounds leave room for
# other kernels and versions.
RATIO_BOUND = {"dcgan": 4.0, "wgan-gp-fashion": 5.0, "dcgan-small": 10.0}

RECORD_FIELDS = {"name", "command", "commit", "device", "wall_seconds", "budget", "steps", "images_seen", "config",
                 "train", "score", "sha256", "bytes", "half_precision_max_pixel_change"}  # fmt: skip


@pytest.mark.parametrize("name", reference.REFERENCES)
def test_a_reference_loads_offline_generates_images_and_has_its_record(name):
    record = reference.provenance(name)
    assert RECORD_FIELDS <= set(record) and record["name"] == name
    assert "PLACEHOLDER" not in json.dumps(record)
    assert record["steps"] == runs.load_config(name).steps_for(record["budget"])  # its preset's whole budget
    raw = (reference.folder() / f"{name}.pt").read_bytes()
    assert hashlib.sha256(raw).hexdigest() == record["sha256"] and len(raw) == record["bytes"]
    G = reference.load_reference(name)
    assert not G.training and all(p.dtype == torch.float32 for p in G.parameters())
    x = train.generate(G, 16, seed=0)
    assert x.shape == (16, 1, 28, 28) and x.min() >= -1 and x.max() <= 1
    assert x.std(dim=0).mean() > 0.05  # different noise, different images


@pytest.mark.parametrize("name", reference.REFERENCES)
def test_a_reference_scores_below_its_bound(name):
    score = reference.score(reference.load_reference(name), n=1_000, classifier_steps=300)
    assert score["ratio"] < RATIO_BOUND[name], score


def _smoke_run(run, seed=0):
    done = subprocess.run([sys.executable, "-m", "gancourse", "train", "--preset", "dcgan", "--budget", "smoke",
                           "--seed", str(seed), "--out", run, "--no-progress"], capture_output=True, text=True)  # fmt: skip
    assert done.returncode == 0, done.stderr
    return run


def _scores(D, x):
    return D(x).flatten()


def test_export_and_load_round_trip(tmp_path):
    """A smoke run exported and loaded back: its images differ from the float32 generator's
    by no more than the record's half-precision change (plus float32 rounding), and its
    discriminator's outputs by no more than half precision's rounding of the weights allows."""
    run = _smoke_run(tmp_path / "run")
    record = reference.export(run, "dcgan", {"command": "test"}, where=tmp_path / "ref", n=200, classifier_steps=20)
    assert record["steps"] == 5 and record["images_seen"] == 5 * 128 and record["score"]["n"] == 200
    assert record["budget"] == "smoke"  # the budget whose steps the run took
    G_run, D_run = checkpoint.load_models(run / "checkpoint.pt")
    G_ref = reference.load_reference("dcgan", where=tmp_path / "ref")
    change = (train.generate(G_run, 64, seed=3) - train.generate(G_ref, 64, seed=3)).abs().max().item()
    assert 0 < change <= 2 * record["half_precision_max_pixel_change"] + 1e-6
    raw = (tmp_path / "ref" / "dcgan-discriminator.pt").read_bytes()
    assert record["discriminator"] == {"sha256": hashlib.sha256(raw).hexdigest(), "bytes": len(raw)}
    D_ref = reference.load_discriminator("dcgan", where=tmp_path / "ref")
    assert not D_ref.training and type(D_ref) is type(D_run)
    x = train.generate(G_run, 64, seed=4)
    with torch.no_grad():
        run_scores, ref_scores = _scores(D_run, x), _scores(D_ref, x)
    assert 0 < (run_scores - ref_scores).abs().max() < 0.05 * run_scores.abs().max()


def test_a_discriminator_is_added_only_to_the_reference_its_run_trained(tmp_path):
    """add_discriminator ships the run's discriminator beside a reference exported without
    one, and refuses a run whose generator is not the shipped one, writing nothing."""
    run, other = _smoke_run(tmp_path / "run"), _smoke_run(tmp_path / "other", seed=1)
    ref = tmp_path / "ref"
    reference.export(run, "dcgan", {"command": "test"}, where=ref, n=200, classifier_steps=20)
    old = reference.provenance("dcgan", where=ref)
    del old["discriminator"]
    (ref / "dcgan.json").write_text(json.dumps(old))
    (ref / "dcgan-discriminator.pt").unlink()
    with pytest.raises(ValueError, match="ships no discriminator"):
        reference.load_discriminator("dcgan", where=ref)
    with pytest.raises(ValueError, match="did not train the reference 'dcgan'") as refused:
        reference.add_discriminator(other, "dcgan", where=ref)
    assert "\n" not in str(refused.value) and not (ref / "dcgan-discriminator.pt").exists()
    assert reference.provenance("dcgan", where=ref) == old
    record = reference.add_discriminator(run, "dcgan", where=ref)
    assert record == {**old, "discriminator": record["discriminator"]}
    assert reference.provenance("dcgan", where=ref) == record
    _, D_run = checkpoint.load_models(run / "checkpoint.pt")
    x = train.generate(reference.load_reference("dcgan", where=ref), 16, seed=0)
    with torch.no_grad():
        assert torch.allclose(_scores(D_run, x), _scores(reference.load_discriminator("dcgan", where=ref), x), atol=0.05)


@pytest.mark.parametrize("name", [name for name in reference.REFERENCES if "discriminator" in reference.provenance(name)])
def test_a_shipped_discriminator_loads_and_tells_real_from_its_generators_images(name):
    """The discriminator shipped beside a reference matches its record and, at the end of
    the run, still scores real images above its own generator's on average."""
    raw = (reference.folder() / f"{name}-discriminator.pt").read_bytes()
    record = reference.provenance(name)["discriminator"]
    assert hashlib.sha256(raw).hexdigest() == record["sha256"] and len(raw) == record["bytes"]
    D = reference.load_discriminator(name)
    real = data.fashion_mnist(train=False)[:500]
    fake = train.generate(reference.load_reference(name), 500, seed=0)
    with torch.no_grad():
        assert _scores(D, real).mean() > _scores(D, fake).mean()


def test_a_damaged_or_unknown_reference_is_refused_with_one_line(tmp_path):
    for name in reference.REFERENCES:
        (tmp_path / f"{name}.json").write_bytes((reference.folder() / f"{name}.json").read_bytes())
        shipped = {f"{name}.pt": reference.load_reference}
        if "discriminator" in reference.provenance(name):
            shipped[f"{name}-discriminator.pt"] = reference.load_discriminator
        for file, load in shipped.items():
            raw = bytearray((reference.folder() / file).read_bytes())
            raw[len(raw) // 2] ^= 0xFF
            (tmp_path / file).write_bytes(bytes(raw))
            with pytest.raises(checkpoint.CheckpointError, match="reinstall gancourse") as err:
                load(name, where=tmp_path)
            assert "\n" not in str(err.value)
    with pytest.raises(ValueError, match="unknown reference 'stylegan'; choose one of dcgan"):
        reference.load_reference("stylegan")
    with pytest.raises(FileNotFoundError, match="reinstall gancourse"):
        reference.provenance("dcgan", where=tmp_path / "nowhere")
