r"""Babysitting the learning process: the slides' checks, run on a real net before any long training.

Protocol (the slides' "practical advice", with the architecture they suggest to start with,
one hidden layer of 50 units): MNIST-1D (Greydanus & Kobak 2024; 3500 training, 500
validation signals of length 40, ten classes), a 40-50-10 ReLU MLP, softmax cross-entropy.

1. **Initial loss, regularization off.** With small random weights (std 0.01) the scores are
   all near 0, the softmax is uniform and the loss is :math:`\ln 10 = 2.303` (the slides'
   "about 2.5 for 10 classes is ok" is this number, with room for the spread of the scores).
   With He initialization the scores spread more and the loss starts higher: how much higher
   says how confident, and how wrong, the untrained net is.
2. **Regularization on**: the same weights with an L2 penalty; the loss must go up (the slides:
   "e.g. 3.2").
3. **Overfit 20 examples**, no regularization, full-batch SGD with momentum: training accuracy 100 %.
4. **Find a learning rate**: the range test of Smith (2017) on a log grid, a short run per
   learning rate from the same initial weights, with a little L2; too small barely moves the
   loss, too large blows it up.
5. **Update/weight ratios** :math:`\|\Delta W\| / \|W\|` during a short run at several learning
   rates (the rule of thumb: about :math:`10^{-3}`).

:func:`run_checkpointing` shows the last two tools of the chapter: a run interrupted by a
checkpoint and resumed is bit-identical to the run never interrupted, and early stopping
(Prechelt 1998) with ``patience`` restores the weights of the best validation accuracy.

What must show: loss = ln 10 within 1 % at small weights; He init starts above ln 10;
regularization raises the loss; 20 examples are learnt to 100 %; the range test's loss is
U-shaped (the smallest and the largest rates end worse than the best); the update/weight ratio
grows with the learning rate, roughly in proportion.
"""
from __future__ import annotations

import math
import os
import tempfile
from dataclasses import dataclass

import numpy as np

from course_lib import babysit
from course_lib.data import load_digits, load_mnist1d
from course_lib.scratch.model import MLP
from course_lib.scratch.optim import SGD
from course_lib.scratch.solver import Solver, load_checkpoint, save_checkpoint

from ._threads import one_blas_thread

__all__ = ["BabysittingResult", "run", "CheckpointResult", "run_checkpointing"]

RANGE_LRS = tuple(float(v) for v in np.geomspace(1e-4, 3.0, 10))
RATIO_LRS = (1e-4, 1e-3, 1e-2, 1e-1, 1.0)


@dataclass(frozen=True, eq=False)
class BabysittingResult:
    hidden: int
    chance_loss: float  # ln C
    small_init: babysit.InitialLossCheck  # weights N(0, 0.01^2)
    he_init: babysit.InitialLossCheck  # He normal init
    overfit: babysit.OverfitResult
    lr_range: babysit.LRRangeResult
    ratio_lrs: tuple
    ratio_W1: np.ndarray  # (len(ratio_lrs),) median ||dW1|| / ||W1|| of each short run
    ratio_W2: np.ndarray
    ratio_val_acc: np.ndarray  # (len(ratio_lrs),) validation accuracy after the short run (nan: diverged)
    config: dict

    def table(self) -> str:
        lines = [f"initial loss, weights N(0, 0.01^2): {self.small_init.measured:.4f} (ln 10 = "
                 f"{self.chance_loss:.4f}); with reg {self.small_init.reg:g}: {self.small_init.with_reg:.4f}",
                 f"initial loss, He init:             {self.he_init.measured:.4f}; with reg "
                 f"{self.he_init.reg:g}: {self.he_init.with_reg:.4f}",
                 f"overfit {self.overfit.n} examples: train accuracy {self.overfit.train_acc:.0%} after "
                 f"{self.overfit.steps} steps, loss {self.overfit.final_loss:.2e}",
                 "lr range test (mean loss of the last steps):"]
        lines += [f"  lr {lr:9.2e}  loss {loss:.4g}" for lr, loss in zip(self.lr_range.lrs, self.lr_range.loss)]
        lines.append("update/weight ratio (median over the run):")
        lines += [f"  lr {lr:9.2e}  W1 {a:.2e}  W2 {b:.2e}  val acc {v:.3f}"
                  for lr, a, b, v in zip(self.ratio_lrs, self.ratio_W1, self.ratio_W2, self.ratio_val_acc)]
        return "\n".join(lines)


def run(hidden: int = 50, seed: int = 0, reg: float = 0.01, small_reg: float = 1.0, overfit_n: int = 20,
        overfit_steps: int = 200, range_lrs: tuple = RANGE_LRS, range_steps: int = 100,
        ratio_lrs: tuple = RATIO_LRS, ratio_epochs: int = 3, data_seed: int = 42) -> BabysittingResult:
    """The five checks on MNIST-1D with a 40-``hidden``-10 ReLU net (about one second)."""
    data = load_mnist1d(seed=data_seed)
    d, c = data.x_train.shape[1], int(data.y_train.max()) + 1
    dims = [d, hidden, c]
    with one_blas_thread():
        small = babysit.initial_loss_check(MLP(dims, weight_scale=0.01, rng=seed), data.x_train, data.y_train,
                                           reg=small_reg)
        he = babysit.initial_loss_check(MLP(dims, init="he_normal", rng=seed), data.x_train, data.y_train, reg=reg)
        overfit = babysit.overfit_small_subset(lambda: MLP(dims, init="he_normal", rng=seed), data, n=overfit_n,
                                               steps=overfit_steps, lr=0.05, seed=seed)
        lr_range = babysit.lr_range_test(lambda: MLP(dims, init="he_normal", reg=1e-4, rng=seed), data,
                                         range_lrs, steps=range_steps, seed=seed)
        w1, w2, val = [], [], []
        for lr in ratio_lrs:
            solver = Solver(MLP(dims, init="he_normal", reg=1e-4, rng=seed), data, SGD(lr, momentum=0.9),
                            epochs=ratio_epochs, seed=seed, progress=False, update_ratio_every=5)
            try:
                history = solver.train()
                val.append(history.val_acc[-1])
            except FloatingPointError:
                history = solver.history
                val.append(math.nan)
            rows = {r.name: r for r in babysit.update_ratio_report(history)}
            w1.append(rows["W1"].median)
            w2.append(rows["W2"].median)
    return BabysittingResult(hidden=hidden, chance_loss=babysit.expected_initial_loss(c), small_init=small,
                             he_init=he, overfit=overfit, lr_range=lr_range, ratio_lrs=tuple(ratio_lrs),
                             ratio_W1=np.array(w1), ratio_W2=np.array(w2), ratio_val_acc=np.array(val),
                             config=dict(dims=dims, reg=reg, small_reg=small_reg, overfit_steps=overfit_steps,
                                         range_steps=range_steps, ratio_epochs=ratio_epochs, seed=seed))


@dataclass(frozen=True, eq=False)
class CheckpointResult:
    identical: bool  # resumed run == uninterrupted run, every parameter bit for bit
    max_abs_diff: float  # 0.0 when identical
    same_losses: bool  # the two histories' losses are equal
    epochs: int
    interrupt_epoch: int
    # early stopping
    patience: int
    stopped_early: bool
    best_epoch: int
    epochs_run: int
    best_val_acc: float
    final_val_acc: float  # validation accuracy of the weights the model holds at the end (the best ones)
    val_acc: np.ndarray  # per epoch, of the early-stopped run
    last_val_acc: float  # validation accuracy at the last epoch actually run (before restoring)


def run_checkpointing(seed: int = 0, epochs: int = 6, interrupt_epoch: int = 3, patience: int = 5,
                      max_epochs: int = 200, data_seed: int = 0) -> CheckpointResult:
    """A resumed run vs an uninterrupted one (digits, 64-100-10), and early stopping on an overfitting net."""
    if not 0 < interrupt_epoch < epochs:
        raise ValueError(f"run_checkpointing: interrupt_epoch must lie in 1..{epochs - 1}, got {interrupt_epoch}")
    data = load_digits(seed=data_seed, scale="standard")
    dims = [data.x_train.shape[1], 100, int(data.y_train.max()) + 1]

    def solver(n_epochs: int) -> Solver:
        return Solver(MLP(dims, init="he_normal", rng=seed, dropout=0.2), data, SGD(0.05, momentum=0.9),
                      epochs=n_epochs, seed=seed, progress=False)

    with one_blas_thread():
        straight = solver(epochs)
        straight.train()
        first = solver(interrupt_epoch)
        first.train()
        with tempfile.TemporaryDirectory() as tmp:
            path = save_checkpoint(first.checkpoint(), os.path.join(tmp, "run.npz"))
            ckpt = load_checkpoint(path)
        resumed = Solver.resume(ckpt, MLP(dims, init="he_normal", rng=seed + 1, dropout=0.2), data,
                                SGD(0.05, momentum=0.9), epochs=epochs - interrupt_epoch, progress=False)
        resumed.train()
        a, b = straight.param_arrays(), resumed.param_arrays()
        diff = max(float(np.max(np.abs(a[k] - b[k]))) for k in a)
        identical = all(np.array_equal(a[k], b[k]) for k in a)
        same_losses = straight.history.loss == resumed.history.loss

        # early stopping: few training examples, a wide net, no regularization -> validation peaks early
        small = dict(x_train=data.x_train[:200], y_train=data.y_train[:200], x_val=data.x_val, y_val=data.y_val)
        model = MLP([dims[0], 200, dims[-1]], init="he_normal", rng=seed)
        es = Solver(model, small, SGD(0.01, momentum=0.9), epochs=max_epochs, seed=seed, progress=False,
                    patience=patience)
        h = es.train()
        final = float(model.accuracy(data.x_val, data.y_val))
    return CheckpointResult(identical=identical, max_abs_diff=diff, same_losses=same_losses, epochs=epochs,
                            interrupt_epoch=interrupt_epoch, patience=patience, stopped_early=h.stopped_early,
                            best_epoch=int(h.best_epoch), epochs_run=h.epochs, best_val_acc=h.best_val_acc,
                            final_val_acc=final, val_acc=np.array(h.val_acc), last_val_acc=h.val_acc[-1])
