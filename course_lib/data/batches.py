"""Mini-batches from an injected random generator, for numpy (scratch) and for torch.

:func:`iterate_minibatches` cuts one epoch into mini-batches: a fresh permutation of the examples
from the ``np.random.Generator`` you pass, cut into consecutive slices. It draws exactly what the
scratch :class:`~course_lib.scratch.solver.Solver` draws, so with the same generator state both see
the same batches. :func:`to_torch_loader` wraps arrays in a ``torch.utils.data.DataLoader`` whose
batch order comes from ``np.random.default_rng(seed)`` in the same way: for one seed, the torch
loader's epochs are the numpy iterator's epochs, batch for batch.

torch is imported only inside :func:`to_torch_loader`, so importing :mod:`course_lib.data` never
loads it.
"""
from __future__ import annotations

from typing import Iterator

import numpy as np

from course_lib import checks


__all__ = ["iterate_minibatches", "to_torch_loader"]


def _check_xy(x, y) -> tuple[np.ndarray, np.ndarray]:
    x, y = np.asarray(x), np.asarray(y)
    if x.ndim < 1 or x.shape[0] == 0:
        raise ValueError(f"x must hold at least one example (first axis = examples), got shape {x.shape}")
    if y.ndim < 1 or y.shape[0] != x.shape[0]:
        raise ValueError(f"x has {x.shape[0]} examples but y has shape {y.shape}; they must match along axis 0")
    return x, y


def _epoch_indices(rng: np.random.Generator | None, n: int, batch_size: int, shuffle: bool,
                   drop_last: bool) -> Iterator[np.ndarray]:
    order = rng.permutation(n) if shuffle else np.arange(n)
    stop = n - n % batch_size if drop_last else n
    for start in range(0, stop, batch_size):
        yield order[start:start + batch_size]


def iterate_minibatches(rng, x, y, batch_size: int, shuffle: bool = True,
                        drop_last: bool = False) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    r"""One epoch of mini-batches ``(x[idx], y[idx])``.

    .. math::

        \pi = \mathrm{rng.permutation}(N), \qquad
        B_k = \pi[kB : (k+1)B], \quad k = 0, 1, \dots, \lceil N/B \rceil - 1

    ``x`` is ``(N, ...)`` and ``y`` ``(N, ...)``; every batch holds ``batch_size`` examples except
    possibly the last (dropped when ``drop_last``). With ``shuffle=False`` the order is 0..N-1 and
    ``rng`` may be None. Call it once per epoch with the same generator for a new order each epoch.
    PyTorch's equivalent is ``DataLoader(dataset, batch_size, shuffle, drop_last)``; see
    :func:`to_torch_loader`.
    """
    if shuffle or rng is not None:
        checks.generator(rng, who="iterate_minibatches")
    batch_size = checks.integer(batch_size, "batch_size", "iterate_minibatches", minimum=1)
    x, y = _check_xy(x, y)
    if drop_last and batch_size > x.shape[0]:
        raise ValueError(f"drop_last=True with batch_size {batch_size} > {x.shape[0]} examples leaves no batch")
    for idx in _epoch_indices(rng, x.shape[0], batch_size, shuffle, drop_last):
        yield x[idx], y[idx]


def to_torch_loader(x, y, batch_size: int, seed: int = 0, device=None, shuffle: bool = True,
                    drop_last: bool = False, dtype=None):
    """A ``torch.utils.data.DataLoader`` over ``TensorDataset(x, y)`` with a seeded batch order.

    Each pass over the loader is one epoch; its batches are those of :func:`iterate_minibatches`
    called with ``np.random.default_rng(seed)`` (one call per epoch), so numpy and torch training
    runs can share their mini-batches exactly. The global torch and numpy generators are not used.
    ``x`` becomes a tensor of ``dtype`` (default: x's own dtype, float64 for the course's arrays),
    ``y`` an int64 tensor when it holds integers; both are moved to ``device`` (default CPU) once.
    """
    batch_size = checks.integer(batch_size, "batch_size", "to_torch_loader", minimum=1)
    seed = checks.integer(seed, "seed", "to_torch_loader", minimum=0)
    x, y = _check_xy(x, y)
    if drop_last and batch_size > x.shape[0]:
        raise ValueError(f"drop_last=True with batch_size {batch_size} > {x.shape[0]} examples leaves no batch")
    from ._torch_loader import make_loader  # torch is imported here, not when course_lib.data is

    return make_loader(x, y, batch_size, seed, device, shuffle, drop_last, dtype, _epoch_indices)
