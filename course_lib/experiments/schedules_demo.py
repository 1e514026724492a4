r"""Learning-rate schedules: their shapes, and their effect on one real run.

The slides' decays -- step (halve every few epochs), exponential :math:`\alpha_0 e^{-kt}` and
1/t :math:`\alpha_0/(1 + kt)` -- plus cosine annealing (Loshchilov & Hutter 2017) and a linear
warmup into cosine (Goyal et al. 2017), all from :mod:`course_lib.scratch.schedules`, evaluated
at every step of a run of ``epochs`` epochs. Each one then trains the same network as
:mod:`~course_lib.experiments.lr_curves` (digits, 64 - 100 - 10, SGD with momentum 0.9, batches
of 32) from the same :math:`\alpha_0` = ``lr0``, chosen on the high side, where a constant rate
leaves the loss bouncing on a plateau.

What must show (``tests/test_experiments_optimization.py``, over seeds): every decaying schedule
ends with a lower training loss than the constant rate.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from course_lib.scratch import optim, schedules

from .lr_curves import train_digits

__all__ = ["SchedulesResult", "make_schedules", "run"]

DIGITS_TRAIN = 1077  # training images of load_digits


def make_schedules(lr0: float, total: int, per_epoch: int) -> dict:
    """label -> lr_at(t) over ``total`` steps (``per_epoch`` steps per epoch)."""
    return {
        "constant": schedules.constant(lr0),
        "step (halve every 4 epochs)": schedules.step_decay(lr0, step_size=4 * per_epoch, gamma=0.5),
        "exponential": schedules.exponential_decay(lr0, k=np.log(100.0) / total),
        "1/t": schedules.inverse_time_decay(lr0, k=20.0 / total),
        "cosine": schedules.cosine(lr0, t_max=total),
        "warmup + cosine": schedules.linear_warmup(lr0, per_epoch, after=schedules.cosine(lr0, total - per_epoch)),
    }


@dataclass(frozen=True, eq=False)
class SchedulesResult:
    labels: tuple
    lr: np.ndarray  # (labels, steps) the learning rate at each step
    curves: np.ndarray  # (labels, epochs) mean mini-batch loss per epoch
    steps_per_epoch: int
    config: dict

    def final(self, label: str) -> float:
        return float(self.curves[self.labels.index(label), -1])


def run(lr0: float = 0.5, epochs: int = 20, batch_size: int = 32, momentum: float = 0.9,
        seed: int = 0) -> SchedulesResult:
    """Every schedule of :func:`make_schedules`, plotted and trained once."""
    per = -(-DIGITS_TRAIN // batch_size)
    total = per * epochs
    scheds = make_schedules(lr0, total, per)
    lr = np.array([[s(t) for t in range(total)] for s in scheds.values()])
    curves = np.array([train_digits(optim.SGD(lr0, momentum=momentum), s, epochs=epochs, batch_size=batch_size,
                                    seed=seed)[0] for s in scheds.values()])
    return SchedulesResult(labels=tuple(scheds), lr=lr, curves=curves, steps_per_epoch=per,
                           config=dict(lr0=lr0, epochs=epochs, batch_size=batch_size, momentum=momentum))
