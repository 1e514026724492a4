r"""Srivastava et al. (2014), Figs. 9-10 scaled down: how much dropout, and for how much data.

Srivastava, Hinton, Krizhevsky, Sutskever & Salakhutdinov (2014), "Dropout: a simple way to prevent
neural networks from overfitting", JMLR 15. Their Fig. 9 varies the keep probability of a
784-2048-2048-2048-10 net on MNIST (test error is U-shaped in it: too little dropout overfits, too
much underfits); their Fig. 10 varies the size of the training set (dropout does not help with
the smallest sets, helps most at intermediate sizes, and its gain shrinks as data grow).

Protocol here: MNIST-1D (:func:`course_lib.data.load_mnist1d`, 40 inputs), an MLP 40 - 256 - 256 - 10
with ReLU and He-normal weights (the torch twin :class:`course_lib.torch_impl.model.MLP`, float32)
that reaches 100% training accuracy without dropout; inverted dropout with torch's DROP
probability ``p`` on both hidden layers (the input is kept whole); Adam at ``lr``, mini-batches of
100, the same number of STEPS for every setting (``steps``); accuracies in eval mode (no dropout)
at the end of training.

* ``p`` sweep (Fig. 9): ``n_train`` fixed, ``p`` in ``ps``;
* size sweep (Fig. 10): for every ``n`` in ``sizes``, ``p = 0`` against ``p = p_size``.

``dataset="digits"`` runs the same sweeps on the 8x8 digits (64 inputs, at most 1077 training images).

What must show (MNIST-1D): without dropout the training accuracy reaches 1 and the test accuracy is
far below; moderate dropout raises the test accuracy on every seed; the largest ``p`` underfits
(its training accuracy falls well below 1 and its test accuracy below that of moderate ``p``).
The full protocol is ``run(seeds=(0, 1, 2, 3, 4), steps=3000)``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from course_lib import checks
from course_lib.scratch.solver import progress_bar

from .regularizers import load_subset, torch_threads, train_mlp

__all__ = ["DropoutOverfitResult", "run", "PAPER"]

PAPER = {"fig9_keep_range": (0.4, 0.8), "fig10_sizes": (100, 500, 1000, 5000, 10000, 50000)}
"""Srivastava et al.: Fig. 9's flat range of the hidden keep probability (drop 0.2-0.6), Fig. 10's set sizes."""


@dataclass(frozen=True, eq=False)
class DropoutOverfitResult:
    ps: tuple  # drop probabilities of the p sweep
    p_train: np.ndarray  # (seeds, len(ps)) training accuracy
    p_test: np.ndarray  # (seeds, len(ps)) test accuracy
    sizes: tuple  # training-set sizes of the size sweep
    p_size: float  # the dropout of the size sweep
    size_train: np.ndarray  # (seeds, len(sizes), 2) training accuracy, [..., 0] no dropout, [..., 1] p_size
    size_test: np.ndarray  # (seeds, len(sizes), 2) test accuracy
    n_train: int  # training-set size of the p sweep
    steps: int
    seeds: tuple
    dataset: str

    @property
    def size_gain(self) -> np.ndarray:
        """(seeds, len(sizes)) test accuracy with dropout minus without."""
        return self.size_test[..., 1] - self.size_test[..., 0]

    @property
    def best_p(self) -> float:
        """The p with the highest mean test accuracy."""
        return float(self.ps[int(np.argmax(self.p_test.mean(axis=0)))])


def _epochs(n: int, steps: int, batch_size: int = 100) -> int:
    return max(1, math.ceil(steps / math.ceil(n / batch_size)))


def run(ps: tuple = (0.0, 0.2, 0.5, 0.8), n_train: int = 1000, sizes: tuple = (250, 1000, 3500),
        p_size: float = 0.5, steps: int = 1500, seeds: tuple = (0,), dataset: str = "mnist1d",
        lr: float = 1e-3, progress: bool = True) -> DropoutOverfitResult:
    """The p sweep and the size sweep (see the module docstring); every run takes ``steps`` Adam steps."""
    steps = checks.integer(steps, "steps", "dropout_overfit.run", minimum=1)
    seeds = tuple(int(s) for s in seeds)
    ps, sizes = tuple(float(p) for p in ps), tuple(int(n) for n in sizes)
    p_train, p_test = np.empty((len(seeds), len(ps))), np.empty((len(seeds), len(ps)))
    size_train, size_test = np.empty((len(seeds), len(sizes), 2)), np.empty((len(seeds), len(sizes), 2))
    bar = progress_bar(len(seeds) * (len(ps) + 2 * len(sizes)), progress, desc="dropout_overfit")
    with torch_threads(1):
        for i, seed in enumerate(seeds):
            done: dict = {}  # (n, p) -> (train, test): a setting of both sweeps is trained once

            def one(n: int, p: float, seed: int = seed, done: dict = done) -> tuple:
                if (n, p) not in done:
                    data = load_subset(dataset, n, seed)
                    epochs = _epochs(n, steps)  # the same number of steps for every setting
                    _, train, test = train_mlp(data, dropout=p or None, epochs=epochs, lr=lr, seed=seed,
                                               eval_every=10 ** 9)  # no evaluation during training
                    done[(n, p)] = (train, test)
                bar.update(1)
                return done[(n, p)]

            for j, p in enumerate(ps):
                p_train[i, j], p_test[i, j] = one(n_train, p)
            for j, n in enumerate(sizes):
                for k, p in enumerate((0.0, p_size)):
                    size_train[i, j, k], size_test[i, j, k] = one(n, p)
    bar.close()
    return DropoutOverfitResult(ps=ps, p_train=p_train, p_test=p_test, sizes=sizes, p_size=float(p_size),
                                size_train=size_train, size_test=size_test, n_train=int(n_train), steps=steps,
                                seeds=seeds, dataset=dataset)
