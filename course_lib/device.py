"""Where torch code runs: the GPU when there is one, else the CPU.

Everything in the course runs on a CPU; a GPU only makes it faster. Code that creates
tensors takes a ``device`` argument; pass ``default_device()`` to use a GPU when present.
"""

from __future__ import annotations

import torch

__all__ = ["default_device"]


def default_device() -> torch.device:
    """``torch.device("cuda")`` if a CUDA GPU is available, else ``torch.device("cpu")``."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")
