r"""Why non-zero-centred inputs make gradient descent zig-zag: a unit with two weights.

A unit computes :math:`z = w_1 x_1 + w_2 x_2` and is trained on the squared error
:math:`L = \tfrac{1}{2}(z - y)^2`. For one example the gradient is

.. math::

    \nabla_w L = (z - y)\, x ,

the input times ONE number. If every input is positive (the outputs of sigmoid or ReLU units
below), :math:`\nabla_w L` lies in the all-positive or the all-negative quadrant: both weights
go up together or down together. A solution that needs :math:`w_1` up and :math:`w_2` down
(here :math:`w^\star = (1, -1)` from :math:`w = (0, 0)`) is reached only by alternating
up-right and down-left steps: a zig-zag.

The inputs are the outputs of sigmoid units, :math:`x = \sigma(u)` with :math:`u \sim \mathcal{N}(0, I)`
(all in (0, 1), mean 0.5), against the SAME inputs centred, :math:`x - \bar x`. Targets are
noise-free, :math:`y = x \cdot w^\star`, so both problems have the exact minimum :math:`w^\star`.
The experiment measures

* the fraction of per-example gradients whose two components share a sign (at the start);
* SGD with one example per step at a common learning rate: the path, its length compared with
  the straight line, and the fraction of steps that point into the (+,+) or (-,-) quadrant;
* full-batch gradient descent, each problem at its own best step size
  :math:`2 / (\lambda_\min + \lambda_\max)` of the Hessian :math:`H = \tfrac1N X^\top X`: the number of
  steps to get within ``tol`` of :math:`w^\star`. Positive inputs add :math:`\bar x \bar x^\top` to
  :math:`H`, a large eigenvalue along (1, 1), so its condition number grows and the steps with it.

Pure NumPy; seeded.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["ZigzagCase", "ZigzagResult", "run"]

W_STAR = np.array([1.0, -1.0])


@dataclass(frozen=True, eq=False)
class ZigzagCase:
    name: str  # "positive inputs" or "centred inputs"
    x: np.ndarray  # (N, 2) the inputs
    same_sign_fraction: float  # per-example gradients at w0 with g1 * g2 > 0
    sgd_path: np.ndarray  # (steps + 1, 2) SGD weights, one example per step
    sgd_steps_to_tol: int  # first SGD step within tol of w*, or -1
    sgd_path_length: float  # sum of step lengths until then (or over all steps)
    sgd_same_quadrant: float  # fraction of those SGD steps with both components of the same sign
    hessian_eigenvalues: np.ndarray  # (2,) of H = X^T X / N, ascending
    gd_lr: float  # 2 / (lambda_min + lambda_max), the best fixed step for full-batch GD
    gd_path: np.ndarray  # (k + 1, 2) full-batch GD weights at gd_lr
    gd_steps_to_tol: int  # first GD step within tol of w*, or -1

    @property
    def condition_number(self) -> float:
        return float(self.hessian_eigenvalues[-1] / self.hessian_eigenvalues[0])

    @property
    def straight_distance(self) -> float:
        return float(np.linalg.norm(W_STAR - self.sgd_path[0]))

    @property
    def path_ratio(self) -> float:
        """SGD path length divided by the straight-line distance from start to optimum."""
        return self.sgd_path_length / self.straight_distance


@dataclass(frozen=True, eq=False)
class ZigzagResult:
    positive: ZigzagCase
    centred: ZigzagCase
    w_star: np.ndarray  # (2,)
    config: dict

    @property
    def cases(self) -> tuple[ZigzagCase, ZigzagCase]:
        return (self.positive, self.centred)

    def loss_grid(self, case: ZigzagCase, num: int = 121, margin: float = 0.6):
        """(W1, W2, loss): the mean squared error on a grid around the start (0, 0) and w*, for contours."""
        lo, hi = np.minimum(0.0, self.w_star) - margin, np.maximum(0.0, self.w_star) + margin
        w1, w2 = np.meshgrid(np.linspace(lo[0], hi[0], num), np.linspace(lo[1], hi[1], num))
        diff = w1[..., None] * case.x[:, 0] + w2[..., None] * case.x[:, 1] - case.x @ self.w_star
        return w1, w2, 0.5 * np.mean(diff**2, axis=-1)

    def table(self) -> str:
        # columns: examples whose gradient has same-sign components, SGD steps to reach w*, SGD path
        # length / straight line, share of SGD steps into (+,+) or (-,-), cond(H), GD steps to reach w*
        lines = [f"{'':<16}{'same sign':>11}{'SGD steps':>11}{'path/straight':>15}{'(+,+)/(-,-)':>13}"
                 f"{'cond(H)':>9}{'GD steps':>10}"]
        for c in self.cases:
            lines.append(
                f"{c.name:<16}{c.same_sign_fraction:>11.0%}{c.sgd_steps_to_tol:>11d}{c.path_ratio:>15.2f}"
                f"{c.sgd_same_quadrant:>13.0%}{c.condition_number:>9.1f}{c.gd_steps_to_tol:>10d}"
            )
        return "\n".join(lines)


def _sgd(x: np.ndarray, y: np.ndarray, lr: float, steps: int, tol: float, rng: np.random.Generator):
    w = np.zeros(2)
    path = [w.copy()]
    reached = -1
    order = rng.integers(0, len(x), size=steps)
    for t, i in enumerate(order):
        w = w - lr * (x[i] @ w - y[i]) * x[i]
        path.append(w.copy())
        if reached < 0 and np.linalg.norm(w - W_STAR) < tol:
            reached = t + 1
    path = np.asarray(path)
    upto = path[: (reached if reached > 0 else steps) + 1]
    moves = np.diff(upto, axis=0)
    moving = np.any(moves != 0, axis=1)
    same = float(np.mean(moves[moving, 0] * moves[moving, 1] > 0)) if moving.any() else float("nan")
    return path, reached, float(np.sum(np.linalg.norm(moves, axis=1))), same


def _gd(x: np.ndarray, y: np.ndarray, lr: float, max_steps: int, tol: float):
    w = np.zeros(2)
    path = [w.copy()]
    for t in range(max_steps):
        w = w - lr * x.T @ (x @ w - y) / len(x)
        path.append(w.copy())
        if np.linalg.norm(w - W_STAR) < tol:
            return np.asarray(path), t + 1
    return np.asarray(path), -1


def _case(name: str, x: np.ndarray, lr: float, steps: int, tol: float, seed: int) -> ZigzagCase:
    y = x @ W_STAR
    g0 = (x @ np.zeros(2) - y)[:, None] * x  # per-example gradients at the start
    eig = np.linalg.eigvalsh(x.T @ x / len(x))
    gd_lr = float(2.0 / (eig[0] + eig[-1]))
    sgd_path, reached, length, same = _sgd(x, y, lr, steps, tol, np.random.default_rng([seed, 1]))
    gd_path, gd_reached = _gd(x, y, gd_lr, 10_000, tol)
    return ZigzagCase(
        name=name,
        x=x,
        same_sign_fraction=float(np.mean(g0[:, 0] * g0[:, 1] > 0)),
        sgd_path=sgd_path,
        sgd_steps_to_tol=reached,
        sgd_path_length=length,
        sgd_same_quadrant=same,
        hessian_eigenvalues=eig,
        gd_lr=gd_lr,
        gd_path=gd_path,
        gd_steps_to_tol=gd_reached,
    )


def run(n: int = 200, lr: float = 1.0, steps: int = 400, tol: float = 0.05, seed: int = 0) -> ZigzagResult:
    """Both problems (positive sigmoid outputs and the same inputs centred), same SGD example order."""
    if n < 2 or steps < 1 or not (lr > 0) or not (tol > 0):
        raise ValueError(
            f"zigzag: need n >= 2, steps >= 1, lr > 0 and tol > 0, got n={n}, steps={steps}, lr={lr}, tol={tol}"
        )
    rng = np.random.default_rng(seed)
    u = rng.standard_normal((n, 2))
    x_pos = 1.0 / (1.0 + np.exp(-u))
    x_cen = x_pos - x_pos.mean(axis=0)
    return ZigzagResult(
        positive=_case("positive inputs", x_pos, lr, steps, tol, seed),
        centred=_case("centred inputs", x_cen, lr, steps, tol, seed),
        w_star=W_STAR.copy(),
        config=dict(n=n, lr=lr, steps=steps, tol=tol, seed=seed),
    )
