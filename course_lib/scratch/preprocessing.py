r"""Data preprocessing: statistics fitted on the TRAINING set, then applied unchanged everywhere.

Every ``fit_*`` function takes training data and returns a frozen *stats* dataclass; its
``transform(x)`` applies the same fixed map to any split (train, validation, test, one new
example at inference), and ``inverse_transform(z)`` undoes it where that is possible::

    stats = fit_standardize(x_train)          # the statistics come from x_train only
    z_train, z_test = stats.transform(x_train), stats.transform(x_test)

Vectors are rows: ``x`` is ``(N, D)``; image batches are ``(N, C, H, W)`` (PyTorch's layout).
Everything is computed in float64. Variances and covariances divide by ``N`` (not ``N - 1``), as
``np.std`` does, so that whitened training data has covariance exactly ``I`` under the same
estimator; torch's ``Tensor.std`` divides by ``N - 1`` unless told ``correction=0``, and
scikit-learn's ``PCA.explained_variance_`` divides by ``N - 1`` too (the ratios agree).

These ops have no backward pass (nothing here is trained), so they are not in the op registry.
Bad input (NaN or inf, the wrong number of dimensions, too few samples, a shape that does not
match the fitted statistics) raises a ``ValueError`` naming the problem.

Sources: LeCun et al. (1998), *Efficient BackProp* (centre and decorrelate the inputs);
Kessy, Lewin & Strimmer (2018), *Optimal whitening and decorrelation* (PCA vs ZCA whitening);
Krizhevsky (2009) (ZCA on CIFAR-10); Krizhevsky et al. (2012) (the mean image);
Simonyan & Zisserman (2015) (the per-channel mean).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from course_lib import checks

__all__ = [
    "CenterStats",
    "StandardizeStats",
    "PCAStats",
    "WhiteningStats",
    "ChannelStats",
    "fit_center",
    "fit_standardize",
    "fit_pca",
    "fit_whitening",
    "fit_mean_image",
    "fit_channel_mean",
    "fit_channel_standardize",
    "subtract_image_mean",
    "canonicalize_signs",
    "window_level",
    "quantize",
]


# --------------------------------------------------------------------------------------------
# Input checks
# --------------------------------------------------------------------------------------------
def _as_float(x, who: str) -> np.ndarray:
    """x as a float64 array; a ValueError for non-numbers, NaN or inf."""
    x = np.asarray(x)
    if x.dtype == bool or not np.issubdtype(x.dtype, np.number) or np.issubdtype(x.dtype, np.complexfloating):
        raise ValueError(f"{who}: x must hold real numbers, got dtype {x.dtype}")
    x = x.astype(np.float64)
    bad = int(np.count_nonzero(~np.isfinite(x)))
    if bad:
        raise ValueError(f"{who}: x contains {bad} NaN or infinite value(s)")
    return x


def _training_data(x, who: str, ndim: int | None, min_samples: int) -> np.ndarray:
    """Training data with ``ndim`` dimensions (None: at least 2) and at least ``min_samples`` rows."""
    x = _as_float(x, who)
    layout = {2: "(N, D)", 4: "(N, C, H, W)"}.get(ndim, "(N, ...)")
    if (ndim is not None and x.ndim != ndim) or x.ndim < 2:
        raise ValueError(f"{who}: x must have shape {layout}, got {x.shape}")
    if x.shape[0] < min_samples:
        raise ValueError(f"{who}: needs at least {min_samples} training sample(s), got {x.shape[0]}")
    return x


def _matching(x, tail: tuple, who: str) -> np.ndarray:
    """Data to transform: (M, *tail) with the fitted trailing shape."""
    x = _as_float(x, who)
    if x.ndim != 1 + len(tail) or x.shape[1:] != tail:
        raise ValueError(f"{who}: expected shape (M, {', '.join(map(str, tail))}) like the fitted data, got {x.shape}")
    return x


def _safe_scale(std: np.ndarray) -> np.ndarray:
    """Standard deviations to divide by: a constant feature (std 0) is only centred (scale 1)."""
    return np.where(std > 0, std, 1.0)


def canonicalize_signs(vectors: np.ndarray) -> np.ndarray:
    r"""Flip each row so that its entry of largest magnitude is positive.

    .. math::

        v \leftarrow \operatorname{sign}\!\big(v_{j^\ast}\big)\, v, \qquad j^\ast = \arg\max_j |v_j|

    Eigenvectors are defined only up to sign, and numpy, torch and LAPACK builds may return either;
    after this rule the same data give the same components everywhere. ``vectors``: ``(K, D)``,
    one vector per row; returns a new array. Ties go to the first index (as ``np.argmax``).
    """
    v = np.array(vectors, dtype=np.float64)
    if v.ndim != 2:
        raise ValueError(f"canonicalize_signs: vectors must have shape (K, D), got {v.shape}")
    pivot = v[np.arange(v.shape[0]), np.argmax(np.abs(v), axis=1)]
    return v * np.where(pivot < 0, -1.0, 1.0)[:, None]


# --------------------------------------------------------------------------------------------
# Centring and scaling of features
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class CenterStats:
    """Per-feature mean of the training data. ``mean``: ``x.shape[1:]``, e.g. ``(D,)`` or ``(C, H, W)``."""

    mean: np.ndarray

    def transform(self, x) -> np.ndarray:
        """``x - mean`` for ``x`` of shape ``(M, *mean.shape)``."""
        return _matching(x, self.mean.shape, "CenterStats.transform") - self.mean

    def inverse_transform(self, z) -> np.ndarray:
        """``z + mean``."""
        return _matching(z, self.mean.shape, "CenterStats.inverse_transform") + self.mean


def fit_center(x) -> CenterStats:
    r"""Zero-centring: the mean of every feature over the training set.

    .. math::

        \mu = \frac{1}{N} \sum_{n=1}^{N} x_n, \qquad \tilde x = x - \mu

    ``x``: ``(N, D)`` -- or ``(N, C, H, W)``, where the mean is the *mean image* of
    Krizhevsky et al. (2012); see also :func:`fit_mean_image`. With all-positive inputs (pixels in
    [0, 1]) the gradient of every weight of a unit has the same sign for a given example; centring
    removes that bias (LeCun et al. 1998). PyTorch: ``x - x_train.mean(dim=0)``.
    """
    x = _training_data(x, "fit_center", None, 1)
    return CenterStats(mean=x.mean(axis=0))


@dataclass(frozen=True, eq=False)
class StandardizeStats:
    """Per-feature mean and standard deviation, both of shape ``x.shape[1:]``.

    ``std`` is 1 for a constant feature (which is then only centred).
    """

    mean: np.ndarray
    std: np.ndarray

    def transform(self, x) -> np.ndarray:
        """``(x - mean) / std``."""
        x = _matching(x, self.mean.shape, "StandardizeStats.transform")
        return (x - self.mean) / self.std

    def inverse_transform(self, z) -> np.ndarray:
        """``z * std + mean``."""
        z = _matching(z, self.mean.shape, "StandardizeStats.inverse_transform")
        return z * self.std + self.mean


def fit_standardize(x) -> StandardizeStats:
    r"""Normalization: centre every feature and divide it by its standard deviation.

    .. math::

        \sigma_d = \sqrt{\frac{1}{N} \sum_{n} (x_{nd} - \mu_d)^2}, \qquad
        \tilde x_{nd} = \frac{x_{nd} - \mu_d}{\sigma_d}

    ``x``: ``(N, D)`` or ``(N, ...)``, at least 2 samples. A constant feature
    (``sigma = 0``) is only centred. PyTorch: ``x_train.std(dim=0, correction=0)`` --
    torch's default divides by N - 1; the twin and scikit-learn's ``StandardScaler``
    divide by N, like this function.
    """
    x = _training_data(x, "fit_standardize", None, 2)
    return StandardizeStats(mean=x.mean(axis=0), std=_safe_scale(x.std(axis=0)))


# --------------------------------------------------------------------------------------------
# PCA and whitening
# --------------------------------------------------------------------------------------------
def _eigh_covariance(x: np.ndarray):
    """Mean, and eigenvalues / eigenvectors of the covariance (1/N), largest first.

    Returns ``mean (D,)``, ``values (D,)`` (>= 0) and ``vectors (D, D)``, one
    eigenvector per ROW, each with its sign fixed by :func:`canonicalize_signs`.
    """
    mean = x.mean(axis=0)
    centred = x - mean
    cov = centred.T @ centred / x.shape[0]
    values, vectors = np.linalg.eigh(cov)  # ascending; eigenvectors in columns
    values = np.clip(values[::-1], 0.0, None)
    vectors = canonicalize_signs(vectors[:, ::-1].T)
    return mean, values, vectors


def _n_components(n_components, d: int, who: str) -> int:
    if n_components is None:
        return d
    return checks.integer(n_components, "n_components", who, minimum=1, maximum=d)


@dataclass(frozen=True, eq=False)
class PCAStats:
    """Principal components of the training data.

    ``mean (D,)``; ``components (K, D)``: orthonormal rows, by decreasing variance, largest-magnitude
    entry positive; ``explained_variance (K,)``: the variance along each (eigenvalues of the 1/N
    covariance); ``explained_variance_ratio (K,)``: its share of the total variance.
    """

    mean: np.ndarray
    components: np.ndarray
    explained_variance: np.ndarray
    explained_variance_ratio: np.ndarray

    def transform(self, x) -> np.ndarray:
        """Coordinates along the components: ``(x - mean) @ components.T``, shape ``(M, K)``."""
        return (_matching(x, self.mean.shape, "PCAStats.transform") - self.mean) @ self.components.T

    def inverse_transform(self, z) -> np.ndarray:
        """Back to feature space: ``z @ components + mean``, ``(M, D)`` (exact when K = D, else the projection)."""
        return _matching(z, (self.components.shape[0],), "PCAStats.inverse_transform") @ self.components + self.mean


def fit_pca(x, n_components: int | None = None) -> PCAStats:
    r"""Principal component analysis: the eigenvectors of the covariance, largest variance first.

    .. math::

        C = \frac{1}{N} (x - \mu)^\top (x - \mu) = U \Lambda U^\top, \qquad z = (x - \mu)\, U_{:, :K}

    Rotating onto the eigenvectors *decorrelates* the data: the covariance of ``z`` is the diagonal
    ``Lambda``. ``x``: ``(N, D)``, at least 2 samples; ``n_components`` K in 1..D (default D).
    Each component's sign is fixed by :func:`canonicalize_signs`. PyTorch: ``torch.linalg.eigh``
    of the covariance (``torch.pca_lowrank`` is a randomized approximation).
    """
    x = _training_data(x, "fit_pca", 2, 2)
    k = _n_components(n_components, x.shape[1], "fit_pca")
    mean, values, vectors = _eigh_covariance(x)
    total = values.sum()
    ratio = values[:k] / total if total > 0 else np.zeros(k)
    return PCAStats(mean=mean, components=vectors[:k], explained_variance=values[:k], explained_variance_ratio=ratio)


@dataclass(frozen=True, eq=False)
class WhiteningStats:
    """A fitted whitening map ``z = (x - mean) @ matrix`` and its inverse ``x = z @ inverse_matrix + mean``.

    ``kind`` ``"pca"`` or ``"zca"``; ``mean (D,)``; ``eigenvalues (K,)`` and ``components (K, D)``
    of the training covariance (kept ones, decreasing); ``eps`` the regularizer; ``matrix (D, K)``
    for PCA or ``(D, D)`` for ZCA, and ``inverse_matrix`` its (pseudo-)inverse.
    """

    kind: str
    mean: np.ndarray
    eigenvalues: np.ndarray
    components: np.ndarray
    eps: float
    matrix: np.ndarray
    inverse_matrix: np.ndarray

    def transform(self, x) -> np.ndarray:
        """Whitened data ``(x - mean) @ matrix``."""
        return (_matching(x, self.mean.shape, "WhiteningStats.transform") - self.mean) @ self.matrix

    def inverse_transform(self, z) -> np.ndarray:
        """``z @ inverse_matrix + mean`` (exact when every component is kept)."""
        z = _matching(z, (self.matrix.shape[1],), "WhiteningStats.inverse_transform")
        return z @ self.inverse_matrix + self.mean


def _whitening_input(x, kind: str, eps: float, n_components) -> tuple[np.ndarray, int]:
    """The checks of :func:`fit_whitening`; returns the training data ``(N, D)`` as float64
    and the number K of directions to keep."""
    if kind not in ("pca", "zca"):
        raise ValueError(f"fit_whitening: kind must be 'pca' or 'zca', got {kind!r}")
    checks.real(eps, "eps", "fit_whitening", minimum=0)
    x = _training_data(x, "fit_whitening", 2, 2)
    return x, _n_components(n_components, x.shape[1], "fit_whitening")


def _check_invertible(values: np.ndarray, shape: tuple, eps: float) -> None:
    """With ``eps = 0``, a singular covariance (a kept eigenvalue ~ 0) is a ValueError."""
    n, d = shape
    tol = values[0] * max(n, d) * np.finfo(np.float64).eps
    if eps == 0 and values[-1] <= tol:
        rank = int(np.count_nonzero(values > tol))
        raise ValueError(
            f"fit_whitening: the covariance of the {n} x {d} training data is singular (only {rank} of the "
            f"{len(values)} kept directions have variance > 0: fewer samples than features, or a constant or "
            "duplicated feature); pass eps > 0 or keep fewer components"
        )


def fit_whitening(x, kind: str = "zca", eps: float = 1e-5,
                  n_components: int | None = None) -> WhiteningStats:
    r"""Whitening: decorrelate, then scale every direction to unit variance.

    .. math::

        W_\text{PCA} = U \,(\Lambda + \varepsilon I)^{-1/2}, \qquad
        W_\text{ZCA} = U \,(\Lambda + \varepsilon I)^{-1/2}\, U^\top, \qquad
        z = (x - \mu)\, W

    With ``eps = 0`` the whitened training data have covariance exactly ``I``;
    ``eps > 0`` damps the directions of tiny variance (mostly noise) instead of blowing
    them up. PCA whitening rotates onto the principal axes; ZCA rotates back, so the
    result stays closest to the input (Kessy et al. 2018; Krizhevsky 2009 used it on
    CIFAR-10). ``x``: ``(N, D)``, at least 2 samples; ``n_components`` keeps the K
    largest directions. With ``eps = 0`` a singular covariance is an error.
    PyTorch: ``torch.linalg.eigh``; there is no built-in whitening layer.
    """
    x, k = _whitening_input(x, kind, eps, n_components)
    mean, values, vectors = _eigh_covariance(x)
    values, vectors = values[:k], vectors[:k]
    _check_invertible(values, x.shape, eps)
    scale = 1.0 / np.sqrt(values + eps)  # (K,)
    u = vectors.T  # (D, K), eigenvectors in columns
    matrix = u * scale  # U (Lambda + eps)^(-1/2)
    inverse = vectors / scale[:, None]  # (Lambda + eps)^(1/2) U^T, (K, D)
    if kind == "zca":  # rotate back: W <- W U^T, and W^-1 <- U W^-1
        matrix, inverse = matrix @ vectors, u @ inverse
    return WhiteningStats(kind=kind, mean=mean, eigenvalues=values, components=vectors,
                          eps=float(eps), matrix=matrix, inverse_matrix=inverse)


# --------------------------------------------------------------------------------------------
# Image batches (N, C, H, W)
# --------------------------------------------------------------------------------------------
def fit_mean_image(x) -> CenterStats:
    r"""The per-pixel mean image of a training batch (AlexNet, Krizhevsky et al. 2012).

    .. math::

        \bar x_{chw} = \frac{1}{N} \sum_{n} x_{nchw}, \qquad \tilde x = x - \bar x

    ``x``: ``(N, C, H, W)``; the mean is a whole ``(C, H, W)`` image (for CIFAR-10,
    3072 numbers). Returns a :class:`CenterStats`. PyTorch: ``x_train.mean(dim=0)``.
    """
    x = _training_data(x, "fit_mean_image", 4, 1)
    return CenterStats(mean=x.mean(axis=0))


@dataclass(frozen=True, eq=False)
class ChannelStats:
    """Per-channel ``mean (C,)`` and ``std (C,)`` of a training batch of images (``std`` ones when only centring)."""

    mean: np.ndarray
    std: np.ndarray

    def _check(self, x, who: str) -> np.ndarray:
        x = _as_float(x, who)
        if x.ndim != 4 or x.shape[1] != self.mean.shape[0]:
            raise ValueError(f"{who}: expected images (M, {self.mean.shape[0]}, H, W), got {x.shape}")
        return x

    def transform(self, x) -> np.ndarray:
        """``(x - mean[c]) / std[c]`` for every channel c; any height and width."""
        return (self._check(x, "ChannelStats.transform") - self.mean[:, None, None]) / self.std[:, None, None]

    def inverse_transform(self, z) -> np.ndarray:
        """``z * std[c] + mean[c]``."""
        return self._check(z, "ChannelStats.inverse_transform") * self.std[:, None, None] + self.mean[:, None, None]


def fit_channel_mean(x) -> ChannelStats:
    r"""The per-channel mean of a training batch, as in VGG (Simonyan & Zisserman 2015).

    .. math::

        \mu_c = \frac{1}{N H W} \sum_{n, h, w} x_{nchw}, \qquad
        \tilde x_{nchw} = x_{nchw} - \mu_c

    ``x``: ``(N, C, H, W)``; C numbers in all (3 for RGB), so the transform also works
    for images of another size. ``std`` is all ones. PyTorch/torchvision:
    ``Normalize(mean, std=1)``.
    """
    x = _training_data(x, "fit_channel_mean", 4, 1)
    mean = x.mean(axis=(0, 2, 3))
    return ChannelStats(mean=mean, std=np.ones_like(mean))


def fit_channel_standardize(x) -> ChannelStats:
    r"""Per-channel mean and standard deviation (torchvision's ``Normalize(mean, std)`` convention).

    .. math::

        \tilde x_{nchw} = \frac{x_{nchw} - \mu_c}{\sigma_c}, \qquad
        \sigma_c^2 = \frac{1}{N H W} \sum_{n, h, w} (x_{nchw} - \mu_c)^2

    ``x``: ``(N, C, H, W)`` with at least 2 pixels per channel; a constant channel is only centred.
    """
    x = _training_data(x, "fit_channel_standardize", 4, 1)
    if x.shape[0] * x.shape[2] * x.shape[3] < 2:
        raise ValueError(f"fit_channel_standardize: needs at least 2 values per channel, got shape {x.shape}")
    return ChannelStats(mean=x.mean(axis=(0, 2, 3)), std=_safe_scale(x.std(axis=(0, 2, 3))))


def subtract_image_mean(x) -> np.ndarray:
    r"""Per-image centring: subtract from every image its own mean (over channels and pixels).

    .. math::

        \tilde x_{nchw} = x_{nchw} - \frac{1}{C H W} \sum_{c', h', w'} x_{nc'h'w'}

    Nothing is fitted (each image uses only itself), so there is nothing to leak and no inverse:
    the brightness of each image is discarded. ``x``: ``(N, C, H, W)``; returns the same shape.
    """
    x = _as_float(x, "subtract_image_mean")
    if x.ndim != 4:
        raise ValueError(f"subtract_image_mean: x must have shape (N, C, H, W), got {x.shape}")
    return x - x.mean(axis=(1, 2, 3), keepdims=True)


# --------------------------------------------------------------------------------------------
# High dynamic range
# --------------------------------------------------------------------------------------------
def _window_input(x, center: float, width: float) -> np.ndarray:
    """The checks of :func:`window_level`: ``x`` as float64, a finite center, a width > 0."""
    x = _as_float(x, "window_level")
    checks.real(center, "center", "window_level")
    checks.real(width, "width", "window_level", minimum=0, exclusive_minimum=True)
    return x


def window_level(x, center: float, width: float) -> np.ndarray:
    r"""Window/level: map the intensities in ``[center - width/2, center + width/2]``
    to [0, 1]; values outside the window saturate at 0 or 1.

    .. math::

        y = \operatorname{clip}\!\left(\frac{x - (c - w/2)}{w},\ 0,\ 1\right)

    How radiologists look at CT images, whose Hounsfield units span about -1000 (air)
    to +3000: a soft-tissue window is ``width=400, center=40``, a lung window
    ``1500, -600``, a bone window ``2000, 400`` (Hounsfield 1973). ``x``: any shape;
    returns float64 of the same shape. The DICOM standard's linear VOI LUT differs by
    half a unit in its offsets (``c - 0.5``, ``w - 1``), negligible for windows of
    hundreds of units. PyTorch: ``((x - (c - w / 2)) / w).clamp(0, 1)``.
    """
    x = _window_input(x, center, width)
    return np.clip((x - (center - width / 2.0)) / width, 0.0, 1.0)


def _quantize_input(x, bits: int) -> np.ndarray:
    """The checks of :func:`quantize`: ``x`` as float64 in [0, 1], ``bits`` in 1..32."""
    x = _as_float(x, "quantize")
    checks.integer(bits, "bits", "quantize", minimum=1, maximum=32)
    if x.size and (x.min() < 0.0 or x.max() > 1.0):
        raise ValueError(
            f"quantize: x must lie in [0, 1] (window or rescale first), got [{x.min():.3g}, {x.max():.3g}]"
        )
    return x


def quantize(x, bits: int = 8) -> np.ndarray:
    r"""Round values in [0, 1] to the ``2**bits`` levels a file of that depth can store.

    .. math::

        q(x) = \frac{\operatorname{round}\big(x\,(2^b - 1)\big)}{2^b - 1}

    ``bits=8`` is what saving as an 8-bit PNG/JPEG does (256 grey levels); CT scanners
    store 12 to 16 bits. ``x``: any shape, values in [0, 1]; returns float64 on the
    grid. PyTorch: ``torch.round(x * (2**b - 1)) / (2**b - 1)`` (both round half to
    even).
    """
    x = _quantize_input(x, bits)
    levels = 2.0 ** int(bits) - 1.0
    return np.round(x * levels) / levels
