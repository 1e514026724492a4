r"""Per-layer statistics of a network's activations (forward pass) and gradients (backward pass).

These are the numbers one looks at to tell whether a deep net is healthy before and during
training (Glorot & Bengio 2010 plot them layer by layer; so do the chapters on activations and
on initialization):

* :func:`activation_stats` -- for each layer: mean and std of its values, the fraction of
  entries in a **saturated** (flat) region of the activation, and the fraction of **dead**
  units, units that are saturated on *every* example of the batch;
* :func:`gradient_stats` -- for each parameter (or layer) gradient: mean, std, norm and mean
  absolute value;
* :func:`count_dead_units` -- ReLU units whose pre-activation is :math:`\le 0` for every example;
* :func:`record_forward` -- the pre-activations and activations of a scratch MLP on a batch.

Saturation thresholds, with ``saturation`` :math:`= s` (default 0.95), for activation values
:math:`a`:

=====================  =========================================  ==============================
activation             saturated where                            local slope there
=====================  =========================================  ==============================
``"sigmoid"``          :math:`a < 1 - s` or :math:`a > s`         :math:`< s(1-s) \approx 0.048`
``"tanh"``             :math:`|a| > s`                            :math:`< 1 - s^2 \approx 0.098`
``"lecun_tanh"``       :math:`|a| > 1.7159\, s`                   :math:`< 0.11`
``"elu"``              :math:`a < -s` (with :math:`\alpha = 1`)    :math:`< 1 - s = 0.05`
``"relu"`` and None    :math:`a = 0` exactly                       0
``"leaky_relu"``       never                                      :math:`\ge` the slope
=====================  =========================================  ==============================

So for ReLU "saturated" means "inactive" (output 0, gradient 0) and a dead unit outputs 0 for
the whole batch. ``activation=None`` uses the ReLU rule (exact zeros); for pre-activations or
linear outputs it therefore reports (almost always) 0.

Shapes: a layer's values are (N, ...) with the examples on axis 0; every other position is a
unit (a feature of an (N, D) layer; a channel-and-pixel of an (N, C, H, W) map). NumPy only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np

from course_lib import checks

__all__ = [
    "LayerStats",
    "GradStats",
    "activation_stats",
    "gradient_stats",
    "count_dead_units",
    "saturated_mask",
    "record_forward",
    "format_stats",
    "SATURATION_RULES",
]

SATURATION_RULES = ("sigmoid", "tanh", "lecun_tanh", "elu", "relu", "leaky_relu", None)
"""The values accepted for ``activation`` (see the module docstring for the thresholds)."""

_LECUN_SCALE = 1.7159  # same constant as course_lib.scratch.activations.LECUN_SCALE


@dataclass(frozen=True)
class LayerStats:
    """Statistics of one layer's values over a batch.

    name: the layer's name; mean, std: over every entry (population std); saturated: fraction
    of entries in the activation's flat region; dead: fraction of units saturated on every
    example. Both fractions lie in [0, 1].
    """

    name: str
    mean: float
    std: float
    saturated: float
    dead: float


@dataclass(frozen=True)
class GradStats:
    """Statistics of one gradient array: mean, std (population), Frobenius norm, mean |g|."""

    name: str
    mean: float
    std: float
    norm: float
    abs_mean: float


def _as_batch(value: Any, what: str) -> np.ndarray:
    """``value`` as a float64 (N, units) array; ValueError if it is not one."""
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{what}: values must be numeric arrays, got {type(value).__name__}") from None
    if arr.ndim < 2:
        raise ValueError(f"{what}: values must have shape (N, units...) with examples on axis 0, got {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{what}: values are empty (shape {arr.shape})")
    return arr.reshape(arr.shape[0], -1)


def saturated_mask(values: np.ndarray, activation: str | None = None, saturation: float = 0.95) -> np.ndarray:
    r"""Boolean array, True where an activation value lies in the flat region of ``activation``.

    .. math::

        \text{sigmoid: } a < 1 - s \ \lor\ a > s; \quad \text{tanh: } |a| > s; \quad
        \text{relu: } a = 0

    (the full table is in the module docstring). Same shape as ``values``.
    """
    if activation not in SATURATION_RULES:
        raise ValueError(f"activation_stats: unknown activation {activation!r}; choose one of {SATURATION_RULES}")
    s = checks.real(saturation, "saturation", "activation_stats", minimum=0.5, maximum=1,
                    exclusive_minimum=True, exclusive_maximum=True)
    a = np.asarray(values, dtype=np.float64)
    if activation == "sigmoid":
        return (a < 1.0 - s) | (a > s)
    if activation == "tanh":
        return np.abs(a) > s
    if activation == "lecun_tanh":
        return np.abs(a) > _LECUN_SCALE * s
    if activation == "elu":
        return a < -s
    if activation == "leaky_relu":
        return np.zeros(a.shape, dtype=bool)
    return a == 0.0  # "relu" and None


def activation_stats(
    values: Sequence[np.ndarray],
    activation: str | None = None,
    names: Sequence[str] | None = None,
    saturation: float = 0.95,
) -> list[LayerStats]:
    r"""One :class:`LayerStats` per layer of ``values`` (e.g. the hidden activations of a forward pass).

    .. math::

        \text{dead} = \frac{1}{U} \sum_{u=1}^{U} \prod_{n=1}^{N} [\, a_{nu} \text{ saturated} \,]

    Parameters
    ----------
    values : sequence of arrays, each (N, ...) -- examples on axis 0, every other position a unit.
    activation : ``"sigmoid"``, ``"tanh"``, ``"lecun_tanh"``, ``"elu"``, ``"relu"``,
        ``"leaky_relu"`` or None; selects the saturation rule (module docstring).
    names : one name per layer; default ``"layer 1"``, ``"layer 2"``, ...
    saturation : the threshold :math:`s` in (0.5, 1).

    Non-finite values are kept: they make ``mean``/``std`` nan or inf, which is itself a diagnosis.
    """
    if isinstance(values, np.ndarray):
        raise ValueError(
            "activation_stats: values must be a sequence of per-layer arrays; wrap a single array in a list"
        )
    values = list(values)
    if not values:
        raise ValueError("activation_stats: values is empty; pass one array per layer")
    if names is None:
        names = [f"layer {i}" for i in range(1, len(values) + 1)]
    names = [str(n) for n in names]
    if len(names) != len(values):
        raise ValueError(f"activation_stats: {len(values)} layers but {len(names)} names")
    out = []
    for name, value in zip(names, values):
        a = _as_batch(value, "activation_stats")
        sat = saturated_mask(a, activation, saturation)
        with np.errstate(invalid="ignore", over="ignore"):
            mean, std = float(np.mean(a)), float(np.std(a))
        out.append(
            LayerStats(
                name=name,
                mean=mean,
                std=std,
                saturated=float(np.mean(sat)),
                dead=float(np.mean(np.all(sat, axis=0))),
            )
        )
    return out


def gradient_stats(grads: Mapping[str, np.ndarray]) -> list[GradStats]:
    r"""One :class:`GradStats` per entry of ``grads`` (e.g. the dict returned by ``MLP.loss``), in order.

    .. math::

        \text{norm} = \lVert g \rVert_F = \Big(\sum_i g_i^2\Big)^{1/2}, \qquad
        \text{abs\_mean} = \frac{1}{n}\sum_i |g_i|

    ``grads`` maps a name to an array of any shape (at least one entry).
    """
    if not isinstance(grads, Mapping):
        raise ValueError(f"gradient_stats: grads must be a mapping name -> array, got {type(grads).__name__}")
    if not grads:
        raise ValueError("gradient_stats: grads is empty")
    out = []
    for name, g in grads.items():
        try:
            g = np.asarray(g, dtype=np.float64)
        except (TypeError, ValueError):
            raise ValueError(f"gradient_stats: gradient {name!r} is not a numeric array") from None
        if g.size == 0:
            raise ValueError(f"gradient_stats: gradient {name!r} is empty")
        with np.errstate(invalid="ignore", over="ignore"):
            out.append(
                GradStats(
                    name=str(name),
                    mean=float(np.mean(g)),
                    std=float(np.std(g)),
                    norm=float(np.linalg.norm(g.ravel())),
                    abs_mean=float(np.mean(np.abs(g))),
                )
            )
    return out


def count_dead_units(pre_activations: np.ndarray) -> int:
    r"""Number of ReLU units that are off for every example of the batch.

    .. math::

        \#\{\, u : z_{nu} \le 0 \ \text{for all } n \,\}

    ``pre_activations`` (N, ...): the inputs :math:`z` of the ReLU, examples on axis 0.
    Such a unit outputs 0 and passes back a zero gradient for every example, so on this
    data nothing changes its incoming weights: it stays dead (``F.relu`` also uses
    slope 0 at z = 0).
    """
    z = _as_batch(pre_activations, "count_dead_units")
    return int(np.count_nonzero(np.all(z <= 0.0, axis=0)))


def record_forward(model: Any, x: np.ndarray) -> tuple[list[np.ndarray], list[np.ndarray]]:
    r"""Pre-activations and activations of every hidden layer of a scratch MLP on the batch ``x``.

    .. math::

        z_\ell = h_{\ell-1} W_\ell + b_\ell, \qquad h_\ell = \phi(z_\ell), \qquad \ell = 1, \dots, L-1

    ``model`` is a :class:`course_lib.scratch.model.MLP` (anything with ``params`` holding
    ``W1, b1, ...``, ``num_layers`` and an activation class ``act``). Returns
    ``(pre_activations, activations)``, two lists of (N, H_l) arrays.
    """
    for attr in ("params", "num_layers", "act"):
        if not hasattr(model, attr):
            raise ValueError(f"record_forward: model has no {attr!r} (a course_lib.scratch.model.MLP is expected)")
    if model.act is None:
        raise ValueError("record_forward: maxout layers are not supported; use model.trace(x)")
    h = np.asarray(x, dtype=np.float64)
    if h.ndim != 2 or h.shape[1] != model.params["W1"].shape[0]:
        raise ValueError(f"record_forward: x must have shape (N, {model.params['W1'].shape[0]}), got {h.shape}")
    pres, acts = [], []
    for i in range(1, model.num_layers):
        z = h @ model.params[f"W{i}"] + model.params[f"b{i}"]
        h, _ = model.act.forward(z)
        pres.append(z)
        acts.append(h)
    return pres, acts


def format_stats(stats: Sequence[LayerStats] | Sequence[GradStats]) -> str:
    """A text table of a list of :class:`LayerStats` or :class:`GradStats` (one row each)."""
    stats = list(stats)
    if not stats:
        return "(no layers)"
    width = max(8, max(len(s.name) for s in stats))
    if isinstance(stats[0], LayerStats):
        lines = [f"{'layer':<{width}} {'mean':>9} {'std':>9} {'saturated':>10} {'dead':>7}"]
        lines += [f"{s.name:<{width}} {s.mean:>9.4f} {s.std:>9.4f} {s.saturated:>10.1%} {s.dead:>7.1%}" for s in stats]
    else:
        lines = [f"{'gradient':<{width}} {'mean':>10} {'std':>10} {'norm':>10} {'abs mean':>10}"]
        lines += [
            f"{s.name:<{width}} {s.mean:>10.2e} {s.std:>10.2e} {s.norm:>10.2e} {s.abs_mean:>10.2e}" for s in stats
        ]
    return "\n".join(lines)
