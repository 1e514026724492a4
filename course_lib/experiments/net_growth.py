r"""Start small, then grow: the slides' "one hidden layer of 50 neurons, then gradually add more layers".

Protocol: MNIST-1D (3500 training, 500 validation signals of length 40), ReLU MLPs with He
initialization, softmax cross-entropy, SGD with momentum 0.9, learning rate 0.05, batch 64,
``epochs`` epochs, a small L2 penalty (1e-4), the same mini-batch order for every architecture
of a seed. The architectures, from the slides' starting point outwards:

``(50,)`` -> ``(100,)`` -> ``(200,)`` -> ``(200, 200)`` -> ``(200, 200, 200)`` hidden units.

Each step is taken only if the previous net trained (the babysitting checks pass for all of
them); what is measured is the best validation accuracy of the run and the final training
accuracy. What must show: the first net is not the end of the road (the deeper nets beat it on
the validation split), and training accuracy grows with capacity faster than validation
accuracy does: the train/validation gap widens as the net grows, the sign that regularization,
not size, becomes the next knob.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from course_lib.data import load_mnist1d
from course_lib.scratch.model import MLP
from course_lib.scratch.optim import SGD
from course_lib.scratch.solver import Solver

from ._threads import one_blas_thread

__all__ = ["GrowthRun", "NetGrowthResult", "ARCHITECTURES", "run"]

ARCHITECTURES = ((50,), (100,), (200,), (200, 200), (200, 200, 200))


@dataclass(frozen=True, eq=False)
class GrowthRun:
    hidden: tuple
    seed: int
    num_params: int
    train_acc: np.ndarray  # (E,) per epoch
    val_acc: np.ndarray  # (E,)

    @property
    def best_val(self) -> float:
        return float(self.val_acc.max())

    @property
    def final_train(self) -> float:
        return float(self.train_acc[-1])

    @property
    def gap(self) -> float:
        """Final training accuracy minus the final validation accuracy."""
        return float(self.train_acc[-1] - self.val_acc[-1])


@dataclass(frozen=True, eq=False)
class NetGrowthResult:
    architectures: tuple
    seeds: tuple
    runs: dict  # (hidden, seed) -> GrowthRun
    config: dict

    def mean(self, attr: str) -> np.ndarray:
        """(architectures,) mean over seeds of ``best_val``, ``final_train`` or ``gap``."""
        return np.array([np.mean([getattr(self.runs[a, s], attr) for s in self.seeds]) for a in self.architectures])

    def table(self) -> str:
        lines = [f"{'hidden units':<18}{'params':>8}{'final train':>13}{'best val':>10}{'gap':>8}", "-" * 57]
        for a, tr, va, gap in zip(self.architectures, self.mean("final_train"), self.mean("best_val"),
                                  self.mean("gap")):
            n = self.runs[a, self.seeds[0]].num_params
            lines.append(f"{'-'.join(map(str, a)):<18}{n:>8}{tr:>13.3f}{va:>10.3f}{gap:>8.3f}")
        return "\n".join(lines)


def run(architectures: tuple = ARCHITECTURES, seeds: tuple = (0,), epochs: int = 15, lr: float = 0.05,
        reg: float = 1e-4, batch_size: int = 64, data_seed: int = 42, progress: bool = False) -> NetGrowthResult:
    """Train every architecture once per seed (a few seconds per seed at the defaults)."""
    data = load_mnist1d(seed=data_seed)
    d, c = data.x_train.shape[1], int(data.y_train.max()) + 1
    runs = {}
    with one_blas_thread():
        for hidden in architectures:
            hidden = tuple(int(h) for h in hidden)
            for seed in seeds:
                model = MLP([d, *hidden, c], init="he_normal", reg=reg, rng=seed)
                history = Solver(model, data, SGD(lr, momentum=0.9), batch_size=batch_size, epochs=epochs,
                                 seed=seed, progress=progress).train()
                runs[hidden, seed] = GrowthRun(hidden=hidden, seed=seed, num_params=model.num_params,
                                               train_acc=np.array(history.train_acc),
                                               val_acc=np.array(history.val_acc))
    return NetGrowthResult(architectures=tuple(tuple(a) for a in architectures), seeds=tuple(seeds), runs=runs,
                           config=dict(epochs=epochs, lr=lr, reg=reg, batch_size=batch_size))
