r"""When batch norm fails, measured: tiny batches, single-class batches, a wasted bias, weight decay.

Every run trains an MLP 64-100-100-10 (ReLU, He-normal weights, normalization before each ReLU) on
digits (standardized; 1077 training, 360 validation images) with SGD, momentum 0.9, in a loop of
its own (:func:`fit`) so that the batches can be chosen: only whole batches (the last, smaller
batch of an epoch is dropped, as ``DataLoader(drop_last=True)`` does), either shuffled or all of
one class. Normalizations compared: none, batch norm (the scratch MLP's ``norm="batch"``), and
the per-example layer norm and group norm (Ba et al. 2016; Wu & He 2018), composed here from the
scratch ops in :class:`RowNormMLP` because the MLP has no such option.

* :func:`batch_sizes` -- validation accuracy (eval mode) against the training batch size
  2, 4, ..., 64 (learning rate scaled with the batch size, ``lr = 0.05 * B / 32``, the same number
  of epochs), and the noise of the batch statistics: the mean distance of a batch's mean from the
  population mean, in population standard deviations (about :math:`\sqrt{2 / (\pi B)}`). Also: the
  Solver on 1077 images with batch size 4 meets a last batch of one image and stops with an error.
* :func:`single_class` -- every batch holds one class (data sorted by label) vs shuffled batches.
* :func:`redundant_bias` -- the bias before BN receives an exactly zero gradient up to rounding,
  shifting it or scaling the weights before BN does not change the output.
* :func:`weight_decay` -- SGD's weight decay applied to the weights only, or also to gamma and beta.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from course_lib.data import load_digits
from course_lib.scratch import batchnorm as bn
from course_lib.scratch import init as init_mod
from course_lib.scratch.activations import ReLU
from course_lib.scratch.linear import Linear
from course_lib.scratch.losses import SoftmaxCrossEntropy
from course_lib.scratch.model import MLP
from course_lib.scratch.optim import SGD
from course_lib.scratch.solver import Solver

from ._threads import one_blas_thread

__all__ = [
    "RowNormMLP", "make_model", "fit", "NORMS",
    "BatchSizeResult", "batch_sizes", "SingleClassResult", "single_class",
    "BiasResult", "redundant_bias", "DecayResult", "weight_decay",
]

NORMS = ("none", "batch", "layer", "group")
HIDDEN = (100, 100)
GROUPS = 10  # groups of group norm (10 units each)


class RowNormMLP:
    """An MLP (Linear -> LayerNorm or GroupNorm -> ReLU) x L, then Linear and softmax cross-entropy.

    The same parameter names, initialization order (He-normal, W1, W2, ...) and interface
    (``params``, ``loss``, ``scores``, ``accuracy``, ``train``/``eval``) as the scratch MLP; the
    normalization uses no batch statistics, so training and eval mode are the same computation.
    """

    def __init__(self, dims, norm: str = "layer", groups: int = GROUPS, rng: Any = 0):
        self.dims, self.norm, self.groups, self.training = list(dims), norm, groups, True
        gen = np.random.default_rng(rng)
        self.params: dict[str, np.ndarray] = {}
        for i, (fan_in, fan_out) in enumerate(zip(self.dims[:-1], self.dims[1:]), start=1):
            self.params[f"W{i}"], self.params[f"b{i}"] = init_mod.he_normal(gen, fan_in, fan_out), np.zeros(fan_out)
            if i < len(self.dims) - 1:
                self.params[f"gamma{i}"], self.params[f"beta{i}"] = np.ones(fan_out), np.zeros(fan_out)

    def train(self, mode: bool = True) -> "RowNormMLP":
        self.training = bool(mode)
        return self

    def eval(self) -> "RowNormMLP":
        return self.train(False)

    def _norm(self, z, i):
        g, b = self.params[f"gamma{i}"], self.params[f"beta{i}"]
        if self.norm == "layer":
            return bn.LayerNorm.forward(z, g, b)
        return bn.GroupNorm.forward(z, g, b, num_groups=self.groups)

    def _norm_backward(self, d, cache):
        op = bn.LayerNorm if self.norm == "layer" else bn.GroupNorm
        return op.backward(d, cache)

    def _forward(self, x):
        h, caches = x, []
        layers = len(self.dims) - 1
        for i in range(1, layers + 1):
            z, lin = Linear.forward(h, self.params[f"W{i}"], self.params[f"b{i}"])
            if i == layers:
                caches.append((lin, None, None))
                return z, caches
            n, norm_cache = self._norm(z, i)
            h, act = ReLU.forward(n)
            caches.append((lin, norm_cache, act))
        raise AssertionError("unreachable")

    def scores(self, x):
        return self._forward(x)[0]

    def predict(self, x):
        return self.scores(x).argmax(axis=1)

    def accuracy(self, x, y):
        return float(np.mean(self.predict(x) == y))

    def loss(self, x, y):
        scores, caches = self._forward(x)
        loss, lc = SoftmaxCrossEntropy.forward(scores, y)
        (d,) = SoftmaxCrossEntropy.backward(1.0, lc)
        grads = {}
        for i in range(len(caches), 0, -1):
            lin, norm_cache, act = caches[i - 1]
            if act is not None:
                (d,) = ReLU.backward(d, act)
                d, grads[f"gamma{i}"], grads[f"beta{i}"] = self._norm_backward(d, norm_cache)
            d, grads[f"W{i}"], grads[f"b{i}"] = Linear.backward(d, lin)
        return float(loss), {k: grads[k] for k in self.params}


def make_model(norm: str, seed: int = 0, hidden=HIDDEN):
    """The MLP of the protocol with normalization ``norm`` (one of :data:`NORMS`)."""
    dims = [64, *hidden, 10]
    if norm in ("none", "batch"):
        return MLP(dims, init="he_normal", rng=seed, norm=None if norm == "none" else "batch")
    return RowNormMLP(dims, norm=norm, rng=seed)


def _batches(rng: np.random.Generator, y: np.ndarray, batch_size: int, order: str) -> list[np.ndarray]:
    """One epoch of whole batches: shuffled, or each of a single class (in a random order)."""
    if order == "shuffled":
        perm = rng.permutation(len(y))
        return [perm[s:s + batch_size] for s in range(0, len(y) - batch_size + 1, batch_size)]
    out = []
    for k in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == k))
        out += [idx[s:s + batch_size] for s in range(0, len(idx) - batch_size + 1, batch_size)]
    return [out[j] for j in rng.permutation(len(out))]


def fit(model, data, *, batch_size: int = 32, epochs: int = 10, lr: float = 0.05, order: str = "shuffled",
        weight_decay: float = 0.0, decay_norm_params: bool = True, seed: int = 0):
    """Train ``model`` with SGD (momentum 0.9) on whole batches; returns it in eval mode.

    ``weight_decay`` applies to the weights ``W``, and also to ``gamma``/``beta`` when
    ``decay_norm_params``; never to the biases ``b``.
    """
    rng = np.random.default_rng([seed, 2])
    def decayed(name: str) -> bool:
        return name.startswith("W") or (decay_norm_params and name.startswith(("gamma", "beta")))

    decays = {name: weight_decay if decayed(name) else 0.0 for name in model.params}
    opts = {name: SGD(lr=lr, momentum=0.9, weight_decay=wd) for name, wd in decays.items()}
    states = {name: opts[name].init(w) for name, w in model.params.items()}
    model.train()
    with one_blas_thread():
        for _ in range(epochs):
            for idx in _batches(rng, data.y_train, batch_size, order):
                loss, grads = model.loss(data.x_train[idx], data.y_train[idx])
                if not np.isfinite(loss):
                    return model.eval()
                for name, w in model.params.items():
                    model.params[name], states[name] = opts[name].step(w, grads[name], states[name])
    return model.eval()


# ----- tiny batches -------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class BatchSizeResult:
    sizes: tuple
    norms: tuple
    val_acc: dict  # norm -> (len(sizes), len(seeds)) eval-mode validation accuracy
    stat_noise: np.ndarray  # (len(sizes),) mean |batch mean - pop mean| / pop std at the first BN
    solver_error: str  # the Solver's error with batch size 4 on 1077 images
    solver_error_step: int  # steps taken before it
    seeds: tuple
    epochs: int

    def mean_acc(self, norm: str) -> np.ndarray:
        return self.val_acc[norm].mean(axis=1)


def batch_sizes(sizes=(2, 4, 8, 16, 32, 64), norms=("none", "batch", "layer"), epochs: int = 5,
                seeds=(0,)) -> BatchSizeResult:
    """Validation accuracy against the training batch size (lr = 0.05 * B / 32), and the noise of
    the batch statistics; then the Solver with batch size 4 (a last batch of one)."""
    data = load_digits(seed=0, scale="standard")
    acc = {norm: np.zeros((len(sizes), len(seeds))) for norm in norms}
    for norm in norms:
        for i, b in enumerate(sizes):
            for j, s in enumerate(seeds):
                model = fit(make_model(norm, s), data, batch_size=b, epochs=epochs, lr=0.05 * b / 32, seed=s)
                acc[norm][i, j] = model.accuracy(data.x_val, data.y_val)
    # noise of the statistics at the first BN of a fresh net: pre-activations of the training set
    pop = data.x_train @ make_model("none", 0).params["W1"]  # the first BN's input, before training
    mu, sd = pop.mean(axis=0), pop.std(axis=0)
    rng = np.random.default_rng(1)
    noise = []
    for b in sizes:
        errs = [np.mean(np.abs(pop[rng.choice(len(pop), b, replace=False)].mean(axis=0) - mu) / sd)
                for _ in range(200)]
        noise.append(np.mean(errs))
    model = MLP([64, *HIDDEN, 10], init="he_normal", rng=0, norm="batch")
    solver = Solver(model, data, SGD(lr=0.0125, momentum=0.9), batch_size=4, epochs=1, progress=False)
    message = ""
    try:
        with one_blas_thread():
            solver.train()
    except ValueError as err:
        message = str(err)
    return BatchSizeResult(sizes=tuple(sizes), norms=tuple(norms), val_acc=acc, stat_noise=np.array(noise),
                           solver_error=message, solver_error_step=solver.history.steps, seeds=tuple(seeds),
                           epochs=epochs)


# ----- single-class batches -----------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class SingleClassResult:
    norms: tuple
    val_acc: dict  # (norm, order) -> eval-mode validation accuracy; order "shuffled" or "one class"
    train_mode_acc: float  # BN net trained on one-class batches, validation in training mode, one-class batches
    epochs: int


def single_class(norms=NORMS, batch_size: int = 32, epochs: int = 10, seed: int = 0) -> SingleClassResult:
    """Each normalization trained on shuffled batches and on batches of a single class."""
    data = load_digits(seed=0, scale="standard")
    acc, train_mode = {}, float("nan")
    for norm in norms:
        for order, key in (("shuffled", "shuffled"), ("sorted", "one class")):
            model = fit(make_model(norm, seed), data, batch_size=batch_size, epochs=epochs, order=order, seed=seed)
            acc[(norm, key)] = float(model.accuracy(data.x_val, data.y_val))
            if norm == "batch" and order == "sorted":
                model.train()
                correct = sum(int(np.sum(model.predict(data.x_val[data.y_val == k]) == k)) for k in range(10))
                train_mode = correct / len(data.y_val)
                model.eval()
    return SingleClassResult(norms=tuple(norms), val_acc=acc, train_mode_acc=train_mode, epochs=epochs)


# ----- the bias before BN, and the scale of the weights -----------------------------------------
@dataclass(frozen=True)
class BiasResult:
    db_before: float  # max |dL/db1| with BN before the activation (Linear -> BN)
    dw_before: float  # max |dL/dW1|, same net, for scale
    db_after: float  # max |dL/db1| with BN after the activation (Linear -> ReLU -> BN)
    shift_change: float  # max |scores change| when b1 is shifted by 5 (BN before, training mode)
    scale_change: float  # max |scores change| when W1 and b1 are multiplied by 10 (BN before, training mode)
    score_scale: float  # max |scores|, for scale
    b1_moved: float  # max |b1 - its start| after training the BN-before net
    w1_moved: float  # max |W1 - its start| after the same training


def redundant_bias(batch_size: int = 64, epochs: int = 3, seed: int = 0) -> BiasResult:
    data = load_digits(seed=0, scale="standard")
    rng = np.random.default_rng(seed)
    idx = rng.choice(len(data.y_train), batch_size, replace=False)
    x, y = data.x_train[idx], data.y_train[idx]
    dims = [64, *HIDDEN, 10]
    before = MLP(dims, init="he_normal", rng=seed, norm="batch", bias=0.1)
    after = MLP(dims, init="he_normal", rng=seed, norm="batch", norm_position="after", bias=0.1)
    with one_blas_thread():
        _, g = before.loss(x, y)
        _, g_after = after.loss(x, y)
        ref = before.scores(x)
        start = {k: v.copy() for k, v in before.params.items()}
        before.params["b1"] = start["b1"] + 5.0
        shifted = before.scores(x)
        before.params["b1"], before.params["W1"] = 10 * start["b1"], 10 * start["W1"]
        scaled = before.scores(x)
        before.params.update({k: v.copy() for k, v in start.items()})
    fit(before, data, epochs=epochs, seed=seed)
    return BiasResult(
        db_before=float(np.max(np.abs(g["b1"]))), dw_before=float(np.max(np.abs(g["W1"]))),
        db_after=float(np.max(np.abs(g_after["b1"]))),
        shift_change=float(np.max(np.abs(shifted - ref))), scale_change=float(np.max(np.abs(scaled - ref))),
        score_scale=float(np.max(np.abs(ref))),
        b1_moved=float(np.max(np.abs(before.params["b1"] - start["b1"]))),
        w1_moved=float(np.max(np.abs(before.params["W1"] - start["W1"]))),
    )


# ----- weight decay on gamma and beta -----------------------------------------------------------
@dataclass(frozen=True, eq=False)
class DecayResult:
    decays: tuple
    val_acc: dict  # ("weights only" | "weights, gamma, beta") -> (len(decays),) validation accuracy
    gamma_mean: dict  # same keys -> (len(decays),) mean gamma over the hidden units
    w1_norm: dict  # same keys -> (len(decays),) Frobenius norm of W1
    epochs: int


DECAY_KINDS = ("weights only", "weights, gamma, beta")


def weight_decay(decays=(0.0, 1e-3, 1e-2, 5e-2), epochs: int = 10, seed: int = 0) -> DecayResult:
    """The BN net trained with SGD weight decay on the weights only, or on gamma and beta too."""
    data = load_digits(seed=0, scale="standard")
    acc = {k: np.zeros(len(decays)) for k in DECAY_KINDS}
    gam = {k: np.zeros(len(decays)) for k in DECAY_KINDS}
    wn = {k: np.zeros(len(decays)) for k in DECAY_KINDS}
    for kind in DECAY_KINDS:
        for i, wd in enumerate(decays):
            model = fit(make_model("batch", seed), data, epochs=epochs, weight_decay=wd,
                        decay_norm_params=kind != DECAY_KINDS[0], seed=seed)
            acc[kind][i] = model.accuracy(data.x_val, data.y_val)
            gam[kind][i] = np.mean(np.concatenate([model.params[f"gamma{j}"] for j in (1, 2)]))
            wn[kind][i] = np.linalg.norm(model.params["W1"])
    return DecayResult(decays=tuple(decays), val_acc=acc, gamma_mean=gam, w1_norm=wn, epochs=epochs)
