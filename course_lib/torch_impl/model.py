r"""Twin of :mod:`course_lib.scratch.model`: the same MLP as an ``nn.Module``; autograd does backward."""

from __future__ import annotations

import functools
from typing import Any

import torch
from torch import nn

from course_lib import checks
from course_lib.scratch.model import Trace, check_mlp_args, resolve_activation
from course_lib.torch_impl.activations import ACTIVATIONS, maxout
from course_lib.torch_impl.init import INITIALIZERS, small_random
from course_lib.torch_impl.linear import linear
from course_lib.torch_impl.losses import cross_entropy, multiclass_svm

__all__ = ["MLP"]

LOSSES = {"softmax": cross_entropy, "svm": multiclass_svm}


def _generator(rng: Any) -> torch.Generator:
    """A CPU ``torch.Generator`` from None (fresh entropy), an int seed, or a Generator."""
    if isinstance(rng, torch.Generator):
        return rng
    gen = torch.Generator(device="cpu")
    if rng is None:
        gen.seed()
    elif checks.is_integer(rng):
        gen.manual_seed(int(rng))
    else:
        raise TypeError(f"MLP: rng must be None, an int seed or a torch.Generator, got {type(rng).__name__}")
    return gen


class MLP(nn.Module):
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
    ):
        super().__init__()
        self.dims, scale, bias_value = check_mlp_args(
            dims, loss, weight_scale, reg, init, bias, losses=LOSSES, initializers=INITIALIZERS,
        )
        twins = {**ACTIVATIONS, "maxout": maxout}
        self.hidden_activation = spec = resolve_activation(activation, activation_kwargs, pieces, twins=twins)
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
        gen = _generator(rng)
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

    @property
    def num_layers(self) -> int:
        return len(self.dims) - 1

    @property
    def num_classes(self) -> int:
        return self.dims[-1]

    @property
    def num_params(self) -> int:
        """Number of trainable numbers, weights and biases."""
        return int(sum(p.numel() for p in self.parameters()))

    def extra_repr(self) -> str:
        extra = f", activation_kwargs={self.activation_kwargs}" if self.activation_kwargs else ""
        extra += f", pieces={self.pieces}" if self.pieces is not None else ""
        return f"dims={self.dims}, activation={self.activation!r}, loss={self.loss_name!r}, reg={self.reg}{extra}"

    def _as_input(self, x: Any) -> torch.Tensor:
        ref = self.W1
        x = torch.as_tensor(x, dtype=ref.dtype, device=ref.device)
        if x.ndim != 2 or x.shape[1] != self.dims[0]:
            raise ValueError(f"MLP: x must have shape (N, {self.dims[0]}), got {tuple(x.shape)}")
        return x

    def _as_labels(self, y: Any) -> torch.Tensor:
        y = torch.as_tensor(y, device=self.W1.device)
        if y.dtype.is_floating_point or y.dtype == torch.bool:
            raise ValueError(f"MLP: labels must be integers, got {y.dtype}")
        return y.long()

    def _layers(self, x: Any) -> tuple[torch.Tensor, list[torch.Tensor], list[torch.Tensor]]:
        """Scores, and the hidden pre-activations and activations (maxout: z is the layer's output)."""
        h = self._as_input(x)
        pre, hidden = [], []
        for i in range(1, self.num_layers + 1):
            w, b = getattr(self, f"W{i}"), getattr(self, f"b{i}")
            if i == self.num_layers:
                return linear(h, w, b), pre, hidden
            z = maxout(h, w, b) if self.act is None else linear(h, w, b)
            h = z if self.act is None else self.act(z)
            pre.append(z)
            hidden.append(h)
        raise AssertionError("unreachable: an MLP has at least one layer")

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

    def forward(self, x: Any) -> torch.Tensor:
        """Class scores (N, C)."""
        return self._layers(x)[0]

    def scores(self, x: Any) -> torch.Tensor:
        """Class scores (N, C); same as ``self(x)``."""
        return self.forward(x)

    def loss(self, x: Any, y: Any) -> torch.Tensor:
        """Mean data loss plus ``0.5 * reg * sum ||W||^2`` (weights only), a scalar."""
        data_loss = self.loss_fn(self.forward(x), self._as_labels(y))
        if self.reg == 0:
            return data_loss
        weights = [getattr(self, f"W{i}") for i in range(1, self.num_layers + 1)]
        return data_loss + 0.5 * self.reg * sum((w * w).sum() for w in weights)

    @torch.no_grad()
    def predict(self, x: Any) -> torch.Tensor:
        """Predicted class per example, (N,) long."""
        return self.forward(x).argmax(dim=1)

    @torch.no_grad()
    def accuracy(self, x: Any, y: Any) -> float:
        """Fraction of examples whose predicted class equals ``y``."""
        y = self._as_labels(y)
        return float((self.predict(x) == y).double().mean())

    @torch.no_grad()
    def error(self, x: Any, y: Any) -> float:
        """Classification error, the fraction of misclassified examples: ``1 - accuracy``."""
        y = self._as_labels(y)
        return float((self.predict(x) != y).double().mean())
