r"""Dynamic range: a synthetic CT slice squashed to 8 bits vs windowed, and what 8 bits do to a model.

Natural images are stored with 8 bits per channel; CT scanners store 12 to 16 bits of Hounsfield
units (HU: air -1000, water 0, lung about -850 to -500, fat about -100, soft tissue 20 to 80,
bone 400 to 1500; Hounsfield 1973). :func:`make_phantom` draws a chest-like slice in HU with numpy:
air, a fat layer, soft tissue, two lungs with vessels, a contrast-filled aorta, a liver-like organ
holding a faint lesion (+12 HU by default), a vertebra and ribs, and pixel noise; it is stored as
int16, like the scanner's 12-bit range. It is then shown four ways, each quantized to 8 bits
(256 grey levels): **naive** (the slice's min..max squashed linearly to 0..255), and the standard
**soft-tissue** (W400/L40), **lung** (W1500/L-600) and **bone** (W2000/L400) windows
(:func:`~course_lib.scratch.preprocessing.window_level`). For each view: HU per grey level, and the
lesion's contrast in grey levels (lesion mean minus the surrounding liver) and its contrast-to-noise
ratio.

Then a gradient-based model: a logistic regression (sigmoid cross-entropy, full-batch gradient
descent, inputs standardized with training statistics) detects the lesion in small soft-
tissue patches (lesion present or not, at the centre; the tissue level varies from patch to patch).
The same patches are given as: the naive mapping quantized to 8 bits; the naive mapping kept at
12 bits (what the scanner stores) or in float; the soft-tissue window quantized to 8 bits. Test
accuracy over several seeds shows what quantizing a squashed range throws away, and that 8 bits
are plenty once the window is right.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from course_lib.scratch.preprocessing import fit_standardize, quantize, window_level

from ._threads import single_blas_thread

__all__ = ["WINDOWS", "REPRESENTATIONS", "Phantom", "CTWindowResult", "make_phantom", "make_patches", "run"]

WINDOWS = {"soft tissue": (40.0, 400.0), "lung": (-600.0, 1500.0), "bone": (400.0, 2000.0)}
"""Window name -> (center/level, width) in HU."""

REPRESENTATIONS = ("naive 8-bit", "naive 12-bit", "naive float", "window 8-bit")


@dataclass(frozen=True, eq=False)
class Phantom:
    hu: np.ndarray  # (S, S) int16, Hounsfield units
    lesion: np.ndarray  # (S, S) bool, the lesion
    surround: np.ndarray  # (S, S) bool, liver around the lesion (a ring)
    tissues: dict  # name -> (S, S) bool mask of each tissue


@dataclass(frozen=True, eq=False)
class CTWindowResult:
    phantom: Phantom
    views: dict  # view name -> (S, S) uint8 grey levels ("naive", then the windows)
    view_ranges: dict  # view name -> (low HU, high HU) mapped to 0..255
    hu_per_level: dict  # view name -> HU per grey level
    lesion_contrast: dict  # view name -> lesion minus surround, in grey levels
    lesion_cnr: dict  # view name -> contrast / std of the surround
    accuracy: dict  # representation -> (S,) test accuracy per seed
    seeds: tuple
    config: dict

    def table(self) -> str:
        rows = [f"{'view':<12} {'HU range':>16} {'HU/level':>9} {'lesion contrast':>16} {'CNR':>6}"]
        for v in self.views:
            lo, hi = self.view_ranges[v]
            rows.append(f"{v:<12} {f'[{lo:.0f}, {hi:.0f}]':>16} {self.hu_per_level[v]:>9.2f} "
                        f"{self.lesion_contrast[v]:>13.1f} gl {self.lesion_cnr[v]:>6.2f}")
        return "\n".join(rows)

    def detection_table(self) -> str:
        rows = [f"{'input':<14} {'test accuracy per seed':<40} mean"]
        for r in REPRESENTATIONS:
            a = self.accuracy[r]
            rows.append(f"{r:<14} {', '.join(f'{v:.1%}' for v in a):<40} {a.mean():.1%}")
        return "\n".join(rows)


def _smooth_noise(rng: np.random.Generator, size: int, scale: int) -> np.ndarray:
    """A smooth random field with std about 1: white noise averaged over ``scale`` x ``scale`` boxes."""
    field = rng.standard_normal((size + 2 * scale, size + 2 * scale))
    kernel = np.ones(scale) / scale
    for axis in (0, 1):
        field = np.apply_along_axis(lambda r: np.convolve(r, kernel, mode="same"), axis, field)
    field = field[scale:-scale, scale:-scale]
    return field / field.std()


def make_phantom(rng: np.random.Generator, size: int = 256, lesion_contrast: float = 12.0,
                 noise: float = 5.0) -> Phantom:
    """A chest-like CT slice in Hounsfield units, int16 ``(size, size)``, with its tissue masks."""
    if size < 32:
        raise ValueError(f"size must be >= 32, got {size}")
    v, u = np.mgrid[-1:1:size * 1j, -1:1:size * 1j]  # v down, u right, both in [-1, 1]

    def ellipse(cu, cv, au, av):
        return ((u - cu) / au) ** 2 + ((v - cv) / av) ** 2 <= 1.0

    hu = np.full((size, size), -1000.0)  # air
    body = ellipse(0, 0, 0.92, 0.72)
    inner = ellipse(0, 0, 0.85, 0.65)
    hu[body] = -100.0  # subcutaneous fat
    hu[inner] = 40.0  # muscle / soft tissue
    lungs = ellipse(-0.38, -0.12, 0.26, 0.38) | ellipse(0.38, -0.12, 0.26, 0.38)
    hu[lungs] = -840.0 + 40.0 * _smooth_noise(rng, size, max(2, size // 32))[lungs]
    vessels = np.zeros_like(lungs)
    for _ in range(24):
        side = rng.choice([-0.38, 0.38])
        cu, cv = side + rng.uniform(-0.18, 0.18), -0.12 + rng.uniform(-0.28, 0.28)
        vessels |= ellipse(cu, cv, 0.018, 0.018)
    vessels &= lungs
    hu[vessels] = -550.0
    aorta = ellipse(0.08, 0.1, 0.07, 0.07)
    hu[aorta] = 180.0  # contrast-enhanced blood
    liver = ellipse(0.42, 0.38, 0.3, 0.18) & inner & ~lungs
    hu[liver] = 60.0
    lesion = ellipse(0.45, 0.38, 0.06, 0.06)
    surround = ellipse(0.45, 0.38, 0.11, 0.11) & ~ellipse(0.45, 0.38, 0.08, 0.08) & liver
    hu[lesion] = 60.0 + lesion_contrast
    vertebra = ellipse(0.0, 0.5, 0.1, 0.1)
    marrow = ellipse(0.0, 0.5, 0.075, 0.075)
    hu[vertebra] = 1200.0  # cortical bone
    hu[marrow] = 300.0  # cancellous bone
    ribs = np.zeros_like(lungs)
    for angle in np.linspace(0.25 * np.pi, 0.75 * np.pi, 3):
        for sign in (-1, 1):
            ribs |= ellipse(sign * 0.86 * np.cos(angle), -0.66 * np.sin(angle), 0.035, 0.035)
    hu[ribs & body] = 800.0
    hu += noise * rng.standard_normal(hu.shape)
    hu = np.clip(np.round(hu), -1024, 3071).astype(np.int16)  # the scanner's 12-bit range
    bone = (vertebra | ribs) & body
    tissues = {"air": ~body, "fat": body & ~inner & ~bone, "lung": lungs, "liver": liver, "bone": bone}
    return Phantom(hu=hu, lesion=lesion, surround=surround, tissues=tissues)


def _to_8bit(hu: np.ndarray, low: float, high: float) -> np.ndarray:
    """Map [low, high] HU linearly to grey levels 0..255 (clipping outside), as uint8."""
    levels = quantize(window_level(hu, (low + high) / 2.0, high - low), 8) * 255.0
    return np.rint(levels).astype(np.uint8)


def make_patches(rng: np.random.Generator, n: int, size: int = 12, contrast: float = 3.0, noise: float = 3.0,
                 radius: float = 2.0, tissue=(30.0, 70.0)):
    """``n`` soft-tissue patches in HU, ``(n, size * size)``, and labels (1 = a lesion disc at the centre)."""
    r = np.arange(size) - (size - 1) / 2.0
    disc = (r[:, None] ** 2 + r[None, :] ** 2 <= radius**2 + 0.5).astype(float)
    y = rng.integers(0, 2, n)
    level = rng.uniform(*tissue, n)[:, None, None]
    hu = level + noise * rng.standard_normal((n, size, size)) + contrast * y[:, None, None] * disc
    return hu.reshape(n, -1), y


def _logistic_regression(x, y, lr, steps):
    r"""Full-batch gradient descent on the mean sigmoid cross-entropy; returns (w, b).

    With :math:`p = \sigma(xw + b)` the gradients are :math:`x^\top (p - y) / N` and :math:`\sum (p - y) / N`."""
    w, b = np.zeros(x.shape[1]), 0.0
    for _ in range(steps):
        p = np.exp(-np.logaddexp(0.0, -(x @ w + b)))  # sigmoid, without overflow
        g = (p - y) / len(y)
        w, b = w - lr * (x.T @ g), b - lr * float(g.sum())
    return w, b


@single_blas_thread
def run(size: int = 256, lesion_contrast: float = 12.0, noise: float = 5.0, seeds=(0, 1, 2, 3, 4),
        n_patches: int = 1500, patch_contrast: float = 3.0, patch_noise: float = 3.0, lr: float = 0.05,
        steps: int = 200, seed: int = 0) -> CTWindowResult:
    """The phantom and its views (with ``seed``); the detection model for every seed of ``seeds``."""
    rng = np.random.default_rng(seed)
    phantom = make_phantom(rng, size, lesion_contrast, noise)
    hu = phantom.hu.astype(np.float64)
    ranges = {"naive": (float(hu.min()), float(hu.max()))}
    ranges.update({name: (c - w / 2.0, c + w / 2.0) for name, (c, w) in WINDOWS.items()})
    views, per_level, contrast, cnr = {}, {}, {}, {}
    for name, (low, high) in ranges.items():
        view = _to_8bit(hu, low, high).astype(np.float64)
        views[name] = view.astype(np.uint8)
        per_level[name] = (high - low) / 255.0
        contrast[name] = float(view[phantom.lesion].mean() - view[phantom.surround].mean())
        spread = float(view[phantom.surround].std())
        cnr[name] = contrast[name] / spread if spread > 0 else 0.0

    low, high = ranges["naive"]
    soft_c, soft_w = WINDOWS["soft tissue"]
    naive = lambda h: window_level(h, (low + high) / 2.0, high - low)  # noqa: E731
    representations = {
        "naive 8-bit": lambda h: quantize(naive(h), 8),
        "naive 12-bit": lambda h: quantize(naive(h), 12),
        "naive float": naive,
        "window 8-bit": lambda h: quantize(window_level(h, soft_c, soft_w), 8),
    }
    accuracy = {r: [] for r in REPRESENTATIONS}
    for s in seeds:
        prng = np.random.default_rng([seed, int(s)])
        h_train, y_train = make_patches(prng, n_patches, contrast=patch_contrast, noise=patch_noise)
        h_test, y_test = make_patches(prng, n_patches, contrast=patch_contrast, noise=patch_noise)
        for r in REPRESENTATIONS:
            x_train, x_test = representations[r](h_train), representations[r](h_test)
            stats = fit_standardize(x_train)  # training statistics, applied unchanged to the test patches
            w, b = _logistic_regression(stats.transform(x_train), y_train, lr, steps)
            pred = stats.transform(x_test) @ w + b > 0
            accuracy[r].append(float(np.mean(pred == y_test)))
    return CTWindowResult(
        phantom=phantom, views=views, view_ranges=ranges, hu_per_level=per_level, lesion_contrast=contrast,
        lesion_cnr=cnr, accuracy={k: np.array(v) for k, v in accuracy.items()}, seeds=tuple(int(s) for s in seeds),
        config=dict(size=size, lesion_contrast=lesion_contrast, noise=noise, seeds=tuple(seeds), n_patches=n_patches,
                    patch_contrast=patch_contrast, patch_noise=patch_noise, lr=lr, steps=steps, seed=seed),
    )
