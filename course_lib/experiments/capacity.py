r"""Capacity vs regularization: two-layer nets on three noisy spirals.

Two sweeps, every net trained the same way (full-batch SGD with momentum, the scratch
:class:`~course_lib.scratch.solver.Solver` with one batch = the whole training set):

1. **size** -- 3, 6 and 20 hidden ReLU units, all with the same weak L2 penalty;
2. **strength** -- the 20-unit net with three stronger L2 penalties
   :math:`\tfrac{\lambda}{2}\sum \|W\|^2` (the nets of one sweep share their initial weights).

For every net the result holds the class probabilities on a grid over the plane (the
decision boundaries), and the accuracy on the training points and on a large test sample
from the same distribution. What to look for: more units fit the training set better and
generalize at least as well; a stronger penalty makes the boundary smoother and closes the
train/test gap, until it is so strong that the net underfits. Shrinking the net is the
wrong knob for controlling overfitting; the penalty is the right one.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from course_lib.data import make_spirals
from course_lib.scratch.model import MLP
from course_lib.scratch.optim import SGD
from course_lib.scratch.solver import History, Solver

__all__ = ["NetResult", "CapacityResult", "run"]


@dataclass(frozen=True, eq=False)
class NetResult:
    hidden: int
    reg: float
    train_acc: float
    test_acc: float
    final_loss: float  # training loss (data + penalty) at the last step
    probs: np.ndarray  # (G, G, C) softmax probabilities on the grid; probs[i, j] is at (grid[j], grid[i])
    history: History

    @property
    def gap(self) -> float:
        """train accuracy - test accuracy."""
        return self.train_acc - self.test_acc

    @property
    def label(self) -> str:
        return f"{self.hidden} hidden, $\\lambda$={self.reg:g}"


@dataclass(frozen=True, eq=False)
class CapacityResult:
    sizes: tuple  # NetResult per hidden size (weak penalty)
    strengths: tuple  # NetResult per penalty (largest hidden size)
    grid: np.ndarray  # (G,) coordinates of the grid along each axis
    x_train: np.ndarray  # (n_train, 2)
    y_train: np.ndarray  # (n_train,)
    x_test: np.ndarray  # (n_test, 2)
    y_test: np.ndarray  # (n_test,)
    config: dict

    @property
    def nets(self) -> tuple:
        return self.sizes + self.strengths

    def table(self) -> str:
        rows = [f"{'hidden':>6} {'lambda':>8} {'train':>6} {'test':>6} {'gap':>6}"]
        for r in self.nets:
            rows.append(f"{r.hidden:>6} {r.reg:>8g} {r.train_acc:>6.1%} {r.test_acc:>6.1%} {r.gap:>+6.1%}")
        return "\n".join(rows)


def run(
    hidden_sizes=(3, 6, 20),
    weak_reg: float = 1e-4,
    regs=(1e-3, 3e-3, 1e-2),
    n_train: int = 120,
    n_test: int = 1500,
    noise: float = 0.4,
    steps: int = 3000,
    lr: float = 1.0,
    momentum: float = 0.9,
    weight_scale: float = 1.0,
    grid_size: int = 150,
    seed: int = 0,
) -> CapacityResult:
    """Train ``len(hidden_sizes) + len(regs)`` nets on one spiral sample; ``regs`` use ``max(hidden_sizes)``."""
    if steps < 1 or grid_size < 2:
        raise ValueError(f"need steps >= 1 and grid_size >= 2, got {steps}, {grid_size}")
    rng = np.random.default_rng(seed)
    x_train, y_train = make_spirals(rng, n_train, classes=3, noise=noise)
    x_test, y_test = make_spirals(rng, n_test, classes=3, noise=noise)
    lim = 1.05 * float(np.max(np.abs(x_train))) + 0.1
    grid = np.linspace(-lim, lim, grid_size)
    gx, gy = np.meshgrid(grid, grid)
    points = np.column_stack([gx.ravel(), gy.ravel()])
    data = {"x_train": x_train, "y_train": y_train, "x_val": x_test, "y_val": y_test}

    def train(hidden: int, reg: float) -> NetResult:
        # the initial weights depend on (seed, hidden) only: the nets of the penalty sweep start identical
        model = MLP([2, hidden, 3], activation="relu", loss="softmax", weight_scale=weight_scale, reg=reg,
                    rng=np.random.default_rng([seed, hidden]))
        solver = Solver(model, data, SGD(lr, momentum=momentum), batch_size=n_train, epochs=steps,
                        eval_every=steps, seed=seed, progress=False)
        history = solver.train()
        scores = model.scores(points)
        scores -= scores.max(axis=1, keepdims=True)
        probs = np.exp(scores)
        probs /= probs.sum(axis=1, keepdims=True)
        return NetResult(
            hidden=hidden, reg=float(reg),
            train_acc=model.accuracy(x_train, y_train), test_acc=model.accuracy(x_test, y_test),
            final_loss=history.loss[-1], probs=probs.reshape(grid_size, grid_size, 3), history=history,
        )

    sizes = tuple(train(h, weak_reg) for h in hidden_sizes)
    strengths = tuple(train(max(hidden_sizes), r) for r in regs)
    return CapacityResult(
        sizes=sizes, strengths=strengths, grid=grid, x_train=x_train, y_train=y_train, x_test=x_test,
        y_test=y_test,
        config=dict(hidden_sizes=tuple(hidden_sizes), weak_reg=weak_reg, regs=tuple(regs), n_train=n_train,
                    n_test=n_test, noise=noise, steps=steps, lr=lr, momentum=momentum,
                    weight_scale=weight_scale, seed=seed),
    )
