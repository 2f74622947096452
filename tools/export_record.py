"""Ship benchmark sessions as one of the package's records (gancourse.record).

    ATEN_CPU_CAPABILITY=default python benchmarks/bench_modes.py --experiment record --json best-default.json
    python benchmarks/bench_modes.py --experiment record --json best-native.json
    python tools/export_record.py --name best --description "..." best-native.json best-default.json

writes gancourse/records/<name>.json: the sessions as bench_modes.py wrote them (provenance,
settings, every run), in the order given. A session run from a working tree with uncommitted
changes cannot be traced to a commit and is refused unless --allow-uncommitted; so is a
session whose settings no longer match today's presets (gancourse.record.stale).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from gancourse import checkpoint, record


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("sessions", nargs="+", help="JSON files written by bench_modes.py --json")
    parser.add_argument("--name", required=True, help=f"the record's name ({', '.join(record.RECORDS)} for the package's)")
    parser.add_argument("--description", required=True, help="what the record measures, in one sentence")
    parser.add_argument("--allow-uncommitted", action="store_true", help="accept sessions run with uncommitted changes")
    parser.add_argument("--where", default=None, help="write into this folder instead of the package's")
    args = parser.parse_args()
    sessions = []
    for path in args.sessions:
        try:
            session = json.loads(Path(path).read_text())
            provenance, commit = session["provenance"], session["provenance"]["commit"]
            session["configs"], session["runs"]  # noqa: B018  (both must be there)
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise SystemExit(f"error: {path} is not a session written by bench_modes.py --json ({error}).") from None
        if "uncommitted" in commit and not args.allow_uncommitted:
            raise SystemExit(f"error: {path} ran with uncommitted changes ({commit}); commit, run it again, "
                             "or pass --allow-uncommitted.")  # fmt: skip
        sessions.append(session)
        print(f"{path}: {len(session['runs'])} runs, kernels {provenance['kernels']}, commit {commit}")
    shipped = {"format": record.FORMAT, "name": args.name, "description": args.description, "sessions": sessions}
    differences = record.stale(shipped)
    if differences:
        raise SystemExit("error: the sessions' settings differ from today's presets:\n" + "\n".join(differences))
    out = Path(args.where or record.folder()) / f"{args.name}.json"
    checkpoint.atomic_write(out, json.dumps(shipped, indent=1) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
