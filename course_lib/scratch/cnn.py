r"""A small convolutional classifier built from the scratch ops, with the MLP's interface.

:class:`SimpleCNN` follows the pattern [(Conv -> ReLU)^N -> MaxPool]^M -> FC: one block per entry
of ``channels`` (M blocks), each with ``convs_per_block`` = N convolutions 3x3 (padding 1) and
ReLUs, then one 2x2 max pooling; it flattens the maps and ends like an MLP: an optional hidden
Linear + ReLU, then a Linear readout and softmax cross-entropy. Each 3x3 convolution with
padding 1 keeps the height and width; each pooling halves them (floored, as in PyTorch), so an
8x8 digit becomes 4x4, then 2x2. ``convs_per_block=2`` is "the deeper CNN" of the batch-norm
chapter: the same blocks with twice as many convolutions.

``dropout=p`` puts inverted dropout (:class:`~course_lib.scratch.dropout.Dropout`, torch's DROP
probability) on the input of every Linear layer (the flattened maps, and the hidden layer's output);
``block_dropout=p`` drops entries of every block's output maps, after its pooling. Masks come as
in the MLP: fresh in training mode (from the ``rng`` given to :meth:`SimpleCNN.loss` or from
:attr:`SimpleCNN.dropout_rng`), explicit ones via ``masks=`` (:meth:`SimpleCNN.sample_masks`) in
either mode, none in eval mode.

``norm="batch"`` puts a :class:`~course_lib.scratch.batchnorm.SpatialBatchNorm` on every
convolution, before the ReLU (``norm_position="before"``, Ioffe & Szegedy 2015) or after it
(``"after"``), with running statistics for evaluation mode (:meth:`SimpleCNN.train` /
:meth:`SimpleCNN.eval`), as :class:`course_lib.scratch.model.MLP` does for its hidden layers.

It has :class:`course_lib.scratch.model.MLP`'s interface (``params``, ``loss(x, y) -> (loss,
grads)``, ``scores``, ``predict``, ``accuracy``, ``reg``, ``running``, ``train``/``eval``), so the
:class:`~course_lib.scratch.solver.Solver` trains it unchanged. Its torch twin is
:class:`course_lib.torch_impl.cnn.SimpleCNN`, with the same parameter names and layouts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from course_lib import checks
from course_lib.scratch import batchnorm as bn
from course_lib.scratch import dropout as drop
from course_lib.scratch import init as init_mod
from course_lib.scratch.activations import ReLU
from course_lib.scratch.conv import Conv2d, MaxPool2d, conv_output_size
from course_lib.scratch.linear import Linear
from course_lib.scratch.losses import SoftmaxCrossEntropy, check_labels
from course_lib.scratch.model import NORM_EPS, NORM_MOMENTUM

__all__ = ["SimpleCNN", "CNNSpec", "ConvLayer", "FrozenSpatialNormCache", "check_cnn_args"]

KERNEL, PADDING, POOL = 3, 1, 2  # every conv: 3x3 filters, padding 1 (same size); every block ends in 2x2 pooling


@dataclass(frozen=True)
class ConvLayer:
    """One convolution of a :class:`SimpleCNN`: its number (1-based, over all blocks) and its channels."""

    index: int  # i in the parameter names W_i, b_i, gamma_i, beta_i
    c_in: int
    c_out: int
    pool: bool  # the last convolution of its block: a 2x2 max pooling follows


@dataclass(frozen=True)
class CNNSpec:
    """The checked architecture of a :class:`SimpleCNN` (shared with its torch twin)."""

    in_channels: int  # C of the input images
    image_size: tuple[int, int]  # (H, W) of the input images
    n_classes: int  # number of classes, the width of the readout
    channels: tuple[int, ...]  # filters per conv block
    hidden: int | None  # width of the hidden Linear layer, or None for none
    reg: float  # L2 strength on every weight (not the biases, gammas or betas)
    convs_per_block: int = 1  # N convolutions (each with its ReLU) before each pooling
    norm: str | None = None  # None or "batch": spatial batch norm on every convolution
    norm_position: str = "before"  # "before" or "after" the ReLU
    bias: bool = True  # False: the convolutions have no bias (Linear layers always have one)
    dropout: float = 0.0  # drop probability of the input of every Linear layer
    block_dropout: float = 0.0  # drop probability of every block's output maps (after the pooling)

    @property
    def conv_layers(self) -> tuple[ConvLayer, ...]:
        """Every convolution in order: block by block, ``convs_per_block`` per block."""
        layers, c_in = [], self.in_channels
        for c_out in self.channels:
            for j in range(self.convs_per_block):
                layers.append(ConvLayer(len(layers) + 1, c_in, c_out, pool=j == self.convs_per_block - 1))
                c_in = c_out
        return tuple(layers)

    @property
    def feature_size(self) -> tuple[int, int]:
        """(H, W) of the maps after the last block: each pooling halves them, floored."""
        h, w = self.image_size
        for _ in self.channels:
            h, w = (conv_output_size(n, POOL, POOL, exact=False) for n in (h, w))
        return h, w

    def shapes(self) -> dict[str, tuple[int, ...]]:
        """Every parameter's shape by name, in order: per conv layer ``W_i`` (C_out, C_in, 3, 3), ``b_i``
        (unless ``bias=False``), ``gamma_i``, ``beta_i`` (with norm); then each Linear ``W`` (in, out), ``b``."""
        shapes: dict[str, tuple[int, ...]] = {}
        for layer in self.conv_layers:
            i, c_out = layer.index, layer.c_out
            shapes[f"W{i}"] = (c_out, layer.c_in, KERNEL, KERNEL)
            if self.bias:
                shapes[f"b{i}"] = (c_out,)
            if self.norm:
                shapes[f"gamma{i}"], shapes[f"beta{i}"] = (c_out,), (c_out,)
        c_last = self.channels[-1]
        widths = [c_last * int(np.prod(self.feature_size))] + ([self.hidden] if self.hidden else []) + [self.n_classes]
        for i, (d_in, d_out) in enumerate(zip(widths[:-1], widths[1:]), start=len(self.conv_layers) + 1):
            shapes[f"W{i}"], shapes[f"b{i}"] = (d_in, d_out), (d_out,)
        return shapes

    def running_shapes(self) -> dict[str, tuple[int, ...]]:
        """The running statistics by name (empty without norm): ``running_mean_i``, ``running_var_i`` (C_out,)."""
        if not self.norm:
            return {}
        shapes = {}
        for layer in self.conv_layers:
            shapes[f"running_mean{layer.index}"] = shapes[f"running_var{layer.index}"] = (layer.c_out,)
        return shapes

    @property
    def dropout_sites(self) -> tuple[tuple[str, float], ...]:
        """Every place a dropout mask may go, in order: ``("block k", p)`` per block, then
        ``("linear i", p)`` per Linear layer's input (i = the layer's number); p = 0: no dropout there."""
        n_conv = len(self.conv_layers)
        blocks = tuple((f"block {k + 1}", self.block_dropout) for k in range(len(self.channels)))
        n_linear = 2 if self.hidden else 1
        return blocks + tuple((f"linear {n_conv + j + 1}", self.dropout) for j in range(n_linear))

    def describe(self) -> str:
        """The constructor arguments as in a ``repr``."""
        text = (f"in_channels={self.in_channels}, image_size={self.image_size}, n_classes={self.n_classes}, "
                f"channels={self.channels}, hidden={self.hidden}, reg={self.reg}")
        if self.convs_per_block != 1:
            text += f", convs_per_block={self.convs_per_block}"
        if self.norm:
            text += f", norm={self.norm!r}, norm_position={self.norm_position!r}"
        if not self.bias:
            text += ", bias=False"
        if self.dropout:
            text += f", dropout={self.dropout}"
        if self.block_dropout:
            text += f", block_dropout={self.block_dropout}"
        return text


def check_cnn_args(in_channels, image_size, n_classes, channels, hidden, reg, convs_per_block=1, norm=None,
                   norm_position="before", bias=True, dropout=None, block_dropout=None) -> CNNSpec:
    """Validate :class:`SimpleCNN`'s constructor arguments (both sides); a ValueError names the argument."""
    who = "SimpleCNN"
    size = (image_size, image_size) if checks.is_integer(image_size) else image_size
    if not (isinstance(size, (tuple, list)) and len(size) == 2):
        raise ValueError(f"{who}: image_size must be an integer or a pair (H, W), got {image_size!r}")
    if isinstance(channels, (str, bytes)) or not hasattr(channels, "__iter__"):
        raise ValueError(f"{who}: channels must be a sequence of integers, got {channels!r}")
    if norm not in (None, "batch"):
        raise ValueError(f"{who}: norm must be None or 'batch', got {norm!r}")
    if norm_position not in ("before", "after"):
        raise ValueError(f"{who}: norm_position must be 'before' or 'after' (the ReLU), got {norm_position!r}")
    if not isinstance(bias, (bool, np.bool_)):
        raise ValueError(f"{who}: bias must be True or False (whether the convolutions have one), got {bias!r}")
    spec = CNNSpec(
        in_channels=checks.integer(in_channels, "in_channels", who, minimum=1),
        image_size=tuple(checks.integer(n, "image_size", who, minimum=1) for n in size),
        n_classes=checks.integer(n_classes, "n_classes", who, minimum=2),
        channels=tuple(checks.integer(c, "channels", who, minimum=1) for c in channels),
        hidden=None if hidden is None else checks.integer(hidden, "hidden", who, minimum=1),
        reg=checks.real(reg, "reg", who, minimum=0),
        convs_per_block=checks.integer(convs_per_block, "convs_per_block", who, minimum=1),
        norm=norm, norm_position=norm_position, bias=bool(bias),
        dropout=0.0 if dropout is None else drop.check_p(dropout, who, "dropout"),
        block_dropout=0.0 if block_dropout is None else drop.check_p(block_dropout, who, "block_dropout"),
    )
    if not spec.channels:
        raise ValueError(f"{who}: channels must hold at least one block, got {channels!r}")
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


@dataclass(frozen=True, eq=False)
class FrozenSpatialNormCache:
    """What eval-mode spatial batch norm keeps for the backward pass (the statistics are constants there)."""

    xhat: np.ndarray  # (N, C, H, W) the input normalized with the running statistics
    scale: np.ndarray  # (C,) gamma / sqrt(running_var + eps): d out / d in, per channel


class SimpleCNN:
    r"""[(Conv 3x3 (pad 1) -> [BN] -> ReLU -> [BN])^N -> MaxPool 2x2] per entry of ``channels``, then the readout.

    .. math::

        h_0 = x,\quad h_i = \mathrm{pool}\big(\mathrm{relu}(W_i * h_{i-1} + b_i)\big),\quad
        s = \mathrm{flat}(h_K)\, W_{K+1} + b_{K+1},\quad
        J = \mathrm{CE}(s, y) + \tfrac{\lambda}{2} \sum_\ell \|W_\ell\|^2

    for the default (one convolution per block, no norm; with ``hidden``, one more
    :math:`\mathrm{relu}(\cdot\, W + b)` before the readout). With ``convs_per_block`` = N, block
    k applies N convolutions, each followed by its ReLU, and pools once after the last; with
    ``norm="batch"`` each convolution's output is batch-normalized per channel,
    :math:`\mathrm{relu}(\mathrm{BN}(W_i * h + b_i))` (``"before"``) or
    :math:`\mathrm{BN}(\mathrm{relu}(W_i * h + b_i))` (``"after"``).

    Parameters
    ----------
    in_channels, image_size : the images are (C, H, W) = (in_channels, *image_size); ``image_size``
        is an int (square) or a pair (H, W), at least :math:`2^M` a side for M blocks.
    n_classes : the number of classes C of the readout.
    channels : filters per block, e.g. ``(8, 16)``.
    hidden : None, or the width of one hidden Linear + ReLU layer before the readout.
    reg : L2 strength :math:`\lambda` on every weight (conv and Linear), never on biases, gammas, betas.
    rng : None, int or ``np.random.Generator`` (``np.random.default_rng(rng)``).
    convs_per_block : N >= 1, the convolutions (each with its ReLU) per block; every one of them
        has ``channels[k]`` filters.
    norm : None or ``"batch"``: a :class:`~course_lib.scratch.batchnorm.SpatialBatchNorm` on every
        convolution (not on the Linear layers), with ``gamma_i`` (ones) and ``beta_i`` (zeros) of
        shape (C_out,), ``eps`` = 1e-5 and running statistics (momentum 0.1, unbiased running
        variance) in :attr:`running`, exactly as :class:`~course_lib.scratch.model.MLP` does.
    norm_position : ``"before"`` (conv -> BN -> ReLU, as Ioffe & Szegedy 2015) or ``"after"``
        (conv -> ReLU -> BN, then the pooling if the block ends there).
    bias : True (default) or False: whether the convolutions have biases ``b_i``. Before BN a bias
        is redundant (BN subtracts the batch mean of each channel, so dJ/db_i = 0 and b_i never
        moves); it is kept by default, as ``nn.Conv2d`` keeps it, and ``bias=False`` drops it, as
        ``nn.Conv2d(..., bias=False)`` does in ResNets.
    dropout : None or a drop probability p in [0, 1) (torch's convention): inverted dropout on the
        input of every Linear layer (the flattened maps; with ``hidden``, also the hidden ReLU's
        output), as :class:`~course_lib.scratch.model.MLP` puts it on its hidden layers.
    block_dropout : None or p: inverted dropout on every entry of each block's output maps (after
        the pooling; one mask entry per example, channel and pixel, not whole channels).

    ``params``: per convolution i = 1 .. M*N (numbered across blocks) ``W_i`` (C_out, C_in, 3, 3)
    (torch's layout), ``b_i`` (C_out,), and with norm ``gamma_i``, ``beta_i`` (C_out,); then the
    Linear layers ``W_{K+1}, b_{K+1}, ...`` with W as (in, out), K = M*N. Weights start with He's
    normal rule (:func:`course_lib.scratch.init.he_normal`; conv fans by ``layout="conv"``,
    ``fan_in = C_in * 9``), biases at 0. ``x`` is (N, C, H, W), or flat (N, C*H*W) (the digits
    come as (N, 64)): flattening is row-major, ``torch.flatten``'s order.

    ``running``: ``{"running_mean1": (C_1,), "running_var1": (C_1,), ...}`` (empty without norm),
    replaced in every :meth:`loss` call in training mode; ``training``: set by :meth:`train` /
    :meth:`eval`; in eval mode batch norm uses the running statistics
    (:func:`~course_lib.scratch.batchnorm.inference`) and :meth:`loss` differentiates with them
    held constant, as torch does.
    """

    def __init__(self, in_channels: int, image_size: Any, n_classes: int, channels: Any = (8, 16),
                 hidden: int | None = None, reg: float = 0.0, rng: Any = None, *, convs_per_block: int = 1,
                 norm: str | None = None, norm_position: str = "before", bias: bool = True,
                 dropout: float | None = None, block_dropout: float | None = None):
        self.spec = check_cnn_args(in_channels, image_size, n_classes, channels, hidden, reg,
                                   convs_per_block, norm, norm_position, bias, dropout, block_dropout)
        self.reg = self.spec.reg
        self.norm, self.norm_position = self.spec.norm, self.spec.norm_position
        self.training = True
        gen = np.random.default_rng(rng)
        self.params: dict[str, np.ndarray] = {}
        for name, shape in self.spec.shapes().items():
            if name.startswith("W"):
                layout = "conv" if len(shape) == 4 else "linear"
                fan_in, fan_out = init_mod.fans(shape, layout)
                self.params[name] = init_mod.he_normal(gen, fan_in, fan_out, shape=shape, layout=layout)
            else:
                self.params[name] = np.ones(shape) if name.startswith("gamma") else np.zeros(shape)
        self.running: dict[str, np.ndarray] = {  # torch's starting values: mean 0, variance 1
            name: np.zeros(shape) if "mean" in name else np.ones(shape)
            for name, shape in self.spec.running_shapes().items()
        }
        self.dropout_rng = gen  # continues after the weights: masks never change the initial weights

    def train(self, mode: bool = True) -> "SimpleCNN":
        """Training mode (``mode=True``): batch norm uses each batch's statistics; returns the model."""
        self.training = bool(mode)
        return self

    def eval(self) -> "SimpleCNN":
        """Evaluation mode: batch norm uses the running statistics (same as ``train(False)``)."""
        return self.train(False)

    @property
    def num_classes(self) -> int:
        return self.spec.n_classes

    @property
    def num_blocks(self) -> int:
        """Number of conv blocks M (one pooling each)."""
        return len(self.spec.channels)

    @property
    def num_conv(self) -> int:
        """Number of convolutions K = M * ``convs_per_block`` (M with the default of one per block)."""
        return len(self.spec.conv_layers)

    @property
    def num_layers(self) -> int:
        """Number of layers with weights (conv and Linear)."""
        return sum(1 for name in self.params if name.startswith("W"))

    @property
    def num_params(self) -> int:
        """Number of trainable numbers: weights, biases, and the gammas and betas of batch norm."""
        return int(sum(p.size for p in self.params.values()))

    def __repr__(self) -> str:
        return f"SimpleCNN({self.spec.describe()})"

    # ----- dropout masks ---------------------------------------------------------------
    def _site_shapes(self, n: int) -> list[tuple[int, ...]]:
        """The shape of every dropout site's input for a batch of ``n`` (see ``spec.dropout_sites``)."""
        shapes, (h, w) = [], self.spec.image_size
        for c in self.spec.channels:
            h, w = h // POOL, w // POOL
            shapes.append((n, c, h, w))
        c_last = self.spec.channels[-1]
        widths = [c_last * h * w] + ([self.spec.hidden] if self.spec.hidden else [])
        return shapes + [(n, d) for d in widths]

    def sample_masks(self, rng: np.random.Generator, n: int) -> tuple:
        """Fresh dropout keep masks for a batch of ``n``: one per site of ``spec.dropout_sites`` (None where p = 0).

        Pass the tuple as ``masks=`` to :meth:`loss` / :meth:`scores` to fix the masks (gradient
        checks, Monte-Carlo dropout with :func:`~course_lib.scratch.dropout.mc_predict`).
        """
        rng = checks.generator(rng, who="SimpleCNN.sample_masks")
        n = checks.integer(n, "n", "SimpleCNN.sample_masks", minimum=0)
        return tuple(drop.sample_mask(rng, shape, p) if p > 0 else None
                     for shape, (_, p) in zip(self._site_shapes(n), self.spec.dropout_sites))

    def _masks(self, masks: Any, n: int, rng: Any = None) -> tuple | None:
        """The masks of one pass: given ones (checked), fresh ones (training mode), or None."""
        sites = self.spec.dropout_sites
        if rng is not None:
            rng = checks.generator(rng, who="SimpleCNN.loss")
            if masks is not None:
                raise ValueError("SimpleCNN.loss: give masks or rng, not both")
        if masks is None:
            if not self.training or not any(p for _, p in sites):
                return None
            return self.sample_masks(self.dropout_rng if rng is None else rng, n)
        if not isinstance(masks, (tuple, list)) or len(masks) != len(sites):
            raise ValueError(f"SimpleCNN: masks must be a tuple of {len(sites)} masks (or None), one per dropout "
                             "site, as sample_masks returns")
        for (site, p), mask in zip(sites, masks):
            if (mask is None) != (p == 0):
                raise ValueError(f"SimpleCNN: the mask of {site} must be {'None' if p == 0 else 'a mask'} "
                                 f"(dropout p = {p} there)")
        return tuple(masks)

    # ----- forward ---------------------------------------------------------------------
    def _norm(self, a: np.ndarray, i: int) -> tuple[np.ndarray, Any]:
        """Layer i's batch norm of ``a`` (N, C, H, W): batch or running statistics."""
        gamma, beta = self.params[f"gamma{i}"], self.params[f"beta{i}"]
        if self.training:
            return bn.SpatialBatchNorm.forward(a, gamma, beta, eps=NORM_EPS)
        mean, var = (self.running[f"running_{s}{i}"] for s in ("mean", "var"))
        out = bn.inference(a, mean, var, gamma, beta, eps=NORM_EPS)
        inv_std = 1.0 / np.sqrt(var + NORM_EPS)  # fixed statistics: out is affine in a
        xhat = (a - mean[:, None, None]) * inv_std[:, None, None]
        return out, FrozenSpatialNormCache(xhat=xhat, scale=gamma * inv_std)

    def _conv_layer(self, h: np.ndarray, layer: ConvLayer) -> tuple[np.ndarray, tuple]:
        """conv 3x3 -> [BN] -> relu -> [BN] -> [pool 2x2 if the block ends]; caches."""
        i, p = layer.index, self.params
        b = p.get(f"b{i}", np.zeros(layer.c_out))  # bias=False: no b_i
        z, conv_cache = Conv2d.forward(h, p[f"W{i}"], b, padding=PADDING)
        norm_cache = pool_cache = None
        if self.norm and self.norm_position == "before":
            z, norm_cache = self._norm(z, i)
        a, relu_cache = ReLU.forward(z)
        if self.norm and self.norm_position == "after":
            a, norm_cache = self._norm(a, i)
        if layer.pool:
            a, pool_cache = MaxPool2d.forward(a, POOL)
        return a, (conv_cache, norm_cache, relu_cache, pool_cache)

    def _drop(self, h: np.ndarray, masks: tuple | None, site: int) -> tuple[np.ndarray, Any]:
        """Dropout site ``site`` on ``h`` (if it has a mask); returns h and the dropout cache (or None)."""
        if masks is None or masks[site] is None:
            return h, None
        return drop.Dropout.forward(h, masks[site], self.spec.dropout_sites[site][1])

    def _forward(self, x: np.ndarray, masks: Any = None,
                 rng: Any = None) -> tuple[np.ndarray, list, tuple[int, ...], list]:
        """Scores (N, C), the caches of every layer in order, the shape of the last maps, and the dropout caches."""
        h = as_images(x, self.spec)
        masks = self._masks(masks, h.shape[0], rng)
        caches, drop_caches, block = [], [], 0
        for layer in self.spec.conv_layers:
            h, cache = self._conv_layer(h, layer)
            caches.append(cache)
            if layer.pool:  # the block ends: its dropout, if any
                h, drop_cache = self._drop(h, masks, block)
                drop_caches.append(drop_cache)
                block += 1
        maps_shape = h.shape
        h = h.reshape(h.shape[0], -1)  # (N, C_K * H_K * W_K)
        for i in range(self.num_conv + 1, self.num_layers + 1):
            h, drop_cache = self._drop(h, masks, block + i - self.num_conv - 1)
            drop_caches.append(drop_cache)
            h, lin_cache = Linear.forward(h, self.params[f"W{i}"], self.params[f"b{i}"])
            relu_cache = None
            if i < self.num_layers:  # the hidden layer
                h, relu_cache = ReLU.forward(h)
            caches.append((lin_cache, relu_cache))
        return h, caches, maps_shape, drop_caches

    def scores(self, x: np.ndarray, masks: Any = None) -> np.ndarray:
        """Class scores (N, C) for images ``x`` (N, C, H, W) or (N, C*H*W); never updates :attr:`running`.

        Eval mode: no dropout unless ``masks`` (from :meth:`sample_masks`) are given; training mode:
        fresh masks from :attr:`dropout_rng` unless given."""
        return self._forward(x, masks)[0]

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

    def _backward_linear(self, dh: np.ndarray, caches: list, grads: dict, drop_caches: list) -> np.ndarray:
        """From d scores back through the Linear layers (and their input dropout); fills ``grads``."""
        for i in range(self.num_layers, self.num_conv, -1):
            lin_cache, relu_cache = caches[i - 1]
            if relu_cache is not None:
                (dh,) = ReLU.backward(dh, relu_cache)
            dh, grads[f"W{i}"], grads[f"b{i}"] = Linear.backward(dh, lin_cache)
            drop_cache = drop_caches[self.num_blocks + i - self.num_conv - 1]
            if drop_cache is not None:  # no gradient reaches a dropped unit
                (dh,) = drop.Dropout.backward(dh, drop_cache)
        return dh

    def _norm_backward(self, dh: np.ndarray, norm_cache: Any, i: int, grads: dict) -> np.ndarray:
        """Back through conv layer i's batch norm; stores dgamma_i and dbeta_i in ``grads``."""
        if isinstance(norm_cache, FrozenSpatialNormCache):  # eval mode: the running statistics are constants
            grads[f"gamma{i}"] = np.einsum("nchw,nchw->c", dh, norm_cache.xhat)
            grads[f"beta{i}"] = np.einsum("nchw->c", dh)
            return dh * norm_cache.scale[:, None, None]
        dh, grads[f"gamma{i}"], grads[f"beta{i}"] = bn.SpatialBatchNorm.backward(dh, norm_cache)
        return dh

    def _backward_conv(self, dh: np.ndarray, caches: list, grads: dict, drop_caches: list) -> None:
        """From d maps (N, C_K, H_K, W_K) back through every conv layer (pool, BN, relu, conv); fills ``grads``."""
        block = self.num_blocks
        for layer in reversed(self.spec.conv_layers):
            i = layer.index
            conv_cache, norm_cache, relu_cache, pool_cache = caches[i - 1]
            if layer.pool:
                block -= 1
                if drop_caches[block] is not None:  # the block's dropout, after its pooling
                    (dh,) = drop.Dropout.backward(dh, drop_caches[block])
            if pool_cache is not None:
                (dh,) = MaxPool2d.backward(dh, pool_cache)
            if self.norm and self.norm_position == "after":
                dh = self._norm_backward(dh, norm_cache, i, grads)
            (dh,) = ReLU.backward(dh, relu_cache)
            if self.norm and self.norm_position == "before":
                dh = self._norm_backward(dh, norm_cache, i, grads)
            dh, grads[f"W{i}"], db = Conv2d.backward(dh, conv_cache)
            if self.spec.bias:
                grads[f"b{i}"] = db

    def loss(self, x: np.ndarray, y: np.ndarray, rng: Any = None,
             masks: Any = None) -> tuple[float, dict[str, np.ndarray]]:
        """Softmax cross-entropy plus the L2 penalty, and its gradient w.r.t. every parameter.

        Returns ``(loss, grads)`` with ``grads`` keyed (and ordered) like :attr:`params`.
        Batch norm: in training mode with the batch's statistics (and :attr:`running` is
        updated); in eval mode with the running statistics, held constant (as in torch).
        Dropout: in training mode, masks drawn from ``rng`` (None: :attr:`dropout_rng`), or
        the ``masks`` given (from :meth:`sample_masks`, in either mode).
        """
        scores, caches, maps_shape, drop_caches = self._forward(x, masks, rng)
        data_loss, loss_cache = SoftmaxCrossEntropy.forward(scores, y)
        grads: dict[str, np.ndarray] = {}
        (dscores,) = SoftmaxCrossEntropy.backward(1.0, loss_cache)
        dflat = self._backward_linear(dscores, caches, grads, drop_caches)
        self._backward_conv(dflat.reshape(maps_shape), caches, grads, drop_caches)
        if self.reg:
            grads = {k: g + self.reg * self.params[k] if k.startswith("W") else g for k, g in grads.items()}
        grads = {name: grads[name] for name in self.params}
        self._update_running(caches)
        return float(data_loss + self._penalty()), grads

    def _update_running(self, caches: list) -> None:
        """New running statistics from this batch's (training mode only); they never enter the loss."""
        for layer in self.spec.conv_layers:
            norm_cache = caches[layer.index - 1][1]
            if isinstance(norm_cache, bn.BatchNormCache):
                i = layer.index
                mean, var = self.running[f"running_mean{i}"], self.running[f"running_var{i}"]
                self.running[f"running_mean{i}"], self.running[f"running_var{i}"] = bn.update_running(
                    mean, var, norm_cache.mean, norm_cache.var, norm_cache.n, momentum=NORM_MOMENTUM)
