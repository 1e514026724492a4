"""Embedded data, offline: scikit-learn's 8x8 digits, and MNIST-1D generated on the spot.

Neither touches the network or the global random state; both return a :class:`~course_lib.data.Splits`.
"""
from __future__ import annotations

import random

import numpy as np

from course_lib import checks

from .splits import Splits, _standardize, _stratified_split

__all__ = ["DIGITS_SIZES", "load_digits", "load_mnist1d"]

# --------------------------------------------------------------------------------------------
# Embedded: scikit-learn digits
# --------------------------------------------------------------------------------------------
DIGITS_SIZES = (1077, 360, 360)  # train / val / test, 1797 in total


def load_digits(seed: int = 0, scale: str = "unit") -> Splits:
    """scikit-learn's 8x8 digits as a stratified 1077 / 360 / 360 split.

    Parameters
    ----------
    seed:
        seeds the split (a local ``np.random.Generator``; the global RNGs are not touched).
    scale:
        ``"unit"`` -- pixel intensities 0..16 divided by 16, so features lie in [0, 1];
        ``"standard"`` -- each feature standardized with the mean and std of the TRAIN split
        (constant pixels are only centred);
        ``"raw"`` -- the original 0..16 values as float64.

    Returns
    -------
    Splits with ``x_*`` float64 ``(N, 64)`` and ``y_*`` int64, classes ``"0"``..``"9"``.
    """
    seed = checks.integer(seed, "seed", "load_digits", minimum=0)
    if scale not in ("unit", "standard", "raw"):
        raise ValueError(f"scale must be 'unit', 'standard' or 'raw', got {scale!r}")
    from sklearn.datasets import load_digits as _sk_load_digits

    bunch = _sk_load_digits()
    x = np.asarray(bunch.data, dtype=np.float64)
    y = np.asarray(bunch.target, dtype=np.int64)
    n_train, n_val, n_test = DIGITS_SIZES
    assert n_train + n_val + n_test == len(y)

    rng = np.random.default_rng(seed)
    rest, test = _stratified_split(y, n_test, rng)
    rest_train, rest_val = _stratified_split(y[rest], n_val, rng)
    train, val = rest[rest_train], rest[rest_val]

    xs = x[train], x[val], x[test]
    info = {"seed": seed, "scale": scale, "source": "sklearn.datasets.load_digits"}
    if scale == "unit":
        xs = tuple(a / 16.0 for a in xs)
    elif scale == "standard":
        xs, mean, std = _standardize(*xs)
        info.update(mean=mean, std=std)
    return Splits(
        x_train=xs[0], y_train=y[train], x_val=xs[1], y_val=y[val], x_test=xs[2], y_test=y[test],
        classes=tuple(str(k) for k in range(10)), name=f"digits ({scale})", info=info,
    )


# --------------------------------------------------------------------------------------------
# Generated locally: MNIST-1D
# --------------------------------------------------------------------------------------------
def load_mnist1d(seed: int = 42, n_val: int = 500) -> Splits:
    """MNIST-1D generated on the spot with the paper's default arguments (no download).

    ``mnist1d.data.make_dataset`` seeds numpy's and Python's *global* random generators as a side
    effect; this wrapper saves both states before the call and restores them afterwards, so
    calling it changes nothing outside. With ``seed=42`` (the default) the data are those of the
    paper's frozen file: 4000 training and 1000 test signals of length 40. The validation set
    (``n_val`` signals, stratified) is carved out of the 4000 training signals; the test set is the
    paper's.
    """
    seed = checks.integer(seed, "seed", "load_mnist1d", minimum=0)
    n_val = checks.integer(n_val, "n_val", "load_mnist1d", minimum=0)
    # imported lazily: mnist1d pulls in matplotlib.pyplot, requests and scipy at import time
    from mnist1d.data import get_dataset_args, make_dataset

    args = get_dataset_args()
    args.seed = seed
    n_train_total = int(args.num_samples * args.train_split)
    if n_val >= n_train_total:
        raise ValueError(f"n_val must be smaller than the {n_train_total} training signals, got {n_val}")
    np_state = np.random.get_state()
    py_state = random.getstate()
    try:
        raw = make_dataset(args)
    finally:
        np.random.set_state(np_state)
        random.setstate(py_state)

    x = np.asarray(raw["x"], dtype=np.float64)
    y = np.asarray(raw["y"], dtype=np.int64)
    rng = np.random.default_rng(seed)
    train, val = _stratified_split(y, n_val, rng)
    return Splits(
        x_train=x[train], y_train=y[train], x_val=x[val], y_val=y[val],
        x_test=np.asarray(raw["x_test"], dtype=np.float64),
        y_test=np.asarray(raw["y_test"], dtype=np.int64),
        classes=tuple(str(k) for k in range(10)), name="mnist1d",
        info={"seed": seed, "source": "mnist1d.data.make_dataset", "t": np.asarray(raw["t"])},
    )

