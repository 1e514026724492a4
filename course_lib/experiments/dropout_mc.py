r"""Test time with dropout: weight scaling vs Monte-Carlo averaging over k thinned networks.

Srivastava et al. 2014 (JMLR 15, section 7.5, Fig. 11) compare two ways of predicting with a
network trained with dropout: the single deterministic pass with the weights scaled by the keep
probability ("weight scaling"; with inverted dropout, torch's form, the plain network in eval
mode is the same thing), and the average of the softmax outputs of ``k`` thinned networks, each
with its own random masks ("Monte-Carlo model averaging"). They find that the Monte-Carlo
estimate reaches the error of weight scaling at around k = 50 and that k = 1 (a single thinned
net) is much worse.

Protocol (the book's size, seconds on a CPU): scikit-learn's digits scaled to [0, 1] (pixels/16),
1077 / 360 / 360; the scratch :class:`~course_lib.scratch.model.MLP` 64-512-512-10 ReLU,
He-normal weights, dropout 0.2 on the inputs and 0.5 on the hidden units (torch's DROP
probability: the paper's keep probabilities 0.8 and 0.5), trained with SGD with momentum 0.95
(lr 0.02, batch 32, ``epochs`` = 30 epochs) under the max-norm constraint ``c`` = 3 (the paper's
recipe; ``max_norm=None`` switches it off). Then, on the test set: the error of weight scaling,
and of MC averaging for each k in ``ks``, repeated ``repeats`` times with fresh masks (the spread
over repeats is the Monte-Carlo noise). Within a repetition the averages are nested: the estimate
for k averages the first k of the same max(ks) passes, as a running average would.

The result also keeps the test-set class probabilities of weight scaling and of MC averaging with
``k_calibration`` passes, and those of the same network trained without dropout: the input of
:mod:`course_lib.experiments.dropout_calibration` (MC dropout as an uncertainty estimate, Gal &
Ghahramani 2016).

What must show (tests/test_experiments_dropout.py, over seeds): the MC error at k = 1 is well
above that of weight scaling; it falls as k grows; at k = 50 it is within a point or two of weight
scaling. Full protocol: ``run(epochs=60, repeats=20)``.

:func:`run_max_norm` is a small check of the max-norm constraint (Srivastava et al. 2014, section
5.1): the same dropout MLP (hidden width 256, 15 epochs) at a learning rate 2.5 times the protocol's
(lr 0.05, momentum 0.95), with and without ``c`` = 3. What must show (tests, over seeds): without
the constraint the first layer's weight norms grow past c; with it every unit's incoming norm is at
most c. Its effect on the test error at this rate is a few points, in either direction over seeds
(measured, not assumed; the tests assert only a band).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from course_lib import checks
from course_lib.data import load_digits
from course_lib.scratch.dropout import mc_predict, softmax, with_max_norm
from course_lib.scratch.model import MLP
from course_lib.scratch.optim import SGD
from course_lib.scratch.solver import Solver

from ._threads import one_blas_thread

__all__ = ["MCResult", "MaxNormResult", "run", "run_max_norm", "train_mlp", "KS"]

KS = (1, 2, 5, 10, 20, 50, 100)
"""The numbers of thinned networks averaged (the x axis of Srivastava et al.'s Fig. 11)."""


@dataclass(frozen=True, eq=False)
class MCResult:
    ks: np.ndarray  # (K,) numbers of thinned networks averaged
    mc_error: np.ndarray  # (repeats, K) test error of the MC average, one row per repetition
    scaled_error: float  # test error of the weight-scaled (eval-mode) network
    plain_error: float  # test error of the same MLP trained without dropout
    train_error: float  # training error of the dropout net (eval mode)
    probs_scaled: np.ndarray  # (N_test, 10) weight scaling
    probs_mc: np.ndarray  # (N_test, 10) MC average of k_calibration passes
    probs_plain: np.ndarray  # (N_test, 10) the net trained without dropout
    y_test: np.ndarray  # (N_test,)
    k_calibration: int
    config: dict

    @property
    def mc_mean(self) -> np.ndarray:
        """Mean MC error per k over the repetitions, (K,)."""
        return self.mc_error.mean(axis=0)

    @property
    def mc_std(self) -> np.ndarray:
        return self.mc_error.std(axis=0)

    def mc_at(self, k: int) -> float:
        """Mean MC error with k passes (k must be one of ``ks``)."""
        return float(self.mc_mean[list(self.ks).index(k)])


@dataclass(frozen=True, eq=False)
class MaxNormResult:
    c: float
    lr: float
    test_error: dict  # "max-norm" / "none" -> test error
    train_error: dict
    max_norms: dict  # "max-norm" / "none" -> (3,) largest incoming-weight norm of each layer


def run_max_norm(c: float = 3.0, lr: float = 0.05, epochs: int = 15, hidden: int = 256,
                 seed: int = 0) -> MaxNormResult:
    """The dropout MLP at a high learning rate, trained with and without max-norm ``c`` (same seed)."""
    who = "dropout_mc.run_max_norm"
    c = checks.real(c, "c", who, minimum=0, exclusive_minimum=True)
    epochs = checks.integer(epochs, "epochs", who, minimum=1)
    hidden = checks.integer(hidden, "hidden", who, minimum=1)
    data = load_digits(seed=0, scale="unit")
    test, train, norms = {}, {}, {}
    with one_blas_thread():
        for name, constraint in (("none", None), ("max-norm", c)):
            model = train_mlp(data, (0.2, 0.5), seed, epochs, lr=lr, max_norm=constraint,
                              dims=(64, hidden, hidden, 10))
            test[name] = model.error(data.x_test, data.y_test)
            train[name] = model.error(data.x_train, data.y_train)
            norms[name] = np.array([np.sqrt((model.params[f"W{i}"] ** 2).sum(axis=0)).max() for i in (1, 2, 3)])
    return MaxNormResult(c=c, lr=lr, test_error=test, train_error=train, max_norms=norms)


def train_mlp(data, dropout, seed: int, epochs: int, lr: float = 0.02, momentum: float = 0.95,
              max_norm: float | None = 3.0, dims=(64, 512, 512, 10), batch_size: int = 32) -> MLP:
    """The protocol's MLP trained on ``data`` (a Splits); ``dropout`` as ``MLP(dropout=...)``."""
    model = MLP(list(dims), activation="relu", init="he_normal", rng=seed, dropout=dropout)
    opt = SGD(lr=lr, momentum=momentum)
    if max_norm is not None:
        opt = with_max_norm(opt, max_norm)
    Solver(model, data, opt, batch_size=batch_size, epochs=epochs, seed=seed, progress=False).train()
    return model.eval()


def run(epochs: int = 30, ks=KS, repeats: int = 5, k_calibration: int = 50, max_norm: float | None = 3.0,
        lr: float = 0.02, hidden: int = 512, seed: int = 0) -> MCResult:
    """Train the dropout MLP (and a plain twin) and measure the MC error for every k.

    ``hidden``: the width of both hidden layers (512 in the protocol; smaller in the tests)."""
    who = "dropout_mc.run"
    epochs = checks.integer(epochs, "epochs", who, minimum=1)
    repeats = checks.integer(repeats, "repeats", who, minimum=1)
    k_calibration = checks.integer(k_calibration, "k_calibration", who, minimum=1)
    ks = np.array([checks.integer(k, "ks", who, minimum=1) for k in ks])
    if ks.size == 0:
        raise ValueError(f"{who}: ks must hold at least one k")
    hidden = checks.integer(hidden, "hidden", who, minimum=1)
    dims = (64, hidden, hidden, 10)
    data = load_digits(seed=0, scale="unit")
    with one_blas_thread():
        model = train_mlp(data, (0.2, 0.5), seed, epochs, lr=lr, max_norm=max_norm, dims=dims)
        plain = train_mlp(data, None, seed, epochs, lr=lr, max_norm=max_norm, dims=dims)
        x, y = data.x_test, data.y_test
        rng = np.random.default_rng(seed + 1000)
        errors = np.empty((repeats, ks.size))
        probs_mc = None
        for r in range(repeats):  # nested averages: the first k of max(ks) passes, for every k
            total = np.zeros((x.shape[0], 10))
            for i in range(1, int(max(ks.max(), k_calibration if r == 0 else 0)) + 1):
                total += mc_predict(model, x, 1, rng)
                if i in ks:
                    errors[r, list(ks).index(i)] = np.mean(np.argmax(total, axis=1) != y)
                if r == 0 and i == k_calibration:
                    probs_mc = total / i
        probs_scaled = softmax(model.scores(x))
        probs_plain = softmax(plain.scores(x))
    config = dict(dims=dims, dropout=(0.2, 0.5), optimizer="SGD", lr=lr, momentum=0.95,
                  batch_size=32, epochs=epochs, max_norm=max_norm, repeats=repeats, seed=seed)
    return MCResult(ks=ks, mc_error=errors, scaled_error=float(np.mean(np.argmax(probs_scaled, 1) != y)),
                    plain_error=float(np.mean(np.argmax(probs_plain, 1) != y)),
                    train_error=model.error(data.x_train, data.y_train), probs_scaled=probs_scaled,
                    probs_mc=probs_mc, probs_plain=probs_plain, y_test=np.asarray(y), k_calibration=k_calibration,
                    config=config)
