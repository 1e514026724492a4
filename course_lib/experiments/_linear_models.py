"""Small linear models trained by full-batch gradient descent, shared by the preprocessing experiments.

The experiments of the preprocessing chapter compare *inputs* (raw, centred, standardized,
leaked...) with everything else fixed. :func:`train_softmax` is a linear softmax classifier from the
scratch ops: scores ``x @ w + b`` (:class:`~course_lib.scratch.linear.Linear`) and
:class:`~course_lib.scratch.losses.SoftmaxCrossEntropy`; no randomness unless ``w0`` brings it.

:func:`one_blas_thread` runs a block with a single BLAS thread: these matrices are small (a few
hundred by a few dozen), where a second thread buys nothing and, on a busy 2-core machine, costs
up to a factor of three in waiting.
"""
from __future__ import annotations

import contextlib
import functools

import numpy as np

from course_lib.scratch.linear import Linear
from course_lib.scratch.losses import SoftmaxCrossEntropy


def train_softmax(x, y, n_classes: int, lr: float, steps: int, w0=None, threshold: float | None = None):
    """Full-batch gradient descent for at most ``steps`` steps.

    Stops early when the loss reaches ``threshold`` or diverges (non-finite or 10x the first loss).
    Returns ``(w, b, losses)`` with ``losses[t]`` the training loss before step t (so ``len(losses) - 1``
    steps were taken when the threshold is reached).
    """
    w = np.zeros((x.shape[1], n_classes)) if w0 is None else np.array(w0, dtype=np.float64)
    b = np.zeros(n_classes)
    losses = []
    for _ in range(steps + 1):
        scores, lin_cache = Linear.forward(x, w, b)
        with np.errstate(over="ignore", invalid="ignore"):
            loss, loss_cache = SoftmaxCrossEntropy.forward(scores, y)
        losses.append(float(loss))
        if len(losses) > steps or not np.isfinite(loss) or loss > 10 * losses[0]:
            break
        if threshold is not None and loss <= threshold:
            break
        (dscores,) = SoftmaxCrossEntropy.backward(1.0, loss_cache)
        _, dw, db = Linear.backward(dscores, lin_cache)
        w, b = w - lr * dw, b - lr * db
    return w, b, np.array(losses)


def accuracy(w, b, x, y) -> float:
    """Fraction of rows whose arg-max score is the label."""
    return float(np.mean(np.argmax(x @ w + b, axis=1) == y))


def one_blas_thread():
    """A context manager limiting BLAS (numpy's matrix products) to one thread, if threadpoolctl is there."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def single_blas_thread(func):
    """Decorator: run ``func`` inside :func:`one_blas_thread` (results are unchanged, only faster)."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        with one_blas_thread():
            return func(*args, **kwargs)

    return wrapper
