"""Argument checks of the torch twins (the torch side of :mod:`course_lib.checks`).

A twin takes tensors; a NumPy array, a list or a complex or bool tensor given in place of one is a
wrong type and raises ``TypeError`` naming the argument, in the library's message shape
``"<who>: <name> must be <requirement>, got <value>"``, instead of an error deep inside torch.
Hyperparameters go through :mod:`course_lib.checks` (``ValueError`` naming them).
"""

from __future__ import annotations

from typing import Any

import torch

__all__ = ["tensor", "same_shape"]


def tensor(value: Any, name: str, who: str) -> torch.Tensor:
    """``value`` itself, after checking it is a real (integer or floating) ``torch.Tensor``.

    Raises ``TypeError``, e.g. ``"linear: x must be a torch.Tensor (torch.as_tensor(array)), got ndarray"``
    or ``"relu: x must be a real tensor (float or int), got dtype torch.complex128"``.
    """
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"{who}: {name} must be a torch.Tensor (torch.as_tensor(array)), got {type(value).__name__}")
    if value.dtype.is_complex or value.dtype == torch.bool:
        raise TypeError(f"{who}: {name} must be a real tensor (float or int), got dtype {value.dtype}")
    return value


def same_shape(value: torch.Tensor, shape: tuple[int, ...], name: str, who: str, what: str = "") -> torch.Tensor:
    """``value`` itself, after checking its shape is ``shape`` (``ValueError`` naming ``name`` otherwise)."""
    shape = tuple(int(s) for s in shape)
    if tuple(value.shape) != shape:
        raise ValueError(f"{who}: {name} must have shape {shape}{what}, got {tuple(value.shape)}")
    return value
