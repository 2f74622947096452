"""gancourse: the helper package of an open course on Generative Adversarial Networks.

Modules, one concept each:

- :mod:`gancourse.theory`     densities, BCE, the optimal discriminator, KL and JS divergences
- :mod:`gancourse.losses`     the GAN, non-saturating, WGAN, gradient-penalty and R1 losses
- :mod:`gancourse.data`       toy 2-D mixtures, 1-D Gaussians, Fashion-MNIST / MNIST
- :mod:`gancourse.models`     MLP and DCGAN generators, discriminators and critics
- :mod:`gancourse.train`      one training loop for every loss in the course
- :mod:`gancourse.checkpoint` checkpoints written atomically, checksummed, read with ``weights_only=True``
- :mod:`gancourse.dirac`      the Dirac-GAN (Mescheder et al., 2018): the smallest GAN that fails to converge
- :mod:`gancourse.metrics`    mode coverage, an Earth-Mover distance (Sinkhorn), Fréchet classifier and Inception
  distances, precision and recall, density and coverage, nearest neighbours
- :mod:`gancourse.probe`      a trained discriminator's features, judged by a linear classifier
- :mod:`gancourse.transposed` transposed convolution by hand
- :mod:`gancourse.conditional` class-conditional GANs: pairs (image, label) as tensors, the class read from the noise
- :mod:`gancourse.viz`        sample grids, density plots, training curves, animations
- :mod:`gancourse.budget`     the ``GANCOURSE_BUDGET`` knob (smoke / book / full) and ``GANCOURSE_SEED``
- :mod:`gancourse.device`     CPU / CUDA / MPS / ``torch.accelerator`` selection, CPU threads
- :mod:`gancourse.parallel`   independent runs (seeds) side by side in worker processes
- :mod:`gancourse.distributed` one run on several GPUs (or CPUs) under ``torchrun``: DistributedDataParallel
- :mod:`gancourse.runs`       the course's experiments as presets; the mode-collapse remedies
- :mod:`gancourse.reference`  the full-budget generators shipped with the package, with their provenance
- :mod:`gancourse.record`     benchmark records too long for a page, shipped with their provenance
- :mod:`gancourse.site`       building the website: static figures, numbers glued into the text
- :mod:`gancourse.checks`     the assignments' self-checks, one module per assignment

Nothing runs at import time; import the module you need.
"""

__version__ = "0.1.0"
