"""Is ``gancourse.train`` as fast as the textbook PyTorch loop, and which speed options pay here?

The plain loop is the PyTorch DCGAN example's, written out below (noise drawn on the host
and copied, five ``.item()`` calls a step). ``gancourse.train`` runs the same networks on
the same data (Adam 2e-4, beta1 = 0.5, the same batch, the same device) with its options
off, then with each speed option of :class:`gancourse.train.TrainConfig`, then with all of
them, then with those that paid on their own ("best"). Every variant trains its own copy of
the networks; they alternate, round after round, in one process, so that whatever else the
machine does hits them alike. The script prints the median images/s of each and its ratio
to the plain loop, and can write them as JSON.

    python benchmarks/bench_train.py                          # CPU, or the accelerator found
    python benchmarks/bench_train.py --device cuda --batch 128 --steps 100
    python benchmarks/bench_train.py --model mlp --batch 256  # the ring GAN's small MLPs

Targets: ``gancourse, options off`` >= 1.0x the plain loop; "best" >= 1.2x on a CPU and
>= 1.5x on a GPU. An option is worth turning on where its own ratio exceeds the off one's.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from dataclasses import replace

import torch
from torch import nn

from gancourse import data, models, train
from gancourse.device import default_device

OPTIONS = {  # name: the TrainConfig settings it turns on
    "channels_last": {"channels_last": True},
    "adam foreach": {"adam_impl": "foreach"},
    "adam fused": {"adam_impl": "fused"},
    "bf16 autocast": {"precision": "bf16"},
    "compile": {"compile": "default"},
    "compile + CUDA graphs": {"compile": "reduce-overhead"},
}
PAYS = 1.02  # an option "pays" where it is at least 2 % faster than the options-off loop


def textbook_loop(G, D, x, steps: int, batch: int, z_dim: int, device, seed: int) -> None:
    """The loop of the PyTorch DCGAN example, on the same in-memory data as gancourse."""
    criterion = nn.BCEWithLogitsLoss()
    opt_D = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_G = torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))
    rng = torch.Generator().manual_seed(seed)
    perm, pos = torch.randperm(x.shape[0], generator=rng), 0
    real_label = torch.ones(batch, device=device)
    fake_label = torch.zeros(batch, device=device)
    for _ in range(steps):
        if pos + batch > perm.numel():
            perm, pos = torch.randperm(x.shape[0], generator=rng), 0
        real = x[perm[pos : pos + batch].to(device)]
        pos += batch
        # (1) Update D: maximise log D(x) + log(1 - D(G(z)))
        D.zero_grad()
        output = D(real)
        errD_real = criterion(output, real_label)
        errD_real.backward()
        D_x = torch.sigmoid(output).mean().item()
        noise = torch.randn(batch, z_dim, generator=rng).to(device)
        fake = G(noise)
        output = D(fake.detach())
        errD_fake = criterion(output, fake_label)
        errD_fake.backward()
        D_G_z1 = torch.sigmoid(output).mean().item()
        opt_D.step()
        # (2) Update G: maximise log D(G(z))
        G.zero_grad()
        output = D(fake)
        errG = criterion(output, real_label)
        errG.backward()
        D_G_z2 = torch.sigmoid(output).mean().item()
        opt_G.step()
        _ = (errD_real.item() + errD_fake.item(), errG.item(), D_x, D_G_z1, D_G_z2)


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()
    elif device.type == "mps":
        torch.mps.synchronize()


def networks(model: str, z_dim: int, device):
    torch.manual_seed(0)  # every variant starts from the same weights
    if model == "dcgan":
        return models.DCGANGenerator(z_dim).to(device), models.DCGANDiscriminator().to(device)
    return models.MLPGenerator(z_dim, 2, 128, 3).to(device), models.MLPDiscriminator(2, 128, 3).to(device)


def available(name: str, device: torch.device) -> str | None:
    """Why option ``name`` cannot run here (None: it can)."""
    if name == "compile + CUDA graphs" and device.type != "cuda":
        return "CUDA only"
    if name == "bf16 autocast" and device.type == "cuda" and not torch.cuda.is_bf16_supported():
        return "no bf16 on this GPU"
    return None


def measure(variants: dict, run, rounds: int) -> dict[str, list[float]]:
    """Images/s of every variant over ``rounds`` rounds, in a rotating order, after one warm-up."""
    for name in variants:
        run(name, seed=0)  # warm-up: allocator, kernels, compilation
    rates: dict[str, list[float]] = {name: [] for name in variants}
    names = list(variants)
    for r in range(rounds):
        order = names[r % len(names) :] + names[: r % len(names)]
        for name in order:
            rates[name].append(run(name, seed=r + 1))
    return rates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", choices=("dcgan", "mlp"), default="dcgan")
    parser.add_argument("--steps", type=int, default=30, help="generator steps per round")
    parser.add_argument("--rounds", type=int, default=5, help="timed rounds of every variant")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--device", default=None)
    parser.add_argument("--images", type=int, default=10_000, help="real images held in memory")
    parser.add_argument("--json", help="also write the figures to this JSON file")
    args = parser.parse_args()

    device = default_device(args.device)
    if args.model == "dcgan":
        z_dim, x = 100, data.fashion_mnist(limit=args.images).to(device)
    else:
        z_dim, x = 2, data.ring().sample(args.images, seed=0).to(device)
    base = train.TrainConfig("nonsaturating", steps=args.steps, batch_size=args.batch, progress=False)
    skipped = {name: why for name in OPTIONS if (why := available(name, device))}
    configs = {"textbook": None, "gancourse, options off": base}
    configs |= {f"+ {name}": replace(base, **OPTIONS[name]) for name in OPTIONS if name not in skipped}
    all_on = {k: v for name in OPTIONS if name not in skipped for k, v in OPTIONS[name].items()}
    configs["all options on"] = replace(base, **all_on)
    pairs = {name: networks(args.model, z_dim, device) for name in configs}

    def run(name: str, seed: int) -> float:
        G, D = pairs[name]
        sync(device)
        t0 = time.perf_counter()
        if configs[name] is None:
            textbook_loop(G, D, x, args.steps, args.batch, z_dim, device, seed)
        else:
            train.train(G, D, x, replace(configs[name], seed=seed), device=device)
        sync(device)
        return args.steps * args.batch / (time.perf_counter() - t0)

    rates = measure(configs, run, args.rounds)
    plain = {name: rates["textbook"] for name in rates}  # each variant's plain-loop rounds
    median = {name: statistics.median(values) for name, values in rates.items()}
    off = median["gancourse, options off"]
    paid = [name for name in OPTIONS if f"+ {name}" in median and median[f"+ {name}"] >= PAYS * off]
    best: dict = {}
    for name in sorted(paid, key=lambda n: -median[f"+ {n}"]):  # of two Adams or two compile modes, the faster
        for key, value in OPTIONS[name].items():
            best.setdefault(key, value)
    paid = [name for name in paid if all(best[k] == v for k, v in OPTIONS[name].items())]
    if paid:  # the options that paid, together, measured again beside the plain loop
        best_name = f"best ({', '.join(paid)})"
        configs = {"textbook": None, best_name: replace(base, **best)}
        pairs[best_name] = networks(args.model, z_dim, device)
        again = measure(configs, run, args.rounds)
        scale = median["textbook"] / statistics.median(again["textbook"])  # the same plain loop, both phases
        rates[best_name] = [v * scale for v in again[best_name]]
        median[best_name] = statistics.median(rates[best_name])
        plain[best_name] = [v * scale for v in again["textbook"]]

    name_of_device = torch.cuda.get_device_name(device) if device.type == "cuda" else f"{torch.get_num_threads()} threads"
    print(f"device: {device} ({name_of_device}), torch {torch.__version__}")
    print(f"{args.model} GAN, batch {args.batch}, {args.steps} steps x {args.rounds} rotating rounds (median)")
    for name, why in skipped.items():
        print(f"  ({name}: not measured, {why})")
    print(f"{'variant':54s} {'images/s':>10s} {'x textbook':>11s}   (per round, against that round's plain loop)")
    for name, value in median.items():
        spread = [v / t for v, t in zip(rates[name], plain[name], strict=True)]
        print(f"{name:54s} {value:10.1f} {value / median['textbook']:11.2f}   (rounds {min(spread):.2f} .. {max(spread):.2f})")
    if args.json:
        figures = {"device": str(device), "device_name": name_of_device, "torch": torch.__version__,
                   "model": args.model, "batch": args.batch, "steps": args.steps, "rounds": args.rounds,
                   "images_per_s": median, "rounds_images_per_s": rates, "ratio_to_textbook": {k: v / median["textbook"] for k, v in median.items()},
                   "paid": paid}  # fmt: skip
        with open(args.json, "w") as f:
            json.dump(figures, f, indent=2)


if __name__ == "__main__":
    main()
