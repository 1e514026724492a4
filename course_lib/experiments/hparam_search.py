r"""Hyperparameter search: random vs grid (Bergstra & Bengio 2012), log-uniform sampling, coarse to fine.

Three parts, all through :mod:`course_lib.search`.

**1. Random vs grid on a toy objective** (:func:`run_toy`). Two hyperparameters on [0, 1]; only
the first matters:

.. math::

    f(a, b) = \exp\!\big(-(a - a^\star)^2 / (2 s^2)\big) + \epsilon\, b,
    \qquad a^\star = 0.7,\ s = 0.1,\ \epsilon = 0.02.

Nine trials each: the 3 x 3 grid (values 0, 0.5, 1 on both axes) tries only 3 distinct values of
the important axis; nine random points try 9. Over ``n_repeats`` random searches (seeds), the
best value found by random search beats the grid's in most of them. What must show: 3 vs 9
distinct values; random's mean best above grid's best.

**2. How many random trials are enough.** Every random trial lands in the best 5 % of the space
(by score) with probability 0.05, independently, so at least one of n trials does with
probability :math:`1 - 0.95^n`: 0.954 for n = 60. :func:`run_top5` checks this by simulation
(``n_repeats`` searches of n uniform trials on a 1-D objective). And log-uniform sampling
(:func:`run_log_uniform`): uniform samples on [1e-4, 1] fall 90 % of the time in the last
decade [0.1, 1]; log-uniform ones spread evenly over the four decades.

**3. A real search** (:func:`run`), MNIST-1D (Greydanus & Kobak 2024), a 40-100-100-10 ReLU
MLP with He initialization, SGD with momentum 0.9, batch 64. Every trial trains on the
training split and is scored on the VALIDATION split (chapter 4's golden rule; the search
functions refuse ``split="test"``). Coarse to fine, as the slides suggest:

* stage 1 (coarse): a first look on a small log grid, learning rate 1e-5, 1e-4, 1e-3, 1e-2 by
  L2 strength 1e-6, 1e-4, 1e-2 (12 trials of ``coarse_epochs`` epochs); the learning-rate
  range stops too low on purpose, and the :class:`~course_lib.search.EdgeOfRangeWarning` says so;
* stage 2 (widened): random search, learning rate log-uniform on [1e-3, 1], L2 strength
  log-uniform on [1e-6, 1e-1], ``n_widened`` trials of ``coarse_epochs`` epochs;
* stage 3 (fine): :func:`~course_lib.search.refine` around stage 2's best (each axis a quarter
  as wide on the log scale), ``n_fine`` trials of ``fine_epochs`` epochs;
* last: the best configuration of stage 3 is trained once more and evaluated ONCE on the test split.

What must show: stage 1 warns about the learning rate's upper edge; stage 2 finds a better
validation accuracy than stage 1; the test accuracy of the final model is near its
validation accuracy.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np

from course_lib import search
from course_lib.data import load_mnist1d
from course_lib.scratch.model import MLP
from course_lib.scratch.optim import SGD
from course_lib.scratch.solver import Solver

from ._threads import one_blas_thread

__all__ = ["ToyResult", "run_toy", "toy_objective", "Top5Result", "run_top5", "LogUniformResult",
           "run_log_uniform", "Stage", "HparamSearchResult", "run", "A_STAR"]

A_STAR, WIDTH, EPS = 0.7, 0.1, 0.02
COARSE_LRS = (1e-5, 1e-4, 1e-3, 1e-2)
COARSE_REGS = (1e-6, 1e-4, 1e-2)


def toy_objective(a: float, b: float) -> float:
    """The toy score (higher is better): a bump in the important axis ``a``, a slight slope in ``b``."""
    return float(math.exp(-((a - A_STAR) ** 2) / (2 * WIDTH**2)) + EPS * b)


@dataclass(frozen=True, eq=False)
class ToyResult:
    grid: search.SearchResult
    random: search.SearchResult  # the search of the first seed (for the figure)
    grid_distinct_a: int
    random_distinct_a: int
    grid_best: float
    random_best: np.ndarray  # (n_repeats,) best score of each random search
    n_trials: int

    @property
    def random_wins(self) -> float:
        """Fraction of random searches whose best beats the grid's best."""
        return float(np.mean(self.random_best > self.grid_best))


def run_toy(n_repeats: int = 1000, points: int = 3, seed: int = 0) -> ToyResult:
    """Grid (``points`` x ``points``) vs ``points**2`` random trials on :func:`toy_objective`."""
    space = {"a": search.uniform(0.0, 1.0), "b": search.uniform(0.0, 1.0)}

    def objective(p: dict) -> float:
        return toy_objective(p["a"], p["b"])

    n = points * points
    grid = search.grid_search(objective, space, points=points, warn_edges=False)
    randoms = [search.random_search(objective, space, n, seed=seed + i, warn_edges=False) for i in range(n_repeats)]
    return ToyResult(grid=grid, random=randoms[0], grid_distinct_a=len({t["a"] for t in grid.trials}),
                     random_distinct_a=len({t["a"] for t in randoms[0].trials}), grid_best=grid.best["score"],
                     random_best=np.array([r.best["score"] for r in randoms]), n_trials=n)


@dataclass(frozen=True, eq=False)
class Top5Result:
    trials: np.ndarray  # (K,) numbers of trials n
    exact: np.ndarray  # (K,) 1 - 0.95^n
    simulated: np.ndarray  # (K,) fraction of simulated searches with a trial in the top 5 %
    n_repeats: int

    def at(self, n: int) -> tuple[float, float]:
        """(exact, simulated) probability for ``n`` trials."""
        i = int(np.flatnonzero(self.trials == n)[0])
        return float(self.exact[i]), float(self.simulated[i])


def run_top5(max_trials: int = 100, n_repeats: int = 4000, top: float = 0.05, seed: int = 0) -> Top5Result:
    """Simulate random searches on a 1-D objective whose best ``top`` fraction is known exactly.

    The objective is the position itself (score = u for u ~ U(0, 1)), so a trial is in the top 5 %
    exactly when u > 0.95: no assumption on the shape of the objective is needed, only its rank.
    """
    rng = np.random.default_rng(seed)
    u = rng.uniform(size=(n_repeats, max_trials))
    hit = np.cumsum(u > 1 - top, axis=1) > 0  # (repeats, n): some trial among the first n is in the top
    trials = np.arange(1, max_trials + 1)
    return Top5Result(trials=trials, exact=1 - (1 - top) ** trials, simulated=hit.mean(axis=0), n_repeats=n_repeats)


@dataclass(frozen=True, eq=False)
class LogUniformResult:
    decades: np.ndarray  # (K+1,) decade edges, 1e-4 .. 1
    uniform_frac: np.ndarray  # (K,) fraction of uniform samples per decade
    log_frac: np.ndarray  # (K,) fraction of log-uniform samples per decade
    uniform_samples: np.ndarray
    log_samples: np.ndarray


def run_log_uniform(lo: float = 1e-4, hi: float = 1.0, n: int = 2000, seed: int = 0) -> LogUniformResult:
    """``n`` samples of ``uniform(lo, hi)`` and of ``log_uniform(lo, hi)``, counted per decade."""
    rng = np.random.default_rng(seed)
    uni, logu = search.uniform(lo, hi), search.log_uniform(lo, hi)
    us = np.array([uni.sample(rng) for _ in range(n)])
    ls = np.array([logu.sample(rng) for _ in range(n)])
    edges = np.geomspace(lo, hi, int(round(math.log10(hi / lo))) + 1)
    return LogUniformResult(decades=edges, uniform_frac=np.histogram(us, edges)[0] / n,
                            log_frac=np.histogram(ls, edges)[0] / n, uniform_samples=us, log_samples=ls)


@dataclass(frozen=True, eq=False)
class Stage:
    name: str
    space: dict
    epochs: int
    result: search.SearchResult
    warnings: tuple  # messages of the EdgeOfRangeWarnings the stage raised

    @property
    def best(self) -> dict:
        return self.result.best


@dataclass(frozen=True, eq=False)
class HparamSearchResult:
    stages: tuple  # (Stage, ...) coarse, widened, fine
    final_params: dict
    final_val_acc: float
    test_acc: float  # the ONE evaluation on the test split, of the final model
    config: dict

    def stage(self, name: str) -> Stage:
        return next(s for s in self.stages if s.name == name)


def run(n_widened: int = 12, n_fine: int = 8, coarse_epochs: int = 2, fine_epochs: int = 6, final_epochs: int = 12,
        hidden: tuple = (100, 100), seed: int = 0, data_seed: int = 42) -> HparamSearchResult:
    """The three stages and the final test evaluation (about ten seconds at the defaults)."""
    data = load_mnist1d(seed=data_seed)
    d, c = data.x_train.shape[1], int(data.y_train.max()) + 1
    dims = [d, *hidden, c]

    def train(params: dict, epochs: int) -> tuple[MLP, float]:
        model = MLP(dims, init="he_normal", reg=params["reg"], rng=seed)
        history = Solver(model, data, SGD(params["lr"], momentum=0.9), epochs=epochs, seed=seed,
                         progress=False).train()
        return model, history.val_acc[-1]

    def stage(name: str, space: dict, epochs: int, n: int, stage_seed: int) -> Stage:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", search.EdgeOfRangeWarning)
            result = search.random_search(lambda p: train(p, epochs)[1], space, n, seed=stage_seed, split="val")
        msgs = tuple(str(w.message) for w in caught if issubclass(w.category, search.EdgeOfRangeWarning))
        return Stage(name=name, space=space, epochs=epochs, result=result, warnings=msgs)

    def grid_stage(name: str, space: dict, epochs: int) -> Stage:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", search.EdgeOfRangeWarning)
            result = search.grid_search(lambda p: train(p, epochs)[1], space, split="val")
        msgs = tuple(str(w.message) for w in caught if issubclass(w.category, search.EdgeOfRangeWarning))
        return Stage(name=name, space=space, epochs=epochs, result=result, warnings=msgs)

    with one_blas_thread():
        coarse = grid_stage("coarse", {"lr": list(COARSE_LRS), "reg": list(COARSE_REGS)}, coarse_epochs)
        widened = stage("widened", {"lr": search.log_uniform(1e-3, 1.0), "reg": search.log_uniform(1e-6, 1e-1)},
                        coarse_epochs, n_widened, seed + 1)
        fine = stage("fine", search.refine(widened.result, factor=4.0), fine_epochs, n_fine, seed + 2)
        params = fine.result.best_params
        model, val = train(params, final_epochs)
        test = float(model.accuracy(data.x_test, data.y_test))
    return HparamSearchResult(stages=(coarse, widened, fine), final_params=params, final_val_acc=float(val),
                              test_acc=test, config=dict(n_widened=n_widened, n_fine=n_fine, hidden=hidden,
                                                         coarse_epochs=coarse_epochs, fine_epochs=fine_epochs,
                                                         final_epochs=final_epochs, seed=seed))
