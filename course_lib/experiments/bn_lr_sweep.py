r"""Batch norm allows higher learning rates (Ioffe & Szegedy 2015, Sec. 3.3): a learning-rate sweep.

Protocol: scikit-learn digits standardized, an MLP 64 - 100 x ``depth`` - 10 with ReLU hidden
units and He-normal weights, softmax cross-entropy, plain SGD (no momentum) on mini-batches of 64
for ``steps`` steps, once without and once with batch norm between every hidden Linear and its
ReLU (same initial weights and mini-batches), for every learning rate of a log grid. A run that
produces a non-finite loss is stopped and counted as diverged.

Recorded per (label, learning rate, seed): the mean training loss over the last ``tail`` steps
(inf when diverged) and the validation accuracy at the end (evaluation mode; nan when diverged). A run **trains**
when it did not diverge and its validation accuracy is at least ``threshold``.

Why batch norm helps (the paper's Sec. 3.3 argument): a batch-normalized layer's output does not
change when its weights are scaled, :math:`\mathrm{BN}(h (aW)) = \mathrm{BN}(h W)`, so the
gradient scales the other way, :math:`\partial J / \partial (aW) = a^{-1} \partial J / \partial W`.
A step that is too large grows the weights, which shrinks the next gradients and the effective
step: the layer's scale stabilizes itself instead of blowing up.

What must show: the largest learning rate that still trains is larger with batch norm.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from course_lib import checks
from course_lib.data import load_digits
from course_lib.scratch.model import MLP
from course_lib.scratch.optim import SGD
from course_lib.scratch.solver import apply_update, epoch_batches, progress_bar

from ._threads import one_blas_thread

__all__ = ["SweepResult", "run", "LABELS", "DEFAULT_LRS"]

LABELS = ("plain", "batch norm")
DEFAULT_LRS = tuple(float(v) for v in np.round(np.logspace(-2, 2, 9), 4))
"""0.01, 0.0316, 0.1, ..., 100: half a decade apart."""


@dataclass(frozen=True, eq=False)
class SweepResult:
    lrs: np.ndarray  # (K,) learning rates
    seeds: tuple
    final_loss: dict  # label -> (seeds, K) mean training loss over the last ``tail`` steps (inf: diverged)
    val_acc: dict  # label -> (seeds, K) validation accuracy at the end (nan when diverged)
    threshold: float  # accuracy a run needs to count as trained
    chance_loss: float  # ln 10
    config: dict

    def trains(self, label: str) -> np.ndarray:
        """(seeds, K) bool: the run did not diverge and reached ``threshold`` validation accuracy."""
        return np.isfinite(self.final_loss[label]) & (self.val_acc[label] >= self.threshold)

    def largest_lr(self, label: str) -> np.ndarray:
        """(seeds,) the largest learning rate of the grid that trains (nan if none does)."""
        ok = self.trains(label)
        return np.array([self.lrs[np.nonzero(row)[0][-1]] if row.any() else np.nan for row in ok])

    def table(self) -> str:
        # one group of columns per network, so the table fits 88 characters
        lines = [(" " * 9 + "".join(f"   {k:<17}" for k in self.final_loss)).rstrip(),
                 f"{'lr':>9}" + "".join(f"{'loss':>10}{'val acc':>10}" for _ in self.final_loss)
                 + "   (mean over seeds)"]
        for j, lr in enumerate(self.lrs):
            lines.append(f"{lr:>9g}" + "".join(
                f"{np.mean(self.final_loss[k][:, j]):>10.3g}{np.mean(self.val_acc[k][:, j]):>10.1%}"
                for k in self.final_loss))
        lines.append("largest lr that trains, per seed: " + "; ".join(
            f"{k}: {np.array2string(self.largest_lr(k))}" for k in self.final_loss))
        return "\n".join(lines)


def _one(norm: bool, data, dims: tuple, lr: float, steps: int, batch_size: int, tail: int,
         seed: int) -> tuple[float, float]:
    model = MLP(dims, activation="relu", init="he_normal", rng=np.random.default_rng(seed),
                norm="batch" if norm else None)
    sgd = SGD(lr=lr)
    states = {name: sgd.init(w) for name, w in model.params.items()}
    batches = np.random.default_rng([seed, 3])
    losses = []
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        while len(losses) < steps:
            for idx in epoch_batches(batches, len(data.y_train), batch_size):
                if len(idx) < batch_size:  # drop the last, smaller batch of an epoch
                    continue
                loss, grads = model.loss(data.x_train[idx], data.y_train[idx])
                if not np.isfinite(loss) or not all(np.all(np.isfinite(g)) for g in grads.values()):
                    return float("inf"), float("nan")
                apply_update(model, sgd, grads, states)
                losses.append(loss)
                if len(losses) == steps:
                    break
        model.eval()
        acc = model.accuracy(data.x_val, data.y_val)
    if not all(np.all(np.isfinite(w)) for w in model.params.values()):
        return float("inf"), float("nan")
    return float(np.mean(losses[-tail:])), float(acc)


def run(lrs: tuple = DEFAULT_LRS, depth: int = 4, width: int = 100, steps: int = 300, batch_size: int = 64,
        tail: int = 50, threshold: float = 0.8, seeds: tuple = (0,), labels: tuple = LABELS,
        progress: bool = True, data_seed: int = 0) -> SweepResult:
    """Train the ReLU MLP without and with batch norm at every learning rate of ``lrs``, for every seed
    (initial weights and mini-batches; the split comes from ``data_seed``)."""
    lrs = np.asarray(lrs, dtype=np.float64)
    if lrs.ndim != 1 or lrs.size == 0 or not np.all(np.isfinite(lrs)) or np.any(lrs <= 0):
        raise ValueError(f"bn_lr_sweep: lrs must be a non-empty 1-D sequence of positive numbers, got {lrs}")
    for name, value in (("depth", depth), ("width", width), ("steps", steps), ("batch_size", batch_size),
                        ("tail", tail)):
        checks.integer(value, name, "bn_lr_sweep", minimum=1)
    if batch_size < 2:
        raise ValueError("bn_lr_sweep: batch norm needs batch_size >= 2")
    checks.real(threshold, "threshold", "bn_lr_sweep", minimum=0)
    unknown = [k for k in labels if k not in LABELS]
    if unknown or not labels:
        raise ValueError(f"bn_lr_sweep: labels must be a non-empty subset of {LABELS}, got {labels}")
    tail = min(tail, steps)
    data = load_digits(seed=data_seed, scale="standard")
    dims = (data.n_features,) + (width,) * depth + (data.n_classes,)
    losses = {k: np.empty((len(seeds), lrs.size)) for k in labels}
    accs = {k: np.empty((len(seeds), lrs.size)) for k in labels}
    bar = progress_bar(len(labels) * len(seeds) * lrs.size, progress, desc="lr sweep")
    bar.unit = "run"
    with one_blas_thread():
        for label in labels:
            for i, seed in enumerate(seeds):
                for j, lr in enumerate(lrs):
                    losses[label][i, j], accs[label][i, j] = _one(label == "batch norm", data, dims, float(lr),
                                                                  steps, batch_size, tail, seed)
                    bar.update(1)
    bar.close()
    return SweepResult(lrs=lrs, seeds=tuple(seeds), final_loss=losses, val_acc=accs, threshold=float(threshold),
                       chance_loss=float(np.log(data.n_classes)),
                       config=dict(depth=depth, width=width, steps=steps, batch_size=batch_size, tail=tail,
                                   data_seed=data_seed))
