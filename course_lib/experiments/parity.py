r"""Parity of n bits with threshold units: three exact networks and their sizes.

A threshold unit outputs :math:`[\,w \cdot x + b > 0\,]`. Parity is 1 when an odd number of
the n input bits are 1 (the n-bit XOR). Three networks that compute it exactly:

* **one unit per pattern** -- the construction that proves one hidden layer can compute any
  Boolean function: a hidden unit for every input pattern on which the function is 1, firing
  on that pattern only (weights :math:`2p - 1`, bias :math:`\tfrac12 - |p|`), and an output
  unit that ORs them. Parity is 1 on half of all patterns: :math:`2^{n-1}` hidden units.
* **counting** -- one hidden layer that uses its weights: unit k fires when at least k bits
  are on, and the output adds the units with alternating signs: n hidden units.
* **deep chain** -- two-input XORs in a chain, each of three threshold units (OR, AND, and
  "OR but not AND"): :math:`3(n-1)` units in :math:`2(n-1)` layers.

``run`` builds all three for every n, evaluates them on all :math:`2^n` inputs and counts
the threshold units (the output unit included): :math:`2^{n-1} + 1`, :math:`n + 1` and
:math:`3(n-1)`.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["ParityResult", "all_inputs", "counting_parity", "deep_parity", "parity", "pattern_parity", "run",
           "step"]


def step(a: np.ndarray) -> np.ndarray:
    """The threshold unit's nonlinearity: 1.0 where ``a > 0``, else 0.0."""
    return (a > 0).astype(np.float64)


def all_inputs(n: int) -> np.ndarray:
    """Every n-bit input, (2^n, n) float64 of 0/1, in counting order."""
    codes = np.arange(2**n)[:, None]
    return ((codes >> np.arange(n - 1, -1, -1)) & 1).astype(np.float64)


def parity(x: np.ndarray) -> np.ndarray:
    """1.0 where a row of ``x`` (N, n) holds an odd number of ones."""
    return (x.sum(axis=1) % 2).astype(np.float64)


def pattern_parity(x: np.ndarray) -> tuple[np.ndarray, int]:
    """One hidden unit per odd pattern, then an OR; returns ``(output (N,), units)``."""
    n = x.shape[1]
    patterns = all_inputs(n)
    patterns = patterns[parity(patterns) == 1]  # (2^(n-1), n): one hidden unit per odd pattern
    w = 2 * patterns.T - 1  # (n, 2^(n-1)): +1 where the pattern has a 1, -1 where it has a 0
    b = 0.5 - patterns.sum(axis=1)  # unit k fires only on pattern k
    hidden = step(x @ w + b)  # (N, 2^(n-1)): at most one unit fires
    out = step(hidden.sum(axis=1) - 0.5)  # OR of the hidden units
    return out, w.shape[1] + 1  # the hidden units and the output unit


def counting_parity(x: np.ndarray) -> tuple[np.ndarray, int]:
    """One hidden layer of n counting units; returns ``(output (N,), units)``."""
    n = x.shape[1]
    k = np.arange(1, n + 1)
    hidden = step(x.sum(axis=1, keepdims=True) - k + 0.5)  # (N, n): unit k fires if >= k ones
    signs = (-1.0) ** (k + 1)  # +1, -1, +1, ...: the sum is 1 for an odd count, else 0
    return step(hidden @ signs - 0.5), n + 1


def _xor_gate(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """XOR of two bit vectors with three threshold units."""
    h_or = step(a + b - 0.5)
    h_and = step(a + b - 1.5)
    return step(h_or - h_and - 0.5)


def deep_parity(x: np.ndarray) -> tuple[np.ndarray, int]:
    """Parity by a chain of XOR gates; returns ``(output (N,), units)``."""
    out = x[:, 0]
    for i in range(1, x.shape[1]):
        out = _xor_gate(out, x[:, i])
    return out, 3 * (x.shape[1] - 1)


@dataclass(frozen=True, eq=False)
class ParityResult:
    ns: tuple  # the input sizes n
    units: dict  # {"pattern" | "counting" | "deep": (units per n)}: threshold units, output included
    correct: dict  # {name: (bool per n)}: right on all 2^n inputs

    def table(self) -> str:
        rows = [f"{'n':>3} {'one unit per pattern':>21} {'counting':>9} {'deep chain':>11}   all right"]
        for i, n in enumerate(self.ns):
            ok = all(self.correct[name][i] for name in self.correct)
            units = [self.units[name][i] for name in ("pattern", "counting", "deep")]
            rows.append(f"{n:>3} {units[0]:>21} {units[1]:>9} {units[2]:>11}   {ok}")
        return "\n".join(rows)


NETS = {"pattern": pattern_parity, "counting": counting_parity, "deep": deep_parity}


def run(ns=range(2, 11)) -> ParityResult:
    """Build the three nets for every n in ``ns``, check them on every input (deterministic)."""
    ns = tuple(ns)
    if min(ns) < 2:
        raise ValueError(f"parity needs n >= 2 bits, got {ns}")
    units = {name: [] for name in NETS}
    correct = {name: [] for name in NETS}
    for n in ns:
        x = all_inputs(n)
        for name, net in NETS.items():
            out, count = net(x)
            units[name].append(count)
            correct[name].append(bool(np.array_equal(out, parity(x))))
    return ParityResult(
        ns=ns,
        units={k: tuple(v) for k, v in units.items()},
        correct={k: tuple(v) for k, v in correct.items()},
    )
