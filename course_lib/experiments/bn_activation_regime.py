r"""Batch norm before tanh or sigmoid keeps them in their near-linear regime.

With :math:`\gamma = 1, \beta = 0` (their starting values), batch norm hands the activation inputs
of mean 0 and variance 1 per unit, whatever the weights: about 95% of a Gaussian's mass lies in
[-2, 2], where the sigmoid is close to a straight line and tanh bends only mildly. The slides
warn that BN may thereby cancel the nonlinearity; Ioffe & Szegedy (2015, Sec. 3) add
:math:`\gamma, \beta` precisely so that the network can leave this regime if it needs to.

Protocol: digits (standardized), an MLP 64-100-100-100-10 with tanh or sigmoid, weights
:math:`\mathcal{N}(0, s^2)` for several scales s, with and without batch norm before the
activation. On the 1077 training images, over the units of the three hidden layers, we measure
the activations' inputs z:

* ``frac_in_2``: the fraction with :math:`|z| \le 2`;
* ``saturated``: the fraction whose output lies within 0.01 of an asymptote
  (:math:`|\tanh z| > 0.99`, or :math:`\sigma(z) < 0.01` or :math:`> 0.99`);
* ``linearity``: how well a straight line explains the activation over the inputs it really
  receives, the :math:`R^2` of the least-squares line of :math:`\phi(z)` on z, per unit, averaged
  (1 for a linear map; about 0.64 for a step function).

Then the BN nets (at the Xavier-like scale :math:`s = 1/\sqrt{\text{fan-in}}`) and the nets without
BN at that scale are trained for ``epochs`` epochs (SGD with momentum, the Solver) and measured
again, with their validation accuracy: does the network learn :math:`\gamma` to leave the linear regime?
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from course_lib.data import load_digits
from course_lib.scratch.model import MLP
from course_lib.scratch.optim import SGD
from course_lib.scratch.solver import Solver

from ._threads import one_blas_thread

__all__ = ["RegimeStats", "RegimeResult", "run", "measure"]

HIDDEN = (100, 100, 100)


@dataclass(frozen=True)
class RegimeStats:
    frac_in_2: float  # fraction of activation inputs with |z| <= 2
    saturated: float  # fraction of outputs within 0.01 of an asymptote
    linearity: float  # mean over units of the R^2 of a straight-line fit of phi(z) on z
    z_std: float  # std of the activation inputs (over all units and examples)


@dataclass(frozen=True, eq=False)
class RegimeResult:
    scales: tuple  # weight stds s tried at initialization
    init: dict  # (activation, norm) -> list of RegimeStats, one per scale; norm "none" or "batch"
    trained: dict  # (activation, norm) -> RegimeStats after training (Xavier-like scale)
    val_acc: dict  # (activation, norm) -> validation accuracy after training
    gamma_abs: dict  # activation -> mean |gamma| of the trained BN net
    epochs: int


def measure(model: MLP, x: np.ndarray) -> RegimeStats:
    """The three measures of the module docstring, over every hidden unit of ``model`` on ``x``."""
    z = np.concatenate(model.pre_activations(x), axis=1)  # (N, units): the activations' inputs
    if model.activation == "tanh":
        out = np.tanh(z)
        sat = np.abs(out) > 0.99
    else:
        out = 1.0 / (1.0 + np.exp(-z))
        sat = (out < 0.01) | (out > 0.99)
    zc, oc = z - z.mean(axis=0), out - out.mean(axis=0)
    cov, vz, vo = (zc * oc).sum(axis=0), (zc * zc).sum(axis=0), (oc * oc).sum(axis=0)
    ok = (vz > 0) & (vo > 0)
    r2 = cov[ok] ** 2 / (vz[ok] * vo[ok])
    return RegimeStats(frac_in_2=float(np.mean(np.abs(z) <= 2.0)), saturated=float(np.mean(sat)),
                       linearity=float(r2.mean()) if r2.size else float("nan"), z_std=float(z.std()))


def _model(act: str, norm: str, scale: float, seed: int) -> MLP:
    return MLP([64, *HIDDEN, 10], activation=act, weight_scale=scale, rng=seed,
               norm=None if norm == "none" else "batch")


def run(scales=(0.01, 0.1, 0.5, 2.0), activations=("tanh", "sigmoid"), epochs: int = 10,
        seed: int = 0) -> RegimeResult:
    """Measure at initialization for every scale, then train at s = 1/sqrt(64) and measure again."""
    data = load_digits(seed=0, scale="standard")
    x = data.x_train
    init, trained, val_acc, gamma_abs = {}, {}, {}, {}
    with one_blas_thread():
        for act in activations:
            for norm in ("none", "batch"):
                init[(act, norm)] = [measure(_model(act, norm, s, seed), x) for s in scales]
                model = _model(act, norm, 1.0 / np.sqrt(64), seed)
                lr = 0.05 if act == "tanh" else 0.2
                Solver(model, data, SGD(lr=lr, momentum=0.9), batch_size=32, epochs=epochs, seed=seed,
                       progress=False).train()
                trained[(act, norm)] = measure(model, x)  # training mode: the batch is the training set
                val_acc[(act, norm)] = float(model.eval().accuracy(data.x_val, data.y_val))
                if norm == "batch":
                    gamma_abs[act] = float(np.mean(np.abs(np.concatenate(
                        [model.params[f"gamma{i}"] for i in range(1, len(HIDDEN) + 1)]))))
    return RegimeResult(scales=tuple(scales), init=init, trained=trained, val_acc=val_acc, gamma_abs=gamma_abs,
                        epochs=epochs)
