r"""Optimizer trajectories on three 2-D surfaces (the slides' pictures; Kingma & Ba 2015).

Seven optimizers of :mod:`course_lib.scratch.optim` start from the same point on each surface:

* ``quadratic`` -- :math:`f(w) = \tfrac12 (w_1^2 + \kappa\, w_2^2)`, Hessian
  :math:`H = \mathrm{diag}(1, \kappa)` with condition number :math:`\kappa = 25`: shallow along
  :math:`w_1`, steep along :math:`w_2` (the slides' "steep vertically, shallow horizontally");
* ``rosenbrock`` -- :math:`f(w) = (1 - w_1)^2 + 100 (w_2 - w_1^2)^2`, a curved narrow valley with
  its minimum at (1, 1);
* ``saddle`` -- :math:`f(w) = \tfrac12 w_1^2 - \tfrac12 w_2^2 + \tfrac14 w_2^4`, a saddle point at 0
  and minima at :math:`(0, \pm 1)`; the start lies almost on the ridge, :math:`w_2 = 10^{-3}`.

Each optimizer has one setting per surface (:data:`SETTINGS`, learning rates picked by hand so
that each path is readable, not tuned to win). The result also holds plain gradient descent on the
quadratic just below and just above the stability limit :math:`\eta = 2/L`, :math:`L = \kappa`.
What must show (asserted in ``tests/test_experiments_optimization.py``): SGD jitters across the
steep direction (the sign of its :math:`w_2` step flips every step) and creeps along the shallow
one without ever passing the minimum; momentum overshoots along the shallow direction; the adaptive
methods take first steps of equal size on both coordinates (per-coordinate scaling); and on the
saddle the adaptive methods escape in fewer steps than momentum, and momentum in fewer than SGD.
Exact arithmetic, no randomness (``seed`` is accepted for the common signature and unused).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from course_lib.scratch import optim

__all__ = ["PathsResult", "SURFACES", "SETTINGS", "LABELS", "run"]

KAPPA = 25.0


def _quad(w):
    return 0.5 * (w[..., 0] ** 2 + KAPPA * w[..., 1] ** 2)


def _quad_grad(w):
    return np.array([w[0], KAPPA * w[1]])


def _rosen(w):
    return (1 - w[..., 0]) ** 2 + 100 * (w[..., 1] - w[..., 0] ** 2) ** 2


def _rosen_grad(w):
    return np.array([-2 * (1 - w[0]) - 400 * w[0] * (w[1] - w[0] ** 2), 200 * (w[1] - w[0] ** 2)])


def _saddle(w):
    return 0.5 * w[..., 0] ** 2 - 0.5 * w[..., 1] ** 2 + 0.25 * w[..., 1] ** 4


def _saddle_grad(w):
    return np.array([w[0], -w[1] + w[1] ** 3])


SURFACES: dict[str, tuple[Callable, Callable, tuple, int, tuple]] = {
    # name: (f, grad f, start, steps, (xlim, ylim) for plots)
    "quadratic": (_quad, _quad_grad, (-4.0, 1.0), 100, ((-4.5, 2.0), (-1.5, 1.5))),
    "rosenbrock": (_rosen, _rosen_grad, (-1.2, 1.0), 1000, ((-1.6, 1.4), (-0.4, 1.6))),
    "saddle": (_saddle, _saddle_grad, (1.0, 1e-3), 100, ((-1.2, 1.2), (-0.6, 1.5))),
}
"""surface -> (f(w) vectorized over (..., 2), gradient of one point (2,), start, steps, plot limits)."""

LABELS = ("SGD", "momentum", "Nesterov", "Adagrad", "RMSProp", "Adadelta", "Adam")

SETTINGS: dict[str, dict[str, optim._Optimizer | optim.SGD]] = {
    "quadratic": {
        "SGD": optim.SGD(0.07), "momentum": optim.Momentum(0.01, 0.9), "Nesterov": optim.Nesterov(0.01, 0.9),
        "Adagrad": optim.Adagrad(1.0), "RMSProp": optim.RMSProp(0.1, alpha=0.9),
        "Adadelta": optim.Adadelta(1.0), "Adam": optim.Adam(0.2),
    },
    "rosenbrock": {
        "SGD": optim.SGD(1e-3), "momentum": optim.Momentum(1e-3, 0.9), "Nesterov": optim.Nesterov(1e-3, 0.9),
        "Adagrad": optim.Adagrad(0.5), "RMSProp": optim.RMSProp(0.01, alpha=0.9),
        "Adadelta": optim.Adadelta(1.0), "Adam": optim.Adam(0.05),
    },
    "saddle": {
        "SGD": optim.SGD(0.1), "momentum": optim.Momentum(0.1, 0.9), "Nesterov": optim.Nesterov(0.1, 0.9),
        "Adagrad": optim.Adagrad(1.0), "RMSProp": optim.RMSProp(0.1, alpha=0.9),
        "Adadelta": optim.Adadelta(1.0), "Adam": optim.Adam(0.2),
    },
}
"""surface -> label -> optimizer (torch's defaults where not given: RMSProp alpha 0.9 is Hinton's)."""


@dataclass(frozen=True, eq=False)
class PathsResult:
    surfaces: tuple  # surface names
    labels: tuple  # optimizer labels
    paths: dict  # (surface, label) -> (steps + 1, 2) iterates
    losses: dict  # (surface, label) -> (steps + 1,) f along the path
    settings: dict  # (surface, label) -> repr of the optimizer
    stable_lr: float  # 2 / L on the quadratic
    edge_paths: dict  # "below" / "above" -> (steps + 1, 2) gradient descent at 0.95 and 1.05 times 2 / L
    escape_radius: float

    def sign_flip_fraction(self, label: str, surface: str = "quadratic", coord: int = 1) -> float:
        """Fraction of consecutive steps whose ``coord`` component changes sign (1 = pure zig-zag)."""
        d = np.diff(self.paths[surface, label][:, coord])
        d = d[np.abs(d) > 1e-12]
        return float(np.mean(d[1:] * d[:-1] < 0)) if len(d) > 1 else 0.0

    def overshoot(self, label: str, surface: str = "quadratic") -> float:
        """How far w_1 passes the minimum 0 on the quadratic (0 if it never does; the start is w_1 < 0)."""
        return float(max(0.0, self.paths[surface, label][:, 0].max()))

    def first_step_ratio(self, label: str, surface: str = "quadratic") -> float:
        """|first step along w_2| / |first step along w_1| (the gradients' ratio for SGD, 1 for adaptive ones)."""
        d = self.paths[surface, label][1] - self.paths[surface, label][0]
        return float(abs(d[1]) / abs(d[0]))

    def escape_step(self, label: str) -> int:
        """First step with |w_2| > escape_radius on the saddle (-1 if never)."""
        out = np.abs(self.paths["saddle", label][:, 1]) > self.escape_radius
        return int(np.argmax(out)) if out.any() else -1

    def final_loss(self, label: str, surface: str) -> float:
        return float(self.losses[surface, label][-1])


def _descend(opt, grad: Callable, start: tuple, steps: int) -> np.ndarray:
    w = np.array(start, dtype=np.float64)
    state, path = opt.init(w), [w]
    for _ in range(steps):
        with np.errstate(over="ignore", invalid="ignore"):
            w, state = opt.step(w, grad(w), state)
        path.append(w)
    return np.array(path)


def run(surfaces: tuple = tuple(SURFACES), labels: tuple = LABELS, escape_radius: float = 0.5,
        seed: int = 0) -> PathsResult:
    """Every optimizer on every surface, from the surface's start, for the surface's number of steps."""
    unknown = [s for s in surfaces if s not in SURFACES] + [lab for lab in labels if lab not in LABELS]
    if unknown:
        raise ValueError(f"optimizer_paths: unknown surfaces or labels {unknown}")
    paths, losses, settings = {}, {}, {}
    for s in surfaces:
        f, grad, start, steps, _ = SURFACES[s]
        for label in labels:
            opt = SETTINGS[s][label]
            p = _descend(opt, grad, start, steps)
            paths[s, label] = p
            with np.errstate(over="ignore", invalid="ignore"):
                losses[s, label] = f(p)
            settings[s, label] = repr(opt)
    stable = 2.0 / KAPPA
    _, grad, start, _, _ = SURFACES["quadratic"]
    edge = {name: _descend(optim.SGD(k * stable), grad, start, 40) for name, k in (("below", 0.95), ("above", 1.05))}
    return PathsResult(surfaces=tuple(surfaces), labels=tuple(labels), paths=paths, losses=losses,
                       settings=settings, stable_lr=stable, edge_paths=edge, escape_radius=escape_radius)
