r"""Twin of :mod:`course_lib.scratch.activations`: activations from elementary torch ops.

Written out by hand (not ``torch.sigmoid`` / ``F.relu``) so that the parity tests compare
two independent implementations with the torch built-ins; autograd differentiates them.
"""

from __future__ import annotations

import torch

__all__ = ["sigmoid", "relu", "ACTIVATIONS"]


def sigmoid(x: torch.Tensor) -> torch.Tensor:
    r"""Twin of `course_lib.scratch.activations.Sigmoid`.

    .. math::

        \sigma(x) = \frac{1}{1 + e^{-x}}

    Shapes: any -> same. Stable for large |x|: :math:`e^{-|x|}` never overflows. (The exponent
    is built with ``torch.where`` rather than ``abs`` so that autograd gets the right slope
    1/4 at x = 0: the derivative of ``abs`` there is 0.) Built-in: ``torch.sigmoid``.
    """
    z = torch.exp(torch.where(x >= 0, -x, x))  # e^{-|x|}, in (0, 1]
    return torch.where(x >= 0, 1.0 / (1.0 + z), z / (1.0 + z))


def relu(x: torch.Tensor) -> torch.Tensor:
    r"""Twin of `course_lib.scratch.activations.ReLU`.

    .. math::

        \mathrm{relu}(x) = \max(0, x)

    Shapes: any -> same. The slope at x = 0 is 0, as in ``F.relu`` (``clamp(min=0)`` would give 1).
    """
    return torch.where(x > 0, x, torch.zeros_like(x))


ACTIVATIONS = {"sigmoid": sigmoid, "relu": relu}
"""Activation functions by lower-case name (used by ``torch_impl.model.MLP``)."""
