r"""Three failures of chapters 2 and 3, re-run with batch normalization (Ioffe & Szegedy 2015).

Each part repeats the protocol of an earlier experiment step for step (data, split, network,
initial weights, mini-batches, optimizer) and changes one thing: ``norm="batch"`` in the scratch
:class:`~course_lib.scratch.model.MLP`, a :class:`~course_lib.scratch.batchnorm.BatchNorm` between
every hidden Linear and its activation (``norm_position="before"``, the paper's placement). The
runs without batch norm reproduce the original experiments exactly (the tests check it).

1. :func:`run_deep` -- chapter 3's :mod:`~course_lib.experiments.init_training` (He et al. 2015,
   Fig. 3): digits standardized, 29 hidden ReLU layers of width 128 and a linear output layer,
   Xavier-normal weights, SGD with momentum 0.9, learning rate 3e-3, batch 64, 10 epochs. Without
   batch norm the loss sits at :math:`\ln 10`; with it the net trains.
2. :func:`run_dead` -- chapter 2's :mod:`~course_lib.experiments.dead_relu`: digits scaled to
   [0, 1], 64 - 100 - 100 - 10 ReLU with He-normal weights, batch 32, ``warmup`` SGD steps at
   learning rate 0.05, ONE step at 20, then ``recovery`` steps at 0.05; units off for every training
   image are counted per hidden layer (the ReLU input is the batch-norm output, computed in training
   mode with the whole training set as the batch) and the validation error is measured (evaluation
   mode) at initialization, before the big step, right after it, and at the end.
3. :func:`run_saturation` -- chapter 2's :mod:`~course_lib.experiments.sigmoid_saturation` (Glorot &
   Bengio 2010, Fig. 2): digits scaled to [0, 1], 64 - 256 x 4 - 10 sigmoid, the "standard"
   initialization :math:`U[\pm 1/\sqrt{n_\text{in}}]`, plain SGD with learning rate 0.1 on
   mini-batches of 10; every ``record_every`` steps the mean and std of each hidden layer's
   activations, the fraction below 0.05 (the "off" tail), on 300 fixed validation images, and the
   validation accuracy (evaluation mode).

:func:`run` runs the three with the book's settings.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from course_lib import checks
from course_lib.data import load_digits
from course_lib.diagnostics import activation_stats, gradient_stats
from course_lib.scratch.model import MLP
from course_lib.scratch.optim import SGD
from course_lib.scratch.solver import History, Solver, apply_update, progress_bar

from ._threads import one_blas_thread
from .dead_relu import STAGES
from .sigmoid_saturation import standard_init

__all__ = [
    "DeepRun", "DeepResult", "run_deep",
    "DeadRun", "DeadResult", "run_dead",
    "SaturationRun", "SaturationResult", "run_saturation",
    "RescueResult", "run", "LABELS", "STAGES",
]

LABELS = ("plain", "batch norm")
"""The two versions of every experiment: the original, and the same with batch norm."""


def _norm(label: str) -> str | None:
    if label not in LABELS:
        raise ValueError(f"bn_rescue: label must be one of {LABELS}, got {label!r}")
    return "batch" if label == "batch norm" else None


# ============================================================================================
# 1. The 30-layer Xavier ReLU net of chapter 3
# ============================================================================================
@dataclass(frozen=True, eq=False)
class DeepRun:
    label: str
    seed: int
    history: History
    grad_abs_mean: np.ndarray  # (L,) mean |dJ/dW_l| on the first mini-batch, layer 1 = input side
    initial_loss: float
    final_loss: float  # mean training loss over the last epoch
    val_acc: float  # validation accuracy after the last epoch (evaluation mode)


@dataclass(frozen=True, eq=False)
class DeepResult:
    runs: dict  # (label, seed) -> DeepRun
    seeds: tuple
    dims: tuple
    chance_loss: float  # ln 10
    config: dict

    def final_losses(self, label: str) -> np.ndarray:
        return np.array([self.runs[label, s].final_loss for s in self.seeds])

    def val_accs(self, label: str) -> np.ndarray:
        return np.array([self.runs[label, s].val_acc for s in self.seeds])

    def table(self) -> str:
        lines = [f"{len(self.dims) - 1} linear layers, init {self.config['init']}; chance loss ln 10 = "
                 f"{self.chance_loss:.4f}",
                 f"{'':<12}{'seed':>5}{'first loss':>12}{'last-epoch loss':>17}{'val acc':>9}{'mean |dJ/dW1|':>15}"]
        for (label, seed), r in self.runs.items():
            lines.append(f"{label:<12}{seed:>5}{r.initial_loss:>12.4f}{r.final_loss:>17.4f}{r.val_acc:>9.1%}"
                         f"{r.grad_abs_mean[0]:>15.2e}")
        return "\n".join(lines)


def run_deep(depth: int = 30, width: int = 128, init: str = "xavier_normal", seeds: tuple = (0,), epochs: int = 10,
             lr: float = 3e-3, momentum: float = 0.9, batch_size: int = 64, labels: tuple = LABELS,
             progress: bool = True, data_seed: int = 0) -> DeepResult:
    """Chapter 3's deep ReLU net (:func:`course_lib.experiments.init_training.run`), without and with batch norm."""
    checks.integer(depth, "depth", "bn_rescue.run_deep", minimum=2)
    checks.integer(width, "width", "bn_rescue.run_deep", minimum=1)
    data = load_digits(seed=data_seed, scale="standard")
    dims = [data.n_features] + [width] * (depth - 1) + [data.n_classes]
    runs = {}
    with one_blas_thread():
        for label in labels:
            for seed in seeds:
                model = MLP(dims, activation="relu", init=init, rng=np.random.default_rng(seed), norm=_norm(label))
                first = np.random.default_rng(seed).permutation(len(data.y_train))[:batch_size]  # Solver's 1st batch
                _, grads = model.loss(data.x_train[first], data.y_train[first])
                if model.norm:  # that probe must not move the running statistics: start them afresh
                    model.running = {k: np.zeros_like(v) if "mean" in k else np.ones_like(v)
                                     for k, v in model.running.items()}
                solver = Solver(model, data, SGD(lr, momentum=momentum), batch_size=batch_size, epochs=epochs,
                                seed=seed, progress=progress)
                history = solver.train()
                spe = history.steps_per_epoch
                runs[label, seed] = DeepRun(
                    label=label, seed=seed, history=history,
                    grad_abs_mean=np.array([g.abs_mean for g in gradient_stats(
                        {f"W{i}": grads[f"W{i}"] for i in range(1, depth + 1)})]),
                    initial_loss=history.loss[0], final_loss=float(np.mean(history.loss[-spe:])),
                    val_acc=history.val_acc[-1],
                )
    return DeepResult(runs=runs, seeds=tuple(seeds), dims=tuple(dims), chance_loss=math.log(data.n_classes),
                      config=dict(depth=depth, width=width, init=init, seeds=tuple(seeds), epochs=epochs, lr=lr,
                                  momentum=momentum, batch_size=batch_size, data_seed=data_seed))


# ============================================================================================
# 2. Dead ReLUs after one oversized step (chapter 2)
# ============================================================================================
@dataclass(frozen=True, eq=False)
class DeadRun:
    label: str
    seed: int
    off: np.ndarray  # (4 stages, L hidden layers) int: units off for every training image
    val_error: np.ndarray  # (4 stages,) validation error
    widths: tuple


@dataclass(frozen=True, eq=False)
class DeadResult:
    runs: dict  # label -> list of DeadRun, one per seed
    seeds: tuple
    config: dict

    def off(self, label: str) -> np.ndarray:
        """(seeds, 4 stages, L) units off for every training image."""
        return np.stack([r.off for r in self.runs[label]])

    def val_error(self, label: str) -> np.ndarray:
        """(seeds, 4 stages) validation error."""
        return np.stack([r.val_error for r in self.runs[label]])

    def table(self) -> str:
        widths = self.runs[LABELS[0]][0].widths if LABELS[0] in self.runs else next(iter(self.runs.values()))[0].widths
        cols = [max(8, len(s) + 2) for s in STAGES]  # narrow columns: the table fits 88 characters
        lines = [f"units (of {widths}) off for every training image, mean over {len(self.seeds)} seeds; "
                 "validation error",
                 f"{'':<12}{'layer':>6}" + "".join(f"{s:>{w}}" for s, w in zip(STAGES, cols, strict=True)) + "".join(
                     f"{'err ' + s:>{len(s) + 6}}" for s in STAGES[2:])]
        for label in self.runs:
            off, err = self.off(label).mean(axis=0), self.val_error(label).mean(axis=0)
            for layer in range(off.shape[1]):
                errs = "".join(f"{e:>{len(s) + 6}.1%}" for e, s in zip(err[2:], STAGES[2:], strict=True))
                lines.append(f"{label:<12}{layer + 1:>6}"
                             + "".join(f"{v:>{w}.1f}" for v, w in zip(off[:, layer], cols, strict=True))
                             + (errs if layer == 0 else ""))
        return "\n".join(lines)


def _dead_one(label: str, seed: int, widths: tuple, lr: float, big_lr: float, warmup: int, recovery: int,
              batch_size: int, bar) -> DeadRun:
    """One run of :func:`course_lib.experiments.dead_relu.run_variant`'s protocol (plain ReLU), maybe with BN."""
    data = load_digits(seed=seed, scale="unit")
    x, y = data.x_train, data.y_train
    dims = (data.n_features,) + tuple(widths) + (data.n_classes,)
    model = MLP(dims, activation="relu", init="he_normal", rng=np.random.default_rng(seed), norm=_norm(label))
    sgd = SGD(lr=lr)
    states = {name: sgd.init(w) for name, w in model.params.items()}
    batches = np.random.default_rng([seed, 2])

    def train(steps: int, step_lr: float) -> None:
        for _ in range(steps):
            idx = batches.choice(len(x), size=batch_size, replace=False)
            _, grads = model.loss(x[idx], y[idx])
            apply_update(model, sgd, grads, states, lr=step_lr)
            bar.update(1)

    def snapshot() -> tuple[np.ndarray, float]:
        with np.errstate(over="ignore", invalid="ignore"):
            off = [int(np.all(z <= 0.0, axis=0).sum()) for z in model.pre_activations(x)]  # training mode
            model.eval()
            err = model.error(data.x_val, data.y_val)
            model.train()
        return np.array(off), err

    stages = [snapshot()]
    train(warmup, lr)
    stages.append(snapshot())
    with np.errstate(over="ignore", invalid="ignore"):
        train(1, big_lr)
    stages.append(snapshot())
    train(recovery, lr)
    stages.append(snapshot())
    return DeadRun(label=label, seed=seed, off=np.stack([o for o, _ in stages]),
                   val_error=np.array([e for _, e in stages]), widths=tuple(widths))


def run_dead(n_seeds: int = 3, widths: tuple = (100, 100), lr: float = 0.05, big_lr: float = 20.0,
             warmup: int = 100, recovery: int = 500, batch_size: int = 32, labels: tuple = LABELS,
             progress: bool = True, seed: int = 0) -> DeadResult:
    """Chapter 2's dead-ReLU protocol (:mod:`course_lib.experiments.dead_relu`), without and with batch norm,
    on the seeds ``seed .. seed + n_seeds - 1``."""
    n_seeds = checks.integer(n_seeds, "n_seeds", "bn_rescue.run_dead", minimum=1)
    seeds = tuple(range(int(seed), int(seed) + n_seeds))
    bar = progress_bar(len(seeds) * len(labels) * (warmup + recovery + 1), progress, desc="dead ReLUs")
    with one_blas_thread():
        runs = {label: [_dead_one(label, s, widths, lr, big_lr, warmup, recovery, batch_size, bar) for s in seeds]
                for label in labels}
    bar.close()
    return DeadResult(runs=runs, seeds=seeds,
                      config=dict(widths=tuple(widths), lr=lr, big_lr=big_lr, warmup=warmup, recovery=recovery,
                                  batch_size=batch_size))


# ============================================================================================
# 3. The saturated deep sigmoid net (chapter 2, Glorot & Bengio 2010)
# ============================================================================================
@dataclass(frozen=True, eq=False)
class SaturationRun:
    label: str
    mean: np.ndarray  # (R, L) mean activation of each hidden layer on the fixed images
    std: np.ndarray  # (R, L) std of each hidden layer's activations
    low: np.ndarray  # (R, L) fraction of activations below 0.05
    val_acc: np.ndarray  # (R,) validation accuracy (evaluation mode)
    loss: np.ndarray  # (steps,) training loss of each mini-batch


@dataclass(frozen=True, eq=False)
class SaturationResult:
    steps: np.ndarray  # (R,) step counts of the records (0 = before training)
    runs: dict  # label -> SaturationRun
    dims: tuple
    config: dict

    def at(self, step: int) -> int:
        """Row index of the record closest to ``step``."""
        return int(np.argmin(np.abs(self.steps - step)))

    def table(self, every: int = 250) -> str:
        rows = sorted({self.at(s) for s in range(0, int(self.steps[-1]) + 1, every)})
        # one group of columns per network, so the table fits 88 characters
        lines = [(" " * 6 + "".join(f"   {k:<27}" for k in self.runs)).rstrip(),
                 f"{'step':>6}" + "".join(f"{'top mean':>10}{'top <0.05':>11}{'val acc':>9}" for _ in self.runs)]
        for r in rows:
            cells = [f"{run.mean[r, -1]:>10.3f}{run.low[r, -1]:>11.1%}{run.val_acc[r]:>9.1%}"
                     for run in self.runs.values()]
            lines.append(f"{int(self.steps[r]):>6}" + "".join(cells))
        return "\n".join(lines)


def _saturation_one(label: str, steps: int, record_every: int, width: int, depth: int, lr: float, batch_size: int,
                    n_fixed: int, seed: int, bar) -> tuple[SaturationRun, list, tuple]:
    """One run of :func:`course_lib.experiments.sigmoid_saturation.run`'s protocol (sigmoid), maybe with BN."""
    rng = np.random.default_rng(seed)
    data = load_digits(seed=seed, scale="unit")
    dims = (data.n_features,) + (width,) * depth + (data.n_classes,)
    model = MLP(dims, activation="sigmoid", init=standard_init, rng=rng, norm=_norm(label))
    sgd = SGD(lr=lr)
    states = {name: sgd.init(w) for name, w in model.params.items()}
    fixed = data.x_val[: min(n_fixed, len(data.x_val))]
    rec, means, stds, lows, accs = [], [], [], [], []

    def record(step: int) -> None:
        model.eval()  # the activations a trained net produces: running statistics
        hs = model.hidden(fixed)
        stats = activation_stats(hs, "sigmoid")
        rec.append(step)
        means.append([s.mean for s in stats])
        stds.append([s.std for s in stats])
        lows.append([float(np.mean(h < 0.05)) for h in hs])
        accs.append(1.0 - model.error(data.x_val, data.y_val))
        model.train()

    n = data.x_train.shape[0]
    order, pos = rng.permutation(n), 0
    losses = np.empty(steps)
    record(0)
    for t in range(steps):
        if pos + batch_size > n:
            order, pos = rng.permutation(n), 0
        idx = order[pos: pos + batch_size]
        pos += batch_size
        losses[t], grads = model.loss(data.x_train[idx], data.y_train[idx])
        apply_update(model, sgd, grads, states)
        bar.update(1)
        if (t + 1) % record_every == 0 or t + 1 == steps:
            record(t + 1)
    run_ = SaturationRun(label=label, mean=np.asarray(means), std=np.asarray(stds), low=np.asarray(lows),
                         val_acc=np.asarray(accs), loss=losses)
    return run_, rec, dims


def run_saturation(steps: int = 2000, record_every: int = 50, width: int = 256, depth: int = 4, lr: float = 0.1,
                   batch_size: int = 10, n_fixed: int = 300, labels: tuple = LABELS, progress: bool = True,
                   seed: int = 0) -> SaturationResult:
    """Chapter 2's saturating sigmoid net (:mod:`course_lib.experiments.sigmoid_saturation`), without and
    with batch norm."""
    for name, value in (("steps", steps), ("record_every", record_every), ("width", width), ("depth", depth),
                        ("batch_size", batch_size), ("n_fixed", n_fixed)):
        checks.integer(value, name, "bn_rescue.run_saturation", minimum=1)
    if "batch norm" in labels and batch_size < 2:
        raise ValueError("bn_rescue.run_saturation: batch norm needs batch_size >= 2")
    bar = progress_bar(len(labels) * steps, progress, desc="sigmoid net")
    runs, rec, dims = {}, [], ()
    with one_blas_thread():
        for label in labels:
            runs[label], rec, dims = _saturation_one(label, steps, record_every, width, depth, lr, batch_size,
                                                     n_fixed, seed, bar)
    bar.close()
    return SaturationResult(steps=np.asarray(rec), runs=runs, dims=dims,
                            config=dict(steps=steps, record_every=record_every, width=width, depth=depth, lr=lr,
                                        batch_size=batch_size, n_fixed=n_fixed, seed=seed))


# ============================================================================================
# All three
# ============================================================================================
@dataclass(frozen=True, eq=False)
class RescueResult:
    deep: DeepResult
    dead: DeadResult
    saturation: SaturationResult


def run(deep_epochs: int = 10, dead_seeds: int = 3, dead_recovery: int = 500, saturation_steps: int = 2000,
        progress: bool = True, seed: int = 0) -> RescueResult:
    """The three experiments with the original protocols, on the seed ``seed`` (the dead-ReLU part on
    ``dead_seeds`` seeds from it, as chapter 2 did)."""
    return RescueResult(
        deep=run_deep(seeds=(seed,), epochs=deep_epochs, progress=progress),
        dead=run_dead(n_seeds=dead_seeds, recovery=dead_recovery, progress=progress, seed=seed),
        saturation=run_saturation(steps=saturation_steps, progress=progress, seed=seed),
    )
