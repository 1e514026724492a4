r"""Rosenblatt's perceptron and Widrow & Hoff's ADALINE on a separable set and on XOR.

Both learners are single linear units (:mod:`course_lib.scratch.classic`), so both can only
draw a straight line. On a linearly separable set the perceptron stops after a few passes
with no mistake left (Novikoff's theorem guarantees it), and ADALINE's squared error falls to
a small value. On XOR no line exists: the perceptron keeps making mistakes in every pass and
never stops (Minsky & Papert's objection), and the best ADALINE can do is to answer 0.5
everywhere, which costs :math:`\tfrac12 \sum_n (d_n - 0.5)^2 = N/8`.

ADALINE's step size is set from the data: ``lr = lr_fraction * 2 / lambda_max`` where
:math:`\lambda_{\max}` is the largest eigenvalue of :math:`\tilde X^\top \tilde X` (x with a
column of ones); gradient descent on the quadratic loss converges for any fraction below 1.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from course_lib.data import make_linearly_separable, make_xor
from course_lib.gradcheck import numerical_grad
from course_lib.scratch.classic import Adaline, Perceptron

__all__ = ["LearnerResult", "DatasetResult", "ClassicResult", "run", "UnitGradients", "unit_gradients"]


@dataclass(frozen=True, eq=False)
class LearnerResult:
    name: str  # "perceptron" or "adaline"
    curve: np.ndarray  # perceptron: mistakes per epoch; adaline: loss 1/2 sum (d - z)^2 before each epoch's update
    accuracy: float  # fraction of the training points classified correctly at the end
    w: np.ndarray  # (2,) final weights
    b: float  # final bias
    threshold: float  # the unit predicts 1 where w.x + b > threshold (0 for the perceptron, 0.5 for ADALINE)
    converged: bool  # perceptron: an epoch without mistakes happened; adaline: the loss never increased
    grid_pred: np.ndarray  # (G, G) int predictions on the grid; grid_pred[i, j] is at (grid[j], grid[i])


@dataclass(frozen=True, eq=False)
class DatasetResult:
    name: str  # "separable" or "xor"
    x: np.ndarray  # (n, 2)
    y: np.ndarray  # (n,) in {0, 1}
    grid: np.ndarray  # (G,) grid coordinates along each axis
    perceptron: LearnerResult
    adaline: LearnerResult
    adaline_lr: float  # the step size that was used
    adaline_floor: float | None  # the loss of the best constant answer 0.5, N/8, drawn for XOR; None otherwise


@dataclass(frozen=True, eq=False)
class ClassicResult:
    separable: DatasetResult
    xor: DatasetResult
    config: dict

    @property
    def datasets(self) -> tuple:
        return (self.separable, self.xor)

    def table(self) -> str:
        rows = [f"{'data':<10} {'learner':<11} {'epochs':>6} {'last':>8} {'accuracy':>9} {'stopped?':>9}"]
        for d in self.datasets:
            for r in (d.perceptron, d.adaline):
                last = f"{int(r.curve[-1])}" if r.name == "perceptron" else f"{r.curve[-1]:.2f}"
                stop = ("yes" if r.converged else "no") if r.name == "perceptron" else "-"
                rows.append(f"{d.name:<10} {r.name:<11} {len(r.curve):>6} {last:>8} {r.accuracy:>9.0%} {stop:>9}")
        return "\n".join(rows)


def _fit(name, x, y, seed, epochs, lr_fraction, points, grid_size):
    if name == "perceptron":
        model = Perceptron(lr=1.0, epochs=epochs, shuffle=True, rng=np.random.default_rng([seed, 1])).fit(x, y)
        curve = np.asarray(model.errors_, dtype=np.int64)
        threshold, converged, lr = 0.0, bool(model.converged_), 1.0
    else:
        xt = np.column_stack([x, np.ones(len(x))])
        lr = lr_fraction * 2.0 / float(np.linalg.eigvalsh(xt.T @ xt).max())
        model = Adaline(lr=lr, epochs=epochs, threshold=0.5).fit(x, y)
        curve = np.asarray(model.losses_, dtype=np.float64)
        threshold = 0.5
        converged = bool(np.all(np.diff(curve) <= 1e-12 * curve[0]))  # never increased (up to rounding)
    result = LearnerResult(
        name=name, curve=curve, accuracy=float(np.mean(model.predict(x) == y)), w=model.w_.copy(),
        b=float(model.b_), threshold=threshold, converged=converged,
        grid_pred=model.predict(points).reshape(grid_size, grid_size),
    )
    return result, lr


def run(n: int = 100, epochs: int = 50, margin: float = 0.5, xor_noise: float = 0.25, lr_fraction: float = 0.5,
        grid_size: int = 120, seed: int = 0) -> ClassicResult:
    """Fit a perceptron (lr 1, weights from 0, shuffled passes) and ADALINE (full batch) on both sets."""
    rng = np.random.default_rng(seed)
    sets = {
        "separable": make_linearly_separable(rng, n, margin=margin),
        "xor": make_xor(rng, n, noise=xor_noise),
    }
    out = {}
    for name, (x, y) in sets.items():
        lim = float(np.max(np.abs(x))) + 0.3
        grid = np.linspace(-lim, lim, grid_size)
        gx, gy = np.meshgrid(grid, grid)
        points = np.column_stack([gx.ravel(), gy.ravel()])
        perc, _ = _fit("perceptron", x, y, seed, epochs, lr_fraction, points, grid_size)
        ada, lr = _fit("adaline", x, y, seed, epochs, lr_fraction, points, grid_size)
        out[name] = DatasetResult(name=name, x=x, y=y, grid=grid, perceptron=perc, adaline=ada, adaline_lr=lr,
                                  adaline_floor=len(y) / 8 if name == "xor" else None)
    return ClassicResult(
        separable=out["separable"], xor=out["xor"],
        config=dict(n=n, epochs=epochs, margin=margin, xor_noise=xor_noise, lr_fraction=lr_fraction, seed=seed),
    )


@dataclass(frozen=True, eq=False)
class UnitGradients:
    """The squared error of one unit and its numerical gradient, threshold output vs sigmoid."""

    x: np.ndarray  # (n, 3) the inputs with a column of ones (the bias is the third weight)
    d: np.ndarray  # (n,) targets in {0, 1}
    w: np.ndarray  # (3,) the point (w_1, w_2, b) where the gradients are taken
    loss: dict  # {"step" | "sigmoid": E at w}
    grad: dict  # {"step" | "sigmoid": (3,) central-difference gradient of E at w}


def unit_gradients(n: int = 100, margin: float = 0.5, seed: int = 0) -> UnitGradients:
    r"""Why gradient descent needs a differentiable unit.

    :math:`E(w) = \tfrac12 \sum_n (d_n - f(w \cdot x_n + b))^2` on the separable set, at a random
    point, with :math:`f` the threshold :math:`[a > 0]` or the sigmoid. The threshold unit's E
    is flat between the points where one example changes side, so its gradient is zero almost
    everywhere: gradient descent gets no signal. The sigmoid's is not.
    """
    rng = np.random.default_rng(seed)
    x, d = make_linearly_separable(rng, n, margin=margin)
    x1 = np.column_stack([x, np.ones(n)])  # (n, 3): the bias as a third weight
    w = rng.standard_normal(3)
    units = {"step": lambda a: (a > 0).astype(np.float64), "sigmoid": lambda a: 1.0 / (1.0 + np.exp(-a))}
    loss, grad = {}, {}
    for name, f in units.items():
        def error(v, f=f):
            return 0.5 * np.sum((d - f(x1 @ v)) ** 2)

        loss[name] = float(error(w))
        grad[name] = numerical_grad(error, w.copy(), 1.0)
    return UnitGradients(x=x1, d=d, w=w, loss=loss, grad=grad)
