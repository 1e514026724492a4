r"""Batch norm as a regularizer: an example's output depends on its batch companions.

In training mode an example is normalized with the mean and variance of its batch, so the same
image gives different outputs in different batches: a noise that shrinks as the batch grows
(the slides: "a single instance is seen in conjunction with other samples of the batch";
Ioffe & Szegedy 2015, Sec. 3.4).

1. **The noise** (:func:`companions`). An MLP 64-100-100-10 with batch norm before each ReLU is
   trained on digits (:func:`course_lib.experiments.bn_modes.train_bn_mlp`). Then, in training
   mode, each of ``examples`` validation images is put into ``draws`` batches of size B with random
   training images as companions; we record the spread (std over the draws) of its
   probability for its true class, and how often its predicted class differs from the prediction
   in eval mode.
2. **The generalization gap** (:func:`gap`). The same MLP with and without batch norm, trained by
   the Solver on a subset of ``n_train`` training images for ``epochs`` epochs (batch 16, SGD with
   momentum, lr 0.05); training and validation accuracy (eval mode) after every epoch, over seeds.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from course_lib.data import load_digits
from course_lib.scratch.model import MLP
from course_lib.scratch.optim import SGD
from course_lib.scratch.solver import Solver

from ._threads import one_blas_thread
from .bn_modes import train_bn_mlp

__all__ = ["CompanionResult", "GapResult", "companions", "gap"]


def _softmax(s: np.ndarray) -> np.ndarray:
    e = np.exp(s - s.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


@dataclass(frozen=True, eq=False)
class CompanionResult:
    sizes: tuple  # batch sizes B
    prob_std: np.ndarray  # (len(sizes),) std over draws of p(true class), mean over examples
    flip_rate: np.ndarray  # (len(sizes),) fraction of draws whose prediction differs from eval mode
    example_probs: np.ndarray  # (len(sizes), draws) p(true class) of the most affected example
    example_eval_prob: float  # the same example's p(true class) in eval mode
    eval_acc: float


def companions(sizes=(2, 4, 8, 16, 32, 64, 128), examples: int = 30, draws: int = 50, epochs: int = 10,
               seed: int = 0) -> CompanionResult:
    data = load_digits(seed=0, scale="standard")
    model = train_bn_mlp(data, epochs=epochs, seed=seed)
    rng = np.random.default_rng([seed, 3])
    pick = rng.choice(len(data.y_val), examples, replace=False)
    xs, ys = data.x_val[pick], data.y_val[pick]
    with one_blas_thread():
        eval_probs = _softmax(model.eval().scores(xs))
        eval_pred = eval_probs.argmax(axis=1)
        model.train()
        probs = np.zeros((len(sizes), examples, draws))
        flips = np.zeros((len(sizes), examples, draws))
        for i, b in enumerate(sizes):
            for e in range(examples):
                for r in range(draws):
                    mates = rng.choice(len(data.y_train), b - 1, replace=False)
                    batch = np.vstack([xs[e:e + 1], data.x_train[mates]])
                    p = _softmax(model.scores(batch)[:1])[0]
                    probs[i, e, r] = p[ys[e]]
                    flips[i, e, r] = p.argmax() != eval_pred[e]
        model.eval()
    worst = int(np.argmax(probs[0].std(axis=1)))
    return CompanionResult(sizes=tuple(sizes), prob_std=probs.std(axis=2).mean(axis=1),
                           flip_rate=flips.mean(axis=(1, 2)), example_probs=probs[:, worst, :],
                           example_eval_prob=float(eval_probs[worst, ys[worst]]),
                           eval_acc=float(np.mean(eval_pred == ys)))


@dataclass(frozen=True, eq=False)
class GapResult:
    norms: tuple  # "none", "batch"
    train_acc: dict  # norm -> (seeds, epochs) training accuracy (eval mode)
    val_acc: dict  # norm -> (seeds, epochs) validation accuracy
    n_train: int
    seeds: tuple

    def final_gap(self, norm: str) -> np.ndarray:
        """(seeds,) training minus validation accuracy at the last epoch."""
        return self.train_acc[norm][:, -1] - self.val_acc[norm][:, -1]


def gap(n_train: int = 300, epochs: int = 30, batch_size: int = 16, seeds=(0, 1, 2)) -> GapResult:
    data = load_digits(seed=0, scale="standard")
    sub = {"x_train": data.x_train[:n_train], "y_train": data.y_train[:n_train],
           "x_val": data.x_val, "y_val": data.y_val}
    train_acc = {n: np.zeros((len(seeds), epochs)) for n in ("none", "batch")}
    val_acc = {n: np.zeros((len(seeds), epochs)) for n in ("none", "batch")}
    with one_blas_thread():
        for norm in ("none", "batch"):
            for j, s in enumerate(seeds):
                model = MLP([64, 100, 100, 10], init="he_normal", rng=s, norm=None if norm == "none" else "batch")
                solver = Solver(model, sub, SGD(lr=0.05, momentum=0.9), batch_size=batch_size, epochs=epochs,
                                seed=s, progress=False)
                solver.train()
                train_acc[norm][j], val_acc[norm][j] = solver.history.train_acc, solver.history.val_acc
    return GapResult(norms=("none", "batch"), train_acc=train_acc, val_acc=val_acc, n_train=n_train,
                     seeds=tuple(seeds))
