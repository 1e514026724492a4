"""Datasets for the course: embedded, generated locally, synthetic, or real ones fetched into a cache.

Everything here is numpy (plus scikit-learn for the embedded digits); importing it never imports torch.

* :func:`load_digits` -- scikit-learn's 1797 8x8 handwritten digits, flattened to 64 features.
* :func:`load_mnist1d` -- MNIST-1D (Greydanus & Kobak), generated locally, never downloaded.
* ``make_*`` -- small synthetic 2-D problems for decision-boundary pictures. Each takes an
  ``np.random.Generator`` and returns ``(x, y)`` with ``x`` float64 ``(n, 2)`` and ``y`` int64 ``(n,)``.
* :func:`load_mnist`, :func:`load_fashion_mnist`, :func:`load_cifar10` -- the real data sets from
  their official files, downloaded once into a cache directory and checked against their published
  SHA-256 (see :mod:`course_lib.data.download`; the book never needs them).
* :func:`iterate_minibatches` (numpy) and :func:`to_torch_loader` (a torch ``DataLoader``) --
  mini-batches in an order drawn from an injected generator.

Randomness rule of the whole package: nothing here reads or writes numpy's or Python's *global*
random state. Loaders take an integer ``seed``; generators take an ``np.random.Generator``.

Conventions: features are float64 (the real image sets: float32 by default, see their loaders),
labels int64 in ``0..C-1``; every split is a :class:`Splits`, which checks its arrays when built.

The package's modules: :mod:`~course_lib.data.splits` (the container), ``embedded``, ``synthetic``,
``formats`` (IDX and CIFAR readers), ``download`` (cache, checksums, atomic downloads), ``real``
(the three loaders), ``batches``.
"""
from __future__ import annotations

from .batches import iterate_minibatches, to_torch_loader
from .download import (
    CACHE_ENV_VAR,
    ChecksumError,
    DatasetError,
    DownloadError,
    RemoteDataset,
    RemoteFile,
    fetch_dataset,
    resolve_cache_dir,
    sha256_of,
)
from .embedded import DIGITS_SIZES, load_digits, load_mnist1d
from .formats import read_cifar10_archive, read_idx
from .real import CIFAR10, DATASETS, FASHION_MNIST, MNIST, load_cifar10, load_fashion_mnist, load_mnist
from .splits import Splits
from .synthetic import make_blobs, make_linearly_separable, make_moons, make_spirals, make_xor

__all__ = [
    "Splits",
    "load_digits",
    "load_mnist1d",
    "make_spirals",
    "make_xor",
    "make_blobs",
    "make_moons",
    "make_linearly_separable",
    "load_mnist",
    "load_fashion_mnist",
    "load_cifar10",
    "iterate_minibatches",
    "to_torch_loader",
    "read_idx",
    "read_cifar10_archive",
    "resolve_cache_dir",
    "fetch_dataset",
    "sha256_of",
    "CACHE_ENV_VAR",
    "DatasetError",
    "DownloadError",
    "ChecksumError",
    "RemoteDataset",
    "RemoteFile",
    "MNIST",
    "FASHION_MNIST",
    "CIFAR10",
    "DATASETS",
    "DIGITS_SIZES",
]
