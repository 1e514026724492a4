r"""Dropout: random masks, its two conventions, Monte-Carlo prediction and the max-norm constraint.

Dropout (Hinton et al. 2012, "Improving neural networks by preventing co-adaptation of feature
detectors", arXiv:1207.0580; Srivastava et al. 2014, "Dropout: a simple way to prevent neural
networks from overfitting", JMLR 15:1929-1958) multiplies every unit of a layer, for every
training example separately, by an independent Bernoulli variable: the unit is kept or zeroed.

The meaning of ``p``. Here, as in ``torch.nn.functional.dropout``, ``p`` is the probability of
DROPPING a unit; a unit is KEPT with probability ``1 - p``. The slides and Srivastava et al.
write :math:`r_j \sim \mathrm{Bernoulli}(p)` with :math:`p` the probability of KEEPING a unit
(one deck calls it :math:`\alpha`): their :math:`p = 0.8` for inputs and :math:`0.5` for hidden
units are our ``p = 0.2`` and ``p = 0.5``. Every function below takes torch's ``p``;
``p`` must lie in [0, 1) (``p = 1`` would drop everything and divide by zero) and ``p = 0`` is
the identity.

The masks. :func:`sample_mask` draws the KEEP mask :math:`m` as a **bool** array of the input's
shape: one independent draw per example and per unit (per entry of the array), never one mask
shared by the whole batch. Bool, not float 0/1, because a mask is not differentiated: the
gradient checks treat float inputs as variables and integer/bool inputs as data. The ops also
accept an integer or float array holding only 0 and 1.

The two conventions, which agree in expectation (:math:`\mathbb{E}[m_j] = 1 - p`):

.. math::

    \text{inverted (torch, } \texttt{Dropout}\text{)}:&\quad
        \text{train } y = \frac{m \odot x}{1 - p},\quad \text{test } y = x \\
    \text{scaled (slides, } \texttt{ScaledDropout}\text{)}:&\quad
        \text{train } y = m \odot x,\quad \text{test } y = (1 - p)\, x

In both, the test-time output equals the expected training-time output of every unit. The
scaled form is Srivastava et al.'s: at test time the outgoing weights of a unit are multiplied
by its keep probability (:func:`scale_weights`), which is the same as scaling its activation.
Inverted dropout moves the factor into training, so that the test-time network is the plain one.
The two describe the same networks: inverted dropout with weights ``W`` after a dropout layer
computes, pass for pass and at test time, what the scaled form computes with ``W / (1 - p)``
(trained by gradient descent they still take different paths: the reparametrization rescales
the gradient, the learning rate's effect and any weight decay). The expectation passes through
the linear layer right after the dropout layer, not through a nonlinearity after it: averaging
``k`` stochastic passes (:func:`mc_predict`, "Monte-Carlo dropout") is not the same as the single
weight-scaled pass when the network is nonlinear (Srivastava et al. 2014, section 7.5, find the
two close in practice).

Max-norm (Srivastava et al. 2014, section 5.1): after each update, each hidden unit's incoming
weight vector is projected back onto the ball of radius ``c``, :func:`max_norm`; wrap an optimizer
with :func:`with_max_norm` to do it in every step of the Solver.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from course_lib import checks

__all__ = [
    "sample_mask", "Dropout", "ScaledDropout", "DropoutCache", "check_p", "check_mask",
    "scale_weights", "max_norm", "with_max_norm", "MaxNormOptimizer", "WEIGHT_AXES", "mc_predict", "softmax",
    "check_inputs", "check_axes", "is_dropout_model",
]


def check_p(p: Any, who: str, name: str = "p") -> float:
    """``p`` as a float after checking it is a drop probability in [0, 1) (torch's convention)."""
    if not checks.is_real(p) or math.isnan(p) or not 0.0 <= p < 1.0:
        raise ValueError(
            f"{who}: {name} must be a drop probability in [0, 1), got {p!r} "
            "(p is the probability of DROPPING a unit, as in torch; the slides' keep probability is 1 - p)"
        )
    return float(p)


def _check_shape(shape: Any, who: str) -> tuple[int, ...]:
    shape = (shape,) if checks.is_integer(shape) else shape
    try:
        shape = tuple(shape)
    except TypeError:
        raise ValueError(f"{who}: shape must be an int or a tuple of ints, got {shape!r}") from None
    if not all(checks.is_integer(s) and s >= 0 for s in shape):
        raise ValueError(f"{who}: shape must hold non-negative integers, got {shape!r}")
    return tuple(int(s) for s in shape)


def sample_mask(rng: np.random.Generator, shape: Any, p: float) -> np.ndarray:
    r"""A KEEP mask: bool, of ``shape``, each entry True with probability ``1 - p``.

    .. math::

        m_{nj} = [u_{nj} \ge p], \qquad u_{nj} \sim \mathcal{U}[0, 1), \qquad
        P(m_{nj} = 1) = 1 - p

    ``shape`` is the shape of the layer's input, e.g. (N, D): one independent entry per
    example and per unit, so each example of a batch trains its own thinned network
    (Srivastava et al. 2014, section 5.1). ``p`` is the DROP probability (torch's);
    ``p = 0`` keeps everything. ``rng`` is an ``np.random.Generator`` (no global state).
    """
    rng = checks.generator(rng, who="sample_mask")
    shape = _check_shape(shape, "sample_mask")
    p = check_p(p, "sample_mask")
    return rng.random(shape) >= p


def check_mask(mask: Any, shape: tuple[int, ...], who: str) -> np.ndarray:
    """``mask`` as a bool array after checking it has ``shape`` and holds only 0/1 (or True/False)."""
    mask = np.asarray(mask)
    if mask.shape != tuple(shape):
        raise ValueError(
            f"{who}: mask must have the input's shape {tuple(shape)} (one entry per example and unit; "
            f"draw it with sample_mask(rng, x.shape, p)), got {mask.shape}"
        )
    if mask.dtype == np.bool_:
        return mask
    if not (np.issubdtype(mask.dtype, np.integer) or np.issubdtype(mask.dtype, np.floating)):
        raise ValueError(f"{who}: mask must be a bool or 0/1 array, got dtype {mask.dtype}")
    keep = mask == 1
    if not np.all(keep | (mask == 0)):
        bad = mask[~(keep | (mask == 0))].flat[0]
        raise ValueError(f"{who}: mask must hold only 0 and 1 (the keep mask, not scaled), found {bad!r}")
    return keep


@dataclass(frozen=True, eq=False)
class DropoutCache:
    """What :class:`Dropout` and :class:`ScaledDropout` keep: dx = dout*scale*mask."""

    mask: np.ndarray | None  # x.shape, bool keep mask; None if nothing is dropped
    scale: float  # factor on kept units: 1/(1-p), 1 (training) or 1-p, 1 (test)
    shape: tuple  # the shape of x (and of dout)


def check_inputs(x: Any, mask: Any, p: Any, training: Any, who: str) -> tuple[np.ndarray, np.ndarray | None, float]:
    """``(x, mask, p)`` of a dropout forward pass, checked: x float64, mask bool (or None), p in [0, 1).

    In training mode with ``p > 0`` a mask is required; otherwise it may be None (a given one is
    still checked, and not used).
    """
    x = checks.float_array(x, "x", who)
    p = check_p(p, who)
    if not isinstance(training, (bool, np.bool_)):
        raise ValueError(f"{who}: training must be True or False, got {training!r}")
    if mask is not None:
        mask = check_mask(mask, x.shape, who)
    elif training and p > 0:
        raise ValueError(f"{who}: training mode needs a mask; draw one with sample_mask(rng, x.shape, p)")
    return x, mask, p


def _check_dout(dout: Any, cache: DropoutCache, who: str) -> np.ndarray:
    dout = checks.float_array(dout, "dout", f"{who}.backward")
    if dout.shape != cache.shape:
        raise ValueError(f"{who}.backward: dout must have shape {cache.shape}, got {dout.shape}")
    return dout


class Dropout:
    r"""Inverted dropout (torch's form): kept units times :math:`1/(1-p)` in training.

    .. math::

        \text{training: } y = \frac{m \odot x}{1 - p}, \qquad
        \frac{\partial L}{\partial x} = \frac{m \odot \delta}{1 - p}; \qquad
        \text{test: } y = x, \qquad \frac{\partial L}{\partial x} = \delta

    with :math:`m` the bool keep mask of :func:`sample_mask` (the shape of ``x``, any
    shape) and :math:`\delta` the upstream gradient ``dout``. As
    :math:`\mathbb{E}_m[y] = x`, the test-time network needs no correction. ``p`` is the
    DROP probability (torch's convention; the slides' keep probability is ``1 - p``), in
    [0, 1); ``p = 0`` is the identity. Training mode needs a mask; at test time
    (``training=False``) it may be None.

    Twin: :func:`course_lib.torch_impl.dropout.dropout`, equal to ``F.dropout(x, p,
    training)`` for the mask ``F.dropout`` draws. References: Hinton et al. 2012;
    Srivastava et al. 2014 (who scale at test time instead, :class:`ScaledDropout`).
    """

    @staticmethod
    def forward(x: np.ndarray, mask: np.ndarray | None, p: float = 0.5,
                training: bool = True) -> tuple[np.ndarray, DropoutCache]:
        x, mask, p = check_inputs(x, mask, p, training, "Dropout")
        if not training or p == 0.0:  # test time: the identity
            return x.copy(), DropoutCache(mask=None, scale=1.0, shape=x.shape)
        scale = 1.0 / (1.0 - p)  # torch's form: x * (1 / (1 - p)), then the mask
        out = x * scale
        out *= mask  # dropped units become 0
        return out, DropoutCache(mask=mask, scale=scale, shape=x.shape)

    @staticmethod
    def backward(dout: np.ndarray, cache: DropoutCache) -> tuple[np.ndarray]:
        dout = _check_dout(dout, cache, "Dropout")
        dx = dout * cache.scale
        if cache.mask is not None:
            dx *= cache.mask  # no gradient reaches a dropped unit
        return (dx,)


class ScaledDropout:
    r"""Dropout as in the slides and Srivastava et al. 2014: times ``1 - p`` at test time.

    .. math::

        \text{training: } y = m \odot x, \quad
        \frac{\partial L}{\partial x} = m \odot \delta; \qquad
        \text{test: } y = (1 - p)\, x, \quad
        \frac{\partial L}{\partial x} = (1 - p)\, \delta

    :math:`\mathbb{E}_m[y_{\text{train}}] = (1 - p) x = y_{\text{test}}`: the test-time
    output is each unit's expected training output. The paper multiplies the unit's
    OUTGOING WEIGHTS by its keep probability instead (:func:`scale_weights`); before a
    linear layer the two are the same. ``p`` is the DROP probability (the paper's keep
    probability is ``1 - p``). With the same mask, ``ScaledDropout`` is ``1 - p`` times
    :class:`Dropout`, in training and at test time; so a network whose weights after
    each dropout layer are divided by ``1 - p`` computes the same function in either
    convention.
    """

    @staticmethod
    def forward(x: np.ndarray, mask: np.ndarray | None, p: float = 0.5,
                training: bool = True) -> tuple[np.ndarray, DropoutCache]:
        x, mask, p = check_inputs(x, mask, p, training, "ScaledDropout")
        if not training:  # test time: every unit times its keep probability
            return x * (1.0 - p), DropoutCache(mask=None, scale=1.0 - p, shape=x.shape)
        if p == 0.0:
            return x.copy(), DropoutCache(mask=None, scale=1.0, shape=x.shape)
        out = x * mask  # training: no scaling
        return out, DropoutCache(mask=mask, scale=1.0, shape=x.shape)

    @staticmethod
    def backward(dout: np.ndarray, cache: DropoutCache) -> tuple[np.ndarray]:
        dout = _check_dout(dout, cache, "ScaledDropout")
        dx = dout * cache.scale
        if cache.mask is not None:
            dx *= cache.mask
        return (dx,)


def scale_weights(w: np.ndarray, p: float) -> np.ndarray:
    r"""The slides' test-time rule: outgoing weights of dropout units times ``1 - p``.

    .. math::

        W_{\text{test}} = (1 - p)\, W

    ``w`` is the weight matrix of the layer AFTER the dropout layer, (in, out) in our
    layout; its bias is not scaled (no dropped unit multiplies it). Returns a new array.
    """
    p = check_p(p, "scale_weights")
    return (1.0 - p) * checks.float_array(w, "w", "scale_weights")


def max_norm(w: np.ndarray, c: float, axis: int | tuple[int, ...] = 0) -> np.ndarray:
    r"""Max-norm: each unit's incoming weights, projected onto the ball of radius ``c``.

    .. math::

        w_{\cdot j} \leftarrow w_{\cdot j}
        \cdot \min\!\Big(1, \frac{c}{\|w_{\cdot j}\|_2}\Big)

    Srivastava et al. 2014 (section 5.1) constrain :math:`\|w\|_2 \le c` for the
    incoming weights of every hidden unit, after each optimizer step (``c`` typically 3
    to 4, their appendix A.3); it keeps the large learning rates that dropout likes from
    blowing the weights up.

    Layout: our weights are (in, out), so the incoming vector of unit ``j`` is the
    COLUMN ``w[:, j]``: the norm runs over ``axis=0`` (the default). Maxout weights
    (k, in, out): ``axis=1``; conv filters (F, C, kH, kW): ``axis=(1, 2, 3)``. torch's
    ``nn.Linear.weight`` is (out, in): there ``torch.renorm(weight, 2, 0, c)`` does it.
    Vectors inside the ball are left exactly as they are. Returns a new array.
    """
    w = checks.float_array(w, "w", "max_norm")
    c = checks.real(c, "c", "max_norm", minimum=0, exclusive_minimum=True)
    axes = check_axes(axis, w.ndim, w.shape)
    norms = np.sqrt(np.sum(w * w, axis=axes, keepdims=True))  # one per unit
    over = norms > c
    factor = np.where(over, c / np.where(over, norms, 1.0), 1.0)  # 1 inside the ball
    return w * factor


WEIGHT_AXES = {2: (0,), 3: (1,), 4: (1, 2, 3)}
"""The axes of one unit's incoming weights, by the number of axes of a weight array: a Linear
``W`` (in, out), a maxout ``W`` (k, in, out), conv filters (F, C, kH, kW). 1-D arrays (biases,
batch-norm parameters) are not constrained."""


class MaxNormOptimizer:
    r"""A scratch optimizer followed by the max-norm projection of every weight array.

    .. math::

        w \leftarrow \Pi_c\big(\mathrm{optimizer.step}(w, g)\big), \qquad
        \Pi_c = \texttt{max\_norm}(\cdot, c)

    Made by :func:`with_max_norm`; has the ``init`` / ``step`` / ``lr`` interface of the
    optimizers in :mod:`course_lib.scratch.optim`, so the
    :class:`~course_lib.scratch.solver.Solver` takes it as it is. Arrays with 2, 3 or 4 axes
    are projected over :data:`WEIGHT_AXES`; others (biases, gamma, beta) pass unchanged.
    """

    def __init__(self, optimizer: Any, c: float):
        for attr in ("init", "step", "lr"):
            if not hasattr(optimizer, attr):
                raise TypeError(f"with_max_norm: the optimizer has no {attr!r} (a scratch optimizer is expected)")
        self.optimizer = optimizer
        self.c = checks.real(c, "c", "with_max_norm", minimum=0, exclusive_minimum=True)

    @property
    def lr(self) -> float:
        return self.optimizer.lr

    def __repr__(self) -> str:
        return f"with_max_norm({self.optimizer!r}, c={self.c})"

    def init(self, w: np.ndarray) -> Any:
        return self.optimizer.init(w)

    def step(self, w: np.ndarray, dw: np.ndarray, state: Any,
             lr: float | None = None) -> tuple[np.ndarray, Any]:
        w, state = self.optimizer.step(w, dw, state, lr=lr)
        axes = WEIGHT_AXES.get(np.ndim(w))
        return (w if axes is None else max_norm(w, self.c, axes)), state


def with_max_norm(optimizer: Any, c: float) -> MaxNormOptimizer:
    """``optimizer`` (scratch) with the max-norm constraint applied after every step.

    Srivastava et al. 2014 train dropout networks this way: each step, then every hidden
    unit's incoming weight vector back onto the ball of radius ``c`` (:func:`max_norm`,
    :data:`WEIGHT_AXES` for our (in, out) layout). Use it where the optimizer goes:
    ``Solver(model, data, with_max_norm(SGD(lr=1.0, momentum=0.95), c=3.0))``.
    """
    return MaxNormOptimizer(optimizer, c)


def check_axes(axis: Any, ndim: int, shape: tuple) -> tuple[int, ...]:
    """``axis`` (an int or a tuple of ints) as a tuple of axes of an array with ``ndim`` axes."""
    axes = (axis,) if checks.is_integer(axis) else tuple(axis) if isinstance(axis, (tuple, list)) else ()
    if not axes or not all(checks.is_integer(a) and -ndim <= a < ndim for a in axes):
        raise ValueError(f"max_norm: axis must be an axis (or tuple of axes) of w with shape {shape}, got {axis!r}")
    return tuple(int(a) for a in axes)


def softmax(scores: np.ndarray) -> np.ndarray:
    """Row-wise softmax of (N, C) scores (shifted by the row maximum)."""
    s = checks.float_array(scores, "scores", "softmax")
    e = np.exp(s - s.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def mc_predict(model: Any, x: np.ndarray, k: int,
               rng: np.random.Generator) -> np.ndarray:
    r"""Monte-Carlo dropout: class probabilities averaged over ``k`` stochastic passes.

    .. math::

        \hat P(y \mid x) = \frac{1}{k} \sum_{i=1}^{k}
        \mathrm{softmax}\big(f(x; m^{(i)})\big), \quad m^{(i)} \text{ independent}

    This estimates the average prediction of the ensemble of thinned networks, which
    test-time weight scaling only approximates (Srivastava et al. 2014, section 7.5).

    ``model`` is a :class:`course_lib.scratch.model.MLP` with dropout (masks from its
    ``sample_masks``, passes ``scores(x, masks=...)`` in eval mode, so that batch norm
    uses its running statistics; the mode is restored afterwards), or a callable
    ``forward(x, rng) -> scores`` (N, C) drawing its own masks from ``rng``. ``k >= 1``.
    Returns the (N, C) averaged probabilities; each row sums to 1.
    """
    k = checks.integer(k, "k", "mc_predict", minimum=1)
    rng = checks.generator(rng, who="mc_predict")
    x = checks.float_array(x, "x", "mc_predict")
    if not is_dropout_model(model, "mc_predict"):
        return sum(softmax(model(x, rng)) for _ in range(k)) / k
    was_training = model.training
    model.eval()  # batch norm: running statistics; dropout: the masks below
    try:
        total = 0.0
        for _ in range(k):
            masks = model.sample_masks(rng, x.shape[0])
            total = total + softmax(model.scores(x, masks=masks))
        return total / k
    finally:
        model.train(was_training)


def is_dropout_model(model: Any, who: str) -> bool:
    """True for a model with ``sample_masks`` and ``scores``; False for a callable; else a TypeError."""
    if hasattr(model, "sample_masks") and hasattr(model, "scores"):
        return True
    if not callable(model):
        raise TypeError(f"{who}: model must be an MLP or a callable forward(x, rng), got {type(model).__name__}")
    return False
