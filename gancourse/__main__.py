"""Command line: ``python -m gancourse train ...``, ``sample``, ``presets``, ``data``.

Examples::

    python -m gancourse presets
    python -m gancourse train --preset ring --out runs/ring
    python -m gancourse train --preset dcgan --out runs/dcgan --budget full --device cuda
    python -m gancourse train --config my_run.toml --out runs/mine --resume
    python -m gancourse data            # is Fashion-MNIST available here?
    python -m gancourse sample --checkpoint runs/dcgan/checkpoint.pt --n 64 --out grid.png
    torchrun --nproc_per_node=4 -m gancourse train --preset dcgan --budget full --out runs/dcgan

Every error ends the command with one line ``error: ...`` on stderr and exit code 2
(``--debug``: the traceback instead); Ctrl-C ends it with one line and exit code 130.
"""

from __future__ import annotations

import argparse
import errno
import json
import os
import signal
import sys
import threading

from . import budget

CHECKPOINT_NAME = "checkpoint.pt"  # train.CHECKPOINT_NAME, without importing torch (a test keeps them equal)


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, not argparse's usage block
        print(f"error: {message} (see `{self.prog} --help`)", file=sys.stderr)
        sys.exit(2)


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--debug", action="store_true", help="show the traceback of an error")
    parser = _Parser(prog="python -m gancourse", description="The GAN course's command line.")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("train", parents=[common], help="train a course model and write samples, history and checkpoints")
    run.add_argument("--preset", help="a named course experiment (see `presets`)")
    run.add_argument("--config", help="a TOML file; may name its base with preset = '...'")
    run.add_argument("--out", required=True, help="folder for config.json, checkpoint.pt, history.json, samples.png")
    run.add_argument("--budget", choices=budget.BUDGETS, help=f"overrides ${budget.ENV_VAR}")
    run.add_argument("--steps", type=int, help="generator steps (overrides the budget)")
    run.add_argument("--loss", help="minimax | nonsaturating | wgan | wgan-gp | feature-matching")
    run.add_argument("--seed", type=int, help="seed of the training loop's random numbers")
    run.add_argument("--device", help="cpu, cuda, mps, ... (default: automatic)")
    run.add_argument("--resume", action="store_true", help="continue the run in OUT from its checkpoint")
    run.add_argument("--force", action="store_true", help="delete the run in OUT and start over")
    run.add_argument("--download", action="store_true", help="let torchvision download an image dataset if missing")
    run.add_argument("--checkpoint-every", type=int, help="steps between checkpoints (default: 5%% of the steps; 0: only at the end)")
    run.add_argument("--no-progress", action="store_true", help="no progress bar")
    run.add_argument("--sync-batchnorm", action="store_true", help="under torchrun on GPUs: batch norm over the global batch")

    sub.add_parser("presets", parents=[common], help="list the course's experiments")

    sample = sub.add_parser("sample", parents=[common], help="draw samples from a trained generator, from its checkpoint alone")
    sample.add_argument("--checkpoint", required=True, help="a checkpoint.pt written by `train`")
    sample.add_argument("--n", type=int, default=64, help="how many samples (default 64)")
    sample.add_argument("--seed", type=int, default=0, help="seed of the noise (default 0)")
    sample.add_argument("--out", required=True, help="a .png file for the image grid or the scatter plot")
    sample.add_argument("--force", action="store_true", help="replace OUT if it exists")

    check = sub.add_parser("data", parents=[common], help="check that Fashion-MNIST can be loaded here (optionally download it)")
    check.add_argument("--download", action="store_true", help="let torchvision download it if missing")
    return parser


def main(argv: list[str] | None = None) -> int:
    try:
        args = _parser().parse_args(argv)
    except SystemExit as done:  # --help, or a malformed command line (one line, exit code 2)
        return done.code
    try:
        if args.command == "presets":
            from .runs import PRESETS

            for name, preset in PRESETS.items():
                print(f"{name:16s} {json.dumps(preset)}")
            return 0
        if args.command == "data":
            return _data(args)
        if args.command == "sample":
            return _sample(args)
        return _train(args)
    except KeyboardInterrupt:
        print(f"interrupted. {_resume_hint(args)}", file=sys.stderr)
        if not _imported("torch"):  # Ctrl-C inside `import torch`: its half-built state can crash the exit
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(130)
        return 130
    except Exception as err:
        if args.debug:
            raise
        from .distributed import RankZeroFailed

        if not isinstance(err, RankZeroFailed):  # rank 0 has said it
            print(f"error: {_one_line(err)}", file=sys.stderr)
        return 2


def _one_line(err: Exception) -> str:
    """What went wrong, on one line: the package's own messages as they are, others with their type."""
    from .checkpoint import CheckpointError
    from .distributed import lost_contact
    from .train import TrainingDiverged

    if lost_contact(err):
        first = str(err).strip().splitlines()[0][:200]
        text = (
            f"rank {os.environ.get('RANK', '?')} lost the other processes of the run ({first}); one of them died "
            "or hung. Rank 0's last checkpoint is in --out: run the same torchrun command with --resume to continue."
        )
    elif isinstance(err, OSError) and err.strerror and err.filename:  # the system's own, e.g. a full disk
        text = _system_error(err)
    elif isinstance(err, ValueError | OSError | CheckpointError | TrainingDiverged):
        text = str(err)
    else:
        text = f"{type(err).__name__}: {err} (add --debug to see where)"
    return " ".join(text.split("\n"))


def _system_error(err: OSError) -> str:
    """An operating system's error in one line, with advice by its kind (a read fails as a write does)."""
    where = f"{err.filename}: {err.strerror}"
    if err.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
        return f"cannot write {where}; check that the folder is writable and the disk has room."
    if err.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return f"{where}; check its permissions, or choose another path."
    if isinstance(err, IsADirectoryError | NotADirectoryError):
        return f"{where}; name a file where a file is asked for, and a folder where a folder is."
    return f"{where}; check the path."


def _imported(name: str) -> bool:
    """Whether the module ``name`` finished importing (Ctrl-C may have stopped it half-way)."""
    module = sys.modules.get(name)
    return module is not None and not getattr(getattr(module, "__spec__", None), "_initializing", False)


def _resume_hint(args) -> str:
    """Where an interrupted `train` can continue from, if anywhere. Imports nothing that was not
    imported before: Ctrl-C may have come in the middle of `import torch`."""
    from pathlib import Path

    path = Path(getattr(args, "out", None) or ".") / CHECKPOINT_NAME
    if args.command != "train" or not path.is_file():
        return "No checkpoint was written; the run starts afresh next time."
    if not _imported("gancourse.checkpoint"):
        return f"{path} holds a checkpoint from before: add --resume to the same command to continue from it."
    from .checkpoint import load_checkpoint

    try:
        step = load_checkpoint(path)["step"]
    except Exception:  # a damaged file: say so rather than fail while reporting
        return f"{path} cannot be read; the run starts afresh if you delete it."
    return f"The last checkpoint, at step {step}, is {path}: add --resume to the same command to continue from it."


def _data(args) -> int:
    """Fashion-MNIST is found only if both splits are complete (60,000 and 10,000 images)."""
    from . import data

    shapes = []
    for train, split in ((True, "train"), (False, "test")):
        x = data.fashion_mnist(train=train, download=args.download)
        expected = data.SPLIT_SIZES[train]
        if x.shape[0] != expected:
            where = data.locate_images("FashionMNIST", train) or "its folder"
            raise ValueError(
                f"Fashion-MNIST's {split} split in {where} holds {x.shape[0]:,} images, not {expected:,}: "
                "the files are incomplete; delete them and fetch them again."
            )
        shapes.append(f"{split} set {tuple(x.shape)}")
    print(f"Fashion-MNIST found: {', '.join(shapes)}, values in [{x.min():.0f}, {x.max():.0f}]")
    return 0


def _train(args) -> int:
    from .distributed import current, started
    from .runs import load_config, run

    if not args.out.strip():
        raise ValueError("--out is empty: name the folder the run writes into, e.g. --out runs/ring.")
    if args.preset is None and args.config is None:
        raise ValueError("name what to train: --preset NAME (see `python -m gancourse presets`) or --config FILE.")
    if args.budget:
        os.environ[budget.ENV_VAR] = args.budget
    settings = (("loss", args.loss), ("seed", args.seed), ("checkpoint_every", args.checkpoint_every))
    train_overrides = {k: v for k, v in settings if v is not None}
    if args.no_progress:
        train_overrides["progress"] = False
    steps = {"steps": args.steps} if args.steps is not None else {}
    config = load_config(args.preset, args.config, train=train_overrides, **steps)
    with started(args.device) as device:  # under torchrun: this rank's device in the process group
        result = run(config, args.out, resume=args.resume, force=args.force, device=device,
                     download=args.download, sync_batchnorm=args.sync_batchnorm)  # fmt: skip
        if not current().main:
            return 0
    h = result.history
    print(
        f"trained {result.step} steps in {result.seconds:.1f} s; last loss_D {h['loss_D'][-1]:.4f}, "
        f"loss_G {h['loss_G'][-1]:.4f}; results in {args.out}"
    )
    return 0


def _sample(args) -> int:
    import math
    from pathlib import Path

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import torch

    from . import checkpoint, conditional, train, viz
    from .runs import png_bytes

    out = Path(args.out)
    if out.suffix.lower() != ".png":
        raise ValueError(f"--out {out} should name a .png file.")
    if out.exists() and not args.force:
        raise ValueError(f"{out} exists; choose another --out, or add --force to replace it.")
    if not out.parent.is_dir():
        raise ValueError(f"the folder {out.parent} does not exist; create it first.")
    if not 1 <= args.n <= 10_000:
        raise ValueError(f"--n must be between 1 and 10000, got {args.n}.")
    if not Path(args.checkpoint).is_file():
        raise FileNotFoundError(
            f"no checkpoint at {args.checkpoint}; `python -m gancourse train ... --out FOLDER` writes FOLDER/checkpoint.pt."
        )
    G, _ = checkpoint.load_models(args.checkpoint)
    x = train.generate(G, args.n, seed=args.seed)
    if not torch.isfinite(x).all():
        bad = int((~torch.isfinite(x.reshape(len(x), -1))).any(dim=1).sum())
        raise ValueError(
            f"the generator in {args.checkpoint} gives NaN or inf in {bad} of {args.n} samples: its weights diverged; "
            "sample from a checkpoint written before the divergence, or train again with lower learning rates."
        )
    if isinstance(G, conditional.ConditionalGenerator):  # pairs: keep the images, drop the label planes
        x = conditional.images(x)
    if x.dim() == 4:
        fig = viz.show_grid(x, nrow=math.ceil(math.sqrt(args.n))).figure
    else:
        fig = viz.plot_samples_2d(fake=x[:, :2]).figure
    try:
        checkpoint.atomic_write(out, png_bytes(fig))
    finally:
        plt.close(fig)
    print(f"{args.n} samples of {type(G).__name__} (seed {args.seed}) from {args.checkpoint} in {out}")
    return 0


def _ctrl_c_outside_imports(signum, frame) -> None:
    """SIGINT as KeyboardInterrupt, but never inside an import: there it would leave a module such
    as torch or matplotlib half built (a traceback of the next import, a crash at exit, or an exit
    code of 0). During an import the signal is sent again 50 ms later, until no import runs."""
    if any(getattr(getattr(m, "__spec__", None), "_initializing", False) for m in list(sys.modules.values())):
        threading.Timer(0.05, os.kill, (os.getpid(), signal.SIGINT)).start()
        return
    raise KeyboardInterrupt


_ctrl_c_outside_imports.raises_keyboard_interrupt = True  # as the default does: train.train may replace it


if __name__ == "__main__":
    signal.signal(signal.SIGINT, _ctrl_c_outside_imports)  # the command line only; train.train installs its own
    sys.exit(main())
