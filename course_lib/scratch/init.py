r"""Weight initializers: ``init(rng, fan_in, fan_out, ...) -> W`` of shape (fan_in, fan_out).

Every initializer takes the random generator explicitly (an ``np.random.Generator``), even
those that draw nothing (``zeros``, ``constant``), so that all of them are called the same
way and there is never a hidden global RNG. The layout (fan_in, fan_out) matches
:class:`course_lib.scratch.linear.Linear` (``x @ W``); torch stores the transpose.

Why the scale matters: a layer :math:`z = hW` with independent zero-mean weights of variance
:math:`\sigma_W^2` gives

.. math::

    \mathrm{Var}(z_j) = \text{fan\_in}\;\sigma_W^2\; \mathbb{E}[h_i^2],

so a fixed small std (``small_random``) makes activations shrink geometrically with depth,
Glorot & Bengio (2010) choose :math:`\sigma_W^2 = 2/(\text{fan\_in} + \text{fan\_out})`
(``xavier_*``), He et al. (2015) choose :math:`2/\text{fan\_in}` because a ReLU halves
:math:`\mathbb{E}[h^2]` (``he_*``), LeCun et al. (1998) :math:`1/\text{fan\_in}`
(``lecun_normal``). A constant (including zero) keeps the units of a layer identical:
identical units get identical gradients, so the layer's weights change but its units move
together and gradient descent never breaks the symmetry. ``orthogonal`` (Saxe et al. 2013)
and ``lsuv`` (Mishkin & Matas 2015) go beyond the variance argument.

Fans and layouts (:func:`fans`): for a 2-D weight in OUR layout (in, out),
``fan_in = shape[0]``; torch's ``nn.Linear.weight`` is (out, in) and torch reads
``fan_in = shape[1]``, so ``fans(W.shape) == torch.nn.init._calculate_fan_in_and_fan_out(W.T)``.
Conv weights (out_c, in_c, kh, kw) use torch's layout and torch's rule:
``fan_in = in_c * kh * kw``, ``fan_out = out_c * kh * kw``. A maxout weight (k, in, out) has
the fans of one piece, (in, out). A 3-D weight could be either a conv1d or a maxout weight, so
it needs ``layout="conv"`` or ``layout="maxout"`` (in :func:`fans` and in the ``shape=``
option of the initializers).

The argument checks of every initializer live in small private functions (``_check*``), so
that the public functions, which the book shows, hold only the mathematics.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np

from course_lib import checks
from course_lib.scratch.linear import Linear

__all__ = [
    "fans",
    "LAYOUTS",
    "calculate_gain",
    "xavier_std",
    "xavier_bound",
    "he_std",
    "he_bound",
    "lecun_std",
    "zeros",
    "constant",
    "small_random",
    "xavier_uniform",
    "xavier_normal",
    "he_normal",
    "he_uniform",
    "lecun_normal",
    "orthogonal",
    "lsuv",
    "LSUVResult",
    "INITIALIZERS",
    "get_initializer",
]


# ----- checks ---------------------------------------------------------------------------------
def _check_rng(rng: Any, who: str) -> None:
    checks.generator(rng, "rng", who)


def _check_fan(value: Any, name: str, who: str) -> int:
    return checks.integer(value, name, who, minimum=1)


def _check(rng: np.random.Generator, fan_in: int, fan_out: int, who: str) -> tuple[int, int]:
    _check_rng(rng, who)
    return _check_fan(fan_in, "fan_in", who), _check_fan(fan_out, "fan_out", who)


def _check_gain(gain: Any, who: str) -> float:
    return checks.real(gain, "gain", who, minimum=0.0)


def _check_small_random(rng: Any, fan_in: Any, fan_out: Any, std: Any) -> tuple[int, int]:
    """Checked (fan_in, fan_out) of :func:`small_random`, after checking ``rng`` and ``std``."""
    fan_in, fan_out = _check(rng, fan_in, fan_out, "small_random")
    checks.real(std, "std", "small_random", minimum=0.0)
    return fan_in, fan_out


def _check_he(fan_in: Any, fan_out: Any, a: Any, mode: Any, who: str = "he_std") -> tuple[int, int, float]:
    """Checked (fan_in, fan_out, a) of the He rules; ``mode`` must name one of the fans."""
    fan_in, fan_out = _check_fan(fan_in, "fan_in", who), _check_fan(fan_out, "fan_out", who)
    a = checks.real(a, "a (the negative slope)", who)
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"{who}: mode must be 'fan_in' or 'fan_out', got {mode!r}")
    return fan_in, fan_out, a


def _check_slope(param: Any) -> float:
    """The negative slope of ``calculate_gain("leaky_relu", param)``: 0.01 when ``param`` is None."""
    if param is None:
        return 0.01
    return checks.real(param, "negative_slope", "calculate_gain")


def _out_shape(
    fan_in: int, fan_out: int, shape: Sequence[int] | None, layout: str | None, who: str
) -> tuple[int, ...]:
    """(fan_in, fan_out), or ``shape`` after checking that its fans (read with ``layout``) are (fan_in, fan_out)."""
    if shape is None:
        if layout not in (None, "linear"):
            raise ValueError(f"{who}: layout={layout!r} describes a shape= argument; none was given")
        return (fan_in, fan_out)
    shape = tuple(shape)
    found = fans(shape, layout)
    if found != (fan_in, fan_out):
        extra = "" if layout is None else f", layout={layout!r}"
        raise ValueError(
            f"{who}: shape {shape} has fans {found}, not (fan_in, fan_out) = ({fan_in}, {fan_out}); "
            f"call {who}(rng, *fans(shape{extra}), shape=shape{extra})"
        )
    return shape


def _checked_size(
    rng: Any, fan_in: Any, fan_out: Any, shape: Sequence[int] | None, layout: str | None, who: str
) -> tuple[int, ...]:
    """The shape of the weight an initializer draws, after checking ``rng``, the fans and ``shape``."""
    fan_in, fan_out = _check(rng, fan_in, fan_out, who)
    return _out_shape(fan_in, fan_out, shape, layout, who)


def _check_lsuv(model: Any, x: Any, rng: Any, tol: Any, max_iter: Any) -> np.ndarray:
    """The batch ``x`` as float64, after checking every argument of :func:`lsuv`."""
    _check_rng(rng, "lsuv")
    checks.real(tol, "tol", "lsuv", minimum=0.0, exclusive_minimum=True)
    checks.integer(max_iter, "max_iter", "lsuv", minimum=1)
    for attr in ("params", "num_layers", "act"):
        if not hasattr(model, attr):
            raise TypeError(f"lsuv: the model has no {attr!r} (a scratch MLP is expected)")
    if model.act is None:
        raise ValueError("lsuv: maxout layers are not supported (the model has no elementwise activation act)")
    h = np.asarray(x, dtype=np.float64)
    if h.ndim != 2 or h.shape[0] < 2 or h.shape[1] != model.params["W1"].shape[0]:
        raise ValueError(f"lsuv: x must be a batch (N, {model.params['W1'].shape[0]}) with N >= 2, got shape {h.shape}")
    return h


def _checked_variance(var: float, layer: int) -> float:
    """``var``, the variance of a layer's output, if LSUV can rescale it to 1 (finite, > 0)."""
    if not (math.isfinite(var) and var > 0):
        raise ValueError(f"lsuv: layer {layer} has output variance {var} on this batch; cannot rescale it to 1")
    return var


# ----- fans and gains ---------------------------------------------------------------------------
LAYOUTS = {
    "linear": "a 2-D weight (in, out)",
    "conv": "a weight (out_c, in_c, k1, ...) of 3 or more dimensions",
    "maxout": "a 3-D weight (k, in, out)",
}
"""The weight layouts :func:`fans` knows, with the shapes they need."""


def _check_shape(shape: Any) -> tuple[int, ...]:
    """``shape`` as a tuple of positive ints with at least 2 dimensions, else a ValueError."""
    try:
        dims = tuple(shape)
    except TypeError:
        dims = None
    if isinstance(shape, (str, bytes)) or dims is None or not all(
        checks.is_integer(s) for s in dims
    ):
        raise ValueError(f"fans: shape must be a sequence of integers, got {shape!r}")
    dims = tuple(int(s) for s in dims)
    if len(dims) < 2:
        raise ValueError(f"fans: a weight needs at least 2 dimensions, got shape {dims}")
    if any(s < 1 for s in dims):
        raise ValueError(f"fans: every dimension must be positive, got shape {dims}")
    return dims


def _resolve_layout(shape: tuple[int, ...], layout: str | None) -> str:
    """The layout of a weight of this (checked) shape: ``layout`` if it fits, else the default.

    No layout: 2-D is ``"linear"``, 4-D and 5-D are ``"conv"`` (no other weight of the course
    has 4 or 5 dimensions); a 3-D weight is ambiguous and must say which it is.
    """
    n = len(shape)
    if layout is None:
        if n == 2:
            return "linear"
        if n in (4, 5):
            return "conv"
        if n == 3:
            raise ValueError(
                "fans: a 3-D weight is either a conv1d weight (out_c, in_c, k) or a maxout weight "
                f"(k, in, out): pass layout='conv' or layout='maxout' (got shape {shape})"
            )
        raise ValueError(f"fans: no default layout for a {n}-D weight: pass layout='conv' (got shape {shape})")
    if not isinstance(layout, str) or layout not in LAYOUTS:
        raise ValueError(f"fans: layout must be one of {tuple(LAYOUTS)} or None, got {layout!r}")
    if (layout == "linear" and n != 2) or (layout == "maxout" and n != 3) or (layout == "conv" and n < 3):
        raise ValueError(f"fans: layout={layout!r} needs {LAYOUTS[layout]}, got shape {shape}")
    return layout


def fans(shape: Sequence[int], layout: str | None = None) -> tuple[int, int]:
    r"""``(fan_in, fan_out)`` of a weight of the given shape and ``layout``.

    .. math::

        (\text{in}, \text{out}) \mapsto (\text{in}, \text{out}), \qquad
        (c_\text{out}, c_\text{in}, k_1, \dots) \mapsto
        (c_\text{in} \textstyle\prod k,\; c_\text{out} \prod k), \qquad
        (k, \text{in}, \text{out}) \mapsto (\text{in}, \text{out})

    * ``"linear"`` (2-D, the default for 2-D): OUR Linear layout (in, out), so
      ``fan_in = shape[0]``. PyTorch's ``nn.Linear`` weight is (out, in) and
      ``torch.nn.init._calculate_fan_in_and_fan_out`` reads ``fan_in = shape[1]``:
      ``fans(W.shape)`` equals torch's rule on ``W.T``.
    * ``"conv"`` (3-D and more, the default for 4-D and 5-D): a convolution weight
      (out_c, in_c, k1, k2, ...) in torch's layout, with torch's rule (the receptive
      field ``k1 * k2 * ...`` multiplies both fans).
    * ``"maxout"`` (3-D): the k pieces of a maxout unit
      (:class:`course_lib.scratch.activations.Maxout`), (k, in, out).
      ``fan_in = in``, ``fan_out = out``: k does NOT multiply, because each piece is
      its own linear map of the same input (a unit sums ``in`` inputs, not ``k * in``),
      and the max passes one piece's gradient back, not a sum over k.

    A 3-D weight has no default: (4, 6, 3) may be a conv1d weight or a maxout weight,
    whose fans differ, so ``layout`` must say which.
    """
    shape = _check_shape(shape)
    layout = _resolve_layout(shape, layout)
    if layout == "linear":
        return shape[0], shape[1]
    if layout == "maxout":
        return shape[1], shape[2]
    receptive = math.prod(shape[2:])
    return shape[1] * receptive, shape[0] * receptive


_LINEAR_NAMES = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d")


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    r"""The gain :math:`g` of ``torch.nn.init.calculate_gain`` (std = g / sqrt(fan)).

    .. math::

        g_\text{linear} = g_\text{sigmoid} = 1,\quad g_\text{tanh} = \tfrac53,\quad
        g_\text{relu} = \sqrt{2},\quad g_\text{leaky\_relu} = \sqrt{2/(1 + a^2)},\quad
        g_\text{selu} = \tfrac34

    ``param`` is the negative slope :math:`a` of ``"leaky_relu"`` (default 0.01, as in
    torch). Same table and names as torch. Not every value keeps the variance:

    * linear, relu, leaky_relu: derived. :math:`\mathrm{Var}(W) = g^2/n` keeps the
      second moment through a linear unit (g = 1) and through a ReLU, which keeps half
      of it, :math:`\mathbb{E}[\mathrm{relu}(z)^2] = \tfrac12\mathrm{Var}(z)` (g = sqrt 2;
      a leaky ReLU keeps :math:`(1 + a^2)/2`, He et al. 2015).
    * sigmoid (1): a convention, not a derivation. Glorot & Bengio's linear-regime
      argument needs an odd f with f'(0) = 1; the sigmoid has sigma(0) = 1/2 and
      sigma'(0) = 1/4.
    * tanh (5/3): a heuristic. Near 0 tanh is the identity, where g = 1 keeps the
      variance; 5/3 enlarges the weights to offset tanh's compression of larger
      inputs, so that a deep tanh stack settles at a std of order 1 instead of
      decaying. Its variance 25/(9 n), about 2.78/n, is larger than He's 2/n.
    * selu (3/4): chosen by torch for the gradients, not the variance. A
      self-normalizing net needs Var(W) = 1/n; torch's documentation says to pass
      ``"linear"`` for SELU.
    """
    if not isinstance(nonlinearity, str):
        raise ValueError(f"calculate_gain: nonlinearity must be a string, got {nonlinearity!r}")
    if nonlinearity in _LINEAR_NAMES or nonlinearity == "sigmoid":
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3.0
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        slope = _check_slope(param)
        return math.sqrt(2.0 / (1.0 + slope**2))
    if nonlinearity == "selu":
        return 0.75
    raise ValueError(
        f"calculate_gain: unsupported nonlinearity {nonlinearity!r}; choose one of "
        f"{sorted(_LINEAR_NAMES + ('sigmoid', 'tanh', 'relu', 'leaky_relu', 'selu'))}"
    )


def xavier_std(fan_in: int, fan_out: int, gain: float = 1.0) -> float:
    r"""Target std of Glorot/Xavier initialization, :math:`g\sqrt{2/(\text{fan\_in} + \text{fan\_out})}`."""
    fan_in, fan_out = _check_fan(fan_in, "fan_in", "xavier_std"), _check_fan(fan_out, "fan_out", "xavier_std")
    return _check_gain(gain, "xavier_std") * math.sqrt(2.0 / (fan_in + fan_out))


def xavier_bound(fan_in: int, fan_out: int, gain: float = 1.0) -> float:
    r"""Bound :math:`a` of Xavier uniform :math:`U(-a, a)`.

    .. math::

        a = \sqrt3\,\sigma = g\sqrt{6/(\text{fan\_in} + \text{fan\_out})}
    """
    return math.sqrt(3.0) * xavier_std(fan_in, fan_out, gain)


def he_std(
    fan_in: int,
    fan_out: int,
    a: float = 0.0,
    mode: str = "fan_in",
    nonlinearity: str = "leaky_relu",
) -> float:
    r"""Target std of He/Kaiming initialization, :math:`g / \sqrt{\text{fan}}`.

    With the default ``nonlinearity="leaky_relu"``, :math:`g^2 = 2/(1 + a^2)`, so
    :math:`\sigma = \sqrt{2 / ((1 + a^2)\,\text{fan})}` (a = 0: ReLU; a > 0: the
    negative slope of a leaky ReLU or PReLU). ``fan`` is ``fan_in`` (keeps the
    forward variance) or ``fan_out`` (keeps the backward one).
    """
    fan_in, fan_out, a = _check_he(fan_in, fan_out, a, mode)
    fan = fan_in if mode == "fan_in" else fan_out
    return calculate_gain(nonlinearity, a) / math.sqrt(fan)


def he_bound(
    fan_in: int,
    fan_out: int,
    a: float = 0.0,
    mode: str = "fan_in",
    nonlinearity: str = "leaky_relu",
) -> float:
    r"""Bound of He uniform :math:`U(-b, b)`: :math:`b = \sqrt3\,\sigma_\text{He}`."""
    return math.sqrt(3.0) * he_std(fan_in, fan_out, a, mode, nonlinearity)


def lecun_std(fan_in: int) -> float:
    r"""Target std of LeCun initialization, :math:`1/\sqrt{\text{fan\_in}}`."""
    return 1.0 / math.sqrt(_check_fan(fan_in, "fan_in", "lecun_std"))


# ----- the symmetric and the fixed-scale starts ------------------------------------------------------
def zeros(rng: np.random.Generator, fan_in: int, fan_out: int) -> np.ndarray:
    r"""All-zero weights, :math:`W = 0` (``rng`` is accepted for a uniform signature, unused).

    The most symmetric start: in a net with hidden layers all hidden units stay identical,
    and with tanh or ReLU (where phi(0) = 0) no weight gets a gradient at all, so only the
    output bias learns. Returns float64 (fan_in, fan_out).
    """
    fan_in, fan_out = _check(rng, fan_in, fan_out, "zeros")
    return np.zeros((fan_in, fan_out))


def constant(rng: np.random.Generator, fan_in: int, fan_out: int, value: float) -> np.ndarray:
    r"""Every weight equal to ``value``, :math:`W_{ij} = c` (``rng`` unused, see :func:`zeros`).

    Also symmetric: the layer trains, but its units receive identical gradients, move
    together and stay identical, so the layer acts as one unit. Returns float64
    (fan_in, fan_out).
    """
    fan_in, fan_out = _check(rng, fan_in, fan_out, "constant")
    if not np.isfinite(value):
        raise ValueError(f"constant: value must be finite, got {value}")
    return np.full((fan_in, fan_out), float(value))


def small_random(
    rng: np.random.Generator, fan_in: int, fan_out: int, std: float = 0.01
) -> np.ndarray:
    r"""Gaussian weights with a small fixed std (the slides' "small random numbers").

    .. math::

        W_{ij} \sim \mathcal{N}(0, \mathrm{std}^2), \qquad
        W \in \mathbb{R}^{\text{fan\_in} \times \text{fan\_out}}

    Fine for shallow nets; in deep nets the activations collapse toward zero layer
    after layer (Glorot & Bengio 2010, He et al. 2015). Returns float64
    (fan_in, fan_out). Twin of ``torch.nn.init.normal_(w, 0, std)``.
    """
    fan_in, fan_out = _check_small_random(rng, fan_in, fan_out, std)
    return rng.normal(0.0, std, size=(fan_in, fan_out))


# ----- variance-preserving schemes ------------------------------------------------------------------
def xavier_uniform(
    rng: np.random.Generator,
    fan_in: int,
    fan_out: int,
    gain: float = 1.0,
    *,
    shape: Sequence[int] | None = None,
    layout: str | None = None,
) -> np.ndarray:
    r"""Glorot & Bengio's (2010) "normalized initialization".

    .. math::

        W_{ij} \sim U(-a, a), \qquad a = g\sqrt{\frac{6}{n_\text{in} + n_\text{out}}},
        \qquad \mathrm{Var}(W_{ij}) = g^2\,\frac{2}{n_\text{in} + n_\text{out}}

    The variance is the compromise between keeping the forward variance
    (:math:`n_\text{in}\,\mathrm{Var}(W) = 1`) and the backward one
    (:math:`n_\text{out}\,\mathrm{Var}(W) = 1`). Returns float64 (fan_in, fan_out), or
    ``shape``: a conv or maxout weight whose fans (read with ``layout``, needed for a
    3-D shape, see :func:`fans`) are (fan_in, fan_out). PyTorch:
    ``torch.nn.init.xavier_uniform_`` on the (out, in) weight gives the same bound.
    """
    size = _checked_size(rng, fan_in, fan_out, shape, layout, "xavier_uniform")
    bound = xavier_bound(fan_in, fan_out, gain)
    return rng.uniform(-bound, bound, size=size)


def xavier_normal(
    rng: np.random.Generator,
    fan_in: int,
    fan_out: int,
    gain: float = 1.0,
    *,
    shape: Sequence[int] | None = None,
    layout: str | None = None,
) -> np.ndarray:
    r"""Glorot/Xavier initialization with Gaussian weights.

    .. math::

        W_{ij} \sim \mathcal{N}\!\Big(0,\; g^2\,\frac{2}{n_\text{in} + n_\text{out}}\Big)

    Returns float64 (fan_in, fan_out) or ``shape``. PyTorch:
    ``torch.nn.init.xavier_normal_``. Glorot & Bengio (2010).
    """
    size = _checked_size(rng, fan_in, fan_out, shape, layout, "xavier_normal")
    std = xavier_std(fan_in, fan_out, gain)
    return rng.normal(0.0, std, size=size)


def he_normal(
    rng: np.random.Generator,
    fan_in: int,
    fan_out: int,
    a: float = 0.0,
    mode: str = "fan_in",
    nonlinearity: str = "leaky_relu",
    *,
    shape: Sequence[int] | None = None,
    layout: str | None = None,
) -> np.ndarray:
    r"""He et al.'s (2015) initialization for rectifiers, Gaussian.

    .. math::

        W_{ij} \sim \mathcal{N}\!\Big(0,\; \frac{2}{(1 + a^2)\,\text{fan}}\Big)

    ``a`` is the negative slope of the (leaky/parametric) ReLU that follows (0 for
    ReLU); ``mode="fan_in"`` keeps the forward variance, ``"fan_out"`` the backward
    one. Any ``nonlinearity`` of :func:`calculate_gain` may be given instead (then
    std = gain / sqrt(fan)). Returns float64 (fan_in, fan_out) or ``shape``. PyTorch:
    ``torch.nn.init.kaiming_normal_`` (same arguments and defaults).
    """
    size = _checked_size(rng, fan_in, fan_out, shape, layout, "he_normal")
    std = he_std(fan_in, fan_out, a, mode, nonlinearity)
    return rng.normal(0.0, std, size=size)


def he_uniform(
    rng: np.random.Generator,
    fan_in: int,
    fan_out: int,
    a: float = 0.0,
    mode: str = "fan_in",
    nonlinearity: str = "leaky_relu",
    *,
    shape: Sequence[int] | None = None,
    layout: str | None = None,
) -> np.ndarray:
    r"""He et al.'s (2015) initialization for rectifiers, uniform with the same variance.

    .. math::

        W_{ij} \sim U(-b, b), \qquad b = \sqrt{\frac{6}{(1 + a^2)\,\text{fan}}}

    Returns float64 (fan_in, fan_out) or ``shape``. PyTorch:
    ``torch.nn.init.kaiming_uniform_``. Note: torch's DEFAULT ``nn.Linear`` init is
    ``kaiming_uniform_(w, a=sqrt(5))``, i.e. :math:`b = 1/\sqrt{n_\text{in}}`: neither
    Xavier nor He.
    """
    size = _checked_size(rng, fan_in, fan_out, shape, layout, "he_uniform")
    bound = he_bound(fan_in, fan_out, a, mode, nonlinearity)
    return rng.uniform(-bound, bound, size=size)


def lecun_normal(
    rng: np.random.Generator,
    fan_in: int,
    fan_out: int,
    *,
    shape: Sequence[int] | None = None,
    layout: str | None = None,
) -> np.ndarray:
    r"""LeCun et al.'s (1998) initialization, variance :math:`1/n_\text{in}`.

    .. math::

        W_{ij} \sim \mathcal{N}\!\Big(0,\; \frac{1}{n_\text{in}}\Big)

    Keeps the variance through LINEAR layers. Returns float64 (fan_in, fan_out) or
    ``shape``. PyTorch has no such function:
    ``kaiming_normal_(w, nonlinearity="linear")`` is the same.
    """
    size = _checked_size(rng, fan_in, fan_out, shape, layout, "lecun_normal")
    return rng.normal(0.0, lecun_std(fan_in), size=size)


def orthogonal(
    rng: np.random.Generator,
    fan_in: int,
    fan_out: int,
    gain: float = 1.0,
    *,
    shape: Sequence[int] | None = None,
    layout: str | None = None,
) -> np.ndarray:
    r"""A (semi-)orthogonal matrix times ``gain`` (Saxe, McClelland & Ganguli 2013).

    .. math::

        A = QR,\; A_{ij} \sim \mathcal{N}(0, 1), \qquad
        W = g\, Q\, \mathrm{diag}(\mathrm{sign}\, R_{kk})

    :math:`A` is drawn in torch's layout ((out, in) for a linear weight, the transpose
    of ours; (out_c, in_c * k1 * ...) for a conv weight) and the QR runs on its taller
    side. A linear weight (fan_in, fan_out) gets orthonormal columns,
    :math:`W^\top W = g^2 I`, when fan_in >= fan_out, else orthonormal rows,
    :math:`W W^\top = g^2 I`. The sign correction makes Q uniformly (Haar) distributed,
    not biased by the QR routine's sign convention. Every singular value equals ``g``,
    so a deep LINEAR net keeps the norm of every input exactly (when no layer
    narrows). Returns float64 (fan_in, fan_out) or ``shape``; a maxout weight
    (``layout="maxout"``, shape (k, fan_in, fan_out)) gets k independent orthogonal
    pieces. PyTorch: ``torch.nn.init.orthogonal_`` on the (out, in) weight, the same
    algorithm.
    """
    out_shape = _checked_size(rng, fan_in, fan_out, shape, layout, "orthogonal")
    gain = _check_gain(gain, "orthogonal")
    if layout == "maxout":  # (k, fan_in, fan_out): k independent linear maps
        pieces = [orthogonal(rng, fan_in, fan_out, gain) for _ in range(out_shape[0])]
        return np.stack(pieces)
    rows = fan_out if len(out_shape) == 2 else out_shape[0]  # torch's (out, ...)
    cols = math.prod(out_shape) // rows
    a = rng.standard_normal((rows, cols))
    tall = a if rows >= cols else a.T  # QR of the taller side
    q, r = np.linalg.qr(tall)  # reduced QR: q has orthonormal columns
    q = q * np.where(np.diag(r) >= 0, 1.0, -1.0)  # the sign correction
    if rows < cols:
        q = q.T
    q = gain * q.reshape((rows, cols))
    return q.T if len(out_shape) == 2 else q.reshape(out_shape)


# ----- LSUV -------------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class LSUVResult:
    """What :func:`lsuv` returns."""

    model: Any  # a copy of the model with the LSUV weights (the model passed in is unchanged)
    variances: tuple[float, ...]  # final Var(z_l) of every layer's pre-activation on the batch, l = 1..L
    iterations: tuple[int, ...]  # rescaling steps taken per layer
    tol: float  # the tolerance asked for


def lsuv(
    model: Any,
    x: np.ndarray,
    rng: np.random.Generator,
    *,
    tol: float = 0.1,
    max_iter: int = 10,
    orthogonal_start: bool = True,
) -> LSUVResult:
    r"""Layer-sequential unit-variance initialization (Mishkin & Matas 2015).

    .. math::

        W_\ell \leftarrow W_\ell \big/ \sqrt{\mathrm{Var}(z_\ell)} \quad
        \text{while } |\mathrm{Var}(z_\ell) - 1| \ge \text{tol},
        \qquad \ell = 1, \dots, L

    First every weight gets an orthogonal start (:func:`orthogonal`, unless
    ``orthogonal_start=False``); then, layer by layer from the input, the weights are
    divided by the std of that layer's output
    :math:`z_\ell = h_{\ell-1} W_\ell + b_\ell` on the batch ``x`` (at most ``max_iter``
    times), so each pre-activation has variance 1 on this data. (With zero biases one
    division is exact; a bias makes it approximate, hence the loop.)

    ``model``: a scratch MLP (anything with ``params`` holding ``"W1", "b1", ... "WL",
    "bL"``, ``num_layers`` and an activation op ``act``), not modified. ``x``: a data
    batch (N, D_in). Returns an :class:`LSUVResult` holding a copy of the model with the
    new weights. PyTorch has no built-in; the twin is
    :func:`course_lib.torch_impl.init.lsuv`.
    """
    h = _check_lsuv(model, x, rng, tol, max_iter)
    new = copy.copy(model)  # the model passed in stays unchanged
    new.params = {name: value.copy() for name, value in model.params.items()}
    variances, iterations = [], []
    for i in range(1, new.num_layers + 1):
        w, b = new.params[f"W{i}"], new.params[f"b{i}"]
        if orthogonal_start:
            w = orthogonal(rng, *w.shape)
        steps = 0
        while True:
            z, _ = Linear.forward(h, w, b)
            var = _checked_variance(float(np.var(z)), i)
            if abs(var - 1.0) < tol or steps == max_iter:
                break
            w = w / math.sqrt(var)
            steps += 1
        new.params[f"W{i}"] = w
        variances.append(var)
        iterations.append(steps)
        if i < new.num_layers:
            h, _ = new.act.forward(z)
    return LSUVResult(model=new, variances=tuple(variances),
                      iterations=tuple(iterations), tol=float(tol))


# ----- by name ------------------------------------------------------------------------------------------
INITIALIZERS: dict[str, Callable[..., np.ndarray]] = {
    "zeros": zeros,
    "small_random": small_random,
    "xavier_uniform": xavier_uniform,
    "xavier_normal": xavier_normal,
    "he_normal": he_normal,
    "he_uniform": he_uniform,
    "lecun_normal": lecun_normal,
    "orthogonal": orthogonal,
}
"""Initializers callable as ``init(rng, fan_in, fan_out)`` (defaults for the rest), by name;
``model.MLP(init=...)`` looks names up here."""


def get_initializer(name: str) -> Callable[..., np.ndarray]:
    """The initializer registered as ``name`` in :data:`INITIALIZERS`."""
    try:
        return INITIALIZERS[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown initializer {name!r}; choose one of {sorted(INITIALIZERS)}") from None
