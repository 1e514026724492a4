r"""A multilayer perceptron assembled from the scratch ops, with a hand-chained backward pass.

The backward pass is nothing but the ops' ``backward`` methods called in reverse order:
this is back-propagation (Rumelhart, Hinton & Williams 1986) written out by hand.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from course_lib import checks
from course_lib.scratch import batchnorm as bn
from course_lib.scratch import dropout as drop
from course_lib.scratch import init as init_mod
from course_lib.scratch.activations import ACTIVATIONS, Maxout, MaxoutCache
from course_lib.scratch.linear import Linear
from course_lib.scratch.losses import MulticlassSVM, SoftmaxCrossEntropy, check_labels

__all__ = [
    "MLP", "Trace", "HiddenActivation", "BoundActivation", "LOSSES", "DEFAULT_WEIGHT_SCALE",
    "check_mlp_args", "resolve_activation", "check_norm", "check_dropout", "NORM_EPS", "NORM_MOMENTUM",
]

LOSSES: dict[str, type] = {"softmax": SoftmaxCrossEntropy, "svm": MulticlassSVM}
"""Loss ops by name, for ``MLP(loss=...)``."""

DEFAULT_WEIGHT_SCALE = 1e-2
"""Std of the initial weights when ``weight_scale`` is None."""

NORM_EPS, NORM_MOMENTUM = 1e-5, 0.1
"""``eps`` and running-statistics ``momentum`` of the MLP's batch-norm layers (torch's defaults)."""


@dataclass(frozen=True, eq=False)
class Trace:
    r"""Every intermediate of one forward pass, for diagnostics (:meth:`MLP.trace`).

    .. math::

        z_\ell = h_{\ell-1} W_\ell + b_\ell \ (\ell = 1..L), \qquad h_\ell = \phi(z_\ell)\ (\ell < L), \qquad h_0 = x

    ``pre_activations[l-1]`` is :math:`z_\ell`, shape (N, dims[l]) (the last one holds the
    class scores); ``activations[l-1]`` is :math:`h_\ell` for the hidden layers. A maxout
    layer has no single :math:`z_\ell`: its entry is its output, the winning piece's value.
    numpy arrays in the scratch MLP, detached tensors in the torch twin.
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


@dataclass(frozen=True, eq=False)
class HiddenActivation:
    r"""The nonlinearity of every hidden layer of an MLP, as resolved from its constructor.

    .. math::

        h_\ell = \phi(h_{\ell-1} W_\ell + b_\ell; \theta) \quad \text{or, for maxout,} \quad
        h_\ell = \max_{j=1..k} \big(h_{\ell-1} W_{\ell, j} + b_{\ell, j}\big)

    ``name`` is a key of :data:`course_lib.scratch.activations.ACTIVATIONS` or ``"maxout"``;
    ``hyper`` holds the hyperparameters :math:`\theta` passed to the op's ``forward`` by
    keyword (``{"negative_slope": 0.1}``; torch's names, so the twin takes the same);
    ``pieces`` is the number k of linear pieces of a maxout layer (None otherwise).
    """

    name: str
    hyper: dict
    pieces: int | None = None

    @property
    def maxout(self) -> bool:
        return self.name == "maxout"


def _hyper_names(op: type) -> list[str]:
    """The keyword hyperparameters of an elementwise op's ``forward`` (every argument after ``x``)."""
    return list(inspect.signature(op.forward).parameters)[1:]


def resolve_activation(activation: Any, activation_kwargs: Any = None, pieces: Any = None,
                       twins: dict | None = None) -> HiddenActivation:
    """Check ``MLP(activation=..., activation_kwargs=..., pieces=...)``; shared with the torch twin.

    ``activation`` is a name (any case), a class of :mod:`course_lib.scratch.activations` in
    :data:`~course_lib.scratch.activations.ACTIVATIONS` or :class:`Maxout`, or (torch twin)
    one of the functions in ``twins``, the twin's ``{name: function}``. ``activation_kwargs``
    must name hyperparameters of that op (finite numbers); ``pieces`` (an int >= 1, default 2)
    applies to maxout only.
    """
    known = {**ACTIVATIONS, "maxout": Maxout}
    by_op = {op: name for table in (known, twins or {}) for name, op in table.items()}
    if isinstance(activation, str) and activation.lower() in known:
        name = activation.lower()
    elif not isinstance(activation, str) and any(activation is op for op in by_op):
        name = by_op[activation]
    else:
        raise ValueError(
            f"MLP: unknown activation {activation!r}; choose one of {sorted(known)} "
            "or one of their classes in course_lib.scratch.activations (PReLU is not supported)"
        )
    hyper = {} if activation_kwargs is None else activation_kwargs
    if not isinstance(hyper, Mapping):
        raise ValueError(f"MLP: activation_kwargs must be a dict, got {activation_kwargs!r}")
    allowed = [] if name == "maxout" else _hyper_names(known[name])
    unknown = sorted(set(hyper) - set(allowed))
    if unknown:
        raise ValueError(f"MLP: activation {name!r} takes no hyperparameter {unknown}; it takes {allowed}")
    hyper = {key: checks.real(value, key, f"MLP({name})") for key, value in hyper.items()}
    if name != "maxout":
        if pieces is not None:
            raise ValueError(f"MLP: pieces applies to activation='maxout' only, not to {name!r}")
        return HiddenActivation(name=name, hyper=hyper)
    pieces = 2 if pieces is None else checks.integer(pieces, "pieces", "MLP", minimum=1)
    return HiddenActivation(name=name, hyper=hyper, pieces=pieces)


def check_mlp_args(dims, loss, weight_scale, reg, init, bias, *, losses, initializers):
    """Validate an MLP's constructor arguments; shared by :class:`MLP` and its torch twin.

    ``losses`` and ``initializers`` are the names each side knows (the activation is checked
    by :func:`resolve_activation`). Returns ``(dims, scale, bias_value)``: the layer sizes as
    ints, the std of the small-random start (used when ``init`` is None or ``"small_random"``)
    and the starting value of every bias.
    """
    dims = list(dims)
    if len(dims) < 2:
        raise ValueError(f"MLP: dims needs at least [D_in, C], got {dims}")
    if not all(checks.is_integer(d) and d >= 1 for d in dims):
        raise ValueError(f"MLP: every entry of dims must be a positive integer, got {dims}")
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


def check_norm(norm: Any, norm_position: Any, maxout: bool) -> tuple[str | None, str]:
    """Check ``MLP(norm=..., norm_position=...)``; shared with the torch twin."""
    if norm not in (None, "batch"):
        raise ValueError(f"MLP: norm must be None or 'batch', got {norm!r}")
    if norm_position not in ("before", "after"):
        raise ValueError(f"MLP: norm_position must be 'before' or 'after' (the activation), got {norm_position!r}")
    if norm is not None and maxout:
        raise ValueError("MLP: norm='batch' is not supported with activation='maxout'")
    return norm, norm_position


def check_dropout(dropout: Any, num_layers: int) -> tuple[float, ...]:
    """Check ``MLP(dropout=...)``; shared with the torch twin. Returns the drop probability of every site.

    ``dropout`` is None (no dropout), a drop probability ``p`` for every hidden layer (the input is
    kept whole) or a pair ``(p_input, p_hidden)``. The result has one entry per layer with weights,
    ``num_layers`` in all: entry ``l`` (0-based) is the drop probability of that layer's INPUT,
    ``h_l`` (``h_0 = x``); a linear classifier (no hidden layer) has only the input site.
    """
    if dropout is None:
        return (0.0,) * num_layers
    if isinstance(dropout, (tuple, list)):
        if len(dropout) != 2:
            raise ValueError(f"MLP: dropout must be None, p or (p_input, p_hidden), got {dropout!r}")
        p_input = drop.check_p(dropout[0], "MLP", "dropout p_input")
        p_hidden = drop.check_p(dropout[1], "MLP", "dropout p_hidden")
    else:
        p_input, p_hidden = 0.0, drop.check_p(dropout, "MLP", "dropout p")
    return (p_input,) + (p_hidden,) * (num_layers - 1)


@dataclass(frozen=True, eq=False)
class BoundActivation:
    r"""An elementwise scratch op with its hyperparameters fixed: what :attr:`MLP.act` holds.

    .. math::

        \mathrm{forward}(x) = \phi(x; \theta), \qquad \mathrm{backward}(d, c) = \big(d \odot \phi'(x; \theta)\big)

    ``forward(x) -> (out, cache)`` and ``backward(dout, cache) -> (dx,)``, any shape, so code
    written for an op class (``model.act.forward(z)``) also gets the model's hyperparameters.
    """

    op: type  # e.g. LeakyReLU
    hyper: dict  # e.g. {"negative_slope": 0.1}

    def forward(self, x: np.ndarray) -> tuple[np.ndarray, Any]:
        return self.op.forward(x, **self.hyper)

    def backward(self, dout: np.ndarray, cache: Any) -> tuple[np.ndarray, ...]:
        return self.op.backward(dout, cache)


@dataclass(frozen=True, eq=False)
class FrozenNormCache:
    """What eval-mode batch norm keeps for the backward pass (the statistics are constants there)."""

    xhat: np.ndarray  # (N, H) the input normalized with the running statistics
    scale: np.ndarray  # (H,) gamma / sqrt(running_var + eps): d out / d input


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
    activation : str or op class
        A name in :data:`course_lib.scratch.activations.ACTIVATIONS` (``"relu"``, ``"sigmoid"``,
        ``"leaky_relu"``...) or ``"maxout"``, or the class itself (``LeakyReLU``, ``Maxout``...).
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
        (the k pieces of a maxout layer one after the other).
    bias : None or float
        Every bias entry starts at this value (None: 0; a small positive value keeps ReLUs alive).
    activation_kwargs : None or dict
        Hyperparameters of the activation, by the names of its ``forward`` (torch's names):
        ``{"negative_slope": 0.1}`` for ``LeakyReLU``, ``{"alpha": 0.5}`` for ``ELU``.
    pieces : None or int
        with ``activation="maxout"``: the number k of linear pieces of every hidden layer
        (None: 2); each hidden layer is then a :class:`~course_lib.scratch.activations.Maxout`
        with weights (k, H_{l-1}, H_l) and biases (k, H_l), and no separate Linear.
    norm : None or ``"batch"``
        ``"batch"`` puts a :class:`~course_lib.scratch.batchnorm.BatchNorm` in every hidden layer,
        with parameters ``gamma_l`` (ones) and ``beta_l`` (zeros) of shape (H_l,), ``eps`` = 1e-5 and
        running statistics (momentum 0.1) in :attr:`running`. With ``norm_position="before"`` it
        normalizes z_l (Linear -> BN -> activation, as Ioffe & Szegedy 2015); ``"after"`` normalizes
        h_l (Linear -> activation -> BN). Before BN the bias b_l is redundant (BN subtracts the
        batch mean, so dL/db_l = 0 and b_l never moves); it is kept, as ``nn.Linear`` keeps it.
    dropout : None, float or (float, float)
        Inverted dropout (:class:`~course_lib.scratch.dropout.Dropout`, torch's form; Srivastava et
        al. 2014) on the INPUT of every layer with weights: ``p`` drops each hidden unit
        h_1..h_{L-1} with probability ``p`` (torch's DROP probability; the slides' keep probability
        is 1 - p) and keeps the input x whole; ``(p_input, p_hidden)`` also drops input features
        (the paper's typical values are ``(0.2, 0.5)``). It sits after the activation (and after a
        batch norm placed "after"), right before the next Linear. Training mode: every call of
        :meth:`loss` / :meth:`scores` draws fresh masks, one entry per example and unit, from the
        ``rng`` given to :meth:`loss` or else from :attr:`dropout_rng`; eval mode: the identity.
        Masks given explicitly (``masks=``, from :meth:`sample_masks`) are applied in either mode
        (Monte-Carlo dropout, :func:`~course_lib.scratch.dropout.mc_predict`; gradient checks).
        :meth:`hidden` and :meth:`trace` report each layer's output h_l before its dropout.

    Attributes
    ----------
    params : dict
        ``{"W1": (dims[0], dims[1]), "b1": (dims[1],), "W2": ..., ...}``, float64, W as (in, out);
        a maxout hidden layer has ``W_l`` (k, dims[l-1], dims[l]) and ``b_l`` (k, dims[l]).
        The :class:`~course_lib.scratch.solver.Solver` replaces these arrays after each step.
        With ``norm="batch"`` also ``gamma_l`` and ``beta_l`` (H_l,) for every hidden layer.
    running : dict
        ``{"running_mean1": (H_1,), "running_var1": (H_1,), ...}`` (empty without norm): not trained,
        replaced by :func:`~course_lib.scratch.batchnorm.update_running` in every :meth:`loss` call
        in training mode (torch's buffers).
    training : bool
        :meth:`train` / :meth:`eval` set it; in eval mode batch norm uses the running statistics
        (:func:`~course_lib.scratch.batchnorm.inference`), so each example's scores stand alone.
    act : BoundActivation or None
        The hidden layers' op with its hyperparameters (``act.forward(z) -> (h, cache)``);
        None for maxout layers.
    dropout_p : tuple of float
        The drop probability of each layer's input, ``(p for x, p for h_1, ..., p for h_{L-1})``.
    dropout_rng : np.random.Generator
        Where training-mode masks come from when :meth:`loss` gets no ``rng``: the constructor's
        generator, continued after the weights were drawn (so ``rng=0`` makes a run reproducible).

    PyTorch convention: torch's ``nn.Linear`` stores W as (out, in); the torch twin
    (:class:`course_lib.torch_impl.model.MLP`) keeps our (in, out) layout so parameters can
    be copied over as they are. The loss includes the regularization term, as CS231n does;
    in torch one usually puts it in the optimizer's ``weight_decay`` instead (same gradient,
    the reported loss then excludes it).
    """

    def __init__(
        self,
        dims: Any,
        activation: str | type = "relu",
        loss: str = "softmax",
        weight_scale: float | None = None,
        reg: float = 0.0,
        rng: Any = None,
        init: str | Callable[..., np.ndarray] | None = None,
        bias: float | None = None,
        *,
        activation_kwargs: dict | None = None,
        pieces: int | None = None,
        norm: str | None = None,
        norm_position: str = "before",
        dropout: Any = None,
    ):
        self.dims, scale, bias_value = check_mlp_args(
            dims, loss, weight_scale, reg, init, bias, losses=LOSSES, initializers=init_mod.INITIALIZERS,
        )
        self.hidden_activation = spec = resolve_activation(activation, activation_kwargs, pieces)
        self.norm, self.norm_position = check_norm(norm, norm_position, spec.maxout)
        self.dropout_p = check_dropout(dropout, len(self.dims) - 1)
        self.dropout = None if dropout is None else (self.dropout_p[0], self.dropout_p[-1])
        self.training = True
        if init is None or init == "small_random":
            draw = lambda g, fan_in, fan_out: init_mod.small_random(g, fan_in, fan_out, std=scale)  # noqa: E731
        else:
            draw = init_mod.get_initializer(init) if isinstance(init, str) else init
        self.activation = spec.name
        self.activation_kwargs = dict(spec.hyper)
        self.pieces = spec.pieces
        self.act = None if spec.maxout else BoundActivation(ACTIVATIONS[spec.name], dict(spec.hyper))
        self.loss_name = loss
        self.loss_op = LOSSES[loss]
        self.reg = float(reg)
        self.weight_scale = scale
        self.init = init
        self.bias = bias_value
        try:
            gen = np.random.default_rng(rng)
        except (TypeError, ValueError) as error:
            raise TypeError(
                f"MLP: rng must be None, a seed (an integer >= 0) or a numpy Generator, got {rng!r}"
            ) from error
        self.params: dict[str, np.ndarray] = {}
        for i, (fan_in, fan_out) in enumerate(zip(self.dims[:-1], self.dims[1:]), start=1):
            copies = spec.pieces if (spec.maxout and i < self.num_layers) else None
            w = np.stack([_draw(draw, gen, fan_in, fan_out, i) for _ in range(copies or 1)])
            self.params[f"W{i}"] = w if copies else w[0]
            self.params[f"b{i}"] = np.full((copies, fan_out) if copies else fan_out, bias_value)
            if self.norm and i < self.num_layers:
                self.params[f"gamma{i}"], self.params[f"beta{i}"] = np.ones(fan_out), np.zeros(fan_out)
        self.running: dict[str, np.ndarray] = {}
        for i in range(1, self.num_layers if self.norm else 1):
            self.running[f"running_mean{i}"] = np.zeros(self.dims[i])  # torch's starting values
            self.running[f"running_var{i}"] = np.ones(self.dims[i])
        self.dropout_rng = gen  # continues after the weights: masks never change the initial weights

    def train(self, mode: bool = True) -> "MLP":
        """Training mode (``mode=True``): batch statistics, dropout on; returns the model."""
        self.training = bool(mode)
        return self

    def eval(self) -> "MLP":
        """Evaluation mode: running statistics, no dropout (same as ``train(False)``)."""
        return self.train(False)

    @property
    def num_layers(self) -> int:
        """Number of layers with weights, L (Linear or maxout)."""
        return len(self.dims) - 1

    @property
    def num_classes(self) -> int:
        return self.dims[-1]

    @property
    def num_params(self) -> int:
        """Number of trainable numbers, weights and biases."""
        return int(sum(p.size for p in self.params.values()))

    def __repr__(self) -> str:
        extra = f", activation_kwargs={self.activation_kwargs}" if self.activation_kwargs else ""
        extra += f", pieces={self.pieces}" if self.pieces is not None else ""
        extra += f", norm={self.norm!r}, norm_position={self.norm_position!r}" if self.norm else ""
        extra += f", dropout={self.dropout}" if self.dropout is not None else ""
        return (
            f"MLP(dims={self.dims}, activation={self.activation!r}, loss={self.loss_name!r}, "
            f"init={_init_name(self.init)}, weight_scale={self.weight_scale}, bias={self.bias}, reg={self.reg}{extra})"
        )

    # ----- forward ---------------------------------------------------------------------
    def _check_x(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != self.dims[0]:
            raise ValueError(f"MLP: x must have shape (N, {self.dims[0]}), got {x.shape}")
        return x

    def sample_masks(self, rng: np.random.Generator, n: int) -> tuple:
        """Fresh dropout keep masks for a batch of ``n``, one per layer with weights.

        Entry ``l`` (0-based) is a bool (n, dims[l]) mask from
        :func:`~course_lib.scratch.dropout.sample_mask` for the input h_l of layer
        l+1 (h_0 = x), or None where that input has no dropout. Pass the tuple as
        ``masks=`` to :meth:`loss` / :meth:`scores` to fix the masks (gradient checks,
        Monte-Carlo dropout).
        """
        rng = checks.generator(rng, who="MLP.sample_masks")
        n = checks.integer(n, "n", "MLP.sample_masks", minimum=0)
        return tuple(drop.sample_mask(rng, (n, self.dims[site]), p) if p > 0 else None
                     for site, p in enumerate(self.dropout_p))

    def _masks(self, masks: Any, n: int, rng: Any = None) -> tuple | None:
        """The masks of one forward pass: given ones (checked), fresh ones (training mode), or None."""
        if rng is not None:
            rng = checks.generator(rng, who="MLP.loss")
            if masks is not None:
                raise ValueError("MLP.loss: give masks or rng, not both")
        if masks is None:
            if not self.training or not any(self.dropout_p):
                return None
            return self.sample_masks(self.dropout_rng if rng is None else rng, n)
        if not isinstance(masks, (tuple, list)) or len(masks) != self.num_layers:
            raise ValueError(f"MLP: masks must be a tuple of {self.num_layers} masks (or None), one per layer's input, "
                             "as sample_masks returns")
        for site, (mask, p) in enumerate(zip(masks, self.dropout_p)):
            if (mask is None) != (p == 0):
                raise ValueError(f"MLP: masks[{site}] must be {'None' if p == 0 else 'a mask'}: the input of layer "
                                 f"{site + 1} has dropout p = {p}")
        return tuple(masks)

    def _forward(self, x: np.ndarray, masks: Any = None,
                 rng: Any = None) -> tuple[np.ndarray, list[tuple[Any, Any, Any, Any]], list, list]:
        """Scores, one ``(layer cache, norm cache, activation cache, dropout cache)`` per layer, the z's and h's.

        A maxout layer's cache is its :class:`~course_lib.scratch.activations.MaxoutCache` with
        no activation cache, and its "pre-activation" is its output (the winning piece's value).
        With batch norm, z is the activation's input (after BN if "before") and h the layer's output.
        The dropout cache is that of the dropout on the layer's INPUT (None without dropout);
        the h's returned are the layers' outputs before it.
        """
        h = self._check_x(x)
        masks = self._masks(masks, h.shape[0], rng)
        caches, pre, hidden = [], [], []
        for i in range(1, self.num_layers + 1):
            w, b = self.params[f"W{i}"], self.params[f"b{i}"]
            drop_cache = None
            if masks is not None and masks[i - 1] is not None:
                h, drop_cache = drop.Dropout.forward(h, masks[i - 1], self.dropout_p[i - 1])
            if i < self.num_layers and self.act is None:
                h, cache = Maxout.forward(h, w, b)
                caches.append((cache, None, None, drop_cache))
                pre.append(h)
                hidden.append(h)
                continue
            z, cache = Linear.forward(h, w, b)
            act_cache = norm_cache = None
            h = z
            if i < self.num_layers:
                if self.norm_position == "before":
                    z, norm_cache = self._norm(z, i)
                h, act_cache = self.act.forward(z)
                if self.norm_position == "after":
                    h, norm_cache = self._norm(h, i)
                pre.append(z)
                hidden.append(h)
            caches.append((cache, norm_cache, act_cache, drop_cache))
        return h, caches, pre, hidden

    def _norm(self, a: np.ndarray, i: int) -> tuple[np.ndarray, Any]:
        """Layer i's batch norm on ``a`` (N, H_i): batch statistics (training) or running ones (eval)."""
        if not self.norm:
            return a, None
        gamma, beta = self.params[f"gamma{i}"], self.params[f"beta{i}"]
        if self.training:
            return bn.BatchNorm.forward(a, gamma, beta, eps=NORM_EPS)
        mean, var = self.running[f"running_mean{i}"], self.running[f"running_var{i}"]
        xhat = (a - mean) / np.sqrt(var + NORM_EPS)  # fixed statistics: an affine map of a
        return gamma * xhat + beta, FrozenNormCache(xhat=xhat, scale=gamma / np.sqrt(var + NORM_EPS))

    def scores(self, x: np.ndarray, masks: Any = None) -> np.ndarray:
        """Class scores (N, C) for inputs ``x`` (N, D_in); ``masks`` as from :meth:`sample_masks` (any mode)."""
        return self._forward(x, masks)[0]

    def hidden(self, x: np.ndarray) -> list[np.ndarray]:
        """The hidden activations :math:`h_1, \\dots, h_{L-1}` (after the nonlinearity), each (N, H_l)."""
        return self._forward(x)[3]

    def pre_activations(self, x: np.ndarray) -> list[np.ndarray]:
        """The hidden pre-activations :math:`z_1, \\dots, z_{L-1}`, each (N, H_l) (maxout: the layer's output)."""
        return self._forward(x)[2]

    def trace(self, x: np.ndarray) -> Trace:
        """Every pre-activation :math:`z_1..z_L` and hidden activation :math:`h_1..h_{L-1}` for ``x`` (N, D_in)."""
        scores, _, pre, hidden = self._forward(x)
        return Trace(pre_activations=tuple(pre) + (scores,), activations=tuple(hidden))

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Predicted class per example (N,), the arg-max of the scores."""
        return np.argmax(self.scores(x), axis=1)

    def accuracy(self, x: np.ndarray, y: np.ndarray) -> float:
        """Fraction of examples whose predicted class equals ``y``."""
        x = self._check_x(x)
        y = check_labels(y, x.shape[0], self.num_classes, "MLP.accuracy")
        return float(np.mean(self.predict(x) == y))

    def error(self, x: np.ndarray, y: np.ndarray) -> float:
        """Classification error, the fraction of misclassified examples: ``1 - accuracy``."""
        x = self._check_x(x)
        y = check_labels(y, x.shape[0], self.num_classes, "MLP.error")
        return float(np.mean(self.predict(x) != y))

    # ----- loss and backward -----------------------------------------------------------
    def loss(self, x: np.ndarray, y: np.ndarray, rng: Any = None,
             masks: Any = None) -> tuple[float, dict[str, np.ndarray]]:
        """Data loss plus L2 penalty, and its gradient w.r.t. every parameter.

        Returns ``(loss, grads)`` with ``grads`` keyed like :attr:`params`.
        Batch norm: in training mode with the batch's statistics (and :attr:`running` is
        updated); in eval mode with the running statistics, held constant (as in torch).
        Dropout: in training mode, masks drawn from ``rng`` (a numpy Generator; None:
        :attr:`dropout_rng`), or the ``masks`` given (from :meth:`sample_masks`, in
        either mode); in eval mode without masks, none.
        """
        scores, caches, _, _ = self._forward(x, masks, rng)
        data_loss, loss_cache = self.loss_op.forward(scores, y)
        reg_loss = 0.0
        if self.reg:
            weights = [self.params[f"W{i}"] for i in range(1, self.num_layers + 1)]
            reg_loss = 0.5 * self.reg * sum(float(np.sum(w * w)) for w in weights)

        grads: dict[str, np.ndarray] = {}
        (dh,) = self.loss_op.backward(1.0, loss_cache)
        for i in range(self.num_layers, 0, -1):  # from the scores back to the input
            cache, norm_cache, act_cache, drop_cache = caches[i - 1]
            dh = self._norm_backward(dh, norm_cache, i, grads, "after")
            if act_cache is not None:  # a hidden layer: through its activation first
                (dh,) = self.act.backward(dh, act_cache)
            dh = self._norm_backward(dh, norm_cache, i, grads, "before")
            if isinstance(cache, MaxoutCache):  # a maxout layer (chapter 2)
                dh, dw, db = Maxout.backward(dh, cache)
            else:
                dh, dw, db = Linear.backward(dh, cache)
            if self.reg:
                dw = dw + self.reg * self.params[f"W{i}"]  # gradient of the penalty
            grads[f"W{i}"] = dw
            grads[f"b{i}"] = db
            if drop_cache is not None:  # the dropout on this layer's input
                (dh,) = drop.Dropout.backward(dh, drop_cache)
        grads = {name: grads[name] for name in self.params}  # same key order as params
        self._update_running(caches)
        return float(data_loss + reg_loss), grads

    def _norm_backward(self, dh: np.ndarray, norm_cache: Any, i: int, grads: dict, position: str) -> np.ndarray:
        """Back through layer i's batch norm if it sits at ``position``; stores dgamma_i, dbeta_i in ``grads``."""
        if not self.norm or i == self.num_layers or position != self.norm_position:
            return dh
        if isinstance(norm_cache, FrozenNormCache):  # eval mode: the running statistics are constants
            grads[f"gamma{i}"], grads[f"beta{i}"] = (dh * norm_cache.xhat).sum(axis=0), dh.sum(axis=0)
            return dh * norm_cache.scale
        dh, grads[f"gamma{i}"], grads[f"beta{i}"] = bn.BatchNorm.backward(dh, norm_cache)
        return dh

    def _update_running(self, caches: list) -> None:
        """New running statistics from this batch's (training mode); they never enter the loss."""
        for i, (_, norm_cache, _, _) in enumerate(caches, start=1):
            if isinstance(norm_cache, bn.BatchNormCache):  # training mode only
                mean, var = self.running[f"running_mean{i}"], self.running[f"running_var{i}"]
                self.running[f"running_mean{i}"], self.running[f"running_var{i}"] = bn.update_running(
                    mean, var, norm_cache.mean, norm_cache.var, norm_cache.n, momentum=NORM_MOMENTUM)


def _draw(draw: Callable[..., np.ndarray], gen: np.random.Generator, fan_in: int, fan_out: int,
          layer: int) -> np.ndarray:
    """One (fan_in, fan_out) weight matrix from ``draw``, checked (shape and finite values)."""
    w = np.asarray(draw(gen, fan_in, fan_out), dtype=np.float64)
    if w.shape != (fan_in, fan_out) or not np.all(np.isfinite(w)):
        raise ValueError(
            f"MLP: init returned {'shape ' + str(w.shape) if w.shape != (fan_in, fan_out) else 'non-finite values'} "
            f"for layer {layer}; expected finite values of shape ({fan_in}, {fan_out})"
        )
    return w
