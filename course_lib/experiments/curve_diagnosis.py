r"""One real run per row of the loss-curve diagnosis table, classified by ``babysit.diagnose_curves``.

Protocol (the slides' "monitor and visualize the loss curve" and "the accuracy": big gap =
overfitting, no gap = too little capacity): scikit-learn digits, standardized with the
training split's statistics (1077 / 360 / 360), SGD with momentum 0.9, batch 64, softmax
cross-entropy, 20 epochs (100 for the overfitting row, whose training set is small), one
evaluation of the training and validation accuracy per epoch. Each row of
:data:`course_lib.babysit.DIAGNOSES` gets a configuration built to show it:

==============  ====================================================================
row             configuration
==============  ====================================================================
lr_too_high     64-100-10 ReLU, He init, learning rate 5.0: the loss explodes
lr_too_low      64-100-10 ReLU, Xavier init, learning rate 1e-4: a slow, nearly straight decrease
bad_init        64-50-50-50-50-50-10 tanh, weights N(0, 0.05^2), learning rate 0.02:
                the signal dies out in the depth, the loss sits at ln 10, then drops
overfitting     64-200-10 ReLU, He init, learning rate 0.05, only 50 training examples
no_gap          a linear classifier (64-10) with a strong L2 penalty (reg = 1): train = val, both low
healthy         64-100-10 ReLU, He init, learning rate 0.02
==============  ====================================================================

What must show: :func:`~course_lib.babysit.diagnose_curves` puts every run in its own row,
for every seed. A diverged run keeps the losses recorded before the ``FloatingPointError``
(plus an ``inf``), so its row is read off the explosion.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from course_lib.babysit import Diagnosis, diagnose_curves
from course_lib.data import load_digits
from course_lib.scratch.model import MLP
from course_lib.scratch.optim import SGD
from course_lib.scratch.solver import History, Solver

from ._threads import one_blas_thread

__all__ = ["CurveRun", "CurveDiagnosisResult", "CASES", "run"]

CASES = ("lr_too_high", "lr_too_low", "bad_init", "overfitting", "no_gap", "healthy")
"""The rows of the table, in the order the chapter shows them."""


@dataclass(frozen=True, eq=False)
class CurveRun:
    case: str
    seed: int
    loss: np.ndarray  # (T,) per-step training loss; a last inf if the run diverged
    train_acc: np.ndarray  # (E,) per epoch
    val_acc: np.ndarray  # (E,) per epoch
    steps_per_epoch: int
    diagnosis: Diagnosis
    description: str

    @property
    def kind(self) -> str:
        return self.diagnosis.kind

    @property
    def gap(self) -> float:
        """Last training accuracy minus last validation accuracy (nan without an evaluation)."""
        if not len(self.train_acc):
            return float("nan")
        return float(self.train_acc[-1] - self.val_acc[-1])


@dataclass(frozen=True, eq=False)
class CurveDiagnosisResult:
    cases: tuple
    seeds: tuple
    runs: dict  # (case, seed) -> CurveRun
    config: dict

    def kinds(self, case: str) -> list[str]:
        return [self.runs[case, s].kind for s in self.seeds]

    def table(self) -> str:
        lines = [f"{'run':<13}{'seed':>5}{'epochs':>7}{'last train':>11}{'last val':>9}  diagnosis",
                 "-" * 78]
        for (case, seed), r in self.runs.items():
            tr = f"{r.train_acc[-1]:.3f}" if len(r.train_acc) else "-"
            va = f"{r.val_acc[-1]:.3f}" if len(r.val_acc) else "-"
            lines.append(f"{case:<13}{seed:>5}{len(r.train_acc):>7}{tr:>11}{va:>9}  {r.kind}")
        return "\n".join(lines)


def _configs(data, n_small: int) -> dict[str, tuple[Callable[[int], MLP], object, float, int, str]]:
    d, c = data.x_train.shape[1], int(data.y_train.max()) + 1
    small = dict(x_train=data.x_train[:n_small], y_train=data.y_train[:n_small], x_val=data.x_val,
                 y_val=data.y_val)
    return {
        "lr_too_high": (lambda s: MLP([d, 100, c], init="he_normal", rng=s), data, 5.0, 20,
                        f"{d}-100-{c} ReLU, He init, lr 5.0"),
        "lr_too_low": (lambda s: MLP([d, 100, c], init="xavier_normal", rng=s), data, 1e-4, 20,
                       f"{d}-100-{c} ReLU, Xavier init, lr 1e-4"),
        "bad_init": (lambda s: MLP([d] + [50] * 5 + [c], activation="tanh", weight_scale=0.05, rng=s), data,
                     0.02, 20, f"{d}-50x5-{c} tanh, weights N(0, 0.05^2), lr 0.02"),
        "overfitting": (lambda s: MLP([d, 200, c], init="he_normal", rng=s), small, 0.05, 100,
                        f"{d}-200-{c} ReLU, {n_small} training examples, lr 0.05"),
        "no_gap": (lambda s: MLP([d, c], init="xavier_normal", reg=1.0, rng=s), data, 0.02, 20,
                   f"linear {d}-{c}, L2 reg 1.0, lr 0.02"),
        "healthy": (lambda s: MLP([d, 100, c], init="he_normal", rng=s), data, 0.02, 20,
                    f"{d}-100-{c} ReLU, He init, lr 0.02"),
    }


def run(cases: tuple = CASES, seeds: tuple = (0,), n_small: int = 50, momentum: float = 0.9,
        batch_size: int = 64, data_seed: int = 0, progress: bool = False) -> CurveDiagnosisResult:
    """Train every case once per seed and classify its curves (a few seconds per seed)."""
    data = load_digits(seed=data_seed, scale="standard")
    configs = _configs(data, n_small)
    unknown = [c for c in cases if c not in configs]
    if unknown:
        raise ValueError(f"curve_diagnosis.run: unknown cases {unknown}; choose from {CASES}")
    runs = {}
    with one_blas_thread():
        for case in cases:
            factory, split, lr, epochs, text = configs[case]
            for seed in seeds:
                solver = Solver(factory(seed), split, SGD(lr, momentum=momentum), batch_size=batch_size,
                                epochs=epochs, seed=seed, progress=progress)
                try:
                    history = solver.train()
                    loss = np.array(history.loss)
                except FloatingPointError:
                    history = solver.history
                    loss = np.array(history.loss + [np.inf])
                runs[case, seed] = _record(case, seed, loss, history, text)
    return CurveDiagnosisResult(cases=tuple(cases), seeds=tuple(seeds), runs=runs,
                                config=dict(n_small=n_small, momentum=momentum, batch_size=batch_size,
                                            data_seed=data_seed))


def _record(case: str, seed: int, loss: np.ndarray, history: History, text: str) -> CurveRun:
    train_acc, val_acc = np.array(history.train_acc), np.array(history.val_acc)
    return CurveRun(case=case, seed=seed, loss=loss, train_acc=train_acc, val_acc=val_acc,
                    steps_per_epoch=history.steps_per_epoch,
                    diagnosis=diagnose_curves(loss, val_acc, train_acc), description=text)
