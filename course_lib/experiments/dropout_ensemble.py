r"""Dropout as an ensemble: exact enumeration of every thinned sub-network of a tiny net.

A layer of N units with dropout has :math:`2^N` keep masks, hence :math:`2^N` thinned networks that
share their weights (Srivastava et al. 2014, section 1); mask :math:`m` has probability
:math:`\prod_j (1-p)^{m_j} p^{1 - m_j}`. For a tiny net all of them can be enumerated, so the
claims about test-time weight scaling can be checked exactly, not by sampling:

1. **A linear unit.** :math:`y = w^\top (m \odot x) + b`: the probability-weighted mean of y over
   all masks equals the weight-scaled output :math:`(1-p)\, w^\top x + b` (linearity of the
   expectation). Exact, to rounding.
2. **A softmax layer.** :math:`P_m = \mathrm{softmax}(W^\top (m \odot x) + b)`: the weight-scaled
   prediction :math:`\mathrm{softmax}((1-p) W^\top x + b)` equals the *normalized weighted geometric
   mean* of the :math:`P_m` (Srivastava et al. 2014, section 9; Baldi & Sadowski 2013), because
   :math:`\log P_m` is the scores minus a constant per mask. It differs from the arithmetic mean of
   the :math:`P_m`, which is what a real ensemble would predict.
3. **A hidden ReLU layer.** :math:`D`-:math:`H`-:math:`C` with dropout on the H hidden units: neither
   identity holds any more; weight scaling is an approximation to the ensemble's mean, measured by
   the total-variation distance between the two predictive distributions.

Every mask is enumerated (``2 ** n`` with ``n`` = the inputs of the softmax layer, at most 16). The
weights are random (seeded), ``p`` is torch's DROP probability.

The result also holds a few sampled masks of a small 4-6-6-3 network (:attr:`EnsembleResult.thinned`)
for the book's picture of thinned networks.

What must show: identities 1 and 2 to rounding (1e-12); for 2 the arithmetic mean differs; for 3
the gap is small but not zero.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from course_lib import checks
from course_lib.scratch.dropout import check_p, sample_mask, softmax

__all__ = ["EnsembleResult", "run", "all_masks", "mask_probabilities", "THINNED_DIMS"]

THINNED_DIMS = (4, 6, 6, 3)
"""Layer widths of the network drawn in the book's thinned-network figure."""


@dataclass(frozen=True, eq=False)
class EnsembleResult:
    p: float
    n_masks: int  # 2 ** n
    linear_gap: float  # max |E_m[y] - weight-scaled y| over the examples
    softmax_geo_gap: float  # max |NWGM - weight-scaled softmax|
    softmax_arith_gap: float  # max |arithmetic mean - weight-scaled softmax|
    hidden_tv: np.ndarray  # (N,) total variation between the ensemble mean and weight scaling, ReLU net
    hidden_agree: float  # fraction of examples where both predict the same class
    thinned: tuple  # masks of the figure's network: (samples) tuples of bool arrays, one per layer
    thinned_dims: tuple


def all_masks(n: int) -> np.ndarray:
    """Every keep mask of n units, (2**n, n) bool, in binary order."""
    n = checks.integer(n, "n", "all_masks", minimum=1)
    if n > 16:
        raise ValueError(f"all_masks: n must be at most 16 (2**n masks), got {n}")
    return np.array(list(itertools.product([False, True], repeat=n)))


def mask_probabilities(masks: np.ndarray, p: float) -> np.ndarray:
    r"""Probability of each mask: :math:`\prod_j (1-p)^{m_j} p^{1-m_j}`; sums to 1 over all masks."""
    p = check_p(p, "mask_probabilities")
    kept = masks.sum(axis=1)
    return (1 - p) ** kept * p ** (masks.shape[1] - kept)


def run(n_inputs: int = 8, n_hidden: int = 10, n_classes: int = 3, n_examples: int = 50, p: float = 0.5,
        seed: int = 0) -> EnsembleResult:
    """Enumerate every mask of the three tiny nets (scaled form: test time multiplies by 1 - p)."""
    who = "dropout_ensemble.run"
    p = check_p(p, who)
    if p == 0:
        raise ValueError(f"{who}: p must be > 0 (p = 0 has a single sub-network)")
    n_inputs = checks.integer(n_inputs, "n_inputs", who, minimum=1)
    n_hidden = checks.integer(n_hidden, "n_hidden", who, minimum=1)
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n_examples, n_inputs))

    masks = all_masks(n_inputs)  # (M, D)
    prob = mask_probabilities(masks, p)  # (M,)
    # 1. a linear unit
    w, b = rng.normal(size=n_inputs), rng.normal()
    y_masks = (masks[:, None, :] * x[None]) @ w + b  # (M, N)
    linear_gap = float(np.max(np.abs(prob @ y_masks - ((1 - p) * x @ w + b))))
    # 2. a softmax layer
    W, c = rng.normal(size=(n_inputs, n_classes)), rng.normal(size=n_classes)
    scores = (masks[:, None, :] * x[None]) @ W + c  # (M, N, C)
    log_p = scores - np.log(np.exp(scores).sum(axis=2, keepdims=True))
    geo = np.exp(np.einsum("m,mnc->nc", prob, log_p))
    geo /= geo.sum(axis=1, keepdims=True)
    arith = np.einsum("m,mnc->nc", prob, np.exp(log_p))
    scaled = softmax((1 - p) * x @ W + c)
    # 3. a hidden ReLU layer with dropout on its units
    W1 = rng.normal(size=(n_inputs, n_hidden)) * np.sqrt(2.0 / n_inputs)  # He-normal scales
    W2 = rng.normal(size=(n_hidden, n_classes)) * np.sqrt(2.0 / n_hidden)
    b1, b2 = rng.normal(size=n_hidden) * 0.1, rng.normal(size=n_classes) * 0.1
    h = np.maximum(x @ W1 + b1, 0.0)
    hmasks = all_masks(n_hidden)
    hprob = mask_probabilities(hmasks, p)
    ens = np.einsum("m,mnc->nc", hprob, np.stack([softmax((m * h) @ W2 + b2) for m in hmasks]))
    approx = softmax((1 - p) * h @ W2 + b2)
    tv = 0.5 * np.abs(ens - approx).sum(axis=1)
    agree = float(np.mean(ens.argmax(1) == approx.argmax(1)))
    # masks for the picture: input dropout 0.2 on the input layer, p on the hidden ones
    drng = np.random.default_rng(seed + 1)
    thinned = tuple(
        tuple(sample_mask(drng, (d,), 0.2 if i == 0 else p) if i < len(THINNED_DIMS) - 1 else np.ones(d, bool)
              for i, d in enumerate(THINNED_DIMS))
        for _ in range(3))
    return EnsembleResult(p=p, n_masks=int(masks.shape[0]), linear_gap=linear_gap,
                          softmax_geo_gap=float(np.max(np.abs(geo - scaled))),
                          softmax_arith_gap=float(np.max(np.abs(arith - scaled))), hidden_tv=tv,
                          hidden_agree=agree, thinned=thinned, thinned_dims=THINNED_DIMS)
