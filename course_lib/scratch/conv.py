r"""Convolution and max pooling on images, with explicit backward passes (NCHW, as PyTorch).

:class:`Conv2d` computes a convolution as ONE matrix product: im2col copies every receptive
field into a row of a matrix, and the filters become the columns of another. Its backward pass
is two more matrix products and col2im, which adds each row of gradients back onto the pixels
it came from (overlapping fields add up). :class:`MaxPool2d` keeps the largest value of each
window and routes the gradient back to it.

Layouts and names are PyTorch's: images ``x`` (N, C, H, W), filters ``w`` (C_out, C_in, kH, kW),
``stride`` and ``padding`` (an int, or a pair for height and width). Sizes that do not fit are
floored, as in ``F.conv2d``; :func:`conv_output_size` says whether they fit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from course_lib.checks import float_array, integer, is_integer

__all__ = [
    "conv_output_size", "conv_param_count", "im2col", "col2im",
    "Conv2d", "Conv2dCache", "MaxPool2d", "MaxPool2dCache",
]


def _pair(value, name: str, who: str, minimum: int) -> tuple[int, int]:
    """An int or a pair of ints (height, width), each checked ``>= minimum``, as a pair."""
    if is_integer(value):
        value = (value, value)
    if not (isinstance(value, (tuple, list)) and len(value) == 2):
        raise ValueError(f"{who}: {name} must be an integer or a pair of integers, got {value!r}")
    return tuple(integer(v, name, who, minimum=minimum) for v in value)


def _geometry(kernel, stride, padding, who: str):
    """``kernel``, ``stride`` and ``padding`` checked, each as a pair (height, width)."""
    return (_pair(kernel, "kernel", who, 1), _pair(stride, "stride", who, 1), _pair(padding, "padding", who, 0))


def conv_output_size(size: int, kernel: int, stride: int = 1, padding: int = 0, exact: bool = True) -> int:
    r"""Output length along one axis of a convolution or pooling window.

    .. math::

        H' = \frac{H + 2P - K}{S} + 1

    With ``exact=True`` (the slides' rule) the division must come out whole, otherwise the
    filter "does not fit" and a ``ValueError`` says so. With ``exact=False`` it is floored, as
    PyTorch does: the last rows that no window reaches are silently left out.
    Example: 32 pixels, 5x5 filter, stride 1, padding 2 -> (32 + 4 - 5) / 1 + 1 = 32.
    """
    who = "conv_output_size"
    size = integer(size, "size", who, minimum=1)
    kernel = integer(kernel, "kernel", who, minimum=1)
    stride = integer(stride, "stride", who, minimum=1)
    padding = integer(padding, "padding", who, minimum=0)
    span = size + 2 * padding - kernel  # how far the window slides
    if span < 0:
        raise ValueError(f"{who}: kernel {kernel} is larger than the padded input {size} + 2*{padding}")
    if exact and span % stride:
        raise ValueError(
            f"{who}: the window does not fit: (size {size} + 2*padding {padding} - kernel {kernel}) / "
            f"stride {stride} = {span / stride:g} is not an integer"
        )
    return span // stride + 1


def conv_param_count(c_in: int, c_out: int, kernel: int | tuple[int, int], bias: bool = True) -> int:
    r"""Number of learnable parameters of a convolution layer.

    .. math::

        \#\theta = C_\text{out}\,(C_\text{in}\, k_H k_W + 1)

    (the +1 is each filter's bias). Example: ten 5x5 filters on a 3-channel image:
    10 * (3*5*5 + 1) = 760. It does not depend on the image size: the filters are shared.
    """
    who = "conv_param_count"
    c_in = integer(c_in, "c_in", who, minimum=1)
    c_out = integer(c_out, "c_out", who, minimum=1)
    kh, kw = _pair(kernel, "kernel", who, minimum=1)
    if not isinstance(bias, (bool, np.bool_)):
        raise TypeError(f"{who}: bias must be True or False, got {bias!r}")
    return c_out * (c_in * kh * kw + int(bias))


def _check_image(x, who: str) -> np.ndarray:
    x = float_array(x, "x", who)
    if x.ndim != 4:
        raise ValueError(f"{who}: x must have shape (N, C, H, W), got {x.shape}")
    return x


def _check_dout(dout, shape: tuple[int, ...], who: str) -> np.ndarray:
    dout = float_array(dout, "dout", f"{who}.backward")
    if dout.shape != shape:
        raise ValueError(f"{who}.backward: dout must have the output's shape {shape}, got {dout.shape}")
    return dout


def _out_size(hw: tuple[int, int], kernel, stride, padding, who: str = "conv") -> tuple[int, int]:
    """(H', W'), floored as in PyTorch, after checking that the kernel fits in the padded input."""
    for axis, n, k, p in zip(("height", "width"), hw, kernel, padding):
        if k > n + 2 * p:
            raise ValueError(f"{who}: the kernel's {axis} {k} exceeds the padded input's {n} + 2*{p}")
    return tuple(conv_output_size(n, k, s, p, exact=False) for n, k, s, p in zip(hw, kernel, stride, padding))


def _windows(xp: np.ndarray, kernel, stride, out_hw) -> np.ndarray:
    """A VIEW (no copy) of every window: (N, C, H', W', kH, kW) from a (padded) (N, C, Hp, Wp)."""
    view = sliding_window_view(xp, kernel, axis=(2, 3))  # every stride-1 position
    return view[:, :, : stride[0] * out_hw[0] : stride[0], : stride[1] * out_hw[1] : stride[1]]


def _offset_slice(i: int, j: int, stride, out_hw) -> tuple[slice, ...]:
    """The pixels that kernel offset (i, j) touches, one per output position: x[..., i + S h', j + S w']."""
    return (..., slice(i, i + stride[0] * out_hw[0], stride[0]), slice(j, j + stride[1] * out_hw[1], stride[1]))


def im2col(x: np.ndarray, kernel, stride=1, padding=0) -> np.ndarray:
    r"""Every receptive field as a row: (N, C, H, W) -> (N H' W', C kH kW).

    .. math::

        \mathrm{cols}[(n, h', w'),\ (c, i, j)] = x^\text{pad}_{n,\,c,\,S h' + i,\,S w' + j}

    Column order (c, i, j) matches a weight (C_out, C, kH, kW) reshaped to (C_out, C kH kW),
    and ``F.unfold``, which returns the transpose of each image's block.
    """
    kernel, stride, padding = _geometry(kernel, stride, padding, "im2col")
    x = _check_image(x, "im2col")
    n, c = x.shape[:2]
    out_hw = _out_size(x.shape[2:], kernel, stride, padding, "im2col")
    xp = np.pad(x, ((0, 0), (0, 0), (padding[0],) * 2, (padding[1],) * 2))
    # (N, H', W', C, kH, kW): a view of the padded input, no copy yet
    fields = _windows(xp, kernel, stride, out_hw).transpose(0, 2, 3, 1, 4, 5)
    rows, width = n * out_hw[0] * out_hw[1], c * kernel[0] * kernel[1]
    return fields.reshape(rows, width)  # the copy


def col2im(cols: np.ndarray, x_shape, kernel, stride=1, padding=0) -> np.ndarray:
    r"""The adjoint of :func:`im2col`: add each row back onto the pixels it was copied from.

    .. math::

        dx^\text{pad}_{n,c,y,z} = \sum_{(h', w', i, j):\ S h' + i = y,\ S w' + j = z}
            \mathrm{dcols}[(n, h', w'),\ (c, i, j)]

    Shapes: (N H' W', C kH kW) -> ``x_shape`` (N, C, H, W). Overlapping fields ADD; the padding
    is cut off at the end. One vectorized addition per kernel offset (i, j).
    """
    kernel, stride, padding = _geometry(kernel, stride, padding, "col2im")
    n, c, h, w = x_shape
    out_hw = _out_size((h, w), kernel, stride, padding, "col2im")
    # (N, C, H', W', kH, kW)
    fields = cols.reshape(n, *out_hw, c, *kernel).transpose(0, 3, 1, 2, 4, 5)
    dxp = np.zeros((n, c, h + 2 * padding[0], w + 2 * padding[1]))
    for i in range(kernel[0]):
        for j in range(kernel[1]):
            dxp[_offset_slice(i, j, stride, out_hw)] += fields[..., i, j]
    return dxp[:, :, padding[0] : padding[0] + h, padding[1] : padding[1] + w]


# ----- convolution ------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class Conv2dCache:
    cols: np.ndarray  # (N H' W', C kH kW) the receptive fields (im2col of the padded input)
    w: np.ndarray  # (F, C, kH, kW) the filters
    x_shape: tuple[int, int, int, int]  # (N, C, H, W)
    stride: tuple[int, int]  # (S_H, S_W)
    padding: tuple[int, int]  # (P_H, P_W)


def _check_conv(x, w, b, stride, padding):
    who = "Conv2d"
    x = _check_image(x, who)
    w = float_array(w, "w", who)
    b = float_array(b, "b", who)
    if w.ndim != 4 or w.shape[1] != x.shape[1]:
        raise ValueError(f"{who}: w must have shape (C_out, C_in={x.shape[1]}, kH, kW), got {w.shape}")
    if b.shape != (w.shape[0],):
        raise ValueError(f"{who}: b must have shape (C_out,) = ({w.shape[0]},), got {b.shape}")
    stride = _pair(stride, "stride", who, minimum=1)
    padding = _pair(padding, "padding", who, minimum=0)
    return x, w, b, stride, padding


class Conv2d:
    r"""2-D convolution (in fact cross-correlation, as in every deep-learning library), via im2col.

    .. math::

        \mathrm{out}_{n,f,h',w'} = b_f + \sum_{c,i,j} w_{f,c,i,j}\; x^\text{pad}_{n,\,c,\,S h' + i,\,S w' + j}
        \quad\Longleftrightarrow\quad
        \mathrm{Out} = \mathrm{cols}\; W_\text{mat}^\top + b

    Backward, with :math:`\delta` = ``dout`` as a (N H' W', F) matrix:
    :math:`dW_\text{mat} = \delta^\top \mathrm{cols}`, :math:`db = \sum \delta`,
    :math:`dx = \mathrm{col2im}(\delta\, W_\text{mat})`.

    Shapes: ``x`` (N, C, H, W), ``w`` (F, C, kH, kW), ``b`` (F,) -> ``out`` (N, F, H', W') with
    :math:`H' = \lfloor (H + 2P - k_H)/S \rfloor + 1` (:func:`conv_output_size`), the same for W'.
    ``backward(dout, cache) -> (dx, dw, db)``. ``stride`` and ``padding`` are an int or a pair
    (height, width); padding adds zeros.

    PyTorch convention: ``F.conv2d(x, w, b, stride=stride, padding=padding)``, same layouts;
    sizes that do not fit are floored (the last rows are dropped), no error.

    Reference: LeCun et al. (1989), "Backpropagation applied to handwritten zip code recognition";
    im2col: Chellapilla, Puri & Simard (2006), "High performance convolutional neural networks
    for document processing"; the slides' layer arithmetic: CS231n (Karpathy & Li).
    """

    @staticmethod
    def forward(x, w, b, stride=1, padding=0) -> tuple[np.ndarray, Conv2dCache]:
        x, w, b, stride, padding = _check_conv(x, w, b, stride, padding)
        n, f = x.shape[0], w.shape[0]
        out_hw = _out_size(x.shape[2:], w.shape[2:], stride, padding, "Conv2d")
        cols = im2col(x, w.shape[2:], stride, padding)  # (N H' W', C kH kW)
        out = cols @ w.reshape(f, -1).T  # (N H' W', F): every filter on every field
        out += b
        out = out.reshape(n, *out_hw, f).transpose(0, 3, 1, 2)  # (N, F, H', W')
        cache = Conv2dCache(cols=cols, w=w, x_shape=x.shape, stride=stride,
                            padding=padding)
        return out, cache

    @staticmethod
    def backward(dout, cache: Conv2dCache) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        f, n = cache.w.shape[0], cache.x_shape[0]
        kernel = cache.w.shape[2:]
        out_hw = _out_size(cache.x_shape[2:], kernel, cache.stride, cache.padding)
        dout = _check_dout(dout, (n, f, *out_hw), "Conv2d")
        delta = dout.transpose(0, 2, 3, 1).reshape(-1, f)  # (N H' W', F)
        dw = (delta.T @ cache.cols).reshape(cache.w.shape)  # (F, C, kH, kW)
        db = delta.sum(axis=0)  # (F,)
        dcols = delta @ cache.w.reshape(f, -1)  # (N H' W', C kH kW)
        dx = col2im(dcols, cache.x_shape, kernel, cache.stride, cache.padding)
        return dx, dw, db


# ----- max pooling ------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class MaxPool2dCache:
    winner: np.ndarray  # (N, C, H', W') int, flat index i*kW + j of the max inside each window
    x_shape: tuple[int, int, int, int]  # (N, C, H, W)
    kernel: tuple[int, int]  # (kH, kW)
    stride: tuple[int, int]  # (S_H, S_W)


class MaxPool2d:
    r"""2-D max pooling: the largest value of each window, channel by channel.

    .. math::

        \mathrm{out}_{n,c,h',w'} = \max_{i,j}\ x_{n,\,c,\,S h' + i,\,S w' + j}, \qquad
        \frac{\partial \mathrm{out}_{n,c,h',w'}}{\partial x_{n,c,y,z}} = [\,(y, z) \text{ is the argmax}\,]

    Shapes: ``x`` (N, C, H, W) -> ``out`` (N, C, H', W'), :math:`H' = \lfloor (H - k_H)/S \rfloor + 1`.
    ``backward(dout, cache) -> (dx,)``: each window's gradient goes to its maximum only; a pixel that
    wins several overlapping windows collects all of their gradients. No parameters.

    Ties: the FIRST maximum in the window, in row-major order (``np.argmax``), takes the whole
    gradient, as PyTorch's CPU kernel does. Any choice is a subgradient; they agree without ties.

    PyTorch convention: ``F.max_pool2d(x, kernel_size, stride=None)``; ``stride`` defaults to the
    kernel size (non-overlapping windows); both are an int or a pair. No padding here.

    Reference: Ranzato, Huang, Boureau & LeCun (2007); Krizhevsky, Sutskever & Hinton (2012) use
    overlapping 3x3 windows with stride 2; the slides: CS231n.
    """

    @staticmethod
    def forward(x, kernel_size=2, stride=None) -> tuple[np.ndarray, MaxPool2dCache]:
        x = _check_image(x, "MaxPool2d")
        kernel = _pair(kernel_size, "kernel_size", "MaxPool2d", minimum=1)
        stride = kernel if stride is None else _pair(stride, "stride", "MaxPool2d", minimum=1)
        out_hw = _out_size(x.shape[2:], kernel, stride, (0, 0), "MaxPool2d")
        windows = _windows(x, kernel, stride, out_hw)  # a view, (N, C, H', W', kH, kW)
        flat = windows.reshape(*windows.shape[:4], -1)  # (N, C, H', W', kH kW), a copy
        winner = flat.argmax(axis=-1)  # (N, C, H', W'), first maximum on ties
        out = np.take_along_axis(flat, winner[..., None], axis=-1)[..., 0]
        return out, MaxPool2dCache(winner=winner, x_shape=x.shape, kernel=kernel, stride=stride)

    @staticmethod
    def backward(dout, cache: MaxPool2dCache) -> tuple[np.ndarray]:
        dout = _check_dout(dout, cache.winner.shape, "MaxPool2d")
        kh, kw = cache.kernel
        out_hw = cache.winner.shape[2:]
        dx = np.zeros(cache.x_shape)
        for i in range(kh):
            for j in range(kw):  # offset (i, j) of every window at once
                dx[_offset_slice(i, j, cache.stride, out_hw)] += dout * (cache.winner == i * kw + j)
        return (dx,)
