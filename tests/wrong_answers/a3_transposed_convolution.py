"""Wrong answers for assignment 3 that its checks must catch: (function, wrong body, words of the message)."""

_SCATTER = """(H, W), k = x.shape, K.shape[0]
Y = torch.zeros((H - 1) * s + k, (W - 1) * s + k, dtype=x.dtype)
for i in range(H):
    for j in range(W):
        Y[{rows}, {cols}] += x[i, j] * {kernel}
return {crop}"""


def _scatter(rows="i * s : i * s + k", cols="j * s : j * s + k", kernel="K",
             crop="Y[p : Y.shape[0] - p, p : Y.shape[1] - p]"):
    return _SCATTER.format(rows=rows, cols=cols, kernel=kernel, crop=crop)


_T = """columns = []
for {outer} in range(n):
    for {inner} in range(n):
        unit = torch.zeros(n, n, dtype=K.dtype)
        unit[i, j] = 1.0
        stamp = conv_transpose2d_scatter(unit, {kernel}, s, {p})
        columns.append(stamp.flatten())
return torch.stack(columns, dim={dim})"""


def _t(outer="i", inner="j", kernel="K", p="p", dim=1):
    return _T.format(outer=outer, inner=inner, kernel=kernel, p=p, dim=dim)


_C = """k = K.shape[0]
n_out = {n_out}
C = torch.zeros({shape}, dtype=K.dtype)
for a in range(n_out):
    for b in range(n_out):
        for u in range(k):
            for v in range(k):
                i, j = {taps}
                if 0 <= i < m and 0 <= j < m:
                    C[{entry}] = {weight}"""


def _c(n_out="(m + 2 * p - k) // s + 1", shape="n_out * n_out, m * m",
       taps="a * s - p + u, b * s - p + v", entry="a * n_out + b, i * m + j", weight="K[u, v]"):
    return _C.format(n_out=n_out, shape=shape, taps=taps, entry=entry, weight=weight) + "\nreturn C"


WRONG = [
    ("output_size", "return (n - 1) * s + k", "subtract 2p"),
    ("output_size", "return (n - 1) * s + 2 * p + k", "-2p, not +2p"),
    ("output_size", "return n * s - 2 * p + k", "not n*s + k"),
    ("output_size", "return (n + 2 * p - k) // s + 1", "ordinary convolution's output size"),
    ("output_size", "return (n - 1) * s - 2 * p + k - 1", "add k, not k - 1"),
    ("conv_transpose2d_scatter", _scatter(kernel="K.flip(0, 1)"), "kernel is flipped"),
    ("conv_transpose2d_scatter", _scatter(rows="i : i + k", cols="j : j + k"), "not at (i, j)"),
    ("conv_transpose2d_scatter",
     _scatter().replace("(H - 1) * s + k, (W - 1) * s + k", "H - 1 + k, W - 1 + k")
     .replace("Y[i * s : i * s + k, j * s : j * s + k]", "Y[i : i + k, j : j + k]"), "leave out the stride"),
    ("conv_transpose2d_scatter", _scatter(crop="Y"), "whole canvas"),
    ("conv_transpose2d_scatter", _scatter(crop="Y[p:, p:]"), "from the bottom and right"),
    ("conv_transpose2d_scatter", _scatter(crop="Y[2 * p :, 2 * p :]"), "crops 2p from the top and left"),
    ("conv_transpose2d_scatter", _scatter(crop="Y[p:-p, p:-p]"), "empty when p = 0"),
    ("conv_transpose2d_scatter", _scatter().replace(", dtype=x.dtype", ""), "dtype=x.dtype"),
    ("conv_transpose2d_matrix", _t(dim=0), "other way round"),
    ("conv_transpose2d_matrix", _t(outer="j", inner="i"), "column-major"),
    ("conv_transpose2d_matrix", _t(kernel="K.flip(0, 1)"), "kernel is flipped"),
    ("conv_transpose2d_matrix", _t(p="0"), "crop p from every side"),
    ("conv2d_matrix", _c(weight="K[k - 1 - u, k - 1 - v]"), "cross-correlation"),
    ("conv2d_matrix", _c(shape="m * m, n_out * n_out", entry="i * m + j, a * n_out + b"), "other way round"),
    ("conv2d_matrix", _c(taps="a * s + u, b * s + v"), "left out the -p"),
    ("conv2d_matrix", _c(taps="a - p + u, b - p + v"), "left out the stride"),
    ("conv2d_matrix", _c(n_out="(m - k) // s + 1"), "include the padding"),
]
