r"""How the signal's scale travels through a deep net at initialization (He et al. 2015, Sec. 2.2).

A stack of ``depth`` linear layers of equal ``width``, each followed by the activation except
the last (a scratch :class:`~course_lib.scratch.model.MLP` with ``dims = [width] * (depth + 1)``),
is fed one batch of :math:`\mathcal{N}(0, 1)` inputs; :meth:`~course_lib.scratch.model.MLP.trace`
records every pre-activation :math:`z_\ell`. No training happens.

The variance argument predicts, for zero-mean independent weights of variance :math:`v_\ell`,

.. math::

    \mathrm{Var}(z_1) = n\, v_1\, \mathrm{Var}(x), \qquad
    \mathrm{Var}(z_\ell) = n\, v_\ell\, \mathbb{E}[\phi(z_{\ell-1})^2], \qquad
    \mathbb{E}[\mathrm{relu}(z)^2] = \tfrac12 \mathrm{Var}(z),

so with ReLU, He's :math:`v = 2/n` keeps the std constant, Xavier's :math:`v = 1/n` (square
layers) halves the variance at every layer, :math:`(1/\sqrt2)^{L}` in std, and a fixed
:math:`v = 0.01^2` multiplies it by :math:`n \cdot 10^{-4} / 2` per layer. With tanh,
:math:`\mathbb{E}[\tanh(z)^2]` has no closed form; the recursion is evaluated with
Gauss-Hermite quadrature. For :math:`n v = g^2 \le 1` it decays to 0 (like
:math:`1/\sqrt{2\ell}` in std for :math:`g = 1`), for :math:`g > 1` it settles at a fixed
point: the tanh gain :math:`g = 5/3` (scheme ``"tanh_gain"``) does not keep the variance of a
linear layer, it offsets tanh's compression. :func:`predicted_std` evaluates the recursion;
the result holds both, plus per-layer activation statistics
(:func:`course_lib.diagnostics.activation_stats`) and a sample of values for histograms.
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

from course_lib.diagnostics import activation_stats
from course_lib.scratch import init as init_mod
from course_lib.scratch.model import MLP

__all__ = ["InitDepthResult", "run", "weight_variance", "predicted_std", "SCHEMES", "EXTRA_SCHEMES"]


SCHEMES = ("small_random", "xavier_normal", "he_normal")
"""The schemes compared by default: N(0, 0.01^2), Glorot (2/(n_in + n_out)), He (2/n_in)."""

EXTRA_SCHEMES = {
    "torch_default": functools.partial(init_mod.he_uniform, a=math.sqrt(5.0)),
    "orthogonal_relu": functools.partial(init_mod.orthogonal, gain=math.sqrt(2.0)),
    "tanh_gain": functools.partial(init_mod.he_normal, nonlinearity="tanh"),
}
r"""Schemes beyond :data:`course_lib.scratch.init.INITIALIZERS`: PyTorch's default ``nn.Linear`` init
:math:`U(\pm 1/\sqrt{n_\text{in}})`, orthogonal with the ReLU gain, and Gaussian weights with
torch's tanh gain, :math:`\mathcal{N}(0, (5/3)^2/n_\text{in})` (``kaiming_normal_(w,
nonlinearity="tanh")``)."""


def weight_variance(scheme: str, fan_in: int, fan_out: int) -> float:
    """The variance of one weight drawn by ``scheme`` (the scratch initializer's target)."""
    if scheme == "small_random":
        return 0.01**2
    if scheme in ("xavier_normal", "xavier_uniform"):
        return init_mod.xavier_std(fan_in, fan_out) ** 2
    if scheme in ("he_normal", "he_uniform"):
        return init_mod.he_std(fan_in, fan_out) ** 2
    if scheme == "lecun_normal":
        return init_mod.lecun_std(fan_in) ** 2
    if scheme == "orthogonal":  # entries of a semi-orthogonal matrix: mean square 1 / max(fan_in, fan_out)
        return 1.0 / max(fan_in, fan_out)
    if scheme == "orthogonal_relu":
        return 2.0 / max(fan_in, fan_out)
    if scheme == "torch_default":  # U(-b, b) with b = 1/sqrt(fan_in): variance b^2 / 3
        return 1.0 / (3.0 * fan_in)
    if scheme == "tanh_gain":  # (5/3)^2 / fan_in
        return init_mod.calculate_gain("tanh") ** 2 / fan_in
    raise ValueError(f"weight_variance: no variance rule for scheme {scheme!r}")


_NODES, _WEIGHTS = np.polynomial.hermite_e.hermegauss(101)  # E[f(u)] for u ~ N(0, 1)
_WEIGHTS = _WEIGHTS / _WEIGHTS.sum()


def _second_moment(activation: str, var: float) -> float:
    r""":math:`\mathbb{E}[\phi(z)^2]` for :math:`z \sim \mathcal{N}(0, \mathrm{var})`."""
    if activation == "relu":
        return 0.5 * var
    if activation == "linear":
        return var
    return float(np.sum(_WEIGHTS * np.tanh(math.sqrt(var) * _NODES) ** 2))  # tanh, by quadrature


def predicted_std(scheme: str, depth: int, width: int, activation: str = "relu", input_var: float = 1.0) -> np.ndarray:
    r"""Predicted std of :math:`z_1, \dots, z_L` from the variance recursion (ReLU, linear or tanh).

    .. math::

        \mathrm{Var}(z_\ell) = n\, v\, \mathbb{E}[\phi(z_{\ell-1})^2], \qquad
        \mathbb{E}[\phi(z)^2] = \begin{cases} \tfrac12 \mathrm{Var}(z) & \text{ReLU} \\
        \mathrm{Var}(z) & \text{linear} \\
        \mathbb{E}[\tanh(z)^2] \text{ (Gauss-Hermite quadrature)} & \text{tanh} \end{cases},
        \qquad \mathrm{Var}(z_1) = n\, v\, \mathrm{Var}(x)

    with :math:`z_{\ell-1}` taken as Gaussian (the mean-field approximation; exact in the mean for
    ReLU and linear layers).
    """
    if activation not in ("relu", "linear", "tanh"):
        raise ValueError(f"predicted_std: the recursion covers 'relu', 'linear' and 'tanh' only, got {activation!r}")
    v = weight_variance(scheme, width, width)
    var = np.empty(depth)
    var[0] = width * v * input_var
    for layer in range(1, depth):
        var[layer] = width * v * _second_moment(activation, var[layer - 1])
    return np.sqrt(var)


@dataclass(frozen=True, eq=False)
class InitDepthResult:
    schemes: tuple  # scheme names, in order
    activation: str  # "relu", "tanh", ...
    depth: int  # number of linear layers L
    width: int  # units per layer n
    batch: int  # inputs in the batch
    pre_std: dict  # scheme -> (L,) std of z_l over the batch and the units
    predicted: dict  # scheme -> (L,) predicted std (ReLU, linear and tanh; else absent)
    stats: dict  # scheme -> list of LayerStats of h_1..h_{L-1} (after the activation)
    samples: dict  # scheme -> (L, k) a fixed random subset of the entries of each z_l (for histograms)
    act_samples: dict  # scheme -> (L-1, k) the same entries of each h_l = phi(z_l)
    output_rms: dict  # scheme -> RMS of phi(z_L), the signal leaving layer L (input RMS is 1)
    config: dict

    def ratio_per_layer(self, scheme: str) -> float:
        """Geometric mean of std(z_{l+1}) / std(z_l) over the layers (the per-layer shrink factor)."""
        s = self.pre_std[scheme]
        return float((s[-1] / s[0]) ** (1.0 / (len(s) - 1)))

    def table(self, layers=(1, 5, 10, 20, 30)) -> str:
        """std of the pre-activations at a few depths, measured and (when available) predicted."""
        layers = [layer for layer in layers if layer <= self.depth]
        head = f"{'scheme':<17}" + "".join(f"{'z_' + str(layer):>11}" for layer in layers) + f"{'ratio/layer':>13}"
        lines = [f"{self.activation}, width {self.width}, batch {self.batch}: std of the pre-activations", head]
        for s in self.schemes:
            lines.append(f"{s:<17}" + "".join(f"{self.pre_std[s][layer - 1]:>11.2e}" for layer in layers)
                         + f"{self.ratio_per_layer(s):>13.3f}")
            if s in self.predicted:
                predicted = "".join(f"{self.predicted[s][layer - 1]:>11.2e}" for layer in layers)
                lines.append(f"{'  predicted':<17}" + predicted)
        return "\n".join(lines)


def run(
    depth: int = 30,
    width: int = 256,
    batch: int = 512,
    activation: str = "relu",
    schemes: tuple = SCHEMES,
    n_samples: int = 4000,
    seed: int = 0,
) -> InitDepthResult:
    """Forward one N(0, 1) batch (batch, width) through ``depth`` layers for every scheme."""
    if depth < 2 or width < 1 or batch < 2:
        raise ValueError(f"init_depth.run: need depth >= 2, width >= 1, batch >= 2; got {depth}, {width}, {batch}")
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, width))
    pick = rng.choice(batch * width, size=min(n_samples, batch * width), replace=False)
    pre_std, predicted, stats, samples, act_samples, output_rms = {}, {}, {}, {}, {}, {}
    for k, scheme in enumerate(schemes):
        model = MLP([width] * (depth + 1), activation=activation, init=EXTRA_SCHEMES.get(scheme, scheme),
                    rng=np.random.default_rng([seed, k]))
        trace = model.trace(x)
        pre_std[scheme] = np.array([z.std() for z in trace.pre_activations])
        if activation in ("relu", "linear", "tanh"):
            predicted[scheme] = predicted_std(scheme, depth, width, activation)
        rule = activation if activation in ("relu", "tanh", "sigmoid") else None
        stats[scheme] = activation_stats(trace.activations, activation=rule,
                                         names=[f"h_{layer}" for layer in range(1, depth)])
        samples[scheme] = np.stack([z.ravel()[pick] for z in trace.pre_activations])
        act_samples[scheme] = np.stack([h.ravel()[pick] for h in trace.activations])
        output_rms[scheme] = float(np.sqrt(np.mean(model.act.forward(trace.pre_activations[-1])[0] ** 2)))
    return InitDepthResult(
        schemes=tuple(schemes), activation=activation, depth=depth, width=width, batch=batch,
        pre_std=pre_std, predicted=predicted, stats=stats, samples=samples, act_samples=act_samples,
        output_rms=output_rms,
        config=dict(depth=depth, width=width, batch=batch, activation=activation, schemes=tuple(schemes),
                    n_samples=n_samples, seed=seed),
    )

