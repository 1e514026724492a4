r"""A small residual network (He et al. 2016), torch only: no scratch twin.

Unlike the other modules of :mod:`course_lib.torch_impl`, this one has no counterpart in
:mod:`course_lib.scratch`: its pieces are ops whose backward passes the course writes by hand
elsewhere (:class:`~course_lib.scratch.conv.Conv2d`,
:class:`~course_lib.scratch.batchnorm.SpatialBatchNorm`, ReLU, Linear), and a residual
connection adds nothing new to differentiate (the gradient of :math:`x + F(x)` is the sum of the
two paths'). So it is built from the twin ops (:func:`~course_lib.torch_impl.conv.conv2d`,
:func:`~course_lib.torch_impl.batchnorm.spatial_batch_norm`,
:func:`~course_lib.torch_impl.batchnorm.inference`, :func:`~course_lib.torch_impl.activations.relu`,
:func:`~course_lib.torch_impl.linear.linear`) and autograd does the backward pass.

:class:`ResNet` has :class:`course_lib.torch_impl.cnn.SimpleCNN`'s interface (``scores``, ``loss``
including the L2 term, ``predict``, ``accuracy``, ``train``/``eval``, ``num_params``,
``num_classes``), so :class:`course_lib.torch_impl.solver.Solver` trains it unchanged.

Reference: He, Zhang, Ren & Sun (2016), "Deep residual learning for image recognition", CVPR:
basic blocks of two 3x3 convolutions with an identity shortcut (Fig. 2), a projection shortcut
(1x1 convolution with stride 2, their option B) where the shape changes, global average pooling and
one fully-connected layer; their CIFAR-10 nets (Sec. 4.2) have three stages of widths 16, 32, 64
with n blocks each (6n + 2 layers: ``widths=(16, 32, 64), blocks_per_stage=3`` is ResNet-20,
except that the paper's CIFAR nets use zero-padding shortcuts, option A, where this one projects).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from course_lib import checks
from course_lib.device import torch_generator
from course_lib.scratch.model import NORM_EPS, NORM_MOMENTUM
from course_lib.torch_impl._classifier import ClassifierMixin
from course_lib.torch_impl.activations import relu
from course_lib.torch_impl.batchnorm import inference, spatial_batch_norm, update_running
from course_lib.torch_impl.conv import conv2d
from course_lib.torch_impl.init import he_normal
from course_lib.torch_impl.linear import linear
from course_lib.torch_impl.losses import cross_entropy

__all__ = ["ResNet", "BasicBlock", "ConvNorm"]


class ConvNorm(nn.Module):
    r"""A convolution followed by spatial batch norm (or by nothing): the unit every ResNet layer is made of.

    .. math::

        \mathrm{out} = \mathrm{BN}(W * x) \quad\text{(norm="batch"; no conv bias: BN removes it)}
        \qquad\text{or}\qquad \mathrm{out} = W * x + b \quad\text{(norm=None)}

    Parameters ``W`` (C_out, C_in, k, k) (He normal), then ``gamma``, ``beta`` (C_out,) with norm or
    ``b`` (C_out,) without; buffers ``running_mean``, ``running_var`` with norm. ``padding`` is
    ``k // 2`` ("same" size at stride 1). ``forward(x, update=False)``: ``update`` also moves the
    running statistics (training mode), as :class:`~course_lib.torch_impl.cnn.SimpleCNN` does in ``loss``.
    """

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int, norm: str | None, gen: torch.Generator,
                 device: torch.device, dtype: torch.dtype):
        super().__init__()
        self.stride, self.padding, self.norm = stride, kernel // 2, norm
        w = torch.empty((c_out, c_in, kernel, kernel), dtype=dtype, device=device)
        self.W = nn.Parameter(he_normal(w, generator=gen, layout="conv"))
        if norm:
            self.gamma = nn.Parameter(torch.ones(c_out, dtype=dtype, device=device))
            self.beta = nn.Parameter(torch.zeros(c_out, dtype=dtype, device=device))
            self.register_buffer("running_mean", torch.zeros(c_out, dtype=dtype, device=device))
            self.register_buffer("running_var", torch.ones(c_out, dtype=dtype, device=device))
        else:
            self.b = nn.Parameter(torch.zeros(c_out, dtype=dtype, device=device))

    def forward(self, x: torch.Tensor, update: bool = False) -> torch.Tensor:
        if not self.norm:
            return conv2d(x, self.W, self.b, stride=self.stride, padding=self.padding)
        z = conv2d(x, self.W, x.new_zeros(self.W.shape[0]), stride=self.stride, padding=self.padding)
        if not self.training:
            return inference(z, self.running_mean, self.running_var, self.gamma, self.beta, eps=NORM_EPS)
        if update:
            stats = z.detach()
            self.running_mean, self.running_var = update_running(
                self.running_mean, self.running_var, stats.mean(dim=(0, 2, 3)),
                stats.var(dim=(0, 2, 3), correction=0), z.numel() // z.shape[1], momentum=NORM_MOMENTUM)
        return spatial_batch_norm(z, self.gamma, self.beta, eps=NORM_EPS)


class BasicBlock(nn.Module):
    r"""He et al.'s basic residual block: two 3x3 conv(-BN) layers and a shortcut.

    .. math::

        \mathrm{out} = \mathrm{relu}\big(F(x) + S(x)\big), \qquad
        F(x) = \mathrm{BN}_2\big(W_2 * \mathrm{relu}(\mathrm{BN}_1(W_1 *_s x))\big)

    where :math:`*_s` has stride s; the shortcut :math:`S` is the identity when the shape is kept
    (stride 1, same channels) and a 1x1 convolution with stride s (and BN) otherwise (He et al.
    2016, Eq. 2, option B). Sub-modules ``conv1``, ``conv2``, ``shortcut`` (None for the identity),
    each a :class:`ConvNorm`.
    """

    def __init__(self, c_in: int, c_out: int, stride: int, norm: str | None, gen: torch.Generator,
                 device: torch.device, dtype: torch.dtype):
        super().__init__()
        self.conv1 = ConvNorm(c_in, c_out, 3, stride, norm, gen, device, dtype)
        self.conv2 = ConvNorm(c_out, c_out, 3, 1, norm, gen, device, dtype)
        identity = stride == 1 and c_in == c_out
        self.shortcut = None if identity else ConvNorm(c_in, c_out, 1, stride, norm, gen, device, dtype)

    def forward(self, x: torch.Tensor, update: bool = False) -> torch.Tensor:
        h = relu(self.conv1(x, update))
        h = self.conv2(h, update)
        return relu(h + (x if self.shortcut is None else self.shortcut(x, update)))


class ResNet(ClassifierMixin, nn.Module):
    r"""A small ResNet for images (He et al. 2016): stem, stages of basic blocks, global average pooling, readout.

    .. math::

        h_0 = \mathrm{relu}(\mathrm{BN}(W_0 * x)), \quad
        h_{k} = \mathrm{relu}\big(F_k(h_{k-1}) + S_k(h_{k-1})\big), \quad
        s = \mathrm{GAP}(h_K)\, W + b, \quad
        J = \mathrm{CE}(s, y) + \tfrac{\lambda}{2} \sum_\ell \|W_\ell\|^2

    Parameters
    ----------
    in_channels, image_size : the images are (C, H, W) = (in_channels, *image_size); ``image_size`` is an
        int (square) or a pair; flat (N, C*H*W) inputs are reshaped, as in ``SimpleCNN``.
    n_classes : width of the readout.
    widths : channels of each stage, e.g. ``(16, 32)``; the stem maps the input to ``widths[0]``, every
        later stage starts with a stride-2 block (half the height and width, a projection shortcut).
    blocks_per_stage : basic blocks per stage (2 convolutions each): ``len(widths) * 2 *
        blocks_per_stage + 2`` layers with weights in all (ResNet-20: ``widths=(16, 32, 64)``, 3 blocks).
    norm : ``"batch"`` (spatial batch norm after every convolution, convolutions without bias, as in the
        paper) or None (no normalization; every convolution has a bias).
    reg : L2 strength on every weight ``W`` (not on biases, gammas or betas).
    rng : None, int or ``torch.Generator``; He normal for every weight (conv fans ``C_in k k``).
    device, dtype : where and in what precision the parameters live (float64 by default, as the twins).

    Modules ``stem`` (:class:`ConvNorm`), ``stages`` (a ``ModuleList`` of ``ModuleList`` of
    :class:`BasicBlock`), and parameters ``W``, ``b`` of the readout, W as (in, out) (our Linear
    layout). ``train()``/``eval()``: batch or running statistics; ``loss`` updates the running
    statistics in training mode, ``forward`` never does.
    """

    def __init__(self, in_channels: int, image_size: Any, n_classes: int, widths: Any = (16, 32),
                 blocks_per_stage: int = 1, norm: str | None = "batch", reg: float = 0.0, rng: Any = None,
                 device: Any = None, dtype: torch.dtype = torch.float64):
        super().__init__()
        who = "ResNet"
        size = (image_size, image_size) if checks.is_integer(image_size) else image_size
        if not (isinstance(size, (tuple, list)) and len(size) == 2):
            raise ValueError(f"{who}: image_size must be an integer or a pair (H, W), got {image_size!r}")
        if isinstance(widths, (str, bytes)) or not hasattr(widths, "__iter__"):
            raise ValueError(f"{who}: widths must be a sequence of integers, got {widths!r}")
        if norm not in (None, "batch"):
            raise ValueError(f"{who}: norm must be None or 'batch', got {norm!r}")
        self.in_channels = checks.integer(in_channels, "in_channels", who, minimum=1)
        self.image_size = tuple(checks.integer(n, "image_size", who, minimum=1) for n in size)
        self.n_classes = checks.integer(n_classes, "n_classes", who, minimum=2)
        self.widths = tuple(checks.integer(w, "widths", who, minimum=1) for w in widths)
        if not self.widths:
            raise ValueError(f"{who}: widths must hold at least one stage, got {widths!r}")
        self.blocks_per_stage = checks.integer(blocks_per_stage, "blocks_per_stage", who, minimum=1)
        self.reg = checks.real(reg, "reg", who, minimum=0)
        self.norm = norm
        need = 2 ** (len(self.widths) - 1)
        if min(self.image_size) < need:
            raise ValueError(f"{who}: image_size {self.image_size} is too small for {len(self.widths) - 1} "
                             f"stride-2 stages (needs at least {need} pixels a side)")
        gen = torch_generator(rng, who)
        device = torch.device("cpu") if device is None else torch.device(device)
        self.stem = ConvNorm(self.in_channels, self.widths[0], 3, 1, norm, gen, device, dtype)
        stages, c_in = [], self.widths[0]
        for s, width in enumerate(self.widths):
            blocks = []
            for k in range(self.blocks_per_stage):
                stride = 2 if (s > 0 and k == 0) else 1
                blocks.append(BasicBlock(c_in, width, stride, norm, gen, device, dtype))
                c_in = width
            stages.append(nn.ModuleList(blocks))
        self.stages = nn.ModuleList(stages)
        w = torch.empty((c_in, self.n_classes), dtype=dtype, device=device)
        self.W = nn.Parameter(he_normal(w, generator=gen, layout="linear"))
        self.b = nn.Parameter(torch.zeros(self.n_classes, dtype=dtype, device=device))

    @property
    def num_classes(self) -> int:
        return self.n_classes

    @property
    def num_layers(self) -> int:
        """Layers with weights on the longest path: stem + 2 per block + readout (shortcuts not counted)."""
        return 2 + 2 * self.blocks_per_stage * len(self.widths)

    def extra_repr(self) -> str:
        return (f"in_channels={self.in_channels}, image_size={self.image_size}, n_classes={self.n_classes}, "
                f"widths={self.widths}, blocks_per_stage={self.blocks_per_stage}, norm={self.norm!r}, "
                f"reg={self.reg}")

    def _as_images(self, x: Any) -> torch.Tensor:
        return self._images(x, (self.in_channels, *self.image_size))

    def features(self, x: Any, update: bool = False) -> torch.Tensor:
        """The maps after the last stage, (N, widths[-1], H', W')."""
        h = relu(self.stem(self._as_images(x), update))
        for stage in self.stages:
            for block in stage:
                h = block(h, update)
        return h

    def _scores(self, x: Any, update: bool) -> torch.Tensor:
        return linear(self.features(x, update).mean(dim=(2, 3)), self.W, self.b)  # global average pooling

    def forward(self, x: Any) -> torch.Tensor:
        """Class scores (N, C); never updates the running statistics."""
        return self._scores(x, update=False)

    def scores(self, x: Any) -> torch.Tensor:
        """Class scores (N, C); same as ``self(x)``."""
        return self.forward(x)

    def loss(self, x: Any, y: Any) -> torch.Tensor:
        """Mean cross-entropy plus ``0.5 * reg * sum ||W||^2`` over every weight, a scalar.

        Training mode: also updates batch norm's running statistics.
        """
        data_loss = cross_entropy(self._scores(x, update=True), self._as_labels(y))
        if self.reg == 0:
            return data_loss
        weights = [p for name, p in self.named_parameters() if name.split(".")[-1] == "W"]
        return data_loss + 0.5 * self.reg * sum((w * w).sum() for w in weights)
