"""Run a notebook's code cells in this Python process: fast, and the exceptions stay objects.

For the assignment tests, which run the same notebook many times with one cell changed.
IPython syntax (the setup cell's ``%pip``) is translated as IPython would; outside Colab
that branch never runs.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

from IPython.core.inputtransformer2 import TransformerManager


@dataclass
class CellRun:
    index: int  # position among all cells of the notebook
    error: BaseException | None


def run(nb: dict, *, until: int | None = None, keep_going: bool = False) -> list[CellRun]:
    """Execute the code cells in order, up to and including cell ``until``.

    Stops at the first exception unless ``keep_going``; returns one record per cell run.
    """
    namespace: dict = {"__name__": "__main__"}
    transform = TransformerManager().transform_cell
    runs = []
    for index, cell in enumerate(nb["cells"]):
        if until is not None and index > until:
            break
        if cell["cell_type"] != "code":
            continue
        try:
            exec(compile(transform("".join(cell["source"])), f"<cell {index}>", "exec"), namespace)  # noqa: S102
        except Exception as error:  # the notebook's own exception, kept for the test to inspect
            runs.append(CellRun(index, error))
            if not keep_going:
                break
        else:
            runs.append(CellRun(index, None))
    if "matplotlib.pyplot" in sys.modules:  # the notebook's figures would pile up in this process
        sys.modules["matplotlib.pyplot"].close("all")
    return runs
