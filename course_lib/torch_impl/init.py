r"""Twin of :mod:`course_lib.scratch.init`: initializers that fill a tensor in place, like ``torch.nn.init``.

A weight tensor has the scratch layout (fan_in, fan_out). Randomness comes from an explicit
``torch.Generator`` (or torch's global generator when ``generator=None``, as in ``torch.nn.init``).
"""

from __future__ import annotations

import torch

__all__ = ["small_random", "zeros", "constant"]


def small_random(tensor: torch.Tensor, std: float = 0.01, generator: torch.Generator | None = None) -> torch.Tensor:
    r"""Twin of `course_lib.scratch.init.small_random`.

    .. math::

        W_{ij} \sim \mathcal{N}(0, \mathrm{std}^2)

    Fills ``tensor`` in place (no autograd) and returns it. The numbers are drawn on the
    generator's device and copied, so a CPU generator gives the same weights on any device.
    Built-in: ``torch.nn.init.normal_(tensor, 0.0, std)``.
    """
    if not std >= 0:
        raise ValueError(f"small_random: std must be >= 0, got {std}")
    gen_device = generator.device if generator is not None else tensor.device
    with torch.no_grad():
        noise = torch.randn(tensor.shape, generator=generator, dtype=tensor.dtype, device=gen_device)
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
    with torch.no_grad():
        tensor.fill_(value)
    return tensor
