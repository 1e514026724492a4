r"""The same small MLP trained on digits with each activation: how fast does it learn, at what cost?

Krizhevsky, Sutskever & Hinton (2012, Fig. 1) report that a 4-layer CNN with ReLUs reaches 25%
training error on CIFAR-10 six times faster than the same net with tanh. This experiment asks the
same question at our scale: scikit-learn digits scaled to [0, 1], an MLP 64 - 100 - 100 - 100 - 10,
SGD with momentum 0.9 (learning rate 0.01, batches of 32) for a few epochs, and every activation
with the initialization matched to it,

.. math::

    W \sim \mathcal{N}\!\left(0, \tfrac{g}{n_\text{in}}\right), \qquad
    g = 2 \text{ for ReLU and leaky ReLU (He et al. 2015)}, \quad g = 1 \text{ otherwise (LeCun et al. 1998)},

biases 0. Maxout layers (k = 2 pieces, each initialized like a linear layer with g = 1) replace
``Linear -> activation`` and have twice the parameters. Recorded per epoch: the training error
over the whole training split; at the end: test error, number of parameters, and the wall-clock
time per epoch (a measurement of this machine, not a result).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from threadpoolctl import threadpool_limits

from course_lib import checks
from course_lib.data import load_digits
from course_lib.experiments._nets import Net
from course_lib.scratch import activations as act
from course_lib.scratch.solver import progress_bar

__all__ = ["RaceResult", "run", "CONTENDERS"]

CONTENDERS: dict[str, tuple] = {
    # label: (activation class or None for maxout, hyperparameters, init gain g)
    "sigmoid": (act.Sigmoid, {}, 1.0),
    "tanh": (act.Tanh, {}, 1.0),
    "LeCun tanh": (act.LeCunTanh, {}, 1.0),
    "ReLU": (act.ReLU, {}, 2.0),
    "leaky ReLU": (act.LeakyReLU, {"negative_slope": 0.01}, 2.0),
    "ELU": (act.ELU, {"alpha": 1.0}, 1.0),
    "maxout (k=2)": (None, {}, 1.0),
}
"""label -> (activation class, or None for a maxout layer; hyperparameters; init gain)."""

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
            reach_txt = "never" if np.all(np.isinf(r)) else f"{np.mean(r[np.isfinite(r)]):.1f}" + ("*" if np.any(np.isinf(r)) else "")
            lines.append(
                f"{label:<14}{self.n_params[i]:>8d}{self.train_error[i, :, 1].mean():>16.1%}"
                f"{self.train_error[i, :, -1].mean():>16.1%}{self.test_error[i].mean():>10.1%}"
                f"{reach_txt:>14}{self.seconds_per_epoch[i]:>9.3f}"
            )
        lines.append(f"(means over seeds {list(self.seeds)}; * = not reached on every seed)")
        return "\n".join(lines)


def _init(rng: np.random.Generator, dims: tuple, gain: float, maxout: bool) -> list:
    params = []
    for i, (fan_in, fan_out) in enumerate(zip(dims[:-1], dims[1:])):
        std = np.sqrt(gain / fan_in)
        if maxout and i < len(dims) - 2:
            params.append([rng.normal(0.0, std, size=(MAXOUT_PIECES, fan_in, fan_out)), np.zeros((MAXOUT_PIECES, fan_out))])
        else:
            params.append([rng.normal(0.0, std, size=(fan_in, fan_out)), np.zeros(fan_out)])
    return params


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
    unknown = [l for l in labels if l not in CONTENDERS]
    if unknown or not labels:
        raise ValueError(f"activation_race: unknown contenders {unknown} (choose from {list(CONTENDERS)}), or none given")
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
            x, y = data.x_train, data.y_train
            for i, label in enumerate(labels):
                cls, hyper, gain = CONTENDERS[label]
                rng = np.random.default_rng([s, 7])  # same draws (hence same batches) for every contender
                net = Net(_init(rng, dims, gain, cls is None), cls, dict(hyper))
                n_params[i] = net.n_params
                velocity = [[np.zeros_like(w), np.zeros_like(b)] for w, b in net.params]
                train_err[i, j, 0] = net.error(x, y)
                for e in range(epochs):
                    start = time.perf_counter()
                    order = rng.permutation(len(x))
                    for k in range(0, len(x), batch_size):
                        idx = order[k : k + batch_size]
                        net.sgd_step(x[idx], y[idx], lr, momentum, velocity)
                    times[i].append(time.perf_counter() - start)
                    train_err[i, j, e + 1] = net.error(x, y)
                    bar.update(1)
                test_err[i, j] = net.error(data.x_test, data.y_test)
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
