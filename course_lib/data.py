"""Datasets for the course: embedded, generated locally, or synthetic.

Everything here is numpy (plus scikit-learn for the embedded digits); nothing imports torch.

* :func:`load_digits` -- scikit-learn's 1797 8x8 handwritten digits, flattened to 64 features.
* :func:`load_mnist1d` -- MNIST-1D (Greydanus & Kobak), generated locally, never downloaded.
* ``make_*`` -- small synthetic 2-D problems for decision-boundary pictures. Each takes an
  ``np.random.Generator`` and returns ``(x, y)`` with ``x`` float64 ``(n, 2)`` and ``y`` int64 ``(n,)``.

Randomness rule of the whole package: nothing here reads or writes numpy's or Python's *global*
random state. Loaders take an integer ``seed``; generators take an ``np.random.Generator``.

Conventions: features are float64, labels int64 in ``0..C-1``; every split is a :class:`Splits`.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field
from numbers import Integral, Real

import numpy as np

__all__ = [
    "Splits",
    "load_digits",
    "load_mnist1d",
    "make_spirals",
    "make_xor",
    "make_blobs",
    "make_moons",
    "make_linearly_separable",
]


# --------------------------------------------------------------------------------------------
# The container
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class Splits:
    """A dataset split three ways: train / validation / test.

    Arrays: ``x_*`` float64 ``(N_*, D)``, ``y_*`` int64 ``(N_*,)`` with labels in ``0..C-1``.
    ``classes`` names the labels in order (``classes[k]`` is the name of label ``k``);
    ``name`` says where the data came from.
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    classes: tuple = ()
    name: str = ""
    info: dict = field(default_factory=dict)

    def __post_init__(self):
        for part in ("train", "val", "test"):
            x, y = getattr(self, f"x_{part}"), getattr(self, f"y_{part}")
            if x.shape[0] != y.shape[0]:
                raise ValueError(f"x_{part} has {x.shape[0]} rows but y_{part} has {y.shape[0]}")
        if not self.classes:
            labels = np.unique(np.concatenate([self.y_train, self.y_val, self.y_test]))
            object.__setattr__(self, "classes", tuple(str(int(k)) for k in labels))

    @property
    def n_classes(self) -> int:
        """Number of classes C."""
        return len(self.classes)

    @property
    def n_features(self) -> int:
        """Number of features D of one (flattened) example."""
        return int(np.prod(self.x_train.shape[1:]))

    def as_dict(self) -> dict:
        """The six arrays as a plain dict (the form ``Solver`` takes as ``data``)."""
        return {k: getattr(self, k) for k in ("x_train", "y_train", "x_val", "y_val", "x_test", "y_test")}

    def describe(self) -> str:
        """A short human-readable summary: sizes, shapes, dtypes, value range, class balance."""
        lines = [f"{self.name or 'dataset'}: {self.n_classes} classes, {self.n_features} features"]
        for part in ("train", "val", "test"):
            x, y = getattr(self, f"x_{part}"), getattr(self, f"y_{part}")
            counts = np.bincount(y, minlength=self.n_classes) if y.size else np.zeros(self.n_classes, int)
            lo, hi = (float(x.min()), float(x.max())) if x.size else (float("nan"), float("nan"))
            lines.append(
                f"  {part:<5} x {tuple(x.shape)} {x.dtype}, range [{lo:.3g}, {hi:.3g}]; "
                f"y {tuple(y.shape)} {y.dtype}, per class {counts.min()}..{counts.max()}"
            )
        return "\n".join(lines)

    def __repr__(self) -> str:  # arrays are too long for the default dataclass repr
        return (f"Splits(name={self.name!r}, train={len(self.y_train)}, val={len(self.y_val)}, "
                f"test={len(self.y_test)}, n_classes={self.n_classes}, n_features={self.n_features})")


# --------------------------------------------------------------------------------------------
# Argument checks
# --------------------------------------------------------------------------------------------
def _check_rng(rng) -> None:
    if not isinstance(rng, np.random.Generator):
        raise TypeError(
            f"rng must be a numpy Generator (np.random.default_rng(seed)), got {type(rng).__name__}"
        )


def _check_int(name: str, value, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


def _check_nonneg(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, Real) or not np.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return float(value)


def _check_seed(seed) -> int:
    return _check_int("seed", seed, 0)


# --------------------------------------------------------------------------------------------
# Splitting
# --------------------------------------------------------------------------------------------
def _stratified_split(y: np.ndarray, n_take: int, rng: np.random.Generator):
    """Split indices ``0..len(y)-1`` into (rest, taken) with ``len(taken) == n_take``.

    The taken part has the class proportions of ``y`` up to rounding (largest remainders),
    so every class is represented as evenly as the sizes allow. Both parts are returned shuffled.
    """
    classes, counts = np.unique(y, return_counts=True)
    quota = counts * n_take / len(y)
    take = np.floor(quota).astype(int)
    short = n_take - take.sum()
    if short:
        order = np.argsort(-(quota - take), kind="stable")
        take[order[:short]] += 1
    taken, rest = [], []
    for k, t in zip(classes, take):
        idx = rng.permutation(np.flatnonzero(y == k))
        taken.append(idx[:t])
        rest.append(idx[t:])
    taken = rng.permutation(np.concatenate(taken))
    rest = rng.permutation(np.concatenate(rest))
    return rest, taken


def _standardize(x_train, *others):
    """Standardize with TRAIN statistics; constant features are only centred (std taken as 1)."""
    mean = x_train.mean(axis=0)
    std = x_train.std(axis=0)
    std = np.where(std > 0, std, 1.0)
    return tuple((x - mean) / std for x in (x_train, *others)), mean, std


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
    seed = _check_seed(seed)
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
    seed = _check_seed(seed)
    n_val = _check_int("n_val", n_val, 0)
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


# --------------------------------------------------------------------------------------------
# Synthetic 2-D problems
# --------------------------------------------------------------------------------------------
def _per_class(n: int, classes: int) -> list[int]:
    """Split n as evenly as possible over the classes (the first ones get the remainder)."""
    return [n // classes + (1 if k < n % classes else 0) for k in range(classes)]


def _finish(rng, xs, ys):
    x = np.concatenate(xs).astype(np.float64)
    y = np.concatenate(ys).astype(np.int64)
    order = rng.permutation(len(y))
    return x[order], y[order]


def make_spirals(rng: np.random.Generator, n: int, classes: int = 3, noise: float = 0.2):
    """``classes`` interleaved spiral arms around the origin, ``n`` points in all.

    Arm ``k`` runs from the origin to radius 1 while its angle sweeps 4 radians from ``4k``;
    Gaussian noise of std ``noise`` (radians) is added to the angles. Points are shuffled.
    """
    _check_rng(rng)
    classes = _check_int("classes", classes, 2)
    n = _check_int("n", n, classes)
    noise = _check_nonneg("noise", noise)
    xs, ys = [], []
    for k, m in enumerate(_per_class(n, classes)):
        r = np.linspace(0.0, 1.0, m)
        t = np.linspace(4.0 * k, 4.0 * (k + 1), m) + noise * rng.standard_normal(m)
        xs.append(np.column_stack([r * np.sin(t), r * np.cos(t)]))
        ys.append(np.full(m, k))
    return _finish(rng, xs, ys)


def make_xor(rng: np.random.Generator, n: int, noise: float = 0.25):
    """Four Gaussian clouds at (+-1, +-1); label 1 where the signs of the two coordinates differ.

    ``noise`` is the std of each cloud. No line separates the two classes.
    """
    _check_rng(rng)
    n = _check_int("n", n, 1)
    noise = _check_nonneg("noise", noise)
    corners = np.array([[-1.0, -1.0], [1.0, 1.0], [-1.0, 1.0], [1.0, -1.0]])
    labels = np.array([0, 0, 1, 1])
    xs, ys = [], []
    for corner, label, m in zip(corners, labels, _per_class(n, 4)):
        xs.append(corner + noise * rng.standard_normal((m, 2)))
        ys.append(np.full(m, label))
    return _finish(rng, xs, ys)


def make_blobs(rng: np.random.Generator, n: int, centers=3, std: float = 0.5):
    """Isotropic Gaussian blobs, one class per centre.

    ``centers`` is either an int ``k >= 2`` (the centres are then spread evenly on a circle of
    radius 2.5) or an array ``(k, 2)`` of centres. ``std`` is the std of every blob.
    """
    _check_rng(rng)
    if isinstance(centers, Integral) and not isinstance(centers, bool):
        k = _check_int("centers", centers, 2)
        angle = 2 * np.pi * np.arange(k) / k + np.pi / 2
        centers = 2.5 * np.column_stack([np.cos(angle), np.sin(angle)])
    else:
        centers = np.asarray(centers, dtype=np.float64)
        if centers.ndim != 2 or centers.shape[1] != 2 or centers.shape[0] < 2:
            raise ValueError(f"centers must be an int >= 2 or an array (k>=2, 2), got shape {centers.shape}")
        if not np.all(np.isfinite(centers)):
            raise ValueError("centers must be finite")
    n = _check_int("n", n, len(centers))
    std = _check_nonneg("std", std)
    xs, ys = [], []
    for label, (c, m) in enumerate(zip(centers, _per_class(n, len(centers)))):
        xs.append(c + std * rng.standard_normal((m, 2)))
        ys.append(np.full(m, label))
    return _finish(rng, xs, ys)


def make_moons(rng: np.random.Generator, n: int, noise: float = 0.1):
    """Two interleaving half circles (like ``sklearn.datasets.make_moons``), Gaussian noise ``noise``.

    Class 0 is the upper arc centred at (0, 0), class 1 the lower arc centred at (1, 0.5).
    """
    _check_rng(rng)
    n = _check_int("n", n, 2)
    noise = _check_nonneg("noise", noise)
    m0, m1 = _per_class(n, 2)
    t0 = np.linspace(0, np.pi, m0)
    t1 = np.linspace(0, np.pi, m1)
    x0 = np.column_stack([np.cos(t0), np.sin(t0)])
    x1 = np.column_stack([1 - np.cos(t1), 0.5 - np.sin(t1)])
    xs = [x0 + noise * rng.standard_normal(x0.shape), x1 + noise * rng.standard_normal(x1.shape)]
    return _finish(rng, xs, [np.zeros(m0), np.ones(m1)])


def make_linearly_separable(rng: np.random.Generator, n: int, margin: float = 0.5):
    """Two classes separated by a random line, with an empty band of width ``margin`` between them.

    The line has a random direction and does not pass through the origin (so a bias is needed).
    Every point lies at distance at least ``margin / 2`` from it: label 1 on the side the normal
    points to, label 0 on the other side. Half the points (rounded up) are in class 0.
    """
    _check_rng(rng)
    n = _check_int("n", n, 2)
    margin = _check_nonneg("margin", margin)
    theta = rng.uniform(0, 2 * np.pi)
    normal = np.array([np.cos(theta), np.sin(theta)])
    tangent = np.array([-normal[1], normal[0]])
    offset = rng.uniform(-1.0, 1.0, size=2)  # a point of the separating line
    m0, m1 = _per_class(n, 2)
    xs, ys = [], []
    for label, m, sign in ((0, m0, -1.0), (1, m1, 1.0)):
        u = sign * (margin / 2 + rng.uniform(0.0, 2.0, m))  # signed distance to the line
        v = rng.uniform(-2.0, 2.0, m)  # position along the line
        xs.append(offset + u[:, None] * normal + v[:, None] * tangent)
        ys.append(np.full(m, label))
    return _finish(rng, xs, ys)
