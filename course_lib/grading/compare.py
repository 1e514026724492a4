"""Compare a student's decoded outputs with the reference's, in the trusted grader.

:func:`compare` returns ``None`` when ``actual`` matches ``expected`` and otherwise a
one-line message for the student, e.g. ``"`dscores` has shape (5,), expected (5, 3)"`` or
``"`dw` differs from the expected value: max abs error 0.031 at index (2, 0) (got 0.1,
expected 0.069)"``.

Rules: tuples/lists must have the same length (element ``i`` is named ``names[i]`` when
given), dicts the same keys, numbers and arrays the same shape and agree under
``numpy.allclose(actual, expected, rtol, atol)``; NaN or infinity where the reference is
finite is reported as such; ``None``/``bool``/``str`` must be equal.
"""

from __future__ import annotations

import numpy as np

__all__ = ["compare", "describe"]


def describe(value) -> str:
    """A short description of a value's type and shape for messages."""
    if value is None:
        return "None"
    if isinstance(value, bool):
        return "a bool"
    if isinstance(value, (int, float)):
        return f"the number {value:.6g}"
    if isinstance(value, np.ndarray):
        return f"an array of shape {tuple(value.shape)}"
    if isinstance(value, tuple):
        return f"a tuple of {len(value)} values"
    if isinstance(value, list):
        return f"a list of {len(value)} values"
    if isinstance(value, dict):
        return f"a dict with keys {sorted(value)}"
    if isinstance(value, str):
        return "a string"
    return type(value).__name__


def _numeric(value) -> bool:
    return (isinstance(value, (int, float)) and not isinstance(value, bool)) or (
        isinstance(value, np.ndarray) and value.dtype.kind in "biuf"
    )


def _compare_numeric(expected, actual, name, rtol, atol):
    e = np.asarray(expected, dtype=np.float64)
    if not _numeric(actual) and not isinstance(actual, (list, tuple, bool)):
        return f"{name} should be {'a number' if e.ndim == 0 else f'an array of shape {e.shape}'}, got {describe(actual)}"
    try:
        a = np.asarray(actual, dtype=np.float64)
    except (TypeError, ValueError):
        return f"{name} should be {'a number' if e.ndim == 0 else 'an array'}, got {describe(actual)}"
    if a.shape != e.shape:
        if e.ndim == 0:
            return f"{name} should be a scalar (shape ()), got an array of shape {a.shape}"
        return f"{name} has shape {a.shape}, expected {e.shape}"
    bad = ~np.isfinite(a) & np.isfinite(e)
    if bad.any():
        hint = "expected finite values: is the computation numerically stable?"
        if e.ndim == 0:
            return f"{name} is {float(a)} ({hint})"
        idx = tuple(int(i) for i in np.argwhere(bad)[0])
        return f"{name} contains {float(a[idx])} at index {idx} ({hint})"
    if np.allclose(a, e, rtol=rtol, atol=atol, equal_nan=True):
        return None
    err = np.abs(a - e)
    err = np.where(np.isnan(err), np.inf, err)
    if e.ndim == 0:
        return f"{name} is {float(a):.8g}, expected {float(e):.8g}"
    idx = tuple(int(i) for i in np.unravel_index(int(np.argmax(err)), err.shape))
    return (
        f"{name} differs from the expected value: max abs error {float(err[idx]):.3g} "
        f"at index {idx} (got {float(a[idx]):.6g}, expected {float(e[idx]):.6g})"
    )


def compare(expected, actual, name: str, *, rtol: float, atol: float, names=()) -> str | None:
    """``None`` if ``actual`` matches ``expected``, else a message (see module docstring)."""
    if isinstance(expected, (tuple, list)):
        if not isinstance(actual, (tuple, list)):
            what = ", ".join(f"`{n}`" for n in names) if names else f"{len(expected)} values"
            return f"{name} should be a tuple of {len(expected)} values ({what}), got {describe(actual)}"
        if len(actual) != len(expected):
            return f"{name} should have {len(expected)} values, got {len(actual)}"
        for i, (e, a) in enumerate(zip(expected, actual)):
            sub = f"`{names[i]}`" if i < len(names) else f"{name}[{i}]"
            msg = compare(e, a, sub, rtol=rtol, atol=atol)
            if msg:
                return msg
        return None
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return f"{name} should be a dict with keys {sorted(expected)}, got {describe(actual)}"
        if set(actual) != set(expected):
            missing, extra = sorted(set(expected) - set(actual)), sorted(set(actual) - set(expected))
            parts = ([f"missing keys {missing}"] if missing else []) + ([f"unexpected keys {extra}"] if extra else [])
            return f"{name}: " + ", ".join(parts)
        for key in expected:
            base = name[:-1] if name.endswith("`") else name
            sub = f"{base}[{key!r}]`" if name.endswith("`") else f"{name}[{key!r}]"
            msg = compare(expected[key], actual[key], sub, rtol=rtol, atol=atol)
            if msg:
                return msg
        return None
    if expected is None or isinstance(expected, (bool, str)):
        if type(actual) is not type(expected) or actual != expected:
            return f"{name} should be {expected!r}, got {describe(actual)}"
        return None
    if _numeric(expected):
        return _compare_numeric(expected, actual, name, rtol, atol)
    return f"{name}: the grader cannot compare values of type {type(expected).__name__}"
