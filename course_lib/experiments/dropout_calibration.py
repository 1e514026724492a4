r"""MC dropout as an uncertainty estimate: reliability diagrams and expected calibration error.

Gal & Ghahramani 2016 ("Dropout as a Bayesian approximation", ICML) read a network trained with
dropout as an approximate Bayesian model: keeping dropout ON at test time and averaging the
softmax outputs of k passes (:func:`~course_lib.scratch.dropout.mc_predict`, "MC dropout") gives
a predictive distribution whose confidence should track its accuracy better than a single
deterministic pass.

Calibration (Guo et al. 2017): sort the test predictions into ``bins`` equal-width bins by their
confidence (the top class probability); in each bin compare the mean confidence with the accuracy.
The reliability diagram plots accuracy against confidence (a calibrated model lies on the
diagonal); the expected calibration error is

.. math::

    \mathrm{ECE} = \sum_b \frac{n_b}{N}\, \big|\mathrm{acc}(b) - \mathrm{conf}(b)\big| .

Protocol: the networks of :mod:`course_lib.experiments.dropout_mc` (digits, MLP 64-512-512-10,
dropout 0.2 / 0.5, max-norm): the weight-scaled deterministic pass, MC dropout with
``k_calibration`` = 50 passes, and the same MLP trained without dropout; 10 bins on the 360 test
images. With so few test images (and few errors) the ECE is noisy: it is reported per seed, and
the tests assert only what holds over seeds.

What must show (tests): the ECE is a weighted mean of per-bin gaps (between 0 and 1); MC dropout's
mean confidence is below that of the deterministic pass of the same network (averaging spreads
the probability mass). Whether its ECE is lower is measured, not assumed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from course_lib import checks

__all__ = ["Reliability", "CalibrationResult", "reliability", "expected_calibration_error", "run", "from_mc",
           "METHODS"]

METHODS = ("deterministic", "MC dropout", "no dropout")
"""The three predictors compared: the weight-scaled pass, MC averaging, the net trained without dropout."""


@dataclass(frozen=True, eq=False)
class Reliability:
    edges: np.ndarray  # (bins + 1,) confidence bin edges
    count: np.ndarray  # (bins,) predictions per bin
    confidence: np.ndarray  # (bins,) mean confidence per bin (nan where empty)
    accuracy: np.ndarray  # (bins,) accuracy per bin (nan where empty)
    ece: float
    mean_confidence: float
    accuracy_all: float
    nll: float  # mean negative log-likelihood of the true class


def reliability(probs: np.ndarray, y: np.ndarray, bins: int = 10) -> Reliability:
    """Bin the predictions of ``probs`` (N, C) by confidence; accuracy and confidence per bin, and the ECE."""
    probs = np.asarray(probs, dtype=np.float64)
    y = np.asarray(y)
    bins = checks.integer(bins, "bins", "reliability", minimum=1)
    if probs.ndim != 2 or y.shape != (probs.shape[0],):
        raise ValueError(f"reliability: probs must be (N, C) and y (N,), got {probs.shape} and {y.shape}")
    conf = probs.max(axis=1)
    correct = (probs.argmax(axis=1) == y).astype(float)
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(conf, edges[1:-1], right=True), 0, bins - 1)  # (lo, hi]; the first bin holds 0
    count = np.bincount(which, minlength=bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_conf = np.bincount(which, weights=conf, minlength=bins) / count
        acc = np.bincount(which, weights=correct, minlength=bins) / count
    ece = float(np.nansum(count / len(y) * np.abs(acc - mean_conf)))
    nll = float(-np.mean(np.log(np.clip(probs[np.arange(len(y)), y], 1e-12, None))))
    return Reliability(edges=edges, count=count, confidence=mean_conf, accuracy=acc, ece=ece,
                       mean_confidence=float(conf.mean()), accuracy_all=float(correct.mean()), nll=nll)


def expected_calibration_error(probs: np.ndarray, y: np.ndarray, bins: int = 10) -> float:
    """The ECE of ``probs`` (N, C) against labels ``y`` with ``bins`` equal-width confidence bins."""
    return reliability(probs, y, bins).ece


@dataclass(frozen=True, eq=False)
class CalibrationResult:
    reliabilities: dict  # method -> Reliability
    k: int  # MC passes
    config: dict

    def ece(self, method: str) -> float:
        return self.reliabilities[method].ece


def from_mc(mc, bins: int = 10) -> CalibrationResult:
    """The calibration of the three predictors kept by a :class:`~course_lib.experiments.dropout_mc.MCResult`."""
    probs = {"deterministic": mc.probs_scaled, "MC dropout": mc.probs_mc, "no dropout": mc.probs_plain}
    return CalibrationResult(reliabilities={m: reliability(probs[m], mc.y_test, bins) for m in METHODS},
                             k=mc.k_calibration, config=dict(mc.config, bins=bins))


def run(bins: int = 10, seed: int = 0, **mc_kwargs) -> CalibrationResult:
    """Train the networks of :func:`course_lib.experiments.dropout_mc.run` and measure their calibration."""
    from . import dropout_mc

    return from_mc(dropout_mc.run(seed=seed, **mc_kwargs), bins)
