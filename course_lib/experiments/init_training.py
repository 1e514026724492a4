r"""He et al. (2015), Fig. 3, scaled down: a 30-layer ReLU net trains with He init and stalls with Xavier.

Protocol: scikit-learn digits, standardized; an MLP with 29 hidden ReLU layers of width 128
and a linear output layer (30 linear layers, :class:`~course_lib.scratch.model.MLP`), softmax
cross-entropy, SGD with momentum 0.9, learning rate 3e-3, batch 64, 10 epochs, biases 0; the
same mini-batches for every scheme of a seed.

Why Xavier stalls here: with ReLU each layer halves the variance of the signal (see
:mod:`~course_lib.experiments.init_depth`), so after 29 hidden layers the scores are
:math:`\approx 2^{-14.5}` times smaller than with He's :math:`2/\text{fan\_in}`, the softmax is
uniform and the loss sits at :math:`\ln 10`. The backward pass loses the same factor
:math:`1/\sqrt2` per layer (:math:`n_\text{out}\mathrm{Var}(W) = 1` and half the ReLUs pass
the gradient), so the gradient reaching the first layer is :math:`\approx 2^{-14.5} \approx
4 \times 10^{-5}` times He's. The result records the mean :math:`|\partial J / \partial W_\ell|`
of every layer on the first mini-batch.

Besides ``"he_normal"`` and ``"xavier_normal"``, any scheme of
:data:`course_lib.scratch.init.INITIALIZERS` can be given, ``"orthogonal_relu"`` (orthogonal with
the ReLU gain :math:`\sqrt2`) and ``"lsuv"`` (:func:`course_lib.scratch.init.lsuv` on the first 256
training examples, from an orthogonal start).
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

from course_lib.data import load_digits
from course_lib.diagnostics import gradient_stats
from course_lib.scratch import init as init_mod
from course_lib.scratch.model import MLP
from course_lib.scratch.optim import SGD
from course_lib.scratch.solver import History, Solver

from ._threads import one_blas_thread

__all__ = ["InitTrainingRun", "InitTrainingResult", "run", "SCHEMES"]

SCHEMES = ("he_normal", "xavier_normal")


@dataclass(frozen=True, eq=False)
class InitTrainingRun:
    scheme: str
    seed: int
    history: History
    grad_abs_mean: np.ndarray  # (L,) mean |dJ/dW_l| on the first mini-batch, layer 1 = input side
    initial_loss: float
    final_loss: float  # mean training loss over the last epoch
    val_acc: float  # validation accuracy after the last epoch


@dataclass(frozen=True, eq=False)
class InitTrainingResult:
    schemes: tuple
    seeds: tuple
    runs: dict  # (scheme, seed) -> InitTrainingRun
    dims: tuple
    chance_loss: float  # ln 10
    config: dict

    def final_losses(self, scheme: str) -> np.ndarray:
        return np.array([self.runs[scheme, s].final_loss for s in self.seeds])

    def first_layer_grad(self, scheme: str) -> np.ndarray:
        """(seeds,) mean |dJ/dW_1| on the first mini-batch."""
        return np.array([self.runs[scheme, s].grad_abs_mean[0] for s in self.seeds])

    def table(self) -> str:
        lines = [f"{'-'.join(map(str, self.dims[:2]))}-...-{'-'.join(map(str, self.dims[-2:]))} "
                 f"({len(self.dims) - 1} linear layers); chance loss ln 10 = {self.chance_loss:.4f}",
                 f"{'scheme':<16}{'seed':>5}{'first loss':>12}{'last-epoch loss':>17}{'val acc':>8}"
                 f"{'mean |dJ/dW1|':>14}{'mean |dJ/dW' + str(len(self.dims) - 1) + '|':>15}"]
        for (scheme, seed), r in self.runs.items():
            lines.append(f"{scheme:<16}{seed:>5}{r.initial_loss:>12.4f}{r.final_loss:>17.4f}{r.val_acc:>8.1%}"
                         f"{r.grad_abs_mean[0]:>14.2e}{r.grad_abs_mean[-1]:>15.2e}")
        return "\n".join(lines)


def _model(scheme: str, dims: list, seed: int, x_batch: np.ndarray) -> MLP:
    rng = np.random.default_rng(seed)
    if scheme == "lsuv":
        return init_mod.lsuv(MLP(dims, activation="relu", init="orthogonal", rng=rng), x_batch, rng).model
    if scheme == "orthogonal_relu":
        orthogonal_relu = functools.partial(init_mod.orthogonal, gain=init_mod.calculate_gain("relu"))
        return MLP(dims, activation="relu", init=orthogonal_relu, rng=rng)
    return MLP(dims, activation="relu", init=scheme, rng=rng)


def run(depth: int = 30, width: int = 128, schemes: tuple = SCHEMES, seeds: tuple = (0, 1, 2), epochs: int = 10,
        lr: float = 3e-3, momentum: float = 0.9, batch_size: int = 64, progress: bool = True,
        data_seed: int = 0) -> InitTrainingResult:
    """Train the ``depth``-layer ReLU net once per (scheme, seed); the data split comes from ``data_seed``."""
    if depth < 2:
        raise ValueError(f"init_training.run: depth must be >= 2, got {depth}")
    unknown = [s for s in schemes if s not in init_mod.INITIALIZERS and s not in ("lsuv", "orthogonal_relu")]
    if unknown:
        raise ValueError(f"init_training.run: unknown schemes {unknown}")
    data = load_digits(seed=data_seed, scale="standard")
    d, c = data.x_train.shape[1], int(data.y_train.max()) + 1
    dims = [d] + [width] * (depth - 1) + [c]
    runs = {}
    with one_blas_thread():
        for scheme in schemes:
            for seed in seeds:
                model = _model(scheme, dims, seed, data.x_train[:256])
                first = np.random.default_rng(seed).permutation(len(data.y_train))[:batch_size]  # Solver's first batch
                _, grads = model.loss(data.x_train[first], data.y_train[first])
                solver = Solver(model, data, SGD(lr, momentum=momentum), batch_size=batch_size, epochs=epochs,
                                seed=seed, progress=progress)
                history = solver.train()
                spe = history.steps_per_epoch
                runs[scheme, seed] = InitTrainingRun(
                    scheme=scheme, seed=seed, history=history,
                    grad_abs_mean=np.array([g.abs_mean for g in gradient_stats({f"W{i}": grads[f"W{i}"]
                                                                                 for i in range(1, depth + 1)})]),
                    initial_loss=history.loss[0], final_loss=float(np.mean(history.loss[-spe:])),
                    val_acc=history.val_acc[-1],
                )
    return InitTrainingResult(
        schemes=tuple(schemes), seeds=tuple(seeds), runs=runs, dims=tuple(dims), chance_loss=math.log(c),
        config=dict(depth=depth, width=width, schemes=tuple(schemes), seeds=tuple(seeds), epochs=epochs, lr=lr,
                    momentum=momentum, batch_size=batch_size, data_seed=data_seed),
    )
