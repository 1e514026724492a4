"""The container of every data set in the course, :class:`Splits`, and the helpers that cut one.

A :class:`Splits` checks itself when it is built, so a bad array fails at once with a message that
names it (wrong shapes, NaN or inf, labels out of range, an empty split), instead of producing a NaN
loss twenty cells later.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["Splits"]

_PARTS = ("train", "val", "test")


def _check_part(part: str, x, y) -> None:
    """Shape, dtype and value checks of one split (x: (N, ...) real numbers; y: (N,) integer labels)."""
    if not isinstance(x, np.ndarray) or not isinstance(y, np.ndarray):
        raise TypeError(f"Splits: x_{part} and y_{part} must be numpy arrays, got "
                        f"{type(x).__name__} and {type(y).__name__}")
    if x.ndim < 2:
        raise ValueError(f"Splits: x_{part} must have one row per example, shape (N, D) or (N, C, H, W); "
                         f"got shape {x.shape}")
    if x.dtype == bool or not np.issubdtype(x.dtype, np.number) or np.issubdtype(x.dtype, np.complexfloating):
        raise ValueError(f"Splits: x_{part} must hold real numbers, got dtype {x.dtype}")
    if y.ndim != 1:
        raise ValueError(f"Splits: y_{part} must be 1-D (one label per example), got shape {y.shape}")
    if y.dtype == bool or not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"Splits: y_{part} must hold integer class labels, got dtype {y.dtype}")
    if x.shape[0] != y.shape[0]:
        raise ValueError(f"x_{part} has {x.shape[0]} rows but y_{part} has {y.shape[0]}")
    if np.issubdtype(x.dtype, np.floating):
        bad = int(np.count_nonzero(~np.isfinite(x)))
        if bad:
            raise ValueError(f"Splits: x_{part} contains {bad} NaN or infinite value(s)")
    if y.size and y.min() < 0:
        raise ValueError(f"Splits: y_{part} has a negative label ({y.min()}); labels must be 0..C-1")


@dataclass(frozen=True, eq=False)
class Splits:
    """A dataset split three ways: train / validation / test.

    Arrays: ``x_*`` ``(N_*, D)`` (or ``(N_*, C, H, W)`` for images, PyTorch's NCHW layout) of real
    numbers, float64 unless a loader says otherwise; ``y_*`` integer ``(N_*,)`` with labels in
    ``0..C-1``. ``classes`` names the labels in order (``classes[k]`` is the name of label ``k``);
    ``name`` says where the data came from.

    Checked when built (``ValueError`` naming the problem): one label per row, the same example
    shape in every split, no NaN or inf, labels in ``0..len(classes)-1``, a non-empty training and
    test split (the validation split may be empty: a data set without one).
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
        for part in _PARTS:
            _check_part(part, getattr(self, f"x_{part}"), getattr(self, f"y_{part}"))
        for part in ("train", "test"):
            if getattr(self, f"y_{part}").shape[0] == 0:
                raise ValueError(f"Splits: the {part} split is empty; it needs at least one example")
        shapes = {part: getattr(self, f"x_{part}").shape[1:] for part in _PARTS}
        if len(set(shapes.values())) != 1:
            raise ValueError(f"Splits: every split needs the same example shape, got {shapes}")
        if not self.classes:
            labels = np.unique(np.concatenate([self.y_train, self.y_val, self.y_test]))
            object.__setattr__(self, "classes", tuple(str(int(k)) for k in labels))
        else:
            object.__setattr__(self, "classes", tuple(self.classes))
            for part in _PARTS:
                y = getattr(self, f"y_{part}")
                if y.size and y.max() >= len(self.classes):
                    raise ValueError(f"Splits: y_{part} has label {y.max()}, but there are only "
                                     f"{len(self.classes)} classes (labels 0..{len(self.classes) - 1})")

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
        for part in _PARTS:
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
