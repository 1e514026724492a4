r"""Twin of :mod:`course_lib.scratch.preprocessing`: the same fits and transforms on tensors.

Same names, same semantics, same checks: statistics are fitted on the training tensor, variances
divide by N (``correction=0``; torch's default ``Tensor.std`` divides by N - 1), eigenvectors come
from ``torch.linalg.eigh`` with the same sign rule. Floating tensors keep their dtype and device
(float64 in the parity tests); other tensors become float64. Nothing here needs autograd.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

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


def _as_float(x, who: str) -> torch.Tensor:
    x = torch.as_tensor(x)
    if x.dtype == torch.bool or x.is_complex():
        raise ValueError(f"{who}: x must hold real numbers, got dtype {x.dtype}")
    if not x.is_floating_point():
        x = x.to(torch.float64)
    bad = int((~torch.isfinite(x)).sum())
    if bad:
        raise ValueError(f"{who}: x contains {bad} NaN or infinite value(s)")
    return x


def _training_data(x, who: str, ndim: int | None, min_samples: int) -> torch.Tensor:
    x = _as_float(x, who)
    layout = {2: "(N, D)", 4: "(N, C, H, W)"}.get(ndim, "(N, ...)")
    if (ndim is not None and x.ndim != ndim) or x.ndim < 2:
        raise ValueError(f"{who}: x must have shape {layout}, got {tuple(x.shape)}")
    if x.shape[0] < min_samples:
        raise ValueError(f"{who}: needs at least {min_samples} training sample(s), got {x.shape[0]}")
    return x


def _matching(x, tail: tuple, who: str) -> torch.Tensor:
    x = _as_float(x, who)
    if x.ndim != 1 + len(tail) or tuple(x.shape[1:]) != tuple(tail):
        raise ValueError(
            f"{who}: expected shape (M, {', '.join(map(str, tail))}) like the fitted data, got {tuple(x.shape)}"
        )
    return x


def _safe_scale(std: torch.Tensor) -> torch.Tensor:
    return torch.where(std > 0, std, torch.ones_like(std))


def canonicalize_signs(vectors: torch.Tensor) -> torch.Tensor:
    r"""Twin of `course_lib.scratch.preprocessing.canonicalize_signs`.

    .. math::

        v \leftarrow \operatorname{sign}\!\big(v_{j^\ast}\big)\, v, \qquad j^\ast = \arg\max_j |v_j|

    ``vectors (K, D)``, one per row; ``torch.argmax`` also returns the first maximal index.
    """
    v = torch.as_tensor(vectors)
    if v.ndim != 2:
        raise ValueError(f"canonicalize_signs: vectors must have shape (K, D), got {tuple(v.shape)}")
    pivot = v.gather(1, v.abs().argmax(dim=1, keepdim=True))
    return v * torch.where(pivot < 0, -1.0, 1.0).to(v.dtype)


@dataclass(frozen=True, eq=False)
class CenterStats:
    """Twin of `course_lib.scratch.preprocessing.CenterStats`: ``mean`` of shape ``x.shape[1:]``."""

    mean: torch.Tensor

    def transform(self, x) -> torch.Tensor:
        return _matching(x, tuple(self.mean.shape), "CenterStats.transform") - self.mean

    def inverse_transform(self, z) -> torch.Tensor:
        return _matching(z, tuple(self.mean.shape), "CenterStats.inverse_transform") + self.mean


def fit_center(x) -> CenterStats:
    r"""Twin of `course_lib.scratch.preprocessing.fit_center`.

    .. math::

        \mu = \frac{1}{N} \sum_{n} x_n, \qquad \tilde x = x - \mu
    """
    x = _training_data(x, "fit_center", None, 1)
    return CenterStats(mean=x.mean(dim=0))


@dataclass(frozen=True, eq=False)
class StandardizeStats:
    """Twin of `course_lib.scratch.preprocessing.StandardizeStats`.

    ``mean`` and ``std``, both of shape ``x.shape[1:]``.
    """

    mean: torch.Tensor
    std: torch.Tensor

    def transform(self, x) -> torch.Tensor:
        x = _matching(x, tuple(self.mean.shape), "StandardizeStats.transform")
        return (x - self.mean) / self.std

    def inverse_transform(self, z) -> torch.Tensor:
        z = _matching(z, tuple(self.mean.shape), "StandardizeStats.inverse_transform")
        return z * self.std + self.mean


def fit_standardize(x) -> StandardizeStats:
    r"""Twin of `course_lib.scratch.preprocessing.fit_standardize`.

    .. math::

        \tilde x_{nd} = \frac{x_{nd} - \mu_d}{\sigma_d}, \qquad
        \sigma_d \text{ with } \tfrac{1}{N} \text{ (correction=0)}
    """
    x = _training_data(x, "fit_standardize", None, 2)
    std = x.std(dim=0, correction=0)  # divide by N, like np.std
    return StandardizeStats(mean=x.mean(dim=0), std=_safe_scale(std))


def _eigh_covariance(x: torch.Tensor):
    """Twin of the scratch helper: mean, eigenvalues (largest first), eigenvectors
    in rows."""
    mean = x.mean(dim=0)
    centred = x - mean
    cov = centred.T @ centred / x.shape[0]
    values, vectors = torch.linalg.eigh(cov)  # ascending; eigenvectors in columns
    values = values.flip(0).clamp_min(0.0)
    vectors = canonicalize_signs(vectors.flip(1).T)
    return mean, values, vectors


def _n_components(n_components, d: int, who: str) -> int:
    if n_components is None:
        return d
    return checks.integer(n_components, "n_components", who, minimum=1, maximum=d)


@dataclass(frozen=True, eq=False)
class PCAStats:
    """Twin of `course_lib.scratch.preprocessing.PCAStats`.

    ``mean (D,)``, ``components (K, D)``, ``explained_variance(_ratio) (K,)``.
    """

    mean: torch.Tensor
    components: torch.Tensor
    explained_variance: torch.Tensor
    explained_variance_ratio: torch.Tensor

    def transform(self, x) -> torch.Tensor:
        return (_matching(x, tuple(self.mean.shape), "PCAStats.transform") - self.mean) @ self.components.T

    def inverse_transform(self, z) -> torch.Tensor:
        return _matching(z, (self.components.shape[0],), "PCAStats.inverse_transform") @ self.components + self.mean


def fit_pca(x, n_components: int | None = None) -> PCAStats:
    r"""Twin of `course_lib.scratch.preprocessing.fit_pca`.

    .. math::

        C = \frac{1}{N} (x - \mu)^\top (x - \mu) = U \Lambda U^\top, \qquad z = (x - \mu)\, U_{:, :K}
    """
    x = _training_data(x, "fit_pca", 2, 2)
    k = _n_components(n_components, x.shape[1], "fit_pca")
    mean, values, vectors = _eigh_covariance(x)
    total = values.sum()
    ratio = values[:k] / total if total > 0 else torch.zeros_like(values[:k])
    return PCAStats(mean=mean, components=vectors[:k], explained_variance=values[:k], explained_variance_ratio=ratio)


@dataclass(frozen=True, eq=False)
class WhiteningStats:
    """Twin of `course_lib.scratch.preprocessing.WhiteningStats`: ``z = (x - mean) @ matrix``."""

    kind: str
    mean: torch.Tensor
    eigenvalues: torch.Tensor
    components: torch.Tensor
    eps: float
    matrix: torch.Tensor
    inverse_matrix: torch.Tensor

    def transform(self, x) -> torch.Tensor:
        return (_matching(x, tuple(self.mean.shape), "WhiteningStats.transform") - self.mean) @ self.matrix

    def inverse_transform(self, z) -> torch.Tensor:
        z = _matching(z, (self.matrix.shape[1],), "WhiteningStats.inverse_transform")
        return z @ self.inverse_matrix + self.mean


def _whitening_input(x, kind: str, eps: float, n_components) -> tuple[torch.Tensor, int]:
    """The checks of :func:`fit_whitening`; returns the training data ``(N, D)`` and K."""
    if kind not in ("pca", "zca"):
        raise ValueError(f"fit_whitening: kind must be 'pca' or 'zca', got {kind!r}")
    checks.real(eps, "eps", "fit_whitening", minimum=0)
    x = _training_data(x, "fit_whitening", 2, 2)
    return x, _n_components(n_components, x.shape[1], "fit_whitening")


def _check_invertible(values: torch.Tensor, shape: tuple, eps: float) -> None:
    """With ``eps = 0``, a singular covariance (a kept eigenvalue ~ 0) is a ValueError."""
    n, d = shape
    tol = float(values[0]) * max(n, d) * torch.finfo(values.dtype).eps
    if eps == 0 and float(values[-1]) <= tol:
        rank = int((values > tol).sum())
        raise ValueError(
            f"fit_whitening: the covariance of the {n} x {d} training data is singular (only {rank} of the "
            f"{len(values)} kept directions have variance > 0: fewer samples than features, or a constant or "
            "duplicated feature); pass eps > 0 or keep fewer components"
        )


def fit_whitening(x, kind: str = "zca", eps: float = 1e-5,
                  n_components: int | None = None) -> WhiteningStats:
    r"""Twin of `course_lib.scratch.preprocessing.fit_whitening`.

    .. math::

        W_\text{PCA} = U (\Lambda + \varepsilon I)^{-1/2}, \qquad
        W_\text{ZCA} = U (\Lambda + \varepsilon I)^{-1/2} U^\top
    """
    x, k = _whitening_input(x, kind, eps, n_components)
    mean, values, vectors = _eigh_covariance(x)
    values, vectors = values[:k], vectors[:k]
    _check_invertible(values, tuple(x.shape), eps)
    scale = 1.0 / torch.sqrt(values + eps)  # (K,)
    u = vectors.T  # (D, K), eigenvectors in columns
    matrix = u * scale  # U (Lambda + eps)^(-1/2)
    inverse = vectors / scale[:, None]  # (Lambda + eps)^(1/2) U^T, (K, D)
    if kind == "zca":  # rotate back: W <- W U^T, and W^-1 <- U W^-1
        matrix, inverse = matrix @ vectors, u @ inverse
    return WhiteningStats(kind=kind, mean=mean, eigenvalues=values, components=vectors,
                          eps=float(eps), matrix=matrix, inverse_matrix=inverse)


def fit_mean_image(x) -> CenterStats:
    r"""Twin of `course_lib.scratch.preprocessing.fit_mean_image`.

    .. math::

        \bar x_{chw} = \frac{1}{N} \sum_{n} x_{nchw}
    """
    x = _training_data(x, "fit_mean_image", 4, 1)
    return CenterStats(mean=x.mean(dim=0))


@dataclass(frozen=True, eq=False)
class ChannelStats:
    """Twin of `course_lib.scratch.preprocessing.ChannelStats`: per-channel ``mean (C,)`` and ``std (C,)``."""

    mean: torch.Tensor
    std: torch.Tensor

    def _check(self, x, who: str) -> torch.Tensor:
        x = _as_float(x, who)
        if x.ndim != 4 or x.shape[1] != self.mean.shape[0]:
            raise ValueError(f"{who}: expected images (M, {self.mean.shape[0]}, H, W), got {tuple(x.shape)}")
        return x

    def transform(self, x) -> torch.Tensor:
        return (self._check(x, "ChannelStats.transform") - self.mean[:, None, None]) / self.std[:, None, None]

    def inverse_transform(self, z) -> torch.Tensor:
        return self._check(z, "ChannelStats.inverse_transform") * self.std[:, None, None] + self.mean[:, None, None]


def fit_channel_mean(x) -> ChannelStats:
    r"""Twin of `course_lib.scratch.preprocessing.fit_channel_mean`.

    .. math::

        \mu_c = \frac{1}{N H W} \sum_{n, h, w} x_{nchw}

    torchvision writes the same as ``transforms.Normalize(mean, std=[1, 1, 1])``.
    """
    x = _training_data(x, "fit_channel_mean", 4, 1)
    mean = x.mean(dim=(0, 2, 3))
    return ChannelStats(mean=mean, std=torch.ones_like(mean))


def fit_channel_standardize(x) -> ChannelStats:
    r"""Twin of `course_lib.scratch.preprocessing.fit_channel_standardize`.

    .. math::

        \tilde x_{nchw} = \frac{x_{nchw} - \mu_c}{\sigma_c}
    """
    x = _training_data(x, "fit_channel_standardize", 4, 1)
    if x.shape[0] * x.shape[2] * x.shape[3] < 2:
        raise ValueError(f"fit_channel_standardize: needs at least 2 values per channel, got shape {tuple(x.shape)}")
    return ChannelStats(mean=x.mean(dim=(0, 2, 3)), std=_safe_scale(x.std(dim=(0, 2, 3), correction=0)))


def subtract_image_mean(x) -> torch.Tensor:
    r"""Twin of `course_lib.scratch.preprocessing.subtract_image_mean`.

    .. math::

        \tilde x_{nchw} = x_{nchw} - \frac{1}{C H W} \sum_{c', h', w'} x_{nc'h'w'}
    """
    x = _as_float(x, "subtract_image_mean")
    if x.ndim != 4:
        raise ValueError(f"subtract_image_mean: x must have shape (N, C, H, W), got {tuple(x.shape)}")
    return x - x.mean(dim=(1, 2, 3), keepdim=True)


def _window_input(x, center: float, width: float) -> torch.Tensor:
    """The checks of :func:`window_level`: ``x`` as a float tensor, a finite center, a width > 0."""
    x = _as_float(x, "window_level")
    checks.real(center, "center", "window_level")
    checks.real(width, "width", "window_level", minimum=0, exclusive_minimum=True)
    return x


def window_level(x, center: float, width: float) -> torch.Tensor:
    r"""Twin of `course_lib.scratch.preprocessing.window_level`.

    .. math::

        y = \operatorname{clip}\!\left(\frac{x - (c - w/2)}{w},\ 0,\ 1\right)
    """
    x = _window_input(x, center, width)
    return ((x - (center - width / 2.0)) / width).clamp(0.0, 1.0)


def _quantize_input(x, bits: int) -> torch.Tensor:
    """The checks of :func:`quantize`: ``x`` as a float tensor in [0, 1], ``bits`` in 1..32."""
    x = _as_float(x, "quantize")
    checks.integer(bits, "bits", "quantize", minimum=1, maximum=32)
    if x.numel() and (float(x.min()) < 0.0 or float(x.max()) > 1.0):
        raise ValueError(
            f"quantize: x must lie in [0, 1] (window or rescale first), "
            f"got [{float(x.min()):.3g}, {float(x.max()):.3g}]"
        )
    return x


def quantize(x, bits: int = 8) -> torch.Tensor:
    r"""Twin of `course_lib.scratch.preprocessing.quantize`.

    .. math::

        q(x) = \frac{\operatorname{round}\big(x\,(2^b - 1)\big)}{2^b - 1}
    """
    x = _quantize_input(x, bits)
    levels = 2.0 ** int(bits) - 1.0
    return torch.round(x * levels) / levels
