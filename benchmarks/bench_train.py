"""Does ``gancourse.train`` cost anything over a plain PyTorch loop?

Both train the same DCGAN (28x28 Fashion-MNIST, the same batch, Adam 2e-4 with
beta1 = 0.5, the same device) for the same number of steps. The plain loop is the
textbook one, written out below. The two alternate, round after round, in one process,
so that whatever else the machine is doing hits both alike; the script prints the
images/s of each (median over rounds) and their ratio.

    python benchmarks/bench_train.py                 # CPU or whatever accelerator is found
    python benchmarks/bench_train.py --device cuda --batch 128 --steps 200

Target: ratio >= 0.95 (the abstractions cost nothing).
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from torch import nn

from gancourse import data, models, train
from gancourse.device import default_device


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=40, help="generator steps per round")
    parser.add_argument("--rounds", type=int, default=7, help="timed rounds of each loop")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--device", default=None)
    parser.add_argument("--images", type=int, default=10_000, help="real images held in memory")
    args = parser.parse_args()

    device = default_device(args.device)
    x = data.fashion_mnist(limit=args.images, download=True).to(device)
    z_dim = 100
    torch.manual_seed(0)
    pairs = {
        name: (models.DCGANGenerator(z_dim).to(device), models.DCGANDiscriminator().to(device))
        for name in ("gancourse", "textbook")
    }
    config = train.TrainConfig("nonsaturating", steps=args.steps, batch_size=args.batch, progress=False)

    def run(name: str, seed: int) -> float:
        G, D = pairs[name]
        sync(device)
        t0 = time.perf_counter()
        if name == "gancourse":
            config.seed = seed
            train.train(G, D, x, config, device=device)
        else:
            textbook_loop(G, D, x, args.steps, args.batch, z_dim, device, seed)
        sync(device)
        return args.steps * args.batch / (time.perf_counter() - t0)

    run("gancourse", 0), run("textbook", 0)  # warm-up: allocator, kernels, caches
    rates: dict[str, list[float]] = {"gancourse": [], "textbook": []}
    for r in range(args.rounds):
        order = ("gancourse", "textbook") if r % 2 == 0 else ("textbook", "gancourse")
        for name in order:
            rates[name].append(run(name, seed=r + 1))

    print(f"device: {device} ({torch.cuda.get_device_name() if device.type == 'cuda' else 'threads: ' + str(torch.get_num_threads())})")
    print(f"DCGAN 28x28, batch {args.batch}, {args.steps} steps x {args.rounds} alternating rounds, torch {torch.__version__}")
    for name, values in rates.items():
        print(f"{name:10s} {statistics.median(values):9.1f} images/s  (rounds: {', '.join(f'{v:.0f}' for v in values)})")
    ratio = statistics.median(rates["gancourse"]) / statistics.median(rates["textbook"])
    per_round = [a / b for a, b in zip(rates["gancourse"], rates["textbook"], strict=True)]
    print(f"ratio gancourse / textbook: {ratio:.3f}  (per round: {min(per_round):.3f} .. {max(per_round):.3f}; target >= 0.95)")


if __name__ == "__main__":
    main()
