r"""Kingma & Ba (2015), Fig. 2 scaled down: which optimizer trains an MLP on digits fastest?

The paper trains a 784 - 1000 - 1000 - 10 ReLU network on MNIST with Adam, Adagrad, RMSProp,
SGD with Nesterov momentum and AdaDelta, each at its best learning rate, and plots the training
cost: Adam's is the lowest. Here the data are scikit-learn's digits (8x8, 1077 training images,
pixels scaled to [0, 1]), the network a scratch :class:`~course_lib.scratch.model.MLP`
64 - H - H - 10 with ReLU and He initialization, mini-batches of 128, a fixed number of epochs.
The full protocol is H = 1000 (``run(width=1000)``); the book's page runs H = 256 for time, which
it says. Every optimizer gets the best learning rate of a small log grid (:data:`GRIDS`, four
values each, chosen by the mean training loss of the last epoch); the curves are the mean
mini-batch loss of each epoch. Plain SGD (no momentum) is the baseline. Every optimizer and
learning rate sees the same initial weights and the same mini-batches for a given seed.

Honest claim (``tests/test_experiments_optimization.py``): at its best rate Adam's final training
loss is below that of plain SGD, Adagrad, RMSProp and Adadelta on every seed tried; SGD with
Nesterov momentum at its best rate is a match for Adam (lower on some seeds, higher on others), so
"Adam reaches the lowest loss" does not hold against it at this size.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from course_lib.data import load_digits
from course_lib.scratch import optim
from course_lib.scratch.model import MLP
from course_lib.scratch.solver import Solver, progress_bar

from ._threads import one_blas_thread

__all__ = ["MLPRaceResult", "GRIDS", "run"]

GRIDS: dict[str, tuple[float, ...]] = {
    "SGD": (0.1, 0.3, 1.0, 3.0),
    "SGD Nesterov": (0.03, 0.1, 0.3, 1.0),
    "Adagrad": (0.01, 0.03, 0.1, 0.3),
    "RMSProp": (3e-4, 1e-3, 3e-3, 1e-2),
    "Adadelta": (1.0, 3.0, 10.0, 30.0),
    "Adam": (1e-3, 3e-3, 1e-2, 3e-2),
}
"""optimizer -> learning rates tried (a log grid of ratio about 3 around the usual value)."""


def make_optimizer(name: str, lr: float):
    """The scratch optimizer ``name`` at learning rate ``lr`` (other hyperparameters: torch's defaults)."""
    if name == "SGD":
        return optim.SGD(lr)
    if name == "SGD Nesterov":
        return optim.SGD(lr, momentum=0.9, nesterov=True)
    return {"Adagrad": optim.Adagrad, "RMSProp": optim.RMSProp, "Adadelta": optim.Adadelta,
            "Adam": optim.Adam}[name](lr=lr)


@dataclass(frozen=True, eq=False)
class MLPRaceResult:
    names: tuple  # optimizer names
    grids: dict  # name -> learning rates tried
    seeds: tuple
    curves: np.ndarray  # (names, lrs, seeds, epochs) mean mini-batch training loss per epoch (nan: diverged)
    dims: tuple
    config: dict

    def final(self) -> np.ndarray:
        """(names, lrs, seeds) training loss of the last epoch (inf if diverged)."""
        last = self.curves[..., -1]
        return np.where(np.isfinite(last), last, np.inf)

    def best_lr_index(self) -> np.ndarray:
        """(names,) the grid index with the lowest final loss, averaged over seeds."""
        return np.argmin(self.final().mean(axis=-1), axis=1)

    def best_lr(self, name: str) -> float:
        i = self.names.index(name)
        return float(self.grids[name][self.best_lr_index()[i]])

    def best_final(self) -> np.ndarray:
        """(names, seeds) the final loss at each optimizer's best learning rate."""
        idx = self.best_lr_index()
        return self.final()[np.arange(len(self.names)), idx]

    def best_curves(self) -> np.ndarray:
        """(names, seeds, epochs) the curves at each optimizer's best learning rate."""
        idx = self.best_lr_index()
        return self.curves[np.arange(len(self.names)), idx]


def run(names: tuple = tuple(GRIDS), width: int = 256, epochs: int = 10, batch_size: int = 128,
        n_seeds: int = 1, progress: bool = True, seed: int = 0) -> MLPRaceResult:
    """Train 64-width-width-10 with every optimizer and learning rate of its grid, on seeds seed..seed+n_seeds-1."""
    unknown = [n for n in names if n not in GRIDS]
    if unknown or not names:
        raise ValueError(f"optimizer_mlp: unknown optimizers {unknown} (choose from {list(GRIDS)}), or none given")
    seeds = tuple(range(int(seed), int(seed) + int(n_seeds)))
    dims = (64, int(width), int(width), 10)
    n_lr = max(len(GRIDS[n]) for n in names)
    curves = np.full((len(names), n_lr, len(seeds), epochs), np.nan)
    bar = progress_bar(len(names) * n_lr * len(seeds), progress, desc="optimizer_mlp (runs)")
    with one_blas_thread():
        for k, s in enumerate(seeds):
            data = load_digits(seed=s, scale="unit")
            for i, name in enumerate(names):
                for j, lr in enumerate(GRIDS[name]):
                    model = MLP(dims, activation="relu", init="he_normal", rng=np.random.default_rng([s, 11]))
                    solver = Solver(model, data, make_optimizer(name, lr), batch_size=batch_size, epochs=epochs,
                                    seed=s, progress=False, max_eval=100)
                    try:
                        hist = solver.train()
                    except FloatingPointError:
                        hist = solver.history
                    per = hist.steps_per_epoch
                    loss = np.asarray(hist.loss, dtype=np.float64)
                    full = len(loss) // per
                    curves[i, j, k, :full] = loss[: full * per].reshape(full, per).mean(axis=1)
                    bar.update(1)
    bar.close()
    return MLPRaceResult(names=tuple(names), grids={n: GRIDS[n] for n in names}, seeds=seeds, curves=curves,
                         dims=dims, config=dict(width=width, epochs=epochs, batch_size=batch_size))
