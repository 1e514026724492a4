r"""Small random numbers, :math:`W = 0.01\,\mathcal{N}(0, 1)`: fine for a shallow net, fatal for a deep one.

Two parts.

1. **Activations at initialization** (the slides' histograms): ten tanh layers of 500 units
   get one batch of :math:`\mathcal{N}(0, 1)` inputs. With weight std :math:`\sigma` and n inputs
   per unit, a tanh layer in its linear regime multiplies the std by :math:`\sqrt{n}\,\sigma`:
   :math:`\sqrt{500} \cdot 0.01 \approx 0.22` per layer, so the activations collapse toward 0
   geometrically. With :math:`\sigma = 1` the pre-activations have std
   :math:`\approx \sqrt{500}` and nearly every unit saturates at :math:`\pm 1`.
2. **Training** on scikit-learn digits (standardized) with the same initialization: a shallow
   64-100-10 net trains, a deep tanh net of the same width stays at the chance loss
   :math:`\ln 10`: its gradients are products of many factors 0.01-ish.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from course_lib.data import load_digits
from course_lib.diagnostics import activation_stats
from course_lib.scratch.model import MLP
from course_lib.scratch.optim import SGD
from course_lib.scratch.solver import History, Solver

from ._threads import one_blas_thread

__all__ = ["SmallRandomResult", "TrainedNet", "run"]


@dataclass(frozen=True, eq=False)
class TrainedNet:
    dims: tuple
    history: History
    test_acc: float
    first_grad_W1: float  # mean |dJ/dW1| on the first mini-batch, before any update


@dataclass(frozen=True, eq=False)
class SmallRandomResult:
    scales: tuple  # weight stds compared at initialization, e.g. (0.01, 1.0)
    depth: int
    width: int
    stats: dict  # scale -> list of LayerStats (tanh rule) of h_1..h_depth
    samples: dict  # scale -> (depth, k) a random subset of the entries of each h_l (histograms)
    shallow: TrainedNet | None
    deep: TrainedNet | None
    chance_loss: float  # ln 10
    config: dict

    def std(self, scale: float) -> np.ndarray:
        """(depth,) std of h_l per layer for the weight std ``scale``."""
        return np.array([s.std for s in self.stats[scale]])

    def table(self) -> str:
        lines = [f"tanh, {self.depth} layers of {self.width}: std of h_l (and % saturated, |h| > 0.95)"]
        for first in range(0, self.depth, 5):  # five layers per block: fits 88 characters
            shown = range(first, min(first + 5, self.depth))
            lines.append(f"{'weight std':<12}" + "".join(f"{'h_' + str(layer + 1):>11}" for layer in shown))
            for scale in self.scales:
                lines.append(f"{scale:<12g}" + "".join(f"{self.stats[scale][i].std:>11.2e}" for i in shown))
                lines.append(f"{'':<12}" + "".join(f"{self.stats[scale][i].saturated:>11.0%}" for i in shown))
        for name, net in (("shallow", self.shallow), ("deep", self.deep)):
            if net is not None:
                h = net.history
                last_epoch_loss = np.mean(h.loss[-h.steps_per_epoch:])
                lines.append(f"{name} {'-'.join(map(str, net.dims))}: first mean |dJ/dW1| {net.first_grad_W1:.1e}")
                lines.append(f"  loss {h.loss[0]:.3f} -> {last_epoch_loss:.3f} (ln 10 = {self.chance_loss:.3f}), "
                             f"test accuracy {net.test_acc:.1%}")
        return "\n".join(lines)


def _train(dims, activation, data, std, epochs, lr, momentum, seed, progress) -> TrainedNet:
    model = MLP(dims, activation=activation, weight_scale=std, rng=np.random.default_rng(seed))
    _, grads = model.loss(data.x_train[:64], data.y_train[:64])
    with one_blas_thread():
        history = Solver(model, data, SGD(lr, momentum=momentum), batch_size=64, epochs=epochs, seed=seed,
                         progress=progress).train()
    return TrainedNet(dims=tuple(dims), history=history, test_acc=model.accuracy(data.x_test, data.y_test),
                      first_grad_W1=float(np.mean(np.abs(grads["W1"]))))


def run(depth: int = 10, width: int = 500, batch: int = 1000, scales: tuple = (0.01, 1.0),
        train: bool = True, deep_layers: int = 10, hidden: int = 100, activation: str = "tanh",
        epochs: int = 10, lr: float = 0.01, momentum: float = 0.9, n_samples: int = 4000,
        progress: bool = True, seed: int = 0) -> SmallRandomResult:
    """Part 1 always; part 2 (training a 1-hidden-layer and a ``deep_layers``-hidden-layer net) when ``train``."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, width))
    pick = rng.choice(batch * width, size=min(n_samples, batch * width), replace=False)
    stats, samples = {}, {}
    for k, scale in enumerate(scales):
        model = MLP([width] * (depth + 1) + [1], activation="tanh", weight_scale=scale,
                    rng=np.random.default_rng([seed, k]))
        acts = model.trace(x).activations
        names = [f"h_{layer}" for layer in range(1, depth + 1)]
        stats[scale] = activation_stats(acts, activation="tanh", names=names)
        samples[scale] = np.stack([h.ravel()[pick] for h in acts])
    shallow = deep = None
    if train:
        data = load_digits(seed=seed, scale="standard")
        d, c = data.x_train.shape[1], int(data.y_train.max()) + 1
        shallow = _train([d, hidden, c], activation, data, 0.01, epochs, lr, momentum, seed, progress)
        deep = _train([d] + [hidden] * deep_layers + [c], activation, data, 0.01, epochs, lr, momentum, seed, progress)
    return SmallRandomResult(
        scales=tuple(scales), depth=depth, width=width, stats=stats, samples=samples, shallow=shallow, deep=deep,
        chance_loss=math.log(10),
        config=dict(depth=depth, width=width, batch=batch, scales=tuple(scales), train=train, deep_layers=deep_layers,
                    hidden=hidden, activation=activation, epochs=epochs, lr=lr, momentum=momentum, seed=seed),
    )
