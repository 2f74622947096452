"""The benchmark scripts run, and report what they promise (tiny runs; the real ones take minutes)."""

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from gancourse import record

ROOT = Path(__file__).resolve().parents[1]


def test_bench_modes_prints_every_seed_the_table_and_the_record(tmp_path):
    out = tmp_path / "modes.json"
    done = subprocess.run(
        [sys.executable, "benchmarks/bench_modes.py", "--preset", "best-ring", "ring-collapse", "--seeds", "2",
         "--steps", "5", "--samples", "200", "--json", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    text = done.stdout
    assert text.count("seed 0:") == 2 and text.count("seed 1:") == 2
    assert "PacGAN2 *" in text and "PacGAN4" not in text  # Table 1's rows for the ring only
    assert "record (8/8 modes and >= 97% high quality on every seed): best-ring/gan:" in text
    assert "record" not in text.split("best-ring/gan:")[-1].split("\n", 1)[1]  # not for ring-collapse
    assert "2 parallel processes" in text and out.exists()
    session = json.loads(out.read_text())
    assert [r["label"] for r in session["runs"]] == ["best-ring/gan"] * 2 + ["ring-collapse/gan"] * 2
    assert session["configs"]["best-ring/gan"]["train.r1_gamma"] == 1.0 and session["provenance"]["workers"] == 2


def test_bench_modes_names_its_experiments_and_runs_gan_toys_length_at_the_full_budget():
    def dry(*args):
        done = subprocess.run([sys.executable, "benchmarks/bench_modes.py", *args, "--dry-run"], cwd=ROOT,
                              capture_output=True, text=True, timeout=300)  # fmt: skip
        return done.returncode, done.stdout + done.stderr

    rc, text = dry("--experiment", "wasserstein", "--budget", "full")
    assert rc == 0 and text.count("100000 steps") == 6  # Gulrajani et al.'s gan_toy.py trains 100,000 iterations
    assert "ring-collapse/wgan-gp:" in text and "grid/wgan-gp-toy:" in text
    rc, text = dry("--experiment", "wasserstein", "--steps", "7", "--first-seed", "5")
    assert rc == 0 and text.count("seeds 5-9, 7 steps") == 6
    rc, text = dry("--experiment", "remedies")
    assert rc == 0 and "ring-collapse/r1 r1_gamma=0.1: seeds 0-4, " in text and "ring-collapse/ttur+noise:" in text
    rc, text = dry("--preset", "grid", "--remedies", "ttur+unrolled")
    assert rc == 2 and "unknown remedy 'unrolled'" in text
    rc, text = dry("--experiment", "record", "--preset", "grid")
    assert rc == 2 and "leave out --preset and --remedies" in text


def _load(name):
    spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_bench_claims_runs_a_notebook_with_a_seed_and_reads_what_it_glues(tmp_path):
    bench = _load("bench_claims")
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(
        "import os\nfrom gancourse import budget\nfrom gancourse.site import glue\n"
        "glue('seed', budget.seed(3))\nglue('budget', budget.current())\nassert budget.seed(0) < 5_000"
    )]  # fmt: skip
    path = tmp_path / "probe.ipynb"
    nbformat.write(nb, path)
    ok = bench.run_chapter(path, {"GANCOURSE_SEED": "2", "GANCOURSE_BUDGET": "smoke"}, timeout=120)
    assert ok["status"] == "ok" and ok["glued"] == {"seed": "2003", "budget": "'smoke'"}
    failed = bench.run_chapter(path, {"GANCOURSE_SEED": "7", "GANCOURSE_BUDGET": "smoke"}, timeout=120)
    assert failed["status"].startswith("FAILED") and "AssertionError" in failed["status"]
    nb.cells = [nbformat.v4.new_code_cell("import time\ntime.sleep(8)")]
    nbformat.write(nb, path)
    hung = bench.run_chapter(path, {"GANCOURSE_BUDGET": "smoke"}, timeout=2)  # reported, not raised
    assert hung["status"].startswith("FAILED: CellTimeoutError")


def test_bench_book_recipe_gives_every_candidate_the_preset_time_and_scores_it(tmp_path):
    out = tmp_path / "recipe.json"
    done = subprocess.run(
        [sys.executable, "benchmarks/bench_book_recipe.py", "--base-steps", "3", "--seeds", "0", "--only",
         "width 16, batch 64", "--time-steps", "2", "--rounds", "1", "--jobs", "1", "--json", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    figures = json.loads(out.read_text())
    per_step, steps = figures["seconds_per_step"], figures["steps"]
    assert set(steps) == {"preset", "width 16, batch 64"} and steps["preset"] == 3
    assert steps["width 16, batch 64"] == round(3 * per_step["preset"] / per_step["width 16, batch 64"])
    assert per_step["width 16, batch 64"] < per_step["preset"]  # a quarter of the width, half the batch
    ratios = figures["fcd_over_floor"]
    assert all(len(r) == 1 and r[0] > 1 for r in ratios.values())  # three steps are far from the floor
    assert "width 16, batch 64" in done.stdout and "FCD / floor by seed" in done.stdout


def test_bench_book_recipe_compares_chapter_7s_recipes_against_its_width_24_run(tmp_path):
    out = tmp_path / "recipe.json"
    done = subprocess.run(
        [sys.executable, "benchmarks/bench_book_recipe.py", "--preset", "wgan-gp-fashion", "--base-steps", "2",
         "--seeds", "0", "--only", "width 8", "--time-steps", "2", "--rounds", "1", "--jobs", "1", "--json", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    figures = json.loads(out.read_text())
    assert figures["preset"] == "wgan-gp-fashion" and figures["base"] == "width 24"
    per_step, steps = figures["seconds_per_step"], figures["steps"]
    assert set(steps) == {"width 24", "width 8"} and steps["width 24"] == 2
    assert steps["width 8"] == round(2 * per_step["width 24"] / per_step["width 8"]) > 2  # a third of the width
    wrong = subprocess.run(
        [sys.executable, "benchmarks/bench_book_recipe.py", "--preset", "wgan-gp-fashion", "--only", "width 16, batch 64"],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert wrong.returncode == 2 and "not a candidate of wgan-gp-fashion: width 16, batch 64; choose from width 24" in wrong.stderr


def test_chapter_7s_book_preset_is_the_candidate_bench_book_recipe_chose():
    from gancourse import runs

    bench = _load("bench_book_recipe")
    small = runs.load_config("wgan-gp-small")
    chosen = runs.load_config("wgan-gp-fashion", steps=small.steps, **bench.WGAN_GP["width 16, batch 32, k 1, lr 2e-4"])
    assert chosen == small  # the paper's preset with that candidate's overrides, nothing else
    trained, paper = small.training_config(), runs.load_config("wgan-gp-fashion").training_config()
    assert (trained.loss, trained.betas, trained.gp_lambda) == (paper.loss, paper.betas, paper.gp_lambda) == ("wgan-gp", (0.0, 0.9), 10.0)
    assert (trained.k, paper.k, trained.batch_size, small.ngf) == (1, 5, 32, 16)


def _cpu_flags() -> set[str] | None:
    """The CPU's features as the Linux kernel lists them (None elsewhere)."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return None
    return {flag for line in text.splitlines() if line.startswith("flags") for flag in line.split(":", 1)[1].split()}


def test_bench_book_recipe_runs_bf16_candidates_only_on_hardware_with_bf16():
    bench = _load("bench_book_recipe")
    names = ["preset", "width 16, batch 64", "width 16, batch 64, bf16 + channels-last"]
    assert bench.runnable(names, bf16=True) == (names, [])
    assert bench.runnable(names, bf16=False) == (names[:2], names[2:])
    flags = _cpu_flags()
    if flags is None:
        pytest.skip("the CPU's features are read from /proc/cpuinfo, which only Linux has")
    # hardware bf16 on x86: the AVX-512 BF16 instructions or AMX tiles, as the kernel reports them
    assert bench.native_bf16() == bool(flags & {"avx512_bf16", "amx_tile"}), sorted(flags & {"avx512_bf16", "amx_tile"})


def test_bench_diffusion_scores_both_models_and_counts_their_network_evaluations(tmp_path):
    def bench(*args):
        done = subprocess.run([sys.executable, "benchmarks/bench_diffusion.py", *args], cwd=ROOT,
                              capture_output=True, text=True, timeout=600)  # fmt: skip
        return done.returncode, done.stdout + done.stderr

    session = tmp_path / "session.json"
    rc, text = bench("--seeds", "0", "1", "--budget", "smoke", "--steps", "5", "--gan-steps", "5",
                     "--dataset", "ring", "grid", "--json", str(session))  # fmt: skip
    assert rc == 0, text[-2000:]
    assert "8 runs in 2 parallel processes, budget smoke" in text
    for seed in (0, 1):
        for dataset in ("ring", "grid"):
            assert f"GAN (best-{dataset}) on the {dataset}, seed {seed}: " in text
            assert f"diffusion (T = 1000) on the {dataset}, seed {seed}: " in text
    assert text.count("; 1 network evaluation per sample;") == 4  # counted: one forward pass of G
    assert text.count("; 1000 network evaluations per sample;") == 4  # counted: T passes of the denoiser
    assert "evals/sample" in text and "means over seeds 0, 1" in text
    # the session, in bench_modes.py's format: what tools/export_record.py ships as a record
    written = json.loads(session.read_text())
    assert written["provenance"]["command"].startswith("python benchmarks/bench_diffusion.py --seeds 0 1")
    assert set(written["configs"]) == {"best-ring/gan", "best-grid/gan", "diffusion/ring", "diffusion/grid"}
    assert written["configs"]["diffusion/grid"]["steps"] == 5 and written["configs"]["diffusion/grid"]["scale"] == 0.25
    assert len(written["runs"]) == 8 and {r["evaluations"] for r in written["runs"]} == {1, 1000}
    assert record.stale({"sessions": [written]}) == []
    rc, text = bench("--models", "diffusion", "--seeds", "0", "--budget", "smoke", "--steps", "3", "--dataset", "grid")
    assert rc == 0 and "1 runs in 1 parallel processes" in text and "GAN (" not in text, text[-2000:]
    rc, text = bench("--seeds", "0", "--steps", "0")
    assert rc == 2 and "--steps must be a positive integer" in text


def _bench(script, *args):
    done = subprocess.run([sys.executable, f"benchmarks/{script}", *args], cwd=ROOT, capture_output=True, text=True, timeout=900)
    return done.returncode, done.stdout + done.stderr


def test_bench_membership_attacks_the_discriminators_of_both_training_sets_and_writes_a_session(tmp_path):
    session = tmp_path / "session.json"
    rc, text = _bench("bench_membership.py", "--seeds", "3", "--budget", "smoke", "--json", str(session))
    assert rc == 0, text[-2000:]
    assert "2 runs in 2 parallel processes, budget smoke" in text
    assert "256 training images, seed 3: attack AUC " in text and "60,000 training images, seed 3: attack AUC " in text
    written = json.loads(session.read_text())
    assert set(written["configs"]) == {"dcgan-small limit=256", "dcgan-small"}
    assert written["configs"]["dcgan-small limit=256"]["limit"] == 256 and written["configs"]["dcgan-small"]["limit"] is None
    assert record.stale({"sessions": [written]}) == []
    runs = {r["size"]: r for r in written["runs"]}
    assert runs["small"]["train_images"] == 256 and runs["full"]["train_images"] == 60_000
    for r in runs.values():
        assert 0 <= r["auc"] <= 1 and r["accuracy"] in {i / 512 for i in range(513)}  # 512 images called
        assert 0 <= r["near_copies"] <= 1 and r["steps"] == 20
    rc, text = _bench("bench_membership.py", "--seeds", "0", "--json", str(session))  # never overwritten
    assert rc == 2 and "exists; give another path" in text


def test_bench_conditional_scores_each_discriminator_and_reads_acgans_own_classifier(tmp_path):
    session = tmp_path / "session.json"
    rc, text = _bench("bench_conditional.py", "--discriminators", "acgan", "projection", "--seeds", "0", "--budget", "smoke",
                      "--json", str(session))  # fmt: skip
    assert rc == 0, text[-2000:]
    assert "2 runs in 2 parallel processes, budget smoke" in text
    assert "acgan, seed 0: accuracy " in text and "projection, seed 0: accuracy " in text
    assert text.count("its auxiliary classifier") == 1  # AC-GAN's D classifies; the projection D does not
    written = json.loads(session.read_text())
    assert set(written["configs"]) == {"conditional/acgan", "conditional/projection"}
    assert written["configs"]["conditional/acgan"]["loss"] == "acgan"
    assert record.stale({"sessions": [written]}) == []
    for r in written["runs"]:
        assert r["steps"] == 5 and 0 <= r["accuracy"] <= 1 and r["fcd_ratio"] > 0 and r["class_fcd_ratio"] > 0
        assert (r["auxiliary_accuracy"] is None) == (r["discriminator"] != "acgan")
