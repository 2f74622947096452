"""Three conditional discriminators on Fashion-MNIST: concatenation, projection and AC-GAN, scored alike.

On each seed given, the script trains chapter 10's conditional GAN (``gancourse.conditional.recipe``:
the same generator, steps, batch and optimiser) once with each discriminator:

- ``concatenation``: the one-hot planes behind the image (``conditional.ConditionalDiscriminator``);
- ``projection``: the image's score plus a class embedding's inner product with its features
  (Miyato & Koyama, 2018; ``conditional.ProjectionDiscriminator``);
- ``acgan``: a source logit and an auxiliary classifier (Odena et al., 2017;
  ``conditional.ACGANDiscriminator`` with the loss ``"acgan"``).

The data are chapter 10's: the first 5,000 training images of each class for the GAN, the next
1,000 of each for the course classifier (``metrics.train_feature_classifier``, trained per seed as
the chapter does). Each generator then makes 500 images of each class, scored by:

- **accuracy**: the share that the classifier assigns to the class they were made for;
- **FCD / floor**: the Fréchet classifier distance between all 5,000 and half the test set,
  divided by the distance between the two halves of the test set;
- **class FCD / floor**: the same within each class (500 generated against 500 test images,
  the floor between the class's two halves of the test set), averaged over the classes: it sees
  a generator that draws each class well but always alike, which the accuracy rewards.

Runs go side by side, one process and one thread each. With four such runs sharing a 2-core
CPU, a training at the book budget (1,500 steps) took about 16 minutes of CPU time, so the
15 runs of five seeds take hours per set of CPU kernels there: a run for a GPU, or for a
machine with many cores (``--workers``).

    python benchmarks/bench_conditional.py --seeds 0 --budget smoke
    python benchmarks/bench_conditional.py --seeds 0 1 2 3 4 --json conditional-native.json      # the book budget
    ATEN_CPU_CAPABILITY=default python benchmarks/bench_conditional.py --json conditional-default.json
    python tools/export_record.py --name conditional --description "..." conditional-native.json conditional-default.json
"""

from __future__ import annotations

import argparse
import statistics

import torch
from bench_modes import run_jobs, session_arguments, session_settings, write_session

from gancourse import budget, conditional, data, metrics, train

C = 10
PER_CLASS_GAN, PER_CLASS_CLASSIFIER, PER_CLASS_SCORED = 5_000, 1_000, 500


def split() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Chapter 10's split: per class, the first 5,000 training images for the GAN, the next 1,000 for the classifier."""
    x, y = data.fashion_mnist(labels=True)
    by_class = torch.argsort(y, stable=True).reshape(C, -1)  # file order within each class
    gan = by_class[:, :PER_CLASS_GAN].flatten()
    clf = by_class[:, PER_CLASS_GAN : PER_CLASS_GAN + PER_CLASS_CLASSIFIER].flatten()
    return x[gan], y[gan], x[clf], y[clf]


def measure(discriminator: str, seed: int) -> dict:
    """Train one conditional GAN with ``discriminator`` and score its classes."""
    settings = conditional.recipe(discriminator)
    x_gan, y_gan, x_clf, y_clf = split()
    torch.manual_seed(seed)
    G = conditional.ConditionalGenerator(settings["noise_dim"], C, ngf=settings["width"])
    D = conditional.DISCRIMINATORS[discriminator](C, ndf=settings["width"])
    config = train.TrainConfig(steps=settings["steps"], batch_size=settings["batch_size"], loss=settings["loss"],
                               seed=seed, progress=False)  # fmt: skip
    result = train.train(G, D, conditional.LabelledImages(x_gan, y_gan, C), config, device="cpu")
    classifier = metrics.train_feature_classifier(x_clf, y_clf, steps=budget.choose(smoke=120, book=600, full=2_000), seed=seed)
    x_test, y_test = data.fashion_mnist(train=False, labels=True)
    requested = torch.arange(C).repeat_interleave(PER_CLASS_SCORED)
    x_gen = conditional.images(train.decode(G, G.noise_for(requested, generator=torch.Generator().manual_seed(10_000 + seed))))
    half = len(x_test) // 2
    fcd = metrics.frechet_classifier_distance(x_test[:half], x_gen, classifier)
    floor = metrics.frechet_classifier_distance(x_test[:half], x_test[half:], classifier)
    class_ratios = []
    for c in range(C):
        real_c = x_test[y_test == c]
        fake_c = x_gen[requested == c]
        class_floor = metrics.frechet_classifier_distance(real_c[:PER_CLASS_SCORED], real_c[-PER_CLASS_SCORED:], classifier)
        class_ratios.append(metrics.frechet_classifier_distance(real_c[:PER_CLASS_SCORED], fake_c, classifier) / class_floor)
    own = None
    if discriminator == "acgan":  # how well D's auxiliary classifier reads the test set
        with torch.no_grad():
            own = (D.eval().class_logits(x_test).argmax(1) == y_test).double().mean().item()
    return dict(label=f"conditional/{discriminator}", discriminator=discriminator, seed=seed, steps=result.step,
                seconds=result.seconds, accuracy=metrics.classifier_accuracy(classifier, x_gen, requested),
                real_accuracy=metrics.classifier_accuracy(classifier, x_test, y_test), fcd_ratio=fcd / floor,
                class_fcd_ratio=statistics.mean(class_ratios), worst_class_fcd_ratio=max(class_ratios),
                auxiliary_accuracy=own)  # fmt: skip


def print_table(rows: list[dict]) -> None:
    print()
    print(f"{'discriminator':>14}{'steps':>7}{'accuracy %':>24}{'FCD / floor':>24}{'class FCD / floor':>24}{'train s':>9}")
    for name in dict.fromkeys(r["discriminator"] for r in rows):
        mine = [r for r in rows if r["discriminator"] == name]

        def spread(key, scale=1.0, mine=mine):
            values = [scale * r[key] for r in mine]
            return f"{statistics.mean(values):.3g} ({min(values):.3g}-{max(values):.3g})"

        print(f"{name:>14}{mine[0]['steps']:7d}{spread('accuracy', 100):>24}{spread('fcd_ratio'):>24}"
              f"{spread('class_fcd_ratio'):>24}{statistics.mean(r['seconds'] for r in mine):9.0f}")  # fmt: skip
    print(f"mean (least-largest) over seeds {', '.join(str(r['seed']) for r in rows if r['discriminator'] == rows[0]['discriminator'])}; "
          f"{PER_CLASS_SCORED} images of each class scored; one thread per run")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    session_arguments(parser, "the training and the classifier's steps")
    parser.add_argument("--discriminators", nargs="+", choices=conditional.DISCRIMINATORS, default=list(conditional.DISCRIMINATORS),
                        help="the discriminators (default: all three)")  # fmt: skip
    args = parser.parse_args()
    session_settings(parser, args)
    data.fashion_mnist()  # a missing data set fails here, once, not in every worker
    names = list(dict.fromkeys(args.discriminators))
    jobs = [dict(discriminator=name, seed=seed) for seed in args.seeds for name in names]
    configs = {f"conditional/{name}": conditional.recipe(name) for name in names}
    rows, workers, wall = run_jobs(measure, jobs, args.workers)
    for r in rows:
        own = "" if r["auxiliary_accuracy"] is None else f"; its auxiliary classifier {100 * r['auxiliary_accuracy']:.1f} % on the test set"  # fmt: skip
        print(f"{r['discriminator']}, seed {r['seed']}: accuracy {100 * r['accuracy']:.1f} % (real {100 * r['real_accuracy']:.1f} %), "
              f"FCD {r['fcd_ratio']:.2f} x floor, class FCD {r['class_fcd_ratio']:.2f} x floor (worst {r['worst_class_fcd_ratio']:.2f}); "
              f"{r['steps']} steps in {r['seconds']:.0f} s{own}")  # fmt: skip
    print_table(rows)
    print(f"wall time {wall / 60:.1f} min")
    if args.json:
        write_session(args.json, workers, wall, args, configs, rows)


if __name__ == "__main__":
    main()
