"""Convolution and max pooling: layer arithmetic, small cases worked by hand, and clear errors.

The generic parity and gradient checks (against autograd, central differences, ``F.conv2d`` and
``F.max_pool2d``) run over the entries in ``tests/cases.py``; this file checks what they do not.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from course_lib.scratch.conv import Conv2d, MaxPool2d, col2im, conv_output_size, conv_param_count, im2col
from course_lib.scratch.linear import Linear

# float64 sums of a few dozen O(1) products: rounding is ~1e-15, these bounds leave room for any BLAS
RTOL, ATOL = 1e-10, 1e-12


# ----- layer arithmetic ---------------------------------------------------------------------------
def test_the_slides_example():
    """32x32x3 input, ten 5x5 filters, stride 1, pad 2 -> 32x32x10, with 760 parameters."""
    assert conv_output_size(32, 5, stride=1, padding=2) == 32
    assert conv_param_count(3, 10, 5) == 760
    rng = np.random.default_rng(0)
    x, w, b = rng.standard_normal((1, 3, 32, 32)), rng.standard_normal((10, 3, 5, 5)), rng.standard_normal(10)
    out, _ = Conv2d.forward(x, w, b, stride=1, padding=2)
    assert out.shape == (1, 10, 32, 32)
    assert w.size + b.size == conv_param_count(3, 10, 5)


@pytest.mark.parametrize(
    "size, kernel, stride, padding, expected",
    [(7, 3, 1, 0, 5), (7, 3, 2, 0, 3), (32, 3, 1, 1, 32), (224, 2, 2, 0, 112), (5, 5, 1, 0, 1), (1, 3, 1, 1, 1)],
)
def test_output_size(size, kernel, stride, padding, expected):
    assert conv_output_size(size, kernel, stride, padding) == expected


def test_a_filter_that_does_not_fit_is_an_error_unless_floored():
    """7x7 input, 3x3 filter, stride 3: (7 - 3)/3 + 1 = 2.33 does not fit; PyTorch floors it to 2."""
    with pytest.raises(ValueError, match=r"does not fit.*1\.33"):
        conv_output_size(7, 3, stride=3)
    assert conv_output_size(7, 3, stride=3, exact=False) == 2
    x = torch.zeros(1, 1, 7, 7)
    assert F.conv2d(x, torch.zeros(1, 1, 3, 3), stride=3).shape[-1] == 2


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"size": 0, "kernel": 1}, "size"),
        ({"size": 5, "kernel": 0}, "kernel"),
        ({"size": 5, "kernel": 3, "stride": 0}, "stride"),
        ({"size": 5, "kernel": 3, "stride": 1.0}, "stride"),
        ({"size": 5, "kernel": 3, "padding": -1}, "padding"),
        ({"size": 5, "kernel": 3, "padding": True}, "padding"),
        ({"size": 3, "kernel": 7}, "kernel"),
    ],
)
def test_output_size_names_the_bad_argument(kwargs, name):
    with pytest.raises(ValueError, match=rf"conv_output_size: .*{name}"):
        conv_output_size(**kwargs)


def test_param_count():
    assert conv_param_count(16, 32, (3, 1)) == 32 * (16 * 3 + 1)
    assert conv_param_count(3, 10, 5, bias=False) == 750
    with pytest.raises(ValueError, match="conv_param_count: c_in"):
        conv_param_count(0, 10, 5)
    with pytest.raises(ValueError, match="conv_param_count: kernel"):
        conv_param_count(3, 10, (5, 5, 5))


# ----- convolution --------------------------------------------------------------------------------
def test_conv_by_hand():
    """A 2x2 filter of ones sums each 2x2 window; the bias is added once per output."""
    x = np.arange(9.0).reshape(1, 1, 3, 3)
    out, _ = Conv2d.forward(x, np.ones((1, 1, 2, 2)), np.array([0.5]))
    sums = [[0 + 1 + 3 + 4, 1 + 2 + 4 + 5], [3 + 4 + 6 + 7, 4 + 5 + 7 + 8]]
    np.testing.assert_array_equal(out[0, 0], np.array(sums) + 0.5)
    # padding adds zeros: the corner output sees only x[0, 0]
    out, _ = Conv2d.forward(x, np.ones((1, 1, 2, 2)), np.zeros(1), padding=1)
    assert out.shape == (1, 1, 4, 4) and out[0, 0, 0, 0] == 0.0 and out[0, 0, -1, -1] == 8.0


def test_conv_is_cross_correlation_not_flipped():
    """Deep-learning "convolution" does not flip the filter: a one-hot filter at (0, 0) picks the top-left pixel."""
    x = np.arange(16.0).reshape(1, 1, 4, 4)
    w = np.zeros((1, 1, 3, 3))
    w[0, 0, 0, 0] = 1.0
    out, _ = Conv2d.forward(x, w, np.zeros(1))
    np.testing.assert_array_equal(out[0, 0], x[0, 0, :2, :2])


def test_a_1x1_conv_is_a_linear_layer_on_every_pixel():
    rng = np.random.default_rng(0)
    x, w, b = rng.standard_normal((2, 5, 3, 4)), rng.standard_normal((6, 5, 1, 1)), rng.standard_normal(6)
    out, _ = Conv2d.forward(x, w, b)
    pixels = x.transpose(0, 2, 3, 1).reshape(-1, 5)  # (N H W, C)
    lin, _ = Linear.forward(pixels, w[:, :, 0, 0].T, b)
    np.testing.assert_allclose(out, lin.reshape(2, 3, 4, 6).transpose(0, 3, 1, 2), rtol=RTOL, atol=ATOL)


def test_im2col_matches_unfold_and_col2im_is_its_adjoint():
    """cols = F.unfold transposed; and <im2col(x), c> = <x, col2im(c)>, which is what makes dx right."""
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 3, 7, 6))
    for kernel, stride, padding in [(3, 1, 0), (3, 2, 1), ((2, 3), (1, 2), (1, 0))]:
        cols = im2col(x, kernel, stride, padding)
        ref = F.unfold(torch.from_numpy(x), kernel, padding=padding, stride=stride)  # (N, C kH kW, L)
        np.testing.assert_array_equal(cols, ref.transpose(1, 2).reshape(-1, ref.shape[1]).numpy())
        c = rng.standard_normal(cols.shape)
        back = col2im(c, x.shape, kernel, stride, padding)
        assert back.shape == x.shape
        np.testing.assert_allclose(np.sum(cols * c), np.sum(x * back), rtol=RTOL)


def test_col2im_adds_overlapping_patches():
    """With a 2x2 kernel and stride 1 on 3x3, the centre pixel lies in all four fields, a corner in one."""
    counts = col2im(np.ones((4, 4)), (1, 1, 3, 3), 2)
    np.testing.assert_array_equal(counts[0, 0], [[1, 2, 1], [2, 4, 2], [1, 2, 1]])


def test_ops_do_not_write_into_their_inputs_and_caches_are_frozen():
    rng = np.random.default_rng(2)
    x, w, b = rng.standard_normal((2, 3, 6, 6)), rng.standard_normal((4, 3, 3, 3)), rng.standard_normal(4)
    saved = [a.copy() for a in (x, w, b)]
    out, cache = Conv2d.forward(x, w, b, stride=2, padding=1)
    dout = rng.standard_normal(out.shape)
    d0 = dout.copy()
    Conv2d.backward(dout, cache)
    pooled, pcache = MaxPool2d.forward(x)
    MaxPool2d.backward(np.ones_like(pooled), pcache)
    for a, a0 in zip((x, w, b, dout), saved + [d0]):
        np.testing.assert_array_equal(a, a0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        cache.w = None


@pytest.mark.parametrize(
    "x_shape, w_shape, b_shape, hyper, match",
    [
        ((3, 5, 5), (4, 3, 3, 3), (4,), {}, r"Conv2d: x must have shape \(N, C, H, W\)"),
        ((2, 3, 5, 5), (4, 2, 3, 3), (4,), {}, r"Conv2d: w must have shape \(C_out, C_in=3"),
        ((2, 3, 5, 5), (4, 3, 3, 3), (3,), {}, r"Conv2d: b must have shape"),
        ((2, 3, 5, 5), (4, 3, 3, 3), (4,), {"stride": 0}, r"Conv2d: stride must be >= 1"),
        ((2, 3, 5, 5), (4, 3, 3, 3), (4,), {"padding": -1}, r"Conv2d: padding must be >= 0"),
        ((2, 3, 5, 5), (4, 3, 3, 3), (4,), {"padding": 1.5}, r"Conv2d: padding must be an integer"),
        ((2, 3, 5, 5), (4, 3, 3, 3), (4,), {"stride": (1, 2, 3)}, r"Conv2d: stride must be an integer or a pair"),
        ((2, 3, 2, 5), (4, 3, 3, 3), (4,), {}, r"Conv2d: the kernel's height 3 exceeds"),
    ],
)
def test_conv_errors_name_the_argument(x_shape, w_shape, b_shape, hyper, match):
    with pytest.raises(ValueError, match=match):
        Conv2d.forward(np.zeros(x_shape), np.zeros(w_shape), np.zeros(b_shape), **hyper)


def test_backward_checks_dout():
    _, cache = Conv2d.forward(np.zeros((1, 1, 4, 4)), np.zeros((2, 1, 3, 3)), np.zeros(2))
    with pytest.raises(ValueError, match=r"Conv2d.backward: dout must have the output's shape \(1, 2, 2, 2\)"):
        Conv2d.backward(np.zeros((1, 2, 4, 4)), cache)


# ----- max pooling --------------------------------------------------------------------------------
def test_max_pool_by_hand_and_stride_defaults_to_the_kernel():
    x = np.array([[1.0, 2, 5, 0], [3, 4, 1, 1], [0, 0, 2, 9], [7, 1, 3, 4]]).reshape(1, 1, 4, 4)
    out, cache = MaxPool2d.forward(x, kernel_size=2)
    np.testing.assert_array_equal(out[0, 0], [[4, 5], [7, 9]])
    (dx,) = MaxPool2d.backward(np.array([[[[10.0, 20], [30, 40]]]]), cache)
    expected = np.zeros((4, 4))
    expected[1, 1], expected[0, 2], expected[3, 0], expected[2, 3] = 10, 20, 30, 40
    np.testing.assert_array_equal(dx[0, 0], expected)
    out1, _ = MaxPool2d.forward(x, kernel_size=2, stride=1)
    assert out1.shape == (1, 1, 3, 3)


def test_max_pool_ties_send_the_gradient_to_the_first_maximum():
    """A window of equal values: the first in row-major order (top-left) takes the whole gradient."""
    out, cache = MaxPool2d.forward(np.ones((1, 1, 2, 2)))
    (dx,) = MaxPool2d.backward(np.array([[[[5.0]]]]), cache)
    np.testing.assert_array_equal(dx[0, 0], [[5.0, 0.0], [0.0, 0.0]])


@pytest.mark.parametrize("kernel_size, stride", [(2, None), (3, 2), (3, 1), ((2, 3), (1, 2))])
def test_max_pool_passes_back_all_of_the_gradient(kernel_size, stride):
    """Each window hands its whole gradient to one pixel: the sums agree (overlapping windows too)."""
    rng = np.random.default_rng(3)
    out, cache = MaxPool2d.forward(rng.standard_normal((2, 3, 7, 8)), kernel_size, stride)
    dout = rng.standard_normal(out.shape)
    (dx,) = MaxPool2d.backward(dout, cache)
    np.testing.assert_allclose(dx.sum(), dout.sum(), rtol=RTOL, atol=ATOL)
    assert np.count_nonzero(dx) <= out.size


@pytest.mark.parametrize(
    "x_shape, hyper, match",
    [
        ((4, 4), {}, r"MaxPool2d: x must have shape"),
        ((1, 1, 4, 4), {"kernel_size": 0}, r"MaxPool2d: kernel_size must be >= 1"),
        ((1, 1, 4, 4), {"stride": 0}, r"MaxPool2d: stride must be >= 1"),
        ((1, 1, 4, 4), {"kernel_size": 2.0}, r"MaxPool2d: kernel_size must be an integer"),
        ((1, 1, 1, 4), {"kernel_size": 2}, r"MaxPool2d: the kernel's height 2 exceeds"),
    ],
)
def test_max_pool_errors_name_the_argument(x_shape, hyper, match):
    with pytest.raises(ValueError, match=match):
        MaxPool2d.forward(np.zeros(x_shape), **hyper)
