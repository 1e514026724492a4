r"""Activation functions with explicit backward passes.

Each elementwise activation is a class ``Act`` with ``Act.forward(x, **hyper) -> (out, cache)``
and ``Act.backward(dout, cache) -> (dx,)``; input and output have the same (any) shape.
Two carry parameters: :class:`PReLU` (``forward(x, a)``, backward ``(dx, da)``) and
:class:`Maxout` (``forward(x, w, b)``, backward ``(dx, dw, db)``).
To add one: write the class (and its cache dataclass), then add it to :data:`ACTIVATIONS`
under its lower-case name, which is what ``model.MLP(activation=...)`` looks up.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from course_lib import checks

__all__ = [
    "Sigmoid", "SigmoidCache", "Tanh", "TanhCache", "LeCunTanh", "LeCunTanhCache", "LECUN_SCALE", "LECUN_SLOPE",
    "ReLU", "ReLUCache", "LeakyReLU", "LeakyReLUCache", "PReLU", "PReLUCache", "ELU", "ELUCache",
    "Maxout", "MaxoutCache", "ACTIVATIONS", "get_activation", "stable_sigmoid",
]


def _check_dout(dout: np.ndarray, shape: tuple[int, ...], who: str) -> np.ndarray:
    dout = checks.float_array(dout, "dout", f"{who}.backward")
    if dout.shape != shape:
        raise ValueError(f"{who}.backward: dout must have the input's shape {shape}, got {dout.shape}")
    return dout


def _slope(positive: np.ndarray, elsewhere) -> np.ndarray:
    r"""A rectifier's derivative: 1 where ``positive``, else ``elsewhere`` (finite).

    .. math::

        s = p + (1 - p)\, e, \qquad p = [\,x > 0\,] \in \{0, 1\}

    Shapes: ``positive`` (bool) and ``elsewhere`` (a number, or an array that
    broadcasts against it) -> float64 of their broadcast shape. One of the two terms
    is exactly 0, so each entry is exactly 1 or exactly ``e``: the values of
    ``np.where(positive, 1.0, elsewhere)`` without its branch per entry (on a mask of
    random signs the CPU guesses half of those branches wrong, which makes
    ``np.where`` several times slower than this arithmetic).
    """
    p = positive.view(np.uint8)  # bytes 0/1 become floats faster than bools
    slope = (1 - p) * elsewhere
    slope += p
    return slope


def stable_sigmoid(x: np.ndarray) -> np.ndarray:
    r"""Logistic function :math:`1/(1+e^{-x})`, correct for any float64 ``x``.

    For very negative ``x``, :math:`e^{-x}` overflows to ``inf`` and
    :math:`1/(1+\infty) = 0`, which is the right limit; the overflow warning is silenced
    because the result is exact. (Never compute :math:`e^{x}/(1+e^{x})` directly: for
    large positive ``x`` it gives ``inf/inf = nan``.) Every step after the first works
    in place, on the one new array.
    """
    x = checks.float_array(x, "x", "stable_sigmoid")
    out = np.negative(x)  # a new array, ours to overwrite
    with np.errstate(over="ignore"):
        np.exp(out, out=out)  # e^{-x}
    out += 1.0
    return np.divide(1.0, out, out=out)


@dataclass(frozen=True, eq=False)
class SigmoidCache:
    out: np.ndarray  # (same shape as x) sigma(x), the derivative is out * (1 - out)


class Sigmoid:
    r"""Logistic sigmoid.

    .. math::

        \sigma(x) = \frac{1}{1 + e^{-x}}, \qquad \sigma'(x) = \sigma(x)\,\big(1 - \sigma(x)\big)

    Shapes: ``x`` any shape -> ``out`` same shape, values in [0, 1] (strictly inside
    (0, 1) unless float64 rounds, for |x| > ~37). Evaluated stably for large |x|; see
    :func:`stable_sigmoid`. Note :math:`\sigma'(x) \le 1/4`: stacking sigmoids shrinks
    gradients, and saturated units (|x| large) pass back almost nothing.

    PyTorch convention: ``torch.sigmoid``.

    Reference: the squashing unit of Rumelhart, Hinton & Williams (1986); its saturation
    in deep nets: Glorot & Bengio (2010).
    """

    @staticmethod
    def forward(x: np.ndarray) -> tuple[np.ndarray, SigmoidCache]:
        out = stable_sigmoid(checks.float_array(x, "x", "Sigmoid"))
        return out, SigmoidCache(out=out)

    @staticmethod
    def backward(dout: np.ndarray, cache: SigmoidCache) -> tuple[np.ndarray]:
        dout = _check_dout(dout, cache.out.shape, "Sigmoid")
        dx = 1.0 - cache.out
        dx *= cache.out
        dx *= dout
        return (dx,)


@dataclass(frozen=True, eq=False)
class ReLUCache:
    positive: np.ndarray  # (same shape as x) bool, x > 0


class ReLU:
    r"""Rectified linear unit.

    .. math::

        \mathrm{relu}(x) = \max(0, x), \qquad \mathrm{relu}'(x) = [\,x > 0\,]

    Shapes: ``x`` any shape -> ``out`` same shape. At the kink x = 0 we use the
    derivative 0, as PyTorch does.

    PyTorch convention: ``F.relu`` / ``torch.relu``.

    Reference: Nair & Hinton (2010); made standard for deep nets by Krizhevsky, Sutskever &
    Hinton (2012).
    """

    @staticmethod
    def forward(x: np.ndarray) -> tuple[np.ndarray, ReLUCache]:
        x = checks.float_array(x, "x", "ReLU")
        out = np.zeros_like(x)
        np.maximum(x, out, out=out)  # max(x, 0), entry by entry, written over the zeros
        return out, ReLUCache(positive=x > 0)

    @staticmethod
    def backward(dout: np.ndarray, cache: ReLUCache) -> tuple[np.ndarray]:
        dout = _check_dout(dout, cache.positive.shape, "ReLU")
        return (dout * cache.positive,)


# ----- tanh family ------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class TanhCache:
    out: np.ndarray  # (same shape as x) tanh(x), the derivative is 1 - out^2


class Tanh:
    r"""Hyperbolic tangent.

    .. math::

        \tanh(x) = \frac{e^{x} - e^{-x}}{e^{x} + e^{-x}} = 2\sigma(2x) - 1, \qquad \tanh'(x) = 1 - \tanh^2(x)

    Shapes: ``x`` any shape -> ``out`` same shape, values in [-1, 1]. A sigmoid stretched to
    [-1, 1] and centred at 0: its outputs are zero-centred, but it still saturates, and its
    slope is at most 1 (at x = 0).

    PyTorch convention: ``torch.tanh``.

    Reference: recommended over the logistic sigmoid by LeCun, Bottou, Orr & Müller (1998),
    "Efficient BackProp".
    """

    @staticmethod
    def forward(x: np.ndarray) -> tuple[np.ndarray, TanhCache]:
        out = np.tanh(checks.float_array(x, "x", "Tanh"))
        return out, TanhCache(out=out)

    @staticmethod
    def backward(dout: np.ndarray, cache: TanhCache) -> tuple[np.ndarray]:
        dout = _check_dout(dout, cache.out.shape, "Tanh")
        dx = np.square(cache.out)
        np.subtract(1.0, dx, out=dx)
        dx *= dout
        return (dx,)


LECUN_SCALE = 1.7159
"""Output scale :math:`A` of :class:`LeCunTanh` (chosen so that f(1) = 1 and f(-1) = -1)."""

LECUN_SLOPE = 2.0 / 3.0
"""Input scale :math:`B` of :class:`LeCunTanh`."""


@dataclass(frozen=True, eq=False)
class LeCunTanhCache:
    t: np.ndarray  # (same shape as x) tanh(B x); the derivative is A B (1 - t^2)


class LeCunTanh:
    r"""The "recommended" scaled tanh of LeCun et al. (1998).

    .. math::

        f(x) = A \tanh(B x), \quad A = 1.7159,\ B = \tfrac{2}{3}, \qquad
        f'(x) = A B \,\big(1 - \tanh^2(B x)\big)

    Shapes: ``x`` any shape -> ``out`` same shape, values in [-1.7159, 1.7159]. The constants
    make :math:`f(\pm 1) = \pm 1` (to 4 digits), so inputs of unit variance give outputs of
    about unit variance, and the unit's curvature is largest near :math:`|x| = 1`, where
    targets of :math:`\pm 1` sit (not in the flat tails). :math:`f'(0) = AB \approx 1.144`.

    PyTorch convention: no built-in; ``1.7159 * torch.tanh(2 * x / 3)``.

    Reference: LeCun, Bottou, Orr & Müller (1998), "Efficient BackProp", Sec. 4.4.
    """

    @staticmethod
    def forward(x: np.ndarray) -> tuple[np.ndarray, LeCunTanhCache]:
        t = checks.float_array(x, "x", "LeCunTanh") * LECUN_SLOPE
        np.tanh(t, out=t)
        return LECUN_SCALE * t, LeCunTanhCache(t=t)

    @staticmethod
    def backward(dout: np.ndarray, cache: LeCunTanhCache) -> tuple[np.ndarray]:
        dout = _check_dout(dout, cache.t.shape, "LeCunTanh")
        dx = np.square(cache.t)
        np.subtract(1.0, dx, out=dx)
        dx *= LECUN_SCALE * LECUN_SLOPE
        dx *= dout
        return (dx,)


# ----- rectifiers -------------------------------------------------------------------------------
def _check_finite_hyper(value: float, name: str, who: str) -> float:
    """A finite real number (a string, a bool, NaN or inf is a ``ValueError`` naming it)."""
    return checks.real(value, name, who)


@dataclass(frozen=True, eq=False)
class LeakyReLUCache:
    slope: np.ndarray  # (same shape as x) the local derivative: 1 where x > 0, negative_slope elsewhere


class LeakyReLU:
    r"""Leaky rectified linear unit.

    .. math::

        f(x) = \begin{cases} x & x > 0 \\ \alpha x & x \le 0 \end{cases}, \qquad
        f'(x) = \begin{cases} 1 & x > 0 \\ \alpha & x \le 0 \end{cases}

    with :math:`\alpha` = ``negative_slope``. For :math:`0 \le \alpha \le 1` this is
    :math:`\max(\alpha x, x)`. Shapes: ``x`` any shape -> ``out`` same shape. The gradient
    never vanishes, so a unit cannot "die" (compare :class:`ReLU`).

    PyTorch convention: ``F.leaky_relu(x, negative_slope=0.01)``: the default slope is 0.01,
    and at x = 0 the derivative is the slope (the ``x <= 0`` branch). The slides draw
    :math:`\max(0.1x, x)`: pass ``negative_slope=0.1`` for that.

    Reference: Maas, Hannun & Ng (2013), who used 0.01.
    """

    @staticmethod
    def forward(x: np.ndarray, negative_slope: float = 0.01) -> tuple[np.ndarray, LeakyReLUCache]:
        alpha = _check_finite_hyper(negative_slope, "negative_slope", "LeakyReLU")
        x = checks.float_array(x, "x", "LeakyReLU")
        slope = _slope(x > 0, alpha)  # f'(x)
        return x * slope, LeakyReLUCache(slope=slope)

    @staticmethod
    def backward(dout: np.ndarray, cache: LeakyReLUCache) -> tuple[np.ndarray]:
        dout = _check_dout(dout, cache.slope.shape, "LeakyReLU")
        return (dout * cache.slope,)


@dataclass(frozen=True, eq=False)
class PReLUCache:
    negative_part: np.ndarray  # (N, C, ...) or any shape when a is shared; min(x, 0), so df/da = negative_part
    slope: np.ndarray  # (same shape as x) df/dx: 1 where x > 0, a_c elsewhere
    a: np.ndarray  # (1,) or (C,): the slopes, as given


def _prelu_view(x: np.ndarray, a: np.ndarray) -> np.ndarray:
    """``a`` (1,) or (C,) reshaped to broadcast against ``x`` along axis 1 (torch's channel axis)."""
    if a.ndim != 1 or a.size == 0:
        raise ValueError(f"PReLU: a must be a 1-D array of shape (1,) or (C,), got shape {a.shape}")
    if a.size == 1:
        return a
    if x.ndim < 2 or x.shape[1] != a.size:
        raise ValueError(
            f"PReLU: a has {a.size} slopes, so x needs {a.size} channels along axis 1, got x of shape {x.shape}"
        )
    return a.reshape((1, a.size) + (1,) * (x.ndim - 2))


class PReLU:
    r"""Parametric ReLU: a leaky ReLU whose negative slope is learned.

    .. math::

        f(x) = \begin{cases} x & x > 0 \\ a_c\, x & x \le 0 \end{cases}, \qquad
        \frac{\partial f}{\partial x} = \begin{cases} 1 \\ a_c \end{cases}, \qquad
        \frac{\partial L}{\partial a_c} = \sum_{\text{entries of channel } c,\ x \le 0}
        \frac{\partial L}{\partial f}\, x

    Shapes: ``a`` is (1,) -- one slope shared by every entry of ``x`` (any shape) -- or (C,) --
    one slope per channel, where the channel is axis 1 of ``x`` ((N, C) features or
    (N, C, H, W) maps). ``forward(x, a) -> (out, cache)``, ``backward(dout, cache) -> (dx, da)``
    with ``da`` of the shape of ``a``: the gradient of a shared slope sums over every entry.

    PyTorch convention: ``F.prelu(x, a)`` / ``nn.PReLU(num_parameters=1 or C, init=0.25)``;
    at x = 0 the derivative is :math:`a` and :math:`\partial f / \partial a = x = 0`.

    Reference: He, Zhang, Ren & Sun (2015), "Delving deep into rectifiers", who initialize
    :math:`a = 0.25` and do not weight-decay it.
    """

    @staticmethod
    def forward(x: np.ndarray, a: np.ndarray) -> tuple[np.ndarray, PReLUCache]:
        x = checks.float_array(x, "x", "PReLU")
        a = checks.float_array(a, "a", "PReLU")
        if x.ndim == 0:
            raise ValueError("PReLU: x must have at least one axis, got a scalar")
        slope = _slope(x > 0, _prelu_view(x, a))  # df/dx
        return x * slope, PReLUCache(negative_part=np.minimum(x, 0.0), slope=slope, a=a)

    @staticmethod
    def backward(dout: np.ndarray, cache: PReLUCache) -> tuple[np.ndarray, np.ndarray]:
        dout = _check_dout(dout, cache.slope.shape, "PReLU")
        contrib = dout * cache.negative_part  # dL/df * df/da, entry by entry
        if cache.a.size == 1:
            da = np.array([contrib.sum()])
        else:
            da = contrib.sum(axis=tuple(i for i in range(contrib.ndim) if i != 1))
        return dout * cache.slope, da


@dataclass(frozen=True, eq=False)
class ELUCache:
    slope: np.ndarray  # (same shape as x) the local derivative: 1 where x > 0, alpha e^x elsewhere


class ELU:
    r"""Exponential linear unit.

    .. math::

        f(x) = \begin{cases} x & x > 0 \\ \alpha\,(e^{x} - 1) & x \le 0 \end{cases}, \qquad
        f'(x) = \begin{cases} 1 & x > 0 \\ \alpha e^{x} = f(x) + \alpha & x \le 0 \end{cases}

    Shapes: ``x`` any shape -> ``out`` same shape, values above :math:`-\alpha`. Like ReLU for
    positive inputs; for negative ones it saturates smoothly at :math:`-\alpha`, which pulls
    the mean output toward 0. With :math:`\alpha = 1` the derivative is continuous at 0.
    :math:`e^x - 1` is computed with ``expm1`` (accurate near 0) on :math:`\min(x, 0)` (no overflow).

    PyTorch convention: ``F.elu(x, alpha=1.0)``; at x = 0 the derivative is :math:`\alpha`
    (the ``x <= 0`` branch).

    Reference: Clevert, Unterthiner & Hochreiter (2015), "Fast and accurate deep network
    learning by exponential linear units (ELUs)".
    """

    @staticmethod
    def forward(x: np.ndarray, alpha: float = 1.0) -> tuple[np.ndarray, ELUCache]:
        alpha = _check_finite_hyper(alpha, "alpha", "ELU")
        x = checks.float_array(x, "x", "ELU")
        negative = np.minimum(x, 0.0)
        np.expm1(negative, out=negative)
        negative *= alpha  # alpha (e^x - 1) where x <= 0, exactly 0 elsewhere
        out = np.maximum(x, 0.0)
        out += negative
        slope = _slope(x > 0, negative + alpha)  # alpha e^x on the negative side
        return out, ELUCache(slope=slope)

    @staticmethod
    def backward(dout: np.ndarray, cache: ELUCache) -> tuple[np.ndarray]:
        dout = _check_dout(dout, cache.slope.shape, "ELU")
        return (dout * cache.slope,)


# ----- maxout ----------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class MaxoutCache:
    x: np.ndarray  # (N, D) input
    w: np.ndarray  # (k, D, M) weights of the k pieces
    winner: np.ndarray  # (N, M) int, index of the piece that won (the FIRST one on a tie)


class Maxout:
    r"""Maxout unit: the maximum of :math:`k` linear pieces, each with its own weights.

    .. math::

        z_j = x W_j + b_j \ (j = 1, \dots, k), \qquad
        \mathrm{out} = \max_j z_j, \qquad
        \frac{\partial \mathrm{out}}{\partial z_j} = [\, j = j^\star \,],\
        j^\star = \operatorname{argmax}_j z_j

    Shapes (our layout, documented because there is no single standard): ``x`` (N, D),
    ``w`` (k, D, M) -- k ordinary Linear weights (D, M) stacked -- ``b`` (k, M),
    ``out`` (N, M). ``backward(dout, cache) -> (dx, dw, db)`` with the shapes of x, w, b.
    A maxout layer with M outputs has :math:`k (DM + M)` parameters: k = 2 doubles those of
    a Linear layer followed by an elementwise activation. With k = 2, ``w[1] = 0, b[1] = 0``
    it is exactly a ReLU layer; with ``w[1] = 0.01 w[0], b[1] = 0.01 b[0]`` a leaky ReLU.

    Ties: the whole gradient goes to the FIRST maximal piece (lowest j), as ``np.argmax`` and
    ``torch.max(z, dim=0)`` do; ``torch.amax`` would split it evenly among the tied pieces.
    Either is a valid subgradient; they agree whenever there is no tie.

    PyTorch convention: no built-in layer; usually ``nn.Linear(D, k*M)`` followed by a max over
    groups of k. The twin :func:`course_lib.torch_impl.activations.maxout` uses our layout.

    Reference: Goodfellow, Warde-Farley, Mirza, Courville & Bengio (2013), "Maxout networks".
    """

    @staticmethod
    def forward(x: np.ndarray, w: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, MaxoutCache]:
        x = checks.float_array(x, "x", "Maxout")
        w = checks.float_array(w, "w", "Maxout")
        b = checks.float_array(b, "b", "Maxout")
        if x.ndim != 2:
            raise ValueError(f"Maxout: x must have shape (N, D), got {x.shape}")
        if w.ndim != 3 or w.shape[0] < 1 or w.shape[1] != x.shape[1]:
            raise ValueError(f"Maxout: w must have shape (k, D={x.shape[1]}, M) with k >= 1, got {w.shape}")
        if b.shape != (w.shape[0], w.shape[2]):
            raise ValueError(f"Maxout: b must have shape (k, M) = {(w.shape[0], w.shape[2])}, got {b.shape}")
        z = np.matmul(x, w)  # (k, N, M): the k pieces
        z += b[:, None, :]
        winner = np.argmax(z, axis=0)  # (N, M), the first maximal piece on ties
        out = np.max(z, axis=0)
        return out, MaxoutCache(x=x, w=w, winner=winner)

    @staticmethod
    def backward(dout: np.ndarray, cache: MaxoutCache) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        dout = _check_dout(dout, cache.winner.shape, "Maxout")
        k = cache.w.shape[0]
        pieces = np.arange(k).reshape(k, 1, 1)
        dz = np.where(pieces == cache.winner, dout, 0.0)  # (k, N, M): dout routed to the winning piece
        dx = np.matmul(dz, cache.w.transpose(0, 2, 1)).sum(axis=0)  # sum_j dz_j W_j^T, (N, D)
        dw = np.matmul(cache.x.T, dz)  # x^T dz_j for every piece, (k, D, M)
        db = dz.sum(axis=1)  # (k, M)
        return dx, dw, db


ACTIVATIONS: dict[str, type] = {
    "sigmoid": Sigmoid,
    "tanh": Tanh,
    "lecun_tanh": LeCunTanh,
    "relu": ReLU,
    "leaky_relu": LeakyReLU,
    "elu": ELU,
}
"""Elementwise activation classes by lower-case name (used by ``model.MLP``, which calls them
with their default hyperparameters). PReLU and Maxout carry parameters and are not listed."""


def get_activation(name: str) -> type:
    """The activation class registered as ``name`` in :data:`ACTIVATIONS`."""
    try:
        return ACTIVATIONS[name.lower()]
    except (KeyError, AttributeError):
        raise ValueError(f"unknown activation {name!r}; choose one of {sorted(ACTIVATIONS)}") from None
