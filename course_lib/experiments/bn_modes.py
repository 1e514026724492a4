r"""Batch norm at training and at test time: the running averages, and forgetting ``eval()``.

Two measurements (Ioffe & Szegedy 2015, Algorithm 2; PyTorch's ``nn.BatchNorm1d`` conventions).

1. **The running averages converge to the population statistics** (:func:`running`). The population
   is the pre-activations of a fixed random Linear layer 64 -> 16 on the 1077 training digits; the
   running estimates see one mini-batch of ``batch_size`` rows after another (a fresh permutation
   every epoch), and we follow, per step, the running variance divided by the population variance
   (averaged over the features) and the error of the running mean (in population standard
   deviations) for three estimators:

   * torch's exponential average, ``momentum`` 0.1 weighting the new batch, of the batch mean and
     of the UNBIASED batch variance (:func:`course_lib.scratch.batchnorm.update_running`);
   * the same with the BIASED batch variance (the slip of several courses): it settles at
     :math:`(m - 1)/m` of the population variance for batches of m;
   * the paper's Algorithm 2: the plain average over every batch so far of :math:`\mu_B` and of
     :math:`\frac{m}{m-1} \sigma_B^2`.

2. **Forgetting eval mode** (:func:`modes`). An MLP 64-100-100-10 with batch norm before each ReLU
   (He-normal weights) is trained on digits by the Solver (SGD with momentum 0.9, lr 0.05, batch 32).
   Then the test set is classified in eval mode (running statistics, each example alone) and in
   training mode (each test batch normalized with its own statistics), for test batches of
   2, 4, ..., 64 examples drawn at random, for the whole test set as one batch, and for batches of
   a single class (the test set sorted by label). A batch of one in training mode is an error.
   The scratch MLP updates its running statistics only inside ``loss()``; torch's
   ``nn.BatchNorm1d`` also updates them on every forward pass in ``train()`` mode, so forgetting
   ``eval()`` there also rewrites the running statistics with the test batches.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from course_lib.data import load_digits
from course_lib.scratch import batchnorm as bn
from course_lib.scratch.model import MLP
from course_lib.scratch.optim import SGD
from course_lib.scratch.solver import Solver

from ._threads import one_blas_thread

__all__ = ["RunningResult", "ModesResult", "running", "modes", "train_bn_mlp"]

ESTIMATORS = ("torch (unbiased var)", "biased var", "paper (Algorithm 2)")


@dataclass(frozen=True, eq=False)
class RunningResult:
    batch_size: int
    momentum: float
    var_ratio: dict  # estimator -> (runs, steps) running var / population var, averaged over features
    mean_error: dict  # estimator -> (runs, steps) mean |running mean - pop mean| / pop std
    batch_mean_error: float  # the same error for a single batch's mean (averaged over batches)

    @property
    def steps(self) -> int:
        return next(iter(self.var_ratio.values())).shape[1]

    def final(self, estimator: str) -> float:
        """Running var / population var, mean over the runs and the second half of the steps."""
        return float(self.var_ratio[estimator][:, self.steps // 2:].mean())

    def final_mean_error(self, estimator: str) -> float:
        """Error of the running mean (population stds), mean over runs and the second half of the steps."""
        return float(self.mean_error[estimator][:, self.steps // 2:].mean())


def running(batch_size: int = 4, steps: int = 300, runs: int = 40, momentum: float = 0.1,
            seed: int = 0) -> RunningResult:
    """Follow the three running estimators of :data:`ESTIMATORS` over ``steps`` batches, ``runs`` times
    (each run its own batches), to see both their average and their spread."""
    rng = np.random.default_rng(seed)
    data = load_digits(seed=0, scale="standard")
    w = rng.standard_normal((64, 16)) / 8.0
    pop = data.x_train @ w + rng.standard_normal(16)  # (1077, 16) the population
    pop_mean, pop_var = pop.mean(axis=0), pop.var(axis=0)
    n = pop.shape[0]
    ratio = {e: np.empty((runs, steps)) for e in ESTIMATORS}
    err = {e: np.empty((runs, steps)) for e in ESTIMATORS}
    batch_err = []
    for r in range(runs):
        state = {e: (np.zeros(16), np.ones(16)) for e in ESTIMATORS[:2]}  # torch's starting values
        sums = [np.zeros(16), np.zeros(16)]
        order, pos = rng.permutation(n), 0
        for t in range(steps):
            if pos + batch_size > n:
                order, pos = rng.permutation(n), 0
            xb = pop[order[pos:pos + batch_size]]
            pos += batch_size
            mu, var = xb.mean(axis=0), xb.var(axis=0)  # var: biased, what BN normalizes with
            batch_err.append(np.mean(np.abs(mu - pop_mean) / np.sqrt(pop_var)))
            m, v = state[ESTIMATORS[0]]
            state[ESTIMATORS[0]] = bn.update_running(m, v, mu, var, batch_size, momentum=momentum)
            m, v = state[ESTIMATORS[1]]
            state[ESTIMATORS[1]] = ((1 - momentum) * m + momentum * mu, (1 - momentum) * v + momentum * var)
            sums[0] += mu
            sums[1] += var
            estimates = dict(state)
            estimates[ESTIMATORS[2]] = (sums[0] / (t + 1), batch_size / (batch_size - 1) * sums[1] / (t + 1))
            for e, (m, v) in estimates.items():
                ratio[e][r, t] = np.mean(v / pop_var)
                err[e][r, t] = np.mean(np.abs(m - pop_mean) / np.sqrt(pop_var))
    return RunningResult(batch_size=batch_size, momentum=momentum, var_ratio=ratio, mean_error=err,
                         batch_mean_error=float(np.mean(batch_err)))


def train_bn_mlp(data, *, hidden=(100, 100), norm="batch", norm_position="before", activation="relu",
                 epochs: int = 10, batch_size: int = 32, lr: float = 0.05, seed: int = 0) -> MLP:
    """An MLP (He-normal weights, optionally batch norm) trained on ``data`` by the Solver,
    SGD with momentum 0.9; returned in eval mode."""
    model = MLP([data.x_train.shape[1], *hidden, 10], activation=activation, init="he_normal", rng=seed,
                norm=norm, norm_position=norm_position)
    with one_blas_thread():
        Solver(model, data, SGD(lr=lr, momentum=0.9), batch_size=batch_size, epochs=epochs, seed=seed,
               progress=False).train()
    return model.eval()


@dataclass(frozen=True, eq=False)
class ModesResult:
    eval_acc: float  # test accuracy in eval mode (running statistics)
    full_batch_acc: float  # training mode, the whole test set as one batch
    batch_sizes: tuple  # test batch sizes tried in training mode
    train_mode_acc: np.ndarray  # (len(batch_sizes),) accuracy, mean over random batchings
    disagree: np.ndarray  # (len(batch_sizes),) fraction of predictions that differ from eval mode
    single_class_acc: float  # training mode, batches of one class (the test set sorted)
    single_class_eval_acc: float  # eval mode on the same sorted batches (same as eval_acc)
    batch_of_one_error: str  # the message of the error a batch of one raises in training mode
    score_gap_batch2: float  # median over examples of max |score train mode (batch 2) - eval mode|
    score_scale: float  # median over examples of max |score| in eval mode


def modes(batch_sizes=(2, 4, 8, 16, 32, 64), repeats: int = 5, epochs: int = 10, seed: int = 0) -> ModesResult:
    """Train the BN MLP, then classify the test set in eval mode and in training mode."""
    data = load_digits(seed=0, scale="standard")
    model = train_bn_mlp(data, epochs=epochs, seed=seed)
    x, y = data.x_test, data.y_test
    rng = np.random.default_rng([seed, 1])
    with one_blas_thread():
        eval_scores = model.eval().scores(x)
        eval_pred = eval_scores.argmax(axis=1)
        model.train()
        full = float(np.mean(model.predict(x) == y))
        accs, dis = [], []
        for b in batch_sizes:
            acc, d = [], []
            for _ in range(repeats):
                order = rng.permutation(len(y))
                usable = len(y) - len(y) % b  # whole batches only
                pred = np.empty(len(y), dtype=int)
                for start in range(0, usable, b):
                    idx = order[start:start + b]
                    pred[idx] = model.predict(x[idx])
                kept = order[:usable]
                acc.append(np.mean(pred[kept] == y[kept]))
                d.append(np.mean(pred[kept] != eval_pred[kept]))
            accs.append(np.mean(acc))
            dis.append(np.mean(d))
        correct = 0
        for k in range(10):
            idx = np.flatnonzero(y == k)
            correct += int(np.sum(model.predict(x[idx]) == k))
        single = correct / len(y)
        try:
            model.scores(x[:1])
            message = ""
        except ValueError as err:
            message = str(err)
        order = rng.permutation(len(y))
        gaps = []
        for start in range(0, len(y) - 1, 2):
            idx = order[start:start + 2]
            gaps.extend(np.max(np.abs(model.scores(x[idx]) - eval_scores[idx]), axis=1))
        model.eval()
    return ModesResult(
        eval_acc=float(np.mean(eval_pred == y)), full_batch_acc=full, batch_sizes=tuple(batch_sizes),
        train_mode_acc=np.array(accs), disagree=np.array(dis), single_class_acc=float(single),
        single_class_eval_acc=float(np.mean(eval_pred == y)), batch_of_one_error=message,
        score_gap_batch2=float(np.median(gaps)), score_scale=float(np.median(np.max(np.abs(eval_scores), axis=1))),
    )
