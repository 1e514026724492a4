r"""The bias-variance decomposition of the squared error, measured (Geman, Bienenstock & Doursat 1992).

For a target :math:`y = f(x) + \varepsilon` with noise of mean 0 and variance :math:`\sigma^2`,
independent of the training set :math:`D` from which :math:`\hat f_D` was fitted, the expected
squared error at a point :math:`x` splits exactly into three parts:

.. math::

    \mathbb{E}_{D,\varepsilon}\big[(y - \hat f_D(x))^2\big]
    = \underbrace{\big(f(x) - \bar f(x)\big)^2}_{\text{bias}^2}
    + \underbrace{\mathbb{E}_D\big[(\hat f_D(x) - \bar f(x))^2\big]}_{\text{variance}}
    + \underbrace{\sigma^2}_{\text{noise}},
    \qquad \bar f(x) = \mathbb{E}_D[\hat f_D(x)].

It holds for the squared loss (the cross terms vanish because the noise has mean zero and is
independent of :math:`D`); other losses have other, less tidy decompositions. The noise term is
the VARIANCE :math:`\sigma^2`, not the standard deviation.

Protocol: :math:`f(x) = \sin(\pi x)` on :math:`[-1, 1]`, noise std ``sigma``; ``n_sets``
independent training sets of ``n_points`` points each; on each, a
least-squares polynomial of every degree in ``degrees`` (Legendre features, which keep the fit
well conditioned). The inputs are a fixed grid of ``n_points`` on [-1, 1] ("fixed design"); only the
noise differs between the training sets. At ``n_test`` fixed test points the experiment estimates :math:`\bar f`, the
bias², the variance and, separately, the expected error itself, by comparing each fit with a FRESH
noisy target at every test point. Everything is averaged over the test points.

What must show: bias² falls and variance rises with the degree; the test error is U-shaped with its
minimum at a middle degree; and the measured error equals bias² + variance + sigma² within its
Monte-Carlo standard error, for every degree.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.polynomial import legendre

from course_lib import checks

__all__ = ["BiasVarianceResult", "run", "target"]


def target(x: np.ndarray) -> np.ndarray:
    """The noiseless function f(x) = sin(pi x)."""
    return np.sin(np.pi * np.asarray(x, dtype=np.float64))


@dataclass(frozen=True, eq=False)
class BiasVarianceResult:
    degrees: np.ndarray  # (K,) polynomial degrees (capacity)
    bias2: np.ndarray  # (K,) mean over test points of (f - fbar)^2
    variance: np.ndarray  # (K,) mean over test points of Var_D fhat
    noise: float  # sigma^2
    test_error: np.ndarray  # (K,) measured E[(y - fhat)^2] with fresh noisy targets
    test_error_se: np.ndarray  # (K,) its Monte-Carlo standard error (over training sets)
    train_error: np.ndarray  # (K,) mean squared error on the training points
    x_test: np.ndarray  # (T,)
    fits: np.ndarray  # (K, n_show, T) a few fitted curves per degree, for the figure
    mean_fit: np.ndarray  # (K, T) fbar
    x_train: np.ndarray  # (n_points,) the training inputs (fixed design)
    y_show: np.ndarray  # (n_show, n_points) their noisy targets
    sigma: float
    n_points: int
    n_sets: int

    @property
    def decomposition(self) -> np.ndarray:
        """bias² + variance + sigma², (K,)."""
        return self.bias2 + self.variance + self.noise

    @property
    def best_degree(self) -> int:
        return int(self.degrees[int(np.argmin(self.test_error))])


def run(degrees: tuple = tuple(range(0, 14)), n_points: int = 15, n_sets: int = 2000, sigma: float = 0.3,
        n_test: int = 50, n_show: int = 20, seed: int = 0) -> BiasVarianceResult:
    """Fit polynomials of each degree on ``n_sets`` noisy training sets; see the module docstring."""
    degrees = np.array([checks.integer(d, "degree", "bias_variance.run", minimum=0) for d in degrees])
    n_points = checks.integer(n_points, "n_points", "bias_variance.run", minimum=2)
    n_sets = checks.integer(n_sets, "n_sets", "bias_variance.run", minimum=2)
    n_show = min(checks.integer(n_show, "n_show", "bias_variance.run", minimum=1), n_sets)
    sigma = checks.real(sigma, "sigma", "bias_variance.run", minimum=0)
    if degrees.size == 0 or degrees.max() >= n_points:
        raise ValueError(f"degrees must be non-empty and below n_points={n_points}, got {degrees.tolist()}")
    rng = np.random.default_rng(seed)
    x = np.linspace(-1, 1, n_points)  # fixed design: only the noise changes between training sets
    x_test = np.linspace(-0.95, 0.95, n_test)
    f_test = target(x_test)
    y = target(x) + sigma * rng.standard_normal((n_sets, n_points))  # (S, n) one training set per row
    y_fresh = f_test + sigma * rng.standard_normal((n_sets, n_test))  # (S, T) a new noisy target per set
    k = len(degrees)
    bias2, var, err, err_se, train_err = (np.empty(k) for _ in range(5))
    fits_show, mean_fit = np.empty((k, n_show, n_test)), np.empty((k, n_test))
    for i, deg in enumerate(degrees):
        v = legendre.legvander(x, deg)  # (n, deg+1) Legendre features
        coef = np.linalg.lstsq(v, y.T, rcond=None)[0]  # (deg+1, S): all least-squares fits at once
        preds = (legendre.legvander(x_test, deg) @ coef).T  # (S, T)
        fbar = preds.mean(axis=0)
        bias2[i] = np.mean((fbar - f_test) ** 2)
        var[i] = np.mean(preds.var(axis=0, ddof=1))
        per_set = np.mean((y_fresh - preds) ** 2, axis=1)  # (S,) error of each fit on fresh targets
        err[i], err_se[i] = per_set.mean(), per_set.std(ddof=1) / np.sqrt(n_sets)
        train_err[i] = np.mean(((v @ coef).T - y) ** 2)
        fits_show[i], mean_fit[i] = preds[:n_show], fbar
    return BiasVarianceResult(degrees=degrees, bias2=bias2, variance=var, noise=sigma ** 2, test_error=err,
                              test_error_se=err_se, train_error=train_err, x_test=x_test, fits=fits_show,
                              mean_fit=mean_fit, x_train=x, y_show=y[:n_show], sigma=float(sigma),
                              n_points=n_points, n_sets=n_sets)
