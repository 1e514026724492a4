r"""The two classic single-unit learners: Rosenblatt's perceptron and Widrow & Hoff's Adaline.

Both compute :math:`z = w \cdot x + b`. They differ in what the update sees: the perceptron
corrects the thresholded output (it only moves on mistakes), Adaline the linear output
(gradient descent on the squared error, the "delta rule"). The perceptron stops when a
pass makes no mistake, which happens if and only if the data are linearly separable
(Novikoff 1962); on XOR it never stops (Minsky & Papert 1969).

Conventions: inputs ``x`` (N, D) float, targets ``y`` (N,); fitted attributes end with an
underscore (``w_``, ``b_``, ``errors_``, ``losses_``) as in scikit-learn.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from course_lib import checks

__all__ = ["Perceptron", "Adaline"]


def check_x(x: np.ndarray, who: str, dim: int | None = None) -> np.ndarray:
    x = np.asarray(x)
    if x.ndim != 2:
        raise ValueError(f"{who}: x must be 2-D (N, D), got shape {x.shape}")
    if not np.issubdtype(x.dtype, np.number) or np.issubdtype(x.dtype, np.complexfloating):
        raise ValueError(f"{who}: x must hold real numbers, got dtype {x.dtype}")
    x = x.astype(np.float64)
    if not np.all(np.isfinite(x)):
        raise ValueError(f"{who}: x contains nan or inf")
    if dim is not None and x.shape[1] != dim:
        raise ValueError(f"{who}: x has {x.shape[1]} features, the model was fitted with {dim}")
    return x


def check_targets(y: np.ndarray, n: int, who: str, binary: bool) -> np.ndarray:
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"{who}: y must be 1-D (N,), got shape {y.shape}")
    if y.shape[0] != n:
        raise ValueError(f"{who}: {y.shape[0]} targets for {n} examples")
    if not (np.issubdtype(y.dtype, np.number) or y.dtype == bool):
        raise ValueError(f"{who}: targets must be numbers, got dtype {y.dtype}")
    y = y.astype(np.float64)
    if not np.all(np.isfinite(y)):
        raise ValueError(f"{who}: targets contain nan or inf")
    if binary and not np.all((y == 0) | (y == 1)):
        raise ValueError(f"{who}: targets must be 0 or 1, got values {np.unique(y)[:5].tolist()}")
    return y


def check_fit_args(x: np.ndarray, y: np.ndarray, who: str, binary: bool) -> tuple[np.ndarray, np.ndarray]:
    """``(x, d)`` as float64 arrays, checked by :func:`check_x` and :func:`check_targets`."""
    x = check_x(x, who)
    return x, check_targets(y, x.shape[0], who, binary=binary)


def check_hyper(lr: float, epochs: int, who: str) -> tuple[float, int]:
    """``(lr, epochs)`` as ``(float, int)``, after checking ``lr > 0`` (finite) and ``epochs >= 1``."""
    lr = checks.real(lr, "lr", who, minimum=0, exclusive_minimum=True)
    epochs = checks.integer(epochs, "epochs", who, minimum=1)
    return lr, epochs


class Perceptron:
    r"""Rosenblatt's perceptron with a step output and the error-correction rule.

    .. math::

        \hat y = [\, w \cdot x + b > 0 \,], \qquad
        w \leftarrow w + \eta\,(d - \hat y)\,x, \quad b \leftarrow b + \eta\,(d - \hat y)

    applied one example at a time (``d`` is the target in {0, 1}, :math:`\eta` = ``lr``).
    Weights start at zero. Each epoch visits the examples in a random order (from ``rng``;
    ``shuffle=False`` keeps the given order) and counts the mistakes in ``errors_``; training
    stops after the first epoch without a mistake (``converged_ = True``) or after ``epochs``.

    Shapes: ``x`` (N, D) float, ``y`` (N,) in {0, 1}; ``w_`` (D,), ``b_`` float.

    Reference: Rosenblatt (1958), "The perceptron: a probabilistic model for information
    storage and organization in the brain".
    """

    def __init__(self, lr: float = 1.0, epochs: int = 100, shuffle: bool = True, rng: Any = None):
        self.lr, self.epochs = check_hyper(lr, epochs, "Perceptron")
        self.shuffle = bool(shuffle)
        self.rng = rng

    def fit(self, x: np.ndarray, y: np.ndarray) -> "Perceptron":
        x, d = check_fit_args(x, y, "Perceptron.fit", binary=True)
        rng = np.random.default_rng(self.rng)
        n, dim = x.shape
        self.w_ = np.zeros(dim)
        self.b_ = 0.0
        self.errors_: list[int] = []
        self.converged_ = False
        for _ in range(self.epochs):
            order = rng.permutation(n) if self.shuffle else np.arange(n)
            mistakes = 0
            for i in order:
                y_hat = 1.0 if x[i] @ self.w_ + self.b_ > 0 else 0.0
                if y_hat != d[i]:
                    self.w_ = self.w_ + self.lr * (d[i] - y_hat) * x[i]
                    self.b_ = self.b_ + self.lr * (d[i] - y_hat)
                    mistakes += 1
            self.errors_.append(mistakes)
            if mistakes == 0:
                self.converged_ = True
                break
        return self

    def decision_function(self, x: np.ndarray) -> np.ndarray:
        """The net input :math:`w \\cdot x + b`, shape (N,)."""
        if not hasattr(self, "w_"):
            raise RuntimeError("Perceptron: call fit(x, y) before predicting")
        return check_x(x, "Perceptron", self.w_.shape[0]) @ self.w_ + self.b_

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Class 1 where :math:`w \\cdot x + b > 0`, else 0; int64 (N,)."""
        return (self.decision_function(x) > 0).astype(np.int64)


class Adaline:
    r"""ADAptive LINear Element: a linear unit trained by batch gradient descent on the squared error.

    .. math::

        J(w, b) = \tfrac12 \sum_n \big(d_n - (w \cdot x_n + b)\big)^2, \qquad
        w \leftarrow w + \eta \sum_n (d_n - z_n)\,x_n, \quad b \leftarrow b + \eta \sum_n (d_n - z_n)

    with :math:`z_n = w \cdot x_n + b` (the LINEAR output: no threshold during learning) and
    :math:`\eta` = ``lr``. Weights start at zero; one update per epoch, using the whole data
    set. ``losses_[k]`` is :math:`J` at the weights BEFORE the k-th update. Because J is
    quadratic, it decreases at every epoch when
    :math:`\eta < 2/\lambda_{\max}(\tilde X^\top \tilde X)` (:math:`\tilde X` = x with a column of
    ones); a larger lr makes it grow without bound (nan/inf is recorded, not raised).

    Targets are used as given (no re-coding): with {0, 1} targets the unit learns to output
    about 0 or 1, so :meth:`predict` thresholds the linear output at ``threshold`` = 0.5. With
    {-1, +1} targets pass ``threshold=0``.

    Shapes: ``x`` (N, D) float, ``y`` (N,) float; ``w_`` (D,), ``b_`` float.

    Reference: Widrow & Hoff (1960), "Adaptive switching circuits" (the LMS / delta rule).
    """

    def __init__(self, lr: float = 0.01, epochs: int = 50, threshold: float = 0.5):
        self.lr, self.epochs = check_hyper(lr, epochs, "Adaline")
        self.threshold = checks.real(threshold, "threshold", "Adaline")

    def fit(self, x: np.ndarray, y: np.ndarray) -> "Adaline":
        x, d = check_fit_args(x, y, "Adaline.fit", binary=False)
        self.w_ = np.zeros(x.shape[1])
        self.b_ = 0.0
        self.losses_: list[float] = []
        with np.errstate(over="ignore", invalid="ignore"):
            for _ in range(self.epochs):
                err = d - (x @ self.w_ + self.b_)  # (N,)
                self.losses_.append(float(0.5 * np.sum(err**2)))
                self.w_ = self.w_ + self.lr * (x.T @ err)
                self.b_ = self.b_ + self.lr * float(err.sum())
        return self

    def decision_function(self, x: np.ndarray) -> np.ndarray:
        """The linear output :math:`w \\cdot x + b`, shape (N,)."""
        if not hasattr(self, "w_"):
            raise RuntimeError("Adaline: call fit(x, y) before predicting")
        return check_x(x, "Adaline", self.w_.shape[0]) @ self.w_ + self.b_

    def predict(self, x: np.ndarray) -> np.ndarray:
        """1 where the linear output exceeds ``threshold``, else 0; int64 (N,)."""
        return (self.decision_function(x) > self.threshold).astype(np.int64)
