r"""Twin of :mod:`course_lib.scratch.activations`: activations from elementary torch ops.

Written out by hand (not ``torch.sigmoid`` / ``F.relu`` / ``torch.tanh`` / ``F.elu`` ...) so that
the parity tests compare two independent implementations with the torch built-ins; autograd
differentiates them. Each rectifier is a ``torch.where`` on ``x > 0``, which gives the same
derivative at x = 0 as the built-in (the ``x <= 0`` branch).
"""

from __future__ import annotations

import torch

from course_lib.scratch.activations import LECUN_SCALE, LECUN_SLOPE
from course_lib.scratch.activations import _check_finite_hyper as _finite
from course_lib.torch_impl._checks import same_shape, tensor

__all__ = ["sigmoid", "tanh", "lecun_tanh", "relu", "leaky_relu", "prelu", "elu", "maxout", "ACTIVATIONS"]


def sigmoid(x: torch.Tensor) -> torch.Tensor:
    r"""Twin of `course_lib.scratch.activations.Sigmoid`.

    .. math::

        \sigma(x) = \frac{1}{1 + e^{-x}}

    Shapes: any -> same. Stable for large |x|: :math:`e^{-|x|}` never overflows.
    (The exponent is built with ``torch.where`` rather than ``abs`` so that autograd
    gets the right slope 1/4 at x = 0: the derivative of ``abs`` there is 0.)
    Built-in: ``torch.sigmoid``.
    """
    tensor(x, "x", "sigmoid")
    z = torch.exp(torch.where(x >= 0, -x, x))  # e^{-|x|}, in (0, 1]
    return torch.where(x >= 0, 1.0 / (1.0 + z), z / (1.0 + z))


def tanh(x: torch.Tensor) -> torch.Tensor:
    r"""Twin of `course_lib.scratch.activations.Tanh`.

    .. math::

        \tanh(x) = \operatorname{sign}(x)\, \frac{1 - e^{-2|x|}}{1 + e^{-2|x|}}

    Shapes: any -> same. :math:`e^{-2|x|} - 1` is computed with ``expm1`` (exact near 0,
    never overflows); ``torch.where`` instead of ``abs``/``sign`` keeps the slope 1 at
    x = 0. Built-in: ``torch.tanh``.
    """
    tensor(x, "x", "tanh")
    e = torch.expm1(2.0 * torch.where(x >= 0, -x, x))  # e^{-2|x|} - 1, in (-1, 0]
    t = -e / (2.0 + e)  # tanh(|x|)
    return torch.where(x >= 0, t, -t)


def lecun_tanh(x: torch.Tensor) -> torch.Tensor:
    r"""Twin of `course_lib.scratch.activations.LeCunTanh`.

    .. math::

        f(x) = 1.7159 \tanh\!\big(\tfrac{2}{3} x\big)

    Shapes: any -> same. No built-in; LeCun et al. (1998).
    """
    tensor(x, "x", "lecun_tanh")
    return LECUN_SCALE * tanh(LECUN_SLOPE * x)


def relu(x: torch.Tensor) -> torch.Tensor:
    r"""Twin of `course_lib.scratch.activations.ReLU`.

    .. math::

        \mathrm{relu}(x) = \max(0, x)

    Shapes: any -> same. The slope at x = 0 is 0, as in ``F.relu`` (``clamp(min=0)`` would give 1).
    """
    tensor(x, "x", "relu")
    return torch.where((x > 0) | x.isnan(), x, torch.zeros_like(x))  # NaN stays NaN, as in F.relu


def leaky_relu(x: torch.Tensor, negative_slope: float = 0.01) -> torch.Tensor:
    r"""Twin of `course_lib.scratch.activations.LeakyReLU`.

    .. math::

        f(x) = \begin{cases} x & x > 0 \\ \alpha x & x \le 0 \end{cases},
        \quad \alpha = \text{negative\_slope}

    Shapes: any -> same. Built-in: ``F.leaky_relu(x, negative_slope=0.01)``
    (slope at 0: alpha).
    """
    tensor(x, "x", "leaky_relu")
    negative_slope = _finite(negative_slope, "negative_slope", "leaky_relu")
    return torch.where(x > 0, x, negative_slope * x)


def prelu(x: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
    r"""Twin of `course_lib.scratch.activations.PReLU`.

    .. math::

        f(x) = \begin{cases} x & x > 0 \\ a_c\, x & x \le 0 \end{cases}

    Shapes: ``a`` (1,) shared, or (C,) one slope per channel along axis 1 of ``x``
    ((N, C, ...)). Autograd gives the gradient of ``a`` too.
    Built-in: ``F.prelu(x, a)``.
    """
    tensor(x, "x", "prelu")
    tensor(a, "a", "prelu")
    a = _prelu_slopes(x, a)  # (1,), or (1, C, 1, ...) to broadcast along axis 1 of x
    return torch.where(x > 0, x, a * x)


def _check_maxout(x: torch.Tensor, w: torch.Tensor, b: torch.Tensor) -> None:
    """x (N, D), w (k, D, M) with k >= 1, b (k, M), all real tensors (``ValueError``/``TypeError`` naming them)."""
    for name, value, ndim in (("x", x, 2), ("w", w, 3), ("b", b, 2)):
        if tensor(value, name, "maxout").ndim != ndim:
            raise ValueError(f"maxout: {name} must be {ndim}-D, got shape {tuple(value.shape)}")
    if w.shape[1] != x.shape[1] or w.shape[0] < 1:
        raise ValueError(f"maxout: w must have shape (k, D={x.shape[1]}, M) with k >= 1, got {tuple(w.shape)}")
    same_shape(b, (w.shape[0], w.shape[2]), "b", "maxout", " (k, M)")


def _prelu_slopes(x: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
    """``a`` checked for :func:`prelu`; (C,) slopes are shaped (1, C, 1, ...)."""
    if a.ndim != 1 or a.numel() == 0:
        raise ValueError(f"prelu: a must be a 1-D tensor of shape (1,) or (C,), got shape {tuple(a.shape)}")
    if a.numel() > 1:
        if x.ndim < 2 or x.shape[1] != a.numel():
            raise ValueError(f"prelu: a has {a.numel()} slopes but x of shape {tuple(x.shape)} has no such axis 1")
        a = a.reshape((1, a.numel()) + (1,) * (x.ndim - 2))
    return a


def elu(x: torch.Tensor, alpha: float = 1.0) -> torch.Tensor:
    r"""Twin of `course_lib.scratch.activations.ELU`.

    .. math::

        f(x) = \begin{cases} x & x > 0 \\ \alpha\,(e^{x} - 1) & x \le 0 \end{cases}

    Shapes: any -> same. ``expm1`` of :math:`\min(x, 0)` (``clamp(max=0)``, whose slope
    at 0 is 1, so the slope of f at 0 is alpha as in ``F.elu``).
    Built-in: ``F.elu(x, alpha=1.0)``.
    """
    tensor(x, "x", "elu")
    alpha = _finite(alpha, "alpha", "elu")
    return torch.where(x > 0, x, alpha * torch.expm1(torch.clamp(x, max=0.0)))


def maxout(x: torch.Tensor, w: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    r"""Twin of `course_lib.scratch.activations.Maxout`.

    .. math::

        \mathrm{out} = \max_{j=1..k} \big(x W_j + b_j\big)

    Shapes: ``x`` (N, D), ``w`` (k, D, M), ``b`` (k, M) -> (N, M).
    ``torch.max(z, dim=0)`` routes the gradient to the first maximal piece on a tie, as
    the scratch op does (``torch.amax`` would split it).
    """
    _check_maxout(x, w, b)
    z = torch.matmul(x, w) + b[:, None, :]  # (k, N, M)
    return z.max(dim=0).values


ACTIVATIONS = {
    "sigmoid": sigmoid,
    "tanh": tanh,
    "lecun_tanh": lecun_tanh,
    "relu": relu,
    "leaky_relu": leaky_relu,
    "elu": elu,
}
"""Elementwise activation functions by lower-case name (used by ``torch_impl.model.MLP``, default hyperparameters)."""
