"""Transposed convolution by hand, on single-channel 2-D tensors (H, W).

Two views of the same linear map, each checked against ``torch.nn.functional.conv_transpose2d``:

- **scatter-add**: every input pixel :math:`x_{ij}` stamps a copy of the kernel, scaled by
  :math:`x_{ij}`, onto the output at :math:`(i s, j s)`; overlapping stamps add up
  (:func:`conv_transpose2d_scatter`, step by step with ``return_steps=True``);
- **matrix**: write the convolution as a matrix, :math:`\\operatorname{conv}(x) = C\\,x`;
  the transposed convolution is :math:`C^\\top y` (:func:`conv_matrix`,
  :func:`conv_transpose2d_matrix`).

Where stamps overlap unevenly the output gets a checkerboard; :func:`overlap_map` counts
the stamps that land on each output pixel (kernel 3, stride 2: 1, 2 and 4; kernel 4,
stride 2: uniform away from the border).

Conventions are PyTorch's: ``conv2d`` is a cross-correlation (the kernel is not flipped),
and ``padding`` of a transposed convolution *crops* the output.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

Tensor = torch.Tensor


def output_size(
    n: int,
    kernel_size: int,
    stride: int = 1,
    padding: int = 0,
    output_padding: int = 0,
    dilation: int = 1,
) -> int:
    """Length of a transposed convolution's output along one dimension.

    .. math:: n_{out} = (n - 1)\\,s - 2p + d\\,(k - 1) + p_{out} + 1

    The input's ``n`` pixels are ``s`` apart on the canvas, each stamps a (dilated) kernel of
    extent :math:`d(k-1)+1`, ``p`` is cropped on each side and :math:`p_{out}` added at the
    end. :math:`p_{out}` exists only to pick one of the ``s`` input sizes that a strided
    convolution maps to the same output size, hence :math:`p_{out} < \\max(s, d)`.

    Args:
        n: input length (>= 1).
        kernel_size, stride, dilation: >= 1.
        padding, output_padding: >= 0, with ``output_padding < max(stride, dilation)``.

    Returns:
        The output length, an int >= 1.

    Raises:
        ValueError: on out-of-range arguments or an output shorter than one pixel.

    Introduced in chapter 6.
    """
    for name, value, least in (
        ("n", n, 1),
        ("kernel_size", kernel_size, 1),
        ("stride", stride, 1),
        ("dilation", dilation, 1),
        ("padding", padding, 0),
        ("output_padding", output_padding, 0),
    ):
        if int(value) != value or value < least:
            raise ValueError(f"{name} must be an integer >= {least}, got {value!r}")
    if output_padding >= max(stride, dilation):
        raise ValueError(
            f"output_padding must be smaller than max(stride, dilation) = {max(stride, dilation)}, "
            f"got {output_padding}"
        )
    size = (n - 1) * stride - 2 * padding + dilation * (kernel_size - 1) + output_padding + 1
    if size < 1:
        raise ValueError(
            f"the output would have {size} pixels: padding {padding} crops more than the "
            f"(n-1)*s + d*(k-1) + 1 = {size + 2 * padding - output_padding} pixels of the canvas"
        )
    return int(size)


@dataclass(frozen=True)
class ScatterStep:
    """One input pixel's contribution in the scatter-add view (all canvases uncropped)."""

    i: int  # row of the input pixel
    j: int  # column of the input pixel
    value: float  # x[i, j]
    contribution: Tensor  # x[i, j] * kernel placed at (i*s, j*s) on the full canvas
    total: Tensor  # the running sum of contributions, this one included


def conv_transpose2d_scatter(
    x,
    kernel,
    stride: int = 1,
    padding: int = 0,
    output_padding: int = 0,
    return_steps: bool = False,
):
    """Transposed convolution as a scatter-add: each input pixel stamps a scaled kernel.

    .. math:: Y[i s + u,\\; j s + v] \\mathrel{+}= x_{ij}\\, K_{uv}

    on the full canvas of size :math:`((H-1)s + k_h) \\times ((W-1)s + k_w)`; the result is
    the canvas with ``padding`` rows/columns cropped from each side and ``output_padding``
    extra rows/columns (zeros beyond the canvas) kept at the bottom/right. Equals
    ``F.conv_transpose2d(x[None, None], kernel[None, None], stride=stride, padding=padding,
    output_padding=output_padding)[0, 0]``.

    Args:
        x: input, shape (H, W).
        kernel: shape (k_h, k_w).
        stride, padding, output_padding: as in ``torch.nn.ConvTranspose2d`` (ints).
        return_steps: also return one :class:`ScatterStep` per input pixel, in row-major order.

    Returns:
        The output, shape (H_out, W_out) with sizes from :func:`output_size`; with
        ``return_steps=True``, ``(output, steps)``.

    Introduced in chapter 6.
    """
    x, kernel = _as_2d(x, "x"), _as_2d(kernel, "kernel")
    dtype = torch.promote_types(x.dtype, kernel.dtype)
    x, kernel = x.to(dtype), kernel.to(dtype)
    (H, W), (k_h, k_w) = x.shape, kernel.shape
    out_h = output_size(H, k_h, stride, padding, output_padding)
    out_w = output_size(W, k_w, stride, padding, output_padding)
    canvas = torch.zeros((H - 1) * stride + k_h, (W - 1) * stride + k_w, dtype=dtype)
    steps: list[ScatterStep] = []
    for i in range(H):
        for j in range(W):
            # x[i, j] stamps the kernel with its top-left corner at (i*s, j*s)
            rows = slice(i * stride, i * stride + k_h)
            cols = slice(j * stride, j * stride + k_w)
            canvas[rows, cols] += x[i, j] * kernel
            if return_steps:
                contribution = torch.zeros_like(canvas)
                contribution[rows, cols] = x[i, j] * kernel
                steps.append(ScatterStep(i, j, x[i, j].item(), contribution, canvas.clone()))
    y = crop(canvas, padding, output_padding)
    assert y.shape == (out_h, out_w)
    return (y, steps) if return_steps else y


def crop(canvas: Tensor, padding: int = 0, output_padding: int = 0) -> Tensor:
    """The output of a transposed convolution from its full canvas.

    Drops ``padding`` rows/columns on every side, then keeps ``output_padding`` more at the
    bottom/right (taken from what padding dropped, zeros beyond the canvas).

    Args:
        canvas: shape (H_full, W_full).

    Returns:
        shape (H_full - 2p + p_out, W_full - 2p + p_out).

    Introduced in chapter 6.
    """
    canvas = _as_2d(canvas, "canvas")
    p, op = padding, output_padding
    h, w = (n - 2 * p + op for n in canvas.shape)
    if p < 0 or op < 0 or h < 1 or w < 1:
        raise ValueError(f"cannot crop {p} and add {op} to a canvas of shape {tuple(canvas.shape)}")
    grown = canvas.new_zeros(max(canvas.shape[0], p + h), max(canvas.shape[1], p + w))
    grown[: canvas.shape[0], : canvas.shape[1]] = canvas
    return grown[p : p + h, p : p + w]


def conv_matrix(kernel, input_shape: tuple[int, int], stride: int = 1, padding: int = 0) -> Tensor:
    """The matrix of a convolution (PyTorch's cross-correlation) acting on flattened images.

    .. math:: \\operatorname{conv}(x)[a, b] = \\sum_{u, v} K_{uv}\\, x[a s - p + u,\\; b s - p + v]

    (zero outside the image), so row :math:`a W_{out} + b` of ``C`` holds the kernel's
    weights in the columns of the input pixels that output pixel (a, b) reads:
    ``F.conv2d(x[None, None], K[None, None], stride=s, padding=p).flatten() == C @ x.flatten()``.

    Args:
        kernel: shape (k_h, k_w).
        input_shape: (H, W) of the image the convolution reads.
        stride, padding: as in ``torch.nn.Conv2d`` (ints, zero padding).

    Returns:
        ``C``, shape (H_out * W_out, H * W) with :math:`H_{out} = \\lfloor (H + 2p - k_h)/s \\rfloor + 1`.

    Introduced in chapter 6.
    """
    kernel = _as_2d(kernel, "kernel")
    H, W = (int(n) for n in input_shape)
    k_h, k_w = kernel.shape
    if stride < 1 or padding < 0:
        raise ValueError(
            f"need stride >= 1 and padding >= 0, got stride={stride}, padding={padding}"
        )
    if H + 2 * padding < k_h or W + 2 * padding < k_w:
        raise ValueError(
            f"a {k_h}x{k_w} kernel does not fit a padded {H}x{W} input (padding {padding})"
        )
    out_h = (H + 2 * padding - k_h) // stride + 1
    out_w = (W + 2 * padding - k_w) // stride + 1
    C = kernel.new_zeros(out_h * out_w, H * W)
    for a in range(out_h):
        for b in range(out_w):
            for u in range(k_h):
                for v in range(k_w):
                    i, j = a * stride - padding + u, b * stride - padding + v
                    if 0 <= i < H and 0 <= j < W:
                        C[a * out_w + b, i * W + j] = kernel[u, v]
    return C


def conv_transpose2d_matrix(
    x, kernel, stride: int = 1, padding: int = 0, output_padding: int = 0
) -> Tensor:
    """Transposed convolution as the transpose of a convolution matrix: :math:`y = C^\\top x`.

    ``C`` is the matrix (:func:`conv_matrix`) of the convolution with the same kernel, stride
    and padding that maps an image of the *output's* size (H_out, W_out) down to the input's
    size (H, W). Entry :math:`C_{mn}` is the weight with which input pixel ``n`` feeds output
    pixel ``m`` of that convolution; :math:`C^\\top` sends every value back along the same
    connections with the same weights: pixel :math:`x_{ij}` spreads :math:`x_{ij} K` over the
    pixels that the convolution's output (i, j) read, which is exactly the scatter-add. It is
    also the adjoint, :math:`\\langle Cz, x\\rangle = \\langle z, C^\\top x\\rangle`, i.e. the
    gradient of the convolution, which is how PyTorch defines ``conv_transpose2d``. Only the
    connectivity is transposed: :math:`C^\\top` is not the inverse of ``C``.

    Args:
        x: input, shape (H, W).
        kernel: shape (k_h, k_w).
        stride, padding, output_padding: as in ``torch.nn.ConvTranspose2d``.

    Returns:
        shape (H_out, W_out), sizes from :func:`output_size`.
    """
    x, kernel = _as_2d(x, "x"), _as_2d(kernel, "kernel")
    dtype = torch.promote_types(x.dtype, kernel.dtype)
    x, kernel = x.to(dtype), kernel.to(dtype)
    out_shape = tuple(
        output_size(n, k, stride, padding, output_padding)
        for n, k in zip(x.shape, kernel.shape, strict=True)
    )
    C = conv_matrix(kernel, out_shape, stride, padding)  # (H * W, H_out * W_out)
    assert C.shape[0] == x.numel()
    return (C.T @ x.flatten()).reshape(out_shape)


def overlap_map(kernel_size: int, stride: int, input_size) -> Tensor:
    """How many input pixels stamp their kernel on each output pixel (no padding).

    The scatter-add of an all-ones input with an all-ones kernel. Where the count varies,
    a transposed convolution paints some output pixels more often than their neighbours:
    the checkerboard artefact. It is uniform away from the border iff ``stride`` divides
    ``kernel_size``; kernel 3 with stride 2 gives 1, 2 and 4 (= 1x1, 1x2, 2x2 overlaps).

    Args:
        kernel_size: k, for a k x k kernel.
        stride: s.
        input_size: n or (H, W).

    Returns:
        int64 tensor of shape ((H-1)s + k, (W-1)s + k).

    Introduced in chapter 6.
    """
    H, W = (input_size, input_size) if isinstance(input_size, int) else input_size
    ones = torch.ones(H, W, dtype=torch.int64)
    return conv_transpose2d_scatter(
        ones, torch.ones(kernel_size, kernel_size, dtype=torch.int64), stride
    )


def _as_2d(t, name: str) -> Tensor:
    t = torch.as_tensor(t)
    if t.dim() != 2 or t.numel() == 0:
        raise ValueError(
            f"{name} must be a non-empty 2-D tensor (H, W), got shape {tuple(t.shape)}"
        )
    if not (t.dtype.is_floating_point or t.dtype in (torch.int32, torch.int64)):
        t = t.to(torch.float32)
    return t
