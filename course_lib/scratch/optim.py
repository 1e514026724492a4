r"""Optimizers as pure functions of (parameter, gradient, state).

An optimizer object holds only hyperparameters (torch's names and defaults). For each
parameter array you call::

    state = opt.init(w)                        # once
    w, state = opt.step(w, dw, state, lr=None) # every step; lr overrides opt.lr (schedules)

``step`` never modifies ``w``, ``dw`` or ``state``: it returns new ones. The state is a
frozen dataclass, so "what the optimizer remembers" is explicit and can be printed,
copied or compared. Because the state does not depend on the hyperparameters, a
hyperparameter can change between steps by stepping with a new object, e.g. an annealed
momentum ``Momentum(lr, momentum=mu_at(t)).step(w, dw, state)``
(see :func:`course_lib.scratch.schedules.momentum_annealing`).

The optimizers, all float64, all with the shapes of ``w`` for every state array:

* :class:`SGD` -- exactly ``torch.optim.SGD`` (momentum, Nesterov, L2 weight decay);
* :class:`Momentum`, :class:`Nesterov` -- the slides' velocity forms
  (:math:`v \leftarrow \mu v - \eta g;\ w \leftarrow w + v`), equal to torch's SGD at a
  constant lr only;
* :class:`Adagrad`, :class:`RMSProp` (torch: ``RMSprop``), :class:`Adadelta`, :class:`Adam`,
  :class:`AdamW` -- exactly their ``torch.optim`` namesakes (same update, same place of ``eps``,
  same defaults), except that ``eps`` must be positive here (torch accepts 0, which divides
  by zero on a coordinate whose gradients have all been 0).
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

import numpy as np

from course_lib import checks

__all__ = [
    "SGD",
    "SGDState",
    "Momentum",
    "Nesterov",
    "MomentumState",
    "Adagrad",
    "AdagradState",
    "RMSProp",
    "RMSPropState",
    "Adadelta",
    "AdadeltaState",
    "Adam",
    "AdamW",
    "AdamState",
]


# ----- argument checks (shared with the torch twins) -------------------------------------------
def _check_step_args(w: np.ndarray, dw: np.ndarray, who: str) -> tuple[np.ndarray, np.ndarray]:
    w = checks.float_array(w, "w", f"{who}.step")
    dw = checks.float_array(dw, "dw", f"{who}.step")
    if w.shape != dw.shape:
        raise ValueError(f"{who}.step: gradient shape {dw.shape} does not match parameter shape {w.shape}")
    return w, dw


def _check_real(value: object, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    if math.isinf(value):  # NaN is caught by each range check below, with torch's message
        raise ValueError(f"Invalid {name} value: {name}={value} (must be finite)")
    return float(value)


def _check_lr(lr: float) -> float:
    lr = _check_real(lr, "lr")
    if not lr >= 0.0:  # also rejects nan
        raise ValueError(f"Invalid learning rate: lr={lr} (must be >= 0)")
    return lr


def check_nonnegative(value: float, name: str) -> float:
    """``value`` as a float if it is a real number >= 0, else a ValueError naming ``name``."""
    value = _check_real(value, name)
    if not value >= 0.0:
        raise ValueError(f"Invalid {name} value: {name}={value} (must be >= 0)")
    return value


def check_rate(value: float, name: str) -> float:
    """A decay rate / momentum coefficient: a real number in [0, 1), else a ValueError naming ``name``."""
    value = _check_real(value, name)
    if not 0.0 <= value < 1.0:
        raise ValueError(f"Invalid {name} value: {name}={value} (must be in [0, 1))")
    return value


def check_eps(eps: float) -> float:
    """``eps`` must be a real number > 0 (it keeps a denominator away from 0)."""
    eps = _check_real(eps, "eps")
    if not eps > 0.0:
        raise ValueError(f"Invalid epsilon value: eps={eps} (must be > 0)")
    return eps


def check_betas(betas: tuple[float, float]) -> tuple[float, float]:
    """``betas`` must be a pair of real numbers, each in [0, 1)."""
    if isinstance(betas, (str, bytes)) or not hasattr(betas, "__len__") or len(betas) != 2:
        raise TypeError(f"betas must be a pair (beta1, beta2), got {betas!r}")
    out = []
    for i, b in enumerate(betas):
        b = _check_real(b, f"betas[{i}]")
        if not 0.0 <= b < 1.0:
            raise ValueError(f"Invalid beta parameter at index {i}: betas[{i}]={b} (must be in [0, 1))")
        out.append(b)
    return out[0], out[1]


def _check_state(state: object, cls: type, who: str, shape: tuple[int, ...], **present: bool) -> None:
    """``state`` must be a ``cls`` whose arrays have the parameter's shape; ``present``: which of
    the optional fields must be arrays (the others None), e.g. ``grad_avg=self.centered``."""
    if not isinstance(state, cls):
        raise TypeError(f"{who}.step: state must be a {cls.__name__} (from {who}.init), got {type(state).__name__}")
    for name, value in vars(state).items():
        if isinstance(value, np.ndarray) and value.shape != shape:
            raise ValueError(f"{who}.step: state.{name} has shape {value.shape}, the parameter {shape}")
    for name, wanted in present.items():
        if (getattr(state, name) is not None) != wanted:
            raise ValueError(
                f"{who}.step: state.{name} is {'missing' if wanted else 'unexpected'} for these "
                f"hyperparameters (make the state with this optimizer's init)"
            )


def _zeros(w: np.ndarray) -> np.ndarray:
    return np.zeros(np.shape(w), dtype=np.float64)


class _Optimizer:
    """Shared plumbing: ``lr`` override and a repr listing the hyperparameters."""

    _hyper: tuple[str, ...] = ()
    lr: float

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={getattr(self, k)!r}" for k in self._hyper)
        return f"{type(self).__name__}({args})"

    def _lr(self, lr: float | None) -> float:
        return self.lr if lr is None else _check_lr(lr)


# ----- SGD (torch.optim.SGD) -------------------------------------------------------------------
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
    the lr inside the velocity, :math:`v = \mu v - \eta g;\ w = w + v` (:class:`Momentum`). The
    two agree exactly at a constant lr and differ as soon as the lr changes (a schedule): past
    gradients are scaled by the old lr in one and by the new lr in the other. Weight decay is
    added to the gradient (L2 regularization :math:`\tfrac{\lambda}{2}\|w\|^2`), not decoupled as in AdamW.

    References: Robbins & Monro (1951) for SGD; Polyak (1964) for momentum; Nesterov (1983)
    and Sutskever, Martens, Dahl & Hinton (2013) for the Nesterov form used in deep learning.
    """

    def __init__(self, lr: float, momentum: float = 0.0, nesterov: bool = False, weight_decay: float = 0.0):
        _check_lr(lr)
        check_nonnegative(momentum, "momentum")
        check_nonnegative(weight_decay, "weight_decay")
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


# ----- the slides' momentum forms -----------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class MomentumState:
    velocity: np.ndarray  # (same shape as w) v, zero before the first step; it carries the lr inside
    step: int = 0  # number of steps taken


class Momentum(_Optimizer):
    r"""SGD with momentum in the slides' form: the velocity carries the learning rate (Polyak 1964).

    .. math::

        v_t = \mu\, v_{t-1} - \eta_t\, \nabla f(w_{t-1}), \qquad w_t = w_{t-1} + v_t, \qquad v_0 = 0

    with learning rate :math:`\eta_t` (``lr``) and momentum :math:`\mu` (``momentum``, in [0, 1):
    the "friction" of a ball rolling on the loss surface is :math:`1 - \mu`).

    Shapes: ``w``, ``dw`` and ``state.velocity`` all alike.

    Relation to ``torch.optim.SGD(momentum=mu)`` (:class:`SGD`), which keeps :math:`b = \mu b + g`
    and steps :math:`w \leftarrow w - \eta_t b`: at a constant lr the two produce the same
    iterates, with :math:`v = -\eta b`. When the lr changes, torch rescales the whole buffer
    by the new lr while here each past gradient keeps the lr of its own step, so the
    trajectories differ. With ``momentum=0`` this is plain gradient descent.
    """

    _hyper = ("lr", "momentum")

    def __init__(self, lr: float, momentum: float = 0.9):
        self.lr = _check_lr(lr)
        self.momentum = check_rate(momentum, "momentum")

    def init(self, w: np.ndarray) -> MomentumState:
        """Zero velocity, shaped like ``w``."""
        return MomentumState(velocity=_zeros(w))

    def step(
        self, w: np.ndarray, dw: np.ndarray, state: MomentumState,
        lr: float | None = None,
    ) -> tuple[np.ndarray, MomentumState]:
        """One update; returns ``(w_new, state_new)`` (the arguments are unchanged)."""
        w, dw = _check_step_args(w, dw, type(self).__name__)
        _check_state(state, MomentumState, type(self).__name__, w.shape)
        lr = self._lr(lr)
        v = self.momentum * state.velocity - lr * dw
        return w + v, MomentumState(velocity=v, step=state.step + 1)


class Nesterov(Momentum):
    r"""Nesterov's accelerated gradient (Nesterov 1983) in the slides' "v_prev" form
    (Sutskever, Martens, Dahl & Hinton 2013).

    Nesterov evaluates the gradient at the look-ahead point :math:`w + \mu v`:
    :math:`v_t = \mu v_{t-1} - \eta_t \nabla f(w_{t-1} + \mu v_{t-1})`, :math:`w_t = w_{t-1} + v_t`.
    Storing the look-ahead point :math:`\tilde w = w + \mu v` instead of :math:`w` (what a
    network's parameters then are) makes the gradient an ordinary one, at the stored point:

    .. math::

        v_t = \mu\, v_{t-1} - \eta_t\, \nabla f(\tilde w_{t-1}), \qquad
        \tilde w_t = \tilde w_{t-1} - \mu\, v_{t-1} + (1 + \mu)\, v_t, \qquad v_0 = 0

    i.e. ``v_prev = v; v = mu * v - lr * dw; w += -mu * v_prev + (1 + mu) * v``.

    Shapes: ``w``, ``dw`` and ``state.velocity`` all alike.

    At a constant lr this gives the iterates of ``torch.optim.SGD(momentum=mu, nesterov=True)``
    (:class:`SGD` with ``nesterov=True``), with :math:`v = -\eta b`; with a changing lr they differ,
    as for :class:`Momentum`.
    """

    def step(
        self, w: np.ndarray, dw: np.ndarray, state: MomentumState,
        lr: float | None = None,
    ) -> tuple[np.ndarray, MomentumState]:
        """One update; returns ``(w_new, state_new)`` (the arguments are unchanged)."""
        w, dw = _check_step_args(w, dw, "Nesterov")
        _check_state(state, MomentumState, "Nesterov", w.shape)
        lr = self._lr(lr)
        mu, v_prev = self.momentum, state.velocity
        v = mu * v_prev - lr * dw
        w_new = w - mu * v_prev + (1.0 + mu) * v
        return w_new, MomentumState(velocity=v, step=state.step + 1)


# ----- Adagrad -------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class AdagradState:
    sum: np.ndarray  # (same shape as w) running sum of squared gradients, starts at initial_accumulator_value
    step: int = 0  # number of steps taken


class Adagrad(_Optimizer):
    r"""Adagrad (Duchi, Hazan & Singer 2011), exactly as ``torch.optim.Adagrad``.

    .. math::

        g_t = \nabla f(w_{t-1}) + \lambda w_{t-1}, \quad
        s_t = s_{t-1} + g_t^2, \quad
        w_t = w_{t-1} - \frac{\eta_t}{1 + (t-1)\,\delta}\; \frac{g_t}{\sqrt{s_t} + \epsilon}

    elementwise, with :math:`s_0` = ``initial_accumulator_value``, lr decay :math:`\delta`
    (``lr_decay``), weight decay :math:`\lambda` and ``eps`` :math:`\epsilon` added OUTSIDE the
    square root. Each coordinate gets its own step size, which only shrinks: coordinates with
    large past gradients slow down most, and on long runs every step size goes to 0.

    Shapes: ``w``, ``dw`` and ``state.sum`` all alike.
    """

    _hyper = ("lr", "lr_decay", "weight_decay", "initial_accumulator_value", "eps")

    def __init__(
        self,
        lr: float = 1e-2,
        lr_decay: float = 0.0,
        weight_decay: float = 0.0,
        initial_accumulator_value: float = 0.0,
        eps: float = 1e-10,
    ):
        self.lr = _check_lr(lr)
        self.lr_decay = check_nonnegative(lr_decay, "lr_decay")
        self.weight_decay = check_nonnegative(weight_decay, "weight_decay")
        self.initial_accumulator_value = check_nonnegative(initial_accumulator_value, "initial_accumulator_value")
        self.eps = check_eps(eps)

    def init(self, w: np.ndarray) -> AdagradState:
        """The accumulator filled with ``initial_accumulator_value``, like ``w``."""
        s0 = self.initial_accumulator_value
        return AdagradState(sum=np.full(np.shape(w), s0, dtype=np.float64))

    def step(
        self, w: np.ndarray, dw: np.ndarray, state: AdagradState,
        lr: float | None = None,
    ) -> tuple[np.ndarray, AdagradState]:
        """One update; returns ``(w_new, state_new)`` (the arguments are unchanged)."""
        w, g = _check_step_args(w, dw, "Adagrad")
        _check_state(state, AdagradState, "Adagrad", w.shape)
        t = state.step + 1
        if self.weight_decay != 0:
            g = g + self.weight_decay * w
        clr = self._lr(lr) / (1.0 + (t - 1) * self.lr_decay)
        s = state.sum + g * g
        return w - clr * g / (np.sqrt(s) + self.eps), AdagradState(sum=s, step=t)


# ----- RMSProp ---------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class RMSPropState:
    square_avg: np.ndarray  # (same shape as w) moving average of g^2
    grad_avg: np.ndarray | None = None  # (same shape as w) moving average of g; only when centered
    momentum_buffer: np.ndarray | None = None  # (same shape as w); only when momentum > 0
    step: int = 0  # number of steps taken


class RMSProp(_Optimizer):
    r"""RMSProp (Tieleman & Hinton 2012, lecture 6.5), exactly as ``torch.optim.RMSprop``
    (torch spells it ``RMSprop``).

    .. math::

        g_t = \nabla f(w_{t-1}) + \lambda w_{t-1}, \quad
        s_t = \alpha s_{t-1} + (1 - \alpha)\, g_t^2, \quad
        w_t = w_{t-1} - \eta_t \frac{g_t}{\sqrt{s_t} + \epsilon}

    elementwise, :math:`s_0 = 0`, ``eps`` outside the square root, smoothing :math:`\alpha`
    (``alpha``, torch's default 0.99). Unlike Adagrad the average forgets, so step sizes do
    not shrink for ever. Options, as in torch: ``centered=True`` divides by an estimate of the
    standard deviation instead, :math:`\sqrt{s_t - m_t^2} + \epsilon` with
    :math:`m_t = \alpha m_{t-1} + (1-\alpha) g_t`; ``momentum`` :math:`\mu > 0` keeps
    :math:`b_t = \mu b_{t-1} + g_t / (\sqrt{\cdot} + \epsilon)` and steps :math:`w_t = w_{t-1} - \eta_t b_t`.

    Shapes: ``w``, ``dw`` and every state array alike. There is no bias correction
    (compare :class:`Adam`): the first steps are larger than later ones, by up to
    :math:`1/\sqrt{1-\alpha}`.
    """

    _hyper = ("lr", "alpha", "eps", "weight_decay", "momentum", "centered")

    def __init__(
        self,
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        momentum: float = 0.0,
        centered: bool = False,
    ):
        self.lr = _check_lr(lr)
        self.alpha = check_rate(alpha, "alpha")
        self.eps = check_eps(eps)
        self.weight_decay = check_nonnegative(weight_decay, "weight_decay")
        self.momentum = check_nonnegative(momentum, "momentum")
        self.centered = bool(centered)

    def init(self, w: np.ndarray) -> RMSPropState:
        """Zero averages (and buffer, if used), shaped like ``w``."""
        return RMSPropState(
            square_avg=_zeros(w),
            grad_avg=_zeros(w) if self.centered else None,
            momentum_buffer=_zeros(w) if self.momentum > 0 else None,
        )

    def step(
        self, w: np.ndarray, dw: np.ndarray, state: RMSPropState,
        lr: float | None = None,
    ) -> tuple[np.ndarray, RMSPropState]:
        """One update; returns ``(w_new, state_new)`` (the arguments are unchanged)."""
        w, g = _check_step_args(w, dw, "RMSProp")
        _check_state(state, RMSPropState, "RMSProp", w.shape,
                     grad_avg=self.centered, momentum_buffer=self.momentum > 0)
        lr, a = self._lr(lr), self.alpha
        if self.weight_decay != 0:
            g = g + self.weight_decay * w
        sq = a * state.square_avg + (1.0 - a) * g * g
        m = None
        if self.centered:
            m = a * state.grad_avg + (1.0 - a) * g
            avg = np.sqrt(sq - m * m) + self.eps
        else:
            avg = np.sqrt(sq) + self.eps
        buf = None
        if self.momentum > 0:
            buf = self.momentum * state.momentum_buffer + g / avg
            w_new = w - lr * buf
        else:
            w_new = w - lr * g / avg
        t = state.step + 1
        return w_new, RMSPropState(sq, grad_avg=m, momentum_buffer=buf, step=t)


# ----- Adadelta --------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class AdadeltaState:
    square_avg: np.ndarray  # (same shape as w) moving average of g^2
    acc_delta: np.ndarray  # (same shape as w) moving average of the squared updates
    step: int = 0  # number of steps taken


class Adadelta(_Optimizer):
    r"""Adadelta (Zeiler 2012), exactly as ``torch.optim.Adadelta``.

    .. math::

        g_t &= \nabla f(w_{t-1}) + \lambda w_{t-1}, \qquad
        s_t = \rho s_{t-1} + (1-\rho)\, g_t^2, \\
        \Delta_t &= \frac{\sqrt{u_{t-1} + \epsilon}}{\sqrt{s_t + \epsilon}}\, g_t, \qquad
        u_t = \rho u_{t-1} + (1-\rho)\, \Delta_t^2, \qquad
        w_t = w_{t-1} - \eta_t \Delta_t

    elementwise, :math:`s_0 = u_0 = 0`, ``eps`` INSIDE both square roots. The ratio of RMS
    values gives the update the units of :math:`w` (Zeiler's argument), so the paper has no
    learning rate; torch keeps one as a plain multiplier with default ``lr=1.0``.

    Shapes: ``w``, ``dw`` and both state arrays alike.
    """

    _hyper = ("lr", "rho", "eps", "weight_decay")

    def __init__(self, lr: float = 1.0, rho: float = 0.9, eps: float = 1e-6, weight_decay: float = 0.0):
        self.lr = _check_lr(lr)
        self.rho = check_rate(rho, "rho")
        self.eps = check_eps(eps)
        self.weight_decay = check_nonnegative(weight_decay, "weight_decay")

    def init(self, w: np.ndarray) -> AdadeltaState:
        """Zero averages, shaped like ``w``."""
        return AdadeltaState(square_avg=_zeros(w), acc_delta=_zeros(w))

    def step(
        self, w: np.ndarray, dw: np.ndarray, state: AdadeltaState,
        lr: float | None = None,
    ) -> tuple[np.ndarray, AdadeltaState]:
        """One update; returns ``(w_new, state_new)`` (the arguments are unchanged)."""
        w, g = _check_step_args(w, dw, "Adadelta")
        _check_state(state, AdadeltaState, "Adadelta", w.shape)
        lr, rho, eps = self._lr(lr), self.rho, self.eps
        if self.weight_decay != 0:
            g = g + self.weight_decay * w
        sq = rho * state.square_avg + (1.0 - rho) * g * g
        delta = np.sqrt(state.acc_delta + eps) / np.sqrt(sq + eps) * g
        acc = rho * state.acc_delta + (1.0 - rho) * delta * delta
        return w - lr * delta, AdadeltaState(sq, acc, step=state.step + 1)


# ----- Adam and AdamW ----------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class AdamState:
    exp_avg: np.ndarray  # (same shape as w) first moment m, biased towards 0
    exp_avg_sq: np.ndarray  # (same shape as w) second moment v, biased towards 0
    max_exp_avg_sq: np.ndarray | None = None  # (same shape as w) running max of v; only with amsgrad
    step: int = 0  # number of steps taken


class Adam(_Optimizer):
    r"""Adam (Kingma & Ba 2015), exactly as ``torch.optim.Adam``.

    .. math::

        g_t &= \nabla f(w_{t-1}) + \lambda w_{t-1}, \qquad
        m_t = \beta_1 m_{t-1} + (1-\beta_1)\, g_t, \qquad
        v_t = \beta_2 v_{t-1} + (1-\beta_2)\, g_t^2, \\
        w_t &= w_{t-1} - \frac{\eta_t}{1 - \beta_1^t}\;
        \frac{m_t}{\sqrt{v_t} / \sqrt{1 - \beta_2^t} + \epsilon}

    elementwise, :math:`m_0 = v_0 = 0`, :math:`t = 1, 2, \dots`. The factors
    :math:`1/(1-\beta^t)` undo the bias of averages started at 0 (bias correction). ``eps`` is
    added to the bias-corrected :math:`\sqrt{\hat v_t}`, outside the square root -- torch's
    placement (the paper's Algorithm 1); TensorFlow's "epsilon hat" is added to the
    uncorrected :math:`\sqrt{v_t}` instead, which differs in the first steps. ``weight_decay``
    :math:`\lambda` is L2 added to the gradient, so it too gets divided by :math:`\sqrt{\hat v}`
    (see :class:`AdamW` for the decoupled form). ``amsgrad=True`` (Reddi et al. 2018) divides by
    the running maximum of :math:`v_t` instead.

    Shapes: ``w``, ``dw`` and every state array alike.

    With :math:`\epsilon \to 0` the first step is :math:`-\eta\,\mathrm{sign}(g_1)`: size
    ``lr`` on every coordinate, whatever the scale of the gradient; and the whole trajectory
    is unchanged when all gradients are multiplied by a constant c > 0.
    """

    _hyper = ("lr", "betas", "eps", "weight_decay", "amsgrad")
    _decoupled = False  # AdamW: True

    def __init__(
        self,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        amsgrad: bool = False,
    ):
        self.lr = _check_lr(lr)
        self.betas = check_betas(betas)
        self.eps = check_eps(eps)
        self.weight_decay = check_nonnegative(weight_decay, "weight_decay")
        self.amsgrad = bool(amsgrad)

    def init(self, w: np.ndarray) -> AdamState:
        """Zero moments, shaped like ``w``."""
        v_max = _zeros(w) if self.amsgrad else None
        return AdamState(exp_avg=_zeros(w), exp_avg_sq=_zeros(w), max_exp_avg_sq=v_max)

    def step(
        self, w: np.ndarray, dw: np.ndarray, state: AdamState,
        lr: float | None = None,
    ) -> tuple[np.ndarray, AdamState]:
        """One update; returns ``(w_new, state_new)`` (the arguments are unchanged)."""
        who = type(self).__name__
        w, g = _check_step_args(w, dw, who)
        _check_state(state, AdamState, who, w.shape, max_exp_avg_sq=self.amsgrad)
        lr, (b1, b2), t = self._lr(lr), self.betas, state.step + 1
        if self.weight_decay != 0:
            if self._decoupled:
                w = w * (1.0 - lr * self.weight_decay)
            else:
                g = g + self.weight_decay * w
        m = b1 * state.exp_avg + (1.0 - b1) * g
        v = b2 * state.exp_avg_sq + (1.0 - b2) * g * g
        v_max = np.maximum(state.max_exp_avg_sq, v) if self.amsgrad else None
        step_size = lr / (1.0 - b1**t)
        v_used = v if v_max is None else v_max
        denom = np.sqrt(v_used) / np.sqrt(1.0 - b2**t) + self.eps
        w_new = w - step_size * (m / denom)
        return w_new, AdamState(m, v, max_exp_avg_sq=v_max, step=t)


class AdamW(Adam):
    r"""AdamW, Adam with decoupled weight decay (Loshchilov & Hutter 2019), exactly as ``torch.optim.AdamW``.

    .. math::

        w' = (1 - \eta_t \lambda)\, w_{t-1}, \qquad
        w_t = w' - \frac{\eta_t}{1 - \beta_1^t}\; \frac{m_t}{\sqrt{v_t} / \sqrt{1 - \beta_2^t} + \epsilon}

    with :math:`m_t, v_t` the moments of :class:`Adam` computed from :math:`g_t = \nabla f(w_{t-1})`
    alone (no :math:`\lambda w` term).
    The decay shrinks every weight by the same factor :math:`1 - \eta_t\lambda`, instead of
    passing :math:`\lambda w` through the adaptive division by :math:`\sqrt{\hat v}` as
    ``Adam(weight_decay=...)`` does (where weights with large gradients are barely decayed).
    The decay is scaled by the current lr, as in torch. Default ``weight_decay=1e-2`` (torch's).

    Shapes: ``w``, ``dw`` and every state array alike.
    """

    _decoupled = True

    def __init__(
        self,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        amsgrad: bool = False,
    ):
        super().__init__(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad)
