r"""A multilayer perceptron assembled from the scratch ops, with a hand-chained backward pass.

The backward pass is nothing but the ops' ``backward`` methods called in reverse order:
this is back-propagation (Rumelhart, Hinton & Williams 1986) written out by hand.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from course_lib import checks
from course_lib.scratch import init as init_mod
from course_lib.scratch.activations import ACTIVATIONS, get_activation
from course_lib.scratch.linear import Linear
from course_lib.scratch.losses import MulticlassSVM, SoftmaxCrossEntropy, check_labels

__all__ = ["MLP", "Trace", "LOSSES", "DEFAULT_WEIGHT_SCALE", "check_mlp_args"]

LOSSES: dict[str, type] = {"softmax": SoftmaxCrossEntropy, "svm": MulticlassSVM}
"""Loss ops by name, for ``MLP(loss=...)``."""

DEFAULT_WEIGHT_SCALE = 1e-2
"""Std of the initial weights when ``weight_scale`` is None."""


@dataclass(frozen=True, eq=False)
class Trace:
    r"""Every intermediate of one forward pass, for diagnostics (:meth:`MLP.trace`).

    .. math::

        z_\ell = h_{\ell-1} W_\ell + b_\ell \ (\ell = 1..L), \qquad h_\ell = \phi(z_\ell)\ (\ell < L), \qquad h_0 = x

    ``pre_activations[l-1]`` is :math:`z_\ell`, shape (N, dims[l]) (the last one holds the
    class scores); ``activations[l-1]`` is :math:`h_\ell` for the hidden layers. numpy arrays
    in the scratch MLP, detached tensors in the torch twin.
    """

    pre_activations: tuple  # (z_1, ..., z_L), z_l: (N, dims[l])
    activations: tuple  # (h_1, ..., h_{L-1}), h_l: (N, dims[l])

    @property
    def scores(self):
        """The class scores :math:`z_L` (N, C)."""
        return self.pre_activations[-1]


def _init_name(init: Any) -> str:
    if init is None or isinstance(init, str):
        return repr(init)
    init = getattr(init, "func", init)  # a functools.partial: name its function
    return getattr(init, "__name__", type(init).__name__)


def check_mlp_args(dims, activation, loss, weight_scale, reg, init, bias, *, activations, losses, initializers):
    """Validate an MLP's constructor arguments; shared by :class:`MLP` and its torch twin.

    ``activations``, ``losses`` and ``initializers`` are the names each side knows. Returns
    ``(dims, scale, bias_value)``: the layer sizes as ints, the std of the small-random start
    (used when ``init`` is None or ``"small_random"``) and the starting value of every bias.
    """
    dims = list(dims)
    if len(dims) < 2:
        raise ValueError(f"MLP: dims needs at least [D_in, C], got {dims}")
    if not all(checks.is_integer(d) and d >= 1 for d in dims):
        raise ValueError(f"MLP: every entry of dims must be a positive integer, got {dims}")
    if not isinstance(activation, str) or activation.lower() not in activations:
        raise ValueError(f"unknown activation {activation!r}; choose one of {sorted(activations)}")
    if loss not in losses:
        raise ValueError(f"MLP: unknown loss {loss!r}; choose one of {sorted(losses)}")
    checks.real(reg, "reg", "MLP", minimum=0)
    if weight_scale is None:
        scale = DEFAULT_WEIGHT_SCALE
    else:
        scale = checks.real(weight_scale, "weight_scale", "MLP", minimum=0)
    if not (init is None or init == "small_random"):
        if weight_scale is not None:
            raise ValueError(f"MLP: weight_scale applies only to init=None or 'small_random', not to init={init!r}")
        if isinstance(init, str) and init not in initializers:
            raise ValueError(f"unknown initializer {init!r}; choose one of {sorted(initializers)}")
        if not isinstance(init, str) and not callable(init):
            raise ValueError(f"MLP: init must be None, a name in {sorted(initializers)} or a callable, got {init!r}")
    bias_value = 0.0 if bias is None else checks.real(bias, "bias", "MLP")
    return [int(d) for d in dims], float(scale), bias_value


class MLP:
    r"""Fully connected classifier: (Linear -> activation) x (L-1), then Linear, then a loss.

    .. math::

        h_0 = x,\quad h_\ell = \phi(h_{\ell-1} W_\ell + b_\ell)\ (\ell < L),\quad
        s = h_{L-1} W_L + b_L,\quad
        J = \mathrm{loss}(s, y) + \tfrac{\lambda}{2} \sum_{\ell} \|W_\ell\|_F^2

    Parameters
    ----------
    dims : sequence of int
        ``[D_in, H_1, ..., H_{L-1}, C]``; at least two entries (``[D, C]`` is a linear classifier).
    activation : str
        Name in :data:`course_lib.scratch.activations.ACTIVATIONS` (``"relu"``, ``"sigmoid"``...).
    loss : ``"softmax"`` (softmax cross-entropy) or ``"svm"`` (multiclass hinge).
    weight_scale : float or None
        With ``init=None`` (or ``"small_random"``), initial weights are drawn from
        :math:`\mathcal{N}(0, \text{weight\_scale}^2)` with
        :func:`course_lib.scratch.init.small_random`; None means ``1e-2``. Giving it together
        with another ``init`` is an error.
    reg : float
        L2 strength :math:`\lambda`; the penalty is on the weights only, never on biases.
    rng : None, int or np.random.Generator
        Passed to ``np.random.default_rng``: an int seeds, a Generator is used as is, None
        draws fresh entropy (not reproducible).
    init : None, str or callable
        How every weight matrix starts. None: small random numbers (``weight_scale``, above).
        A name in :data:`course_lib.scratch.init.INITIALIZERS` (``"xavier_uniform"``,
        ``"he_normal"``, ``"orthogonal"``, ``"zeros"``...; each with its default arguments), or a
        callable ``init(rng, fan_in, fan_out) -> array (fan_in, fan_out)``, e.g.
        ``functools.partial(init.orthogonal, gain=2 ** 0.5)``. Layers are drawn in order W1, W2, ...
    bias : None or float
        Every bias entry starts at this value (None: 0; a small positive value keeps ReLUs alive).

    Attributes
    ----------
    params : dict
        ``{"W1": (dims[0], dims[1]), "b1": (dims[1],), "W2": ..., ...}``, float64, W as (in, out).
        The :class:`~course_lib.scratch.solver.Solver` replaces these arrays after each step.

    PyTorch convention: torch's ``nn.Linear`` stores W as (out, in); the torch twin
    (:class:`course_lib.torch_impl.model.MLP`) keeps our (in, out) layout so parameters can
    be copied over as they are. The loss includes the regularization term, as CS231n does;
    in torch one usually puts it in the optimizer's ``weight_decay`` instead (same gradient,
    the reported loss then excludes it).
    """

    def __init__(
        self,
        dims: Any,
        activation: str = "relu",
        loss: str = "softmax",
        weight_scale: float | None = None,
        reg: float = 0.0,
        rng: Any = None,
        init: str | Callable[..., np.ndarray] | None = None,
        bias: float | None = None,
    ):
        self.dims, scale, bias_value = check_mlp_args(
            dims, activation, loss, weight_scale, reg, init, bias,
            activations=ACTIVATIONS, losses=LOSSES, initializers=init_mod.INITIALIZERS,
        )
        if init is None or init == "small_random":
            draw = lambda g, fan_in, fan_out: init_mod.small_random(g, fan_in, fan_out, std=scale)  # noqa: E731
        else:
            draw = init_mod.get_initializer(init) if isinstance(init, str) else init
        self.activation = activation
        self.act = get_activation(activation)
        self.loss_name = loss
        self.loss_op = LOSSES[loss]
        self.reg = float(reg)
        self.weight_scale = scale
        self.init = init
        self.bias = bias_value
        gen = np.random.default_rng(rng)
        self.params: dict[str, np.ndarray] = {}
        for i, (fan_in, fan_out) in enumerate(zip(self.dims[:-1], self.dims[1:]), start=1):
            w = np.asarray(draw(gen, fan_in, fan_out), dtype=np.float64)
            if w.shape != (fan_in, fan_out) or not np.all(np.isfinite(w)):
                raise ValueError(
                    f"MLP: init returned {'shape ' + str(w.shape) if w.shape != (fan_in, fan_out) else 'non-finite values'} "
                    f"for layer {i}; expected finite values of shape ({fan_in}, {fan_out})"
                )
            self.params[f"W{i}"] = w
            self.params[f"b{i}"] = np.full(fan_out, bias_value)

    @property
    def num_layers(self) -> int:
        """Number of Linear layers L."""
        return len(self.dims) - 1

    @property
    def num_classes(self) -> int:
        return self.dims[-1]

    def __repr__(self) -> str:
        return (
            f"MLP(dims={self.dims}, activation={self.activation!r}, loss={self.loss_name!r}, "
            f"init={_init_name(self.init)}, weight_scale={self.weight_scale}, bias={self.bias}, reg={self.reg})"
        )

    # ----- forward ---------------------------------------------------------------------
    def _check_x(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != self.dims[0]:
            raise ValueError(f"MLP: x must have shape (N, {self.dims[0]}), got {x.shape}")
        return x

    def _forward(self, x: np.ndarray) -> tuple[np.ndarray, list[tuple[Any, Any]], list[np.ndarray]]:
        """Scores, the caches of every op in order, and the hidden activations."""
        h = self._check_x(x)
        caches, hidden = [], []
        for i in range(1, self.num_layers + 1):
            h, cache = Linear.forward(h, self.params[f"W{i}"], self.params[f"b{i}"])
            caches.append(cache)
            if i < self.num_layers:
                h, cache = self.act.forward(h)
                caches.append(cache)
                hidden.append(h)
        return h, caches, hidden

    def scores(self, x: np.ndarray) -> np.ndarray:
        """Class scores (N, C) for inputs ``x`` (N, D_in)."""
        return self._forward(x)[0]

    def hidden(self, x: np.ndarray) -> list[np.ndarray]:
        """The hidden activations :math:`h_1, \\dots, h_{L-1}` (after the nonlinearity), each (N, H_l)."""
        return self._forward(x)[2]

    def trace(self, x: np.ndarray) -> Trace:
        """Every pre-activation :math:`z_1..z_L` and hidden activation :math:`h_1..h_{L-1}` for ``x`` (N, D_in)."""
        h = self._check_x(x)
        pre, post = [], []
        for i in range(1, self.num_layers + 1):
            z, _ = Linear.forward(h, self.params[f"W{i}"], self.params[f"b{i}"])
            pre.append(z)
            if i < self.num_layers:
                h, _ = self.act.forward(z)
                post.append(h)
        return Trace(pre_activations=tuple(pre), activations=tuple(post))

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Predicted class per example (N,), the arg-max of the scores."""
        return np.argmax(self.scores(x), axis=1)

    def accuracy(self, x: np.ndarray, y: np.ndarray) -> float:
        """Fraction of examples whose predicted class equals ``y``."""
        x = self._check_x(x)
        y = check_labels(y, x.shape[0], self.num_classes, "MLP.accuracy")
        return float(np.mean(self.predict(x) == y))

    # ----- loss and backward -----------------------------------------------------------
    def loss(self, x: np.ndarray, y: np.ndarray) -> tuple[float, dict[str, np.ndarray]]:
        """Data loss plus L2 penalty, and its gradient w.r.t. every parameter.

        Returns ``(loss, grads)`` with ``grads`` keyed like :attr:`params`.
        """
        scores, caches, _ = self._forward(x)
        data_loss, loss_cache = self.loss_op.forward(scores, y)
        weights = [self.params[f"W{i}"] for i in range(1, self.num_layers + 1)]
        reg_loss = 0.0
        if self.reg:
            reg_loss = 0.5 * self.reg * sum(float(np.sum(w * w)) for w in weights)

        grads: dict[str, np.ndarray] = {}
        (dh,) = self.loss_op.backward(1.0, loss_cache)
        k = len(caches) - 1
        for i in range(self.num_layers, 0, -1):
            if i < self.num_layers:
                (dh,) = self.act.backward(dh, caches[k])
                k -= 1
            dh, dw, db = Linear.backward(dh, caches[k])
            k -= 1
            if self.reg:
                dw = dw + self.reg * self.params[f"W{i}"]  # gradient of the penalty
            grads[f"W{i}"] = dw
            grads[f"b{i}"] = db
        grads = {name: grads[name] for name in self.params}  # same key order as params
        return float(data_loss + reg_loss), grads
