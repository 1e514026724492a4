r"""Ioffe & Szegedy (2015), Fig. 1 (a-c), scaled down: a sigmoid MLP with and without batch norm.

The paper trains a network of three fully connected hidden layers of 100 sigmoid units on
MNIST, weights from :math:`\mathcal{N}(0, 0.1^2)`, mini-batches of 60, for 50 000 steps, and
shows (a) the test accuracy against the step, with batch norm rising faster and higher, and
(b, c) the 15th, 50th and 85th percentiles of the input of one sigmoid of the last hidden layer
over training: without batch norm they drift, in mean and spread; with batch norm they stay put.

Protocol here: scikit-learn digits scaled to [0, 1] (``load_digits(scale="unit")``), an MLP
64 - 100 - 100 - 100 - 10 with sigmoid hidden units and softmax cross-entropy, weights from
:math:`\mathcal{N}(0, 0.1^2)` (``init=None, weight_scale=0.1``) and zero biases, plain SGD with
learning rate 0.5 on mini-batches of 60 (a fresh permutation every epoch), ``steps`` steps.
With ``norm="batch"`` the same weights (the same draws from the same generator) get a
:class:`~course_lib.scratch.batchnorm.BatchNorm` between every hidden Linear and its sigmoid
(``norm_position="before"``, the paper's placement).

Every ``record_every`` steps: the test accuracy, in evaluation mode (batch norm with the running
statistics, as at test time), and the 15/50/85th percentiles over the test images of the input of
EVERY sigmoid of the last hidden layer (the paper plots one "typical" unit; the book picks
``unit``, the tests use them all). The percentiles are taken in training mode, the test images
forming one batch: the distribution the sigmoid sees while the network trains. With batch norm the
sigmoid's input is the batch-norm output :math:`\gamma \hat z + \beta`.

What must show: with batch norm the test accuracy rises much faster; without it the
percentiles drift strongly over training, with it they stay nearly where they started.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from course_lib import checks
from course_lib.data import load_digits
from course_lib.scratch.model import MLP
from course_lib.scratch.optim import SGD
from course_lib.scratch.solver import apply_update, epoch_batches, progress_bar

from ._threads import one_blas_thread

__all__ = ["MnistRun", "BNMnistResult", "run", "PERCENTILES"]

PERCENTILES = (15.0, 50.0, 85.0)


@dataclass(frozen=True, eq=False)
class MnistRun:
    norm: bool  # with batch norm?
    test_acc: np.ndarray  # (R,) test accuracy at each record
    percentiles: np.ndarray  # (R, 3, H) 15/50/85th percentile of every last-layer sigmoid input, over test images
    loss: np.ndarray  # (steps,) training loss of each mini-batch

    def drift(self, start: int = 0) -> np.ndarray:
        r"""(H,) per unit, from record ``start`` on: how far the median wandered (its largest minus its
        smallest value) in units of the unit's typical spread (the median over records of the 85th
        minus the 15th percentile)."""
        p = self.percentiles[start:]
        wander = p[:, 1].max(axis=0) - p[:, 1].min(axis=0)
        return wander / np.median(p[:, 2] - p[:, 0], axis=0)


@dataclass(frozen=True, eq=False)
class BNMnistResult:
    steps: np.ndarray  # (R,) step counts of the records (0 = before training)
    runs: dict  # {"plain": MnistRun, "batch norm": MnistRun}
    unit: int  # the unit the figure shows
    dims: tuple
    config: dict

    def steps_to(self, label: str, acc: float) -> float:
        """First recorded step at which ``label``'s test accuracy reaches ``acc`` (inf if never)."""
        hit = np.nonzero(self.runs[label].test_acc >= acc)[0]
        return float(self.steps[hit[0]]) if hit.size else float("inf")

    def at(self, step: int) -> int:
        """Row index of the record closest to ``step``."""
        return int(np.argmin(np.abs(self.steps - step)))

    def table(self, every: int = 500) -> str:
        rows = sorted({self.at(s) for s in range(0, int(self.steps[-1]) + 1, every)})
        acc_w = max(len("acc " + k) for k in self.runs) + 2  # narrow columns: the table fits 88 characters
        pct_w = max(19, max(len("p15/p50/p85 " + k) for k in self.runs) + 2)
        head = f"{'step':>6}" + "".join(f"{'acc ' + k:>{acc_w}}" for k in self.runs) + "".join(
            f"{'p15/p50/p85 ' + k:>{pct_w}}" for k in self.runs)
        lines = [head]
        for r in rows:
            accs = "".join(f"{run.test_acc[r]:>{acc_w}.1%}" for run in self.runs.values())
            pcts = "".join(f"{'/'.join(f'{v:+.2f}' for v in run.percentiles[r, :, self.unit]):>{pct_w}}"
                           for run in self.runs.values())
            lines.append(f"{int(self.steps[r]):>6}{accs}{pcts}")
        return "\n".join(lines)


def _train(norm: bool, data, dims: tuple, steps: int, record_every: int, lr: float, batch_size: int,
           weight_scale: float, seed: int, bar) -> MnistRun:
    model = MLP(dims, activation="sigmoid", weight_scale=weight_scale, rng=np.random.default_rng(seed),
                norm="batch" if norm else None, norm_position="before")
    sgd = SGD(lr=lr)
    states = {name: sgd.init(w) for name, w in model.params.items()}
    accs, pcts = [], []

    def record() -> None:
        z_last = model.pre_activations(data.x_test)[-1]  # (N_test, H) sigmoid inputs; running stats untouched
        pcts.append(np.percentile(z_last, PERCENTILES, axis=0))
        model.eval()
        accs.append(model.accuracy(data.x_test, data.y_test))
        model.train()

    batches = np.random.default_rng([seed, 1])  # the same mini-batches with and without batch norm
    losses = np.empty(steps)
    record()
    t = 0
    while t < steps:
        for idx in epoch_batches(batches, len(data.y_train), batch_size):
            if len(idx) < batch_size:  # drop the last, smaller batch of an epoch
                continue
            losses[t], grads = model.loss(data.x_train[idx], data.y_train[idx])
            apply_update(model, sgd, grads, states)
            t += 1
            bar.update(1)
            if t % record_every == 0 or t == steps:
                record()
            if t == steps:
                break
    return MnistRun(norm=norm, test_acc=np.asarray(accs), percentiles=np.asarray(pcts), loss=losses)


def run(steps: int = 3000, record_every: int = 25, width: int = 100, depth: int = 3, lr: float = 0.5,
        batch_size: int = 60, weight_scale: float = 0.1, unit: int = 0, progress: bool = True,
        seed: int = 0) -> BNMnistResult:
    """Train the sigmoid MLP without and with batch norm (same weights, same mini-batches)."""
    for name, value in (("steps", steps), ("record_every", record_every), ("width", width), ("depth", depth),
                        ("batch_size", batch_size)):
        checks.integer(value, name, "bn_mnist", minimum=1)
    checks.real(lr, "lr", "bn_mnist", minimum=0)
    checks.real(weight_scale, "weight_scale", "bn_mnist", minimum=0)
    unit = checks.integer(unit, "unit", "bn_mnist", minimum=0)
    if unit >= width:
        raise ValueError(f"bn_mnist: unit must be < width = {width}, got {unit}")
    data = load_digits(seed=seed, scale="unit")
    dims = (data.n_features,) + (width,) * depth + (data.n_classes,)
    bar = progress_bar(2 * steps, progress, desc="bn_mnist")
    with one_blas_thread():
        runs = {label: _train(norm, data, dims, steps, record_every, lr, batch_size, weight_scale, seed, bar)
                for label, norm in (("plain", False), ("batch norm", True))}
    bar.close()
    rec = sorted({0, *range(record_every, steps + 1, record_every), steps})
    return BNMnistResult(
        steps=np.asarray(rec), runs=runs, unit=unit, dims=dims,
        config=dict(steps=steps, record_every=record_every, width=width, depth=depth, lr=lr, batch_size=batch_size,
                    weight_scale=weight_scale, seed=seed),
    )
