r"""The same small MLP trained on digits with each activation: how fast does it learn, at what cost?

Krizhevsky, Sutskever & Hinton (2012, Fig. 1) report that a 4-layer CNN with ReLUs reaches 25%
training error on CIFAR-10 six times faster than the same net with tanh. This experiment asks the
same question at our scale: scikit-learn digits scaled to [0, 1], an MLP 64 - 100 - 100 - 100 - 10,
SGD with momentum 0.9 (learning rate 0.01, batches of 32) for a few epochs, and every activation
with the initialization matched to it,

.. math::

    W \sim \mathcal{N}\!\left(0, \tfrac{g}{n_\text{in}}\right), \qquad
    g = 2 \text{ for ReLU and leaky ReLU (He et al. 2015)}, \quad g = 1 \text{ otherwise (LeCun et al. 1998)},

biases 0 (``init="he_normal"`` and ``"lecun_normal"``). Maxout layers (k = 2 pieces, each
initialized like a linear layer with g = 1) replace ``Linear -> activation`` and have twice the
parameters. Each net is the scratch :class:`~course_lib.scratch.model.MLP`, trained by the
:class:`~course_lib.scratch.solver.Solver` with :class:`~course_lib.scratch.optim.SGD` one epoch at
a time. Recorded per epoch: the training error over the whole training split; at the end: test
error, number of parameters, and the wall-clock time per epoch (training and the end-of-epoch
evaluation; a measurement of this machine, not a result).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from threadpoolctl import threadpool_limits

from course_lib import checks
from course_lib.data import load_digits
from course_lib.scratch import activations as act
from course_lib.scratch.model import MLP
from course_lib.scratch.optim import SGD
from course_lib.scratch.solver import Solver, progress_bar

__all__ = ["RaceResult", "run", "CONTENDERS"]

CONTENDERS: dict[str, tuple] = {
    # label: (activation class, hyperparameters, initializer: gain 2 for the ReLU family, else 1)
    "sigmoid": (act.Sigmoid, {}, "lecun_normal"),
    "tanh": (act.Tanh, {}, "lecun_normal"),
    "LeCun tanh": (act.LeCunTanh, {}, "lecun_normal"),
    "ReLU": (act.ReLU, {}, "he_normal"),
    "leaky ReLU": (act.LeakyReLU, {"negative_slope": 0.01}, "he_normal"),
    "ELU": (act.ELU, {"alpha": 1.0}, "lecun_normal"),
    "maxout (k=2)": (act.Maxout, {}, "lecun_normal"),
}
"""label -> (activation class for ``MLP(activation=...)``; its hyperparameters; ``MLP(init=...)``)."""

MAXOUT_PIECES = 2


@dataclass(frozen=True, eq=False)
class RaceResult:
    labels: tuple  # contender labels, in order
    seeds: tuple
    train_error: np.ndarray  # (contenders, seeds, epochs + 1) training error, before training and after each epoch
    test_error: np.ndarray  # (contenders, seeds) at the end
    n_params: np.ndarray  # (contenders,) trainable parameters
    seconds_per_epoch: np.ndarray  # (contenders,) median wall-clock time of one epoch (this machine)
    dims: tuple
    config: dict

    def index(self, label: str) -> int:
        return self.labels.index(label)

    def epochs_to(self, threshold: float) -> np.ndarray:
        """(contenders, seeds) first epoch whose training error is <= threshold (inf if never)."""
        below = self.train_error <= threshold
        first = np.argmax(below, axis=-1).astype(float)
        first[~below.any(axis=-1)] = np.inf
        return first

    def table(self, threshold: float = 0.05) -> str:
        reach = self.epochs_to(threshold)
        e = self.train_error.shape[-1] - 1
        lines = [f"{'activation':<14}{'params':>8}{'train err ep 1':>16}{f'train err ep {e}':>16}"
                 f"{'test err':>10}{f'epochs to {threshold:.0%}':>14}{'s/epoch':>9}"]
        for i, label in enumerate(self.labels):
            r = reach[i]
            if np.all(np.isinf(r)):
                reach_txt = "never"
            else:  # the mean over the seeds that got there; * when some seeds never did
                reach_txt = f"{np.mean(r[np.isfinite(r)]):.1f}" + ("*" if np.any(np.isinf(r)) else "")
            lines.append(
                f"{label:<14}{self.n_params[i]:>8d}{self.train_error[i, :, 1].mean():>16.1%}"
                f"{self.train_error[i, :, -1].mean():>16.1%}{self.test_error[i].mean():>10.1%}"
                f"{reach_txt:>14}{self.seconds_per_epoch[i]:>9.3f}"
            )
        lines.append(f"(means over seeds {list(self.seeds)}; * = not reached on every seed)")
        return "\n".join(lines)


def run(
    labels: tuple = tuple(CONTENDERS),
    width: int = 100,
    depth: int = 3,
    epochs: int = 10,
    lr: float = 0.01,
    momentum: float = 0.9,
    batch_size: int = 32,
    n_seeds: int = 2,
    progress: bool = True,
    seed: int = 0,
) -> RaceResult:
    """Train one net per contender on the seeds ``seed, ..., seed + n_seeds - 1`` (split, weights, batches)."""
    unknown = [label for label in labels if label not in CONTENDERS]
    if unknown or not labels:
        raise ValueError(
            f"activation_race: unknown contenders {unknown} (choose from {list(CONTENDERS)}), or none given"
        )
    n_seeds = checks.integer(n_seeds, "n_seeds", "activation_race", minimum=1)
    seeds = tuple(range(int(seed), int(seed) + n_seeds))
    dims = (64,) + (width,) * depth + (10,)
    train_err = np.zeros((len(labels), len(seeds), epochs + 1))
    test_err = np.zeros((len(labels), len(seeds)))
    n_params = np.zeros(len(labels), dtype=int)
    times: list[list[float]] = [[] for _ in labels]
    bar = progress_bar(len(labels) * len(seeds) * epochs, progress, desc="activation race (epochs)")
    with threadpool_limits(1, user_api="blas"):
        for j, s in enumerate(seeds):
            data = load_digits(seed=s, scale="unit")
            for i, label in enumerate(labels):
                cls, hyper, init = CONTENDERS[label]
                model = MLP(dims, activation=cls, activation_kwargs=hyper, init=init,
                            pieces=MAXOUT_PIECES if cls is act.Maxout else None, rng=np.random.default_rng([s, 7]))
                n_params[i] = model.num_params
                # the same batches for every contender: the Solver draws them from its seed
                solver = Solver(model, data, SGD(lr, momentum=momentum), batch_size=batch_size, epochs=1, seed=s,
                                progress=False)
                train_err[i, j, 0] = model.error(data.x_train, data.y_train)
                for e in range(epochs):
                    start = time.perf_counter()
                    history = solver.train()  # one more epoch, then the accuracy on the training split
                    times[i].append(time.perf_counter() - start)
                    train_err[i, j, e + 1] = 1.0 - history.train_acc[-1]
                    bar.update(1)
                test_err[i, j] = model.error(data.x_test, data.y_test)
    bar.close()
    return RaceResult(
        labels=tuple(labels),
        seeds=seeds,
        train_error=train_err,
        test_error=test_err,
        n_params=n_params,
        seconds_per_epoch=np.array([float(np.median(t)) for t in times]),
        dims=dims,
        config=dict(width=width, depth=depth, epochs=epochs, lr=lr, momentum=momentum, batch_size=batch_size),
    )
