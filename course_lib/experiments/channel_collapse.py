r"""Deep ReLU nets at He initialization map every input to nearly the same point (the myrtle.ai
"How to train your ResNet 7" analysis cited in the slides, and Santurkar et al. 2018).

A stack of ``depth`` linear layers of width ``width`` gets a batch of independent
:math:`\mathcal{N}(0, 1)` inputs. At every depth we split the variance of the layer's output
:math:`z` (N examples x C channels) into a part *between* channels and a part *within* them:

.. math::

    \underbrace{\frac{1}{NC}\sum_{n,c} (z_{nc} - \bar z)^2}_{\text{total}}
    = \underbrace{\frac1C \sum_c (\bar z_c - \bar z)^2}_{\text{between channels}}
    + \underbrace{\frac{1}{NC} \sum_{n,c} (z_{nc} - \bar z_c)^2}_{\text{within channels}},
    \qquad \bar z_c = \frac1N \sum_n z_{nc}.

The between-channel share near 1 means every channel sits at its own constant value whatever
the input: the net outputs (nearly) the same thing for every example. Three nonlinearities,
each with the variance-preserving Gaussian init for it:

* ``"relu"`` with He init (:math:`\mathrm{Var}(W) = 2/n`): ReLU outputs have a positive mean,
  which the next layer turns into a fixed, input-independent offset per channel; the offsets
  grow relative to the input-dependent part layer after layer;
* ``"linear"`` (no nonlinearity; :math:`\mathrm{Var}(W) = 1/n`): zero-mean in, zero-mean out;
* ``"shifted_relu"``: :math:`(\mathrm{relu}(z) - \mu)/\sigma` with :math:`\mu = 1/\sqrt{2\pi}`,
  :math:`\sigma^2 = \tfrac12 - \tfrac{1}{2\pi}` (zero mean and unit variance for
  :math:`z \sim \mathcal{N}(0,1)`), with :math:`\mathrm{Var}(W) = 1/n`: the fix of the blog post.

The share does not depend on the scale of :math:`z`, so the choice of gain only keeps numbers O(1).

What the collapse does to a classifier (:func:`majority_fraction`): read the C channels of a
layer in disjoint groups of ``classes``; each group is the score vector of a random
``classes``-way linear readout of the layer below (the channels of :math:`z_\ell` are independent
random linear maps of :math:`h_{\ell-1}`). The fraction of inputs that a readout assigns to its
most common class is about ``1/classes`` (plus sampling noise) when the scores vary with the
input, and near 1 when every channel sits at its own constant: the net at initialization then
predicts the same class for nearly every input.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from course_lib.scratch import init as init_mod
from course_lib.scratch.activations import ReLU
from course_lib.scratch.linear import Linear

__all__ = ["ChannelCollapseResult", "run", "between_channel_share", "majority_fraction", "shifted_relu", "VARIANTS"]

RELU_MEAN = 1.0 / math.sqrt(2.0 * math.pi)
"""E[relu(z)] for z ~ N(0, 1)."""
RELU_STD = math.sqrt(0.5 - 1.0 / (2.0 * math.pi))
"""std of relu(z) for z ~ N(0, 1)."""

VARIANTS = ("relu", "linear", "shifted_relu")
"""The nonlinearities compared."""


def shifted_relu(z: np.ndarray) -> np.ndarray:
    r"""ReLU shifted and rescaled to zero mean, unit variance on :math:`\mathcal{N}(0, 1)`.

    That is :math:`(\mathrm{relu}(z) - \mu)/\sigma`, with ``RELU_MEAN`` and ``RELU_STD`` as :math:`\mu, \sigma`.
    """
    return (ReLU.forward(z)[0] - RELU_MEAN) / RELU_STD


def between_channel_share(z: np.ndarray) -> float:
    r"""Fraction of the variance of ``z`` (N, C) that lies between the channel means (see the module docstring)."""
    z = np.asarray(z, dtype=np.float64)
    if z.ndim != 2 or z.shape[0] < 2:
        raise ValueError(f"between_channel_share: z must be (N, C) with N >= 2, got shape {z.shape}")
    total = z.var()
    if total == 0:
        raise ValueError("between_channel_share: z is constant, the share is undefined")
    return float(z.mean(axis=0).var() / total)


def majority_fraction(z: np.ndarray, classes: int = 10) -> float:
    r"""Mean, over random ``classes``-way readouts, of the fraction of inputs in the readout's most common class.

    ``z`` (N, C) is read in ``C // classes`` disjoint groups of ``classes`` channels (each group the
    scores of one readout); a readout predicts :math:`\arg\max_k z_{nk}` for input n.
    """
    z = np.asarray(z, dtype=np.float64)
    if z.ndim != 2 or not 2 <= classes <= z.shape[1]:
        raise ValueError(
            f"majority_fraction: need z (N, C) with 2 <= classes <= C, got shape {z.shape}, classes={classes}"
        )
    groups = z.shape[1] // classes
    fractions = []
    for g in range(groups):
        predicted = np.argmax(z[:, g * classes:(g + 1) * classes], axis=1)
        fractions.append(np.bincount(predicted, minlength=classes).max() / z.shape[0])
    return float(np.mean(fractions))


_APPLY = {"relu": lambda z: ReLU.forward(z)[0], "linear": lambda z: z, "shifted_relu": shifted_relu}
_INIT = {  # the variance-preserving Gaussian init for each nonlinearity: Var(W) = gain^2 / n
    "relu": lambda rng, n: init_mod.he_normal(rng, n, n, nonlinearity="relu"),
    "linear": lambda rng, n: init_mod.lecun_normal(rng, n, n),
    "shifted_relu": lambda rng, n: init_mod.lecun_normal(rng, n, n),
}


@dataclass(frozen=True, eq=False)
class ChannelCollapseResult:
    variants: tuple
    depth: int
    width: int
    batch: int
    share: dict  # variant -> (depth,) between-channel share of z_l, l = 1..depth
    std: dict  # variant -> (depth,) overall std of z_l
    channel_samples: dict  # variant -> {layer: (batch, k) values of k channels at that layer}
    config: dict
    majority: dict = field(default_factory=dict)  # variant -> (depth,) majority_fraction of z_l

    def table(self, layers=(1, 2, 5, 10, 20, 50)) -> str:
        layers = [layer for layer in layers if layer <= self.depth]
        lines = ["between-channel share of the variance of z_l",
                 f"{'nonlinearity':<14}" + "".join(f"{'layer ' + str(layer):>10}" for layer in layers)]
        for v in self.variants:
            lines.append(f"{v:<14}" + "".join(f"{self.share[v][layer - 1]:>10.3f}" for layer in layers))
        if self.majority:
            k = min(self.config.get("classes", 10), self.width)
            lines.append(f"share of the inputs in the most common class of a random {k}-way readout of z_l")
            for v in self.variants:
                lines.append(f"{v:<14}" + "".join(f"{self.majority[v][layer - 1]:>10.3f}" for layer in layers))
        return "\n".join(lines)


def run(depth: int = 50, width: int = 512, batch: int = 256, variants: tuple = VARIANTS,
        sample_layers: tuple = (1, 10, 50), sample_channels: int = 8, classes: int = 10,
        seed: int = 0) -> ChannelCollapseResult:
    """Forward one N(0, 1) batch through ``depth`` layers for each nonlinearity; the same input for all.

    ``classes``: the size of the random readouts of :func:`majority_fraction` (at most ``width``).
    """
    if depth < 1 or width < 1 or batch < 2:
        raise ValueError(
            f"channel_collapse.run: need depth >= 1, width >= 1, batch >= 2; got {depth}, {width}, {batch}"
        )
    unknown = [v for v in variants if v not in _APPLY]
    if unknown:
        raise ValueError(f"channel_collapse.run: unknown variants {unknown}; choose from {VARIANTS}")
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, width))
    channels = rng.choice(width, size=min(sample_channels, width), replace=False)
    share, std, samples, majority = {}, {}, {}, {}
    for k, variant in enumerate(variants):
        wrng = np.random.default_rng([seed, k])
        h, shares, stds, picked, majorities = x, [], [], {}, []
        for layer in range(1, depth + 1):
            z, _ = Linear.forward(h, _INIT[variant](wrng, width), np.zeros(width))
            shares.append(between_channel_share(z))
            stds.append(float(z.std()))
            majorities.append(majority_fraction(z, min(classes, width)) if width >= 2 else float("nan"))
            if layer in sample_layers:
                picked[layer] = z[:, channels].copy()
            h = _APPLY[variant](z)
        share[variant], std[variant], samples[variant] = np.array(shares), np.array(stds), picked
        majority[variant] = np.array(majorities)
    return ChannelCollapseResult(
        variants=tuple(variants), depth=depth, width=width, batch=batch, share=share, std=std,
        channel_samples=samples, majority=majority,
        config=dict(depth=depth, width=width, batch=batch, variants=tuple(variants), sample_layers=tuple(sample_layers),
                    sample_channels=sample_channels, classes=classes, seed=seed),
    )
