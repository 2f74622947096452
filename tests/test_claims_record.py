"""Every chapter that trains has a passing record of its asserts, for its current code.

A chapter's claims about training runs hold on the seeds we tried, and a reader's seed or
processor tries others. ``benchmarks/records/claims.json`` keeps, per chapter, the hash of
its code cells and the runs of ``benchmarks/bench_claims.py --record`` for that code. A
chapter edited since its record was made needs a fresh one (the docstring of
bench_claims.py gives the commands), and a recorded failure is an assert to loosen or a
claim to restate, not a run to forget.
"""

import importlib.util
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RECORD = ROOT / "benchmarks" / "records" / "claims.json"


def _bench():
    spec = importlib.util.spec_from_file_location("bench_claims", ROOT / "benchmarks" / "bench_claims.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


bench = _bench()
CHAPTERS = {path.name[:2]: path for path in sorted((ROOT / "chapters").glob("[0-9][0-9]_*.ipynb"))}


def missing_runs(entry: dict, budget: str = "book") -> list[str]:
    """What a chapter's record entry lacks: a passing run per seed of RECORD_SEEDS, with the
    default kernels and with a native set (anything else), at ``budget``."""
    runs = [r for r in entry["runs"] if r["budget"] == budget]
    problems = [f"seed {r['seed']} with {r['kernels']} kernels: {r['status']}" for r in runs if r["status"] != "ok"]
    for kind, is_kind in (("default", lambda k: k == "DEFAULT"), ("native", lambda k: k != "DEFAULT")):
        passed = {r["seed"] for r in runs if is_kind(r["kernels"]) and r["status"] == "ok"}
        problems += [f"no passing run of seed {s} with the {kind} kernels" for s in bench.RECORD_SEEDS if s not in passed]
    return problems


def test_every_chapter_that_trains_is_in_the_record_list():
    seeded = {number for number, path in CHAPTERS.items() if re.search(r"budget\.seed\(", path.read_text())}
    assert seeded, "no chapter calls budget.seed: the chapters were not found"
    assert seeded <= set(bench.TRAINING), f"chapters {sorted(seeded - set(bench.TRAINING))} train: add them to TRAINING"


# Known gaps, each named: the test fails as soon as one closes, so that its mark goes too.
INCOMPLETE: dict[str, str] = {}  # chapter -> why its record is still to be run (a strict xfail)


@pytest.mark.parametrize(
    "number",
    [pytest.param(n, marks=pytest.mark.xfail(strict=True, reason=INCOMPLETE[n])) if n in INCOMPLETE else n
     for n in bench.TRAINING],
)  # fmt: skip
def test_the_chapter_has_a_passing_record_for_its_current_code(number):
    path = CHAPTERS[number]
    assert RECORD.exists(), f"{RECORD.relative_to(ROOT)} is missing"
    entry = json.loads(RECORD.read_text())["chapters"].get(path.stem)
    assert entry is not None, f"{path.stem} has no record: run benchmarks/bench_claims.py --chapters {number} --record ..."
    assert entry["code_hash"] == bench.code_hash(path), (
        f"{path.stem} changed since its record: run benchmarks/bench_claims.py --chapters {number} --record "
        f"{RECORD.relative_to(ROOT)}, with and without --cap default"
    )
    problems = missing_runs(entry)
    assert not problems, f"{path.stem}: " + "; ".join(problems)


def test_the_record_check_names_what_is_missing_or_failed():
    run = {"budget": "book", "status": "ok"}
    full = {"runs": [{**run, "seed": s, "kernels": k} for s in bench.RECORD_SEEDS for k in ("AVX2", "DEFAULT")]}
    assert missing_runs(full) == []
    no_default = {"runs": [r for r in full["runs"] if r["kernels"] != "DEFAULT"]}
    assert len(missing_runs(no_default)) == len(bench.RECORD_SEEDS)
    failed = {"runs": [{**r, "status": "FAILED: AssertionError"} if r["seed"] == 3 and r["kernels"] == "AVX2" else r
                       for r in full["runs"]]}  # fmt: skip
    assert missing_runs(failed) == ["seed 3 with AVX2 kernels: FAILED: AssertionError", "no passing run of seed 3 with the native kernels"]
    smoke_only = {"runs": [{**r, "budget": "smoke"} for r in full["runs"]]}
    assert len(missing_runs(smoke_only)) == 2 * len(bench.RECORD_SEEDS)


def test_a_changed_notebook_changes_its_code_hash_and_a_changed_text_does_not(tmp_path):
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("text"), nbformat.v4.new_code_cell("assert 1 < 2")]
    path = tmp_path / "chapter.ipynb"
    nbformat.write(nb, path)
    before = bench.code_hash(path)
    nb.cells[0].source = "other text"
    nbformat.write(nb, path)
    assert bench.code_hash(path) == before
    nb.cells[1].source = "assert 1 < 3"
    nbformat.write(nb, path)
    assert bench.code_hash(path) != before


def test_the_address_colab_installs_from_is_not_part_of_the_code_hash(tmp_path):
    import nbformat

    setup = 'if "google.colab" in sys.modules:\n    %pip install -q "gancourse @ git+https://github.com/{}@main"'
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(setup.format("gan-course/gan-course")), nbformat.v4.new_code_cell("x = 1")]
    path = tmp_path / "chapter.ipynb"
    nbformat.write(nb, path)
    before = bench.code_hash(path)
    nb.cells[0].source = setup.format("someone/their-fork")  # tools/adopt.py, on a fork
    nbformat.write(nb, path)
    assert bench.code_hash(path) == before
    nb.cells[0].source = nb.cells[0].source.replace("-q ", "")  # the rest of the cell still counts
    nbformat.write(nb, path)
    assert bench.code_hash(path) != before


def test_add_to_record_keeps_only_the_current_codes_runs_and_replaces_a_repeat(tmp_path):
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("x = 1")]
    chapter = tmp_path / "02_probe.ipynb"
    nbformat.write(nb, chapter)
    record = tmp_path / "claims.json"
    run = {"seed": 0, "kernels": "DEFAULT", "budget": "book", "status": "ok", "glued": {}}
    bench.add_to_record(record, chapter, run)
    bench.add_to_record(record, chapter, {**run, "seed": 1})
    bench.add_to_record(record, chapter, {**run, "status": "FAILED: AssertionError"})  # seed 0 again
    entry = json.loads(record.read_text())["chapters"]["02_probe"]
    assert [(r["seed"], r["status"]) for r in entry["runs"]] == [(0, "FAILED: AssertionError"), (1, "ok")]
    nb.cells[0].source = "x = 2"  # the chapter changed: its old runs no longer count
    nbformat.write(nb, chapter)
    bench.add_to_record(record, chapter, {**run, "seed": 4})
    entry = json.loads(record.read_text())["chapters"]["02_probe"]
    assert entry["code_hash"] == bench.code_hash(chapter) and [r["seed"] for r in entry["runs"]] == [4]
