"""Checks for assignment 3: transposed convolution by hand, on one image with one channel.

The references are PyTorch's ``F.conv_transpose2d`` and ``F.conv2d`` (and their matrices,
which are what they make of every unit image), two small examples computed by hand: the
lecture's 2x2 input and 2x2 kernel with stride 1 (chapter 6), and a 2x2 input with a 3x3
kernel and stride 2, whose 5x5 output has the centre pixel
:math:`x_{00}K_{22} + x_{01}K_{20} + x_{10}K_{02} + x_{11}K_{00} = 1 + 6 + 0 + 3 = 10`.

Conventions are PyTorch's: ``conv2d`` is a cross-correlation and ``conv_transpose2d`` does not
flip the kernel; the padding of a transposed convolution crops ``p`` pixels from every side.
"""

from __future__ import annotations

import itertools

import torch
import torch.nn.functional as F

from . import compare, f64, fail, passed, to_float, to_tensor

# the lecture's example (chapter 6): stride 1, no padding
LECTURE_X = [[1.0, 4.0], [0.0, 2.0]]
LECTURE_K = [[2.0, 0.0], [1.0, 3.0]]
LECTURE_Y = [[2.0, 8.0, 0.0], [1.0, 11.0, 12.0], [0.0, 2.0, 6.0]]

# the hand example: a 2x2 input, a 3x3 kernel, stride 2
HAND_X = [[1.0, 2.0], [-1.0, 3.0]]
HAND_K = [[1.0, 2.0, 0.0], [0.0, 1.0, -1.0], [3.0, 0.0, 1.0]]
HAND_Y = [  # stride 2, padding 0, worked out stamp by stamp
    [1.0, 2.0, 2.0, 4.0, 0.0],
    [0.0, 1.0, -1.0, 2.0, -2.0],
    [2.0, -2.0, 10.0, 6.0, 2.0],
    [0.0, -1.0, 1.0, 3.0, -3.0],
    [-3.0, 0.0, 8.0, 0.0, 3.0],
]


def hand_example():
    """The hand example's input x (2, 2) and kernel K (3, 3), float64; use stride 2."""
    return torch.tensor(HAND_X, dtype=f64), torch.tensor(HAND_K, dtype=f64)


def lecture_example():
    """The lecture's input x (2, 2) and kernel K (2, 2), float64; use stride 1."""
    return torch.tensor(LECTURE_X, dtype=f64), torch.tensor(LECTURE_K, dtype=f64)


# ----------------------------------------------------------------------------- references
def _size(n, k, s, p):
    return (n - 1) * s - 2 * p + k


def _settings():
    """(k, s, p, n): kernels 2..5, strides 1..3, paddings 0..2 (at most k - 1), inputs 2 and 3."""
    for k, s, p, n in itertools.product(range(2, 6), range(1, 4), range(3), (2, 3)):
        if p <= k - 1 and _size(n, k, s, p) >= 1:
            yield k, s, p, n


def _conv_t(x, K, s, p):
    return F.conv_transpose2d(x[None, None], K[None, None], stride=s, padding=p)[0, 0]


def _conv(z, K, s, p):
    return F.conv2d(z[None, None], K[None, None], stride=s, padding=p)[0, 0]


def _matrix_of(op, n: int) -> torch.Tensor:
    """The matrix of a linear map of n x n images: column i*n + j is op(unit image at (i, j))."""
    units = torch.eye(n * n, dtype=f64).reshape(n * n, 1, n, n)
    return op(units).reshape(n * n, -1).T.contiguous()


def _t_matrix(K, n, s, p):
    k = K[None, None]
    return _matrix_of(lambda e: F.conv_transpose2d(e, k, stride=s, padding=p), n)


def _c_matrix(K, m, s, p):
    k = K[None, None]
    return _matrix_of(lambda e: F.conv2d(e, k, stride=s, padding=p), m)


def _random(gen, *shape):
    return torch.randn(*shape, dtype=f64, generator=gen)


# ----------------------------------------------------------------------------- mistakes
def _scatter(x, K, s, p, *, step=None, flip=False, crop="both"):
    """A scatter-add with a mistake: stamps ``step`` apart, a flipped kernel, another crop."""
    (H, W), k = x.shape, K.shape[0]
    K = K.flip(0, 1) if flip else K
    step = s if step is None else step
    canvas = torch.zeros((H - 1) * s + k, (W - 1) * s + k, dtype=f64)
    for i, j in itertools.product(range(H), range(W)):
        canvas[i * step : i * step + k, j * step : j * step + k] += x[i, j] * K
    R, C = canvas.shape
    return {
        "both": canvas[p : R - p, p : C - p],
        "2p top-left": canvas[2 * p :, 2 * p :],
        "2p bottom-right": canvas[: R - 2 * p, : C - 2 * p],
    }[crop]


def _conv_matrix(K, m, s, p, *, flip=False, offset=None, step=None):
    """A convolution matrix with a mistake: flipped kernel, wrong offset or step of the windows."""
    k = K.shape[0]
    K = K.flip(0, 1) if flip else K
    offset = p if offset is None else offset
    step = s if step is None else step
    n_out = (m + 2 * p - k) // s + 1
    C = torch.zeros(n_out * n_out, m * m, dtype=f64)
    for a, b, u, v in itertools.product(range(n_out), range(n_out), range(k), range(k)):
        i, j = a * step - offset + u, b * step - offset + v
        if 0 <= i < m and 0 <= j < m:
            C[a * n_out + b, i * m + j] = K[u, v]
    return C


def _column_major(T, n):
    """T with its columns in column-major order of the input pixels (j * n + i)."""
    return T[:, torch.arange(n * n).reshape(n, n).T.flatten()]


def _shape(task, case, got, want_shape, mistakes=None):
    """``got`` as a tensor of shape ``want_shape``, or a failure naming the shape's mistake."""
    if isinstance(got, torch.Tensor) and got.dtype in (torch.float32, torch.float16, torch.bfloat16):
        fail(task, f"{case} returned a {str(got.dtype).removeprefix('torch.')} tensor, which loses digits: "
                   "the inputs are float64, so create your zeros with dtype=x.dtype (or K.dtype).")
    got = to_tensor(task, got, case)
    want_shape = tuple(want_shape)
    if tuple(got.shape) == want_shape:
        return got
    for explanation, shape in (mistakes or {}).items():
        if tuple(got.shape) == tuple(shape):
            fail(task, f"{case} returned shape {tuple(got.shape)}; expected {want_shape}. {explanation}")
    fail(task, f"{case} returned shape {tuple(got.shape)}; expected {want_shape}.")


# ----------------------------------------------------------------------------- Task 1
def output_size(fn) -> None:
    """``fn(n, k, s, p)``: the output length :math:`(n - 1)s - 2p + k` of a transposed convolution."""
    task = "output_size"
    settings = [(5, 3, 3, 2), (7, 4, 2, 1), (2, 3, 2, 0), (1, 7, 1, 0)]
    settings += [(n, k, s, p) for k, s, p, n in _settings()]
    for n, k, s, p in settings:
        shape = F.conv_transpose2d(torch.zeros(1, 1, n, n), torch.zeros(1, 1, k, k), stride=s, padding=p).shape
        want = shape[-1]
        case = f"output_size(n={n}, k={k}, s={s}, p={p})"
        compare(task, case, to_float(task, fn(n, k, s, p), case), want, {
            "The padding of a transposed convolution *removes* p pixels from each side: subtract 2p.": (n - 1) * s + k,
            "The padding is added, but a transposed convolution's padding crops the canvas: -2p, not +2p.": (n - 1) * s + 2 * p + k,
            "The n stamps start at 0, s, ..., (n - 1)s, so the canvas is (n - 1)s + k long, not n*s + k.": n * s - 2 * p + k,
            "The padding is cropped on both sides: subtract 2p, not p.": (n - 1) * s - p + k,
            "That is the ordinary convolution's output size, floor((n + 2p - k)/s) + 1; the transposed one goes the other way.": (n + 2 * p - k) // s + 1,
            "The last stamp starts at (n - 1)s and covers k pixels, up to (n - 1)s + k - 1: add k, not k - 1.": (n - 1) * s - 2 * p + k - 1,
        })
    passed(task, f"(n - 1)s - 2p + k matches PyTorch in {len(settings)} settings; k=4, s=2, p=1 takes 7 to {fn(7, 4, 2, 1)}")


# ----------------------------------------------------------------------------- Task 2
def conv_transpose2d_scatter(fn) -> None:
    """``fn(x, K, s, p)``: scatter :math:`Y[is + u, js + v] \\mathrel{+}= x_{ij} K_{uv}`, crop ``p`` from every side."""
    task = "conv_transpose2d_scatter"
    x, K = hand_example()
    cases = [
        ("the hand example, stride 2", x, K, 2, 0, torch.tensor(HAND_Y, dtype=f64)),
        ("the hand example, stride 2, padding 1", x, K, 2, 1, torch.tensor(HAND_Y, dtype=f64)[1:-1, 1:-1]),
        ("the lecture's example, stride 1", *lecture_example(), 1, 0, torch.tensor(LECTURE_Y, dtype=f64)),
    ]
    gen = torch.Generator().manual_seed(3)
    for k, s, p, n in _settings():
        x_r, K_r = _random(gen, n, n + 1), _random(gen, k, k)  # H != W: rows and columns apart
        cases.append((f"a random {n}x{n + 1} input, k={k}, s={s}, p={p}", x_r, K_r, s, p, _conv_t(x_r, K_r, s, p)))
    for name, x_c, K_c, s, p, want in cases:
        assert torch.allclose(want, _conv_t(x_c, K_c, s, p))  # the hand values are PyTorch's
        (H, W), k = x_c.shape, K_c.shape[0]
        canvas = ((H - 1) * s + k, (W - 1) * s + k)
        case = f"conv_transpose2d_scatter on {name}"
        got = _shape(task, case, fn(x_c.clone(), K_c.clone(), s, p), want.shape, {
            "canvas[p:-p] is empty when p = 0; slice up to the canvas's size minus p instead.": (0, 0),
            "The stamps are s apart, so the canvas is (H - 1)s + k long: did you leave out the stride?":
                (H - 1 + k - 2 * p, W - 1 + k - 2 * p),
            "That is the whole canvas: the padding crops p rows and columns from every side of it.": canvas,
            "Crop p from the top and left *and* from the bottom and right.": (canvas[0] - p, canvas[1] - p),
            "A transposed convolution's padding removes p pixels from each side; it adds none.":
                (canvas[0] + 2 * p, canvas[1] + 2 * p),
            "Rows and columns are swapped: the output has (H - 1)s + k - 2p rows.": want.shape[::-1],
        })
        compare(task, case, got, want, {
            "The kernel is flipped: that is a convolution in the mathematicians' sense; conv_transpose2d stamps K as it is.":
                _scatter(x_c, K_c, s, p, flip=True),
            "The stamps overlap too much: x[i, j]'s stamp starts at (i*s, j*s), not at (i, j).": _scatter(x_c, K_c, s, p, step=1),
            "That crops 2p from the top and left only; crop p from each of the four sides.":
                _scatter(x_c, K_c, s, p, crop="2p top-left"),
            "That crops 2p from the bottom and right only; crop p from each of the four sides.":
                _scatter(x_c, K_c, s, p, crop="2p bottom-right"),
        })
    centre = to_float(task, fn(x, K, 2, 0)[2, 2], "the centre pixel")
    passed(task, f"matches F.conv_transpose2d in {len(cases)} cases; the hand example's centre pixel is {centre:g}")


# ----------------------------------------------------------------------------- Task 3
def _check_t(task, fn, K, n, s, p, case):
    k = K.shape[0]
    o, full = _size(n, k, s, p), (n - 1) * s + k
    want = _t_matrix(K, n, s, p)
    got = _shape(task, case, fn(K.clone(), n, s, p), (o * o, n * n), {
        "T has one row per *output* pixel and one column per input pixel, so that y.flatten() = T @ x.flatten(); "
        "yours is the other way round (that is the shape of the convolution's matrix C, or of T transposed).": (n * n, o * o),
        "Those are the canvas's pixels: crop p from every side of each column's stamp.": (full * full, n * n),
    })
    compare(task, case, got, want, {
        "Column i*n + j belongs to input pixel (i, j), row-major like x.flatten(); yours are in column-major order.":
            _column_major(want, n),
        "The kernel is flipped: conv_transpose2d stamps K as it is.": _t_matrix(K.flip(0, 1), n, s, p),
        "The stamps are s apart: column (i, j) holds K with its corner at (i*s, j*s), before the crop.":
            _matrix_of(lambda units: torch.stack([_scatter(u[0], K, s, p, step=1)[None] for u in units]), n),
    })


def conv_transpose2d_matrix(fn) -> None:
    """``fn(K, n, s, p)``: the matrix T, shape (o², n²), with ``conv_transpose2d(x).flatten() = T @ x.flatten()``.

    Column :math:`i n + j` of T is the stamp of the unit image at (i, j), cropped and flattened.
    """
    task = "conv_transpose2d_matrix"
    _, K = hand_example()
    _check_t(task, fn, K, 2, 2, 0, "conv_transpose2d_matrix(K, n=2, s=2, p=0) of the hand example")
    _check_t(task, fn, K, 2, 2, 1, "conv_transpose2d_matrix(K, n=2, s=2, p=1) of the hand example")
    gen = torch.Generator().manual_seed(4)
    count = 2
    for k, s, p, n in _settings():
        K_r = _random(gen, k, k)
        _check_t(task, fn, K_r, n, s, p, f"conv_transpose2d_matrix(random {k}x{k} K, n={n}, s={s}, p={p})")
        count += 1
    T = to_tensor(task, fn(K, 2, 2, 0))
    passed(task, f"T @ x.flatten() = conv_transpose2d(x) in {count} settings; the hand example's T is {tuple(T.shape)}")


# ----------------------------------------------------------------------------- Task 4
def _check_c(task, fn, K, m, s, p, case):
    k = K.shape[0]
    n_out = (m + 2 * p - k) // s + 1
    want = _c_matrix(K, m, s, p)
    got = _shape(task, case, fn(K.clone(), m, s, p), (n_out * n_out, m * m), {
        "C has one row per *output* pixel of the convolution and one column per input pixel, so that "
        "conv2d(z).flatten() = C @ z.flatten(); yours is the other way round.": (m * m, n_out * n_out),
        "The convolution's output has floor((m + 2p - k)/s) + 1 pixels a side: include the padding.":
            ((((m - k) // s + 1) ** 2), m * m),
    })
    compare(task, case, got, want, {
        "The kernel is flipped: F.conv2d is a cross-correlation, it reads z[a s - p + u, b s - p + v] with K[u, v].":
            _conv_matrix(K, m, s, p, flip=True),
        "Output pixel (a, b) reads the window starting at (a s - p, b s - p): you left out the -p (zero padding).":
            _conv_matrix(K, m, s, p, offset=0),
        "Output pixel (a, b) reads the window starting at (a s - p, b s - p): you left out the stride.":
            _conv_matrix(K, m, s, p, step=1),
    })
    return got


def conv2d_matrix(fn, conv_transpose2d_matrix) -> None:
    """``fn(K, m, s, p)``: the matrix C of ``F.conv2d`` on m x m images, and :math:`T = C^\\top`.

    Row :math:`a n' + b` of C holds :math:`K_{uv}` in column :math:`(as - p + u)m + (bs - p + v)`
    for the taps that fall inside the image, :math:`n' = \\lfloor (m + 2p - k)/s \\rfloor + 1`.
    When m is the transposed convolution's output size, C is the transpose of that layer's T.
    """
    task = "conv2d_matrix"
    _, K = hand_example()
    C = _check_c(task, fn, K, 5, 2, 0, "conv2d_matrix(K, m=5, s=2, p=0) of the hand example")
    _check_c(task, fn, K, 5, 2, 1, "conv2d_matrix(K, m=5, s=2, p=1) of the hand example")
    gen = torch.Generator().manual_seed(5)
    count, transposes = 2, 0
    for k, s, p, n in _settings():
        K_r = _random(gen, k, k)
        o = _size(n, k, s, p)
        for m in range(o, o + s):  # the s image sizes that this convolution takes to n
            case = f"conv2d_matrix(random {k}x{k} K, m={m}, s={s}, p={p})"
            C_r = _check_c(task, fn, K_r, m, s, p, case)
            count += 1
            z = _random(gen, m, m)
            compare(task, f"{case} @ z.flatten()", C_r @ z.flatten(), _conv(z, K_r, s, p).flatten())
            if m == o:  # the name: on the transposed convolution's output size, T = C^T
                T_r = to_tensor(task, conv_transpose2d_matrix(K_r, n, s, p), "conv_transpose2d_matrix")
                compare(task, f"conv_transpose2d_matrix(K, n={n}, s={s}, p={p}) vs {case}.T", T_r, C_r.T)
                transposes += 1
    T = to_tensor(task, conv_transpose2d_matrix(K, 2, 2, 0))
    compare(task, "the hand example's T vs C.T", T, C.T)
    passed(task, f"C @ z.flatten() = conv2d(z) in {count} settings, and T = C^T in all {transposes + 1} that pair up")
