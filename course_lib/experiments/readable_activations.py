r"""The activations of chapter 2 in their plainest form: the math, nothing else.

The library's ops (:mod:`course_lib.scratch.activations`) check their
arguments, name what is wrong, and are written for speed: slopes built with
arithmetic instead of ``np.where``, results computed in place (the speed
appendix explains why). Here are the same computations written for reading,
with the same contract, ``forward(*inputs) -> (out, cache)`` and
``backward(dout, cache) -> grads``. The chapter shows these;
``tests/test_experiments_activations.py`` checks that they give the library's
numbers (to rounding) and pass the gradient check. The cache is a plain tuple
or array here; the library keeps it in a frozen dataclass with named fields.

At the kink x = 0 the rectifiers take the derivative of their ``x <= 0``
branch, as PyTorch does.
"""
from __future__ import annotations

import numpy as np

__all__ = ["Tanh", "LeakyReLU", "PReLU", "ELU", "Maxout"]


class Tanh:
    """``out = tanh(x)``; the derivative is ``1 - out^2``: cache ``out``."""

    @staticmethod
    def forward(x):
        out = np.tanh(x)
        return out, out

    @staticmethod
    def backward(dout, out):
        return (dout * (1.0 - out**2),)


class LeakyReLU:
    """``x`` where ``x > 0``, else ``negative_slope * x``; cache f'(x)."""

    @staticmethod
    def forward(x, negative_slope=0.01):
        slope = np.where(x > 0, 1.0, negative_slope)  # f'(x)
        return x * slope, slope

    @staticmethod
    def backward(dout, slope):
        return (dout * slope,)


def _along_channels(a, x):
    """The slopes ``a``, (1,) or (C,), shaped to broadcast along axis 1 of x."""
    if a.size == 1:
        return a
    return a.reshape((1, a.size) + (1,) * (x.ndim - 2))


class PReLU:
    """A leaky ReLU with a learned slope ``a``: (1,) shared, or (C,) one per
    channel, the channel being axis 1 of ``x``.

    Backward: ``dx = dout * f'(x)``; ``da`` sums ``dout * min(x, 0)`` over
    the entries that share each slope.
    """

    @staticmethod
    def forward(x, a):
        out = np.where(x > 0, x, _along_channels(a, x) * x)
        return out, (x, a)

    @staticmethod
    def backward(dout, cache):
        x, a = cache
        dx = dout * np.where(x > 0, 1.0, _along_channels(a, x))
        per_entry = dout * np.minimum(x, 0.0)  # df/da is x left of 0, else 0
        channel = 1 if a.size > 1 else None  # the axis that a varies along
        shared = tuple(i for i in range(x.ndim) if i != channel)
        da = per_entry.sum(axis=shared).reshape(a.shape)
        return dx, da


class ELU:
    """``x`` where ``x > 0``, else ``alpha (e^x - 1)``; cache f'(x)."""

    @staticmethod
    def forward(x, alpha=1.0):
        left = alpha * np.expm1(np.minimum(x, 0.0))  # never overflows
        out = np.where(x > 0, x, left)
        slope = np.where(x > 0, 1.0, left + alpha)  # alpha e^x, left of 0
        return out, slope

    @staticmethod
    def backward(dout, slope):
        return (dout * slope,)


class Maxout:
    """``out = max_j (x W_j + b_j)`` over k pieces.

    Shapes: ``x`` (N, D), ``w`` (k, D, M), ``b`` (k, M), ``out`` (N, M).
    Backward: the gradient goes to the winning piece only (the first one on
    a tie).
    """

    @staticmethod
    def forward(x, w, b):
        z = x @ w + b[:, None, :]  # (k, N, M): the k pieces
        winner = z.argmax(axis=0)  # (N, M): which piece is largest
        out = z.max(axis=0)
        return out, (x, w, winner)

    @staticmethod
    def backward(dout, cache):
        x, w, winner = cache
        k = w.shape[0]
        # dout goes to the winning piece, zero to the others: (k, N, M)
        dz = np.stack([np.where(winner == j, dout, 0.0) for j in range(k)])
        dx = (dz @ w.transpose(0, 2, 1)).sum(axis=0)  # sum_j dz_j W_j^T
        dw = x.T @ dz  # x^T dz_j for every piece, (k, D, M)
        db = dz.sum(axis=1)  # (k, M)
        return dx, dw, db
