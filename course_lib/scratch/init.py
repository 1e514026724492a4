r"""Weight initializers: ``init(rng, fan_in, fan_out, ...) -> W`` of shape (fan_in, fan_out).

Every initializer takes the random generator explicitly (an ``np.random.Generator``), even
those that draw nothing (``zeros``, ``constant``), so that all of them are called the same
way and there is never a hidden global RNG. The layout (fan_in, fan_out) matches
:class:`course_lib.scratch.linear.Linear` (``x @ W``); torch stores the transpose.

Why the scale matters: the std of a layer's output is about
:math:`\sqrt{\text{fan\_in}}\,\sigma_W` times the std of its input, so a fixed small std
(``small_random``) makes activations shrink geometrically with depth, and a constant
(including zero) makes every unit of a layer compute the same thing forever: the
gradients of identical units are identical, so gradient descent never breaks the symmetry.
"""

from __future__ import annotations

import numpy as np

__all__ = ["small_random", "zeros", "constant"]


def _check(rng: np.random.Generator, fan_in: int, fan_out: int, who: str) -> tuple[int, int]:
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"{who}: rng must be an np.random.Generator (np.random.default_rng(seed)), got {type(rng).__name__}")
    for name, value in (("fan_in", fan_in), ("fan_out", fan_out)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{who}: {name} must be a positive integer, got {value!r}")
    return int(fan_in), int(fan_out)


def small_random(rng: np.random.Generator, fan_in: int, fan_out: int, std: float = 0.01) -> np.ndarray:
    r"""Gaussian weights with a small fixed standard deviation (the slides' "small random numbers").

    .. math::

        W_{ij} \sim \mathcal{N}(0, \mathrm{std}^2), \qquad W \in \mathbb{R}^{\text{fan\_in} \times \text{fan\_out}}

    Fine for shallow nets; in deep nets the activations collapse toward zero layer after
    layer (Glorot & Bengio 2010, He et al. 2015).
    Returns float64 (fan_in, fan_out). Twin of ``torch.nn.init.normal_(w, 0, std)``.
    """
    fan_in, fan_out = _check(rng, fan_in, fan_out, "small_random")
    if not (np.isfinite(std) and std >= 0):
        raise ValueError(f"small_random: std must be a finite number >= 0, got {std}")
    return rng.normal(0.0, std, size=(fan_in, fan_out))


def zeros(rng: np.random.Generator, fan_in: int, fan_out: int) -> np.ndarray:
    r"""All-zero weights, :math:`W = 0` (``rng`` is accepted for a uniform signature, unused).

    In a net with hidden layers this is the symmetric start that never trains: all hidden
    units stay identical. Returns float64 (fan_in, fan_out).
    """
    fan_in, fan_out = _check(rng, fan_in, fan_out, "zeros")
    return np.zeros((fan_in, fan_out))


def constant(rng: np.random.Generator, fan_in: int, fan_out: int, value: float) -> np.ndarray:
    r"""Every weight equal to ``value``, :math:`W_{ij} = c` (``rng`` unused, see :func:`zeros`).

    Also symmetric: the units of a layer receive identical gradients and stay identical.
    Returns float64 (fan_in, fan_out).
    """
    fan_in, fan_out = _check(rng, fan_in, fan_out, "constant")
    if not np.isfinite(value):
        raise ValueError(f"constant: value must be finite, got {value}")
    return np.full((fan_in, fan_out), float(value))
