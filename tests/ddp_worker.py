"""``python -m gancourse`` as one rank of a ``torchrun`` job, recording the files this rank writes.

    torchrun --nproc_per_node=2 tests/ddp_worker.py LOG_DIR train --preset ring --out runs/x

Every file the package writes goes through :func:`gancourse.checkpoint.atomic_write`; this
script wraps it, runs the command line, and leaves ``LOG_DIR/writes-rank{RANK}.json``: the
names written by this rank, in order.
"""

import json
import os
import sys
from pathlib import Path

from gancourse import checkpoint, runs
from gancourse.__main__ import main

written: list[str] = []
atomic_write = checkpoint.atomic_write


def recorded(path, data):
    written.append(Path(path).name)
    return atomic_write(path, data)


checkpoint.atomic_write = runs.atomic_write = recorded
log_dir, argv = Path(sys.argv[1]), sys.argv[2:]
try:
    code = main(argv)
finally:
    (log_dir / f"writes-rank{os.environ['RANK']}.json").write_text(json.dumps(written))
sys.exit(code)
