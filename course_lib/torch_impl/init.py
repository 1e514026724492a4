r"""Twin of :mod:`course_lib.scratch.init`: initializers that fill a tensor in place, like ``torch.nn.init``.

A 2-D weight tensor has the scratch layout (fan_in, fan_out), the TRANSPOSE of
``nn.Linear.weight``; 4-D and 5-D tensors are conv weights in torch's layout
(out_c, in_c, k1, ...); a 3-D tensor is a conv1d weight or a maxout weight (k, in, out), so
the initializers take ``layout="conv"`` or ``layout="maxout"`` for it. :func:`fans`
computes the fans of all of them. Randomness comes from an
explicit ``torch.Generator`` (or torch's global generator when ``generator=None``, as in
``torch.nn.init``). The numbers are drawn on the generator's device and copied into the
tensor, so a CPU generator gives the same weights on any device.

The targets (std, bound, gain) are the scratch module's functions, so the two sides cannot
drift: ``xavier_std``, ``xavier_bound``, ``he_std``, ``he_bound``, ``lecun_std``, ``calculate_gain``.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import torch

from course_lib import checks
from course_lib.scratch import init as _scratch
from course_lib.scratch.init import (
    LAYOUTS,
    LSUVResult,
    _checked_variance,
    calculate_gain,
    he_bound,
    he_std,
    lecun_std,
    xavier_bound,
    xavier_std,
)
from course_lib.torch_impl.linear import linear

__all__ = [
    "fans",
    "LAYOUTS",
    "calculate_gain",
    "xavier_std",
    "xavier_bound",
    "he_std",
    "he_bound",
    "lecun_std",
    "zeros",
    "constant",
    "small_random",
    "xavier_uniform",
    "xavier_normal",
    "he_normal",
    "he_uniform",
    "lecun_normal",
    "orthogonal",
    "lsuv",
    "LSUVResult",
    "INITIALIZERS",
]


def _gen_device(tensor: torch.Tensor, generator: torch.Generator | None) -> torch.device:
    return generator.device if generator is not None else tensor.device


def _torch_layout(tensor: torch.Tensor) -> tuple[int, ...]:
    """The shape torch.nn.init would see: (out, in) for our 2-D (in, out) weight, else unchanged."""
    shape = tuple(tensor.shape)
    return (shape[1], shape[0]) if len(shape) == 2 else shape


def _copy_from_torch_layout(tensor: torch.Tensor, values: torch.Tensor) -> torch.Tensor:
    """Copy values drawn in torch's layout into ``tensor`` (transposing a 2-D weight)."""
    tensor.copy_(values.T if tensor.ndim == 2 else values)
    return tensor


def _fill(tensor: torch.Tensor, generator: torch.Generator | None, draw) -> torch.Tensor:
    """Draw in torch's layout on the generator's device, then copy: ``init(W) == torch.nn.init.<fn>_(W.T)``."""
    with torch.no_grad():
        noise = torch.empty(_torch_layout(tensor), dtype=tensor.dtype, device=_gen_device(tensor, generator))
        draw(noise)
        return _copy_from_torch_layout(tensor, noise)


def _fill_normal(tensor: torch.Tensor, std: float, generator: torch.Generator | None) -> torch.Tensor:
    return _fill(tensor, generator, lambda t: t.normal_(0.0, std, generator=generator))


def _fill_uniform(tensor: torch.Tensor, bound: float, generator: torch.Generator | None) -> torch.Tensor:
    return _fill(tensor, generator, lambda t: t.uniform_(-bound, bound, generator=generator))


def _check_std(std: float) -> None:
    if not std >= 0:
        raise ValueError(f"small_random: std must be >= 0, got {std}")


def _check_orthogonal(tensor: torch.Tensor, gain: float, layout: str | None) -> None:
    if tensor.ndim < 2:
        raise ValueError(f"orthogonal: a weight needs at least 2 dimensions, got shape {tuple(tensor.shape)}")
    _scratch._check_gain(gain, "orthogonal")
    fans(tensor, layout)  # a clear error for a 3-D tensor without a layout, or a layout that does not fit


def _check_lsuv(model: Any, x: Any, tol: Any, max_iter: Any) -> torch.Tensor:
    """The batch ``x`` as a tensor of the model's dtype and device, after checking every argument."""
    checks.real(tol, "tol", "lsuv", minimum=0.0, exclusive_minimum=True)
    checks.integer(max_iter, "max_iter", "lsuv", minimum=1)
    for attr in ("num_layers", "act", "W1"):
        if not hasattr(model, attr):
            raise TypeError(f"lsuv: the model has no {attr!r} (a torch_impl MLP is expected)")
    if model.act is None:
        raise ValueError("lsuv: maxout layers are not supported (the model has no elementwise activation act)")
    h = torch.as_tensor(x, dtype=model.W1.dtype, device=model.W1.device)
    if h.ndim != 2 or h.shape[0] < 2 or h.shape[1] != model.W1.shape[0]:
        raise ValueError(f"lsuv: x must be a batch (N, {model.W1.shape[0]}) with N >= 2, got shape {tuple(h.shape)}")
    return h


def fans(tensor_or_shape: torch.Tensor | Sequence[int], layout: str | None = None) -> tuple[int, int]:
    r"""Twin of `course_lib.scratch.init.fans`.

    .. math::

        \text{(in, out)}: (\text{in}, \text{out}); \qquad
        (c_\text{out}, c_\text{in}, k_1, \dots): (c_\text{in} \textstyle\prod k,\; c_\text{out} \prod k);
        \qquad (k, \text{in}, \text{out}): (\text{in}, \text{out})

    Accepts a tensor or a shape, and the same ``layout`` (``"linear"``, ``"conv"``,
    ``"maxout"``; required for a 3-D weight). For a 2-D tensor in OUR layout (in, out) this
    equals ``torch.nn.init._calculate_fan_in_and_fan_out(tensor.T)``; for conv weights it
    equals torch's rule on the tensor itself; a maxout weight has the fans of one piece.
    """
    shape = tuple(tensor_or_shape.shape) if isinstance(tensor_or_shape, torch.Tensor) else tensor_or_shape
    return _scratch.fans(shape, layout)


def small_random(
    tensor: torch.Tensor, std: float = 0.01, generator: torch.Generator | None = None
) -> torch.Tensor:
    r"""Twin of `course_lib.scratch.init.small_random`.

    .. math::

        W_{ij} \sim \mathcal{N}(0, \mathrm{std}^2)

    Fills ``tensor`` in place (no autograd) and returns it. Built-in:
    ``torch.nn.init.normal_(tensor, 0.0, std)``.
    """
    _check_std(std)
    device = _gen_device(tensor, generator)
    with torch.no_grad():
        noise = torch.randn(
            tensor.shape, generator=generator, dtype=tensor.dtype, device=device
        )
        tensor.copy_(noise * std)
    return tensor


def zeros(tensor: torch.Tensor) -> torch.Tensor:
    r"""Twin of `course_lib.scratch.init.zeros`.

    .. math::

        W = 0

    In place; returns ``tensor``. Built-in: ``torch.nn.init.zeros_``.
    """
    with torch.no_grad():
        tensor.zero_()
    return tensor


def constant(tensor: torch.Tensor, value: float) -> torch.Tensor:
    r"""Twin of `course_lib.scratch.init.constant`.

    .. math::

        W_{ij} = c

    In place; returns ``tensor``. Built-in: ``torch.nn.init.constant_``.
    """
    if not math.isfinite(value):
        raise ValueError(f"constant: value must be finite, got {value}")
    with torch.no_grad():
        tensor.fill_(value)
    return tensor


def xavier_uniform(
    tensor: torch.Tensor,
    gain: float = 1.0,
    generator: torch.Generator | None = None,
    *,
    layout: str | None = None,
) -> torch.Tensor:
    r"""Twin of `course_lib.scratch.init.xavier_uniform`.

    .. math::

        W_{ij} \sim U(-a, a), \qquad a = g\sqrt{\frac{6}{n_\text{in} + n_\text{out}}}

    In place, fans from :func:`fans` (our (in, out) layout for 2-D; ``layout`` is
    passed to it and is needed for a 3-D tensor). Built-in:
    ``torch.nn.init.xavier_uniform_`` on the (out, in) weight: for the same generator
    state, ``xavier_uniform(W)`` equals ``xavier_uniform_(V)`` with ``V`` (out, in),
    transposed.
    """
    bound = xavier_bound(*fans(tensor, layout), gain)
    return _fill_uniform(tensor, bound, generator)


def xavier_normal(
    tensor: torch.Tensor, gain: float = 1.0, generator: torch.Generator | None = None, *, layout: str | None = None
) -> torch.Tensor:
    r"""Twin of `course_lib.scratch.init.xavier_normal`.

    .. math::

        W_{ij} \sim \mathcal{N}\!\Big(0,\; g^2\,\frac{2}{\text{fan\_in} + \text{fan\_out}}\Big)

    In place. Built-in: ``torch.nn.init.xavier_normal_`` on ``tensor.T``.
    """
    return _fill_normal(tensor, xavier_std(*fans(tensor, layout), gain), generator)


def he_normal(
    tensor: torch.Tensor,
    a: float = 0.0,
    mode: str = "fan_in",
    nonlinearity: str = "leaky_relu",
    generator: torch.Generator | None = None,
    *,
    layout: str | None = None,
) -> torch.Tensor:
    r"""Twin of `course_lib.scratch.init.he_normal`.

    .. math::

        W_{ij} \sim \mathcal{N}\!\Big(0,\; \frac{2}{(1 + a^2)\,\text{fan}}\Big)

    In place. Built-in: ``torch.nn.init.kaiming_normal_`` on ``tensor.T`` (same
    arguments).
    """
    std = he_std(*fans(tensor, layout), a, mode, nonlinearity)
    return _fill_normal(tensor, std, generator)


def he_uniform(
    tensor: torch.Tensor,
    a: float = 0.0,
    mode: str = "fan_in",
    nonlinearity: str = "leaky_relu",
    generator: torch.Generator | None = None,
    *,
    layout: str | None = None,
) -> torch.Tensor:
    r"""Twin of `course_lib.scratch.init.he_uniform`.

    .. math::

        W_{ij} \sim U(-b, b), \qquad b = \sqrt{\frac{6}{(1 + a^2)\,\text{fan}}}

    In place. Built-in: ``torch.nn.init.kaiming_uniform_`` on ``tensor.T``. (``nn.Linear``'s
    own default is ``kaiming_uniform_(weight, a=math.sqrt(5))``: :math:`b = 1/\sqrt{\text{fan\_in}}`.)
    """
    return _fill_uniform(tensor, he_bound(*fans(tensor, layout), a, mode, nonlinearity), generator)


def lecun_normal(
    tensor: torch.Tensor, generator: torch.Generator | None = None, *, layout: str | None = None
) -> torch.Tensor:
    r"""Twin of `course_lib.scratch.init.lecun_normal`.

    .. math::

        W_{ij} \sim \mathcal{N}\!\Big(0,\; \frac{1}{\text{fan\_in}}\Big)

    In place. Built-in equivalent: ``torch.nn.init.kaiming_normal_(tensor.T, nonlinearity="linear")``.
    """
    return _fill_normal(tensor, lecun_std(fans(tensor, layout)[0]), generator)


def orthogonal(
    tensor: torch.Tensor,
    gain: float = 1.0,
    generator: torch.Generator | None = None,
    *,
    layout: str | None = None,
) -> torch.Tensor:
    r"""Twin of `course_lib.scratch.init.orthogonal`.

    .. math::

        A = QR,\; A_{ij} \sim \mathcal{N}(0, 1), \qquad
        W = g\, Q\, \mathrm{diag}(\mathrm{sign}\, R_{kk})

    Orthonormal columns when fan_in >= fan_out (:math:`W^\top W = g^2 I`), else
    orthonormal rows. A maxout weight (``layout="maxout"``, (k, in, out)) gets k
    independent orthogonal pieces. In place. Built-in: ``torch.nn.init.orthogonal_``
    on ``tensor.T`` (the same algorithm and, for the same generator state, the same
    numbers).
    """
    _check_orthogonal(tensor, gain, layout)
    if layout == "maxout":  # (k, in, out): k independent linear maps
        with torch.no_grad():
            for piece in tensor:
                orthogonal(piece, gain, generator)
        return tensor
    shape = _torch_layout(tensor)  # (out, in) for our 2-D (in, out) weight
    rows = shape[0]
    cols = tensor.numel() // rows
    device = _gen_device(tensor, generator)
    with torch.no_grad():
        a = torch.empty(rows, cols, dtype=tensor.dtype, device=device)
        a.normal_(0.0, 1.0, generator=generator)
        tall = a if rows >= cols else a.T  # QR of the taller side
        q, r = torch.linalg.qr(tall)  # reduced QR: q has orthonormal columns
        signs = torch.where(torch.diagonal(r) >= 0, 1.0, -1.0).to(q.dtype)
        q = q * signs  # the sign correction
        if rows < cols:
            q = q.T
        return _copy_from_torch_layout(tensor, (gain * q).reshape(shape))


@torch.no_grad()
def lsuv(
    model: Any,
    x: Any,
    *,
    tol: float = 0.1,
    max_iter: int = 10,
    orthogonal_start: bool = True,
    generator: torch.Generator | None = None,
) -> LSUVResult:
    r"""Twin of `course_lib.scratch.init.lsuv`.

    .. math::

        W_\ell \leftarrow W_\ell \big/ \sqrt{\mathrm{Var}(z_\ell)} \quad
        \text{while } |\mathrm{Var}(z_\ell) - 1| \ge \text{tol},
        \qquad \ell = 1, \dots, L

    IN PLACE on a torch twin MLP (:class:`course_lib.torch_impl.model.MLP`: parameters
    ``W1, b1, ... WL, bL``, activation ``act``), like ``torch.nn.init``; returns an
    ``LSUVResult`` whose ``model`` is the same object. Mishkin & Matas (2015).
    """
    h = _check_lsuv(model, x, tol, max_iter)
    variances, iterations = [], []
    for i in range(1, model.num_layers + 1):
        w, b = getattr(model, f"W{i}"), getattr(model, f"b{i}")
        if orthogonal_start:
            orthogonal(w, generator=generator)
        steps = 0
        while True:
            z = linear(h, w, b)
            var = _checked_variance(float(z.var(unbiased=False)), i)
            if abs(var - 1.0) < tol or steps == max_iter:
                break
            w.div_(math.sqrt(var))  # in place, like torch.nn.init
            steps += 1
        variances.append(var)
        iterations.append(steps)
        if i < model.num_layers:
            h = model.act(z)
    return LSUVResult(model=model, variances=tuple(variances),
                      iterations=tuple(iterations), tol=float(tol))


INITIALIZERS = {
    "zeros": lambda t, generator=None: zeros(t),
    "small_random": small_random,
    "xavier_uniform": xavier_uniform,
    "xavier_normal": xavier_normal,
    "he_normal": he_normal,
    "he_uniform": he_uniform,
    "lecun_normal": lecun_normal,
    "orthogonal": orthogonal,
}
"""In-place initializers callable as ``init(tensor, generator=gen)``, by the scratch names."""
