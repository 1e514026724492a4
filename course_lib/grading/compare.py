"""Compare a student's decoded outputs with the reference's, in the trusted grader.

:func:`compare` returns ``None`` when ``actual`` matches ``expected`` and otherwise a
one-line message for the student, e.g. ``"`dscores` has shape (5,), expected (5, 3)"`` or
``"`dw` differs from the expected value: max abs error 0.031 at index (2, 0) (got 0.1,
expected 0.069)"``.

Rules (``expected`` is what the reference solution returned, after the codec):

* **Tuples and lists** must have the same length; element ``i`` is compared with the same
  rules and named ``names[i]`` when given.  A tuple and a list are interchangeable.
* **Dicts** must have the same keys (missing and unexpected keys are listed).
* **None, bools and strings** must be equal and of the same type.
* **Numbers and numeric arrays** must have exactly the same shape and agree under
  ``numpy.allclose(actual, expected, rtol, atol)``.  Integers and floats are
  interchangeable (``3`` matches ``3.0``, an int array matches a float array), and a 0-d
  array is a number.  Shapes are strict: ``(N, 1)`` does not match ``(N,)`` (the message
  points at a ``keepdims=True`` axis), a number does not match a 1-element array, and
  the same values flattened do not match.
* **A bool is not a number**: ``True`` does not match ``1.0``, nor a bool array a float
  array (nor a list holding bools).
* **A list (or nested lists, or a tuple) of numbers where an array is due is accepted**
  when NumPy reads it as a numeric array of the right shape and values -- the notebooks'
  self-checks read answers with ``np.asarray`` too, so the grader agrees with them.  A
  list that is ragged or holds something else than numbers is refused with a message
  that says so.
* **NaN and infinity**: a NaN or an infinity where the reference is finite is reported as
  such (a numerical-stability hint); NaN where the reference has NaN, and the same
  infinity where the reference has it, match.
* **Bool arrays** (when the reference returns a mask) must be bool arrays of the same
  shape and equal entry by entry.

A value of a type the codec never produces raises :class:`TypeError`: that is a problem
of the grader (reported as an internal grader error), not of the submission.
"""

from __future__ import annotations

import numpy as np

__all__ = ["compare", "describe"]


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def describe(value) -> str:
    """A short description of a value's type and shape for messages."""
    if value is None:
        return "None"
    if isinstance(value, (bool, np.bool_)):
        return f"a bool ({bool(value)})"
    if isinstance(value, (int, float, np.integer, np.floating)):
        try:
            return f"the number {value:.6g}"
        except (OverflowError, ValueError):
            return "a number too large for a float"
    if isinstance(value, np.ndarray):
        kind = " of bools" if value.dtype.kind == "b" else ""
        return f"an array{kind} of shape {tuple(value.shape)}"
    if isinstance(value, tuple):
        return f"a tuple of {_plural(len(value), 'value')}"
    if isinstance(value, list):
        return f"a list of {_plural(len(value), 'value')}"
    if isinstance(value, dict):
        return f"a dict with keys {sorted(value)}"
    if isinstance(value, str):
        text = value if len(value) <= 40 else value[:37] + "..."
        return f"the string {text!r}"
    return type(value).__name__


def _is_number(value) -> bool:
    """An int or a float (NumPy's included), but not a bool."""
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))


def _numeric(value) -> bool:
    """A number, or an array of ints or floats (the values :func:`_compare_numeric` handles)."""
    return _is_number(value) or (isinstance(value, np.ndarray) and value.dtype.kind in "iuf")


def _has_bool(value) -> bool:
    """True if ``value`` is a bool, a bool array, or a list/tuple holding one (at any depth)."""
    if isinstance(value, (bool, np.bool_)):
        return True
    if isinstance(value, np.ndarray):
        return value.dtype.kind == "b"
    if isinstance(value, (list, tuple)):
        return any(_has_bool(v) for v in value)
    return False


def _wanted(e: np.ndarray) -> str:
    return "a number" if e.ndim == 0 else f"an array of shape {tuple(e.shape)}"


def _shape_hint(actual_shape: tuple, expected_shape: tuple) -> str:
    """Why two shapes differ, when the values might be right: an axis of length 1, a flattening."""
    squeeze_a = tuple(d for d in actual_shape if d != 1)
    squeeze_e = tuple(d for d in expected_shape if d != 1)
    if squeeze_a == squeeze_e and len(actual_shape) > len(expected_shape):
        return " (an extra axis of length 1: keepdims=True, or a missing squeeze?)"
    if squeeze_a == squeeze_e and len(actual_shape) < len(expected_shape):
        return " (an axis of length 1 is missing)"
    if np.prod(actual_shape, dtype=np.int64) == np.prod(expected_shape, dtype=np.int64):
        if len(actual_shape) == 1:
            return " (the right number of values, flattened)"
        return " (the right number of values in a different shape)"
    return ""


def _as_float_array(value, name: str, e: np.ndarray) -> tuple[np.ndarray | None, str | None]:
    """``value`` as a float64 array, or ``(None, message)`` if it is not a numeric value."""
    if _has_bool(value):
        what = "a list holding bools" if isinstance(value, (list, tuple)) else describe(value)
        wanted = "a number" if e.ndim == 0 else f"an array of numbers of shape {tuple(e.shape)}"
        return None, f"{name} should be {wanted}, got {what} (a bool is not a number: True does not count as 1)"
    if isinstance(value, (list, tuple)):
        try:
            arr = np.asarray(value)
        except (TypeError, ValueError, OverflowError):
            arr = None
        if arr is None or arr.dtype.kind not in "iuf":
            return None, (
                f"{name} should be {_wanted(e)}, got {describe(value)} that NumPy cannot read "
                "as an array of numbers (ragged, or holding something else than numbers)"
            )
        value = arr
    elif not _numeric(value):
        return None, f"{name} should be {_wanted(e)}, got {describe(value)}"
    try:
        return np.asarray(value, dtype=np.float64), None
    except (TypeError, ValueError, OverflowError):
        return None, f"{name} should be {_wanted(e)}, got {describe(value)}"


def _compare_numeric(expected, actual, name, rtol, atol):
    e = np.asarray(expected, dtype=np.float64)
    a, msg = _as_float_array(actual, name, e)
    if msg:
        return msg
    if a.shape != e.shape:
        if e.ndim == 0:
            return f"{name} should be a number, got {describe(actual)}"
        if a.ndim == 0:
            return f"{name} should be an array of shape {e.shape}, got {describe(actual)}"
        return f"{name} has shape {a.shape}, expected {e.shape}{_shape_hint(a.shape, e.shape)}"
    bad = ~np.isfinite(a) & np.isfinite(e)
    if bad.any():
        hint = "expected finite values: is the computation numerically stable?"
        if e.ndim == 0:
            return f"{name} is {float(a)} ({hint})"
        idx = tuple(int(i) for i in np.argwhere(bad)[0])
        return f"{name} contains {float(a[idx])} at index {idx} ({hint})"
    if np.allclose(a, e, rtol=rtol, atol=atol, equal_nan=True):
        return None
    with np.errstate(invalid="ignore"):
        err = np.abs(a - e)
    err = np.where(np.isnan(err), np.inf, err)  # nan against a number, inf against -inf
    err = np.where(np.isclose(a, e, rtol=rtol, atol=atol, equal_nan=True), -1.0, err)  # only mismatches
    if e.ndim == 0:
        return f"{name} is {float(a):.8g}, expected {float(e):.8g}"
    idx = tuple(int(i) for i in np.unravel_index(int(np.argmax(err)), err.shape))
    return (
        f"{name} differs from the expected value: max abs error {float(err[idx]):.3g} "
        f"at index {idx} (got {float(a[idx]):.6g}, expected {float(e[idx]):.6g})"
    )


def _compare_bools(expected: np.ndarray, actual, name: str) -> str | None:
    """A mask: a bool array of the same shape, equal everywhere."""
    wanted = f"an array of bools of shape {tuple(expected.shape)}"
    if isinstance(actual, (list, tuple)):
        try:
            actual = np.asarray(actual)
        except (TypeError, ValueError):
            return f"{name} should be {wanted}, got {describe(actual)} that NumPy cannot read as an array"
    if not isinstance(actual, np.ndarray) or actual.dtype.kind != "b":
        return f"{name} should be {wanted}, got {describe(actual)}"
    if actual.shape != expected.shape:
        return f"{name} has shape {actual.shape}, expected {expected.shape}{_shape_hint(actual.shape, expected.shape)}"
    differ = np.argwhere(actual != expected)
    if len(differ):
        idx = tuple(int(i) for i in differ[0])
        entries = "1 entry" if len(differ) == 1 else f"{len(differ)} entries"
        return (
            f"{name} differs from the expected value at {entries}, e.g. index {idx} "
            f"(got {bool(actual[idx])}, expected {bool(expected[idx])})"
        )
    return None


def _compare_sequence(expected, actual, name, rtol, atol, names) -> str | None:
    kind = "tuple" if isinstance(expected, tuple) else "list"
    n = len(expected)
    what = f" ({', '.join(f'`{x}`' for x in names)})" if names and len(names) == n else ""
    if not isinstance(actual, (tuple, list)) or len(actual) != n:
        return f"{name} should be a {kind} of {_plural(n, 'value')}{what}, got {describe(actual)}"
    for i, (e, a) in enumerate(zip(expected, actual)):
        sub = f"`{names[i]}`" if i < len(names) else f"{name}[{i}]"
        msg = compare(e, a, sub, rtol=rtol, atol=atol)
        if msg:
            return msg
    return None


def _compare_dict(expected, actual, name, rtol, atol) -> str | None:
    if not isinstance(actual, dict):
        return f"{name} should be a dict with keys {sorted(expected)}, got {describe(actual)}"
    if set(actual) != set(expected):
        missing, extra = sorted(set(expected) - set(actual)), sorted(set(actual) - set(expected))
        parts = ([f"missing keys {missing}"] if missing else []) + ([f"unexpected keys {extra}"] if extra else [])
        return f"{name}: " + ", ".join(parts)
    for key in expected:
        sub = f"{name[:-1]}[{key!r}]`" if name.endswith("`") else f"{name}[{key!r}]"
        msg = compare(expected[key], actual[key], sub, rtol=rtol, atol=atol)
        if msg:
            return msg
    return None


def compare(expected, actual, name: str, *, rtol: float, atol: float, names=()) -> str | None:
    """``None`` if ``actual`` matches ``expected``, else a message (see the module docstring).

    ``name`` says what is compared (``"the value returned by `f`"``); ``names`` names the
    elements of a returned tuple (``("loss", "dscores")``).
    """
    if isinstance(expected, (tuple, list)):
        return _compare_sequence(expected, actual, name, rtol, atol, names)
    if isinstance(expected, dict):
        return _compare_dict(expected, actual, name, rtol, atol)
    if expected is None or isinstance(expected, (bool, str)):
        if type(actual) is not type(expected) or actual != expected:
            return f"{name} should be {expected!r}, got {describe(actual)}"
        return None
    if isinstance(expected, np.ndarray) and expected.dtype.kind == "b":
        return _compare_bools(expected, actual, name)
    if _numeric(expected):
        return _compare_numeric(expected, actual, name, rtol, atol)
    raise TypeError(f"the grader cannot compare a reference value of type {type(expected).__name__}")
