r"""The five pictures of input preprocessing, on one correlated 2-D Gaussian cloud.

A cloud with a mean far from the origin and strongly correlated coordinates goes through the
classic pipeline, every step fitted on the cloud itself (it plays the training set):

1. **original** -- :math:`x`;
2. **centred** -- :math:`x - \mu` (:func:`~course_lib.scratch.preprocessing.fit_center`);
3. **normalized** -- :math:`(x - \mu) / \sigma` per coordinate (``fit_standardize``): unit variance
   along the axes, but still correlated;
4. **decorrelated** -- rotated onto the principal axes (``fit_pca``): diagonal covariance;
5. **whitened** -- decorrelated and scaled to unit variance in every direction (``fit_whitening``,
   PCA form, eps = 0): covariance :math:`I`; ZCA whitening (rotated back) is kept too.

The result holds the points and the mean and covariance of every stage.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from course_lib.scratch.preprocessing import fit_center, fit_pca, fit_standardize, fit_whitening

__all__ = ["Stage", "CloudResult", "STAGES", "run"]

STAGES = ("original", "centred", "normalized", "decorrelated", "whitened", "zca")


@dataclass(frozen=True, eq=False)
class Stage:
    name: str
    points: np.ndarray  # (N, 2)
    mean: np.ndarray  # (2,)
    cov: np.ndarray  # (2, 2), 1/N

    @property
    def correlation(self) -> float:
        """Correlation coefficient of the two coordinates."""
        return float(self.cov[0, 1] / np.sqrt(self.cov[0, 0] * self.cov[1, 1]))


@dataclass(frozen=True, eq=False)
class CloudResult:
    stages: dict  # name -> Stage, in STAGES order
    explained_variance_ratio: np.ndarray  # (2,) of the PCA step
    config: dict

    def table(self) -> str:
        rows = [f"{'stage':<13} {'mean':>17} {'var x1':>8} {'var x2':>8} {'cov':>8} {'corr':>6}"]
        for s in self.stages.values():
            m = f"({s.mean[0]:+.2f}, {s.mean[1]:+.2f})"
            rows.append(f"{s.name:<13} {m:>17} {s.cov[0, 0]:>8.3f} {s.cov[1, 1]:>8.3f} {s.cov[0, 1]:>+8.3f} "
                        f"{s.correlation:>+6.2f}")
        return "\n".join(rows)


def _stage(name: str, points: np.ndarray) -> Stage:
    mean = points.mean(axis=0)
    centred = points - mean
    return Stage(name=name, points=points, mean=mean, cov=centred.T @ centred / len(points))


def run(n: int = 400, mean=(3.0, 2.0), stds=(2.0, 0.6), angle_deg: float = 30.0, seed: int = 0) -> CloudResult:
    """Draw ``n`` points of N(mean, R diag(stds^2) R^T), R a rotation by ``angle_deg``; preprocess them."""
    if n < 3:
        raise ValueError(f"need n >= 3 points, got {n}")
    rng = np.random.default_rng(seed)
    a = np.deg2rad(angle_deg)
    rotation = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    x = (rng.standard_normal((n, 2)) * np.asarray(stds)) @ rotation.T + np.asarray(mean)
    pca = fit_pca(x)
    points = {
        "original": x,
        "centred": fit_center(x).transform(x),
        "normalized": fit_standardize(x).transform(x),
        "decorrelated": pca.transform(x),
        "whitened": fit_whitening(x, kind="pca", eps=0.0).transform(x),
        "zca": fit_whitening(x, kind="zca", eps=0.0).transform(x),
    }
    return CloudResult(
        stages={name: _stage(name, points[name]) for name in STAGES},
        explained_variance_ratio=pca.explained_variance_ratio,
        config=dict(n=n, mean=tuple(mean), stds=tuple(stds), angle_deg=angle_deg, seed=seed),
    )
