r"""Twin of :mod:`course_lib.scratch.dropout`: dropout masks, both conventions, MC prediction, max-norm.

``p`` is the DROP probability, as in ``torch.nn.functional.dropout`` (the slides' and Srivastava
et al. 2014's keep probability is ``1 - p``; see the scratch module). Masks are bool KEEP masks
of the input's shape, drawn from an explicit ``torch.Generator`` (:func:`sample_mask`), never from
torch's global generator; so :func:`dropout` takes its mask as an argument, and equals
``F.dropout(x, p, training)`` when given the mask ``F.dropout`` itself draws (recover it by
dropping out a tensor of ones under the same torch seed). References: Hinton et al. 2012,
Srivastava et al. 2014.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from course_lib import checks
from course_lib.device import torch_generator
from course_lib.torch_impl._checks import tensor
from course_lib.scratch.dropout import WEIGHT_AXES, _check_shape, check_axes, check_p, is_dropout_model

__all__ = ["sample_mask", "dropout", "scaled_dropout", "scale_weights", "max_norm", "with_max_norm", "mc_predict"]


def sample_mask(generator: Any, shape: Any, p: float,
                device: Any = None) -> torch.Tensor:
    r"""Twin of `course_lib.scratch.dropout.sample_mask`.

    .. math::

        m = [u \ge p], \qquad u \sim \mathcal{U}[0, 1)

    A bool KEEP mask of ``shape`` (one entry per example and unit), True with
    probability ``1 - p``. ``generator``: a CPU ``torch.Generator`` (or an int seed, or
    None for fresh entropy); drawn on the CPU (float64 uniforms), moved to ``device``.
    The same seed gives other masks than the scratch side (another generator).
    """
    gen = torch_generator(generator, "sample_mask")
    shape = _check_shape(shape, "sample_mask")
    p = check_p(p, "sample_mask")
    mask = torch.rand(shape, generator=gen, dtype=torch.float64) >= p
    return mask if device is None else mask.to(device)


def _check_mask(mask: Any, x: torch.Tensor, who: str) -> torch.Tensor:
    """``mask`` as a bool tensor on ``x``'s device, after checking its shape and its 0/1 values."""
    mask = torch.as_tensor(mask, device=x.device)
    if tuple(mask.shape) != tuple(x.shape):
        raise ValueError(
            f"{who}: mask must have the input's shape {tuple(x.shape)} (one entry per example and unit; "
            f"draw it with sample_mask(generator, x.shape, p)), got {tuple(mask.shape)}"
        )
    if mask.dtype == torch.bool:
        return mask
    if mask.is_complex():
        raise ValueError(f"{who}: mask must be a bool or 0/1 tensor, got dtype {mask.dtype}")
    keep = mask == 1
    if not bool((keep | (mask == 0)).all()):
        raise ValueError(f"{who}: mask must hold only 0 and 1 (the keep mask, not scaled)")
    return keep


def _check_inputs(x: torch.Tensor, mask: Any, p: Any, training: Any, who: str) -> tuple[torch.Tensor | None, float]:
    """``(mask, p)`` of a dropout call, checked: mask bool on x's device (or None), p in [0, 1)."""
    tensor(x, "x", who)
    p = check_p(p, who)
    if not isinstance(training, (bool, np.bool_)):
        raise ValueError(f"{who}: training must be True or False, got {training!r}")
    if mask is not None:
        mask = _check_mask(mask, x, who)
    elif training and p > 0:
        raise ValueError(f"{who}: training mode needs a mask; draw one with sample_mask(generator, x.shape, p)")
    return mask, p


def dropout(x: torch.Tensor, mask: Any, p: float = 0.5,
            training: bool = True) -> torch.Tensor:
    r"""Twin of `course_lib.scratch.dropout.Dropout`.

    .. math::

        \text{training: } y = \frac{m \odot x}{1 - p}, \qquad \text{test: } y = x

    Inverted dropout with the keep mask ``mask`` (bool or 0/1, shape of ``x``; may be
    None at test time). Equals ``F.dropout(x, p, training)`` for the mask ``F.dropout``
    draws; autograd gives ``dx = m * dout / (1 - p)``. ``p`` is the DROP probability.
    """
    mask, p = _check_inputs(x, mask, p, training, "dropout")
    if not training or p == 0.0:
        return x.clone()
    return x * (mask.to(x.dtype) * (1.0 / (1.0 - p)))  # F.dropout: x * (m / (1 - p))


def scaled_dropout(x: torch.Tensor, mask: Any, p: float = 0.5,
                   training: bool = True) -> torch.Tensor:
    r"""Twin of `course_lib.scratch.dropout.ScaledDropout`.

    .. math::

        \text{training: } y = m \odot x, \qquad \text{test: } y = (1 - p)\, x

    The slides' and Srivastava et al.'s form: no scaling in training, the keep
    probability ``1 - p`` at test time. ``p`` in [0, 1) is the DROP probability.
    """
    mask, p = _check_inputs(x, mask, p, training, "scaled_dropout")
    if not training:
        return x * (1.0 - p)
    return x.clone() if p == 0.0 else x * mask.to(x.dtype)


def scale_weights(w: torch.Tensor, p: float) -> torch.Tensor:
    r"""Twin of `course_lib.scratch.dropout.scale_weights`.

    .. math::

        W_{\text{test}} = (1 - p)\, W

    Outgoing weights (in, out) of units dropped with probability ``p``, for test time.
    """
    p = check_p(p, "scale_weights")
    return (1.0 - p) * tensor(w, "w", "scale_weights")


def max_norm(w: torch.Tensor, c: float,
             axis: int | tuple[int, ...] = 0) -> torch.Tensor:
    r"""Twin of `course_lib.scratch.dropout.max_norm`.

    .. math::

        w_{\cdot j} \leftarrow w_{\cdot j}
        \cdot \min\!\Big(1, \frac{c}{\|w_{\cdot j}\|_2}\Big)

    In our (in, out) layout the incoming vector of unit ``j`` is ``w[:, j]``
    (``axis=0``); for an ``nn.Linear.weight`` (out, in), torch's own
    ``torch.renorm(weight, 2, 0, c)`` does the same (up to a 1e-7 in its denominator).
    Returns a new tensor; after a step,
    ``with torch.no_grad(): w.copy_(max_norm(w, c))``.
    """
    tensor(w, "w", "max_norm")
    c = checks.real(c, "c", "max_norm", minimum=0, exclusive_minimum=True)
    axes = check_axes(axis, w.ndim, tuple(w.shape))
    norms = torch.sqrt((w * w).sum(dim=axes, keepdim=True))  # one per unit
    one = torch.ones_like(norms)
    over = norms > c
    return w * torch.where(over, c / torch.where(over, norms, one), one)


def with_max_norm(optimizer: torch.optim.Optimizer, c: float) -> torch.optim.Optimizer:
    r"""Twin of `course_lib.scratch.dropout.with_max_norm`.

    .. math::

        w \leftarrow \Pi_c\big(\mathrm{optimizer.step}(w, g)\big)

    Registers a hook that runs after every ``optimizer.step()`` and projects each parameter
    with 2, 3 or 4 axes over :data:`course_lib.scratch.dropout.WEIGHT_AXES` (our (in, out)
    layout, as in :class:`course_lib.torch_impl.model.MLP`; NOT ``nn.Linear``'s (out, in),
    for which use ``torch.renorm(weight, 2, 0, c)``). Returns the same optimizer, so the
    torch :class:`~course_lib.torch_impl.solver.Solver` and lr schedulers take it as usual.
    """
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise TypeError(f"with_max_norm: optimizer must be a torch.optim.Optimizer, got {type(optimizer).__name__}")
    c = checks.real(c, "c", "with_max_norm", minimum=0, exclusive_minimum=True)

    @torch.no_grad()
    def project(opt: torch.optim.Optimizer, args: Any, kwargs: Any) -> None:
        for group in opt.param_groups:
            for w in group["params"]:
                axes = WEIGHT_AXES.get(w.ndim)
                if axes is not None:
                    w.copy_(max_norm(w, c, axes))

    optimizer.register_step_post_hook(project)
    return optimizer


@torch.no_grad()
def mc_predict(model: Any, x: Any, k: int, generator: Any) -> torch.Tensor:
    r"""Twin of `course_lib.scratch.dropout.mc_predict`.

    .. math::

        \hat P(y \mid x) = \frac{1}{k} \sum_{i=1}^{k}
        \mathrm{softmax}\big(f(x; m^{(i)})\big)

    ``model`` is a :class:`course_lib.torch_impl.model.MLP` with dropout (masks from
    ``model.sample_masks(generator, n)``; run in eval mode, the mode is restored), any
    ``nn.Module`` holding ``nn.Dropout`` layers (see below), or a callable
    ``forward(x, generator) -> scores``. ``generator``: a ``torch.Generator`` or an int
    seed. Returns the (N, C) averaged probabilities, without gradient.

    An ``nn.Module`` runs in eval mode with only its dropout layers in training mode
    (batch norm keeps its running statistics). ``nn.Dropout`` draws from torch's global
    generator, so the passes run inside ``torch.random.fork_rng``, seeded from
    ``generator``: reproducible, and the caller's global random stream is left as it was.
    """
    k = checks.integer(k, "k", "mc_predict", minimum=1)
    gen = torch_generator(generator, "mc_predict")
    if isinstance(model, nn.Module) and not hasattr(model, "sample_masks"):
        return _module_mc_predict(model, x, k, gen)
    if not is_dropout_model(model, "mc_predict"):
        return sum(torch.softmax(model(x, gen), dim=1) for _ in range(k)) / k
    was_training = model.training
    model.eval()  # batch norm: running statistics; dropout: the masks below
    try:
        x = model._as_input(x)
        total = 0.0
        for _ in range(k):
            masks = model.sample_masks(gen, x.shape[0])
            total = total + torch.softmax(model.scores(x, masks=masks), dim=1)
        return total / k
    finally:
        model.train(was_training)


def _module_mc_predict(module: nn.Module, x: Any, k: int, gen: torch.Generator) -> torch.Tensor:
    """MC dropout through an ``nn.Module``'s own dropout layers (see :func:`mc_predict`)."""
    dropouts = [m for m in module.modules() if isinstance(m, nn.modules.dropout._DropoutNd)]
    if not dropouts:
        raise ValueError("mc_predict: the module has no dropout layer (nn.Dropout, nn.Dropout2d, ...)")
    ref = next(module.parameters(), None)
    x = torch.as_tensor(x, dtype=None if ref is None else ref.dtype, device=None if ref is None else ref.device)
    seed = int(torch.randint(0, 2**62, (1,), generator=gen))
    devices = [x.device.index or 0] if x.device.type == "cuda" else []
    modes = [(m, m.training) for m in module.modules()]
    module.eval()
    for m in dropouts:
        m.train()
    try:
        with torch.random.fork_rng(devices=devices):
            torch.manual_seed(seed)
            return sum(torch.softmax(module(x), dim=1) for _ in range(k)) / k
    finally:
        for m, mode in modes:
            m.training = mode
