r"""Twin of :mod:`course_lib.scratch.classic`: perceptron and Adaline on torch tensors.

The learning rules are the same, written with torch ops; the example order of the
perceptron comes from the same NumPy generator, so both twins make the same updates.
Fitted attributes (``w_``, ``b_``) are tensors on ``device``; ``errors_`` and ``losses_``
are Python lists, as on the scratch side.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from course_lib import checks
from course_lib.scratch.classic import check_fit_args, check_hyper

__all__ = ["Perceptron", "Adaline"]


def _to_tensor(a: Any, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    if isinstance(a, torch.Tensor):
        a = a.detach().cpu().numpy()
    return torch.as_tensor(np.asarray(a), dtype=dtype, device=device)


def _fit_inputs(x: Any, y: Any, who: str, binary: bool, device: torch.device, dtype: torch.dtype):
    """``(x, d)`` checked as on the scratch side, as tensors on ``device``."""
    cpu = torch.device("cpu")
    x_np, d_np = check_fit_args(
        _to_tensor(x, cpu, torch.float64).numpy(), _to_tensor(y, cpu, torch.float64).numpy(), who, binary
    )
    return _to_tensor(x_np, device, dtype), _to_tensor(d_np, device, dtype)


class Perceptron:
    r"""Twin of `course_lib.scratch.classic.Perceptron`.

    .. math::

        \hat y = [\, w \cdot x + b > 0 \,], \qquad
        w \leftarrow w + \eta\,(d - \hat y)\,x,\quad b \leftarrow b + \eta\,(d - \hat y)

    ``Perceptron(lr=1.0, epochs=100, shuffle=True, rng=None, device=None, dtype=torch.float64)``;
    ``fit(x, y)`` accepts arrays or tensors; ``rng`` (None, int or ``np.random.Generator``)
    orders the examples exactly as on the scratch side.
    """

    def __init__(
        self,
        lr: float = 1.0,
        epochs: int = 100,
        shuffle: bool = True,
        rng: Any = None,
        device: Any = None,
        dtype: torch.dtype = torch.float64,
    ):
        self.lr, self.epochs = check_hyper(lr, epochs, "Perceptron")
        self.shuffle = bool(shuffle)
        self.rng = rng
        self.device = torch.device("cpu") if device is None else torch.device(device)
        self.dtype = dtype

    def fit(self, x: Any, y: Any) -> "Perceptron":
        x, d = _fit_inputs(x, y, "Perceptron.fit", True, self.device, self.dtype)
        rng = np.random.default_rng(self.rng)
        n, dim = x.shape
        self.w_ = torch.zeros(dim, dtype=self.dtype, device=self.device)
        self.b_ = torch.zeros((), dtype=self.dtype, device=self.device)
        self.errors_: list[int] = []
        self.converged_ = False
        for _ in range(self.epochs):
            order = rng.permutation(n) if self.shuffle else np.arange(n)
            mistakes = 0
            for i in order.tolist():
                y_hat = (x[i] @ self.w_ + self.b_ > 0).to(self.dtype)
                delta = d[i] - y_hat
                if delta != 0:
                    self.w_ = self.w_ + self.lr * delta * x[i]
                    self.b_ = self.b_ + self.lr * delta
                    mistakes += 1
            self.errors_.append(mistakes)
            if mistakes == 0:
                self.converged_ = True
                break
        return self

    def decision_function(self, x: Any) -> torch.Tensor:
        """The net input w.x + b, shape (N,)."""
        if not hasattr(self, "w_"):
            raise RuntimeError("Perceptron: call fit(x, y) before predicting")
        x = _to_tensor(x, self.device, self.dtype)
        if x.ndim != 2 or x.shape[1] != self.w_.shape[0]:
            raise ValueError(f"Perceptron: x must have shape (N, {self.w_.shape[0]}), got {tuple(x.shape)}")
        return x @ self.w_ + self.b_

    def predict(self, x: Any) -> torch.Tensor:
        """1 where w.x + b > 0, else 0; (N,) long."""
        return (self.decision_function(x) > 0).long()


class Adaline:
    r"""Twin of `course_lib.scratch.classic.Adaline`.

    .. math::

        J = \tfrac12 \sum_n (d_n - w \cdot x_n - b)^2, \qquad
        w \leftarrow w - \eta \nabla_w J,\quad b \leftarrow b - \eta \nabla_b J

    ``Adaline(lr=0.01, epochs=50, threshold=0.5, device=None, dtype=torch.float64)``. Here the
    gradient of J comes from autograd instead of the hand-derived delta rule; the updates are
    the same.
    """

    def __init__(
        self,
        lr: float = 0.01,
        epochs: int = 50,
        threshold: float = 0.5,
        device: Any = None,
        dtype: torch.dtype = torch.float64,
    ):
        self.lr, self.epochs = check_hyper(lr, epochs, "Adaline")
        self.threshold = checks.real(threshold, "threshold", "Adaline")
        self.device = torch.device("cpu") if device is None else torch.device(device)
        self.dtype = dtype

    def fit(self, x: Any, y: Any) -> "Adaline":
        x, d = _fit_inputs(x, y, "Adaline.fit", False, self.device, self.dtype)
        like = dict(dtype=self.dtype, device=self.device)
        w = torch.zeros(x.shape[1], **like, requires_grad=True)
        b = torch.zeros((), **like, requires_grad=True)
        self.losses_: list[float] = []
        for _ in range(self.epochs):
            loss = 0.5 * ((d - (x @ w + b)) ** 2).sum()
            self.losses_.append(float(loss.detach()))
            gw, gb = torch.autograd.grad(loss, (w, b))
            with torch.no_grad():
                w -= self.lr * gw
                b -= self.lr * gb
        self.w_, self.b_ = w.detach(), b.detach()
        return self

    def decision_function(self, x: Any) -> torch.Tensor:
        """The linear output w.x + b, shape (N,)."""
        if not hasattr(self, "w_"):
            raise RuntimeError("Adaline: call fit(x, y) before predicting")
        x = _to_tensor(x, self.device, self.dtype)
        if x.ndim != 2 or x.shape[1] != self.w_.shape[0]:
            raise ValueError(f"Adaline: x must have shape (N, {self.w_.shape[0]}), got {tuple(x.shape)}")
        return x @ self.w_ + self.b_

    def predict(self, x: Any) -> torch.Tensor:
        """1 where the linear output exceeds ``threshold``, else 0; (N,) long."""
        return (self.decision_function(x) > self.threshold).long()
