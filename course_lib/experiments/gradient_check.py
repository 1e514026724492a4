r"""How the finite-difference step h decides whether a gradient check can be trusted.

The op under test is the loss of a small linear softmax classifier,
:math:`L(W) = \mathrm{CE}(xW + b, y)` with ``x`` (N, D), ``W`` (D, C), and we compare the
analytic :math:`\partial L/\partial W` (the scratch ops' backward passes, float64) with the
central difference

.. math::

    \frac{L(W + h e_i) - L(W - h e_i)}{2h}

for h from 1e-1 down to 1e-10, with the loss evaluated in float64 and in float32. The
relative error traces a V: on the right (large h) the O(h^2) truncation error of the
formula dominates, on the left (small h) the rounding error of the two loss values,
amplified by 1/h. The bottom of the V sits near :math:`h \approx \varepsilon^{1/3}`
(about 6e-6 in float64, 5e-3 in float32). A backward pass that is off by 1% shows up as a
flat line near 5e-3, far above the float64 V: that gap is what a gradient check detects.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import numpy as np

from course_lib.gradcheck import numerical_grad, rel_error
from course_lib.scratch.linear import Linear
from course_lib.scratch.losses import SoftmaxCrossEntropy

__all__ = ["THRESHOLDS", "verdict", "GradCheckSweep", "run"]

THRESHOLDS: tuple[tuple[float, float, str], ...] = (
    (1e-2, np.inf, "the gradient is probably wrong"),
    (1e-4, 1e-2, "suspicious: look for a bug"),
    (1e-7, 1e-4, "fine only for functions with kinks (ReLU, hinge); too high for smooth ones"),
    (0.0, 1e-7, "good"),
)
"""Rows ``(low, high, meaning)`` for a relative error in ``[low, high)`` (float64, smooth op unless said)."""


def verdict(err: float) -> str:
    """The meaning of a relative error according to :data:`THRESHOLDS`."""
    for low, high, meaning in THRESHOLDS:
        if low <= err < high:
            return meaning
    return THRESHOLDS[0][2]  # nan or inf


def _loss(x: np.ndarray, w: np.ndarray, b: np.ndarray, y: np.ndarray) -> np.floating:
    """Softmax cross-entropy of ``x @ w + b``, computed in the dtype of the arrays (no upcast)."""
    s = x @ w + b
    s = s - s.max(axis=1, keepdims=True)
    return (np.log(np.exp(s).sum(axis=1)) - s[np.arange(len(y)), y]).mean()


@dataclass(frozen=True, eq=False)
class GradCheckSweep:
    hs: np.ndarray  # (K,) the steps h, decreasing
    errors: dict  # {"float64": (K,), "float32": (K,)} rel. error of the numerical vs analytic gradient
    buggy: np.ndarray  # (K,) float64 rel. error against a backward pass scaled by (1 + bug)
    bug: float  # the relative size of the planted bug
    thresholds: tuple = THRESHOLDS

    def best_h(self, dtype: str = "float64") -> float:
        """The step with the smallest relative error."""
        return float(self.hs[int(np.argmin(self.errors[dtype]))])

    def error_at(self, h: float, dtype: str = "float64") -> float:
        """The relative error at the step closest to ``h`` (in log scale)."""
        i = int(np.argmin(np.abs(np.log10(self.hs) - np.log10(h))))
        return float(self.errors[dtype][i])

    def table(self) -> str:
        rows = [f"{'h':>8} {'float64':>9} {'float32':>9} {'1% bug':>9}"]
        for i, h in enumerate(self.hs):
            rows.append(f"{h:>8.0e} {self.errors['float64'][i]:>9.1e} {self.errors['float32'][i]:>9.1e} "
                        f"{self.buggy[i]:>9.1e}")
        return "\n".join(rows)


def run(n: int = 5, d: int = 4, c: int = 3, hs=None, bug: float = 0.01, seed: int = 0) -> GradCheckSweep:
    """Relative error of the central-difference gradient of a softmax classifier's loss vs h.

    ``n, d, c``: examples, features, classes; ``hs``: the steps (default 1e-1 ... 1e-10);
    ``bug``: relative size of the error planted in the "buggy" analytic gradient.
    """
    if min(n, d, c) < 1 or c < 2:
        raise ValueError(f"need n, d >= 1 and c >= 2, got n={n}, d={d}, c={c}")
    hs = 10.0 ** -np.arange(1, 11) if hs is None else np.asarray(hs, dtype=np.float64)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, d))
    w = rng.standard_normal((d, c))
    b = 0.1 * rng.standard_normal(c)
    y = rng.integers(0, c, size=n)

    # analytic gradient: forward through the scratch ops, then their backward passes in reverse
    scores, lin_cache = Linear.forward(x, w, b)
    _, ce_cache = SoftmaxCrossEntropy.forward(scores, y)
    (dscores,) = SoftmaxCrossEntropy.backward(1.0, ce_cache)
    _, dw, _ = Linear.backward(dscores, lin_cache)

    errors = {}
    buggy = np.empty(len(hs))
    for dtype in (np.float64, np.float32):
        xd, wd, bd = x.astype(dtype), w.astype(dtype), b.astype(dtype)
        loss_of_w = partial(_loss, xd, b=bd, y=y)  # L(W), with x and b in this dtype
        errs = np.empty(len(hs))
        for i, h in enumerate(hs):
            num = numerical_grad(loss_of_w, wd, 1.0, h=float(h))
            errs[i] = rel_error(dw, num)
            if dtype is np.float64:
                buggy[i] = rel_error(dw * (1.0 + bug), num)
        errors[np.dtype(dtype).name] = errs
    return GradCheckSweep(hs=hs, errors=errors, buggy=buggy, bug=float(bug))
