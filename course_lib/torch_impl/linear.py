r"""Twin of :mod:`course_lib.scratch.linear`: the affine layer from torch ops."""

from __future__ import annotations

import torch

from course_lib.torch_impl._checks import tensor

__all__ = ["linear"]


def linear(x: torch.Tensor, w: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    r"""Twin of `course_lib.scratch.linear.Linear`.

    .. math::

        \mathrm{out} = x W + b

    Shapes: ``x`` (N, D_in), ``w`` (D_in, D_out), ``b`` (D_out,) -> (N, D_out).

    PyTorch convention: ``F.linear(x, weight, bias)`` takes ``weight`` as (D_out, D_in) and
    computes ``x @ weight.T + bias``; so ``linear(x, w, b) == F.linear(x, w.T, b)``.
    """
    for name, value in (("x", x), ("w", w), ("b", b)):
        tensor(value, name, "linear")
    if x.ndim != 2:
        raise ValueError(f"linear: x must be 2-D (N, D_in), got shape {tuple(x.shape)}; flatten it first")
    if w.ndim != 2 or b.ndim != 1:
        raise ValueError(f"linear: w must be (D_in, D_out) and b (D_out,), got {tuple(w.shape)} and {tuple(b.shape)}")
    if x.shape[1] != w.shape[0] or b.shape[0] != w.shape[1]:
        raise ValueError(
            f"linear: shape mismatch, x {tuple(x.shape)}, w {tuple(w.shape)}, b {tuple(b.shape)} "
            "(w is (D_in, D_out), the transpose of torch's weight)"
        )
    return x @ w + b
