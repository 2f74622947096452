"""Score a trained DCGAN run: its Fréchet classifier distance (FCD) against the real-vs-real floor.

The protocol is that of the course's reference generators (:func:`gancourse.reference.score`):
a :class:`gancourse.metrics.FeatureClassifier` trained on 3,000 labelled Fashion-MNIST images,
then the FCD between N generated images and the last N training images, and between those and
the N before them (the floor, the value two real sets of that size reach). The generator is
rebuilt from the checkpoint alone.

    python benchmarks/score_run.py runs/dcgan/checkpoint.pt --n 5000 --json score.json
"""

from __future__ import annotations

import argparse
import json
import time

from gancourse import checkpoint, reference


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("checkpoint", help="a checkpoint.pt written by `python -m gancourse train`")
    parser.add_argument("--n", type=int, default=5_000, help="images per set (default 5000)")
    parser.add_argument("--classifier-steps", type=int, default=2_000, help="the feature classifier's steps")
    parser.add_argument("--device", default=None)
    parser.add_argument("--json", help="also write the figures to this JSON file")
    args = parser.parse_args()

    t0 = time.perf_counter()
    G, _ = checkpoint.load_models(args.checkpoint)
    step = checkpoint.load_checkpoint(args.checkpoint)["step"]
    score = reference.score(G.to(args.device or "cpu"), args.n, args.classifier_steps, device=args.device)
    figures = {"checkpoint": args.checkpoint, "step": step, **score, "seconds": time.perf_counter() - t0}
    print(f"{args.checkpoint} (step {step}): FCD {score['fcd']:.3f}, floor {score['floor']:.3f} "
          f"({score['ratio']:.1f} x), {args.n:,} images each")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(figures, f, indent=2)


if __name__ == "__main__":
    main()
