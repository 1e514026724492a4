r"""Learning-rate (and momentum) schedules: factories returning a callable ``lr_at(t)``.

``t`` is the step index, an integer from 0 (the Solver asks for ``lr_at(t)`` before step t
and passes it to ``optimizer.step(..., lr=lr_at(t))``). Each factory checks its arguments
and returns a small callable object whose ``repr`` shows them::

    lr_at = step_decay(0.1, step_size=10, gamma=0.5)
    lr_at(0), lr_at(9), lr_at(10)      # 0.1, 0.1, 0.05

The slides' decays, with :math:`\alpha_0` = ``lr0``:

* step decay: multiply by ``gamma`` every ``step_size`` steps (e.g. halve every few epochs);
* exponential decay: :math:`\alpha_0 e^{-kt}`;
* 1/t decay: :math:`\alpha_0 / (1 + kt)`;

plus cosine annealing (Loshchilov & Hutter 2017), linear warmup (Goyal et al. 2017) and a
momentum annealing from 0.5 towards 0.99 (the slides; Sutskever et al. 2013). The twin
module :mod:`course_lib.torch_impl.schedules` builds the matching ``torch.optim.lr_scheduler``
objects; every value here equals the lr torch's scheduler sets at the same step (up to rounding),
except :func:`cosine` after ``t_max`` (see there).
"""

from __future__ import annotations

import math
import numbers
from typing import Callable

__all__ = [
    "constant",
    "step_decay",
    "exponential_decay",
    "inverse_time_decay",
    "cosine",
    "linear_warmup",
    "momentum_annealing",
]


def _real(value: object, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    return value


def _nonnegative(value: object, name: str) -> float:
    value = _real(value, name)
    if value < 0:
        raise ValueError(f"{name} must be >= 0, got {value}")
    return value


def _positive_int(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__}")
    if value < 1:
        raise ValueError(f"{name} must be >= 1, got {value}")
    return int(value)


def _rate(value: object, name: str) -> float:
    value = _real(value, name)
    if not 0.0 <= value < 1.0:
        raise ValueError(f"{name} must be in [0, 1), got {value}")
    return value


def _step_index(t: object) -> int:
    if isinstance(t, bool) or not isinstance(t, numbers.Integral):
        raise TypeError(f"the step index t must be an integer, got {type(t).__name__}")
    if t < 0:
        raise ValueError(f"the step index t must be >= 0, got {t}")
    return int(t)


class _Schedule:
    """A callable ``t -> value`` with a readable repr (what the factory was called with)."""

    def __init__(self, fn: Callable[[int], float], text: str):
        self._fn = fn
        self._text = text

    def __call__(self, t: int) -> float:
        return float(self._fn(_step_index(t)))

    def __repr__(self) -> str:
        return self._text


def constant(lr0: float) -> Callable[[int], float]:
    r"""``lr_at(t) = lr0`` for every t (no decay)."""
    lr0 = _nonnegative(lr0, "lr0")
    return _Schedule(lambda t: lr0, f"constant(lr0={lr0})")


def step_decay(lr0: float, step_size: int, gamma: float = 0.1) -> Callable[[int], float]:
    r"""Step decay: :math:`\alpha_t = \alpha_0\, \gamma^{\lfloor t / s \rfloor}`, s = ``step_size``.

    The lr is multiplied by ``gamma`` every ``step_size`` steps (``gamma=0.5``: halve it every few
    epochs, as the slides suggest). Torch: ``StepLR(optimizer, step_size, gamma)``.
    """
    lr0 = _nonnegative(lr0, "lr0")
    step_size = _positive_int(step_size, "step_size")
    gamma = _real(gamma, "gamma")
    if gamma <= 0:
        raise ValueError(f"gamma must be > 0, got {gamma}")
    return _Schedule(
        lambda t: lr0 * gamma ** (t // step_size), f"step_decay(lr0={lr0}, step_size={step_size}, gamma={gamma})"
    )


def exponential_decay(lr0: float, k: float) -> Callable[[int], float]:
    r"""Exponential decay: :math:`\alpha_t = \alpha_0 e^{-kt}` (the slides' form, rate ``k`` >= 0).

    Torch's ``ExponentialLR(optimizer, gamma)`` multiplies by ``gamma`` each step,
    :math:`\alpha_0 \gamma^t`: the same schedule with :math:`\gamma = e^{-k}` (:math:`k = -\ln\gamma`).
    """
    lr0 = _nonnegative(lr0, "lr0")
    k = _nonnegative(k, "k")
    return _Schedule(lambda t: lr0 * math.exp(-k * t), f"exponential_decay(lr0={lr0}, k={k})")


def inverse_time_decay(lr0: float, k: float) -> Callable[[int], float]:
    r"""1/t decay: :math:`\alpha_t = \alpha_0 / (1 + kt)` (rate ``k`` >= 0).

    Decays slowly enough that :math:`\sum_t \alpha_t = \infty` while :math:`\sum_t \alpha_t^2 < \infty`
    (the Robbins-Monro conditions). Torch has no class for it: ``LambdaLR`` with
    ``lambda t: 1 / (1 + k * t)``.
    """
    lr0 = _nonnegative(lr0, "lr0")
    k = _nonnegative(k, "k")
    return _Schedule(lambda t: lr0 / (1.0 + k * t), f"inverse_time_decay(lr0={lr0}, k={k})")


def cosine(lr0: float, t_max: int, lr_min: float = 0.0) -> Callable[[int], float]:
    r"""Cosine annealing (Loshchilov & Hutter 2017), from ``lr0`` at t = 0 to ``lr_min`` at ``t_max``:

    .. math::

        \alpha_t = \alpha_{\min} + \tfrac12 (\alpha_0 - \alpha_{\min})
        \bigl(1 + \cos(\pi \min(t, T) / T)\bigr), \qquad T = t_{\max}

    It stays at ``lr_min`` after ``t_max``. Torch's ``CosineAnnealingLR(optimizer, T_max, eta_min)``
    gives the same values for :math:`t \le T` but keeps following the cosine after it, so its lr
    climbs back to :math:`\alpha_0` at :math:`t = 2T` (a period of :math:`2T`); set ``T_max`` to the
    length of the run to avoid that.
    """
    lr0 = _nonnegative(lr0, "lr0")
    t_max = _positive_int(t_max, "t_max")
    lr_min = _nonnegative(lr_min, "lr_min")
    if lr_min > lr0:
        raise ValueError(f"lr_min must be <= lr0, got lr_min={lr_min} > lr0={lr0}")

    def lr_at(t: int) -> float:
        cos = math.cos(math.pi * min(t, t_max) / t_max)
        return lr_min + (lr0 - lr_min) * (1.0 + cos) / 2.0

    return _Schedule(lr_at, f"cosine(lr0={lr0}, t_max={t_max}, lr_min={lr_min})")


def linear_warmup(
    lr0: float, warmup_steps: int, after: Callable[[int], float] | None = None
) -> Callable[[int], float]:
    r"""Linear warmup (Goyal et al. 2017) to ``lr0`` over ``warmup_steps`` steps, then ``after``:

    .. math::

        \alpha_t = \alpha_0 \frac{t + 1}{W} \quad (t < W), \qquad
        \alpha_t = \mathrm{after}(t - W) \quad (t \ge W), \qquad W = \text{warmup\_steps}

    ``after`` is another schedule, started at its own t = 0 when the warmup ends (build it with
    the same ``lr0``, e.g. ``linear_warmup(0.1, 5, after=cosine(0.1, 95))``); None holds ``lr0``.
    The first lr is ``lr0 / W``, not 0 (a step with lr 0 would be wasted). Torch:
    ``LinearLR(start_factor=1/W, end_factor=1, total_iters=W-1)``, chained to the after-scheduler
    by ``SequentialLR(milestones=[W])``.
    """
    lr0 = _nonnegative(lr0, "lr0")
    warmup_steps = _positive_int(warmup_steps, "warmup_steps")
    if after is not None and not callable(after):
        raise TypeError(f"after must be None or a schedule lr_at(t), got {type(after).__name__}")

    def lr_at(t: int) -> float:
        if t < warmup_steps:
            return lr0 * (t + 1) / warmup_steps
        return lr0 if after is None else after(t - warmup_steps)

    return _Schedule(lr_at, f"linear_warmup(lr0={lr0}, warmup_steps={warmup_steps}, after={after!r})")


def momentum_annealing(mu0: float = 0.5, mu_final: float = 0.99, *, steps: int) -> Callable[[int], float]:
    r"""Momentum annealed linearly from ``mu0`` to ``mu_final`` over ``steps`` steps, then held:

    .. math::

        \mu_t = \mu_0 + (\mu_{\text{final}} - \mu_0) \min(t, S) / S, \qquad S = \text{steps}

    The slides: momentum "usually 0.5, 0.9 or 0.99, sometimes annealed from 0.5 to 0.99";
    Sutskever et al. (2013) raise it in stages towards 0.99-0.999. A small momentum early
    avoids large velocities while the gradients are still big and erratic. Use it with a
    scratch optimizer by stepping with a fresh object (the state does not depend on the
    hyperparameters): ``Momentum(lr, momentum=mu_at(t)).step(w, dw, state)``; in torch, write
    it into ``group["momentum"]`` (:func:`course_lib.torch_impl.schedules.momentum_annealing`).
    """
    mu0 = _rate(mu0, "mu0")
    mu_final = _rate(mu_final, "mu_final")
    steps = _positive_int(steps, "steps")
    return _Schedule(
        lambda t: mu0 + (mu_final - mu0) * min(t, steps) / steps,
        f"momentum_annealing(mu0={mu0}, mu_final={mu_final}, steps={steps})",
    )
