r"""Twin of :mod:`course_lib.scratch.losses`: classification losses from torch ops."""

from __future__ import annotations

import torch

from course_lib import checks
from course_lib.torch_impl._checks import tensor

__all__ = ["cross_entropy", "multiclass_svm"]


def _check(scores: torch.Tensor, y: torch.Tensor, who: str) -> None:
    tensor(scores, "scores", who)
    if not isinstance(y, torch.Tensor):
        raise TypeError(f"{who}: y must be a torch.Tensor of labels (torch.long), got {type(y).__name__}")
    if scores.ndim != 2:
        raise ValueError(f"{who}: scores must be 2-D (N, C), got shape {tuple(scores.shape)}")
    if y.ndim != 1 or y.shape[0] != scores.shape[0]:
        raise ValueError(f"{who}: y must have shape ({scores.shape[0]},), got {tuple(y.shape)}")
    if y.dtype.is_floating_point or y.dtype.is_complex or y.dtype == torch.bool:
        raise ValueError(f"{who}: labels must be an integer tensor (torch.long), got {y.dtype}")
    if y.numel() and (int(y.min()) < 0 or int(y.max()) >= scores.shape[1]):
        raise ValueError(
            f"{who}: labels must lie in 0..{scores.shape[1] - 1}, got min {int(y.min())}, max {int(y.max())}"
        )


def cross_entropy(scores: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    r"""Twin of `course_lib.scratch.losses.SoftmaxCrossEntropy`.

    .. math::

        L = \frac{1}{N} \sum_n \Big( \log \sum_c e^{s_{nc} - m_n} - (s_{n y_n} - m_n) \Big),
        \quad m_n = \max_c s_{nc}

    Shapes: ``scores`` (N, C), ``y`` (N,) long -> scalar. The row max ``m`` is subtracted for
    stability (log-sum-exp). Built-in: ``F.cross_entropy(scores, y)`` (also mean over N).
    """
    _check(scores, y, "cross_entropy")
    shifted = scores - scores.amax(dim=1, keepdim=True).detach()  # the loss does not depend on m
    log_probs = shifted - torch.log(torch.exp(shifted).sum(dim=1, keepdim=True))
    return -log_probs.gather(1, y.long()[:, None]).mean()


def multiclass_svm(scores: torch.Tensor, y: torch.Tensor, margin: float = 1.0) -> torch.Tensor:
    r"""Twin of `course_lib.scratch.losses.MulticlassSVM`.

    .. math::

        L = \frac{1}{N} \sum_n \sum_{j \ne y_n} \max(0,\; s_{nj} - s_{n y_n} + \Delta)

    Shapes: ``scores`` (N, C), ``y`` (N,) long -> scalar. Built-in:
    ``F.multi_margin_loss`` divides by C, so ``multiclass_svm(s, y) == C * F.multi_margin_loss(s, y)``.
    The subgradient at a kink is 0 (``torch.where``), as on the scratch side.
    """
    _check(scores, y, "multiclass_svm")
    margin = checks.real(margin, "margin", "multiclass_svm")
    correct = scores.gather(1, y.long()[:, None])  # (N, 1)
    margins = scores - correct + margin
    wrong_class = torch.ones_like(scores, dtype=torch.bool).scatter_(1, y.long()[:, None], False)
    margins = torch.where((margins > 0) & wrong_class, margins, torch.zeros_like(margins))
    return margins.sum() / scores.shape[0]
