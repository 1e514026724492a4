r"""Batch normalization with explicit backward passes, its running statistics and its folding.

:class:`BatchNorm` normalizes each feature of an (N, D) batch with the batch's own statistics
(training mode); :class:`SpatialBatchNorm` does the same for each channel of (N, C, H, W) maps,
where every pixel counts as a sample. Both keep in their cache what :func:`update_running` needs
(``mean``, ``var``, ``n``), so that the running estimates used at test time go in and come out as
values::

    out, cache = BatchNorm.forward(x, gamma, beta)
    running_mean, running_var = update_running(running_mean, running_var, cache.mean, cache.var, cache.n)
    ...
    out = inference(x, running_mean, running_var, gamma, beta)

PyTorch's conventions throughout (``F.batch_norm``, ``nn.BatchNorm1d/2d``): the batch is normalized
with the BIASED variance (divide by n), the running variance keeps the UNBIASED one (divide by
n - 1), and ``momentum`` weights the NEW batch: ``new = (1 - momentum) old + momentum batch``.

Two per-example relatives use no batch statistics at all (the same at training and test time):
:class:`LayerNorm` normalizes each example's features (Ba, Kiros & Hinton, 2016) and
:class:`GroupNorm` each group of channels of each example (Wu & He, 2018).

Reference: Ioffe & Szegedy (2015), "Batch normalization: accelerating deep network training by
reducing internal covariate shift", Algorithms 1 and 2.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from course_lib import checks

__all__ = [
    "BatchNorm", "BatchNormCache", "SpatialBatchNorm",
    "update_running", "inference", "fold_into_linear", "fold_into_conv",
    "LayerNorm", "LayerNormCache", "GroupNorm", "GroupNormCache", "RowNormCache",
]


# ----- argument checks ---------------------------------------------------------------------------
def _check_params(x: np.ndarray, gamma, beta, eps, who: str, ndim: int, layout: str):
    """x as float64 with ``ndim`` axes, gamma and beta as float64 (C,) where C = x.shape[1], eps >= 0."""
    x = checks.float_array(x, "x", who)
    if x.ndim != ndim:
        raise ValueError(f"{who}: x must have shape {layout}, got {x.shape}")
    gamma = _per_channel("gamma", gamma, x.shape[1], who)
    beta = _per_channel("beta", beta, x.shape[1], who)
    eps = checks.real(eps, "eps", who, minimum=0)
    return x, gamma, beta, eps


def _check_training_batch(n: int, shape: tuple[int, ...], who: str) -> None:
    """Batch statistics need at least two values per channel (torch raises the same)."""
    if n < 2:
        raise ValueError(f"{who}: Expected more than 1 value per channel when training, got x of shape {shape}")


def _check_dout(dout, shape: tuple[int, ...], who: str) -> np.ndarray:
    dout = checks.float_array(dout, "dout", f"{who}.backward")
    if dout.shape != shape:
        raise ValueError(f"{who}.backward: dout must have the input's shape {shape}, got {dout.shape}")
    return dout


def _per_channel(name: str, value, c: int, who: str) -> np.ndarray:
    value = checks.float_array(value, name, who)
    if value.shape != (c,):
        raise ValueError(f"{who}: {name} must have shape ({c},), one entry per channel, got {value.shape}")
    if name == "running_var" and np.any(value < 0):  # NaN passes: a diverged run's statistics propagate
        raise ValueError(f"{who}: running_var must be >= 0 (a variance), got a minimum of {value.min()!r}")
    return value


# ----- training mode -----------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class BatchNormCache:
    xhat: np.ndarray  # (N, D) or (N, C, H, W): the normalized input (x - mean) / sqrt(var + eps)
    gamma: np.ndarray  # (C,) scale, one per feature or channel
    inv_std: np.ndarray  # (C,) 1 / sqrt(var + eps)
    mean: np.ndarray  # (C,) batch mean (for update_running)
    var: np.ndarray  # (C,) BIASED batch variance, divided by n (for update_running)

    @property
    def n(self) -> int:
        """Number of values per channel the statistics came from: N, or N*H*W for maps."""
        return self.xhat.size // self.xhat.shape[1]


def _channels(a: np.ndarray) -> np.ndarray:
    """(N, C) or (N, C, H, W) -> a VIEW (N, C, K), K = 1 or H*W: statistics are over axes 0 and 2."""
    return a.reshape(a.shape[0], a.shape[1], -1)


def _normalize(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, eps: float) -> tuple[np.ndarray, BatchNormCache]:
    """The forward pass of both classes, on the (N, C, K) view; ``[:, None]`` puts a (C,) vector along C."""
    v = _channels(x)
    n = v.shape[0] * v.shape[2]  # values per channel
    mean = np.einsum("nck->c", v) / n
    xhat = v - mean[:, None]  # x - mu; becomes xhat below, in place
    var = np.einsum("nck,nck->c", xhat, xhat) / n  # biased: divide by n
    inv_std = 1.0 / np.sqrt(var + eps)
    xhat *= inv_std[:, None]
    out = xhat * gamma[:, None]
    out += beta[:, None]
    cache = BatchNormCache(xhat=xhat.reshape(x.shape), gamma=gamma, inv_std=inv_std, mean=mean, var=var)
    return out.reshape(x.shape), cache


def _backprop(dout: np.ndarray, cache: BatchNormCache) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The backward pass of both classes (the compact formula), on the (N, C, K) view."""
    dy, xhat, n = _channels(dout), _channels(cache.xhat), cache.n
    dbeta = np.einsum("nck->c", dy)  # sum of delta
    dgamma = np.einsum("nck,nck->c", dy, xhat)  # sum of delta * xhat
    dx = dy * n
    dx -= dbeta[:, None]
    dx -= xhat * dgamma[:, None]
    dx *= (cache.gamma * cache.inv_std / n)[:, None]
    return dx.reshape(cache.xhat.shape), dgamma, dbeta


class BatchNorm:
    r"""Batch normalization of (N, D) features, training mode (statistics of the batch itself).

    .. math::

        \mu = \tfrac{1}{N} \textstyle\sum_n x_n, \quad
        \sigma^2 = \tfrac{1}{N} \textstyle\sum_n (x_n - \mu)^2, \quad
        \hat x = \frac{x - \mu}{\sqrt{\sigma^2 + \epsilon}}, \quad
        \mathrm{out} = \gamma \hat x + \beta;
        \qquad
        \frac{\partial L}{\partial x} = \frac{\gamma}{N \sqrt{\sigma^2 + \epsilon}}
        \Big(N \delta - \textstyle\sum_n \delta_n - \hat x \sum_n \delta_n \hat x_n\Big)

    with :math:`\delta` = ``dout``, :math:`\partial L / \partial \gamma = \sum_n \delta_n \hat x_n`
    and :math:`\partial L / \partial \beta = \sum_n \delta_n` (all per feature). Every output depends
    on the whole batch through :math:`\mu` and :math:`\sigma`: the two sums in the backward pass are
    what flows back through them.

    Shapes: ``x`` (N, D), ``gamma`` (D,), ``beta`` (D,) -> ``out`` (N, D);
    ``backward(dout, cache) -> (dx, dgamma, dbeta)``. N must be at least 2.
    The cache holds ``mean``, ``var`` (biased) and ``n`` for :func:`update_running`.

    PyTorch convention: ``F.batch_norm(x, None, None, gamma, beta, training=True, eps=1e-5)``
    (``nn.BatchNorm1d`` in ``train()`` mode); normalizes with the BIASED variance, and raises
    "Expected more than 1 value per channel when training" for a batch of one.

    Reference: Ioffe & Szegedy (2015), Algorithm 1.
    """

    @staticmethod
    def forward(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray,
                eps: float = 1e-5) -> tuple[np.ndarray, BatchNormCache]:
        x, gamma, beta, eps = _check_params(x, gamma, beta, eps, "BatchNorm", 2, "(N, D)")
        _check_training_batch(x.shape[0], x.shape, "BatchNorm")
        return _normalize(x, gamma, beta, eps)

    @staticmethod
    def backward(dout: np.ndarray, cache: BatchNormCache) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return _backprop(_check_dout(dout, cache.xhat.shape, "BatchNorm"), cache)


class SpatialBatchNorm:
    r"""Batch normalization of (N, C, H, W) maps: one mean and variance per channel, over (N, H, W).

    .. math::

        \mu_c = \tfrac{1}{NHW} \textstyle\sum_{n,h,w} x_{nchw}, \quad
        \sigma_c^2 = \tfrac{1}{NHW} \textstyle\sum_{n,h,w} (x_{nchw} - \mu_c)^2, \quad
        \mathrm{out}_{nchw} = \gamma_c \frac{x_{nchw} - \mu_c}{\sqrt{\sigma_c^2 + \epsilon}} + \beta_c

    A convolution applies the same filter at every position, so every pixel of a channel is a
    sample of the same feature: this is :class:`BatchNorm` on the (N*H*W, C) matrix with one row per
    pixel, and the backward pass is the same formula with N*H*W in place of N. Both classes run the
    same code, on a (N, C, K) view of the input (K = 1 for features, H*W for maps), which spares the
    two copies that transposing to (N*H*W, C) and back would cost.

    Shapes: ``x`` (N, C, H, W), ``gamma`` (C,), ``beta`` (C,) -> ``out`` (N, C, H, W);
    ``backward(dout, cache) -> (dx, dgamma, dbeta)``. N*H*W must be at least 2 (N = 1 is fine).
    The cache holds ``mean``, ``var`` (biased) and ``n`` = N*H*W for :func:`update_running`.

    PyTorch convention: ``F.batch_norm`` on a 4-D input, ``training=True`` (``nn.BatchNorm2d``).

    Reference: Ioffe & Szegedy (2015), Section 3.2 (batch-normalized convolutional networks).
    """

    @staticmethod
    def forward(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray,
                eps: float = 1e-5) -> tuple[np.ndarray, BatchNormCache]:
        x, gamma, beta, eps = _check_params(x, gamma, beta, eps, "SpatialBatchNorm", 4, "(N, C, H, W)")
        _check_training_batch(x.size // max(x.shape[1], 1), x.shape, "SpatialBatchNorm")
        return _normalize(x, gamma, beta, eps)

    @staticmethod
    def backward(dout: np.ndarray, cache: BatchNormCache) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return _backprop(_check_dout(dout, cache.xhat.shape, "SpatialBatchNorm"), cache)


# ----- running statistics and test time ----------------------------------------------------------
def update_running(running_mean: np.ndarray, running_var: np.ndarray, batch_mean: np.ndarray,
                   batch_var_biased: np.ndarray, n: int, momentum: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
    r"""One step of the running estimates kept for test time; returns NEW arrays (the inputs are kept).

    .. math::

        \hat\mu \leftarrow (1 - m)\, \hat\mu + m\, \mu_B, \qquad
        \hat\sigma^2 \leftarrow (1 - m)\, \hat\sigma^2 + m\, \frac{n}{n - 1}\, \sigma_B^2

    with :math:`m` = ``momentum`` and :math:`\sigma_B^2` = ``batch_var_biased``, the variance the
    forward pass normalized with (divided by n); the running variance gets the UNBIASED one.
    Pass ``cache.mean, cache.var, cache.n`` from :class:`BatchNorm` or :class:`SpatialBatchNorm`.

    Shapes: all four arrays (C,); ``n`` (int >= 2) the number of values per channel in the batch
    (N, or N*H*W for maps). Start from ``running_mean = 0``, ``running_var = 1`` as torch does.

    PyTorch convention: ``nn.BatchNorm1d/2d(momentum=0.1)`` in ``train()`` mode; ``momentum`` weights
    the NEW batch (the opposite of an optimizer's momentum, and of the "decay" of some other
    libraries: torch's 0.1 is their 0.9). Keeping the biased variance instead is a common slip that
    only shows for small n.

    Reference: Ioffe & Szegedy (2015), Algorithm 2 (which averages the unbiased
    :math:`\frac{m}{m-1} \sigma_B^2` over batches; torch's exponential average is the usual practice).
    """
    who = "update_running"
    n = checks.integer(n, "n", who, minimum=2)
    momentum = checks.real(momentum, "momentum", who, minimum=0, maximum=1)
    batch_mean = checks.float_array(batch_mean, "batch_mean", who)
    c = batch_mean.shape[0] if batch_mean.ndim == 1 else -1
    if c < 0:
        raise ValueError(f"{who}: batch_mean must have shape (C,), got {batch_mean.shape}")
    running_mean = _per_channel("running_mean", running_mean, c, who)
    running_var = _per_channel("running_var", running_var, c, who)
    batch_var_biased = _per_channel("batch_var_biased", batch_var_biased, c, who)
    unbiased = batch_var_biased * (n / (n - 1))
    new_mean = (1.0 - momentum) * running_mean + momentum * batch_mean
    new_var = (1.0 - momentum) * running_var + momentum * unbiased
    return new_mean, new_var


def inference(x: np.ndarray, running_mean: np.ndarray, running_var: np.ndarray, gamma: np.ndarray,
              beta: np.ndarray, eps: float = 1e-5) -> np.ndarray:
    r"""Batch normalization at test time: a fixed affine map per channel, from the running estimates.

    .. math::

        \mathrm{out} = \gamma \frac{x - \hat\mu}{\sqrt{\hat\sigma^2 + \epsilon}} + \beta

    Each example is treated alone (no batch statistics), so the output does not depend on the batch.

    Shapes: ``x`` (N, C) or (N, C, H, W); the four others (C,), along axis 1 of ``x`` -> same as ``x``.

    PyTorch convention: ``nn.BatchNorm1d/2d`` in ``eval()`` mode, i.e.
    ``F.batch_norm(x, running_mean, running_var, gamma, beta, training=False, eps=eps)``.

    Reference: Ioffe & Szegedy (2015), Algorithm 2, step 11.
    """
    x = checks.float_array(x, "x", "inference")
    if x.ndim not in (2, 4):
        raise ValueError(f"inference: x must have shape (N, C) or (N, C, H, W), got {x.shape}")
    c = x.shape[1]
    params = [_per_channel(name, p, c, "inference") for name, p in (
        ("running_mean", running_mean), ("running_var", running_var), ("gamma", gamma), ("beta", beta))]
    eps = checks.real(eps, "eps", "inference", minimum=0)
    mean, var, gamma, beta = (p.reshape((c,) + (1,) * (x.ndim - 2)) for p in params)  # broadcast along axis 1
    return gamma * (x - mean) / np.sqrt(var + eps) + beta


def _fold(channels: int, b, running_mean, running_var, gamma, beta, eps: float, who: str):
    r"""The per-channel scale :math:`s = \gamma / \sqrt{\hat\sigma^2 + \epsilon}` (C,) and the folded bias
    :math:`(b - \hat\mu) s + \beta` (C,), after checking the five per-channel arrays and ``eps``."""
    b, mean, var, gamma, beta = (_per_channel(name, p, channels, who) for name, p in (
        ("b", b), ("running_mean", running_mean), ("running_var", running_var), ("gamma", gamma), ("beta", beta)))
    eps = checks.real(eps, "eps", who, minimum=0)
    scale = gamma / np.sqrt(var + eps)
    return scale, (b - mean) * scale + beta


def fold_into_linear(w: np.ndarray, b: np.ndarray, running_mean: np.ndarray, running_var: np.ndarray,
                     gamma: np.ndarray, beta: np.ndarray, eps: float = 1e-5) -> tuple[np.ndarray, np.ndarray]:
    r"""Fold a test-time batch norm into the Linear layer before it: one affine map instead of two.

    .. math::

        s = \frac{\gamma}{\sqrt{\hat\sigma^2 + \epsilon}}, \qquad
        W' = W \operatorname{diag}(s), \qquad b' = (b - \hat\mu) \odot s + \beta,

    so that :math:`\mathrm{inference}(x W + b) = x W' + b'` for every ``x``: after training, batch
    norm costs nothing at test time.

    Shapes: ``w`` (D_in, D_out) (our Linear layout, the transpose of torch's weight), ``b`` and the four
    statistics (D_out,) -> ``w'`` (D_in, D_out), ``b'`` (D_out,). New arrays; the inputs are kept.

    PyTorch convention: ``torch.nn.utils.fusion.fuse_linear_bn_weights`` does the same for torch's
    (D_out, D_in) weight.

    Reference: Ioffe & Szegedy (2015), Section 3.1 (at inference "the normalization is simply a linear
    transform applied to each activation"); folding it is standard practice for deployment.
    """
    who = "fold_into_linear"
    w = checks.float_array(w, "w", who)
    if w.ndim != 2:
        raise ValueError(f"{who}: w must have shape (D_in, D_out), got {w.shape}")
    scale, b_folded = _fold(w.shape[1], b, running_mean, running_var, gamma, beta, eps, who)
    return w * scale, b_folded


def fold_into_conv(w: np.ndarray, b: np.ndarray, running_mean: np.ndarray, running_var: np.ndarray,
                   gamma: np.ndarray, beta: np.ndarray, eps: float = 1e-5) -> tuple[np.ndarray, np.ndarray]:
    r"""Fold a test-time spatial batch norm into the convolution before it: each filter gets rescaled.

    .. math::

        s_f = \frac{\gamma_f}{\sqrt{\hat\sigma_f^2 + \epsilon}}, \qquad
        w'_{f,c,i,j} = s_f\, w_{f,c,i,j}, \qquad b'_f = (b_f - \hat\mu_f)\, s_f + \beta_f,

    so that :math:`\mathrm{inference}(\mathrm{conv}(x; w, b)) = \mathrm{conv}(x; w', b')` for every
    ``x``: output channel f of the convolution is channel f of the batch norm, and the batch norm
    multiplies the whole channel by :math:`s_f`, hence every weight of filter f.
    The same as :func:`fold_into_linear`, with one filter per output channel in place of one column.

    Shapes: ``w`` (F, C, kH, kW) (torch's layout, as :class:`~course_lib.scratch.conv.Conv2d`), ``b`` and
    the four statistics (F,) -> ``w'`` (F, C, kH, kW), ``b'`` (F,). New arrays; the inputs are kept.

    PyTorch convention: ``torch.nn.utils.fusion.fuse_conv_bn_weights(w, b, running_mean, running_var, eps,
    gamma, beta)`` (``torch.ao.quantization.fuse_modules`` uses it to fuse Conv2d + BatchNorm2d).

    Reference: Ioffe & Szegedy (2015), Sections 3.1-3.2; folding it is standard practice for deployment.
    """
    who = "fold_into_conv"
    w = checks.float_array(w, "w", who)
    if w.ndim != 4:
        raise ValueError(f"{who}: w must have shape (F, C, kH, kW), got {w.shape}")
    scale, b_folded = _fold(w.shape[0], b, running_mean, running_var, gamma, beta, eps, who)
    return w * scale[:, None, None, None], b_folded


# ----- per-example relatives: layer norm and group norm -------------------------------------------
@dataclass(frozen=True, eq=False)
class RowNormCache:
    xhat: np.ndarray  # (R, M) each row normalized: (row - its mean) / sqrt(its variance + eps)
    inv_std: np.ndarray  # (R, 1) 1 / sqrt(var + eps) of each row


def _normalize_rows(v: np.ndarray, eps: float) -> RowNormCache:
    """Every row of the (R, M) matrix ``v`` to mean 0 and (biased) variance 1: the core of both ops below."""
    m = v.shape[1]
    xhat = v - np.einsum("rm->r", v)[:, None] / m  # v - its row means; becomes xhat below, in place
    var = np.einsum("rm,rm->r", xhat, xhat)[:, None] / m  # biased: divide by M
    inv_std = 1.0 / np.sqrt(var + eps)
    xhat *= inv_std
    return RowNormCache(xhat=xhat, inv_std=inv_std)


def _backprop_rows(dxhat: np.ndarray, rows: RowNormCache) -> np.ndarray:
    """dL/dv from dL/dxhat, row by row: BatchNorm's compact formula with rows in place of columns,
    dv = inv_std * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat)), the means over each row."""
    m = dxhat.shape[1]
    mean_d = np.einsum("rm->r", dxhat)[:, None] / m
    mean_dx = np.einsum("rm,rm->r", dxhat, rows.xhat)[:, None] / m
    dv = rows.xhat * mean_dx
    np.subtract(dxhat, dv, out=dv)
    dv -= mean_d
    dv *= rows.inv_std
    return dv


@dataclass(frozen=True, eq=False)
class LayerNormCache:
    rows: RowNormCache  # xhat (R, D) and inv_std (R, 1), R = the number of vectors normalized
    gamma: np.ndarray  # (D,) scale
    shape: tuple[int, ...]  # (..., D) shape of the input


class LayerNorm:
    r"""Layer normalization: every example's D features normalized by their own mean and variance.

    .. math::

        \mu = \tfrac{1}{D} \textstyle\sum_d x_d, \quad
        \sigma^2 = \tfrac{1}{D} \textstyle\sum_d (x_d - \mu)^2, \quad
        \mathrm{out} = \gamma \odot \frac{x - \mu}{\sqrt{\sigma^2 + \epsilon}} + \beta;
        \qquad
        \frac{\partial L}{\partial x} = \frac{1}{D \sqrt{\sigma^2 + \epsilon}}
        \Big(D g - \textstyle\sum_d g_d - \hat x \sum_d g_d \hat x_d\Big), \ g = \gamma \odot \delta

    The statistics are over the LAST axis, one vector at a time: no batch statistics, so training
    and test time are the same computation, and a batch of one is fine (no running estimates).

    Shapes: ``x`` (..., D), ``gamma`` and ``beta`` (D,) -> ``out`` (..., D);
    ``backward(dout, cache) -> (dx, dgamma, dbeta)``.

    PyTorch convention: ``F.layer_norm(x, (D,), gamma, beta, eps=1e-5)`` / ``nn.LayerNorm(D)``, biased
    variance.

    Reference: Ba, Kiros & Hinton (2016), "Layer normalization".
    """

    @staticmethod
    def forward(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray,
                eps: float = 1e-5) -> tuple[np.ndarray, LayerNormCache]:
        x = checks.float_array(x, "x", "LayerNorm")
        if x.ndim < 1 or x.shape[-1] < 1:
            raise ValueError(f"LayerNorm: x must have shape (..., D) with D >= 1, got {x.shape}")
        d = x.shape[-1]
        gamma, beta = (_per_channel(name, p, d, "LayerNorm") for name, p in (("gamma", gamma), ("beta", beta)))
        eps = checks.real(eps, "eps", "LayerNorm", minimum=0)
        rows = _normalize_rows(x.reshape(-1, d), eps)
        out = rows.xhat * gamma
        out += beta
        return out.reshape(x.shape), LayerNormCache(rows=rows, gamma=gamma, shape=x.shape)

    @staticmethod
    def backward(dout: np.ndarray, cache: LayerNormCache) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        dy = _check_dout(dout, cache.shape, "LayerNorm").reshape(cache.rows.xhat.shape)
        dgamma = np.einsum("rd,rd->d", dy, cache.rows.xhat)
        dbeta = dy.sum(axis=0)
        dx = _backprop_rows(dy * cache.gamma, cache.rows)
        return dx.reshape(cache.shape), dgamma, dbeta


@dataclass(frozen=True, eq=False)
class GroupNormCache:
    rows: RowNormCache  # xhat (N*G, C/G * H*W) and inv_std (N*G, 1): one row per example and group
    gamma: np.ndarray  # (C,) scale
    shape: tuple[int, ...]  # (N, C, ...) shape of the input


class GroupNorm:
    r"""Group normalization: each example's channels split into G groups, each normalized on its own.

    .. math::

        \mu_{ng} = \tfrac{1}{M} \textstyle\sum_{c \in g,\, s} x_{ncs}, \quad
        \sigma_{ng}^2 = \tfrac{1}{M} \textstyle\sum_{c \in g,\, s} (x_{ncs} - \mu_{ng})^2, \quad
        \mathrm{out}_{ncs} = \gamma_c \frac{x_{ncs} - \mu_{ng}}{\sqrt{\sigma_{ng}^2 + \epsilon}} + \beta_c

    where group g holds C/G consecutive channels, s runs over the spatial positions and
    M = (C/G) * H * W. With G = 1 it is layer norm over (C, H, W) (with per-channel gamma and beta);
    with G = C it is instance norm. Like :class:`LayerNorm` it uses no batch statistics.
    The backward pass is :class:`LayerNorm`'s, one row per (example, group); its two sums per group
    are gathered from sums per (example, channel), which also give ``dgamma`` and ``dbeta``.

    Shapes: ``x`` (N, C, ...) (e.g. (N, C, H, W)), ``gamma`` and ``beta`` (C,), ``num_groups`` = G
    dividing C -> ``out`` like ``x``; ``backward(dout, cache) -> (dx, dgamma, dbeta)``.

    PyTorch convention: ``F.group_norm(x, num_groups, gamma, beta, eps=1e-5)`` / ``nn.GroupNorm``,
    biased variance, groups of consecutive channels.

    Reference: Wu & He (2018), "Group normalization".
    """

    @staticmethod
    def forward(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, num_groups: int,
                eps: float = 1e-5) -> tuple[np.ndarray, GroupNormCache]:
        x = checks.float_array(x, "x", "GroupNorm")
        if x.ndim < 2:
            raise ValueError(f"GroupNorm: x must have shape (N, C, ...), got {x.shape}")
        n, c = x.shape[:2]
        g = checks.integer(num_groups, "num_groups", "GroupNorm", minimum=1)
        if c % g:
            raise ValueError(f"GroupNorm: num_groups must divide the {c} channels, got {g}")
        gamma, beta = (_per_channel(name, p, c, "GroupNorm") for name, p in (("gamma", gamma), ("beta", beta)))
        eps = checks.real(eps, "eps", "GroupNorm", minimum=0)
        rows = _normalize_rows(x.reshape(n * g, -1), eps)
        view = (1, c) + (1,) * (x.ndim - 2)  # gamma and beta along the channel axis
        out = rows.xhat.reshape(x.shape) * gamma.reshape(view)
        out += beta.reshape(view)
        return out, GroupNormCache(rows=rows, gamma=gamma, shape=x.shape)

    @staticmethod
    def backward(dout: np.ndarray, cache: GroupNormCache) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        dy = _check_dout(dout, cache.shape, "GroupNorm")
        n, c = cache.shape[:2]
        g, m = cache.rows.inv_std.shape[0] // n, cache.rows.xhat.shape[1]
        dy3, xhat3 = dy.reshape(n, c, -1), cache.rows.xhat.reshape(n, c, -1)  # (N, C, S) views
        s1 = np.einsum("ncs->nc", dy3)  # (N, C) sums over the positions: of delta,
        s2 = np.einsum("ncs,ncs->nc", dy3, xhat3)  # and of delta * xhat
        dgamma, dbeta = s2.sum(axis=0), s1.sum(axis=0)
        # LayerNorm's formula per (example, group) with g = gamma * delta, its two sums taken from s1, s2:
        # dx = inv_std * (gamma delta - mean(g) - xhat mean(g xhat)), the means over the group's M values
        inv_std = cache.rows.inv_std.reshape(n, g, 1)
        mean_g = (s1 * cache.gamma).reshape(n, g, -1).sum(axis=2, keepdims=True) / m  # (N, G, 1)
        mean_gx = (s2 * cache.gamma).reshape(n, g, -1).sum(axis=2, keepdims=True) / m

        def per_channel(a):  # (N, G, 1) -> (N, C, 1): a group's value for each of its channels
            return np.repeat(a, c // g, axis=1)

        dx = dy3 * (cache.gamma.reshape(g, -1) * inv_std).reshape(n, c, 1)
        dx -= xhat3 * per_channel(inv_std * mean_gx)
        dx -= per_channel(inv_std * mean_g)
        return dx.reshape(cache.shape), dgamma, dbeta
