r"""Twin of :mod:`course_lib.scratch.conv`: convolution and max pooling from elementary torch ops.

Not ``F.conv2d`` / ``F.max_pool2d`` themselves: :func:`conv2d` is im2col (``F.unfold``) and one
matrix product, :func:`max_pool2d` a max over the windows of ``Tensor.unfold``, so that the parity
tests compare two independent implementations with the built-ins. Autograd differentiates them.
Layouts are PyTorch's (NCHW, weight (C_out, C_in, kH, kW)); sizes that do not fit are floored.
"""

from __future__ import annotations

from numbers import Integral

import torch
import torch.nn.functional as F

from course_lib.scratch.conv import _pair as _checked_pair
from course_lib.scratch.conv import conv_output_size
from course_lib.torch_impl._checks import tensor

__all__ = ["conv2d", "max_pool2d"]


def _pair(value) -> tuple[int, int]:
    return (value, value) if isinstance(value, Integral) else tuple(value)


def _check_conv(x, w, b, stride, padding) -> None:
    """Check the arguments of :func:`conv2d` (``ValueError``/``TypeError`` naming the wrong one)."""
    who = "conv2d"
    for name, value in (("x", x), ("w", w), ("b", b)):
        tensor(value, name, who)
    if x.ndim != 4:
        raise ValueError(f"{who}: x must have shape (N, C, H, W), got {tuple(x.shape)}")
    if w.ndim != 4 or w.shape[1] != x.shape[1]:
        raise ValueError(f"{who}: w must have shape (C_out, C_in={x.shape[1]}, kH, kW), got {tuple(w.shape)}")
    if tuple(b.shape) != (w.shape[0],):
        raise ValueError(f"{who}: b must have shape (C_out,) = ({w.shape[0]},), got {tuple(b.shape)}")
    _checked_pair(stride, "stride", who, minimum=1)
    _checked_pair(padding, "padding", who, minimum=0)


def conv2d(x: torch.Tensor, w: torch.Tensor, b: torch.Tensor, stride=1,
           padding=0) -> torch.Tensor:
    r"""Twin of `course_lib.scratch.conv.Conv2d`.

    .. math::

        \mathrm{out}_{n} = W_\text{mat}\, \mathrm{unfold}(x_n) + b

    Shapes: ``x`` (N, C, H, W), ``w`` (F, C, kH, kW), ``b`` (F,) -> (N, F, H', W'); built-in ``F.conv2d``.
    ``F.unfold`` gives each image's receptive fields as columns, (N, C kH kW, H' W').
    """
    _check_conv(x, w, b, stride, padding)
    kernel, stride, padding = tuple(w.shape[2:]), _pair(stride), _pair(padding)
    geometry = zip(x.shape[2:], kernel, stride, padding)
    out_hw = [conv_output_size(n, k, s, p, exact=False) for n, k, s, p in geometry]
    cols = F.unfold(x, kernel, padding=padding, stride=stride)  # (N, C kH kW, H' W')
    out = torch.matmul(w.reshape(w.shape[0], -1), cols) + b[:, None]  # (N, F, H' W')
    return out.reshape(x.shape[0], w.shape[0], *out_hw)


def max_pool2d(x: torch.Tensor, kernel_size=2, stride=None) -> torch.Tensor:
    r"""Twin of `course_lib.scratch.conv.MaxPool2d`.

    .. math::

        \mathrm{out}_{n,c,h',w'} = \max_{i,j}\ x_{n,\,c,\,S h' + i,\,S w' + j}

    Shapes: (N, C, H, W) -> (N, C, H', W'); ``stride`` defaults to the kernel size.
    ``Tensor.unfold`` twice gives a view of every window, (N, C, H', W', kH, kW); ``max(dim=-1)``
    routes the gradient to the one index it returns (the windows here are tie-free in the tests).
    Built-in: ``F.max_pool2d(x, kernel_size, stride)``.
    """
    who = "max_pool2d"
    if tensor(x, "x", who).ndim != 4:
        raise ValueError(f"{who}: x must have shape (N, C, H, W), got {tuple(x.shape)}")
    (kh, kw) = _checked_pair(kernel_size, "kernel_size", who, minimum=1)
    (sh, sw) = (kh, kw) if stride is None else _checked_pair(stride, "stride", who, minimum=1)
    for axis, size, k in (("H", x.shape[2], kh), ("W", x.shape[3], kw)):
        if k > size:
            raise ValueError(f"{who}: kernel_size {k} is larger than the input's {axis} = {size} (x {tuple(x.shape)})")
    windows = x.unfold(2, kh, sh).unfold(3, kw, sw)  # (N, C, H', W', kH, kW)
    return windows.flatten(-2).max(dim=-1).values
