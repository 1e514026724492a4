r"""Twin of :mod:`course_lib.scratch.model`: the same MLP as an ``nn.Module``; autograd does backward."""

from __future__ import annotations

import functools
from typing import Any

import torch
from torch import nn

from course_lib.device import torch_generator
from course_lib.scratch.model import (
    NORM_EPS, NORM_MOMENTUM, Trace, check_dropout, check_mlp_args, check_norm, resolve_activation,
)
from course_lib.torch_impl.batchnorm import batch_norm, inference, update_running
from course_lib.torch_impl.dropout import dropout as dropout_op
from course_lib.torch_impl.dropout import sample_mask
from course_lib.torch_impl._classifier import ClassifierMixin
from course_lib.torch_impl.activations import ACTIVATIONS, maxout
from course_lib.torch_impl.init import INITIALIZERS, small_random
from course_lib.torch_impl.linear import linear
from course_lib.torch_impl.losses import cross_entropy, multiclass_svm

__all__ = ["MLP"]

LOSSES = {"softmax": cross_entropy, "svm": multiclass_svm}


class MLP(ClassifierMixin, nn.Module):
    r"""Twin of `course_lib.scratch.model.MLP`.

    .. math::

        h_\ell = \phi(h_{\ell-1} W_\ell + b_\ell),\quad s = h_{L-1} W_L + b_L,\quad
        J = \mathrm{loss}(s, y) + \tfrac{\lambda}{2} \sum_\ell \|W_\ell\|_F^2

    Same constructor as the scratch MLP, plus ``device`` and ``dtype``:
    ``MLP(dims, activation="relu", loss="softmax", weight_scale=None, reg=0.0, rng=None,
    init=None, bias=None, device=None, dtype=torch.float64, *, activation_kwargs=None,
    pieces=None)``. ``activation`` is a name, a scratch op class (``LeakyReLU``) or its twin
    function (``leaky_relu``); ``activation_kwargs`` uses the same hyperparameter names
    (``{"negative_slope": 0.1}``); ``activation="maxout", pieces=k`` makes every hidden layer a
    :func:`~course_lib.torch_impl.activations.maxout` with ``W_i`` (k, in, out), ``b_i`` (k, out).
    ``norm="batch"`` adds parameters ``gamma_i``, ``beta_i`` and buffers ``running_mean_i``,
    ``running_var_i`` to every hidden layer (``norm_position`` "before" or "after" the activation);
    ``train()`` / ``eval()`` switch between batch and running statistics, and the running ones are
    updated in :meth:`loss` (training mode), as the scratch MLP does (``nn.BatchNorm1d`` would do it
    in every forward pass).
    ``dropout=p`` or ``(p_input, p_hidden)``: inverted dropout on every layer's input, as on the
    scratch side (:func:`course_lib.torch_impl.dropout.dropout`, torch's DROP probability); in
    training mode the masks come from the ``rng`` given to :meth:`loss` (a ``torch.Generator``) or
    else from :attr:`dropout_generator` (the constructor's generator, continued after the weights);
    ``masks=`` (from :meth:`sample_masks`, or the scratch model's numpy masks) fixes them in either
    mode; eval mode without masks: no dropout.
    ``init`` is None (small random, std ``weight_scale``), a scratch name (``"he_normal"``...;
    the twins in :mod:`course_lib.torch_impl.init` fill the weights) or a callable
    ``init(tensor, generator=gen)`` filling an (in, out) tensor in place. Parameters are
    registered as ``W1, b1, W2, b2, ...`` with ``W_i`` of shape (dims[i-1], dims[i]) (NOT torch's
    (out, in)), so a scratch model's ``params`` load directly:
    ``model.load_state_dict({k: torch.from_numpy(v) for k, v in params.items()})``.

    ``rng``: None, an int seed, or a ``torch.Generator`` (CPU). The weights are drawn with torch's
    generator, so the same seed gives DIFFERENT numbers than the scratch MLP; copy the
    parameters to compare the two. ``device`` None means CPU. float64 by default, to match
    the scratch side; pass ``dtype=torch.float32`` for speed.

    ``forward(x)`` / ``scores(x)`` return the class scores; ``loss(x, y)`` the scalar loss
    tensor INCLUDING the L2 term (call ``.backward()`` on it).
    """

    def __init__(
        self,
        dims: Any,
        activation: Any = "relu",
        loss: str = "softmax",
        weight_scale: float | None = None,
        reg: float = 0.0,
        rng: Any = None,
        init: Any = None,
        bias: float | None = None,
        device: Any = None,
        dtype: torch.dtype = torch.float64,
        *,
        activation_kwargs: dict | None = None,
        pieces: int | None = None,
        norm: str | None = None,
        norm_position: str = "before",
        dropout: Any = None,
    ):
        super().__init__()
        self.dims, scale, bias_value = check_mlp_args(
            dims, loss, weight_scale, reg, init, bias, losses=LOSSES, initializers=INITIALIZERS,
        )
        twins = {**ACTIVATIONS, "maxout": maxout}
        self.hidden_activation = spec = resolve_activation(activation, activation_kwargs, pieces, twins=twins)
        self.norm, self.norm_position = check_norm(norm, norm_position, spec.maxout)
        self.dropout_p = check_dropout(dropout, len(self.dims) - 1)
        self.dropout = None if dropout is None else (self.dropout_p[0], self.dropout_p[-1])
        if init is None or init == "small_random":
            fill = lambda t, generator: small_random(t, std=scale, generator=generator)  # noqa: E731
        else:
            fill = INITIALIZERS[init] if isinstance(init, str) else init
        self.activation = spec.name
        self.activation_kwargs = dict(spec.hyper)
        self.pieces = spec.pieces
        act = ACTIVATIONS.get(spec.name)
        self.act = None if spec.maxout else (functools.partial(act, **spec.hyper) if spec.hyper else act)
        self.loss_name = loss
        self.loss_fn = LOSSES[loss]
        self.reg = float(reg)
        self.weight_scale = scale
        self.init = init
        self.bias = bias_value
        gen = torch_generator(rng, "MLP")
        device = torch.device("cpu") if device is None else torch.device(device)
        for i, (fan_in, fan_out) in enumerate(zip(self.dims[:-1], self.dims[1:]), start=1):
            copies = spec.pieces if (spec.maxout and i < self.num_layers) else None
            w = torch.empty((copies or 1, fan_in, fan_out), dtype=dtype, device=device)
            for piece in w:  # the pieces of a maxout layer one after the other, as on the scratch side
                fill(piece, generator=gen)
            if not bool(torch.isfinite(w).all()):
                raise ValueError(f"MLP: init left non-finite values in layer {i}")
            b = torch.full((copies, fan_out) if copies else (fan_out,), bias_value, dtype=dtype, device=device)
            setattr(self, f"W{i}", nn.Parameter(w if copies else w[0].clone()))
            setattr(self, f"b{i}", nn.Parameter(b))
            if self.norm and i < self.num_layers:
                setattr(self, f"gamma{i}", nn.Parameter(torch.ones(fan_out, dtype=dtype, device=device)))
                setattr(self, f"beta{i}", nn.Parameter(torch.zeros(fan_out, dtype=dtype, device=device)))
                self.register_buffer(f"running_mean{i}", torch.zeros(fan_out, dtype=dtype, device=device))
                self.register_buffer(f"running_var{i}", torch.ones(fan_out, dtype=dtype, device=device))
        self.dropout_generator = gen  # continues after the weights: masks never change the initial weights

    @property
    def num_layers(self) -> int:
        return len(self.dims) - 1

    @property
    def num_classes(self) -> int:
        return self.dims[-1]

    def extra_repr(self) -> str:
        extra = f", activation_kwargs={self.activation_kwargs}" if self.activation_kwargs else ""
        extra += f", pieces={self.pieces}" if self.pieces is not None else ""
        extra += f", norm={self.norm!r}, norm_position={self.norm_position!r}" if self.norm else ""
        extra += f", dropout={self.dropout}" if self.dropout is not None else ""
        return f"dims={self.dims}, activation={self.activation!r}, loss={self.loss_name!r}, reg={self.reg}{extra}"

    def _as_input(self, x: Any) -> torch.Tensor:
        ref = self.W1
        x = torch.as_tensor(x, dtype=ref.dtype, device=ref.device)
        if x.ndim != 2 or x.shape[1] != self.dims[0]:
            raise ValueError(f"MLP: x must have shape (N, {self.dims[0]}), got {tuple(x.shape)}")
        return x

    def sample_masks(self, rng: Any, n: int) -> tuple[torch.Tensor | None, ...]:
        """Fresh dropout keep masks for a batch of ``n``, one per layer's input.

        ``rng``: a ``torch.Generator`` or an int seed. Bool masks (n, dims[l]) on the
        model's device, None where that input has no dropout (p = 0).
        """
        gen, device = torch_generator(rng, "MLP.sample_masks"), self.W1.device
        return tuple(sample_mask(gen, (n, self.dims[site]), p, device) if p > 0 else None
                     for site, p in enumerate(self.dropout_p))

    def _masks(self, masks: Any, n: int, rng: Any = None) -> tuple | None:
        """The masks of one forward pass: given ones (checked), fresh ones (training mode), or None."""
        if rng is not None:
            rng = torch_generator(rng, "MLP.loss")
            if masks is not None:
                raise ValueError("MLP.loss: give masks or rng, not both")
        if masks is None:
            if not self.training or not any(self.dropout_p):
                return None
            return self.sample_masks(self.dropout_generator if rng is None else rng, n)
        if not isinstance(masks, (tuple, list)) or len(masks) != self.num_layers:
            raise ValueError(f"MLP: masks must be a tuple of {self.num_layers} masks (or None), one per layer's input, "
                             "as sample_masks returns")
        for site, (mask, p) in enumerate(zip(masks, self.dropout_p)):
            if (mask is None) != (p == 0):
                raise ValueError(f"MLP: masks[{site}] must be {'None' if p == 0 else 'a mask'}: the input of layer "
                                 f"{site + 1} has dropout p = {p}")
        return tuple(masks)

    def _layers(self, x: Any, update: bool = False, masks: Any = None,
                rng: Any = None) -> tuple[torch.Tensor, list[torch.Tensor], list[torch.Tensor]]:
        """Scores, and the hidden pre-activations and activations (maxout: z is the layer's output).

        ``update``: also update the running statistics of batch norm (training mode only).
        ``masks`` / ``rng``: dropout on each layer's input (see :meth:`_masks`); h is taken before it.
        """
        h = self._as_input(x)
        masks = self._masks(masks, h.shape[0], rng)
        pre, hidden = [], []
        for i in range(1, self.num_layers + 1):
            w, b = getattr(self, f"W{i}"), getattr(self, f"b{i}")
            if masks is not None and masks[i - 1] is not None:
                h = dropout_op(h, masks[i - 1], self.dropout_p[i - 1])
            if i == self.num_layers:
                return linear(h, w, b), pre, hidden
            z = maxout(h, w, b) if self.act is None else linear(h, w, b)
            if self.norm_position == "before":
                z = self._norm(z, i, update)
            h = z if self.act is None else self.act(z)
            if self.norm_position == "after":
                h = self._norm(h, i, update)
            pre.append(z)
            hidden.append(h)
        raise AssertionError("unreachable: an MLP has at least one layer")

    def _norm(self, a: torch.Tensor, i: int, update: bool) -> torch.Tensor:
        """Layer i's batch norm on ``a`` (N, H_i): batch statistics (training) or running ones (eval)."""
        if not self.norm:
            return a
        gamma, beta = getattr(self, f"gamma{i}"), getattr(self, f"beta{i}")
        mean, var = getattr(self, f"running_mean{i}"), getattr(self, f"running_var{i}")
        if not self.training:
            return inference(a, mean, var, gamma, beta, eps=NORM_EPS)
        if update:
            stats = a.detach()
            new_mean, new_var = update_running(mean, var, stats.mean(dim=0), stats.var(dim=0, correction=0),
                                               a.shape[0], momentum=NORM_MOMENTUM)
            setattr(self, f"running_mean{i}", new_mean)
            setattr(self, f"running_var{i}", new_var)
        return batch_norm(a, gamma, beta, eps=NORM_EPS)

    def hidden(self, x: Any) -> list[torch.Tensor]:
        """The hidden activations h_1 ... h_{L-1}, each (N, H_l)."""
        return self._layers(x)[2]

    def pre_activations(self, x: Any) -> list[torch.Tensor]:
        """The hidden pre-activations z_1 ... z_{L-1}, each (N, H_l) (maxout: the layer's output)."""
        return self._layers(x)[1]

    @torch.no_grad()
    def trace(self, x: Any) -> Trace:
        """Every pre-activation z_1..z_L and hidden activation h_1..h_{L-1} (detached tensors)."""
        scores, pre, hidden = self._layers(x)
        return Trace(pre_activations=tuple(pre) + (scores,), activations=tuple(hidden))

    def forward(self, x: Any, masks: Any = None) -> torch.Tensor:
        """Class scores (N, C); ``masks`` as from :meth:`sample_masks` (applied in any mode)."""
        return self._layers(x, masks=masks)[0]

    def scores(self, x: Any, masks: Any = None) -> torch.Tensor:
        """Class scores (N, C); same as ``self(x, masks)``."""
        return self.forward(x, masks)

    def loss(self, x: Any, y: Any, rng: Any = None, masks: Any = None) -> torch.Tensor:
        """Mean data loss plus ``0.5 * reg * sum ||W||^2`` (weights only), a scalar.

        Training mode: also updates batch norm's running statistics, and draws dropout
        masks from ``rng`` (a ``torch.Generator`` or int seed; None:
        :attr:`dropout_generator`) unless ``masks`` are given (then in either mode).
        """
        scores = self._layers(x, update=True, masks=masks, rng=rng)[0]
        data_loss = self.loss_fn(scores, self._as_labels(y))
        if self.reg == 0:
            return data_loss
        weights = [getattr(self, f"W{i}") for i in range(1, self.num_layers + 1)]
        return data_loss + 0.5 * self.reg * sum((w * w).sum() for w in weights)
