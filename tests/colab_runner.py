"""Execute one notebook where it lies, as Colab would: run by the fresh environment's Python.

Usage: python colab_runner.py NOTEBOOK [--allow-errors]

Prints one JSON line: the errors of the cells ((cell index, exception name, message)), and
where the kernel found Python and gancourse (a probe cell appended at the end).
"""

import json
import sys
from pathlib import Path

import nbclient
import nbformat

PROBE = "import sys as _s, gancourse as _g\nprint('PROBE', _s.prefix, _g.__file__)"


def main() -> int:
    path = Path(sys.argv[1])
    allow_errors = "--allow-errors" in sys.argv[2:]
    nb = nbformat.read(path, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(PROBE))
    client = nbclient.NotebookClient(
        nb, timeout=600, kernel_name="python3", allow_errors=allow_errors,
        resources={"metadata": {"path": str(path.parent)}},
    )  # fmt: skip
    try:
        client.execute()
    except nbclient.exceptions.CellExecutionError as error:
        print(json.dumps({"failed": str(error)[-4000:]}))
        return 1
    errors = [
        (index, output["ename"], output["evalue"][:300])
        for index, cell in enumerate(nb.cells)
        if cell.cell_type == "code"
        for output in cell.outputs
        if output.output_type == "error"
    ]
    probe = "".join(o.get("text", "") for o in nb.cells[-1].outputs).split()
    print(json.dumps({"errors": errors, "probe": probe[1:3]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
