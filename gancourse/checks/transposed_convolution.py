"""Checks for assignment 3: transposed convolution by hand, on one image with one channel.

References: PyTorch's ``F.conv_transpose2d`` and ``F.conv2d`` (and their matrices, which
are what they make of every unit image), and the lecture's 2x2 input and 2x2 kernel with
stride 1, computed by hand (chapter 6). The hand example, a 2x2 input with a 3x3 kernel and
stride 2, has PyTorch's output; by hand, the centre pixel of that 5x5 output is
:math:`x_{00}K_{22} + x_{01}K_{20} + x_{10}K_{02} + x_{11}K_{00} = 1 + 6 + 0 + 3 = 10`.

Conventions are PyTorch's: ``conv2d`` is a cross-correlation and ``conv_transpose2d`` does not
flip the kernel; the padding of a transposed convolution crops ``p`` pixels from every side.
"""

from __future__ import annotations

import itertools
from functools import partial

import torch
import torch.nn.functional as F

from . import Case, Check, compare, f64, passed, run, seeded

LECTURE_Y = [[2.0, 8.0, 0.0], [1.0, 11.0, 12.0], [0.0, 2.0, 6.0]]  # the lecture's output, stride 1, no padding


def hand_example():
    """The hand example's input x (2, 2) and kernel K (3, 3), float64; use stride 2."""
    return torch.tensor([[1.0, 2.0], [-1.0, 3.0]], dtype=f64), torch.tensor([[1.0, 2.0, 0.0], [0.0, 1.0, -1.0], [3.0, 0.0, 1.0]], dtype=f64)


def lecture_example():
    """The lecture's input x (2, 2) and kernel K (2, 2), float64; use stride 1 (chapter 6)."""
    return torch.tensor([[1.0, 4.0], [0.0, 2.0]], dtype=f64), torch.tensor([[2.0, 0.0], [1.0, 3.0]], dtype=f64)


# ----------------------------------------------------------------------------- references
def _size(n, k, s, p):
    return (n - 1) * s - 2 * p + k


def _settings():
    """(k, s, p, n): kernels 2..5, strides 1..3, paddings 0..2 (at most k - 1), inputs 2 and 3."""
    for k, s, p, n in itertools.product(range(2, 6), range(1, 4), range(3), (2, 3)):
        if p <= k - 1 and _size(n, k, s, p) >= 1:
            yield k, s, p, n


def _on_image(op, x, K, s, p):
    """``op`` (F.conv_transpose2d or F.conv2d) on one image x with one kernel K."""
    return op(x[None, None], K[None, None], stride=s, padding=p)[0, 0]


def _matrix_of(op, K, n: int, s, p) -> torch.Tensor:
    """The matrix of ``op`` with K on n x n images: column i*n + j is its image of the unit image at (i, j)."""
    units = torch.eye(n * n, dtype=f64).reshape(n * n, 1, n, n)
    return op(units, K[None, None], stride=s, padding=p).reshape(n * n, -1).T.contiguous()


_conv_t, _conv = partial(_on_image, F.conv_transpose2d), partial(_on_image, F.conv2d)
_t_matrix, _c_matrix = partial(_matrix_of, F.conv_transpose2d), partial(_matrix_of, F.conv2d)
_random = partial(torch.randn, dtype=f64)  # _random(*shape, generator=...)


# ----------------------------------------------------------------------------- mistakes
def _scatter(x, K, s, p, *, step=None, size_step=None, flip=False, crop=None):
    """A scatter-add with a mistake: stamps ``step`` apart on a canvas sized for ``size_step``, a
    flipped kernel, another ``crop(canvas, p)``."""
    (H, W), k = x.shape, K.shape[0]
    K = K.flip(0, 1) if flip else K
    step, size_step = s if step is None else step, s if size_step is None else size_step
    canvas = torch.zeros((H - 1) * size_step + k, (W - 1) * size_step + k, dtype=f64)
    for i, j in itertools.product(range(H), range(W)):
        canvas[i * step : i * step + k, j * step : j * step + k] += x[i, j] * K
    R, C = canvas.shape
    return canvas[p : R - p, p : C - p] if crop is None else crop(canvas, p)


def _conv_matrix(K, m, s, p, *, flip=False, offset=None, step=None, padded=True):
    """A convolution matrix with a mistake: flipped kernel, wrong offset or step of the windows,
    an output size without the padding."""
    k = K.shape[0]
    K = K.flip(0, 1) if flip else K
    offset = p if offset is None else offset
    step = s if step is None else step
    n_out = (m + 2 * p * padded - k) // s + 1
    C = torch.zeros(n_out * n_out, m * m, dtype=f64)
    for a, b, u, v in itertools.product(range(n_out), range(n_out), range(k), range(k)):
        i, j = a * step - offset + u, b * step - offset + v
        if 0 <= i < m and 0 <= j < m:
            C[a * n_out + b, i * m + j] = K[u, v]
    return C


def _keeps_float64(got) -> str | None:
    """A guard: a float64 answer must not come back in a lower precision."""
    if isinstance(got, torch.Tensor) and got.dtype in (torch.float16, torch.bfloat16, torch.float32):  # fmt: skip
        return (f"returned a {str(got.dtype).removeprefix('torch.')} tensor, which loses digits: "
                "the inputs are float64, so create your zeros with dtype=x.dtype (or K.dtype).")  # fmt: skip


# ----------------------------------------------------------------------------- Task 1
_SETTINGS = [(5, 3, 3, 2), (7, 4, 2, 1), (2, 3, 2, 0), (1, 7, 1, 0)] + [(n, k, s, p) for k, s, p, n in _settings()]

output_size = Check(
    "output_size", doc="``fn(n, k, s, p)``: the output length :math:`(n - 1)s - 2p + k` of a transposed convolution.",
    reference=lambda n, k, s, p: _conv_t(torch.zeros(n, n), torch.zeros(k, k), s, p).shape[-1],
    cases=[Case(f"output_size(n={n}, k={k}, s={s}, p={p})", (n, k, s, p), scalar=True) for n, k, s, p in _SETTINGS], mistakes={
        "The padding of a transposed convolution *removes* p pixels from each side: subtract 2p.": lambda n, k, s, p: (n - 1) * s + k,
        "The padding is added, but a transposed convolution's padding crops the canvas: -2p, not +2p.": lambda n, k, s, p: (n - 1) * s + 2 * p + k,
        "The n stamps start at 0, s, ..., (n - 1)s, so the canvas is (n - 1)s + k long, not n*s + k.": lambda n, k, s, p: n * s - 2 * p + k,
        "The padding is cropped on both sides: subtract 2p, not p.": lambda n, k, s, p: (n - 1) * s - p + k,
        "That is the ordinary convolution's output size, floor((n + 2p - k)/s) + 1; the transposed one goes the other way.":
            lambda n, k, s, p: (n + 2 * p - k) // s + 1,
        "The last stamp starts at (n - 1)s and covers k pixels, up to (n - 1)s + k - 1: add k, not k - 1.": lambda n, k, s, p: (n - 1) * s - 2 * p + k - 1,
    }, report=lambda r: f"(n - 1)s - 2p + k matches PyTorch in {len(r)} settings; k=4, s=2, p=1 takes 7 to {r[1]:g}",
)  # fmt: skip


# ----------------------------------------------------------------------------- Task 2
_gen3 = seeded(3)

conv_transpose2d_scatter = Check(
    "conv_transpose2d_scatter", doc="``fn(x, K, s, p)``: scatter :math:`Y[is + u, js + v] \\mathrel{+}= x_{ij} K_{uv}`, crop ``p`` from every side.",
    reference=_conv_t, cases=[  # the lecture's values are PyTorch's (tests/test_transposed.py)
        Case("conv_transpose2d_scatter on the hand example, stride 2", (*hand_example(), 2, 0), guard=_keeps_float64),
        Case("conv_transpose2d_scatter on the hand example, stride 2, padding 1", (*hand_example(), 2, 1), guard=_keeps_float64),
        Case("conv_transpose2d_scatter on the lecture's example, stride 1", (*lecture_example(), 1, 0), torch.tensor(LECTURE_Y, dtype=f64), guard=_keeps_float64),
    ] + [  # H != W: rows and columns apart
        Case(f"conv_transpose2d_scatter on a random {n}x{n + 1} input, k={k}, s={s}, p={p}", (_random(n, n + 1, generator=_gen3), _random(k, k, generator=_gen3), s, p),
             guard=_keeps_float64) for k, s, p, n in _settings()
    ], mistakes={
        "The kernel is flipped: that is a convolution in the mathematicians' sense; conv_transpose2d stamps K as it is.": partial(_scatter, flip=True),
        "The stamps overlap too much: x[i, j]'s stamp starts at (i*s, j*s), not at (i, j).": partial(_scatter, step=1),
        "That crops 2p from the top and left only; crop p from each of the four sides.": partial(_scatter, crop=lambda c, p: c[2 * p :, 2 * p :]),
        "That crops 2p from the bottom and right only; crop p from each of the four sides.": partial(_scatter, crop=lambda c, p: c[: len(c) - 2 * p, : c.shape[1] - 2 * p]),
        "canvas[p:-p] is empty when p = 0; slice up to the canvas's size minus p instead.": partial(_scatter, crop=lambda c, p: c[p:-p, p:-p]),
        "The stamps are s apart, so the canvas is (H - 1)s + k long: did you leave out the stride?": partial(_scatter, step=1, size_step=1),
        "That is the whole canvas: the padding crops p rows and columns from every side of it.": partial(_scatter, crop=lambda c, p: c),
        "Crop p from the top and left *and* from the bottom and right.": partial(_scatter, crop=lambda c, p: c[p:, p:]),
        "A transposed convolution's padding removes p pixels from each side; it adds none.": partial(_scatter, crop=lambda c, p: F.pad(c, [p] * 4)),
        "Rows and columns are swapped: the output has (H - 1)s + k - 2p rows.": lambda x, K, s, p: _conv_t(x, K, s, p).T,
    }, report=lambda r: f"matches F.conv_transpose2d in {len(r)} cases; the hand example's centre pixel is {r[0][2, 2]:g}",
)  # fmt: skip


# ----------------------------------------------------------------------------- Task 3
_gen4 = seeded(4)

conv_transpose2d_matrix = Check(
    "conv_transpose2d_matrix", doc="""``fn(K, n, s, p)``: the matrix T, shape (o², n²), with ``conv_transpose2d(x).flatten() = T @ x.flatten()``.

    Column :math:`i n + j` of T is the stamp of the unit image at (i, j), cropped and flattened.""",
    reference=_t_matrix, cases=[
        Case(f"conv_transpose2d_matrix(K, n=2, s=2, p={p}) of the hand example", (hand_example()[1], 2, 2, p), guard=_keeps_float64) for p in (0, 1)
    ] + [
        Case(f"conv_transpose2d_matrix(random {k}x{k} K, n={n}, s={s}, p={p})", (_random(k, k, generator=_gen4), n, s, p), guard=_keeps_float64)
        for k, s, p, n in _settings()
    ], mistakes={
        "Column i*n + j belongs to input pixel (i, j), row-major like x.flatten(); yours are in column-major order.":
            lambda K, n, s, p: _t_matrix(K, n, s, p)[:, torch.arange(n * n).reshape(n, n).T.flatten()],  # column j * n + i
        "The kernel is flipped: conv_transpose2d stamps K as it is.": lambda K, n, s, p: _t_matrix(K.flip(0, 1), n, s, p),
        "The stamps are s apart: column (i, j) holds K with its corner at (i*s, j*s), before the crop.":
            partial(_matrix_of, lambda units, K, stride, padding: torch.stack([_scatter(u[0], K[0, 0], stride, padding, step=1)[None] for u in units])),
        "T has one row per *output* pixel and one column per input pixel, so that y.flatten() = T @ x.flatten(); yours is the "
        "other way round (that is the shape of the convolution's matrix C, or of T transposed).": lambda K, n, s, p: _t_matrix(K, n, s, p).T,
        "Those are the canvas's pixels: crop p from every side of each column's stamp.": lambda K, n, s, p: _t_matrix(K, n, s, 0),
    }, report=lambda r: f"T @ x.flatten() = conv_transpose2d(x) in {len(r)} settings; the hand example's T is {tuple(r[0].shape)}",
)  # fmt: skip


# ----------------------------------------------------------------------------- Task 4
_gen5 = seeded(5)
_CONV = [(k, s, p, n, _random(k, k, generator=_gen5)) for k, s, p, n in _settings()]  # the s image sizes m that each takes to n
_IMAGES = [_random(m, m, generator=_gen5) for k, s, p, n, K in _CONV for m in range(_size(n, k, s, p), _size(n, k, s, p) + s)]  # one per random case

_conv2d_matrix = Check(
    "conv2d_matrix", reference=_c_matrix, cases=[
        Case(f"conv2d_matrix(K, m=5, s=2, p={p}) of the hand example", (hand_example()[1], 5, 2, p), guard=_keeps_float64) for p in (0, 1)
    ] + [
        Case(f"conv2d_matrix(random {k}x{k} K, m={m}, s={s}, p={p})", (K, m, s, p), guard=_keeps_float64)
        for k, s, p, n, K in _CONV for m in range(_size(n, k, s, p), _size(n, k, s, p) + s)
    ], mistakes={
        "The kernel is flipped: F.conv2d is a cross-correlation, it reads z[a s - p + u, b s - p + v] with K[u, v].": partial(_conv_matrix, flip=True),
        "Output pixel (a, b) reads the window starting at (a s - p, b s - p): you left out the -p (zero padding).": partial(_conv_matrix, offset=0),
        "Output pixel (a, b) reads the window starting at (a s - p, b s - p): you left out the stride.": partial(_conv_matrix, step=1),
        "C has one row per *output* pixel of the convolution and one column per input pixel, so that conv2d(z).flatten() = "
        "C @ z.flatten(); yours is the other way round.": lambda K, m, s, p: _c_matrix(K, m, s, p).T,
        "The convolution's output has floor((m + 2p - k)/s) + 1 pixels a side: include the padding.": partial(_conv_matrix, padded=False),
    },
)  # fmt: skip


def conv2d_matrix(fn, conv_transpose2d_matrix) -> None:
    """``fn(K, m, s, p)``: the matrix C of ``F.conv2d`` on m x m images, and :math:`T = C^\\top`.

    Row :math:`a n' + b` of C holds :math:`K_{uv}` in column :math:`(as - p + u)m + (bs - p + v)`
    for the taps that fall inside the image, :math:`n' = \\lfloor (m + 2p - k)/s \\rfloor + 1`.
    When m is the transposed convolution's output size, C is the transpose of that layer's T.
    """
    task = "conv2d_matrix"
    matrices = _conv2d_matrix.results(fn)
    for case, C, z in zip(_conv2d_matrix.cases[2:], matrices[2:], _IMAGES, strict=True):
        K, m, s, p = case.args
        compare(task, f"{case.label} @ z.flatten()", C @ z.flatten(), _conv(z, K, s, p).flatten())
    pairs = [  # on the transposed convolution's output size, T = C^T
        Case(f"conv_transpose2d_matrix(K, n={n}, s={s}, p={p}) vs conv2d_matrix(random {k}x{k} K, m={_size(n, k, s, p)}, s={s}, p={p}).T",
             (K, n, s, p), _c_matrix(K, _size(n, k, s, p), s, p).T, what="conv_transpose2d_matrix")
        for k, s, p, n, K in _CONV
    ] + [Case("the hand example's T vs C.T", (hand_example()[1], 2, 2, 0), _c_matrix(hand_example()[1], 5, 2, 0).T, what="conv_transpose2d_matrix")]  # fmt: skip
    run(task, conv_transpose2d_matrix, pairs)
    passed(task, f"C @ z.flatten() = conv2d(z) in {len(matrices)} settings, and T = C^T in all {len(pairs)} that pair up")  # fmt: skip
