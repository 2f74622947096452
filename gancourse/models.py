"""The course's networks. Discriminators and critics return one raw score per sample, shape (N,):
a logit for the GAN losses (D = sigmoid(logit)), the critic value f(x) for the WGAN losses.

- :class:`MLPGenerator`, :class:`MLPDiscriminator`: fully connected, for toy 1-D/2-D data;
  the discriminator can pack samples (PacGAN), use maxout units (PacGAN's own networks) and
  see the spread of its batch (:class:`MinibatchStd`).
- :class:`DCGANGenerator`, :class:`DCGANDiscriminator`: Radford et al. (2016) adapted to 28x28.
- :class:`WGANCritic`: the DCGAN discriminator without batch norm (the gradient penalty is
  per-sample, and batch norm couples the samples of a batch), or with layer norm in its place
  (``layer_norm=True``, :func:`layer_norm_2d`), which normalises each sample on its own.
- :func:`spectral_normalise`: spectral normalisation (Miyato et al., 2018), an option of
  every discriminator and critic (``spectral_norm=True``); :func:`largest_singular_value`,
  the power iteration behind it.
"""

from __future__ import annotations

import functools
import inspect

import torch
from torch import nn
from torch.nn.utils import parametrize


def remembers_arguments(init):
    """Decorate a model's ``__init__`` so the model keeps its constructor arguments in ``init_args``.

    A checkpoint stores them beside the weights (as nanoGPT keeps ``model_args``), so
    :func:`rebuild` can make the same network from the checkpoint alone. Defaults are filled
    in; a subclass's own arguments win over those it passes to its parent.
    """
    signature = inspect.signature(init)

    @functools.wraps(init)
    def wrapper(self, *args, **kwargs):
        bound = signature.bind(self, *args, **kwargs)
        bound.apply_defaults()
        init(self, *args, **kwargs)
        self.init_args = {name: value for name, value in bound.arguments.items() if name != "self"}

    return wrapper


class Picklable:
    """A course network that pickles even when spectrally normalised (PyTorch refuses to pickle a
    parametrized module): through its description and its ``state_dict``, so that it can come
    back from a worker process (:func:`gancourse.parallel.map`)."""

    def __reduce_ex__(self, protocol):
        if not any(parametrize.is_parametrized(m) for m in self.modules()):
            return super().__reduce_ex__(protocol)
        return _unpickle, (describe(self), self.state_dict(), [m.training for m in self.modules()])


def _unpickle(description: dict, state: dict, modes: list[bool]) -> nn.Module:
    with torch.random.fork_rng(devices=[]):
        model = rebuild(description)
    model.load_state_dict(state)
    for module, training in zip(model.modules(), modes, strict=True):
        module.training = training
    return model


def mlp(n_in: int, n_out: int, hidden: int, depth: int, activation: type[nn.Module]) -> nn.Sequential:
    """``depth`` hidden layers of width ``hidden`` with ``activation`` between linear layers."""
    if depth < 1 or hidden < 1:
        raise ValueError(f"an MLP needs depth >= 1 and hidden >= 1, got depth={depth}, hidden={hidden}")
    layers: list[nn.Module] = []
    width = n_in
    for _ in range(depth):
        layers += [nn.Linear(width, hidden), activation()]
        width = hidden
    layers.append(nn.Linear(width, n_out))
    return nn.Sequential(*layers)


class MLPGenerator(nn.Module):
    """G: z in R^{z_dim} -> x in R^{x_dim}, a fully connected network with ReLU and a linear output.

    ``batch_norm=True`` puts batch normalisation before every ReLU (and drops the biases it
    makes redundant), as in PacGAN's generator (Lin et al., 2018).

    Introduced in chapter 0.
    """

    @remembers_arguments
    def __init__(self, z_dim: int = 4, x_dim: int = 2, hidden: int = 128, depth: int = 3, batch_norm: bool = False):
        super().__init__()
        self.z_dim, self.x_dim = z_dim, x_dim
        if batch_norm:
            if depth < 1 or hidden < 1:
                raise ValueError(f"an MLP needs depth >= 1 and hidden >= 1, got depth={depth}, hidden={hidden}")
            layers: list[nn.Module] = []
            for width in [z_dim] + [hidden] * (depth - 1):
                layers += [nn.Linear(width, hidden, bias=False), nn.BatchNorm1d(hidden), nn.ReLU()]
            self.net = nn.Sequential(*layers, nn.Linear(hidden, x_dim))
        else:
            self.net = mlp(z_dim, x_dim, hidden, depth, nn.ReLU)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z)


class Maxout(nn.Module):
    """A maxout layer (Goodfellow et al., 2013): :math:`h_i = \\max_{j \\le k} (W_j x + b_j)_i`.

    ``pieces`` = k linear maps share the input; each output unit keeps the largest of its k
    values, a learned convex piecewise-linear activation. (n, n_in) -> (n, n_out).
    """

    def __init__(self, n_in: int, n_out: int, pieces: int):
        super().__init__()
        if pieces < 1:
            raise ValueError(f"a maxout layer needs at least 1 piece, got {pieces}")
        self.n_out, self.pieces = n_out, pieces
        self.linear = nn.Linear(n_in, n_out * pieces)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x).view(x.shape[0], self.n_out, self.pieces).amax(dim=2)


class MinibatchStd(nn.Module):
    """Minibatch standard deviation (Karras et al., 2018): show D the spread of the batch.

    Appends to every row of x (n, d) the standard deviation of each column over the batch,
    :math:`s_i = \\mathrm{std}_n(x_{n,i})`: (n, d) -> (n, 2d). A collapsed generator's batch has
    s close to 0 and a real batch does not, so the discriminator can reject a lack of
    diversity that no single sample shows. Karras et al. append the average of such
    deviations to a late layer of an image discriminator; for 2-D points the spread of the
    raw coordinates is the telling statistic, so :class:`MLPDiscriminator` appends it to its
    input.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[0] < 2:
            raise ValueError("minibatch standard deviation needs batches of at least 2 samples")
        return torch.cat([x, x.std(dim=0, keepdim=True).expand_as(x)], dim=1)


class MLPDiscriminator(Picklable, nn.Module):
    """D: x in R^{x_dim} -> one logit, a fully connected network with LeakyReLU(0.2).

    - ``pack`` > 1 makes it a PacGAN discriminator (Lin et al., 2018): it scores ``pack``
      samples at once, concatenated, and the batch it sees has N/pack rows.
    - ``maxout`` > 1 replaces each linear layer + LeakyReLU by a :class:`Maxout` layer with
      that many pieces (PacGAN's discriminator: 3 x 200 units, 5 pieces).
    - ``minibatch_std=True`` appends the batch's :class:`MinibatchStd` to every input. The
      score of a sample then depends on its batch: score real and fake batches separately
      (the training loop does).
    - ``spectral_norm=True`` divides every layer's weights by their largest singular value
      (:func:`spectral_normalise`).

    Introduced in chapter 0.
    """

    @remembers_arguments
    def __init__(
        self,
        x_dim: int = 2,
        hidden: int = 128,
        depth: int = 3,
        pack: int = 1,
        maxout: int = 0,
        minibatch_std: bool = False,
        spectral_norm: bool = False,
    ):
        super().__init__()
        if pack < 1:
            raise ValueError(f"pack must be >= 1, got {pack}")
        if depth < 1 or hidden < 1:
            raise ValueError(f"an MLP needs depth >= 1 and hidden >= 1, got depth={depth}, hidden={hidden}")
        self.x_dim, self.pack = x_dim, pack
        self.minibatch_std = MinibatchStd() if minibatch_std else None
        layers: list[nn.Module] = []
        width = x_dim * pack * (2 if minibatch_std else 1)
        for _ in range(depth):
            layers += [Maxout(width, hidden, maxout)] if maxout > 1 else [nn.Linear(width, hidden), nn.LeakyReLU(0.2)]
            width = hidden
        self.net = nn.Sequential(*layers, nn.Linear(width, 1))
        if spectral_norm:
            spectral_normalise(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[0] % self.pack:
            raise ValueError(f"batch of {x.shape[0]} cannot be split into packs of {self.pack}")
        if self.minibatch_std is not None:
            x = self.minibatch_std(x)
        return self.net(x.reshape(x.shape[0] // self.pack, -1)).squeeze(1)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The last hidden layer h(x), one row per pack: ``forward(x) == head(features(x))``."""
        if x.shape[0] % self.pack:
            raise ValueError(f"batch of {x.shape[0]} cannot be split into packs of {self.pack}")
        if self.minibatch_std is not None:
            x = self.minibatch_std(x)
        return self.net[:-1](x.reshape(x.shape[0] // self.pack, -1))

    def head(self, h: torch.Tensor) -> torch.Tensor:
        """The logits from the last hidden layer's activations ``h``."""
        return self.net[-1](h).squeeze(1)


class DCGANGenerator(nn.Module):
    """DCGAN generator for 28x28x1 images: transposed convolutions, batch norm, ReLU, tanh output.

    z (N, z_dim) -> (N, 1, 28, 28) in [-1, 1].

    Introduced in chapter 5.
    """

    @remembers_arguments
    def __init__(self, z_dim: int = 100, ngf: int = 64, channels: int = 1):
        super().__init__()
        self.z_dim = z_dim
        self.net = nn.Sequential(
            nn.ConvTranspose2d(z_dim, ngf * 4, 7, 1, 0, bias=False),  # (ngf*4) x 7 x 7
            nn.BatchNorm2d(ngf * 4),
            nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 4, ngf * 2, 4, 2, 1, bias=False),  # (ngf*2) x 14 x 14
            nn.BatchNorm2d(ngf * 2),
            nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 2, channels, 4, 2, 1, bias=False),  # channels x 28 x 28
            nn.Tanh(),
        )
        self.apply(dcgan_init)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z.reshape(z.shape[0], self.z_dim, 1, 1))


class DCGANDiscriminator(Picklable, nn.Module):
    """DCGAN discriminator for 28x28 images: strided convolutions (no pooling), LeakyReLU(0.2).

    (N, 1, 28, 28) -> logits (N,). ``batch_norm=False`` gives the WGAN-GP critic;
    ``layer_norm=True`` puts layer norm where batch norm was (:func:`layer_norm_2d`), which keeps
    each sample's score a function of that sample alone; ``spectral_norm=True`` normalises
    every convolution (:func:`spectral_normalise`).

    Introduced in chapter 5.
    """

    @remembers_arguments
    def __init__(self, ndf: int = 64, channels: int = 1, batch_norm: bool = True, spectral_norm: bool = False,
                 layer_norm: bool = False):  # fmt: skip
        super().__init__()
        if batch_norm and layer_norm:
            raise ValueError("batch_norm and layer_norm exclude each other: pass batch_norm=False with layer_norm=True.")
        norm = nn.BatchNorm2d(ndf * 2) if batch_norm else layer_norm_2d(ndf * 2) if layer_norm else nn.Identity()
        self.net = nn.Sequential(
            nn.Conv2d(channels, ndf, 4, 2, 1, bias=False),  # ndf x 14 x 14
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(ndf, ndf * 2, 4, 2, 1, bias=False),  # (ndf*2) x 7 x 7
            norm,
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(ndf * 2, 1, 7, 1, 0, bias=False),  # 1 x 1 x 1
        )
        self.apply(dcgan_init)
        if spectral_norm:
            spectral_normalise(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).flatten()

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The last hidden feature map h(x), (N, 2 ndf, 7, 7): ``forward(x) == head(features(x))``."""
        return self.net[:-1](x)

    def head(self, h: torch.Tensor) -> torch.Tensor:
        """The logits from the last hidden feature map ``h``."""
        return self.net[-1](h).flatten()


class WGANCritic(DCGANDiscriminator):
    """The DCGAN discriminator as a Wasserstein critic: no batch norm, an unbounded score f(x);
    with ``layer_norm=True``, layer norm in its place, as Gulrajani et al. (2017) recommend."""

    @remembers_arguments
    def __init__(self, ndf: int = 64, channels: int = 1, spectral_norm: bool = False, layer_norm: bool = False):
        super().__init__(ndf=ndf, channels=channels, batch_norm=False, spectral_norm=spectral_norm, layer_norm=layer_norm)


def largest_singular_value(W: torch.Tensor, iters: int = 100, seed: int = 0) -> float:
    """:math:`\\sigma_{\\max}(W)`, the spectral norm of a matrix, by power iteration.

    .. math:: v \\leftarrow W^\\top u / \\|W^\\top u\\|,\\quad u \\leftarrow W v / \\|W v\\|,
              \\qquad \\sigma_{\\max} \\approx u^\\top W v

    From a random start (seeded), each step multiplies by :math:`W^\\top W` and so grows the
    component along the top right singular vector fastest; the error shrinks like
    :math:`(\\sigma_2 / \\sigma_1)^{2k}`. A tensor of more than two dimensions (a convolution's
    kernel) is read as the matrix (out, everything else), as :func:`spectral_normalise` does.
    """
    if not isinstance(W, torch.Tensor) or W.dim() < 2 or W.numel() == 0:
        raise ValueError(f"W must be a non-empty tensor of at least 2 dimensions, got {getattr(W, 'shape', type(W).__name__)}")
    if not (isinstance(iters, int) and iters >= 1):
        raise ValueError(f"iters must be a positive integer, got {iters!r}")
    matrix = W.detach().reshape(W.shape[0], -1).double()
    if not torch.isfinite(matrix).all():
        raise ValueError("W holds nan or inf values")
    u = torch.randn(matrix.shape[0], dtype=torch.float64, generator=torch.Generator().manual_seed(seed))
    for _ in range(iters):
        v = matrix.T @ u
        v = v / v.norm().clamp_min(1e-300)
        u = matrix @ v
        u = u / u.norm().clamp_min(1e-300)
    return float(u @ matrix @ v)


def spectral_normalise(module: nn.Module) -> nn.Module:
    """Spectral normalisation (Miyato et al., 2018) of every linear and convolutional layer of ``module``, in place.

    Each weight is used as :math:`W / \\sigma_{\\max}(W)`, so that the layer's Lipschitz
    constant (for a linear layer, its largest singular value) is 1, and with 1-Lipschitz
    activations (ReLU, LeakyReLU) the whole network's is at most 1. :math:`\\sigma_{\\max}` is
    estimated by power iteration, one step per forward pass in training mode, with the vectors
    kept between steps: PyTorch's own ``torch.nn.utils.parametrizations.spectral_norm``. For a
    convolution it normalises the kernel reshaped to (out, in * k * k), as Miyato et al. do,
    which bounds the convolution's own norm only up to a factor set by the kernel's overlaps.

    Returns ``module``.
    """
    with torch.random.fork_rng(devices=[]):  # the power iteration's random start leaves the seeded stream as it was
        for layer in list(module.modules()):
            if isinstance(layer, nn.Linear | nn.Conv2d):
                nn.utils.parametrizations.spectral_norm(layer)
    return module


def layer_norm_2d(channels: int) -> nn.GroupNorm:
    """Layer norm of a feature map (Ba et al., 2016): each sample normalised over all its channels
    and positions, then scaled and shifted per channel,

    .. math:: y_{c,h,w} = \\gamma_c\\, \\frac{x_{c,h,w} - \\mu}{\\sqrt{\\sigma^2 + \\epsilon}} + \\beta_c,
              \\qquad \\mu, \\sigma^2 \\text{ over } (c, h, w) \\text{ of the one sample.}

    Unlike batch norm, no statistic crosses the batch, so a critic's score of one sample does not
    depend on the others, and the gradient penalty's per-sample gradients are what they claim to
    be (Gulrajani et al., 2017, section 4). ``nn.GroupNorm`` with one group computes exactly this.

    Introduced in chapter 7.
    """
    return nn.GroupNorm(1, channels)


def dcgan_init(module: nn.Module) -> None:
    """Radford et al. (2016): conv weights ~ N(0, 0.02); batch-norm scales ~ N(1, 0.02), shifts 0.

    Introduced in chapter 6.
    """
    if isinstance(module, nn.Conv2d | nn.ConvTranspose2d):
        nn.init.normal_(module.weight, 0.0, 0.02)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


MODEL_CLASSES = {cls.__name__: cls for cls in (MLPGenerator, MLPDiscriminator, DCGANGenerator, DCGANDiscriminator, WGANCritic)}
_REBUILDABLE: dict[str, type[nn.Module]] = dict(MODEL_CLASSES)  # and the models of modules built on this one


def rebuildable(cls: type[nn.Module]) -> type[nn.Module]:
    """Class decorator: a course model of a module built on this one (:mod:`gancourse.conditional`)
    that :func:`rebuild` can rebuild, its ``__init__`` decorated with :func:`remembers_arguments`."""
    _REBUILDABLE[cls.__name__] = cls
    return cls


def course_models() -> dict[str, type[nn.Module]]:
    """Every course model a checkpoint can rebuild: :data:`MODEL_CLASSES`, and the models that the
    modules built on this one declare :func:`rebuildable` once imported (:mod:`gancourse.conditional`'s)."""
    return dict(_REBUILDABLE)


def describe(model: nn.Module) -> dict:
    """``{"class": name, "args": constructor arguments}`` of a course model, as a checkpoint stores it.

    Introduced in chapter 9.
    """
    name = type(model).__name__
    if name not in course_models() or not hasattr(model, "init_args"):
        return {"class": name, "args": None}  # a network of the reader's own: not rebuildable
    return {"class": name, "args": dict(model.init_args)}


def rebuild(description: dict) -> nn.Module:
    """A fresh (untrained) model from :func:`describe`'s record; load the weights into it next.

    Introduced in chapter 9.
    """
    name, args = description.get("class"), description.get("args")
    classes = course_models()
    if name not in classes or not isinstance(args, dict):
        raise ValueError(
            f"cannot rebuild a {name!r} network: only the course's models ({', '.join(classes)}) "
            "are recorded with their constructor arguments. Build it yourself and load its state dict."
        )
    return classes[name](**args)


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters.

    Introduced in chapter 2.
    """
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def layer_outputs(model: nn.Module, x: torch.Tensor) -> list[tuple[nn.Module, tuple[int, ...]]]:
    """Each layer of ``model.net`` (or of the model) with the shape of its output on input ``x``.

    Introduced in chapter 5.
    """
    layers = list(getattr(model, "net", model).children())
    shapes: list[tuple[nn.Module, tuple[int, ...]]] = []
    hooks = [layer.register_forward_hook(lambda m, _, out: shapes.append((m, tuple(out.shape)))) for layer in layers]
    try:
        with torch.no_grad():
            model(x)
    finally:
        for hook in hooks:
            hook.remove()
    return shapes


def summary(model: nn.Module, x: torch.Tensor) -> str:
    """A table of the layers of ``model`` on input ``x``: output shape and parameters, then the total.

    Introduced in chapter 5.
    """
    rows = [f"{'input':<16}{str(tuple(x.shape)):>20}"]
    for layer, shape in layer_outputs(model, x):
        rows.append(f"{type(layer).__name__:<16}{str(shape):>20}{count_parameters(layer):>11,}")
    rows.append(f"{'total':<36}{count_parameters(model):>11,}")
    return "\n".join(rows)
