"""Student notebooks from solution notebooks, and the solutions' stored check outputs.

Each assignment has one source, ``assignments/solutions/<name>.ipynb``. The parts a student
writes are marked as nbgrader marks them::

    def d_loss(d_real, d_fake):
        ### BEGIN SOLUTION
        return bce(d_real, 1.0) + bce(d_fake, 0.0)
        ### END SOLUTION

The student version ``assignments/<name>.ipynb`` keeps everything else and replaces each
marked region by a stub at the same indentation (in Markdown cells, by a prompt)::

        # YOUR CODE HERE
        raise NotImplementedError("replace these two lines with your code")

The solution cells and the check cells (tagged ``check``) carry nbgrader's cell metadata,
so an nbgrader course can take the solution notebooks as they are. Outputs are stripped
from both, except in the solution cells marked ``# NBVAL_CHECK_OUTPUT``:
nbval compares what those cells print with what is stored (``--refresh`` stores it).

Usage (from the repository root)::

    python tools/assignments.py            # write the student notebooks (and nbgrader's metadata)
    python tools/assignments.py --check    # exit 1 if a student notebook is out of date
    python tools/assignments.py --refresh  # run the solutions (smoke budget), store checked outputs
    python tools/assignments.py --refresh a1_gan_losses  # only that one
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import re
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS = ROOT / "assignments" / "solutions"
STUDENTS = ROOT / "assignments"

BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
CHECK_OUTPUT = "# NBVAL_CHECK_OUTPUT"
CODE_STUB = ["# YOUR CODE HERE", 'raise NotImplementedError("replace these two lines with your code")']
MARKDOWN_STUB = "*Your answer here.*"
NBVAL_COMMENT = re.compile(r"^\s*# NBVAL_\w+\s*$")


class MarkerError(ValueError):
    """A solution notebook whose solution markers do not pair up."""


class SolutionFailed(RuntimeError):
    """A solution notebook that raised an error when run."""


def read(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def dumps(nb: dict) -> str:
    """The notebook as nbformat writes it (one-space indent, a final newline)."""
    return json.dumps(nb, indent=1, ensure_ascii=False, sort_keys=True) + "\n"


def write(path: Path, text: str) -> None:
    """Replace ``path`` by ``text`` atomically: an interrupted write leaves the old notebook whole."""
    with tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=path.parent, suffix=".tmp", delete=False) as f:
        f.write(text)
    os.replace(f.name, path)


def source(cell: dict) -> str:
    return "".join(cell["source"])  # a list of lines, or one string


def lines_to_source(lines: list[str]) -> list[str]:
    """Lines to the list form notebooks store: every line but the last ends in a newline."""
    return [line + "\n" for line in lines[:-1]] + lines[-1:] if lines else []


def solution_regions(text: str, where: str = "") -> list[tuple[int, int]]:
    """(begin, end) line indices of the marked regions of ``text``, markers included."""
    regions, begin = [], None
    for i, line in enumerate(text.split("\n")):
        marker = line.strip()
        if marker == BEGIN:
            if begin is not None:
                raise MarkerError(f"{where}: line {i + 1} opens a solution inside another; close the first with {END!r}")
            begin = i
        elif marker == END:
            if begin is None:
                raise MarkerError(f"{where}: line {i + 1} closes a solution that was never opened with {BEGIN!r}")
            regions.append((begin, i))
            begin = None
    if begin is not None:
        raise MarkerError(f"{where}: the solution opened on line {begin + 1} is never closed; add {END!r}")
    return regions


def solution_lines(text: str) -> list[str]:
    """The lines strictly inside the marked regions of ``text``."""
    lines = text.split("\n")
    return [line for b, e in solution_regions(text) for line in lines[b + 1 : e]]


def stub_cell(cell: dict, where: str) -> dict:
    """The student's version of one cell: marked regions become stubs, NBVAL comments go."""
    text = source(cell)
    lines = text.split("\n")
    out, last = [], 0
    for begin, end in solution_regions(text, where):
        out += lines[last:begin]
        indent = re.match(r"\s*", lines[begin]).group()
        if cell["cell_type"] == "code":
            out += [indent + stub for stub in CODE_STUB]
        else:
            out.append(MARKDOWN_STUB)
        last = end + 1
    out += lines[last:]
    if cell["cell_type"] == "code":
        out = [line for line in out if not NBVAL_COMMENT.match(line)]
    new = copy.deepcopy(cell)
    new["source"] = lines_to_source(out)
    if new["cell_type"] == "code":
        new["outputs"], new["execution_count"] = [], None
    return new


def with_nbgrader_metadata(nb: dict, name: str = "") -> dict:
    """The solution notebook with nbgrader's cell metadata, so nbgrader can take it as it is.

    A cell with a marked solution is a solution cell (a Markdown one is also graded by hand);
    a cell tagged ``check`` is a locked, autograded test worth one point. ``grade_id`` is
    the cell's id.
    """
    nb = copy.deepcopy(nb)
    for i, cell in enumerate(nb["cells"]):
        solution = bool(solution_regions(source(cell), f"{name} cell {i}"))
        check = "check" in cell["metadata"].get("tags", [])
        if not (solution or check):
            cell["metadata"].pop("nbgrader", None)
            continue
        graded = check or cell["cell_type"] == "markdown"
        meta = {"grade": graded, "grade_id": cell.get("id", f"cell-{i}"), "locked": check, "schema_version": 3, "solution": solution}
        if graded:
            meta["points"] = 1
        cell["metadata"]["nbgrader"] = meta
    return nb


def student_version(nb: dict, name: str = "") -> dict:
    """The student notebook generated from a solution notebook."""
    student = copy.deepcopy(nb)
    student["cells"] = [stub_cell(cell, f"{name} cell {i}") for i, cell in enumerate(nb["cells"])]
    return student


def pairs() -> list[tuple[Path, Path]]:
    """(solution, student) paths of every assignment."""
    return [(path, STUDENTS / path.name) for path in sorted(SOLUTIONS.glob("*.ipynb"))]


def _generated(solution: Path) -> dict[Path, str]:
    """What the solution (with nbgrader metadata) and its student notebook should hold."""
    nb = with_nbgrader_metadata(read(solution), solution.name)
    return {solution: dumps(nb), STUDENTS / solution.name: dumps(student_version(nb, solution.name))}


def out_of_date() -> list[Path]:
    """Solutions missing their nbgrader metadata, and student notebooks that differ from what their solution makes."""
    return [
        path
        for solution, _ in pairs()
        for path, text in _generated(solution).items()
        if not path.exists() or path.read_text(encoding="utf-8") != text
    ]


def write_generated() -> list[Path]:
    """Write the nbgrader metadata into the solutions and the student notebooks; return what changed."""
    written = []
    for solution, _ in pairs():
        for path, text in _generated(solution).items():
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                write(path, text)
                written.append(path)
    return written


def refresh_outputs(path: Path, timeout: int = 600) -> None:
    """Run a solution notebook alone in a temporary folder at the smoke budget; keep only the outputs nbval checks."""
    import nbclient
    import nbformat

    nb = nbformat.reads(path.read_text(encoding="utf-8"), as_version=4)
    env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"} | {"GANCOURSE_BUDGET": "smoke"}
    with tempfile.TemporaryDirectory() as folder:
        try:
            nbclient.NotebookClient(nb, timeout=timeout, resources={"metadata": {"path": folder}}).execute(env=env)
        except nbclient.exceptions.CellExecutionError as error:
            last = re.sub(r"\x1b\[[0-9;]*m", "", str(error).strip().splitlines()[-1])  # no colour codes
            raise SolutionFailed(f"{path.name} does not run, so nothing was written: {last}") from None
    stored = read(path)
    for cell, ran in zip(stored["cells"], nb.cells, strict=True):
        if cell["cell_type"] != "code":
            continue
        checked = CHECK_OUTPUT in source(cell)
        # nbval compares only cells that were run: a checked cell keeps its execution count
        cell["execution_count"] = ran.execution_count if checked else None
        cell["outputs"] = [_plain(output) for output in ran.outputs] if checked else []
    write(path, dumps(stored))


def _plain(output) -> dict:
    output = json.loads(json.dumps(output))
    if "execution_count" in output:
        output["execution_count"] = None
    if output.get("output_type") == "stream":
        text = output["text"]
        output["text"] = text.splitlines(keepends=True) if isinstance(text, str) else text
    return output


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="only report student notebooks that are out of date")
    parser.add_argument("--refresh", action="store_true", help="re-run the solutions and store their checked outputs first")
    parser.add_argument("names", nargs="*", help="with --refresh: only these assignments (e.g. a1_gan_losses)")
    args = parser.parse_args(argv)
    try:
        if args.check:
            stale = out_of_date()
            for path in stale:
                print(f"{path.relative_to(ROOT)} is out of date: run python tools/assignments.py")
            return 1 if stale else 0
        if args.refresh:
            unknown = set(args.names) - {solution.stem for solution, _ in pairs()}
            if unknown:
                print(f"error: no assignment named {sorted(unknown)}; see {SOLUTIONS.relative_to(ROOT)}", file=sys.stderr)
                return 2
            for solution, _ in pairs():
                if args.names and solution.stem not in args.names:
                    continue
                print(f"running {solution.relative_to(ROOT)} ...", flush=True)
                refresh_outputs(solution)
        for path in write_generated():
            print(f"wrote {path.relative_to(ROOT)}")
    except (MarkerError, SolutionFailed) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
