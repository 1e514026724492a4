r"""Classification losses on raw class scores, with explicit backward passes.

Both take ``scores`` (N, C) float and integer labels ``y`` (N,) in ``0..C-1`` and return the
MEAN loss over the N examples as a scalar; ``backward(dout, cache)`` takes the scalar
upstream gradient (1.0 when the loss is the end of the graph) and returns ``(dscores,)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from course_lib import checks

__all__ = ["SoftmaxCrossEntropy", "SoftmaxCrossEntropyCache", "MulticlassSVM", "MulticlassSVMCache", "check_labels"]


def check_labels(y: np.ndarray, n: int, num_classes: int, who: str = "labels") -> np.ndarray:
    """Validate class labels: 1-D, ``n`` of them, integers in ``0..num_classes-1``.

    Returns ``y`` as an int64 array, or raises a ``ValueError`` that says what is wrong.
    Float arrays holding whole numbers (e.g. ``2.0``) are accepted; ``2.5`` or booleans are not.
    """
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"{who}: labels y must be 1-D (N,), got shape {y.shape}")
    if y.shape[0] != n:
        raise ValueError(f"{who}: {y.shape[0]} labels for {n} examples")
    if y.dtype == bool or not (np.issubdtype(y.dtype, np.integer) or np.issubdtype(y.dtype, np.floating)):
        raise ValueError(f"{who}: labels must be integers, got dtype {y.dtype}")
    if np.issubdtype(y.dtype, np.floating):
        if not np.all(np.isfinite(y)) or np.any(y != np.round(y)):
            raise ValueError(
                f"{who}: labels must be integers, got non-integer values such as {y[y != np.round(y)][:3]}"
            )
    if y.size and (y.min() < 0 or y.max() >= num_classes):
        bad = y[(y < 0) | (y >= num_classes)]
        raise ValueError(f"{who}: labels must lie in 0..{num_classes - 1}, got {bad[:5].tolist()}")
    return y.astype(np.int64)


def _check_scores(scores: np.ndarray, who: str) -> np.ndarray:
    scores = checks.float_array(scores, "scores", who)
    if scores.ndim != 2:
        raise ValueError(f"{who}: scores must be 2-D (N, C), got shape {scores.shape}")
    if scores.shape[0] < 1 or scores.shape[1] < 1:
        raise ValueError(f"{who}: scores need at least one example and one class, got shape {scores.shape}")
    return scores


def _check_scalar_dout(dout: float, who: str) -> float:
    if np.ndim(dout) != 0:
        raise ValueError(f"{who}.backward: the loss is a scalar, so dout must be a scalar, got shape {np.shape(dout)}")
    if np.asarray(dout).dtype.kind not in "iuf":
        raise TypeError(f"{who}.backward: dout must be a real number, got {dout!r}")
    return float(dout)


@dataclass(frozen=True, eq=False)
class SoftmaxCrossEntropyCache:
    probs: np.ndarray  # (N, C) softmax probabilities, rows sum to 1
    y: np.ndarray  # (N,) int64 labels


class SoftmaxCrossEntropy:
    r"""Softmax followed by the negative log-likelihood of the correct class, averaged over N.

    .. math::

        L = \frac{1}{N} \sum_{n} \Big( \log \sum_{c} e^{s_{nc}} - s_{n y_n} \Big), \qquad
        \frac{\partial L}{\partial s_{nc}} = \frac{1}{N}\big(p_{nc} - [c = y_n]\big),
        \quad p_{nc} = \frac{e^{s_{nc}}}{\sum_{c'} e^{s_{nc'}}}

    Shapes: ``scores`` (N, C) float, ``y`` (N,) int in ``0..C-1`` -> scalar loss.

    Numerical stability: softmax is unchanged when a constant is subtracted from a row,
    so we subtract the row maximum before exponentiating (the log-sum-exp trick). The
    largest exponent is then ``exp(0) = 1``: logits of 1000 give a finite, exact loss
    instead of ``inf / inf = nan``.

    PyTorch convention: ``F.cross_entropy(scores, y)`` takes raw scores (logits), not
    probabilities, and averages over the batch (``reduction="mean"``), exactly like this op.

    Reference: the softmax output with cross-entropy error, Bridle (1990); see Goodfellow,
    Bengio & Courville (2016), Sec. 6.2.2.3.
    """

    @staticmethod
    def forward(scores: np.ndarray, y: np.ndarray) -> tuple[np.float64, SoftmaxCrossEntropyCache]:
        scores = _check_scores(scores, "SoftmaxCrossEntropy")
        n, c = scores.shape
        y = check_labels(y, n, c, "SoftmaxCrossEntropy")
        shifted = scores - scores.max(axis=1, keepdims=True)  # (N, C), each row's max is 0
        log_norm = np.log(np.exp(shifted).sum(axis=1, keepdims=True))  # (N, 1), in [0, log C]
        log_probs = shifted - log_norm  # (N, C)
        loss = -log_probs[np.arange(n), y].mean()
        return np.float64(loss), SoftmaxCrossEntropyCache(probs=np.exp(log_probs), y=y)

    @staticmethod
    def backward(dout: float, cache: SoftmaxCrossEntropyCache) -> tuple[np.ndarray]:
        dout = _check_scalar_dout(dout, "SoftmaxCrossEntropy")
        n = cache.probs.shape[0]
        dscores = cache.probs.copy()  # (N, C)
        dscores[np.arange(n), cache.y] -= 1.0
        return (dscores * (dout / n),)


@dataclass(frozen=True, eq=False)
class MulticlassSVMCache:
    active: np.ndarray  # (N, C) bool: margin violated (> 0) for a wrong class
    y: np.ndarray  # (N,) int64 labels


class MulticlassSVM:
    r"""Multiclass hinge loss in the Weston-Watkins form, averaged over N.

    .. math::

        L = \frac{1}{N} \sum_n \sum_{j \ne y_n} \max\big(0,\; s_{nj} - s_{n y_n} + \Delta\big),
        \qquad
        \frac{\partial L}{\partial s_{nj}} = \frac{1}{N}
        \begin{cases} [\,m_{nj} > 0\,] & j \ne y_n \\ -\sum_{k \ne y_n} [\,m_{nk} > 0\,] & j = y_n \end{cases}

    with :math:`m_{nj} = s_{nj} - s_{n y_n} + \Delta` and :math:`\Delta` = ``margin``.
    At a kink (:math:`m = 0` exactly) we take the subgradient 0.

    Shapes: ``scores`` (N, C) float, ``y`` (N,) int in ``0..C-1`` -> scalar loss.

    PyTorch convention: ``F.multi_margin_loss`` (p=1) also DIVIDES each example's sum by the
    number of classes C, so ``MulticlassSVM.forward(s, y)[0] == C * F.multi_margin_loss(s, y)``.
    (This is the form of Stanford's CS231n notes and of the slides.)

    Reference: Weston & Watkins (1999), "Support vector machines for multi-class pattern
    recognition".
    """

    @staticmethod
    def forward(scores: np.ndarray, y: np.ndarray, margin: float = 1.0) -> tuple[np.float64, MulticlassSVMCache]:
        scores = _check_scores(scores, "MulticlassSVM")
        n, c = scores.shape
        y = check_labels(y, n, c, "MulticlassSVM")
        margin = checks.real(margin, "margin", "MulticlassSVM")
        rows = np.arange(n)
        margins = scores - scores[rows, y][:, None] + margin  # (N, C)
        margins[rows, y] = 0.0  # the correct class does not compete with itself
        margins = np.maximum(margins, 0.0)
        loss = margins.sum() / n
        return np.float64(loss), MulticlassSVMCache(active=margins > 0, y=y)

    @staticmethod
    def backward(dout: float, cache: MulticlassSVMCache) -> tuple[np.ndarray]:
        dout = _check_scalar_dout(dout, "MulticlassSVM")
        n = cache.active.shape[0]
        dscores = cache.active.astype(np.float64)  # (N, C): +1 for every violating wrong class
        dscores[np.arange(n), cache.y] = -dscores.sum(axis=1)  # the correct score is pulled up once per violation
        return (dscores * (dout / n),)
