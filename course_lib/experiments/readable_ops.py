r"""The ops of chapter 1 in their plainest form: the math, with nothing around it.

The library's ops (:mod:`course_lib.scratch.linear`, ``activations``, ``losses`` and
their torch twins) check their arguments, name what is wrong, and some of them save memory
with in-place arithmetic. Here are the same computations written for reading, with the
same contract, ``forward(*inputs) -> (out, cache)`` and ``backward(dout, cache) -> grads``.
The chapter shows these; ``tests/test_experiments.py`` checks that they give the library's
numbers (to rounding) and pass the gradient check. The cache is a plain tuple here; the
library keeps it in a frozen dataclass with named fields. NumPy classes first, then torch
functions (tensor methods only, so this module does not import torch).

Shapes as in the book: one example per row, ``x`` (N, D_in), ``W`` (D_in, D_out),
scores (N, C), labels ``y`` (N,) integers in ``0..C-1``.
"""
from __future__ import annotations

import numpy as np

__all__ = [
    "Linear",
    "MulticlassSVM",
    "Sigmoid",
    "SoftmaxCrossEntropy",
    "cross_entropy",
    "linear",
    "multiclass_svm",
]


class Linear:
    """``out = x W + b``.

    Backward: ``dx = dout W^T``, ``dW = x^T dout``, ``db`` = column sums of ``dout``.
    """

    @staticmethod
    def forward(x, w, b):
        out = x @ w + b  # (N, D_out)
        return out, (x, w)  # the cache: what the backward pass needs

    @staticmethod
    def backward(dout, cache):
        x, w = cache
        dx = dout @ w.T  # (N, D_in)
        dw = x.T @ dout  # (D_in, D_out)
        db = dout.sum(axis=0)  # (D_out,)
        return dx, dw, db


class Sigmoid:
    """``out = 1 / (1 + e^-x)``; the derivative is ``out (1 - out)``: cache ``out``."""

    @staticmethod
    def forward(x):
        out = 1.0 / (1.0 + np.exp(-x))
        return out, out

    @staticmethod
    def backward(dout, out):
        return (dout * out * (1.0 - out),)


class SoftmaxCrossEntropy:
    """The batch mean of ``-log p[y]``, ``p = softmax(scores)``.

    Backward: ``dscores = (p - onehot(y)) / N``.
    """

    @staticmethod
    def forward(scores, y):
        n = scores.shape[0]
        shifted = scores - scores.max(axis=1, keepdims=True)  # no overflow in exp
        log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        loss = -log_probs[np.arange(n), y].mean()
        return loss, (np.exp(log_probs), y)

    @staticmethod
    def backward(dout, cache):
        probs, y = cache
        n = probs.shape[0]
        dscores = probs.copy()
        dscores[np.arange(n), y] -= 1.0  # p - onehot(y)
        return (dscores * dout / n,)


class MulticlassSVM:
    """Mean over the batch of ``sum_{j != y} max(0, s_j - s_y + margin)``."""

    @staticmethod
    def forward(scores, y, margin=1.0):
        n = scores.shape[0]
        rows = np.arange(n)
        margins = np.maximum(0.0, scores - scores[rows, y][:, None] + margin)
        margins[rows, y] = 0.0  # the correct class does not compete with itself
        loss = margins.sum() / n
        return loss, (margins > 0, y)

    @staticmethod
    def backward(dout, cache):
        violated, y = cache
        n = violated.shape[0]
        dscores = violated.astype(np.float64)  # +1 for every violated margin
        dscores[np.arange(n), y] = -violated.sum(axis=1)  # -1 per violation
        return (dscores * dout / n,)


def linear(x, w, b):
    """``out = x W + b`` on tensors; autograd derives the backward pass."""
    return x @ w + b


def cross_entropy(scores, y):
    """Softmax cross-entropy on tensors, the batch mean (``F.cross_entropy``)."""
    shifted = scores - scores.amax(dim=1, keepdim=True)
    log_probs = shifted - shifted.exp().sum(dim=1, keepdim=True).log()
    return -log_probs.gather(1, y[:, None]).mean()


def multiclass_svm(scores, y, margin=1.0):
    """Multiclass hinge loss on tensors (``C * F.multi_margin_loss``)."""
    correct = scores.gather(1, y[:, None])  # (N, 1)
    margins = (scores - correct + margin).relu()
    margins = margins.scatter(1, y[:, None], 0.0)  # drop the correct class
    return margins.sum() / scores.shape[0]
