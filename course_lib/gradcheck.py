r"""Gradient checking: compare a hand-written backward pass with central differences.

A backward pass computes a vector-Jacobian product: given the upstream gradient
``dout`` (same shape as the output), it returns :math:`\partial L / \partial x` for
:math:`L = \sum_k \mathrm{out}_k \, \mathrm{dout}_k`. We estimate the same quantity
numerically, one input element at a time, with the central difference

.. math::

    \frac{\partial L}{\partial x_i} \approx
    \frac{L(x + h e_i) - L(x - h e_i)}{2h}.

Why ``h = 1e-5`` in float64
---------------------------
The central difference has two error sources that pull ``h`` in opposite directions:

* truncation: the Taylor remainder is :math:`\tfrac{h^2}{6} f'''`, i.e. O(h^2) -- smaller h is better;
* rounding: each evaluation of L carries a relative error of about machine epsilon
  (:math:`\varepsilon \approx 2.2 \times 10^{-16}` in float64), and dividing the difference by
  2h amplifies it to about :math:`\varepsilon |L| / h` -- larger h is better.

The sum :math:`h^2 + \varepsilon/h` is smallest near :math:`h \approx \varepsilon^{1/3} \approx 6
\times 10^{-6}`. With ``h = 1e-5`` both terms are about 1e-10, so a correct backward pass
reaches a relative error of about 1e-8 or better, far below the 1e-6 threshold, while a
backward pass that is wrong by even 1% shows an error near 5e-3. Going smaller makes
things worse, not better: ``h = 1e-7`` gives about 1e-5 because rounding dominates.
(In float32, :math:`\varepsilon \approx 10^{-7}`: gradient checks there are hopeless,
which is why the whole scratch side works in float64.)

The relative error is the form used in Stanford's CS231n notes,

.. math::

    \mathrm{rel}(a, b) = \max_i \frac{|a_i - b_i|}{\max(10^{-8}, |a_i| + |b_i|)}.

This module needs NumPy only.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from course_lib import checks

__all__ = ["numerical_grad", "rel_error", "check_op", "CheckReport", "DEFAULT_H", "THRESHOLD"]

DEFAULT_H = 1e-5
"""Default central-difference step (float64); see the module docstring."""

THRESHOLD = 1e-6
"""A backward pass passes :func:`check_op` when every relative error is below this."""


def numerical_grad(
    f: Callable[[np.ndarray], Any], x: np.ndarray, dout: Any, h: float = DEFAULT_H
) -> np.ndarray:
    r"""Central-difference estimate of the vector-Jacobian product of ``f`` at ``x``.

    .. math::

        g_i = \frac{\sum_k \big(f(x + h e_i) - f(x - h e_i)\big)_k \, \mathrm{dout}_k}{2h}

    Parameters
    ----------
    f : callable
        ``f(x)`` returns an array (or scalar) with the same shape as ``dout``. It is called
        with ``x`` itself, after ``x`` has been perturbed in place.
    x : np.ndarray, any shape, floating dtype
        The point. Each element is perturbed in place by +h and -h and then restored, so
        ``x`` is unchanged on return (also when ``f`` raises).
    dout : array_like, shape of ``f(x)``
        Upstream gradient.
    h : float
        Step size; ``1e-5`` is right for float64 (see the module docstring).

    Returns
    -------
    np.ndarray, shape ``x.shape``, float64
    """
    if not isinstance(x, np.ndarray):
        raise TypeError(f"x must be a numpy array (it is perturbed in place), got {type(x).__name__}")
    if not np.issubdtype(x.dtype, np.floating):
        raise ValueError(f"x must have a floating dtype to be perturbed, got {x.dtype}")
    h = checks.real(h, "h (the step)", "numerical_grad", minimum=0, exclusive_minimum=True)
    dout = np.asarray(dout, dtype=np.float64)
    grad = np.zeros(x.shape, dtype=np.float64)
    for idx in np.ndindex(x.shape):
        original = float(x[idx])
        try:
            x[idx] = original + h
            plus = np.sum(np.asarray(f(x), dtype=np.float64) * dout)
            x[idx] = original - h
            minus = np.sum(np.asarray(f(x), dtype=np.float64) * dout)
        finally:
            x[idx] = original
        grad[idx] = (plus - minus) / (2.0 * h)
    return grad


def rel_error(a: Any, b: Any) -> float:
    r"""Largest elementwise relative error between ``a`` and ``b`` (CS231n form).

    .. math::

        \max_i \frac{|a_i - b_i|}{\max(10^{-8}, |a_i| + |b_i|)}

    The floor of 1e-8 keeps entries where both values are (nearly) zero from dividing by
    zero. ``a`` and ``b`` must have the same shape: silently broadcasting would hide a bug.
    Returns 0.0 for empty arrays.
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"rel_error needs arrays of the same shape, got {a.shape} and {b.shape}")
    if a.size == 0:
        return 0.0
    return float(np.max(np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b))))


@dataclass(frozen=True)
class CheckReport:
    """Result of :func:`check_op`: one relative error per differentiable input.

    Attributes
    ----------
    op_name : str
    names : tuple of str          names of the checked (floating) inputs, in input order
    errors : tuple of float       ``rel_error(analytic, numerical)`` for each of them
    h : float                     central-difference step that was used
    threshold : float             an input passes when its error is below this
    """

    op_name: str
    names: tuple[str, ...]
    errors: tuple[float, ...]
    h: float = DEFAULT_H
    threshold: float = THRESHOLD

    @property
    def passed(self) -> bool:
        """True when every relative error is below ``threshold``."""
        return all(e < self.threshold for e in self.errors)

    @property
    def max_error(self) -> float:
        return max(self.errors, default=0.0)

    @property
    def errors_by_name(self) -> dict[str, float]:
        return dict(zip(self.names, self.errors))

    def __str__(self) -> str:
        verdict = "PASSED" if self.passed else "FAILED"
        lines = [f"gradient check of {self.op_name} (h={self.h:g}, threshold {self.threshold:g}): {verdict}"]
        width = max((len(n) for n in self.names), default=0)
        for name, err in zip(self.names, self.errors):
            mark = "ok" if err < self.threshold else "WRONG"
            lines.append(f"  d{name:<{width}}  rel. error {err:.2e}  {mark}")
        return "\n".join(lines)


def _input_names(op: Any, n: int) -> list[str]:
    """Names of the positional parameters of ``op.forward`` (``input0``... when variadic)."""
    try:
        params = list(inspect.signature(op.forward).parameters.values())
    except (TypeError, ValueError):
        params = []
    names = [p.name for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return [names[i] if i < len(names) else f"input{i}" for i in range(n)]


def check_op(op: Any, *inputs: Any, h: float = DEFAULT_H, seed: int = 0, **hyper: Any) -> CheckReport:
    """Check ``op.backward`` against central differences for every floating input.

    ``op`` follows the scratch-op contract: ``op.forward(*inputs, **hyper) -> (out, cache)``
    and ``op.backward(dout, cache) -> grads``, a tuple with one gradient per floating
    input, in input order. Integer inputs (class labels, indices) are passed through
    and not differentiated.

    A random upstream gradient ``dout`` (standard normal, same shape as ``out``) is drawn
    from ``np.random.default_rng(seed)``: a random ``dout`` tests the whole Jacobian, where
    ``dout = 1`` could let errors cancel. The inputs are copied to float64 first; the
    caller's arrays are never modified.

    Returns a :class:`CheckReport`; ``report.passed`` is the verdict, ``str(report)`` a table.
    """
    arrays = [np.array(a, dtype=np.float64) if _is_float(a) else a for a in inputs]
    float_positions = [i for i, a in enumerate(inputs) if _is_float(a)]
    if not float_positions:
        raise ValueError(f"check_op: {_name(op)} got no floating input to differentiate")

    out, cache = op.forward(*arrays, **hyper)
    dout = np.random.default_rng(seed).standard_normal(np.shape(out))
    grads = op.backward(dout, cache)
    if not isinstance(grads, tuple):
        raise TypeError(f"{_name(op)}.backward must return a tuple of gradients, got {type(grads).__name__}")
    if len(grads) != len(float_positions):
        raise ValueError(
            f"{_name(op)}.backward returned {len(grads)} gradient(s) "
            f"but forward has {len(float_positions)} floating input(s)"
        )

    all_names = _input_names(op, len(inputs))
    names, errors = [], []
    for pos, analytic in zip(float_positions, grads):
        x = arrays[pos]
        analytic = np.asarray(analytic, dtype=np.float64)
        if analytic.shape != x.shape:
            raise ValueError(
                f"{_name(op)}.backward: gradient for '{all_names[pos]}' has shape {analytic.shape}, "
                f"input has shape {x.shape}"
            )

        def f(_x: np.ndarray, pos: int = pos) -> Any:
            args = list(arrays)
            args[pos] = _x
            return op.forward(*args, **hyper)[0]

        numeric = numerical_grad(f, x, dout, h=h)
        names.append(all_names[pos])
        errors.append(rel_error(analytic, numeric))
    return CheckReport(op_name=_name(op), names=tuple(names), errors=tuple(errors), h=h)


def _is_float(a: Any) -> bool:
    return isinstance(a, (np.ndarray, np.floating, float)) and np.issubdtype(np.asarray(a).dtype, np.floating)


def _name(op: Any) -> str:
    return getattr(op, "__name__", type(op).__name__)
