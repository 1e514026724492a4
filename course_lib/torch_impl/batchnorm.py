r"""Twin of :mod:`course_lib.scratch.batchnorm`: batch normalization from torch ops.

Written with ``mean`` and ``var`` (not ``F.batch_norm``) so that the parity tests compare two
independent implementations with the built-in; autograd differentiates through the batch
statistics. Same conventions as the scratch side: normalize with the BIASED variance, keep the
UNBIASED one in the running estimate, ``momentum`` weights the new batch.
"""

from __future__ import annotations

import torch

from course_lib import checks
from course_lib.torch_impl._checks import same_shape, tensor

__all__ = [
    "batch_norm", "spatial_batch_norm", "update_running", "inference", "fold_into_linear", "fold_into_conv",
    "layer_norm", "group_norm",
]


def _check_norm(x: torch.Tensor, gamma: torch.Tensor, beta: torch.Tensor, eps: float, who: str) -> torch.Tensor:
    """``x`` itself, after checking that x, gamma and beta are real tensors and eps a number >= 0."""
    for name, value in (("x", x), ("gamma", gamma), ("beta", beta)):
        tensor(value, name, who)
    checks.real(eps, "eps", who, minimum=0)
    return x


def _check_layer_norm(x: torch.Tensor, gamma: torch.Tensor, beta: torch.Tensor, eps: float) -> None:
    """x (..., D) with D >= 1, gamma and beta (D,), eps >= 0 (``ValueError``/``TypeError`` naming them)."""
    who = "layer_norm"
    if _check_norm(x, gamma, beta, eps, who).ndim < 1 or x.shape[-1] < 1:
        raise ValueError(f"{who}: x must have shape (..., D) with D >= 1, got {tuple(x.shape)}")
    for name, value in (("gamma", gamma), ("beta", beta)):
        same_shape(value, (x.shape[-1],), name, who, ", one entry per feature")


def _per_channel(who: str, c: int, **named: torch.Tensor) -> None:
    """Each named tensor checked to be a real tensor of shape (c,), one entry per channel."""
    for name, value in named.items():
        same_shape(tensor(value, name, who), (c,), name, who, ", one entry per channel")


def _normalize(x: torch.Tensor, gamma: torch.Tensor, beta: torch.Tensor, eps: float, dims: tuple[int, ...],
               who: str) -> torch.Tensor:
    """Training-mode batch norm with the statistics taken over ``dims``; gamma/beta along axis 1."""
    if gamma.shape != (x.shape[1],) or beta.shape != (x.shape[1],):
        raise ValueError(f"{who}: gamma and beta must have shape ({x.shape[1]},), got "
                         f"{tuple(gamma.shape)} and {tuple(beta.shape)}")
    if x.numel() // x.shape[1] < 2:
        raise ValueError(f"{who}: Expected more than 1 value per channel when training, got x of shape "
                         f"{tuple(x.shape)}")
    mean = x.mean(dim=dims, keepdim=True)
    var = x.var(dim=dims, correction=0, keepdim=True)  # biased: divide by the count
    view = (1, -1) + (1,) * (x.ndim - 2)
    return gamma.reshape(view) * (x - mean) / torch.sqrt(var + eps) + beta.reshape(view)


def batch_norm(x: torch.Tensor, gamma: torch.Tensor, beta: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    r"""Twin of `course_lib.scratch.batchnorm.BatchNorm`.

    .. math::

        \mathrm{out} = \gamma \frac{x - \mu_B}{\sqrt{\sigma_B^2 + \epsilon}} + \beta

    Shapes: ``x`` (N, D), ``gamma`` and ``beta`` (D,) -> (N, D); training mode, biased variance.
    Built-in: ``F.batch_norm(x, None, None, gamma, beta, training=True, eps=eps)``.
    """
    if _check_norm(x, gamma, beta, eps, "batch_norm").ndim != 2:
        raise ValueError(f"batch_norm: x must have shape (N, D), got {tuple(x.shape)}")
    return _normalize(x, gamma, beta, eps, (0,), "batch_norm")


def spatial_batch_norm(x: torch.Tensor, gamma: torch.Tensor, beta: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    r"""Twin of `course_lib.scratch.batchnorm.SpatialBatchNorm`.

    .. math::

        \mathrm{out}_{nchw} = \gamma_c \frac{x_{nchw} - \mu_c}{\sqrt{\sigma_c^2 + \epsilon}} + \beta_c

    Shapes: ``x`` (N, C, H, W), ``gamma`` and ``beta`` (C,) -> (N, C, H, W); statistics over (N, H, W).
    Built-in: ``F.batch_norm`` on the 4-D input, ``training=True``.
    """
    if _check_norm(x, gamma, beta, eps, "spatial_batch_norm").ndim != 4:
        raise ValueError(f"spatial_batch_norm: x must have shape (N, C, H, W), got {tuple(x.shape)}")
    return _normalize(x, gamma, beta, eps, (0, 2, 3), "spatial_batch_norm")


def update_running(running_mean: torch.Tensor, running_var: torch.Tensor, batch_mean: torch.Tensor,
                   batch_var_biased: torch.Tensor, n: int, momentum: float = 0.1) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Twin of `course_lib.scratch.batchnorm.update_running`.

    .. math::

        \hat\mu \leftarrow (1 - m)\hat\mu + m \mu_B, \qquad
        \hat\sigma^2 \leftarrow (1 - m)\hat\sigma^2 + m \tfrac{n}{n-1} \sigma_B^2

    Shapes: all (C,); returns new tensors. Built-in: the buffers of ``nn.BatchNorm1d/2d`` in ``train()`` mode.
    """
    who = "update_running"
    n = checks.integer(n, "n", who, minimum=2)
    momentum = checks.real(momentum, "momentum", who, minimum=0, maximum=1)
    if tensor(batch_mean, "batch_mean", who).ndim != 1:
        raise ValueError(f"{who}: batch_mean must have shape (C,), got {tuple(batch_mean.shape)}")
    _per_channel(who, batch_mean.shape[0], running_mean=running_mean, running_var=running_var,
                 batch_var_biased=batch_var_biased)
    with torch.no_grad():
        new_mean = (1.0 - momentum) * running_mean + momentum * batch_mean
        new_var = (1.0 - momentum) * running_var + momentum * batch_var_biased * (n / (n - 1))
    return new_mean, new_var


def inference(x: torch.Tensor, running_mean: torch.Tensor, running_var: torch.Tensor, gamma: torch.Tensor,
              beta: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    r"""Twin of `course_lib.scratch.batchnorm.inference`.

    .. math::

        \mathrm{out} = \gamma \frac{x - \hat\mu}{\sqrt{\hat\sigma^2 + \epsilon}} + \beta

    Shapes: ``x`` (N, C) or (N, C, H, W), the others (C,) along axis 1.
    Built-in: ``F.batch_norm(x, running_mean, running_var, gamma, beta, training=False, eps=eps)``.
    """
    if tensor(x, "x", "inference").ndim not in (2, 4):
        raise ValueError(f"inference: x must have shape (N, C) or (N, C, H, W), got {tuple(x.shape)}")
    _per_channel("inference", x.shape[1], running_mean=running_mean, running_var=running_var, gamma=gamma, beta=beta)
    eps = checks.real(eps, "eps", "inference", minimum=0)
    view = (1, -1) + (1,) * (x.ndim - 2)
    mean, var, g, b = (t.reshape(view) for t in (running_mean, running_var, gamma, beta))
    return g * (x - mean) / torch.sqrt(var + eps) + b


def fold_into_linear(w: torch.Tensor, b: torch.Tensor, running_mean: torch.Tensor, running_var: torch.Tensor,
                     gamma: torch.Tensor, beta: torch.Tensor, eps: float = 1e-5) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Twin of `course_lib.scratch.batchnorm.fold_into_linear`.

    .. math::

        s = \gamma / \sqrt{\hat\sigma^2 + \epsilon}, \quad W' = W \operatorname{diag}(s), \quad
        b' = (b - \hat\mu) s + \beta

    Shapes: ``w`` (D_in, D_out) (our layout), the others (D_out,).
    Built-in: ``torch.nn.utils.fusion.fuse_linear_bn_weights`` (on torch's (D_out, D_in) weight).
    """
    if tensor(w, "w", "fold_into_linear").ndim != 2:
        raise ValueError(f"fold_into_linear: w must have shape (D_in, D_out), got {tuple(w.shape)}")
    _per_channel("fold_into_linear", w.shape[1], b=b, running_mean=running_mean, running_var=running_var,
                 gamma=gamma, beta=beta)
    eps = checks.real(eps, "eps", "fold_into_linear", minimum=0)
    scale = gamma / torch.sqrt(running_var + eps)
    return w * scale, (b - running_mean) * scale + beta


def fold_into_conv(w: torch.Tensor, b: torch.Tensor, running_mean: torch.Tensor, running_var: torch.Tensor,
                   gamma: torch.Tensor, beta: torch.Tensor, eps: float = 1e-5) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Twin of `course_lib.scratch.batchnorm.fold_into_conv`.

    .. math::

        s_f = \gamma_f / \sqrt{\hat\sigma_f^2 + \epsilon}, \quad w'_{f,\cdot} = s_f\, w_{f,\cdot}, \quad
        b'_f = (b_f - \hat\mu_f) s_f + \beta_f

    Shapes: ``w`` (F, C, kH, kW), the others (F,).
    Built-in: ``torch.nn.utils.fusion.fuse_conv_bn_weights(w, b, running_mean, running_var, eps, gamma, beta)``.
    """
    if tensor(w, "w", "fold_into_conv").ndim != 4:
        raise ValueError(f"fold_into_conv: w must have shape (F, C, kH, kW), got {tuple(w.shape)}")
    _per_channel("fold_into_conv", w.shape[0], b=b, running_mean=running_mean, running_var=running_var,
                 gamma=gamma, beta=beta)
    eps = checks.real(eps, "eps", "fold_into_conv", minimum=0)
    scale = gamma / torch.sqrt(running_var + eps)
    return w * scale.reshape(-1, 1, 1, 1), (b - running_mean) * scale + beta


def layer_norm(x: torch.Tensor, gamma: torch.Tensor, beta: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    r"""Twin of `course_lib.scratch.batchnorm.LayerNorm`.

    .. math::

        \mathrm{out} = \gamma \odot \frac{x - \mu}{\sqrt{\sigma^2 + \epsilon}} + \beta,
        \quad \mu, \sigma^2 \text{ over the last axis}

    Shapes: ``x`` (..., D), ``gamma`` and ``beta`` (D,) -> like ``x``; ``F.layer_norm(x, (D,), gamma, beta, eps)``.
    """
    _check_layer_norm(x, gamma, beta, eps)
    mean = x.mean(dim=-1, keepdim=True)
    var = x.var(dim=-1, correction=0, keepdim=True)
    return gamma * (x - mean) / torch.sqrt(var + eps) + beta


def group_norm(x: torch.Tensor, gamma: torch.Tensor, beta: torch.Tensor, num_groups: int,
               eps: float = 1e-5) -> torch.Tensor:
    r"""Twin of `course_lib.scratch.batchnorm.GroupNorm`.

    .. math::

        \mathrm{out}_{ncs} = \gamma_c \frac{x_{ncs} - \mu_{ng}}{\sqrt{\sigma_{ng}^2 + \epsilon}} + \beta_c

    Shapes: ``x`` (N, C, ...), ``gamma`` and ``beta`` (C,), G = ``num_groups`` dividing C -> like ``x``.
    Built-in: ``F.group_norm(x, num_groups, gamma, beta, eps=eps)``.
    """
    who = "group_norm"
    if tensor(x, "x", who).ndim < 2:
        raise ValueError(f"{who}: x must have shape (N, C, ...), got {tuple(x.shape)}")
    for name, value in (("gamma", gamma), ("beta", beta)):
        same_shape(tensor(value, name, who), (x.shape[1],), name, who, ", one entry per channel")
    num_groups = checks.integer(num_groups, "num_groups", who, minimum=1)
    eps = checks.real(eps, "eps", who, minimum=0)
    n, c = x.shape[:2]
    if c % num_groups:
        raise ValueError(f"group_norm: num_groups must divide the {c} channels, got {num_groups}")
    rows = x.reshape(n, num_groups, -1)  # one row per (example, group)
    mean = rows.mean(dim=-1, keepdim=True)
    var = rows.var(dim=-1, correction=0, keepdim=True)
    xhat = ((rows - mean) / torch.sqrt(var + eps)).reshape(x.shape)
    view = (1, c) + (1,) * (x.ndim - 2)
    return gamma.reshape(view) * xhat + beta.reshape(view)
