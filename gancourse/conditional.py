"""Class-conditional GANs (Mirza & Osindero, 2014): a GAN on the joint space of pairs (x, y).

The discriminator compares :math:`p_{data}(x, y)` with :math:`p_g(x, y) = p(y)\\,p_g(x \\mid y)`;
at the optimum of the game on pairs, :math:`p_g(x \\mid y) = p_{data}(x \\mid y)` for every class
(chapter 10). The course trains it with the ordinary loop, :func:`gancourse.train.train`,
because a pair travels as one tensor, the image with ``C`` one-hot planes behind it:

.. code-block:: text

    pair (x, y)  ->  tensor (N, 1 + C, 28, 28):  channel 0 = x,  channel 1 + y = 1,  other planes = 0

- :class:`LabelledImages`: real pairs, drawn with replacement (a sampler for the loop).
- :class:`ConditionalGenerator`: reads its class from the first noise coordinate,
  :math:`y = \\lfloor C\\,\\Phi(z_0) \\rfloor`, so that :math:`z \\sim \\mathcal N(0, I)` gives
  uniform classes and :meth:`ConditionalGenerator.noise_for` can ask for a class.
- :class:`ConditionalDiscriminator`: the DCGAN discriminator over the 1 + C channels
  (conditioning by concatenation).
- :class:`ProjectionDiscriminator`: the DCGAN discriminator of the image, plus the inner
  product of a class embedding with its features (conditioning by projection).
- :class:`ACGANDiscriminator`: the DCGAN discriminator of the image with a second head that
  classifies it (an auxiliary classifier, trained with the loss ``"acgan"``).
"""

from __future__ import annotations

import torch
from torch import Tensor
from torch.nn import functional as F

from . import budget, models

IMAGE_SHAPE = (1, 28, 28)


def _check_labels(y: Tensor, num_classes: int) -> Tensor:
    """``y`` as int64 (N,), or one clear error line."""
    y = torch.as_tensor(y)
    if y.dim() != 1 or y.dtype.is_floating_point or y.dtype == torch.bool:
        raise ValueError(f"labels must be integers of shape (N,), got dtype {y.dtype} and shape {tuple(y.shape)}")
    if y.numel() and (int(y.min()) < 0 or int(y.max()) >= num_classes):
        raise ValueError(f"labels must lie in 0..{num_classes - 1} (num_classes={num_classes}), got {int(y.min())}..{int(y.max())}")
    return y.long()


def join(x: Tensor, y: Tensor, num_classes: int) -> Tensor:
    """The pair tensor of images and labels: x, then C planes with 1 on plane y and 0 elsewhere.

    Args:
        x: images (N, 1, 28, 28) in [-1, 1].
        y: labels (N,), integers in 0..C-1.
        num_classes: C.

    Returns:
        (N, 1 + C, 28, 28), on x's device and dtype.

    Introduced in chapter 10.
    """
    if x.dim() != 4 or tuple(x.shape[1:]) != IMAGE_SHAPE:
        raise ValueError(f"images must have shape (N, 1, 28, 28), got {tuple(x.shape)}")
    y = _check_labels(y, num_classes).to(x.device)
    if y.shape[0] != x.shape[0]:
        raise ValueError(f"{x.shape[0]} images but {y.shape[0]} labels")
    planes = F.one_hot(y, num_classes).to(x.dtype)[:, :, None, None]  # (N, C, 1, 1)
    return torch.cat([x, planes.expand(-1, -1, *x.shape[2:])], dim=1)


def images(pairs: Tensor) -> Tensor:
    """The images of a pair tensor (N, 1 + C, 28, 28): channel 0, shape (N, 1, 28, 28).

    Introduced in chapter 10.
    """
    return pairs[:, :1]


def labels(pairs: Tensor) -> Tensor:
    """The labels of a pair tensor: the index of the plane that holds ones, shape (N,).

    Introduced in chapter 10.
    """
    return pairs[:, 1:, 0, 0].argmax(dim=1)


def class_of(z0: Tensor, num_classes: int) -> Tensor:
    """The class the generator reads from its first noise coordinate (inverse-CDF rule).

    .. math:: y = \\lfloor C\\,\\Phi(z_0) \\rfloor \\in \\{0, \\dots, C - 1\\}

    With :math:`z_0 \\sim \\mathcal N(0, 1)`, :math:`\\Phi(z_0) \\sim U(0, 1)`, so every class has
    probability 1/C. (``min(., C - 1)`` only catches :math:`\\Phi(z_0)` rounded to 1.0.)

    Introduced in chapter 10.
    """
    u = torch.special.ndtr(_precise(z0))
    return (u * num_classes).floor().long().clamp(0, num_classes - 1)


def _precise(t: Tensor) -> Tensor:
    """``t`` in float64 where the device has it (MPS has not: float32 there)."""
    return t.float() if t.device.type == "mps" else t.double()


def class_coordinate(y: Tensor, num_classes: int) -> Tensor:
    """The first noise coordinate that asks for class y: the middle of its interval of u.

    .. math:: z_0 = \\Phi^{-1}\\bigl((y + \\tfrac12)/C\\bigr)

    Introduced in chapter 10.
    """
    y = _check_labels(y, num_classes)
    return torch.special.ndtri((y.double() + 0.5) / num_classes).float()


class LabelledImages:
    """Real pairs (x, y) drawn uniformly with replacement from labelled images: a sampler
    ``.sample(n, generator=...)`` for :func:`gancourse.train.train`.

    Only the drawn batch is turned into a pair tensor, so the memory of the one-hot planes
    is per batch, not per dataset. The class marginal of the draws is the dataset's label
    frequencies.

    Args:
        x: images (N, 1, 28, 28) in [-1, 1].
        y: labels (N,), integers in 0..num_classes-1.
        num_classes: C.

    Introduced in chapter 10.
    """

    def __init__(self, x: Tensor, y: Tensor, num_classes: int = 10):
        if x.dim() != 4 or tuple(x.shape[1:]) != IMAGE_SHAPE:
            raise ValueError(f"images must have shape (N, 1, 28, 28), got {tuple(x.shape)}")
        y = _check_labels(y, num_classes)
        if y.shape[0] != x.shape[0] or x.shape[0] == 0:
            raise ValueError(f"need as many labels as images (at least one), got {x.shape[0]} images and {y.shape[0]} labels")
        self.x, self.y, self.num_classes = x, y, num_classes

    def __len__(self) -> int:
        return self.x.shape[0]

    def class_frequencies(self) -> Tensor:
        """:math:`p_{data}(y)`: the fraction of images in each class, shape (C,)."""
        return torch.bincount(self.y, minlength=self.num_classes).double() / len(self)

    def sample(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        """``n`` pairs, shape (n, 1 + C, 28, 28)."""
        idx = torch.randint(len(self), (n,), generator=generator)
        return join(self.x[idx], self.y[idx], self.num_classes)


@models.rebuildable
class ConditionalGenerator(models.DCGANGenerator):
    """G: z -> pair (x, y). The class comes from the noise, the image from the class and the noise.

    .. math::

        z = (z_0, z_{1:d}) \\sim \\mathcal N(0, I_{1+d}), \\qquad
        y = \\lfloor C\\,\\Phi(z_0) \\rfloor, \\qquad
        x = G_{DCGAN}\\bigl([z_{1:d}, \\operatorname{onehot}(y)]\\bigr)

    and the output is :func:`join` (x, y). Its class prior is uniform, :math:`p_g(y) = 1/C`.
    The attribute ``z_dim`` = 1 + ``noise_dim`` is the whole noise vector's length, which is
    what the training loop draws.

    Args:
        noise_dim: d, the noise besides the class coordinate.
        num_classes: C.
        ngf: width of the DCGAN generator (:class:`gancourse.models.DCGANGenerator`), whose
            input is the d noise numbers and the C one-hot numbers.

    Introduced in chapter 10.
    """

    @models.remembers_arguments
    def __init__(self, noise_dim: int = 100, num_classes: int = 10, ngf: int = 64):
        if noise_dim < 1 or num_classes < 2:
            raise ValueError(f"need noise_dim >= 1 and num_classes >= 2, got {noise_dim} and {num_classes}")
        super().__init__(z_dim=noise_dim + num_classes, ngf=ngf)
        self.noise_dim, self.num_classes = noise_dim, num_classes
        self.z_dim = 1 + noise_dim

    def forward(self, z: Tensor) -> Tensor:
        if z.dim() != 2 or z.shape[1] != self.z_dim:
            raise ValueError(f"noise must have shape (N, {self.z_dim}) (class coordinate + {self.noise_dim}), got {tuple(z.shape)}")
        y = class_of(z[:, 0], self.num_classes)
        onehot = F.one_hot(y, self.num_classes).to(z.dtype)
        h = torch.cat([z[:, 1:], onehot], dim=1)  # (N, d + C)
        x = self.net(h[:, :, None, None])  # (N, 1, 28, 28)
        return join(x, y, self.num_classes)

    def noise_for(self, y: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """Noise vectors that ask for the classes ``y`` (N,): :func:`class_coordinate` in z_0,
        the rest ~ N(0, I). Shape (N, z_dim); decode them with :func:`gancourse.train.decode`."""
        y = _check_labels(y, self.num_classes)
        z = torch.randn(y.shape[0], self.z_dim, generator=generator)
        z[:, 0] = class_coordinate(y, self.num_classes)
        return z


def _check_pairs(pairs: Tensor, num_classes: int) -> None:
    if pairs.dim() != 4 or tuple(pairs.shape[1:]) != (1 + num_classes, 28, 28):
        raise ValueError(
            f"expected pairs of shape (N, {1 + num_classes}, 28, 28) (image + {num_classes} "
            f"one-hot planes, see conditional.join), got {tuple(pairs.shape)}"
        )


@models.rebuildable
class ConditionalDiscriminator(models.DCGANDiscriminator):
    """D: pair (x, y) -> logit. The DCGAN discriminator over 1 + C input channels.

    Concatenating the one-hot planes to the image makes the first convolution add a learnt,
    class-dependent map to its output, so every later layer can judge the image *as a
    member of class y*: D estimates :math:`D(x, y) = p_{data}(x, y)/(p_{data}(x, y) + p_g(x, y))`.

    Args:
        num_classes: C.
        ndf: width of :class:`gancourse.models.DCGANDiscriminator`.

    Introduced in chapter 10.
    """

    @models.remembers_arguments
    def __init__(self, num_classes: int = 10, ndf: int = 64):
        if num_classes < 2:
            raise ValueError(f"need num_classes >= 2, got {num_classes}")
        super().__init__(ndf=ndf, channels=1 + num_classes)
        self.num_classes = num_classes

    def forward(self, pairs: Tensor) -> Tensor:
        _check_pairs(pairs, self.num_classes)
        return super().forward(pairs)


class _ImageFirst(models.DCGANDiscriminator):
    """The DCGAN discriminator of the image alone, for the discriminators that bring the label in
    after its features: :class:`ProjectionDiscriminator` and :class:`ACGANDiscriminator`."""

    def __init__(self, num_classes: int, ndf: int):
        if num_classes < 2:
            raise ValueError(f"need num_classes >= 2, got {num_classes}")
        super().__init__(ndf=ndf, channels=1)
        self.num_classes = num_classes

    def read(self, pairs: Tensor) -> tuple[Tensor, Tensor]:
        """The features phi(x) of a pair tensor's images, (N, 2 ndf, 7, 7), and its labels, (N,)."""
        _check_pairs(pairs, self.num_classes)
        return self.net[:-1](images(pairs)), labels(pairs)


@models.rebuildable
class ProjectionDiscriminator(_ImageFirst):
    """D: pair (x, y) -> logit, conditioned by projection (Miyato & Koyama, 2018).

    .. math:: D(x, y) = \\psi(\\phi(x)) + e_y^\\top\\, \\textstyle\\sum_{h,w} \\phi(x)_{:,h,w}

    :math:`\\phi` is the DCGAN discriminator's feature map of the image alone (its layers up to
    the last), :math:`\\psi` its last layer, and :math:`e_y` a learnt vector per class (an
    embedding). The optimal logit is :math:`\\log \\frac{p_{data}(x, y)}{p_g(x, y)} =
    \\log \\frac{p_{data}(y \\mid x)}{p_g(y \\mid x)} + \\log \\frac{p_{data}(x)}{p_g(x)}`; with
    each conditional a softmax of linear functions of :math:`\\phi(x)`, the first term is
    :math:`(v^{data}_y - v^g_y)^\\top \\phi(x)` plus a term free of :math:`y`, which joins the
    second: the label enters only through an inner product with the features (chapter 10).
    It reads the same pairs as :class:`ConditionalDiscriminator` (:func:`join`), so the
    ordinary training loop trains it. ``num_classes`` and ``ndf`` are as for
    :class:`ConditionalDiscriminator`; the embedding has ``2 ndf`` numbers per class.

    Introduced in chapter 10.
    """

    @models.remembers_arguments
    def __init__(self, num_classes: int = 10, ndf: int = 64):
        super().__init__(num_classes, ndf)
        self.embed = torch.nn.Embedding(num_classes, ndf * 2)
        torch.nn.init.normal_(self.embed.weight, 0.0, 0.02)

    def forward(self, pairs: Tensor) -> Tensor:
        h, y = self.read(pairs)  # phi(x): (N, 2 ndf, 7, 7)
        projection = (self.embed(y) * h.sum(dim=(2, 3))).sum(dim=1)
        return self.net[-1](h).flatten() + projection

    # The logit needs the label as well as the features: no head(h) of the features alone, so
    # feature matching (losses.OBJECTIVES["feature-matching"]) is refused before the first step.
    features = head = None


@models.rebuildable
class ACGANDiscriminator(_ImageFirst):
    """D: pair (x, y) -> (s(x), log q(y | x)), an auxiliary classifier GAN's (Odena et al., 2017).

    The DCGAN discriminator of the image alone gives the source logit :math:`s(x)` (real or
    generated); a second head on the same features :math:`\\phi(x)`, a convolution to ``C``
    class logits, gives the class probabilities :math:`q(\\cdot \\mid x)`. The label is not an
    input: it only picks which log-probability is returned, so each output row is
    ``(s(x), log q(y | x))``, what the loss ``"acgan"`` (:func:`gancourse.losses.d_loss_auxiliary`)
    reads. It reads the same pairs as :class:`ConditionalDiscriminator` (:func:`join`);
    ``num_classes`` and ``ndf`` are as there. :meth:`class_logits` classifies images.

    Introduced in chapter 10.
    """

    auxiliary = True  # the training loop refuses it with any loss but "acgan", and "acgan" without it

    @models.remembers_arguments
    def __init__(self, num_classes: int = 10, ndf: int = 64):
        super().__init__(num_classes, ndf)
        self.classifier = torch.nn.Conv2d(ndf * 2, num_classes, 7, 1, 0)  # (2 ndf, 7, 7) -> C logits
        models.dcgan_init(self.classifier)

    def class_logits(self, x: Tensor) -> Tensor:
        """The auxiliary classifier's logits for images ``x`` (N, 1, 28, 28): (N, C)."""
        return self.classifier(self.features(x)).flatten(1)

    def forward(self, pairs: Tensor) -> Tensor:
        h, y = self.read(pairs)
        log_q = F.log_softmax(self.classifier(h).flatten(1), dim=1)
        return torch.stack([self.net[-1](h).flatten(), log_q.gather(1, y[:, None])[:, 0]], dim=1)


MODEL_CLASSES = {cls.__name__: cls for cls in (ConditionalGenerator, ConditionalDiscriminator, ProjectionDiscriminator, ACGANDiscriminator)}  # fmt: skip
DISCRIMINATORS = {"concatenation": ConditionalDiscriminator, "projection": ProjectionDiscriminator, "acgan": ACGANDiscriminator}  # fmt: skip


def recipe(discriminator: str = "concatenation", budget_name: str | None = None) -> dict:
    """Chapter 10's training recipe for a conditional GAN with ``discriminator`` (a key of
    :data:`DISCRIMINATORS`), at ``budget_name`` (default: the current budget): the noise
    numbers besides the class coordinate, the width (``ngf = ndf``), the generator steps, the
    batch of pairs and the loss (``"acgan"`` for the auxiliary classifier, else the
    non-saturating one); Adam at the DCGAN paper's settings, the loop's defaults.

    Introduced in chapter 10.
    """
    if discriminator not in DISCRIMINATORS:
        raise ValueError(f"unknown discriminator {discriminator!r}; choose one of {', '.join(DISCRIMINATORS)}.")
    return {
        "model": "conditional", "discriminator": discriminator, "budget": budget.current() if budget_name is None else budget_name,
        "noise_dim": 100, "width": budget.choose(smoke=32, book=32, full=64, budget=budget_name),
        "steps": budget.choose(smoke=5, book=1_500, full=10_000, budget=budget_name),
        "batch_size": budget.choose(smoke=64, book=64, full=128, budget=budget_name),
        "loss": "acgan" if discriminator == "acgan" else "nonsaturating",
    }  # fmt: skip
