r"""A small convolutional classifier built from the scratch ops, with the MLP's interface.

:class:`SimpleCNN` stacks one block [Conv 3x3 (padding 1) -> ReLU -> MaxPool 2x2] per entry
of ``channels``, flattens the maps, and ends like an MLP: an optional hidden Linear + ReLU,
then a Linear readout and softmax cross-entropy. Each 3x3 convolution with padding 1 keeps
the height and width; each pooling halves them (floored, as in PyTorch), so an 8x8 digit
becomes 4x4, then 2x2.

It has :class:`course_lib.scratch.model.MLP`'s interface (``params``, ``loss(x, y) -> (loss,
grads)``, ``scores``, ``predict``, ``accuracy``, ``reg``), so the
:class:`~course_lib.scratch.solver.Solver` trains it unchanged. Its torch twin is
:class:`course_lib.torch_impl.cnn.SimpleCNN`, with the same parameter names and layouts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from course_lib import checks
from course_lib.scratch import init as init_mod
from course_lib.scratch.activations import ReLU
from course_lib.scratch.conv import Conv2d, MaxPool2d, conv_output_size
from course_lib.scratch.linear import Linear
from course_lib.scratch.losses import SoftmaxCrossEntropy, check_labels

__all__ = ["SimpleCNN", "CNNSpec", "check_cnn_args"]

KERNEL, PADDING, POOL = 3, 1, 2  # every block: 3x3 filters, padding 1 (same size), 2x2 pooling


@dataclass(frozen=True)
class CNNSpec:
    """The checked architecture of a :class:`SimpleCNN` (shared with its torch twin)."""

    in_channels: int  # C of the input images
    image_size: tuple[int, int]  # (H, W) of the input images
    n_classes: int  # number of classes, the width of the readout
    channels: tuple[int, ...]  # filters per conv block
    hidden: int | None  # width of the hidden Linear layer, or None for none
    reg: float  # L2 strength on every weight (not the biases)

    @property
    def feature_size(self) -> tuple[int, int]:
        """(H, W) of the maps after the last block: each pooling halves them, floored."""
        h, w = self.image_size
        for _ in self.channels:
            h, w = (conv_output_size(n, POOL, POOL, exact=False) for n in (h, w))
        return h, w

    def shapes(self) -> dict[str, tuple[int, ...]]:
        """Every parameter's shape by name: conv ``W_i`` (C_out, C_in, 3, 3), then Linear ``W`` (in, out)."""
        shapes, c_in = {}, self.in_channels
        for i, c_out in enumerate(self.channels, start=1):
            shapes[f"W{i}"], shapes[f"b{i}"] = (c_out, c_in, KERNEL, KERNEL), (c_out,)
            c_in = c_out
        widths = [c_in * int(np.prod(self.feature_size))] + ([self.hidden] if self.hidden else []) + [self.n_classes]
        for i, (d_in, d_out) in enumerate(zip(widths[:-1], widths[1:]), start=len(self.channels) + 1):
            shapes[f"W{i}"], shapes[f"b{i}"] = (d_in, d_out), (d_out,)
        return shapes


def check_cnn_args(in_channels, image_size, n_classes, channels, hidden, reg) -> CNNSpec:
    """Validate :class:`SimpleCNN`'s constructor arguments (both sides); a ValueError names the argument."""
    who = "SimpleCNN"
    size = (image_size, image_size) if checks.is_integer(image_size) else image_size
    if not (isinstance(size, (tuple, list)) and len(size) == 2):
        raise ValueError(f"{who}: image_size must be an integer or a pair (H, W), got {image_size!r}")
    if isinstance(channels, (str, bytes)) or not hasattr(channels, "__iter__"):
        raise ValueError(f"{who}: channels must be a sequence of integers, got {channels!r}")
    spec = CNNSpec(
        in_channels=checks.integer(in_channels, "in_channels", who, minimum=1),
        image_size=tuple(checks.integer(n, "image_size", who, minimum=1) for n in size),
        n_classes=checks.integer(n_classes, "n_classes", who, minimum=2),
        channels=tuple(checks.integer(c, "channels", who, minimum=1) for c in channels),
        hidden=None if hidden is None else checks.integer(hidden, "hidden", who, minimum=1),
        reg=checks.real(reg, "reg", who, minimum=0),
    )
    if min(spec.image_size) < POOL ** len(spec.channels):
        raise ValueError(
            f"{who}: image_size {spec.image_size} is too small for {len(spec.channels)} 2x2 poolings "
            f"(needs at least {POOL ** len(spec.channels)} pixels a side)"
        )
    return spec


def as_images(x: np.ndarray, spec: CNNSpec) -> np.ndarray:
    """``x`` as float64 images (N, C, H, W); a flat batch (N, C*H*W), e.g. the digits' (N, 64), is reshaped."""
    x = np.asarray(x, dtype=np.float64)
    image = (spec.in_channels, *spec.image_size)
    if x.ndim == 2 and x.shape[1] == int(np.prod(image)):
        return x.reshape(x.shape[0], *image)
    if x.ndim != 4 or x.shape[1:] != image:
        raise ValueError(f"SimpleCNN: x must have shape (N, {', '.join(map(str, image))}) "
                         f"or (N, {int(np.prod(image))}), got {x.shape}")
    return x


class SimpleCNN:
    r"""[Conv 3x3 (pad 1) -> ReLU -> MaxPool 2x2] per entry of ``channels``, then (Linear -> ReLU), Linear.

    .. math::

        h_0 = x,\quad h_i = \mathrm{pool}\big(\mathrm{relu}(W_i * h_{i-1} + b_i)\big),\quad
        s = \mathrm{flat}(h_K)\, W_{K+1} + b_{K+1},\quad
        J = \mathrm{CE}(s, y) + \tfrac{\lambda}{2} \sum_\ell \|W_\ell\|^2

    (with ``hidden``, one more :math:`\mathrm{relu}(\cdot\, W + b)` before the readout).

    Parameters
    ----------
    in_channels, image_size : the images are (C, H, W) = (in_channels, *image_size); ``image_size``
        is an int (square) or a pair (H, W), at least :math:`2^K` a side for K blocks.
    n_classes : the number of classes C of the readout.
    channels : filters per block, e.g. ``(8, 16)``.
    hidden : None, or the width of one hidden Linear + ReLU layer before the readout.
    reg : L2 strength :math:`\lambda` on every weight (conv and Linear), never on biases.
    rng : None, int or ``np.random.Generator`` (``np.random.default_rng(rng)``).

    ``params``: conv blocks ``W1, b1, ..., WK, bK`` with ``W_i`` (C_out, C_in, 3, 3) (torch's
    layout), then the Linear layers ``W_{K+1}, b_{K+1}, ...`` with W as (in, out). Weights start
    with He's normal rule (:func:`course_lib.scratch.init.he_normal`; conv fans by
    ``layout="conv"``, ``fan_in = C_in * 9``), biases at 0. ``x`` is (N, C, H, W), or flat
    (N, C*H*W) (the digits come as (N, 64)): flattening is row-major, ``torch.flatten``'s order.
    """

    def __init__(self, in_channels: int, image_size: Any, n_classes: int, channels: Any = (8, 16),
                 hidden: int | None = None, reg: float = 0.0, rng: Any = None):
        self.spec = check_cnn_args(in_channels, image_size, n_classes, channels, hidden, reg)
        self.reg = self.spec.reg
        gen = np.random.default_rng(rng)
        self.params: dict[str, np.ndarray] = {}
        for name, shape in self.spec.shapes().items():
            if name.startswith("b"):
                self.params[name] = np.zeros(shape)
            else:
                layout = "conv" if len(shape) == 4 else "linear"
                fan_in, fan_out = init_mod.fans(shape, layout)
                self.params[name] = init_mod.he_normal(gen, fan_in, fan_out, shape=shape, layout=layout)

    @property
    def num_classes(self) -> int:
        return self.spec.n_classes

    @property
    def num_conv(self) -> int:
        """Number of conv blocks K."""
        return len(self.spec.channels)

    @property
    def num_layers(self) -> int:
        """Number of layers with weights (conv and Linear)."""
        return len(self.params) // 2

    @property
    def num_params(self) -> int:
        """Number of trainable numbers, weights and biases."""
        return int(sum(p.size for p in self.params.values()))

    def __repr__(self) -> str:
        s = self.spec
        return (f"SimpleCNN(in_channels={s.in_channels}, image_size={s.image_size}, n_classes={s.n_classes}, "
                f"channels={s.channels}, hidden={s.hidden}, reg={s.reg})")

    # ----- forward ---------------------------------------------------------------------
    def _block(self, h: np.ndarray, i: int) -> tuple[np.ndarray, tuple]:
        """Block i: (N, C_in, H, W) -> conv 3x3, relu, pool 2x2 -> (N, C_out, H/2, W/2), and its caches."""
        z, conv_cache = Conv2d.forward(h, self.params[f"W{i}"], self.params[f"b{i}"], padding=PADDING)
        a, relu_cache = ReLU.forward(z)
        out, pool_cache = MaxPool2d.forward(a, POOL)
        return out, (conv_cache, relu_cache, pool_cache)

    def _forward(self, x: np.ndarray) -> tuple[np.ndarray, list, tuple[int, ...]]:
        """Scores (N, C), the caches of every layer in order, and the shape of the last maps."""
        h = as_images(x, self.spec)
        caches = []
        for i in range(1, self.num_conv + 1):
            h, cache = self._block(h, i)
            caches.append(cache)
        maps_shape = h.shape
        h = h.reshape(h.shape[0], -1)  # (N, C_K * H_K * W_K)
        for i in range(self.num_conv + 1, self.num_layers + 1):
            h, lin_cache = Linear.forward(h, self.params[f"W{i}"], self.params[f"b{i}"])
            relu_cache = None
            if i < self.num_layers:  # the hidden layer
                h, relu_cache = ReLU.forward(h)
            caches.append((lin_cache, relu_cache))
        return h, caches, maps_shape

    def scores(self, x: np.ndarray) -> np.ndarray:
        """Class scores (N, C) for images ``x`` (N, C, H, W) or (N, C*H*W)."""
        return self._forward(x)[0]

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Predicted class per example (N,), the arg-max of the scores."""
        return np.argmax(self.scores(x), axis=1)

    def accuracy(self, x: np.ndarray, y: np.ndarray) -> float:
        """Fraction of examples whose predicted class equals ``y``."""
        pred = self.predict(x)
        return float(np.mean(pred == check_labels(y, pred.shape[0], self.num_classes, "SimpleCNN.accuracy")))

    def error(self, x: np.ndarray, y: np.ndarray) -> float:
        """Classification error, the fraction of misclassified examples: ``1 - accuracy``."""
        return 1.0 - self.accuracy(x, y)

    # ----- loss and backward -----------------------------------------------------------
    def _penalty(self) -> float:
        r""":math:`\tfrac{\lambda}{2} \sum_\ell \|W_\ell\|^2` over conv and Linear weights."""
        weights = [w for name, w in self.params.items() if name.startswith("W")]
        return 0.5 * self.reg * sum(float(np.sum(w * w)) for w in weights)

    def _backward_linear(self, dh: np.ndarray, caches: list, grads: dict) -> np.ndarray:
        """From d scores back through the Linear layers; fills ``grads`` and returns d flat maps."""
        for i in range(self.num_layers, self.num_conv, -1):
            lin_cache, relu_cache = caches[i - 1]
            if relu_cache is not None:
                (dh,) = ReLU.backward(dh, relu_cache)
            dh, grads[f"W{i}"], grads[f"b{i}"] = Linear.backward(dh, lin_cache)
        return dh

    def _backward_conv(self, dh: np.ndarray, caches: list, grads: dict) -> None:
        """From d maps (N, C_K, H_K, W_K) back through pool, relu and conv of every block; fills ``grads``."""
        for i in range(self.num_conv, 0, -1):
            conv_cache, relu_cache, pool_cache = caches[i - 1]
            (dh,) = MaxPool2d.backward(dh, pool_cache)
            (dh,) = ReLU.backward(dh, relu_cache)
            dh, grads[f"W{i}"], grads[f"b{i}"] = Conv2d.backward(dh, conv_cache)

    def loss(self, x: np.ndarray, y: np.ndarray) -> tuple[float, dict[str, np.ndarray]]:
        """Softmax cross-entropy plus the L2 penalty, and its gradient w.r.t. every parameter.

        Returns ``(loss, grads)`` with ``grads`` keyed (and ordered) like :attr:`params`.
        """
        scores, caches, maps_shape = self._forward(x)
        data_loss, loss_cache = SoftmaxCrossEntropy.forward(scores, y)
        grads: dict[str, np.ndarray] = {}
        (dscores,) = SoftmaxCrossEntropy.backward(1.0, loss_cache)
        dflat = self._backward_linear(dscores, caches, grads)
        self._backward_conv(dflat.reshape(maps_shape), caches, grads)
        if self.reg:
            grads = {k: g + self.reg * self.params[k] if k.startswith("W") else g for k, g in grads.items()}
        grads = {name: grads[name] for name in self.params}
        return float(data_loss + self._penalty()), grads
