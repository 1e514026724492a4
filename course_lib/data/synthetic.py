"""Small synthetic 2-D problems for decision-boundary pictures.

Each maker takes an ``np.random.Generator`` and returns ``(x, y)`` with ``x`` float64 ``(n, 2)``
and ``y`` int64 ``(n,)``; classes are balanced up to rounding and the points are shuffled.
"""
from __future__ import annotations

import numpy as np

from course_lib import checks

__all__ = ["make_spirals", "make_xor", "make_blobs", "make_moons", "make_linearly_separable"]


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
    checks.generator(rng, who="make_spirals")
    classes = checks.integer(classes, "classes", "make_spirals", minimum=2)
    n = checks.integer(n, "n", "make_spirals", minimum=classes)
    noise = checks.real(noise, "noise", "make_spirals", minimum=0)
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
    checks.generator(rng, who="make_xor")
    n = checks.integer(n, "n", "make_xor", minimum=1)
    noise = checks.real(noise, "noise", "make_xor", minimum=0)
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
    checks.generator(rng, who="make_blobs")
    if checks.is_integer(centers):
        k = checks.integer(centers, "centers", "make_blobs", minimum=2)
        angle = 2 * np.pi * np.arange(k) / k + np.pi / 2
        centers = 2.5 * np.column_stack([np.cos(angle), np.sin(angle)])
    else:
        centers = np.asarray(centers, dtype=np.float64)
        if centers.ndim != 2 or centers.shape[1] != 2 or centers.shape[0] < 2:
            raise ValueError(f"centers must be an int >= 2 or an array (k>=2, 2), got shape {centers.shape}")
        if not np.all(np.isfinite(centers)):
            raise ValueError("centers must be finite")
    n = checks.integer(n, "n", "make_blobs", minimum=len(centers))
    std = checks.real(std, "std", "make_blobs", minimum=0)
    xs, ys = [], []
    for label, (c, m) in enumerate(zip(centers, _per_class(n, len(centers)))):
        xs.append(c + std * rng.standard_normal((m, 2)))
        ys.append(np.full(m, label))
    return _finish(rng, xs, ys)


def make_moons(rng: np.random.Generator, n: int, noise: float = 0.1):
    """Two interleaving half circles (like ``sklearn.datasets.make_moons``), Gaussian noise ``noise``.

    Class 0 is the upper arc centred at (0, 0), class 1 the lower arc centred at (1, 0.5).
    """
    checks.generator(rng, who="make_moons")
    n = checks.integer(n, "n", "make_moons", minimum=2)
    noise = checks.real(noise, "noise", "make_moons", minimum=0)
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
    checks.generator(rng, who="make_linearly_separable")
    n = checks.integer(n, "n", "make_linearly_separable", minimum=2)
    margin = checks.real(margin, "margin", "make_linearly_separable", minimum=0)
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
