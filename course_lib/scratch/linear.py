r"""Fully connected (affine) layer with an explicit backward pass.

The first op of the course; every other op follows the same contract (see
:mod:`course_lib.scratch`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from course_lib.checks import float_array

__all__ = ["Linear", "LinearCache"]


@dataclass(frozen=True, eq=False)
class LinearCache:
    """What :meth:`Linear.backward` needs from the forward pass."""

    x: np.ndarray  # (N, D_in)   the layer input
    w: np.ndarray  # (D_in, D_out) the weights


class Linear:
    r"""Affine layer :math:`\mathrm{out} = x W + b`.

    .. math::

        \mathrm{out}_{nm} = \sum_d x_{nd} W_{dm} + b_m, \qquad
        \frac{\partial L}{\partial x} = \delta W^\top,\;
        \frac{\partial L}{\partial W} = x^\top \delta,\;
        \frac{\partial L}{\partial b} = \textstyle\sum_n \delta_{n\cdot}

    where :math:`\delta = \partial L / \partial \mathrm{out}` is the upstream gradient ``dout``.

    Shapes: ``x`` (N, D_in), ``w`` (D_in, D_out), ``b`` (D_out,) -> ``out`` (N, D_out).
    Flatten images to (N, D_in) first.

    PyTorch convention: ``torch.nn.Linear`` / ``F.linear`` store the weight TRANSPOSED, as
    (D_out, D_in), and compute ``x @ weight.T + bias``. We keep ``W`` as (D_in, D_out) so that
    the math reads ``x W``; hence ``F.linear(x, w.T, b)`` equals ``Linear.forward(x, w, b)[0]``.

    Reference: the layer of the multilayer perceptron trained by back-propagation,
    Rumelhart, Hinton & Williams (1986), "Learning representations by back-propagating errors".
    """

    @staticmethod
    def forward(x: np.ndarray, w: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, LinearCache]:
        x = float_array(x, "x", "Linear")
        w = float_array(w, "w", "Linear")
        b = float_array(b, "b", "Linear")
        if x.ndim != 2:
            raise ValueError(f"Linear: x must be 2-D (N, D_in), got shape {x.shape}; flatten it first")
        if w.ndim != 2:
            raise ValueError(f"Linear: w must be 2-D (D_in, D_out), got shape {w.shape}")
        if b.ndim != 1:
            raise ValueError(f"Linear: b must be 1-D (D_out,), got shape {b.shape}")
        if x.shape[1] != w.shape[0]:
            raise ValueError(
                f"Linear: shape mismatch, x has {x.shape[1]} features but w expects {w.shape[0]} "
                f"(x {x.shape}, w {w.shape}; w is (D_in, D_out), the transpose of torch's weight)"
            )
        if b.shape[0] != w.shape[1]:
            raise ValueError(f"Linear: b has {b.shape[0]} entries but w has {w.shape[1]} outputs")
        out = x @ w + b
        return out, LinearCache(x=x, w=w)

    @staticmethod
    def backward(dout: np.ndarray, cache: LinearCache) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        dout = float_array(dout, "dout", "Linear.backward")
        expected = (cache.x.shape[0], cache.w.shape[1])
        if dout.shape != expected:
            raise ValueError(f"Linear.backward: dout must have shape {expected}, got {dout.shape}")
        dx = dout @ cache.w.T  # (N, D_in)
        dw = cache.x.T @ dout  # (D_in, D_out)
        db = dout.sum(axis=0)  # (D_out,)
        return dx, dw, db
