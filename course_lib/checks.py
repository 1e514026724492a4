"""Checks of numeric arguments, shared by the whole library (NumPy only; never imports torch).

A hyperparameter such as ``epochs=3`` or ``eps=1e-5`` is checked once, at the top of the
function that receives it, so that a wrong value fails at once with a message naming it,
instead of deep inside a computation::

    epochs = integer(epochs, "epochs", "Perceptron", minimum=1)
    eps = real(eps, "eps", "fit_whitening", minimum=0)
    rng = generator(rng, who="make_moons")
    x = float_array(x, "x", "Linear")

Rules, the same everywhere:

* Python and NumPy numbers are accepted (``3``, ``np.int64(3)``, ``0.5``, ``np.float32(0.5)``);
* ``True`` and ``False`` are rejected, although Python counts them as integers: ``epochs=True``
  is a slip, not a request for one epoch;
* an integer argument rejects floats, even ``3.0``, and every argument rejects strings;
* a real argument rejects NaN, and also +-inf unless ``finite=False``.

A wrong value raises ``ValueError`` with one message shape,
``"<who>: <name> must be <requirement>, got <value>"``: the full requirement when the value is
not a number of the right kind (``"Solver: epochs must be an integer >= 1, got 2.5"``), only the
bound when it is a number out of range (``"Solver: epochs must be >= 1, got 0"``). A wrong
random generator is a wrong type and raises ``TypeError``.

Data arrays (:func:`float_array`) are converted to float64: lists, integer and float arrays are
accepted (an integer array is converted silently, exactly); bool, complex, object and string
arrays are a wrong type and raise ``TypeError`` naming the argument. NaN and inf in data pass
through (an op's forward propagates them, like torch); ``finite=True`` rejects them with ``ValueError``.
"""

from __future__ import annotations

import math
from numbers import Integral, Real
from typing import Any, NoReturn

import numpy as np

__all__ = ["is_integer", "is_real", "integer", "real", "generator", "float_array"]


def is_integer(value: Any) -> bool:
    """True for a Python or NumPy integer, False for a bool, a float (even ``3.0``) or anything else."""
    return isinstance(value, Integral) and not isinstance(value, (bool, np.bool_))


def is_real(value: Any) -> bool:
    """True for a Python or NumPy integer or float (NaN and inf included), False for a bool or anything else."""
    return isinstance(value, Real) and not isinstance(value, (bool, np.bool_))


def _bounds(minimum: Any, maximum: Any, exclusive_minimum: bool = False, exclusive_maximum: bool = False) -> str:
    """The allowed range in words: ``">= 1"``, ``"> 0"``, ``"<= 5"``, ``"in [1, 32]"``, ``"in (0.5, 1)"`` or ``""``."""
    if minimum is not None and maximum is not None:
        low, high = "(" if exclusive_minimum else "[", ")" if exclusive_maximum else "]"
        return f"in {low}{minimum}, {maximum}{high}"
    if minimum is not None:
        return f"{'>' if exclusive_minimum else '>='} {minimum}"
    if maximum is not None:
        return f"{'<' if exclusive_maximum else '<='} {maximum}"
    return ""


def _within(value: Any, minimum: Any, maximum: Any, exclusive_minimum: bool = False,
            exclusive_maximum: bool = False) -> bool:
    """Whether ``value`` lies in the range that :func:`_bounds` describes."""
    if minimum is not None and (value <= minimum if exclusive_minimum else value < minimum):
        return False
    if maximum is not None and (value >= maximum if exclusive_maximum else value > maximum):
        return False
    return True


def _fail(value: Any, name: str, who: str | None, requirement: str) -> NoReturn:
    """Raise the library's ``ValueError``: ``"<who>: <name> must be <requirement>, got <value>"``."""
    prefix = f"{who}: " if who else ""
    raise ValueError(f"{prefix}{name} must be {requirement}, got {value!r}")


def integer(
    value: Any, name: str, who: str | None = None, *, minimum: int | None = None, maximum: int | None = None
) -> int:
    """``value`` as a Python ``int``, after checking it is an integer in ``[minimum, maximum]``.

    Parameters
    ----------
    value : the argument to check (a Python or NumPy integer; not a bool, not a float).
    name : its name in the message, e.g. ``"batch_size"``.
    who : the function or class that received it, e.g. ``"Solver"`` (the message starts with it).
    minimum, maximum : inclusive bounds; None means unbounded on that side.

    Raises ``ValueError``, e.g. ``"Solver: batch_size must be >= 1, got 0"``.
    """
    bounds = _bounds(minimum, maximum)
    if not is_integer(value):
        _fail(value, name, who, f"an integer {bounds}".strip())
    if not _within(value, minimum, maximum):
        _fail(value, name, who, bounds)
    return int(value)


def real(
    value: Any,
    name: str,
    who: str | None = None,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    exclusive_minimum: bool = False,
    exclusive_maximum: bool = False,
    finite: bool = True,
) -> float:
    """``value`` as a Python ``float``, after checking it is a number in the given range.

    Parameters
    ----------
    value : the argument to check (a Python or NumPy int or float; not a bool, never NaN).
    name, who : as in :func:`integer`.
    minimum, maximum : bounds; None means unbounded on that side.
    exclusive_minimum, exclusive_maximum : make a bound strict (``> 0`` instead of ``>= 0``).
    finite : reject +-inf too (the default); with False only NaN is rejected.

    Raises ``ValueError``, e.g. ``"window_level: width must be > 0, got 0"``.
    """
    bounds = _bounds(minimum, maximum, exclusive_minimum, exclusive_maximum)
    kind = "a finite number" if finite else "a number (not NaN)"
    if not is_real(value) or math.isnan(value) or (finite and math.isinf(value)):
        _fail(value, name, who, f"{kind} {bounds}".strip())
    if not _within(value, minimum, maximum, exclusive_minimum, exclusive_maximum):
        _fail(value, name, who, bounds)
    return float(value)


def generator(rng: Any, name: str = "rng", who: str | None = None) -> np.random.Generator:
    """``rng`` itself, after checking it is a ``np.random.Generator`` (the library never uses a global RNG).

    Raises ``TypeError``, e.g. ``"make_moons: rng must be a numpy Generator
    (np.random.default_rng(seed)), got int"``.
    """
    if not isinstance(rng, np.random.Generator):
        prefix = f"{who}: " if who else ""
        raise TypeError(
            f"{prefix}{name} must be a numpy Generator (np.random.default_rng(seed)), got {type(rng).__name__}"
        )
    return rng


def float_array(value: Any, name: str, who: str | None = None, *, finite: bool = False) -> np.ndarray:
    """``value`` as a float64 array, after checking its dtype (and, with ``finite=True``, its entries).

    Lists, NumPy integer and float arrays are accepted (integers are converted exactly, float32 is
    widened). Bool arrays (a mask, not data), complex arrays (the imaginary part would be dropped
    silently), object and string arrays raise ``TypeError``, e.g. ``"Linear: x must be a real-valued
    array (int or float), got dtype complex128"``. With ``finite=True`` NaN or +-inf raise ``ValueError``.
    """
    prefix = f"{who}: " if who else ""
    try:
        raw = np.asarray(value)
    except ValueError as error:  # a ragged list
        raise TypeError(
            f"{prefix}{name} must be a real-valued array (int or float), got a ragged {type(value).__name__}"
        ) from error
    if raw.dtype.kind not in "iuf":
        raise TypeError(f"{prefix}{name} must be a real-valued array (int or float), got dtype {raw.dtype}")
    out = raw.astype(np.float64, copy=False)
    if finite and not np.all(np.isfinite(out)):
        raise ValueError(f"{prefix}{name} must contain only finite numbers, got NaN or inf")
    return out
