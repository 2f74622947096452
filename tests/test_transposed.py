"""Transposed convolution by hand agrees with PyTorch, in both of its views."""

import itertools

import pytest
import torch
import torch.nn.functional as F

from gancourse import transposed

# The lecture's worked example: a 2x2 input, a 2x2 kernel, stride 1 -> 3x3.
X_LECTURE = torch.tensor([[1.0, 4.0], [0.0, 2.0]])
K_LECTURE = torch.tensor([[2.0, 0.0], [1.0, 3.0]])
Y_LECTURE = torch.tensor([[2.0, 8.0, 0.0], [1.0, 11.0, 12.0], [0.0, 2.0, 6.0]])


def torch_conv_transpose(x, kernel, stride=1, padding=0, output_padding=0):
    return F.conv_transpose2d(
        x[None, None],
        kernel[None, None],
        stride=stride,
        padding=padding,
        output_padding=output_padding,
    )[0, 0]


def test_lecture_example_by_scatter_matrix_and_pytorch():
    assert torch.equal(transposed.conv_transpose2d_scatter(X_LECTURE, K_LECTURE), Y_LECTURE)
    assert torch.equal(transposed.conv_transpose2d_matrix(X_LECTURE, K_LECTURE), Y_LECTURE)
    assert torch.equal(torch_conv_transpose(X_LECTURE, K_LECTURE), Y_LECTURE)


def test_lecture_example_accepts_plain_lists():
    y = transposed.conv_transpose2d_scatter([[1, 4], [0, 2]], [[2, 0], [1, 3]])
    assert y.tolist() == Y_LECTURE.tolist()


def test_steps_stamp_one_scaled_kernel_each_and_sum_to_the_output():
    y, steps = transposed.conv_transpose2d_scatter(X_LECTURE, K_LECTURE, return_steps=True)
    assert [(s.i, s.j, s.value) for s in steps] == [
        (0, 0, 1.0),
        (0, 1, 4.0),
        (1, 0, 0.0),
        (1, 1, 2.0),
    ]
    first = steps[0].contribution
    assert torch.equal(first[:2, :2], 1.0 * K_LECTURE)  # 1 * kernel at the top-left
    assert first.sum() == K_LECTURE.sum()  # and nothing elsewhere
    assert torch.equal(steps[1].contribution[:2, 1:], 4.0 * K_LECTURE)
    assert torch.equal(sum(s.contribution for s in steps), y)
    assert torch.equal(steps[-1].total, y)
    for before, after in itertools.pairwise(steps):
        assert torch.equal(after.total, before.total + after.contribution)


def test_steps_live_on_the_uncropped_canvas():
    x = torch.arange(1.0, 10.0).reshape(3, 3)
    k = torch.ones(3, 3)
    y, steps = transposed.conv_transpose2d_scatter(x, k, stride=2, padding=1, return_steps=True)
    assert steps[-1].total.shape == (7, 7)  # (3-1)*2 + 3
    assert y.shape == (5, 5)  # 7 - 2*1
    assert torch.equal(transposed.crop(steps[-1].total, padding=1), y)


SWEEP = [
    (h, w, k, s, p, op)
    for h, w in [(1, 1), (2, 3), (4, 4)]
    for k in range(1, 6)
    for s in range(1, 4)
    for p in range(0, 3)
    for op in range(0, s)
    if (h - 1) * s - 2 * p + k + op >= 1 and (w - 1) * s - 2 * p + k + op >= 1
]


@pytest.mark.parametrize("h,w,k,s,p,op", SWEEP)
def test_scatter_and_matrix_agree_with_pytorch(h, w, k, s, p, op):
    gen = torch.Generator().manual_seed(hash((h, w, k, s, p, op)) % 2**31)
    x = torch.randn(h, w, generator=gen)
    kernel = torch.randn(k, k, generator=gen)
    expected = torch_conv_transpose(x, kernel, s, p, op)
    by_scatter = transposed.conv_transpose2d_scatter(x, kernel, s, p, op)
    by_matrix = transposed.conv_transpose2d_matrix(x, kernel, s, p, op)
    assert by_scatter.shape == expected.shape == by_matrix.shape
    torch.testing.assert_close(by_scatter, expected, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(by_matrix, expected, atol=1e-5, rtol=1e-5)


def test_rectangular_kernel_agrees_with_pytorch():
    x = torch.randn(3, 4, generator=torch.Generator().manual_seed(1))
    kernel = torch.randn(2, 3, generator=torch.Generator().manual_seed(2))
    expected = torch_conv_transpose(x, kernel, stride=2, padding=1, output_padding=1)
    torch.testing.assert_close(transposed.conv_transpose2d_scatter(x, kernel, 2, 1, 1), expected)
    torch.testing.assert_close(transposed.conv_transpose2d_matrix(x, kernel, 2, 1, 1), expected)


@pytest.mark.parametrize(
    "H,W,k,s,p", [(5, 5, 3, 1, 0), (6, 5, 3, 2, 1), (7, 7, 4, 2, 1), (4, 6, 2, 3, 2)]
)
def test_conv_matrix_reproduces_conv2d(H, W, k, s, p):
    gen = torch.Generator().manual_seed(0)
    x, kernel = torch.randn(H, W, generator=gen), torch.randn(k, k, generator=gen)
    C = transposed.conv_matrix(kernel, (H, W), stride=s, padding=p)
    y = F.conv2d(x[None, None], kernel[None, None], stride=s, padding=p)[0, 0]
    assert C.shape == (y.numel(), H * W)
    torch.testing.assert_close(C @ x.flatten(), y.flatten(), atol=1e-5, rtol=1e-5)


def test_conv_matrix_is_a_cross_correlation_not_a_flipped_convolution():
    # a 2x2 image read by a 2x2 kernel: weights in reading order, not flipped ([4, 3, 2, 1])
    kernel = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
    C = transposed.conv_matrix(kernel, (2, 2))
    assert C.tolist() == [[1.0, 2.0, 3.0, 4.0]]


@pytest.mark.parametrize(
    "n,k,s,p,op", [(3, 3, 1, 0, 0), (4, 3, 2, 1, 1), (5, 4, 2, 1, 0), (3, 5, 3, 2, 2)]
)
def test_transposed_convolution_is_the_adjoint_of_convolution(n, k, s, p, op):
    """<conv(z), x> = <z, conv^T(x)> for every z and x: conv^T is C^T."""
    gen = torch.Generator().manual_seed(3)
    m = transposed.output_size(n, k, s, p, op)
    kernel = torch.randn(k, k, generator=gen, dtype=torch.float64)
    x = torch.randn(n, n, generator=gen, dtype=torch.float64)  # lives where conv's output does
    z = torch.randn(m, m, generator=gen, dtype=torch.float64)  # lives where conv's input does
    conv_z = F.conv2d(z[None, None], kernel[None, None], stride=s, padding=p)[0, 0]
    assert conv_z.shape == x.shape
    lhs = (conv_z * x).sum()
    rhs = (z * transposed.conv_transpose2d_scatter(x, kernel, s, p, op)).sum()
    torch.testing.assert_close(lhs, rhs)


@pytest.mark.parametrize(
    "n,k,s,p,op,d",
    [
        (2, 2, 1, 0, 0, 1),
        (7, 4, 2, 1, 0, 1),
        (7, 3, 2, 1, 1, 1),
        (5, 5, 3, 2, 2, 1),
        (4, 3, 1, 1, 1, 2),
        (1, 1, 1, 0, 0, 1),
    ],
)
def test_output_size_matches_pytorch(n, k, s, p, op, d):
    y = F.conv_transpose2d(
        torch.zeros(1, 1, n, n),
        torch.zeros(1, 1, k, k),
        stride=s,
        padding=p,
        output_padding=op,
        dilation=d,
    )
    assert transposed.output_size(n, k, s, p, op, d) == y.shape[-1]


def test_output_size_dcgan_doubles_the_image():
    assert transposed.output_size(7, kernel_size=4, stride=2, padding=1) == 14
    assert transposed.output_size(14, kernel_size=4, stride=2, padding=1) == 28


@pytest.mark.parametrize(
    "kwargs,message",
    [
        (dict(n=4, kernel_size=3, stride=2, output_padding=2), "output_padding"),
        (dict(n=4, kernel_size=3, stride=1, output_padding=1), "output_padding"),
        (dict(n=1, kernel_size=1, padding=1), "output would have"),
        (dict(n=0, kernel_size=3), "n must be"),
        (dict(n=3, kernel_size=3, stride=0), "stride must be"),
        (dict(n=3, kernel_size=3, padding=-1), "padding must be"),
    ],
)
def test_output_size_rejects_impossible_settings(kwargs, message):
    with pytest.raises(ValueError, match=message):
        transposed.output_size(**kwargs)


def test_scatter_rejects_non_2d_input():
    with pytest.raises(ValueError, match="2-D"):
        transposed.conv_transpose2d_scatter(torch.ones(1, 2, 2), K_LECTURE)
    with pytest.raises(ValueError, match="output_padding"):
        transposed.conv_transpose2d_scatter(X_LECTURE, K_LECTURE, stride=1, output_padding=1)


def test_overlap_kernel3_stride2_has_the_1_2_4_pattern():
    m = transposed.overlap_map(kernel_size=3, stride=2, input_size=5)
    assert m.shape == (11, 11) and m.dtype == torch.int64
    interior = m[2:-2, 2:-2]
    assert set(interior.unique().tolist()) == {1, 2, 4}
    # rows and columns alternate between one stamp and two: the count is a product
    assert m[4, 4] == 4 and m[4, 5] == 2 and m[5, 5] == 1


def test_overlap_kernel4_stride2_is_uniform_inside():
    m = transposed.overlap_map(kernel_size=4, stride=2, input_size=5)
    assert m.shape == (12, 12)
    assert torch.all(m[2:-2, 2:-2] == 4)  # 2 x 2 stamps on every interior pixel
    assert m[0, 0] == 1 and m[0, 5] == 2  # fewer only at the border


def test_overlap_kernel2_stride2_tiles_without_overlap():
    m = transposed.overlap_map(kernel_size=2, stride=2, input_size=(3, 4))
    assert m.shape == (6, 8)
    assert torch.all(m == 1)


def test_overlap_map_counts_every_stamp():
    # every input pixel stamps k*k output pixels
    n, k, s = 4, 3, 2
    assert transposed.overlap_map(k, s, n).sum() == n * n * k * k
