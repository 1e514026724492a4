r""""Which learning rate is best?" -- the slides' sketch of four loss curves, measured.

The slides draw the training loss against the epoch for a very high learning rate (the loss
blows up or never falls), a high one (fast at first, then stuck on a plateau above the best), a
low one (a slow, almost straight decline) and a good one. Here the four curves come from one
network: a scratch :class:`~course_lib.scratch.model.MLP` 64 - 100 - 10 (ReLU, He init) on the
digits (pixels in [0, 1]), SGD with momentum 0.9, mini-batches of 32, the same initial weights
and batches for every learning rate. Each curve is the mean mini-batch loss of each epoch (nan
after a divergence). :data:`RATES` holds the four learning rates.

What must show (``tests/test_experiments_optimization.py``, over seeds): the good rate ends
lowest; the very high rate ends no better than chance (loss near :math:`\ln 10`); the low rate
falls at every epoch yet ends far above the good one; the high rate ends above the good one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from course_lib.data import load_digits
from course_lib.scratch import optim
from course_lib.scratch.model import MLP
from course_lib.scratch.solver import Solver

from ._threads import one_blas_thread

__all__ = ["LRCurvesResult", "RATES", "epoch_losses", "run"]

RATES: dict[str, float] = {"very high": 3.0, "high": 0.5, "low": 0.003, "good": 0.1}


def epoch_losses(history, epochs: int) -> np.ndarray:
    """(epochs,) mean mini-batch loss of each epoch of a Solver history (nan where it never got)."""
    out = np.full(epochs, np.nan)
    loss, per = np.asarray(history.loss, dtype=np.float64), history.steps_per_epoch
    full = min(len(loss) // per, epochs)
    out[:full] = loss[: full * per].reshape(full, per).mean(axis=1)
    return out


def train_digits(optimizer, schedule=None, *, hidden: int = 100, epochs: int = 20, batch_size: int = 32,
                 seed: int = 0):
    """One 64-hidden-10 ReLU net on digits; returns (per-epoch losses, history, model, data)."""
    data = load_digits(seed=seed, scale="unit")
    model = MLP((64, hidden, 10), activation="relu", init="he_normal", rng=np.random.default_rng([seed, 1]))
    solver = Solver(model, data, optimizer, schedule, batch_size=batch_size, epochs=epochs, seed=seed,
                    progress=False, max_eval=100)
    with one_blas_thread():
        try:
            history = solver.train()
        except FloatingPointError:
            history = solver.history
    return epoch_losses(history, epochs), history, model, data


@dataclass(frozen=True, eq=False)
class LRCurvesResult:
    labels: tuple  # "very high", "high", "low", "good"
    rates: tuple  # the learning rates, same order
    curves: np.ndarray  # (labels, epochs) mean mini-batch loss per epoch
    initial_loss: float  # ln(10), the loss of a uniform guess
    config: dict

    def final(self, label: str) -> float:
        return float(self.curves[self.labels.index(label), -1])


def run(rates: dict | None = None, epochs: int = 20, momentum: float = 0.9, seed: int = 0) -> LRCurvesResult:
    """One training run per learning rate of ``rates`` (default :data:`RATES`)."""
    rates = dict(RATES if rates is None else rates)
    curves = np.array([train_digits(optim.SGD(lr, momentum=momentum), epochs=epochs, seed=seed)[0]
                       for lr in rates.values()])
    return LRCurvesResult(labels=tuple(rates), rates=tuple(rates.values()), curves=curves,
                          initial_loss=float(np.log(10.0)), config=dict(epochs=epochs, momentum=momentum, seed=seed))
