"""Run a notebook's code cells in this Python process: fast, and the exceptions stay objects.

For the assignment tests, which run the same notebook many times with one cell changed:
a first run keeps a :class:`Snapshot` before each cell, and a later run can start from one
(``start=``, ``snapshot=``) and execute only the cells from there, not the whole notebook.
IPython syntax (the setup cell's ``%pip``) is translated as IPython would; outside Colab
that branch never runs.
"""

from __future__ import annotations

import random
import sys
from dataclasses import dataclass

import numpy as np
import torch
from IPython.core.inputtransformer2 import TransformerManager


@dataclass
class CellRun:
    index: int  # position among all cells of the notebook
    error: BaseException | None


@dataclass
class Snapshot:
    """The notebook's names and the random generators' states just before a cell ran.

    The names are a shallow copy: objects that later cells change in place are seen changed.
    The assignments' checks build their own cases, so they do not depend on such objects.
    """

    names: dict
    rng: tuple

    @classmethod
    def take(cls, namespace: dict) -> Snapshot:
        return cls(dict(namespace), (torch.get_rng_state(), np.random.get_state(), random.getstate()))

    def restore(self) -> dict:
        """A fresh namespace with these names; the generators set back to their states."""
        torch_state, numpy_state, python_state = self.rng
        torch.set_rng_state(torch_state)
        np.random.set_state(numpy_state)
        random.setstate(python_state)
        return dict(self.names)


def run(
    nb: dict,
    *,
    until: int | None = None,
    keep_going: bool = False,
    start: int = 0,
    snapshot: Snapshot | None = None,
    snapshots: dict[int, Snapshot] | None = None,
) -> list[CellRun]:
    """Execute the code cells in order, from cell ``start`` up to and including cell ``until``.

    ``snapshot``: begin with its names and random states (those before cell ``start``);
    ``snapshots``: filled with a :class:`Snapshot` before each code cell run.
    Stops at the first exception unless ``keep_going``; returns one record per cell run.
    """
    namespace: dict = snapshot.restore() if snapshot is not None else {"__name__": "__main__"}
    transform = TransformerManager().transform_cell
    runs = []
    for index, cell in enumerate(nb["cells"]):
        if until is not None and index > until:
            break
        if index < start or cell["cell_type"] != "code":
            continue
        if snapshots is not None:
            snapshots[index] = Snapshot.take(namespace)
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
