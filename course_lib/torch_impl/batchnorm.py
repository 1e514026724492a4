r"""Twin of :mod:`course_lib.scratch.batchnorm`: batch normalization from torch ops.

Written with ``mean`` and ``var`` (not ``F.batch_norm``) so that the parity tests compare two
independent implementations with the built-in; autograd differentiates through the batch
statistics. Same conventions as the scratch side: normalize with the BIASED variance, keep the
UNBIASED one in the running estimate, ``momentum`` weights the new batch.
"""

from __future__ import annotations

import torch

__all__ = [
    "batch_norm", "spatial_batch_norm", "update_running", "inference", "fold_into_linear", "fold_into_conv",
    "layer_norm", "group_norm",
]


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
    if x.ndim != 2:
        raise ValueError(f"batch_norm: x must have shape (N, D), got {tuple(x.shape)}")
    return _normalize(x, gamma, beta, eps, (0,), "batch_norm")


def spatial_batch_norm(x: torch.Tensor, gamma: torch.Tensor, beta: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    r"""Twin of `course_lib.scratch.batchnorm.SpatialBatchNorm`.

    .. math::

        \mathrm{out}_{nchw} = \gamma_c \frac{x_{nchw} - \mu_c}{\sqrt{\sigma_c^2 + \epsilon}} + \beta_c

    Shapes: ``x`` (N, C, H, W), ``gamma`` and ``beta`` (C,) -> (N, C, H, W); statistics over (N, H, W).
    Built-in: ``F.batch_norm`` on the 4-D input, ``training=True``.
    """
    if x.ndim != 4:
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
    if n < 2:
        raise ValueError(f"update_running: n must be >= 2, got {n}")
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
    if w.ndim != 4:
        raise ValueError(f"fold_into_conv: w must have shape (F, C, kH, kW), got {tuple(w.shape)}")
    scale = gamma / torch.sqrt(running_var + eps)
    return w * scale.reshape(-1, 1, 1, 1), (b - running_mean) * scale + beta


def layer_norm(x: torch.Tensor, gamma: torch.Tensor, beta: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    r"""Twin of `course_lib.scratch.batchnorm.LayerNorm`.

    .. math::

        \mathrm{out} = \gamma \odot \frac{x - \mu}{\sqrt{\sigma^2 + \epsilon}} + \beta,
        \quad \mu, \sigma^2 \text{ over the last axis}

    Shapes: ``x`` (..., D), ``gamma`` and ``beta`` (D,) -> like ``x``.
    Built-in: ``F.layer_norm(x, (D,), gamma, beta, eps=eps)``.
    """
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
    n, c = x.shape[:2]
    if c % num_groups:
        raise ValueError(f"group_norm: num_groups must divide the {c} channels, got {num_groups}")
    rows = x.reshape(n, num_groups, -1)  # one row per (example, group)
    mean = rows.mean(dim=-1, keepdim=True)
    var = rows.var(dim=-1, correction=0, keepdim=True)
    xhat = ((rows - mean) / torch.sqrt(var + eps)).reshape(x.shape)
    view = (1, c) + (1,) * (x.ndim - 2)
    return gamma.reshape(view) * xhat + beta.reshape(view)
