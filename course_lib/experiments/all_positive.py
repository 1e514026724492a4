r"""Why all-positive inputs hurt gradient descent, on real pixels: digits / 16, raw vs centred.

For a unit :math:`z = w \cdot x + b` the gradient on its weights is
:math:`\partial L / \partial w = (\partial L / \partial z)\, x`. When every input :math:`x_d \ge 0`
(pixels in [0, 1], or the outputs of a sigmoid layer), the gradient of every weight of the unit has
the same sign for a given example: the activations chapter shows the resulting zig-zag for one
unit with two weights. Here the same effect on the first layer of a real problem: a linear softmax
classifier on sklearn digits / 16 (the scratch ``MLP([64, 10])``: no hidden layer), trained by
full-batch gradient descent (the scratch ``SGD`` optimizer), on raw, centred and standardized inputs
(statistics from the training split), for a grid of learning rates. Measured, for each input and seed:

* the fraction of per-example weight-gradient rows (one per example and output unit) whose
  non-zero entries all have one sign, at initialization;
* the largest eigenvalue of the second-moment matrix :math:`M = [x\ 1]^\top [x\ 1] / N` (the
  inputs with the bias column). A non-zero input mean adds a direction with eigenvalue about
  :math:`1 + \lVert \mu \rVert^2` (LeCun et al. 1998). For the *squared* loss of a linear model
  :math:`M` is the Hessian, and :math:`2 / \lambda_{\max}(M)` the largest stable step;
* the largest eigenvalue of the Hessian of the softmax cross-entropy actually trained here, at the
  initial weights (:func:`softmax_hessian`, exact: 650 x 650 for the digits). It is :math:`M` with
  every example weighted by the softmax's :math:`\operatorname{diag}(p) - p p^\top`; near the
  uniform start that weight has eigenvalues :math:`1/K` and 0, so
  :math:`\lambda_{\max}(H) \approx \lambda_{\max}(M) / K`, and the raw / centred *ratio* of
  curvatures carries over from :math:`M`;
* the onset of instability: the smallest learning rate, on a grid of multiples of
  :math:`2 / \lambda_{\max}(H)`, at which the training loss rises at some step;
* steps to reach a training loss at every learning rate of the grid (None: diverged, or not within
  ``max_steps``), and the best of them.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from course_lib.data import load_digits
from course_lib.scratch.linear import Linear
from course_lib.scratch.losses import SoftmaxCrossEntropy
from course_lib.scratch.model import MLP
from course_lib.scratch.optim import SGD
from course_lib.scratch.preprocessing import fit_center, fit_standardize
from course_lib.scratch.solver import apply_update

from ._threads import single_blas_thread

__all__ = ["DigitsRun", "AllPositiveResult", "same_sign_fraction", "softmax_hessian", "loss_rises", "run",
           "INPUTS", "ONSET_FACTORS"]

INPUTS = ("raw", "centred", "standardized")
# multiples of 2 / lambda_max(H) scanned for the onset of instability
ONSET_FACTORS = (0.5, 0.7, 0.9, 1.1, 1.3, 1.5, 1.7, 2.0, 2.5, 3.0)


@dataclass(frozen=True, eq=False)
class DigitsRun:
    name: str  # "raw", "centred" or "standardized"
    seed: int
    steps_to_threshold: dict  # lr -> steps to reach the threshold (None: not within max_steps / diverged)
    best_lr: float | None
    best_steps: int | None
    best_curve: np.ndarray  # training loss per step at best_lr
    lambda_max: float  # largest eigenvalue of [x 1]^T [x 1] / N
    same_sign: float  # fraction of per-example weight-gradient rows with one sign (at init)
    lambda_hessian: float = float("nan")  # largest eigenvalue of the cross-entropy Hessian at init
    onset_lr: float | None = None  # smallest lr of (ONSET_FACTORS * 2 / lambda_hessian) whose loss rises
    lambda_hessian_end: float = float("nan")  # the same eigenvalue at the end of the best-lr run


@dataclass(frozen=True, eq=False)
class AllPositiveResult:
    digits: tuple  # DigitsRun for every (seed, input)
    seeds: tuple
    threshold: float
    lrs: tuple
    config: dict

    def runs(self, name: str) -> list:
        return [r for r in self.digits if r.name == name]

    def best_steps(self, name: str) -> np.ndarray:
        """Best-lr steps to the threshold, one per seed (nan where no lr reached it)."""
        return np.array([np.nan if r.best_steps is None else r.best_steps for r in self.runs(name)], float)

    def table(self) -> str:
        rows = [f"{'input':<13} {'lambda(M)':>9} {'lambda(H)':>9} {'2/lambda(H)':>11} {'same-sign':>9}  "
                f"per seed: best lr/steps to {self.threshold}"]
        for name in INPUTS:
            runs = self.runs(name)
            cells = ", ".join(f"{r.best_lr:g}/{r.best_steps}" if r.best_steps is not None else "-" for r in runs)
            lam_h = np.mean([r.lambda_hessian for r in runs])
            rows.append(f"{name:<13} {np.mean([r.lambda_max for r in runs]):>9.2f} {lam_h:>9.3f} {2 / lam_h:>11.2f} "
                        f"{np.mean([r.same_sign for r in runs]):>9.0%}  {cells}")
        return "\n".join(rows)


def softmax_hessian(x: np.ndarray, w: np.ndarray, b: np.ndarray) -> np.ndarray:
    r"""The exact Hessian of the mean softmax cross-entropy of the scores ``x @ w + b``.

    .. math::

        H = \frac1N \sum_n \tilde x_n \tilde x_n^\top \otimes
        \big(\operatorname{diag}(p_n) - p_n p_n^\top\big), \qquad
        \tilde x_n = [x_n\ 1]

    The parameters are ``[w; b]``, of shape ``(D + 1, K)``, flattened row by row (index
    ``i * K + a`` for input i and class a); H has shape ``((D + 1) K, (D + 1) K)`` and
    does not depend on the labels.
    ``x``: ``(N, D)``, ``w``: ``(D, K)``, ``b``: ``(K,)``.
    """
    n = x.shape[0]
    scores = x @ w + b
    e = np.exp(scores - scores.max(axis=1, keepdims=True))
    p = e / e.sum(axis=1, keepdims=True)  # (N, K) softmax probabilities
    xb = np.column_stack([x, np.ones(n)])  # (N, D + 1): the inputs and the bias column
    d1, k = xb.shape[1], p.shape[1]
    h = np.zeros((d1, k, d1, k))  # h[i, a, j, c]: second derivative by w_ia and w_jc
    for a in range(k):  # the diag(p_n) part couples class a only with itself
        h[:, a, :, a] = (xb * p[:, [a]]).T @ xb / n
    z = (xb[:, :, None] * p[:, None, :]).reshape(n, d1 * k)  # z[n, iK + a] = xb_ni p_na
    return h.reshape(d1 * k, d1 * k) - z.T @ z / n  # minus the p_n p_n^T part


def loss_rises(curve: np.ndarray, rtol: float = 1e-6) -> bool:
    """Whether the loss rises at some step by more than ``rtol`` of its value (rounding never does)."""
    return bool(np.any(np.diff(curve) > rtol * np.abs(curve[:-1])))


def same_sign_fraction(grads: np.ndarray) -> float:
    """Fraction of rows whose non-zero entries all have the same sign (rows of zeros excluded)."""
    pos, neg = np.any(grads > 0, axis=1), np.any(grads < 0, axis=1)
    nonzero = pos | neg
    return float(np.mean(~(pos & neg)[nonzero])) if nonzero.any() else float("nan")


# --------------------------------------------------------------------------------------------
# Digits: full-batch gradient descent on a linear softmax classifier
# --------------------------------------------------------------------------------------------
def _fit(x, y, lr, max_steps, threshold, w0):
    r"""Full-batch gradient descent of the linear classifier ``MLP([D, K])`` from the weights ``w0``.

    .. math::

        (W, b) \leftarrow (W, b) - \eta\, \nabla J(W, b), \qquad
        J = \frac1N \sum_n -\log \operatorname{softmax}(x_n W + b)_{y_n}

    ``x`` (N, D), ``y`` (N,), ``w0`` (D, K), the biases start at 0. Runs until the loss reaches
    ``threshold``, diverges (non-finite, or 10 times the first loss) or ``max_steps`` steps are
    spent. Returns ``(model, curve, steps)``: the final model, ``curve[t]`` the loss before step t,
    and the number of steps taken to reach the threshold (None: not reached).
    """
    model = MLP([x.shape[1], w0.shape[1]], init=lambda rng, fan_in, fan_out: w0.copy(), rng=0)
    sgd = SGD(lr=lr)
    states = {name: sgd.init(p) for name, p in model.params.items()}
    curve = []
    for _ in range(max_steps + 1):
        with np.errstate(over="ignore", invalid="ignore"):
            loss, grads = model.loss(x, y)
        curve.append(loss)
        if loss <= threshold or not np.isfinite(loss) or loss > 10 * curve[0] or len(curve) > max_steps:
            break
        apply_update(model, sgd, grads, states)
    curve = np.array(curve)
    return model, curve, (len(curve) - 1 if curve[-1] <= threshold else None)


def _train(x, y, lr, max_steps, threshold, w0):
    """Loss per step until the loss reaches ``threshold``, diverges, or max_steps is spent."""
    _, curve, steps = _fit(x, y, lr, max_steps, threshold, w0)
    return curve, steps


def _lambda_max(x: np.ndarray) -> float:
    xb = np.column_stack([x, np.ones(len(x))])
    return float(np.linalg.eigvalsh(xb.T @ xb / len(x))[-1])


@single_blas_thread
def run(seeds=(0, 1, 2), lrs=(1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0), threshold: float = 0.3,
        max_steps: int = 200) -> AllPositiveResult:
    """One run per seed of ``seeds`` (the digits split and the initial weights) and input kind."""
    if max_steps < 1 or not lrs or threshold <= 0:
        raise ValueError("need max_steps >= 1, at least one lr and a positive threshold")
    runs = []
    for s in seeds:
        split = load_digits(seed=s, scale="unit")
        x_train, y_train = split.x_train, split.y_train
        inputs = {
            "raw": x_train,
            "centred": fit_center(x_train).transform(x_train),
            "standardized": fit_standardize(x_train).transform(x_train),
        }
        w0 = 0.01 * np.random.default_rng([s, 1]).standard_normal((x_train.shape[1], split.n_classes))
        for name in INPUTS:
            xi = inputs[name]
            curves, steps, ends = {}, {}, {}
            for lr in lrs:
                model, curves[lr], steps[lr] = _fit(xi, y_train, lr, max_steps, threshold, w0)
                ends[lr] = (model.params["W1"], model.params["b1"])
            reached = [lr for lr in lrs if steps[lr] is not None]
            best = min(reached, key=lambda lr: (steps[lr], lr)) if reached else None
            scores, _ = Linear.forward(xi, w0, np.zeros(split.n_classes))
            _, cache = SoftmaxCrossEntropy.forward(scores, y_train)
            (dscores,) = SoftmaxCrossEntropy.backward(1.0, cache)
            per_example = (dscores[:, :, None] * xi[:, None, :]).reshape(-1, xi.shape[1])  # one row per (n, unit)
            lam_h = float(np.linalg.eigvalsh(softmax_hessian(xi, w0, np.zeros(split.n_classes)))[-1])
            onset = next((c * 2.0 / lam_h for c in ONSET_FACTORS
                          if loss_rises(_train(xi, y_train, c * 2.0 / lam_h, max_steps, threshold, w0)[0])), None)
            runs.append(DigitsRun(
                name=name, seed=int(s), steps_to_threshold=steps, best_lr=best,
                best_steps=None if best is None else steps[best],
                best_curve=curves[best] if best is not None else curves[lrs[0]],
                lambda_max=_lambda_max(xi), same_sign=same_sign_fraction(per_example),
                lambda_hessian=lam_h, onset_lr=onset,
                lambda_hessian_end=(float(np.linalg.eigvalsh(softmax_hessian(xi, *ends[best]))[-1])
                                    if best is not None else float("nan")),
            ))
    return AllPositiveResult(
        digits=tuple(runs), seeds=tuple(int(s) for s in seeds), threshold=threshold,
        lrs=tuple(lrs),
        config=dict(seeds=tuple(seeds), lrs=tuple(lrs), threshold=threshold, max_steps=max_steps),
    )
