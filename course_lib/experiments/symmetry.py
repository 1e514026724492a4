r"""Why a constant initialization fails: a layer's units move together and stay identical (the slides' 2-D example).

The data are the four XOR clouds in the plane (:func:`course_lib.data.make_xor`): two lines are
needed to separate the classes, so a net with a few hidden units can do it, *if* its hidden units
learn different lines. A 2-H-2 tanh MLP (:class:`~course_lib.scratch.model.MLP`, softmax loss) is
trained by full-batch gradient descent from three starts:

* ``"constant"``: every weight equal to ``c`` (:func:`course_lib.scratch.init.constant`), as in the
  slides' :math:`(c, c)^\top (x_1, x_2) + 0`;
* ``"zeros"``: every weight 0;
* ``"random"``: Xavier uniform weights.

Why the constant start fails: if all columns of :math:`W_1` are equal, every hidden unit computes
the same :math:`h_j`; if all rows of :math:`W_2` are equal too, every unit receives the same
back-propagated gradient,

.. math::

    \frac{\partial J}{\partial W_{1,ij}} = \sum_n x_{ni}\, \tanh'(z_{nj}) \sum_k \delta_{nk} W_{2,jk},

which does not depend on :math:`j`. The update keeps the columns equal, so by induction they
stay equal forever: the net behaves like a net with ONE hidden unit, one line. With all weights
zero it is worse: :math:`h = \tanh(0) = 0` and :math:`W_2 = 0` block both paths and only the
output bias learns.

In floating point the argument holds only as far as every hidden unit is computed with the same
rounding. A BLAS matrix product works on blocks of columns, and a column in a different block (or
in the tail of a vector register) may be summed in another order or with fused multiply-adds, so
two "identical" units can come out different in their last bits. ``run(..., blas=False)``
computes the net with :func:`matmul_in_order` instead, elementwise products summed in one fixed
order for every entry: identical units then stay identical on any IEEE-754 machine. ``nudge``
moves one weight of the constant start by a tiny amount, to see whether training amplifies such a
difference.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from course_lib.data import make_xor
from course_lib.scratch import init as init_mod
from course_lib.scratch.losses import SoftmaxCrossEntropy
from course_lib.scratch.model import MLP
from course_lib.scratch.optim import SGD

__all__ = ["SymmetryRun", "SymmetryResult", "run", "unit_spread", "matmul_in_order", "loss_in_order", "STARTS"]

STARTS = ("constant", "zeros", "random")


def unit_spread(w: np.ndarray) -> float:
    r"""Largest difference between a column of ``w`` (in, out) and the first column: 0 = all units identical."""
    w = np.asarray(w, dtype=np.float64)
    return float(np.max(np.abs(w - w[:, :1])))


def matmul_in_order(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    r"""The matrix product without BLAS, every entry summed in the same order.

    .. math::

        c_{nj} = \sum_{i} a_{ni}\, b_{ij}

    Shapes: ``a`` (N, K), ``b`` (K, M) -> (N, M). Builds the (N, K, M) array of
    products, so it is meant for small nets only. Two equal columns of ``b`` give
    two bit-for-bit equal columns of the result, which a blocked BLAS product
    does not promise.
    """
    return np.sum(a[:, :, None] * b[None, :, :], axis=1)


def loss_in_order(params: dict, x: np.ndarray, y: np.ndarray) -> tuple[float, dict]:
    r"""Softmax loss of the 2-H-2 tanh net and its gradients, computed with :func:`matmul_in_order`.

    .. math::

        \frac{\partial J}{\partial W_1} = x^\top \Big( \big(\delta\, W_2^\top\big) \odot (1 - h^2) \Big),
        \qquad h = \tanh(x W_1 + b_1),\ \delta = \frac{\partial J}{\partial s}

    Shapes: ``x`` (N, 2), ``y`` (N,), ``params`` as :attr:`MLP.params` (``W1`` (2, H), ``b1``
    (H,), ``W2`` (H, 2), ``b2`` (2,)). Returns ``(loss, grads)`` like :meth:`MLP.loss`.
    """
    h = np.tanh(matmul_in_order(x, params["W1"]) + params["b1"])  # (N, H)
    scores = matmul_in_order(h, params["W2"]) + params["b2"]  # (N, 2)
    loss, cache = SoftmaxCrossEntropy.forward(scores, y)
    (delta,) = SoftmaxCrossEntropy.backward(1.0, cache)  # (N, 2)
    dz1 = matmul_in_order(delta, params["W2"].T) * (1.0 - h * h)  # (N, H)
    grads = {"W1": matmul_in_order(x.T, dz1), "b1": dz1.sum(axis=0),
             "W2": matmul_in_order(h.T, delta), "b2": delta.sum(axis=0)}
    return float(loss), grads


@dataclass(frozen=True, eq=False)
class SymmetryRun:
    start: str
    probe_grad_W1: np.ndarray  # (2, H) dJ/dW1 at step `probe_step`: one column per hidden unit
    grad_spread: float  # largest unit_spread of dJ/dW1 over all steps (0: every unit always got the same gradient)
    grad_norm: float  # largest |dJ/dW1| entry over all steps (shows the gradients were not all zero)
    weight_spread: np.ndarray  # (steps + 1,) unit_spread of W1 before each step and at the end
    final_W1: np.ndarray  # (2, H) hidden unit j draws the line x . W1[:, j] + b1[j] = 0
    final_b1: np.ndarray  # (H,)
    loss: np.ndarray  # (steps,) full-batch loss per step
    accuracy: float  # training accuracy at the end
    probs: np.ndarray  # (G, G) probability of class 1 on the grid (probs[i, j] at (grid[j], grid[i]))


@dataclass(frozen=True, eq=False)
class SymmetryResult:
    runs: dict  # start -> SymmetryRun
    x: np.ndarray  # (n, 2)
    y: np.ndarray  # (n,)
    grid: np.ndarray  # (G,)
    hidden: int
    value: float  # the constant c
    probe_step: int  # the step whose dJ/dW1 is kept in probe_grad_W1
    config: dict

    def table(self) -> str:
        lines = [f"{'start':<10}{'max |dJ/dW1|':>14}{'spread of dJ/dW1':>18}{'spread of W1 at end':>22}"
                 f"{'final loss':>12}{'accuracy':>10}"]
        for s, r in self.runs.items():
            lines.append(f"{s:<10}{r.grad_norm:>14.1e}{r.grad_spread:>18.1e}{r.weight_spread[-1]:>22.1e}"
                         f"{r.loss[-1]:>12.4f}{r.accuracy:>10.1%}")
        return "\n".join(lines)


def _weights(start: str, value: float):
    if start == "constant":
        return lambda g, fi, fo: init_mod.constant(g, fi, fo, value)
    if start == "zeros":
        return "zeros"
    if start == "random":
        return "xavier_uniform"
    raise ValueError(f"symmetry.run: unknown start {start!r}; choose from {STARTS}")


def run(hidden: int = 4, n: int = 200, value: float = 0.5, steps: int = 2000, lr: float = 0.5,
        starts: tuple = STARTS, probe_step: int = 10, grid_size: int = 80, seed: int = 0, blas: bool = True,
        nudge: float = 0.0) -> SymmetryResult:
    """Train the 2-``hidden``-2 tanh net from each start with full-batch gradient descent.

    ``blas=False`` computes losses and gradients with :func:`loss_in_order` (no BLAS); ``nudge``
    is added to the weight ``W1[0, -1]`` of the constant start (0: a perfectly symmetric start).
    """
    if not 0 <= probe_step < steps:
        raise ValueError(f"symmetry.run: probe_step must lie in [0, steps), got {probe_step}")
    rng = np.random.default_rng(seed)
    x, y = make_xor(rng, n)
    grid = np.linspace(-2.2, 2.2, grid_size)
    gx, gy = np.meshgrid(grid, grid)
    points = np.column_stack([gx.ravel(), gy.ravel()])
    opt = SGD(lr)
    runs = {}
    for k, start in enumerate(starts):
        model = MLP([2, hidden, 2], activation="tanh", init=_weights(start, value),
                    rng=np.random.default_rng([seed, k]))
        if start == "constant":
            model.params["W1"][0, -1] += nudge
        loss_fn = model.loss if blas else functools.partial(loss_in_order, model.params)
        states = {name: opt.init(w) for name, w in model.params.items()}
        losses, spread = [], [unit_spread(model.params["W1"])]
        probe, grad_spread, grad_norm = None, 0.0, 0.0
        for t in range(steps):
            loss, grads = loss_fn(x, y)
            grad_spread = max(grad_spread, unit_spread(grads["W1"]))
            grad_norm = max(grad_norm, float(np.max(np.abs(grads["W1"]))))
            if t == probe_step:
                probe = grads["W1"].copy()
            for name in model.params:
                model.params[name], states[name] = opt.step(model.params[name], grads[name], states[name])
            losses.append(loss)
            spread.append(unit_spread(model.params["W1"]))
        scores = model.scores(points)
        p1 = np.exp(scores[:, 1] - np.logaddexp(scores[:, 0], scores[:, 1]))
        runs[start] = SymmetryRun(
            start=start, probe_grad_W1=probe, grad_spread=grad_spread, grad_norm=grad_norm,
            weight_spread=np.array(spread), final_W1=model.params["W1"].copy(), final_b1=model.params["b1"].copy(),
            loss=np.array(losses), accuracy=model.accuracy(x, y), probs=p1.reshape(grid_size, grid_size),
        )
    return SymmetryResult(runs=runs, x=x, y=y, grid=grid, hidden=hidden, value=value, probe_step=probe_step,
                          config=dict(hidden=hidden, n=n, value=value, steps=steps, lr=lr, starts=tuple(starts),
                                      probe_step=probe_step, grid_size=grid_size, seed=seed, blas=blas, nudge=nudge))
