r"""Optimizers as pure functions of (parameter, gradient, state).

An optimizer object holds only hyperparameters (torch's names and defaults). For each
parameter array you call::

    state = opt.init(w)                        # once
    w, state = opt.step(w, dw, state, lr=None) # every step; lr overrides opt.lr (schedules)

``step`` never modifies ``w``, ``dw`` or ``state``: it returns new ones. The state is a
frozen dataclass, so "what the optimizer remembers" is explicit and can be printed,
copied or compared.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["SGD", "SGDState"]


def _check_step_args(w: np.ndarray, dw: np.ndarray, who: str) -> tuple[np.ndarray, np.ndarray]:
    w = np.asarray(w, dtype=np.float64)
    dw = np.asarray(dw, dtype=np.float64)
    if w.shape != dw.shape:
        raise ValueError(f"{who}.step: gradient shape {dw.shape} does not match parameter shape {w.shape}")
    return w, dw


def _check_lr(lr: float) -> float:
    if not lr >= 0.0:  # also rejects nan
        raise ValueError(f"Invalid learning rate: {lr}")
    return float(lr)


@dataclass(frozen=True, eq=False)
class SGDState:
    momentum_buffer: np.ndarray | None = None  # (same shape as w); None before the first step or without momentum
    step: int = 0  # number of steps taken


class SGD:
    r"""Stochastic gradient descent with optional (Nesterov) momentum and L2 weight decay,
    exactly as ``torch.optim.SGD`` (with ``dampening=0``).

    .. math::

        g_t = \nabla f(w_{t-1}) + \lambda w_{t-1}, \quad
        b_t = \mu b_{t-1} + g_t \;(b_1 = g_1), \quad
        w_t = w_{t-1} - \eta_t \,\begin{cases} b_t & \text{momentum} \\ g_t + \mu b_t & \text{Nesterov} \end{cases}

    with learning rate :math:`\eta_t` (``lr``), momentum :math:`\mu` (``momentum``) and
    weight decay :math:`\lambda` (``weight_decay``); without momentum :math:`w_t = w_{t-1} - \eta_t g_t`.

    Shapes: ``w`` and ``dw`` any shape (the same); ``state.momentum_buffer`` like ``w``.

    PyTorch convention vs the slides: torch accumulates the raw gradient, :math:`b = \mu b + g`,
    and multiplies by the CURRENT lr at the step. The slides (and Sutskever et al. 2013) put
    the lr inside the velocity, :math:`v = \mu v - \eta g;\ w = w + v`. The two agree exactly at a
    constant lr and differ as soon as the lr changes (a schedule): past gradients are scaled
    by the old lr in one and by the new lr in the other. Weight decay is added to the gradient
    (L2 regularization :math:`\tfrac{\lambda}{2}\|w\|^2`), not decoupled as in AdamW.

    References: Robbins & Monro (1951) for SGD; Polyak (1964) for momentum; Sutskever,
    Martens, Dahl & Hinton (2013) for the Nesterov form used in deep learning.
    """

    def __init__(self, lr: float, momentum: float = 0.0, nesterov: bool = False, weight_decay: float = 0.0):
        _check_lr(lr)
        if not momentum >= 0.0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if not weight_decay >= 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if nesterov and momentum <= 0:
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        self.lr = float(lr)
        self.momentum = float(momentum)
        self.nesterov = bool(nesterov)
        self.weight_decay = float(weight_decay)

    def __repr__(self) -> str:
        return (
            f"SGD(lr={self.lr}, momentum={self.momentum}, nesterov={self.nesterov}, "
            f"weight_decay={self.weight_decay})"
        )

    def init(self, w: np.ndarray) -> SGDState:
        """Fresh state for a parameter ``w`` (the momentum buffer is created at the first step)."""
        return SGDState()

    def step(
        self, w: np.ndarray, dw: np.ndarray, state: SGDState, lr: float | None = None
    ) -> tuple[np.ndarray, SGDState]:
        """One update; returns ``(w_new, state_new)`` (the arguments are unchanged)."""
        w, dw = _check_step_args(w, dw, "SGD")
        lr = self.lr if lr is None else _check_lr(lr)
        g = dw + self.weight_decay * w if self.weight_decay != 0 else dw
        buf = state.momentum_buffer
        if self.momentum != 0:
            buf = g.copy() if buf is None else self.momentum * buf + g
            g = g + self.momentum * buf if self.nesterov else buf
        return w - lr * g, SGDState(momentum_buffer=buf, step=state.step + 1)
