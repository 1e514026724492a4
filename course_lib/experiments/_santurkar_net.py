r"""The network of chapter 8's batch-norm reproductions, written as plain functions of its parameters.

Santurkar et al. (2018) ask *why* batch norm helps by training the same network with and without
it and measuring things along the way. Our stand-in for their VGG and deep linear nets: the digits
(64 standardized features, 10 classes), ``depth`` hidden layers of ``width`` ReLU units, and a
linear output layer. Hidden layer :math:`\ell` computes

.. math::

    z_\ell = h_{\ell-1} W_\ell + b_\ell \quad (N, H), \qquad
    a_\ell = \mathrm{BN}_{\gamma_\ell, \beta_\ell}(z_\ell) \text{ (or } a_\ell = z_\ell
    \text{ without BN)}, \qquad
    h_\ell = \mathrm{relu}(\mathrm{noise}(a_\ell)),

with ``W_l`` of shape (in, out) as everywhere in the course, and batch norm *before* the ReLU, as in
the paper's nets. The parameters are a list of per-layer tuples ``(W, b, gamma, beta)`` (with BN) or
``(W, b)`` (without; and always for the output layer), so that the experiments can take a step on
some layers only (:mod:`~course_lib.experiments.bn_ics`), walk along a gradient
(:mod:`~course_lib.experiments.bn_landscape`) or differentiate twice
(:mod:`~course_lib.experiments.bn_insights`).

``noise`` is the distributional instability of Santurkar et al.'s Sec. 2 ("noisy BatchNorm"):
at every step and for every unit :math:`j` of every hidden layer, a shift :math:`\mu_j \sim
U(-m, m)` and a scale :math:`s_j \sim U(1, s_\max)` are drawn; each element of the batch then gets
its own jitter around them,

.. math::

    \mathrm{noise}(a)_{nj} = a_{nj}\, s_j (1 + \sigma \epsilon_{nj}) + \mu_j + \sigma \epsilon'_{nj},
    \qquad \epsilon, \epsilon' \sim \mathcal{N}(0, 1),

so the distribution of every unit's output moves, in mean and in spread, from one step to the next.
The noise acts after batch norm (with BN) or at the same place (without).

Batch norm uses the statistics of the batch it sees. For evaluation, :func:`population_stats`
computes every layer's mean and biased variance on a reference set (the training set: what the
running averages of chapter 6 estimate) and :func:`scores` uses them when given ``stats``.
"""
from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass

import numpy as np
import torch

from course_lib.data import load_digits
from course_lib.device import torch_generator
from course_lib.torch_impl.batchnorm import batch_norm, inference
from course_lib.torch_impl.init import he_normal

__all__ = ["Noise", "Data", "load_data", "init_params", "scores", "loss", "population_stats", "accuracy",
           "flatten", "param_norm", "clone_params", "tensors", "sgd_step", "layer_grads", "batches",
           "one_torch_thread", "DEPTH", "WIDTH", "EPS"]

DEPTH, WIDTH = 10, 128
"""The paper-sized net: 10 hidden ReLU layers of 128 units."""
EPS = 1e-5
"""Batch norm's epsilon (PyTorch's default)."""


@dataclass(frozen=True)
class Noise:
    """Santurkar et al.'s noise: per step and unit, shift ~ U(-shift, shift), scale ~ U(1, max_scale); per element
    a relative jitter ``jitter`` of the scale and an absolute one of the shift."""

    shift: float = 0.5
    max_scale: float = 1.25
    jitter: float = 0.1

    def __post_init__(self):
        if not (self.shift >= 0 and self.max_scale >= 1 and self.jitter >= 0):
            raise ValueError(f"Noise: need shift >= 0, max_scale >= 1, jitter >= 0, got {self}")


@dataclass(frozen=True, eq=False)
class Data:
    """The digits as torch tensors: standardized features (N, 64), labels (N,)."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_val: torch.Tensor
    y_val: torch.Tensor


def load_data(seed: int = 0, dtype: torch.dtype = torch.float64) -> Data:
    """The digits split of ``load_digits(seed, scale="standard")`` as tensors."""
    d = load_digits(seed=seed, scale="standard")
    return Data(x_train=torch.as_tensor(d.x_train, dtype=dtype), y_train=torch.as_tensor(d.y_train),
                x_val=torch.as_tensor(d.x_val, dtype=dtype), y_val=torch.as_tensor(d.y_val))


def init_params(bn: bool, depth: int = DEPTH, width: int = WIDTH, in_dim: int = 64, classes: int = 10,
                rng=0, dtype: torch.dtype = torch.float64) -> list[tuple[torch.Tensor, ...]]:
    """He-normal weights, zero biases, gamma = 1, beta = 0; every tensor requires grad.

    The weights are drawn in the same order with and without BN, so a seed gives both nets the
    SAME weights: they differ only by the normalization.
    """
    if int(depth) < 1 or int(width) < 1:
        raise ValueError(f"init_params: depth and width must be >= 1, got {depth}, {width}")
    gen = torch_generator(rng, "init_params")
    dims = [in_dim] + [width] * depth + [classes]
    layers = []
    for i, (fan_in, fan_out) in enumerate(zip(dims[:-1], dims[1:])):
        w = he_normal(torch.empty(fan_in, fan_out, dtype=dtype), nonlinearity="relu", generator=gen)
        group = [w, torch.zeros(fan_out, dtype=dtype)]
        if bn and i < depth:
            group += [torch.ones(fan_out, dtype=dtype), torch.zeros(fan_out, dtype=dtype)]
        layers.append(tuple(t.requires_grad_() for t in group))
    return layers


def _noise(a: torch.Tensor, noise: Noise, gen: torch.Generator) -> torch.Tensor:
    """a (N, H) -> a * s (1 + jitter eps) + mu + jitter eps', s and mu new per call."""
    h = a.shape[1]
    kw = dict(dtype=a.dtype, generator=gen)
    shift = (torch.rand(h, **kw) * 2 - 1) * noise.shift  # (H,) ~ U(-m, m)
    scale = 1 + torch.rand(h, **kw) * (noise.max_scale - 1)  # (H,) ~ U(1, s_max)
    jit_scale = 1 + noise.jitter * torch.randn(a.shape, **kw)  # (N, H)
    jit_shift = noise.jitter * torch.randn(a.shape, **kw)  # (N, H)
    return a * (scale * jit_scale) + (shift + jit_shift)


def scores(params, x: torch.Tensor, *, noise: Noise | None = None, gen: torch.Generator | None = None,
           stats=None, hidden: list | None = None, pre: list | None = None) -> torch.Tensor:
    """Class scores (N, C). With BN, batch statistics unless ``stats`` (from :func:`population_stats`).

    ``noise`` needs ``gen``; ``hidden``, if a list, receives every layer's output h_l (N, H); ``pre``
    every ReLU's input (after BN and noise).
    """
    if noise is not None and gen is None:
        raise ValueError("scores: noise needs a torch.Generator gen")
    h = x
    for i, group in enumerate(params[:-1]):
        a = h @ group[0] + group[1]
        if len(group) == 4:
            if stats is None:
                a = batch_norm(a, group[2], group[3], eps=EPS)
            else:
                a = inference(a, stats[i][0], stats[i][1], group[2], group[3], eps=EPS)
        if noise is not None:
            a = _noise(a, noise, gen)
        if pre is not None:
            pre.append(a)
        h = torch.relu(a)
        if hidden is not None:
            hidden.append(h)
    w, b = params[-1]
    return h @ w + b


def loss(params, x: torch.Tensor, y: torch.Tensor, **kwargs) -> torch.Tensor:
    """Mean softmax cross-entropy of :func:`scores`."""
    return torch.nn.functional.cross_entropy(scores(params, x, **kwargs), y)


@torch.no_grad()
def population_stats(params, x: torch.Tensor) -> list:
    """Per hidden layer (mean, biased var) of its pre-BN values on ``x`` (empty list for a net without BN)."""
    stats, h = [], x
    for group in params[:-1]:
        a = h @ group[0] + group[1]
        if len(group) == 4:
            mean, var = a.mean(dim=0), a.var(dim=0, correction=0)
            stats.append((mean, var))
            a = inference(a, mean, var, group[2], group[3], eps=EPS)
        h = torch.relu(a)
    return stats


@torch.no_grad()
def accuracy(params, data: Data, split: str = "val") -> float:
    """Accuracy on the split, BN with the training set's statistics (no noise)."""
    stats = population_stats(params, data.x_train) if len(params[0]) == 4 else None
    x, y = (data.x_val, data.y_val) if split == "val" else (data.x_train, data.y_train)
    return float((scores(params, x, stats=stats).argmax(dim=1) == y).double().mean())


def flatten(tensors) -> torch.Tensor:
    """All tensors of a (nested) list as one flat vector."""
    flat = [t for group in tensors for t in (group if isinstance(group, (tuple, list)) else (group,))]
    return torch.cat([t.reshape(-1) for t in flat])


def param_norm(params) -> float:
    """Euclidean norm of the whole parameter vector."""
    return float(flatten(params).detach().norm())


def clone_params(params) -> list[tuple[torch.Tensor, ...]]:
    """A detached copy that requires grad."""
    return [tuple(t.detach().clone().requires_grad_() for t in group) for group in params]


def batches(n: int, batch_size: int, steps: int, seed: int) -> list[np.ndarray]:
    """``steps`` mini-batches of indices into ``range(n)``: shuffled epochs, drawn from ``seed``."""
    rng = np.random.default_rng(seed)
    per_epoch = n // batch_size
    out = []
    for _ in range(math.ceil(steps / per_epoch)):
        perm = rng.permutation(n)
        out += [perm[k * batch_size:(k + 1) * batch_size] for k in range(per_epoch)]
    return out[:steps]


def tensors(params) -> list[torch.Tensor]:
    """The parameter tensors in order, layer by layer."""
    return [t for group in params for t in group]


@torch.no_grad()
def sgd_step(params, grads, lr: float, layers=None) -> None:
    """In place ``p -= lr * g`` on the layers listed (default all); ``grads`` is per layer, like ``params``."""
    for i, (group, g_group) in enumerate(zip(params, grads)):
        if layers is None or i in layers:
            for p, g in zip(group, g_group):
                p -= lr * g


def layer_grads(params, value: torch.Tensor, retain_graph: bool = False) -> list[tuple[torch.Tensor, ...]]:
    """Gradient of the scalar ``value`` grouped per layer, like ``params`` (zeros where it does not depend)."""
    flat = torch.autograd.grad(value, tensors(params), retain_graph=retain_graph, allow_unused=True,
                               materialize_grads=True)
    out, k = [], 0
    for group in params:
        out.append(tuple(flat[k:k + len(group)]))
        k += len(group)
    return out


@contextlib.contextmanager
def one_torch_thread():
    """One torch thread inside (the old count is restored): these small products gain nothing from two,
    and on a shared 2-core machine a second thread costs a lot of waiting. Results do not depend on it
    beyond rounding."""
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(old)
