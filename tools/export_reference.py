"""Ship a finished run as one of the package's reference generators.

    python tools/export_reference.py --run runs/dcgan --name dcgan \
        --command "python -m gancourse train --preset dcgan --budget full --out runs/dcgan" \
        --commit bf51ce0 --device "2-core CPU" --seconds 2400

writes gancourse/references/<name>.pt and <name>-discriminator.pt (the generator and the
discriminator in half precision) and <name>.json (their provenance, with the Fréchet classifier
distance measured here; see gancourse.reference).

    python tools/export_reference.py --run runs/dcgan --name dcgan --add-discriminator

ships the discriminator of the run that trained an already shipped reference generator (the
run is refused unless its generator equals the shipped one).
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
    parser.add_argument("--add-discriminator", action="store_true",
                        help="only add the run's discriminator to the shipped reference it trained")
    parser.add_argument("--command", help="the exact command that trained the run")
    parser.add_argument("--commit", help="the course's commit the run was trained with")
    parser.add_argument("--device", help="what it ran on, in words (e.g. '2-core CPU')")
    parser.add_argument("--seconds", type=float, help="the run's wall time")
    parser.add_argument("--note", default="", help="anything else a reader should know")
    args = parser.parse_args()
    if args.add_discriminator:
        try:
            full = reference.add_discriminator(args.run, args.name)
        except ValueError as err:
            parser.exit(2, f"export_reference: {err}\n")
        print(json.dumps(full["discriminator"], indent=2))
        return
    missing = [f"--{key}" for key in ("command", "commit", "device", "seconds") if getattr(args, key) is None]
    if missing:
        parser.error(f"a new reference needs {', '.join(missing)}")
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
