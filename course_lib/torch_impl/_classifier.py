"""What the torch classifiers (`MLP`, `SimpleCNN`, `ResNet`) share: the parameter count, inputs
as images, integer labels, and from the class scores the predicted class, accuracy and error."""

from __future__ import annotations

from typing import Any

import torch


class ClassifierMixin:
    """``num_params``, and ``predict``, ``accuracy`` and ``error`` from ``self.forward(x)`` (class
    scores (N, C)), for an ``nn.Module`` whose parameters share one device and dtype."""

    @property
    def num_params(self) -> int:
        """Number of trainable numbers: weights, biases and, with batch norm, gammas and betas."""
        return int(sum(p.numel() for p in self.parameters()))

    def _images(self, x: Any, image: tuple[int, int, int]) -> torch.Tensor:
        """``x`` as images (N, C, H, W) with ``image`` = (C, H, W), on the parameters' device and dtype;
        flat rows (N, C*H*W) are reshaped."""
        first = next(self.parameters())
        x = torch.as_tensor(x, dtype=first.dtype, device=first.device)
        flat = image[0] * image[1] * image[2]
        if x.ndim == 2 and x.shape[1] == flat:
            return x.reshape(x.shape[0], *image)
        if x.ndim != 4 or tuple(x.shape[1:]) != image:
            raise ValueError(f"{type(self).__name__}: x must have shape (N, {', '.join(map(str, image))}) "
                             f"or (N, {flat}), got {tuple(x.shape)}")
        return x

    def _as_labels(self, y: Any) -> torch.Tensor:
        y = torch.as_tensor(y, device=next(self.parameters()).device)
        if y.dtype.is_floating_point or y.dtype == torch.bool:
            raise ValueError(f"{type(self).__name__}: labels must be integers, got {y.dtype}")
        return y.long()

    @torch.no_grad()
    def predict(self, x: Any) -> torch.Tensor:
        """Predicted class per example, (N,) long."""
        return self.forward(x).argmax(dim=1)

    @torch.no_grad()
    def accuracy(self, x: Any, y: Any) -> float:
        """Fraction of examples whose predicted class equals ``y``."""
        return float((self.predict(x) == self._as_labels(y)).double().mean())

    @torch.no_grad()
    def error(self, x: Any, y: Any) -> float:
        """Classification error, the fraction of misclassified examples: ``1 - accuracy``."""
        return float((self.predict(x) != self._as_labels(y)).double().mean())
