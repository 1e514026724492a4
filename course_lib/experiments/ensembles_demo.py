r"""Model ensembles and parameter averaging, measured (the slides' "enjoy 2% extra performance").

Protocol: MNIST-1D (Greydanus & Kobak 2024; 3500 training, 500 validation, 1000 test signals), a
40-100-100-10 ReLU MLP with He initialization, softmax cross-entropy, L2 1e-4, SGD with momentum
0.9 at a constant learning rate ``lr``, batch 64, ``epochs`` epochs. Nothing is tuned on the test
split: every number below is a test accuracy of a model fixed in advance.

1. **Independent models** (Dietterich 2000): ``members`` nets that differ only in their seed
   (initial weights and mini-batch order); the ensemble averages their class probabilities
   (:func:`course_lib.ensembles.ensemble_accuracy`).
2. **Checkpoints of one run**: the parameters at the end of each of the last ``snapshots``
   epochs of member 0; averaged as predictions (an ensemble of snapshots, cf. Huang et al. 2017)
   and as parameters (:func:`course_lib.ensembles.average_checkpoints`, cf. Izmailov et al. 2018).
3. **A running average of the parameters**: during the same run, an exponential moving average
   (:class:`course_lib.ensembles.EMACallback`, decay ``ema_decay``) and a Polyak-Ruppert uniform
   average of the iterates of the second half of training (Polyak & Juditsky 1992), against the
   final iterate. A constant learning rate leaves SGD jittering around a minimum; the averages
   sit nearer its centre.

What must show (over seeds): the ensemble beats the mean of its members and its log-loss is
below their mean log-loss (Jensen: always); averaging the iterates (EMA, Polyak) does at least as
well as the final iterate on average.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from course_lib import ensembles
from course_lib.data import load_mnist1d
from course_lib.scratch.model import MLP
from course_lib.scratch.optim import SGD
from course_lib.scratch.solver import Solver

from ._threads import one_blas_thread

__all__ = ["EnsemblesResult", "run"]


class _EpochSnapshots:
    """A Solver callback keeping the parameters at the end of every epoch from epoch ``first`` on."""

    def __init__(self, first: int):
        self.first = first
        self.params: list[dict] = []

    def __call__(self, solver: Solver) -> None:
        h = solver.history
        if h.steps % h.steps_per_epoch == 0 and h.steps // h.steps_per_epoch >= self.first:
            self.params.append(ensembles.get_params(solver.model))


@dataclass(frozen=True, eq=False)
class EnsemblesResult:
    member_acc: np.ndarray  # (M,) test accuracy of each member
    ensemble_acc: np.ndarray  # (M,) test accuracy of the ensemble of the first k members, k = 1..M
    member_logloss: np.ndarray  # (M,)
    ensemble_logloss: float  # of all M members
    final_acc: float  # member 0's final iterate
    snapshot_pred_acc: float  # average of the predictions of the last snapshots of member 0
    snapshot_param_acc: float  # the model with the average of those snapshots' parameters
    ema_acc: float  # member 0 with its EMA parameters
    polyak_acc: float  # member 0 with the uniform average of its second-half iterates
    final_val: float
    ema_val: float
    polyak_val: float
    seed: int
    config: dict

    @property
    def gain(self) -> float:
        """Ensemble accuracy minus the mean member accuracy."""
        return float(self.ensemble_acc[-1] - self.member_acc.mean())

    def table(self) -> str:
        members = ", ".join(f"{a:.3f}" for a in self.member_acc)
        ensembles = ", ".join(f"{a:.3f}" for a in self.ensemble_acc)
        lines = [f"members' test accuracy: {members} (mean {self.member_acc.mean():.3f})",
                 f"ensemble of k = 1..{len(self.member_acc)}: {ensembles}",
                 f"log-loss: members' mean {self.member_logloss.mean():.3f}, "
                 f"ensemble {self.ensemble_logloss:.3f}",
                 "one run:",
                 f"  final iterate                    {self.final_acc:.3f}",
                 f"  snapshots averaged (predictions) {self.snapshot_pred_acc:.3f}",
                 f"  snapshots averaged (parameters)  {self.snapshot_param_acc:.3f}",
                 f"  EMA of the parameters            {self.ema_acc:.3f}",
                 f"  Polyak average                   {self.polyak_acc:.3f}"]
        return "\n".join(lines)


def run(members: int = 5, epochs: int = 15, lr: float = 0.05, reg: float = 1e-4, hidden: tuple = (100, 100),
        snapshots: int = 5, ema_decay: float = 0.99, seed: int = 0, data_seed: int = 42,
        progress: bool = False) -> EnsemblesResult:
    """Train ``members`` nets (seeds ``seed*members + i``); member 0 also records snapshots and averages."""
    if not 1 <= snapshots <= epochs:
        raise ValueError(f"ensembles_demo.run: snapshots must lie in 1..{epochs}, got {snapshots}")
    if members < 2:
        raise ValueError(f"ensembles_demo.run: members must be >= 2, got {members}")
    data = load_mnist1d(seed=data_seed)
    d, c = data.x_train.shape[1], int(data.y_train.max()) + 1
    dims = [d, *hidden, c]
    models = []
    with one_blas_thread():
        for i in range(members):
            s = seed * members + i
            model = MLP(dims, init="he_normal", reg=reg, rng=s)
            callbacks = []
            if i == 0:
                snaps = _EpochSnapshots(first=epochs - snapshots + 1)
                spe = -(-data.x_train.shape[0] // 64)
                ema = ensembles.EMACallback(decay=ema_decay)
                polyak = ensembles.EMACallback(decay=None, start=(epochs // 2) * spe)
                callbacks = [snaps, ema, polyak]
            Solver(model, data, SGD(lr, momentum=0.9), epochs=epochs, seed=s, progress=progress,
                   callbacks=callbacks).train()
            models.append(model)
        x, y = data.x_test, data.y_test
        member_acc = np.array([m.accuracy(x, y) for m in models])
        ens_acc = np.array([ensembles.ensemble_accuracy(models[:k], x, y) for k in range(1, members + 1)])
        member_ll = np.array([ensembles.log_loss(ensembles.predict_proba(m, x), y) for m in models])
        ens_ll = ensembles.log_loss(ensembles.average_probabilities(models, x), y)
        m0 = models[0]
        snap_models = []
        for p in snaps.params:
            copy = MLP(dims, init="he_normal", reg=reg, rng=0)
            ensembles.set_params(copy, p)
            snap_models.append(copy)
        snapshot_pred = ensembles.ensemble_accuracy(snap_models, x, y)
        with ensembles.with_params(m0, ensembles.average_checkpoints(snaps.params)):
            snapshot_param = m0.accuracy(x, y)
        with ensembles.with_params(m0, ema.average):
            ema_acc, ema_val = m0.accuracy(x, y), m0.accuracy(data.x_val, data.y_val)
        with ensembles.with_params(m0, polyak.average):
            polyak_acc, polyak_val = m0.accuracy(x, y), m0.accuracy(data.x_val, data.y_val)
        final_val = m0.accuracy(data.x_val, data.y_val)
    return EnsemblesResult(member_acc=member_acc, ensemble_acc=ens_acc, member_logloss=member_ll,
                           ensemble_logloss=ens_ll, final_acc=float(member_acc[0]),
                           snapshot_pred_acc=float(snapshot_pred), snapshot_param_acc=float(snapshot_param),
                           ema_acc=float(ema_acc), polyak_acc=float(polyak_acc), final_val=float(final_val),
                           ema_val=float(ema_val), polyak_val=float(polyak_val), seed=seed,
                           config=dict(members=members, epochs=epochs, lr=lr, reg=reg, hidden=hidden,
                                       snapshots=snapshots, ema_decay=ema_decay))
