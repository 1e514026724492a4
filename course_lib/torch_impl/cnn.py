r"""Twin of :mod:`course_lib.scratch.cnn`: the same small CNN as an ``nn.Module``; autograd does backward.

Built from the twin ops (:func:`~course_lib.torch_impl.conv.conv2d`,
:func:`~course_lib.torch_impl.conv.max_pool2d`, :func:`~course_lib.torch_impl.linear.linear`,
:func:`~course_lib.torch_impl.batchnorm.spatial_batch_norm` and, in eval mode,
:func:`~course_lib.torch_impl.batchnorm.inference`), with the scratch model's parameter names and
layouts, so its ``params`` load directly; the running statistics are buffers with the scratch
model's ``running`` names. Same options: ``convs_per_block`` (the deeper CNN), ``norm="batch"``
before or after the ReLU, ``bias=False``, ``dropout`` (inputs of the Linear layers) and
``block_dropout`` (each block's output maps), with masks from a ``torch.Generator``.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from course_lib.device import torch_generator
from course_lib.scratch.cnn import PADDING, POOL, ConvLayer, check_cnn_args
from course_lib.scratch.model import NORM_EPS, NORM_MOMENTUM
from course_lib.torch_impl._classifier import ClassifierMixin
from course_lib.torch_impl.activations import relu
from course_lib.torch_impl.batchnorm import inference, spatial_batch_norm, update_running
from course_lib.torch_impl.conv import conv2d, max_pool2d
from course_lib.torch_impl.dropout import dropout as dropout_op
from course_lib.torch_impl.dropout import sample_mask
from course_lib.torch_impl.init import he_normal
from course_lib.torch_impl.linear import linear
from course_lib.torch_impl.losses import cross_entropy

__all__ = ["SimpleCNN"]


class SimpleCNN(ClassifierMixin, nn.Module):
    r"""Twin of `course_lib.scratch.cnn.SimpleCNN`.

    .. math::

        h_i = \mathrm{pool}\big(\mathrm{relu}(W_i * h_{i-1} + b_i)\big),\quad
        s = \mathrm{flat}(h_K)\, W_{K+1} + b_{K+1},\quad
        J = \mathrm{CE}(s, y) + \tfrac{\lambda}{2} \sum_\ell \|W_\ell\|^2

    Same constructor, plus ``device`` and ``dtype``: ``SimpleCNN(in_channels, image_size,
    n_classes, channels=(8, 16), hidden=None, reg=0.0, rng=None, *, convs_per_block=1, norm=None,
    norm_position="before", bias=True, dropout=None, block_dropout=None, device=None,
    dtype=torch.float64)``. Dropout masks: fresh ones in training mode (from the ``rng`` given to
    :meth:`loss`, else :attr:`dropout_generator`), given ones (``masks=``, from
    :meth:`sample_masks`) in either mode, none in eval mode.
    Parameters ``W1, b1, ...`` (and ``gamma_i``, ``beta_i`` with norm): conv weights (C_out, C_in, 3, 3),
    Linear weights (in, out) (NOT ``nn.Linear``'s (out, in)); buffers ``running_mean_i``,
    ``running_var_i`` with norm. So
    ``model.load_state_dict({k: torch.from_numpy(v) for k, v in {**scratch.params, **scratch.running}.items()})``
    works. ``rng`` (None, int or ``torch.Generator``) draws with torch's generator: the same seed
    gives different numbers than the scratch model. ``forward(x)`` / ``scores(x)`` return the scores
    (N, C) for ``x`` (N, C, H, W) or flat (N, C*H*W); ``loss(x, y)`` is the scalar INCLUDING the L2
    term and, in training mode, updates the running statistics (``forward`` alone never does).
    """

    def __init__(self, in_channels: int, image_size: Any, n_classes: int, channels: Any = (8, 16),
                 hidden: int | None = None, reg: float = 0.0, rng: Any = None, *, convs_per_block: int = 1,
                 norm: str | None = None, norm_position: str = "before", bias: bool = True,
                 dropout: float | None = None, block_dropout: float | None = None, device: Any = None,
                 dtype: torch.dtype = torch.float64):
        super().__init__()
        self.spec = check_cnn_args(in_channels, image_size, n_classes, channels, hidden, reg,
                                   convs_per_block, norm, norm_position, bias, dropout, block_dropout)
        self.reg = self.spec.reg
        self.norm, self.norm_position = self.spec.norm, self.spec.norm_position
        gen = torch_generator(rng, "SimpleCNN")
        device = torch.device("cpu") if device is None else torch.device(device)
        for name, shape in self.spec.shapes().items():
            p = torch.zeros(shape, dtype=dtype, device=device)
            if name.startswith("W"):
                he_normal(p, generator=gen, layout="conv" if len(shape) == 4 else "linear")
            elif name.startswith("gamma"):
                p.fill_(1.0)
            setattr(self, name, nn.Parameter(p))
        for name, shape in self.spec.running_shapes().items():  # torch's starting values: mean 0, variance 1
            fill = torch.zeros if "mean" in name else torch.ones
            self.register_buffer(name, fill(shape, dtype=dtype, device=device))
        self.dropout_generator = gen  # continues after the weights: masks never change the initial weights

    @property
    def num_classes(self) -> int:
        return self.spec.n_classes

    @property
    def num_blocks(self) -> int:
        return len(self.spec.channels)

    @property
    def num_conv(self) -> int:
        return len(self.spec.conv_layers)

    @property
    def num_layers(self) -> int:
        return sum(1 for name in self.spec.shapes() if name.startswith("W"))

    def extra_repr(self) -> str:
        return self.spec.describe()

    def _as_images(self, x: Any) -> torch.Tensor:
        return self._images(x, (self.spec.in_channels, *self.spec.image_size))

    def _site_shapes(self, n: int) -> list[tuple[int, ...]]:
        shapes, (h, w) = [], self.spec.image_size
        for c in self.spec.channels:
            h, w = h // POOL, w // POOL
            shapes.append((n, c, h, w))
        widths = [self.spec.channels[-1] * h * w] + ([self.spec.hidden] if self.spec.hidden else [])
        return shapes + [(n, d) for d in widths]

    def sample_masks(self, rng: Any, n: int) -> tuple[torch.Tensor | None, ...]:
        """Fresh keep masks for a batch of ``n``, one per site of ``spec.dropout_sites`` (None where p = 0).

        ``rng``: a ``torch.Generator`` or an int seed; bool masks on the model's device.
        """
        gen, device = torch_generator(rng, "SimpleCNN.sample_masks"), self.W1.device
        return tuple(sample_mask(gen, shape, p, device) if p > 0 else None
                     for shape, (_, p) in zip(self._site_shapes(int(n)), self.spec.dropout_sites))

    def _masks(self, masks: Any, n: int, rng: Any = None) -> tuple | None:
        """The masks of one pass: given ones (checked), fresh ones (training mode), or None."""
        sites = self.spec.dropout_sites
        if rng is not None:
            rng = torch_generator(rng, "SimpleCNN.loss")
            if masks is not None:
                raise ValueError("SimpleCNN.loss: give masks or rng, not both")
        if masks is None:
            if not self.training or not any(p for _, p in sites):
                return None
            return self.sample_masks(self.dropout_generator if rng is None else rng, n)
        if not isinstance(masks, (tuple, list)) or len(masks) != len(sites):
            raise ValueError(f"SimpleCNN: masks must be a tuple of {len(sites)} masks (or None), one per dropout "
                             "site, as sample_masks returns")
        for (site, p), mask in zip(sites, masks):
            if (mask is None) != (p == 0):
                raise ValueError(f"SimpleCNN: the mask of {site} must be {'None' if p == 0 else 'a mask'} "
                                 f"(dropout p = {p} there)")
        return tuple(masks)

    def _drop(self, h: torch.Tensor, masks: tuple | None, site: int) -> torch.Tensor:
        if masks is None or masks[site] is None:
            return h
        return dropout_op(h, masks[site], self.spec.dropout_sites[site][1])

    def _norm(self, a: torch.Tensor, i: int, update: bool) -> torch.Tensor:
        """Layer i's batch norm of ``a`` (N, C, H, W): batch or running statistics."""
        gamma, beta = getattr(self, f"gamma{i}"), getattr(self, f"beta{i}")
        mean, var = (getattr(self, f"running_{s}{i}") for s in ("mean", "var"))
        if not self.training:
            return inference(a, mean, var, gamma, beta, eps=NORM_EPS)
        if update:  # loss() in training mode: the running statistics move
            z = a.detach()
            n = z.numel() // z.shape[1]  # values per channel, N*H*W
            mean, var = update_running(mean, var, z.mean(dim=(0, 2, 3)),
                                       z.var(dim=(0, 2, 3), correction=0), n,
                                       momentum=NORM_MOMENTUM)
            setattr(self, f"running_mean{i}", mean)
            setattr(self, f"running_var{i}", var)
        return spatial_batch_norm(a, gamma, beta, eps=NORM_EPS)

    def _conv_layer(self, h: torch.Tensor, layer: ConvLayer,
                    update: bool) -> torch.Tensor:
        """conv 3x3 -> [BN] -> relu -> [BN] -> [pool 2x2 if the block ends]."""
        i = layer.index
        b = getattr(self, f"b{i}") if self.spec.bias else h.new_zeros(layer.c_out)
        z = conv2d(h, getattr(self, f"W{i}"), b, padding=PADDING)
        if self.norm and self.norm_position == "before":
            z = self._norm(z, i, update)
        h = relu(z)
        if self.norm and self.norm_position == "after":
            h = self._norm(h, i, update)
        return max_pool2d(h, POOL) if layer.pool else h

    def _scores(self, x: Any, update: bool = False, masks: Any = None, rng: Any = None) -> torch.Tensor:
        h = self._as_images(x)
        masks = self._masks(masks, h.shape[0], rng)
        block = 0
        for layer in self.spec.conv_layers:
            h = self._conv_layer(h, layer, update)
            if layer.pool:
                h = self._drop(h, masks, block)
                block += 1
        h = h.flatten(1)
        for i in range(self.num_conv + 1, self.num_layers + 1):
            h = self._drop(h, masks, block + i - self.num_conv - 1)
            h = linear(h, getattr(self, f"W{i}"), getattr(self, f"b{i}"))
            if i < self.num_layers:
                h = relu(h)
        return h

    def forward(self, x: Any, masks: Any = None) -> torch.Tensor:
        """Class scores (N, C); never updates the running statistics; ``masks`` applied in any mode."""
        return self._scores(x, masks=masks)

    def scores(self, x: Any, masks: Any = None) -> torch.Tensor:
        """Class scores (N, C); same as ``self(x, masks)``."""
        return self.forward(x, masks)

    def loss(self, x: Any, y: Any, rng: Any = None, masks: Any = None) -> torch.Tensor:
        """Mean cross-entropy plus ``0.5 * reg * sum ||W||^2`` (conv and Linear weights), a scalar.

        Training mode: also updates batch norm's running statistics and draws dropout masks
        (from ``rng``, else :attr:`dropout_generator`) unless ``masks`` are given.
        """
        data_loss = cross_entropy(self._scores(x, update=True, masks=masks, rng=rng), self._as_labels(y))
        if self.reg == 0:
            return data_loss
        weights = [p for name, p in self.named_parameters() if name.startswith("W")]
        return data_loss + 0.5 * self.reg * sum((w * w).sum() for w in weights)
