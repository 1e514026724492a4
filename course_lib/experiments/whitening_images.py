r"""Whitening images, and why it is rarely done: sklearn digits through ZCA and PCA whitening.

The 64 pixels of a digit are strongly correlated (neighbours look alike), so the covariance has a
few large eigenvalues and many tiny ones; four corner and edge pixels never change at all, so the
covariance is singular and whitening needs an ``eps``. Whitening divides every direction by
:math:`\sqrt{\lambda + \varepsilon}`: the tiny directions -- fine detail and noise -- are amplified
the most. Measured on the training split, for several ``eps``:

* **the spectrum**: eigenvalues of the pixel covariance, and its rank;
* **what whitened digits look like** (ZCA keeps them image-like; PCA whitening does not): the
  share of their energy at high spatial frequencies (above half the Nyquist frequency, 2-D DFT),
  against the same share for the original digits -- ZCA digits become edge maps;
* **noise amplification**: how much whitening multiplies the noise-to-signal ratio of pixel noise,
  :math:`\frac{\sum_i 1/(\lambda_i+\varepsilon) \,/\, \sum_i \lambda_i/(\lambda_i+\varepsilon)}{D / \sum_i \lambda_i}`;
* **the cost at ImageNet size**: a 224 x 224 x 3 image has D = 150528 pixels, so the covariance has
  :math:`D^2` entries and its eigendecomposition about :math:`D^3` operations.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from course_lib.data import load_digits
from course_lib.scratch.preprocessing import fit_whitening

__all__ = ["WhiteningImagesResult", "high_frequency_share", "noise_amplification", "run"]


@dataclass(frozen=True, eq=False)
class WhiteningImagesResult:
    eigenvalues: np.ndarray  # (64,) decreasing, of the training covariance
    rank: int  # number of eigenvalues above the numerical tolerance
    singular_error: str  # the message fit_whitening gives with eps = 0
    examples: np.ndarray  # (k, 8, 8) original training digits
    eps: tuple  # the eps values tried
    zca: dict  # eps -> (k, 8, 8) ZCA-whitened examples
    pca: np.ndarray  # (k, 8, 8) PCA-whitened examples (first eps), shown as images
    hf_share_original: float  # mean high-frequency energy share of the (centred) originals
    hf_share_zca: dict  # eps -> the same for the ZCA-whitened digits
    noise_amplification: dict  # eps -> factor by which whitening multiplies the noise-to-signal ratio
    imagenet_dim: int
    imagenet_cov_gb: float  # size of the D x D covariance in float32, GB
    imagenet_eig_flops: float  # ~ D^3
    config: dict

    def table(self) -> str:
        rows = [f"{'eps':>8} {'high-freq share':>16} {'noise x':>10}",
                f"{'(orig)':>8} {self.hf_share_original:>16.0%} {1.0:>10.1f}"]
        for e in self.eps:
            rows.append(f"{e:>8g} {self.hf_share_zca[e]:>16.0%} {self.noise_amplification[e]:>10.1f}")
        return "\n".join(rows)


def high_frequency_share(images: np.ndarray, cutoff: float = 0.25) -> float:
    """Mean over images of the share of (mean-removed) energy at radial frequency > ``cutoff`` cycles/pixel."""
    images = images - images.mean(axis=(1, 2), keepdims=True)
    h, w = images.shape[1:]
    fy, fx = np.meshgrid(np.fft.fftfreq(h), np.fft.fftfreq(w), indexing="ij")
    high = np.sqrt(fx**2 + fy**2) > cutoff
    power = np.abs(np.fft.fft2(images)) ** 2
    total = power.sum(axis=(1, 2))
    keep = total > 0
    return float(np.mean(power[:, high].sum(axis=1)[keep] / total[keep]))


def noise_amplification(eigenvalues: np.ndarray, eps: float) -> float:
    """Factor by which whitening with ``eps`` multiplies the noise-to-signal ratio of white pixel noise."""
    lam = np.asarray(eigenvalues, float)
    after = np.sum(1.0 / (lam + eps)) / np.sum(lam / (lam + eps))
    before = len(lam) / np.sum(lam)
    return float(after / before)


def run(eps=(1e-4, 1e-3, 1e-2, 1e-1), n_examples: int = 6, seed: int = 0) -> WhiteningImagesResult:
    """Fit ZCA and PCA whitening on the digits' training split for every ``eps``."""
    if not eps or min(eps) <= 0:
        raise ValueError(f"eps values must be > 0 (the digits' covariance is singular), got {eps}")
    split = load_digits(seed=seed)
    x = split.x_train
    examples = x[:n_examples]
    try:
        fit_whitening(x, eps=0.0)
        singular_error = ""
    except ValueError as err:
        singular_error = str(err)
    zca, hf, amp = {}, {}, {}
    for e in eps:
        stats = fit_whitening(x, kind="zca", eps=float(e))
        zca[e] = stats.transform(examples).reshape(-1, 8, 8)
        hf[e] = high_frequency_share(stats.transform(x).reshape(-1, 8, 8))
        amp[e] = noise_amplification(stats.eigenvalues, float(e))
    eigenvalues = stats.eigenvalues
    tol = eigenvalues[0] * max(x.shape) * np.finfo(float).eps
    pca = fit_whitening(x, kind="pca", eps=float(eps[0])).transform(examples).reshape(-1, 8, 8)
    d = 224 * 224 * 3
    return WhiteningImagesResult(
        eigenvalues=eigenvalues, rank=int(np.count_nonzero(eigenvalues > tol)), singular_error=singular_error,
        examples=examples.reshape(-1, 8, 8), eps=tuple(eps), zca=zca, pca=pca,
        hf_share_original=high_frequency_share(x.reshape(-1, 8, 8)), hf_share_zca=hf, noise_amplification=amp,
        imagenet_dim=d, imagenet_cov_gb=d * d * 4 / 1e9, imagenet_eig_flops=float(d) ** 3,
        config=dict(eps=tuple(eps), n_examples=n_examples, seed=seed),
    )
