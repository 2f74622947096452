"""A trained discriminator as a feature extractor, judged by a linear classifier on top.

Radford et al. (2016, section 5.1) measured what a DCGAN's discriminator learned without
labels: they took every convolutional layer's activations, max-pooled each to a 4 x 4
grid, concatenated them, and trained a linear classifier (an L2-SVM) on a few labelled
images. Better than chance says little; the comparisons that matter are the same network
with its initial weights (how much of the score the architecture alone gives) and the raw
pixels.

- :func:`discriminator_features`: that feature vector for a batch of images.
- :func:`linear_probe`: the test accuracy of an L2-regularised multinomial logistic
  regression on given features (a convex problem, solved to its optimum, so the score
  depends on the features and the labels only).

Introduced in chapter 5.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

Tensor = torch.Tensor

ACTIVATIONS = (nn.LeakyReLU, nn.ReLU)  # where a hidden layer's output is read


@torch.no_grad()
def discriminator_features(D: nn.Module, x, grid: int = 4, batch_size: int = 500) -> Tensor:
    """Every hidden layer of ``D``, max-pooled to ``grid`` x ``grid`` and concatenated.

    .. math:: \\phi(x) = \\big[\\operatorname{maxpool}_{g\\times g}(h_1(x)),\\;\\dots,\\;
              \\operatorname{maxpool}_{g\\times g}(h_L(x))\\big]

    where :math:`h_l` is the output of the l-th activation layer (ReLU or LeakyReLU) whose
    output is a (C, H, W) feature map. ``D`` runs in eval mode (batch norm with its running
    statistics, so an image's features do not depend on the others in its batch); its mode
    is restored afterwards.

    Args:
        D: a convolutional discriminator, e.g. :class:`gancourse.models.DCGANDiscriminator`.
        x: images, shape (N, C, H, W), on any device (moved to ``D``'s).
        grid: side of the pooled grid (Radford et al.: 4).
        batch_size: images per forward pass.

    Returns:
        Features on the CPU, shape (N, sum over layers of C_l * grid * grid).

    Raises:
        ValueError: ``x`` is not a batch of images, or ``D`` has no activation layer with a
            feature map to read.

    Introduced in chapter 5.
    """
    x = torch.as_tensor(x, dtype=torch.float32)
    if x.dim() != 4 or x.shape[0] < 1:
        raise ValueError(f"x must be a batch of images of shape (N, C, H, W), got {tuple(x.shape)}")
    if grid < 1:
        raise ValueError(f"grid must be >= 1, got {grid}")
    layers = [m for m in D.modules() if isinstance(m, ACTIVATIONS)]
    pooled: list[Tensor] = []

    def read(module, inputs, output):
        if output.dim() == 4:  # a feature map, not the head's vector
            pooled.append(F.adaptive_max_pool2d(output, grid).flatten(1).cpu())

    hooks = [layer.register_forward_hook(read) for layer in layers]
    was_training = D.training
    device = next((p.device for p in D.parameters()), torch.device("cpu"))
    chunks = []
    try:
        D.eval()
        for start in range(0, x.shape[0], batch_size):
            pooled.clear()
            D(x[start : start + batch_size].to(device))
            if not pooled:
                raise ValueError(
                    f"{type(D).__name__} has no ReLU or LeakyReLU layer with a feature map to read."
                )
            chunks.append(torch.cat(pooled, dim=1))
    finally:
        for hook in hooks:
            hook.remove()
        D.train(was_training)
    return torch.cat(chunks)


@dataclass(frozen=True)
class ProbeResult:
    """What :func:`linear_probe` measured."""

    accuracy: float  # on the test set
    weight_decay: float  # the penalty the validation split chose
    num_features: int


def linear_probe(
    f_train, y_train, f_test, y_test,
    weight_decays: tuple[float, ...] = (1e-4, 1e-3, 1e-2, 1e-1),
    validation: float = 0.2, seed: int = 0,
) -> ProbeResult:  # fmt: skip
    """Test accuracy of a linear classifier on features ``f``: multinomial logistic regression.

    .. math:: \\min_{W, b}\\; -\\frac1m \\sum_i \\log \\operatorname{softmax}(W f_i + b)_{y_i}
              + \\frac{\\lambda}{2} \\lVert W \\rVert^2

    Features are standardised with the training set's mean and standard deviation. The
    problem is strictly convex in W, so L-BFGS reaches the same optimum from any start.
    ``lambda`` is chosen among ``weight_decays`` by the accuracy on a random ``validation``
    fraction of the training set (``seed``), then the classifier is refitted on all of it.

    Args:
        f_train, f_test: features, shapes (m, d) and (n, d).
        y_train, y_test: integer labels, shapes (m,) and (n,).

    Raises:
        ValueError: mismatched shapes, fewer than two classes, or a validation split that
            leaves either part empty.

    Introduced in chapter 5.
    """
    f_train, f_test = (torch.as_tensor(f, dtype=torch.float64) for f in (f_train, f_test))
    y_train, y_test = (torch.as_tensor(y).long() for y in (y_train, y_test))
    if f_train.dim() != 2 or f_test.dim() != 2 or f_train.shape[1] != f_test.shape[1]:
        raise ValueError(
            f"features must be (m, d) and (n, d), got {tuple(f_train.shape)} and {tuple(f_test.shape)}"
        )
    if y_train.shape != (f_train.shape[0],) or y_test.shape != (f_test.shape[0],):
        raise ValueError("each feature row needs one label: y_train (m,), y_test (n,)")
    num_classes = int(max(y_train.max(), y_test.max())) + 1
    if len(y_train.unique()) < 2:
        raise ValueError("the training labels hold a single class; a classifier needs two or more")
    n_val = int(round(validation * f_train.shape[0]))
    if not 0 < n_val < f_train.shape[0]:
        raise ValueError(f"validation={validation} leaves an empty part of {f_train.shape[0]} examples")
    order = torch.randperm(f_train.shape[0], generator=torch.Generator().manual_seed(seed))
    fit, val = order[n_val:], order[:n_val]

    def accuracy(lam, train_idx, f_eval, y_eval):
        mean, std = f_train[train_idx].mean(0), f_train[train_idx].std(0).clamp_min(1e-8)
        W, b = _logistic_regression((f_train[train_idx] - mean) / std, y_train[train_idx], num_classes, lam)
        logits = ((f_eval - mean) / std) @ W + b
        return (logits.argmax(1) == y_eval).double().mean().item()

    scores = [accuracy(lam, fit, f_train[val], y_train[val]) for lam in weight_decays]
    best = weight_decays[max(range(len(scores)), key=lambda i: scores[i])]  # first of ties
    every = torch.arange(f_train.shape[0])
    return ProbeResult(accuracy(best, every, f_test, y_test), best, f_train.shape[1])


def _logistic_regression(f: Tensor, y: Tensor, num_classes: int, lam: float) -> tuple[Tensor, Tensor]:
    W = torch.zeros(f.shape[1], num_classes, dtype=f.dtype, requires_grad=True)
    b = torch.zeros(num_classes, dtype=f.dtype, requires_grad=True)
    optimizer = torch.optim.LBFGS(
        [W, b], lr=1, max_iter=1_000, tolerance_grad=1e-7, tolerance_change=1e-12,
        history_size=20, line_search_fn="strong_wolfe",
    )  # fmt: skip

    def closure():
        optimizer.zero_grad()
        loss = F.cross_entropy(f @ W + b, y) + 0.5 * lam * (W * W).sum()
        loss.backward()
        return loss

    optimizer.step(closure)
    return W.detach(), b.detach()
