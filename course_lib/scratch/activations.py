r"""Elementwise activation functions with explicit backward passes.

Each activation is a class ``Act`` with ``Act.forward(x, **hyper) -> (out, cache)`` and
``Act.backward(dout, cache) -> (dx,)``; input and output have the same (any) shape.
To add one: write the class (and its cache dataclass), then add it to :data:`ACTIVATIONS`
under its lower-case name, which is what ``model.MLP(activation=...)`` looks up.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Sigmoid", "SigmoidCache", "ReLU", "ReLUCache", "ACTIVATIONS", "get_activation", "stable_sigmoid"]


def _check_dout(dout: np.ndarray, shape: tuple[int, ...], who: str) -> np.ndarray:
    dout = np.asarray(dout, dtype=np.float64)
    if dout.shape != shape:
        raise ValueError(f"{who}.backward: dout must have the input's shape {shape}, got {dout.shape}")
    return dout


def stable_sigmoid(x: np.ndarray) -> np.ndarray:
    r"""Logistic function :math:`1/(1+e^{-x})`, correct for any float64 ``x``.

    For very negative ``x``, :math:`e^{-x}` overflows to ``inf`` and :math:`1/(1+\infty) = 0`,
    which is the right limit; the overflow warning is silenced because the result is exact.
    (Never compute :math:`e^{x}/(1+e^{x})` directly: for large positive ``x`` it gives
    ``inf/inf = nan``.) Written with in-place operations: one ``exp`` and one reciprocal.
    """
    x = np.asarray(x, dtype=np.float64)
    with np.errstate(over="ignore"):
        out = np.exp(-x)
    out += 1.0
    return np.reciprocal(out, out=out)


@dataclass(frozen=True, eq=False)
class SigmoidCache:
    out: np.ndarray  # (same shape as x) sigma(x), the derivative is out * (1 - out)


class Sigmoid:
    r"""Logistic sigmoid.

    .. math::

        \sigma(x) = \frac{1}{1 + e^{-x}}, \qquad \sigma'(x) = \sigma(x)\,\big(1 - \sigma(x)\big)

    Shapes: ``x`` any shape -> ``out`` same shape, values in [0, 1] (strictly inside
    (0, 1) unless float64 rounds, for |x| > ~37). Evaluated stably for large |x|; see
    :func:`stable_sigmoid`. Note :math:`\sigma'(x) \le 1/4`: stacking sigmoids shrinks
    gradients, and saturated units (|x| large) pass back almost nothing.

    PyTorch convention: ``torch.sigmoid``.

    Reference: the squashing unit of Rumelhart, Hinton & Williams (1986); its saturation
    in deep nets: Glorot & Bengio (2010).
    """

    @staticmethod
    def forward(x: np.ndarray) -> tuple[np.ndarray, SigmoidCache]:
        out = stable_sigmoid(x)
        return out, SigmoidCache(out=out)

    @staticmethod
    def backward(dout: np.ndarray, cache: SigmoidCache) -> tuple[np.ndarray]:
        dout = _check_dout(dout, cache.out.shape, "Sigmoid")
        dx = 1.0 - cache.out
        dx *= cache.out
        dx *= dout
        return (dx,)


@dataclass(frozen=True, eq=False)
class ReLUCache:
    positive: np.ndarray  # (same shape as x) bool, x > 0


class ReLU:
    r"""Rectified linear unit.

    .. math::

        \mathrm{relu}(x) = \max(0, x), \qquad \mathrm{relu}'(x) = [\,x > 0\,]

    Shapes: ``x`` any shape -> ``out`` same shape. At the kink x = 0 we use the
    derivative 0, as PyTorch does.

    PyTorch convention: ``F.relu`` / ``torch.relu``.

    Reference: Nair & Hinton (2010); made standard for deep nets by Krizhevsky, Sutskever &
    Hinton (2012).
    """

    @staticmethod
    def forward(x: np.ndarray) -> tuple[np.ndarray, ReLUCache]:
        x = np.asarray(x, dtype=np.float64)
        positive = x > 0
        return np.maximum(x, 0.0), ReLUCache(positive=positive)

    @staticmethod
    def backward(dout: np.ndarray, cache: ReLUCache) -> tuple[np.ndarray]:
        dout = _check_dout(dout, cache.positive.shape, "ReLU")
        return (dout * cache.positive,)


ACTIVATIONS: dict[str, type] = {
    "sigmoid": Sigmoid,
    "relu": ReLU,
}
"""Activation classes by lower-case name (used by ``model.MLP``)."""


def get_activation(name: str) -> type:
    """The activation class registered as ``name`` in :data:`ACTIVATIONS`."""
    try:
        return ACTIVATIONS[name.lower()]
    except (KeyError, AttributeError):
        raise ValueError(f"unknown activation {name!r}; choose one of {sorted(ACTIVATIONS)}") from None
