"""Safe, pickle-free transport of values between the grader and the sandbox.

The sandboxed child process (which runs student code) sends back the raw values the
student's function returned; the trusted parent decodes them and compares them with
the reference.  Unpickling data that untrusted code produced would let that code run
arbitrary code in the grader, so values travel as plain JSON instead:

========================  ==============================================================
Python value              JSON form
========================  ==============================================================
``None``                  ``{"t": "none"}``
``bool`` / ``np.bool_``   ``{"t": "bool", "v": true}``
``int`` / ``np.integer``  ``{"t": "int", "v": 3}``
``float`` / ``np.floating`` ``{"t": "float", "v": 0.5}`` (``"nan"``, ``"inf"``, ``"-inf"`` as strings)
``str``                   ``{"t": "str", "v": "..."}``
``np.ndarray`` (numeric)  ``{"t": "array", "dtype": "f"|"i"|"b", "shape": [...], "data": [...]}``
``tuple`` / ``list``      ``{"t": "tuple"|"list", "items": [...]}``
``dict`` (str keys)       ``{"t": "dict", "items": {"key": ...}}``
:class:`Expr`             ``{"t": "expr", "src": "lambda x: ..."}`` (checks -> child only)
========================  ==============================================================

Floats are written with ``repr`` precision, so a round trip is exact.  Anything else
(objects, complex numbers, object arrays, huge outputs) raises :class:`CodecError` with a
message meant for the student.

This module is loaded by the sandbox child by file path, so it must import nothing but
the standard library and NumPy.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["CodecError", "Expr", "encode", "decode", "MAX_ELEMENTS", "MAX_DEPTH"]

MAX_ELEMENTS = 2_000_000
"""Largest number of scalars one encoded value may hold (keeps results small)."""

MAX_DEPTH = 12
"""Deepest nesting of tuples/lists/dicts accepted."""

MAX_STR = 10_000


class CodecError(ValueError):
    """A value cannot be sent between the sandbox and the grader."""


class Expr:
    """A Python expression, evaluated in the process that calls the function.

    Check files use it for arguments that cannot travel as data, e.g. the scalar
    function handed to ``numerical_gradient``: ``Expr("lambda x: np.sum(x ** 3)")``.
    The source is trusted (it comes from the checks file, never from a submission);
    it is evaluated with ``np`` and ``math`` in scope.
    """

    __slots__ = ("src",)

    def __init__(self, src: str):
        self.src = str(src)

    def __repr__(self) -> str:
        return f"Expr({self.src!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Expr) and other.src == self.src

    def __hash__(self) -> int:
        return hash(self.src)


def _float_to_json(v: float):
    if math.isnan(v):
        return "nan"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    return v


def _float_from_json(v) -> float:
    if isinstance(v, str):
        if v in ("nan", "inf", "-inf"):
            return float(v)
        raise CodecError(f"bad float {v!r}")
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise CodecError(f"bad float {v!r}")
    return float(v)


def _type_name(value) -> str:
    try:
        return type(value).__name__
    except BaseException:  # pragma: no cover - defensive
        return "object"


def encode(value, *, _depth: int = 0, _budget: list | None = None):
    """Encode ``value`` into JSON-compatible data (see the module docstring)."""
    if _budget is None:
        _budget = [MAX_ELEMENTS]
    if _depth > MAX_DEPTH:
        raise CodecError("the value is nested too deeply")
    _budget[0] -= 1
    if _budget[0] < 0:
        raise CodecError("the value is too large for the grader")
    # Exact type checks (not isinstance) so that subclasses with odd behaviour are refused
    # or converted explicitly rather than trusted.
    t = type(value)
    if value is None:
        return {"t": "none"}
    if t is bool or t is np.bool_:
        return {"t": "bool", "v": bool(value)}
    if t is int or isinstance(value, np.integer):
        return {"t": "int", "v": int(value)}
    if t is float or isinstance(value, np.floating):
        return {"t": "float", "v": _float_to_json(float(value))}
    if t is str:
        if len(value) > MAX_STR:
            raise CodecError("a returned string is too long")
        return {"t": "str", "v": str(value)}
    if t is Expr:
        return {"t": "expr", "src": value.src}
    if isinstance(value, np.ndarray):
        arr = np.asarray(value)
        kind = arr.dtype.kind
        if arr.size > _budget[0]:
            raise CodecError(f"an array with {arr.size} elements is too large for the grader")
        _budget[0] -= arr.size
        if kind == "f":
            data = [_float_to_json(float(v)) for v in arr.astype(np.float64).ravel().tolist()]
            code = "f"
        elif kind in "iu":
            data = [int(v) for v in arr.ravel().tolist()]
            code = "i"
        elif kind == "b":
            data = [bool(v) for v in arr.ravel().tolist()]
            code = "b"
        else:
            raise CodecError(
                f"an array of dtype {arr.dtype} cannot be graded (use a float, int or bool array)"
            )
        return {"t": "array", "dtype": code, "shape": [int(s) for s in arr.shape], "data": data}
    if t is tuple or t is list:
        return {
            "t": "tuple" if t is tuple else "list",
            "items": [encode(v, _depth=_depth + 1, _budget=_budget) for v in value],
        }
    if t is dict:
        items = {}
        for k, v in value.items():
            if type(k) is not str:
                raise CodecError(f"dictionary keys must be strings, got {_type_name(k)}")
            items[str(k)] = encode(v, _depth=_depth + 1, _budget=_budget)
        return {"t": "dict", "items": items}
    raise CodecError(
        f"an object of type {_type_name(value)} cannot be graded "
        "(return numbers, numpy arrays, tuples, lists or dicts)"
    )


def decode(obj, *, expr_namespace: dict | None = None, _depth: int = 0):
    """Decode data produced by :func:`encode`, validating it strictly.

    ``{"t": "expr"}`` entries become callables evaluated in ``expr_namespace`` when one
    is given, and :class:`Expr` placeholders otherwise.  Malformed input raises
    :class:`CodecError` (the parent treats that as a tampered or broken result).
    """
    if _depth > MAX_DEPTH + 1:
        raise CodecError("nested too deeply")
    if not isinstance(obj, dict) or not isinstance(obj.get("t"), str):
        raise CodecError("malformed value")
    t = obj["t"]
    if t == "none":
        return None
    if t == "bool":
        if not isinstance(obj.get("v"), bool):
            raise CodecError("malformed bool")
        return obj["v"]
    if t == "int":
        v = obj.get("v")
        if isinstance(v, bool) or not isinstance(v, int):
            raise CodecError("malformed int")
        return v
    if t == "float":
        return _float_from_json(obj.get("v"))
    if t == "str":
        if not isinstance(obj.get("v"), str):
            raise CodecError("malformed str")
        return obj["v"]
    if t == "expr":
        src = obj.get("src")
        if not isinstance(src, str):
            raise CodecError("malformed expr")
        if expr_namespace is None:
            return Expr(src)
        return eval(src, dict(expr_namespace))  # noqa: S307 - trusted checks-file source
    if t == "array":
        shape, data, code = obj.get("shape"), obj.get("data"), obj.get("dtype")
        if not isinstance(shape, list) or not all(
            isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in shape
        ):
            raise CodecError("malformed array shape")
        if not isinstance(data, list) or len(data) != math.prod(shape):
            raise CodecError("malformed array data")
        if code == "f":
            arr = np.array([_float_from_json(v) for v in data], dtype=np.float64)
        elif code == "i":
            if not all(isinstance(v, int) and not isinstance(v, bool) for v in data):
                raise CodecError("malformed int array")
            arr = np.array(data, dtype=np.int64) if data else np.zeros(0, dtype=np.int64)
        elif code == "b":
            if not all(isinstance(v, bool) for v in data):
                raise CodecError("malformed bool array")
            arr = np.array(data, dtype=bool) if data else np.zeros(0, dtype=bool)
        else:
            raise CodecError("malformed array dtype")
        return arr.reshape(shape)
    if t in ("tuple", "list"):
        items = obj.get("items")
        if not isinstance(items, list):
            raise CodecError("malformed sequence")
        vals = [decode(v, expr_namespace=expr_namespace, _depth=_depth + 1) for v in items]
        return tuple(vals) if t == "tuple" else vals
    if t == "dict":
        items = obj.get("items")
        if not isinstance(items, dict):
            raise CodecError("malformed dict")
        return {
            str(k): decode(v, expr_namespace=expr_namespace, _depth=_depth + 1)
            for k, v in items.items()
        }
    raise CodecError(f"unknown value type {t!r}")
