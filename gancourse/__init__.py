"""gancourse: the helper package of an open course on Generative Adversarial Networks.

Modules by layer, one concept each; a module imports only from its own layer and those above:

Foundations
    :mod:`~gancourse.settings` (the validators every configuration uses; the ``GANCOURSE_*``
    numbers read from the environment), :mod:`~gancourse.theory` (densities, BCE, the
    optimal discriminator, KL and JS),
    :mod:`~gancourse.losses` (GAN, non-saturating, WGAN, gradient-penalty, R1 and feature-matching losses),
    :mod:`~gancourse.data` (toy 2-D mixtures, 1-D Gaussians, Fashion-MNIST / MNIST),
    :mod:`~gancourse.dirac` (the Dirac-GAN, Mescheder et al., 2018),
    :mod:`~gancourse.transposed` (transposed convolution by hand),
    :mod:`~gancourse.budget` (``GANCOURSE_BUDGET``: smoke / book / full; ``GANCOURSE_SEED``),
    :mod:`~gancourse.device` (CPU / CUDA / MPS selection, CPU threads),
    :mod:`~gancourse.viz` (grids, density plots, curves, animations),
    :mod:`~gancourse.site` (the website's static figures and glued numbers)
Models and measurements
    :mod:`~gancourse.models` (MLP and DCGAN generators and discriminators),
    :mod:`~gancourse.conditional` (class-conditional GANs),
    :mod:`~gancourse.checkpoint` (atomic, checksummed, ``weights_only`` checkpoints),
    :mod:`~gancourse.download` (one file over HTTP, whole and checked, or nothing),
    :mod:`~gancourse.metrics` (a package: ``toy``, mode coverage and Earth-Mover distance;
    ``manifold``, precision and recall, density and coverage; ``frechet``, the Fréchet
    distance in a classifier's features; ``inception_score``, the Inception Score;
    ``inception``, FID itself),
    :mod:`~gancourse.probe` (a discriminator's features under a linear classifier)
Training
    :mod:`~gancourse.train` (one loop for every loss), :mod:`~gancourse.running` (what holds
    while the loop runs: Ctrl-C ends the step, bf16 and compile), :mod:`~gancourse.distributed`
    (the same loop on several GPUs or CPUs under ``torchrun``), :mod:`~gancourse.diffusion`
    (a denoising diffusion model, Ho et al., 2020, trained and sampled: the GANs' point of
    comparison)
Experiments
    :mod:`~gancourse.runs` (the course's experiments as presets, each trained into a folder),
    :mod:`~gancourse.remedies` (the mode-collapse remedies, trained and measured over seeds),
    :mod:`~gancourse.parallel` (seeds side by side in worker processes),
    :mod:`~gancourse.reference` and :mod:`~gancourse.record` (full-budget generators and
    benchmark records shipped with their provenance)
Front ends
    ``python -m gancourse`` (:mod:`~gancourse.__main__`), :mod:`~gancourse.checks` (the
    assignments' self-checks)

A training run goes ``python -m gancourse train`` → :func:`~gancourse.runs.load_config`
→ :func:`~gancourse.runs.run` (checks the folder, builds the data and models) →
:func:`~gancourse.train.train` (the loop) → at every step :func:`~gancourse.train.update_D`
(``k`` times), then :func:`~gancourse.train.update_G`.

A run's settings, later ones winning: the preset (``--preset``, or ``preset = "..."`` in
the TOML file; two different ones are refused); the TOML file (``--config``: its keys
replace the preset's, its ``[train]`` table updates the preset's key by key); the flags
``--steps``, ``--loss``, ``--seed`` (the loop's seed), ``--checkpoint-every``,
``--no-progress``. Environment variables override no setting: ``GANCOURSE_BUDGET`` picks
the step count from a ``steps`` table (``{smoke, book, full}``), not from a number, and
``--budget`` replaces it; ``--device`` replaces ``GANCOURSE_DEVICE``.

Nothing runs at import time; import the module you need.
"""

__version__ = "0.1.0"
