r"""Not an experiment: the slides' gradient-descent loops, written for reading and corrected.

The slides write gradient descent as a ``while`` loop that runs until the step becomes small,
``sum(abs(W - W_old)) > goal``. In their momentum version the line that updates the test sits
AFTER the loop, outside the ``while``: the flag never changes inside it, so the loop never ends.
The functions here put every stopping test inside the loop and add the three usual criteria:

* the gradient norm :math:`\|\nabla f(w)\|_2 <` ``grad_tol`` (a stationary point);
* the relative change of the loss :math:`|f_{t} - f_{t-1}| / \max(|f_{t-1}|, \text{tiny}) <` ``rel_tol``;
* a maximum number of steps ``max_steps`` (always: a loop that may never end is a bug);

plus the slides' own test on the size of the step, :math:`\sum_i |w_i - w^{\text{old}}_i| \le` ``goal``.

:func:`momentum_descent` with ``mu=0`` is :func:`gradient_descent`. Both give exactly the iterates
of :class:`course_lib.scratch.optim.Momentum` (``tests/test_experiments_optimization.py``).
No argument checks: this file is for reading.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

__all__ = ["Descent", "gradient_descent", "momentum_descent"]


@dataclass(frozen=True, eq=False)
class Descent:
    path: np.ndarray  # (steps + 1, D) the iterates w_0, w_1, ...
    reason: str  # which test stopped the loop: "gradient norm", "relative loss change", "step size", "max steps"

    @property
    def steps(self) -> int:
        return len(self.path) - 1


def momentum_descent(grad: Callable, w0: np.ndarray, lr: float, mu: float = 0.9, *,
                     loss: Callable | None = None, goal: float = 0.0,
                     grad_tol: float = 0.0, rel_tol: float = 0.0,
                     max_steps: int = 1000) -> Descent:
    """The slides' loop with momentum, its stopping test moved inside the ``while``."""
    w = np.array(w0, dtype=np.float64)
    v = np.zeros_like(w)
    path = [w]
    f_old = loss(w) if loss is not None else None
    reason = None
    while reason is None:
        gradient = grad(w)
        if np.linalg.norm(gradient) < grad_tol:
            reason = "gradient norm"
            break
        w_old = w
        v = mu * v - lr * gradient
        w = w + v
        path.append(w)
        if np.sum(np.abs(w - w_old)) <= goal:  # the slides' test, now inside the loop
            reason = "step size"
        elif loss is not None:
            f_new = loss(w)
            if abs(f_new - f_old) / max(abs(f_old), 1e-300) < rel_tol:
                reason = "relative loss change"
            f_old = f_new
        if reason is None and len(path) - 1 >= max_steps:
            reason = "max steps"
    return Descent(path=np.array(path), reason=reason)


def gradient_descent(grad: Callable, w0: np.ndarray, lr: float, **stops) -> Descent:
    """Plain gradient descent: the momentum loop with ``mu = 0``."""
    return momentum_descent(grad, w0, lr, mu=0.0, **stops)
