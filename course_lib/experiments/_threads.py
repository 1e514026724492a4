"""One BLAS thread for the small matrix products of the experiments.

Their matrices are small (a few hundred rows by a few dozen columns), where a second thread
buys nothing and, on a busy 2-core machine, costs up to a factor of three in waiting. The
results are the same with one thread or several; only the time changes.
"""
from __future__ import annotations

import contextlib
import functools
from typing import Any, Callable

__all__ = ["one_blas_thread", "single_blas_thread"]


def one_blas_thread() -> Any:
    """A context manager limiting BLAS (numpy's matrix products) to one thread, if threadpoolctl is there."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def single_blas_thread(func: Callable[..., Any]) -> Callable[..., Any]:
    """Decorator: run ``func`` inside :func:`one_blas_thread` (results are unchanged, only faster)."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        with one_blas_thread():
            return func(*args, **kwargs)

    return wrapper
