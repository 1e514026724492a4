r"""Twin of :mod:`course_lib.scratch.schedules`: the same schedules as ``torch.optim.lr_scheduler`` objects.

Each factory takes the optimizer first; the starting lr :math:`\alpha_0` is the optimizer's
``lr`` (torch's ``base_lrs``), the other arguments are those of the scratch factory. Use them
the torch way, one ``scheduler.step()`` after each ``optimizer.step()``::

    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    sched = step_decay(opt, step_size=10, gamma=0.5)
    for t in range(T):
        ...; opt.step(); sched.step()       # before step t the lr is lr_at(t)

so that the lr used at step t equals ``course_lib.scratch.schedules.step_decay(0.1, 10, 0.5)(t)``.
:func:`momentum_annealing` returns a small scheduler of its own that writes ``group["momentum"]``
(torch has none for momentum outside ``OneCycleLR``/``CyclicLR``).
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch.optim import lr_scheduler

from course_lib.scratch import schedules as _scratch

__all__ = [
    "constant",
    "step_decay",
    "exponential_decay",
    "inverse_time_decay",
    "cosine",
    "linear_warmup",
    "momentum_annealing",
]


def _base_lrs(optimizer: Any, who: str) -> list[float]:
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise TypeError(f"{who}: optimizer must be a torch.optim.Optimizer, got {type(optimizer).__name__}")
    return [float(g.get("initial_lr", g["lr"])) for g in optimizer.param_groups]


def constant(optimizer: torch.optim.Optimizer) -> lr_scheduler.LRScheduler:
    """Twin of `course_lib.scratch.schedules.constant`: ``ConstantLR(factor=1.0, total_iters=0)``, the lr unchanged."""
    for lr0 in _base_lrs(optimizer, "constant"):
        _scratch.constant(lr0)
    return lr_scheduler.ConstantLR(optimizer, factor=1.0, total_iters=0)


def step_decay(optimizer: torch.optim.Optimizer, step_size: int, gamma: float = 0.1) -> lr_scheduler.StepLR:
    r"""Twin of `course_lib.scratch.schedules.step_decay`: ``StepLR(optimizer, step_size, gamma)``,
    :math:`\alpha_0 \gamma^{\lfloor t/s \rfloor}`."""
    for lr0 in _base_lrs(optimizer, "step_decay"):
        _scratch.step_decay(lr0, step_size, gamma)
    return lr_scheduler.StepLR(optimizer, step_size=step_size, gamma=gamma)


def exponential_decay(optimizer: torch.optim.Optimizer, k: float) -> lr_scheduler.ExponentialLR:
    r"""Twin of `course_lib.scratch.schedules.exponential_decay`: ``ExponentialLR(gamma=exp(-k))``,
    :math:`\alpha_0 \gamma^t = \alpha_0 e^{-kt}`."""
    for lr0 in _base_lrs(optimizer, "exponential_decay"):
        _scratch.exponential_decay(lr0, k)
    return lr_scheduler.ExponentialLR(optimizer, gamma=math.exp(-k))


def inverse_time_decay(optimizer: torch.optim.Optimizer, k: float) -> lr_scheduler.LambdaLR:
    r"""Twin of `course_lib.scratch.schedules.inverse_time_decay`: ``LambdaLR`` with the factor
    :math:`1/(1 + kt)` (torch has no class for 1/t decay)."""
    for lr0 in _base_lrs(optimizer, "inverse_time_decay"):
        _scratch.inverse_time_decay(lr0, k)
    k = float(k)
    return lr_scheduler.LambdaLR(optimizer, lr_lambda=lambda t: 1.0 / (1.0 + k * t))


def cosine(optimizer: torch.optim.Optimizer, t_max: int, lr_min: float = 0.0) -> lr_scheduler.CosineAnnealingLR:
    r"""Twin of `course_lib.scratch.schedules.cosine`: ``CosineAnnealingLR(T_max=t_max, eta_min=lr_min)``.

    Equal to the scratch schedule for :math:`t \le t_{\max}`; after it torch's lr follows the
    cosine back up (period :math:`2 t_{\max}`) where the scratch one stays at ``lr_min``.
    """
    for lr0 in _base_lrs(optimizer, "cosine"):
        _scratch.cosine(lr0, t_max, lr_min)
    return lr_scheduler.CosineAnnealingLR(optimizer, T_max=t_max, eta_min=lr_min)


def linear_warmup(
    optimizer: torch.optim.Optimizer, warmup_steps: int, after: lr_scheduler.LRScheduler | None = None
) -> lr_scheduler.LRScheduler:
    r"""Twin of `course_lib.scratch.schedules.linear_warmup`: ``LinearLR`` from ``lr0 / W`` to ``lr0``
    over W = ``warmup_steps`` steps, then ``after`` (a scheduler built on the same optimizer,
    e.g. ``cosine(opt, t_max)``), chained with ``SequentialLR(milestones=[W])``; None holds ``lr0``.
    """
    for lr0 in _base_lrs(optimizer, "linear_warmup"):
        _scratch.linear_warmup(lr0, warmup_steps)
    if after is not None and not isinstance(after, lr_scheduler.LRScheduler):
        raise TypeError(f"linear_warmup: after must be None or an LRScheduler, got {type(after).__name__}")
    if after is not None and after.optimizer is not optimizer:
        raise ValueError("linear_warmup: after must be a scheduler of the same optimizer")
    w = int(warmup_steps)
    warm = lr_scheduler.LinearLR(optimizer, start_factor=1.0 / w, end_factor=1.0, total_iters=w - 1)
    if after is None:
        return warm
    return lr_scheduler.SequentialLR(optimizer, schedulers=[warm, after], milestones=[w])


class _MomentumAnnealing:
    """Writes ``mu_at(t)`` into every param group's ``"momentum"``; ``step()`` advances t."""

    def __init__(self, optimizer: torch.optim.Optimizer, mu_at: Any):
        self.optimizer = optimizer
        self.mu_at = mu_at
        self.last_epoch = 0
        self._apply()

    def _apply(self) -> None:
        mu = self.mu_at(self.last_epoch)
        for group in self.optimizer.param_groups:
            group["momentum"] = mu

    def step(self) -> None:
        self.last_epoch += 1
        self._apply()

    def get_last_momentum(self) -> list[float]:
        return [group["momentum"] for group in self.optimizer.param_groups]

    def __repr__(self) -> str:
        return f"momentum scheduler {self.mu_at!r} at t={self.last_epoch}"


def momentum_annealing(
    optimizer: torch.optim.Optimizer, mu0: float = 0.5, mu_final: float = 0.99, *, steps: int
) -> _MomentumAnnealing:
    r"""Twin of `course_lib.scratch.schedules.momentum_annealing`: a scheduler that sets
    ``group["momentum"]`` to :math:`\mu_0 + (\mu_{\text{final}} - \mu_0)\min(t, S)/S` before step t.

    For optimizers with a ``"momentum"`` hyperparameter (``torch.optim.SGD``, ``RMSprop``,
    :class:`course_lib.torch_impl.optim.Momentum`, ...); call ``step()`` after each optimizer step.
    """
    _base_lrs(optimizer, "momentum_annealing")
    if any("momentum" not in g for g in optimizer.param_groups):
        raise ValueError(f"momentum_annealing: {type(optimizer).__name__} has no 'momentum' hyperparameter")
    return _MomentumAnnealing(optimizer, _scratch.momentum_annealing(mu0, mu_final, steps=steps))
