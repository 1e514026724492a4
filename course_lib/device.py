"""Where torch code runs (the GPU when there is one, else the CPU), and its random generators.

Everything in the course runs on a CPU; a GPU only makes it faster. Code that creates
tensors takes a ``device`` argument; pass ``default_device()`` to use a GPU when present.
Random numbers come from an explicit ``torch.Generator`` (:func:`torch_generator`), never from
torch's global one.
"""

from __future__ import annotations

from typing import Any

import torch

from course_lib import checks

__all__ = ["default_device", "torch_generator"]


def default_device() -> torch.device:
    """``torch.device("cuda")`` if a CUDA GPU is available, else ``torch.device("cpu")``."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def torch_generator(rng: Any, who: str) -> torch.Generator:
    """A CPU ``torch.Generator`` from None (fresh entropy), an int seed, or a Generator."""
    if isinstance(rng, torch.Generator):
        return rng
    gen = torch.Generator(device="cpu")
    if rng is None:
        gen.seed()
    elif checks.is_integer(rng):
        gen.manual_seed(int(rng))
    else:
        raise TypeError(f"{who}: rng must be None, an int seed or a torch.Generator, got {type(rng).__name__}")
    return gen
