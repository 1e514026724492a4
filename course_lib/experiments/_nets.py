r"""A small fully connected network chained from the scratch ops, shared by the activation experiments.

Hidden layers are either ``Linear -> elementwise activation`` (any class of
:mod:`course_lib.scratch.activations` with its hyperparameters) or a :class:`Maxout` layer with
``k`` pieces; the output layer is ``Linear`` and the loss softmax cross-entropy. Parameters are
plain lists of arrays, updated IN PLACE by SGD (optionally with torch-style momentum), which is
several times faster at small batch sizes than the general :class:`~course_lib.scratch.model.MLP`
+ ``Solver`` path and lets the experiments use any activation hyperparameter.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from course_lib.scratch.activations import Maxout
from course_lib.scratch.linear import Linear
from course_lib.scratch.losses import SoftmaxCrossEntropy

__all__ = ["Net"]


@dataclass
class Net:
    """``params[i] = [W, b]``: Linear (D, M) and (M,), or Maxout (k, D, M) and (k, M) for hidden i."""

    params: list  # one [W, b] per layer
    act: type | None  # elementwise activation class, or None for maxout hidden layers
    hyper: dict = field(default_factory=dict)  # the activation's hyperparameters

    @property
    def maxout(self) -> bool:
        return self.act is None

    @property
    def n_params(self) -> int:
        return int(sum(w.size + b.size for w, b in self.params))

    def pre_activations(self, x: np.ndarray) -> list[np.ndarray]:
        """The inputs of every hidden nonlinearity (for maxout: the winning piece's value)."""
        return self._hidden(x, pre=True)

    def hidden(self, x: np.ndarray) -> list[np.ndarray]:
        """The outputs of every hidden layer."""
        return self._hidden(x, pre=False)

    def _hidden(self, x: np.ndarray, pre: bool) -> list[np.ndarray]:
        out, h = [], np.asarray(x, dtype=np.float64)
        for w, b in self.params[:-1]:
            if self.maxout:
                h, _ = Maxout.forward(h, w, b)
                out.append(h)
            else:
                z = h @ w + b
                h, _ = self.act.forward(z, **self.hyper)
                out.append(z if pre else h)
        return out

    def scores(self, x: np.ndarray) -> np.ndarray:
        h = self.hidden(x)[-1] if len(self.params) > 1 else np.asarray(x, dtype=np.float64)
        return h @ self.params[-1][0] + self.params[-1][1]

    def error(self, x: np.ndarray, y: np.ndarray) -> float:
        """Fraction of misclassified examples."""
        return float(np.mean(np.argmax(self.scores(x), axis=1) != y))

    def loss_and_grads(self, x: np.ndarray, y: np.ndarray) -> tuple[float, list]:
        """Mean softmax cross-entropy on (x, y) and ``[[dW, db], ...]`` for every layer (backward pass)."""
        h, caches = x, []
        last = len(self.params) - 1
        for i, (w, b) in enumerate(self.params):
            if i < last and self.maxout:
                h, cache = Maxout.forward(h, w, b)
                caches.append((cache, None))
                continue
            h, lin_cache = Linear.forward(h, w, b)
            act_cache = None
            if i < last:
                h, act_cache = self.act.forward(h, **self.hyper)
            caches.append((lin_cache, act_cache))
        loss, loss_cache = SoftmaxCrossEntropy.forward(h, y)
        (dh,) = SoftmaxCrossEntropy.backward(1.0, loss_cache)
        grads = [None] * len(self.params)
        for i in range(last, -1, -1):
            first, act_cache = caches[i]
            if i < last and self.maxout:
                dh, dw, db = Maxout.backward(dh, first)
            else:
                if act_cache is not None:
                    (dh,) = self.act.backward(dh, act_cache)
                dh, dw, db = Linear.backward(dh, first)
            grads[i] = [dw, db]
        return float(loss), grads

    def sgd_step(self, x: np.ndarray, y: np.ndarray, lr: float, momentum: float = 0.0,
                 velocity: list | None = None) -> float:
        """One SGD step on the batch (x, y), in place; returns the batch loss before the step.

        With ``momentum`` > 0, ``velocity`` (same structure as params, zeros at first) is updated
        in place the torch way: v = mu v + g, then p -= lr v.
        """
        loss, grads = self.loss_and_grads(x, y)
        for i, layer_grads in enumerate(grads):
            for j, g in enumerate(layer_grads):
                if momentum:
                    v = velocity[i][j]
                    v *= momentum
                    v += g
                    g = v
                self.params[i][j] -= lr * g
        return loss
