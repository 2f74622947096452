"""Ship a finished run as one of the package's reference generators.

    python tools/export_reference.py --run runs/dcgan --name dcgan \
        --command "python -m gancourse train --preset dcgan --budget full --out runs/dcgan" \
        --commit bf51ce0 --device "2-core CPU" --seconds 2400

writes gancourse/references/<name>.pt (the generator in half precision) and <name>.json (its
provenance, with the Fréchet classifier distance measured here; see gancourse.reference).
"""

from __future__ import annotations

import argparse
import datetime
import json
import platform

import torch

from gancourse import reference


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--run", required=True, help="the run folder (config.json, checkpoint.pt)")
    parser.add_argument("--name", required=True, choices=reference.REFERENCES)
    parser.add_argument("--command", required=True, help="the exact command that trained the run")
    parser.add_argument("--commit", required=True, help="the course's commit the run was trained with")
    parser.add_argument("--device", required=True, help="what it ran on, in words (e.g. '2-core CPU')")
    parser.add_argument("--seconds", type=float, required=True, help="the run's wall time")
    parser.add_argument("--note", default="", help="anything else a reader should know")
    args = parser.parse_args()
    record = {
        "command": args.command,
        "commit": args.commit,
        "device": args.device,
        "wall_seconds": args.seconds,
        "torch": torch.__version__,
        "python": platform.python_version(),
        "exported": datetime.date.today().isoformat(),
        "note": args.note,
    }
    full = reference.export(args.run, args.name, record)
    print(json.dumps(full["score"], indent=2))


if __name__ == "__main__":
    main()
