"""Figures of the data-preprocessing chapter."""
from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from .style import PALETTE, figure as _figure, subplots as _subplots

__all__ = [
    "plot_preprocessing_cloud",
    "plot_all_positive",
    "plot_image_means",
    "plot_whitening_images",
    "plot_leakage",
    "plot_ct_windows",
    "plot_ct_detection",
]

_INPUT_COLORS = {"raw": PALETTE["vermillion"], "centred": PALETTE["blue"], "standardized": PALETTE["green"]}


def _image_axis(ax, title: str | None = None, fontsize: float = 9) -> None:
    ax.set_xticks([])
    ax.set_yticks([])
    ax.grid(False)
    for spine in ax.spines.values():
        spine.set_visible(False)
    if title:
        ax.set_title(title, fontsize=fontsize)


# --------------------------------------------------------------------------------------------
# The 2-D cloud
# --------------------------------------------------------------------------------------------
def plot_preprocessing_cloud(result: Any) -> Figure:
    """Two rows, as in the slides: original / centred / normalized, and original / decorrelated / whitened.

    ``result`` is ``preprocess_cloud.run()``. Every panel has the same scale and the axes through 0,
    so the moves are visible: centring shifts, normalizing stretches along the axes, decorrelating
    rotates onto the principal axes, whitening makes the cloud round.
    """
    rows = (("original", "centred", "normalized"), ("original", "decorrelated", "whitened"))
    titles = {"original": "original data", "centred": "zero-centred", "normalized": "normalized (per axis)",
              "decorrelated": "decorrelated (PCA)", "whitened": "whitened"}
    pts = np.concatenate([s.points for s in result.stages.values()])
    lim = 1.08 * float(np.max(np.abs(pts)))
    fig = _figure(9.6, 6.4)
    axes = _subplots(fig, 2, 3)
    for r, names in enumerate(rows):
        for c, name in enumerate(names):
            ax, stage = axes[r, c], result.stages[name]
            ax.axhline(0, color=PALETTE["grey"], lw=0.8)
            ax.axvline(0, color=PALETTE["grey"], lw=0.8)
            ax.scatter(stage.points[:, 0], stage.points[:, 1], s=6, alpha=0.55,
                       color=PALETTE["blue"] if r == 0 else PALETTE["orange"], edgecolors="none")
            # the 2-sigma ellipse of the covariance
            vals, vecs = np.linalg.eigh(stage.cov)
            t = np.linspace(0, 2 * np.pi, 200)
            ell = (vecs * 2 * np.sqrt(np.maximum(vals, 0))) @ np.vstack([np.cos(t), np.sin(t)])
            ax.plot(stage.mean[0] + ell[0], stage.mean[1] + ell[1], color="black", lw=1.2)
            ax.set_xlim(-lim, lim)
            ax.set_ylim(-lim, lim)
            ax.set_aspect("equal")
            ax.set_title(f"{titles[name]}\ncorr {stage.correlation:+.2f}, "
                         f"var ({stage.cov[0, 0]:.2f}, {stage.cov[1, 1]:.2f})", fontsize=9)
    return fig


# --------------------------------------------------------------------------------------------
# All-positive inputs
# --------------------------------------------------------------------------------------------
def plot_all_positive(result: Any, seed_index: int = 0) -> Figure:
    """Left: steps to reach the loss threshold against the learning rate, per input (every seed; a
    cross at the top marks a run that diverged; a dotted line marks 2 / lambda_max of the
    cross-entropy Hessian at the start, mean over seeds). Right: the training loss at each input's
    best learning rate (one seed). ``result`` is ``all_positive.run()``."""
    fig = _figure(10.5, 3.8)
    ax_lr, ax_loss = _subplots(fig, 1, 2)
    lrs = np.array(result.lrs, float)
    top = max([v for r in result.digits for v in r.steps_to_threshold.values() if v is not None] + [1])
    ceiling = 1.6 * top
    for k, name in enumerate(("raw", "centred", "standardized")):
        color = _INPUT_COLORS[name]
        for j, r in enumerate(result.runs(name)):
            steps = np.array([np.nan if r.steps_to_threshold[lr] is None else r.steps_to_threshold[lr] for lr in lrs])
            shift = 1.0 + 0.04 * (k - 1)  # keep the three inputs apart where they coincide
            ax_lr.plot(lrs * shift, steps, marker="o", ms=4, color=color, alpha=0.8, label=name if j == 0 else None)
            failed = np.isnan(steps)
            ax_lr.plot(lrs[failed] * shift, np.full(failed.sum(), ceiling), "x", color=color, ms=7, mew=2)
        lam_h = np.mean([getattr(r, "lambda_hessian", np.nan) for r in result.runs(name)])
        if np.isfinite(lam_h) and lam_h > 0:
            ax_lr.axvline(2.0 / lam_h, color=color, ls=":", lw=1.3)
    ax_lr.set_xscale("log")
    ax_lr.set_yscale("log")
    ax_lr.set_xlabel("learning rate")
    ax_lr.set_ylabel(f"steps to loss {result.threshold}")
    ax_lr.text(lrs[0], ceiling, "x: diverged;  dotted: $2/\\lambda_{\\max}(H)$", ha="left", va="center",
               fontsize=8, color=PALETTE["grey"])
    ax_lr.legend(fontsize=8, loc="lower left")
    ax_lr.set_title(f"digits / 16, linear softmax, {len(result.seeds)} seeds", fontsize=10)

    seed = result.seeds[seed_index]
    for r in result.digits:
        if r.seed != seed or r.best_steps is None:
            continue
        ax_loss.plot(np.arange(len(r.best_curve)), r.best_curve, marker="o", ms=3, color=_INPUT_COLORS[r.name],
                     label=f"{r.name} (lr {r.best_lr:g}): {r.best_steps} steps")
    ax_loss.axhline(result.threshold, color=PALETTE["grey"], ls=":", lw=1.2)
    ax_loss.set_yscale("log")
    ax_loss.set_xlabel("full-batch gradient step")
    ax_loss.set_ylabel("training loss")
    ax_loss.legend(fontsize=8)
    ax_loss.set_title(f"each at its best learning rate (seed {seed})", fontsize=10)
    return fig


# --------------------------------------------------------------------------------------------
# Image means
# --------------------------------------------------------------------------------------------
def _show(ax, img: np.ndarray, title: str | None = None, signed: bool = False, vmax: float | None = None) -> None:
    """Show a (C, H, W) image: grey for C = 1, RGB for C = 3; ``signed`` uses a diverging map around 0."""
    img = np.asarray(img, float)
    if img.shape[0] == 1:
        if signed:
            v = vmax if vmax is not None else max(float(np.abs(img).max()), 1e-12)
            ax.imshow(img[0], cmap="RdBu_r", vmin=-v, vmax=v, interpolation="nearest")
        else:
            ax.imshow(img[0], cmap="gray_r", vmin=0, vmax=1, interpolation="nearest")
    else:
        rgb = np.moveaxis(img, 0, -1)
        if signed:
            v = vmax if vmax is not None else max(float(np.abs(rgb).max()), 1e-12)
            rgb = 0.5 + 0.5 * rgb / v
        ax.imshow(np.clip(rgb, 0, 1), interpolation="nearest")
    _image_axis(ax, title)


def plot_image_means(result: Any, n_examples: int = 4) -> Figure:
    """One row per image set: examples, the mean image, the per-channel mean (a flat image), and the
    per-pixel means left after per-channel centring. ``result`` is ``image_means.run()``."""
    sets = list(result.sets.values())
    ncols = n_examples + 3
    fig = _figure(1.45 * ncols, 1.75 * len(sets) + 0.3)
    axes = _subplots(fig, len(sets), ncols, squeeze=False)
    for row, s in enumerate(sets):
        for k in range(n_examples):
            _show(axes[row, k], s.examples[k], f"{s.name} {k + 1}" if k == 0 else None)
        _show(axes[row, n_examples], s.mean_image, f"mean image\n({s.n_stats['mean image']} numbers)")
        flat = np.broadcast_to(s.channel_mean[:, None, None], s.mean_image.shape)
        _show(axes[row, n_examples + 1], flat, f"channel mean\n({s.n_stats['channel mean']} number"
              f"{'s' if s.n_stats['channel mean'] > 1 else ''})")
        residual = s.mean_image - s.channel_mean[:, None, None]
        _show(axes[row, n_examples + 2], residual, f"left after channel\ncentring (max {s.residual_after_channel:.2f})",
              signed=True)
    return fig


# --------------------------------------------------------------------------------------------
# Whitening images
# --------------------------------------------------------------------------------------------
def plot_whitening_images(result: Any) -> Figure:
    """Left: the eigenvalues of the digits' pixel covariance (log scale) with each eps. Right: example
    digits, ZCA-whitened with each eps, and PCA-whitened (reshaped to 8x8, no longer an image).
    ``result`` is ``whitening_images.run()``."""
    k = len(result.examples)
    rows = 2 + len(result.eps)
    fig = _figure(3.6 + 1.05 * k, 1.05 * rows + 0.5)
    grid = fig.add_gridspec(rows, k + 1, width_ratios=[3.2] + [1] * k)
    ax = fig.add_subplot(grid[:, 0])
    lam = result.eigenvalues
    shown = np.where(lam > 0, lam, np.nan)
    ax.semilogy(np.arange(1, len(lam) + 1), shown, marker="o", ms=3, color=PALETTE["blue"])
    eps_colors = (PALETTE["vermillion"], PALETTE["orange"], PALETTE["green"], PALETTE["purple"], PALETTE["sky"])
    for e, color in zip(result.eps, eps_colors):
        ax.axhline(e, color=color, ls="--", lw=1, label=f"eps = {e:g}")
    ax.set_xlabel("direction (by decreasing variance)")
    ax.set_ylabel("variance $\\lambda_i$")
    ax.set_title(f"pixel covariance: rank {result.rank} of {len(lam)}", fontsize=10)
    ax.legend(fontsize=8, loc="lower left")
    labels = ["original"] + [f"ZCA, eps {e:g}" for e in result.eps] + [f"PCA, eps {result.eps[0]:g}"]
    images = [result.examples] + [result.zca[e] for e in result.eps] + [result.pca]
    for r, (label, batch) in enumerate(zip(labels, images)):
        for c in range(k):
            a = fig.add_subplot(grid[r, c + 1])
            img = batch[c]
            if r == 0:
                a.imshow(img, cmap="gray_r", vmin=0, vmax=1, interpolation="nearest")
            else:
                v = max(float(np.abs(img).max()), 1e-12)
                a.imshow(img, cmap="RdBu_r", vmin=-v, vmax=v, interpolation="nearest")
            _image_axis(a)
            if c == 0:
                a.set_ylabel(label, fontsize=8, rotation=0, ha="right", va="center")
    return fig


# --------------------------------------------------------------------------------------------
# Leakage
# --------------------------------------------------------------------------------------------
def plot_leakage(result: Any) -> Figure:
    """Three panels for the three ways of breaking the golden rule (``leakage.run()``): test accuracy
    per seed with train-only vs train+test statistics; accuracy when each test batch is standardized
    with its own statistics; apparent accuracy on pure noise after feature selection on all data."""
    fig = _figure(11.0, 3.6)
    ax1, ax2, ax3 = _subplots(fig, 1, 3)
    seeds = np.arange(len(result.seeds))
    ax1.plot(seeds, result.acc_train_stats, "o", color=PALETTE["blue"], ms=7, label="train statistics")
    ax1.plot(seeds, result.acc_all_stats, "x", color=PALETTE["vermillion"], ms=8, mew=2,
             label="train + test statistics")
    ax1.set_xticks(seeds, [str(s) for s in result.seeds])
    ax1.set_xlabel("seed")
    ax1.set_ylabel("test accuracy")
    lo = min(result.acc_train_stats.min(), result.acc_all_stats.min())
    ax1.set_ylim(lo - 0.03, 1.0)
    ax1.legend(fontsize=8, loc="lower right")
    ax1.set_title("1. standardize with test data too", fontsize=10)

    groups = ("random", "one class")
    width = 0.36
    for j, (stats, color) in enumerate((("train", PALETTE["blue"]), ("own batch", PALETTE["vermillion"]))):
        means = [result.batch_acc[(g, stats)].mean() for g in groups]
        xs = np.arange(len(groups)) + (j - 0.5) * width
        ax2.bar(xs, means, width, color=color, label=f"{stats} statistics")
        for x0, g in zip(xs, groups):
            vals = result.batch_acc[(g, stats)]
            ax2.plot(np.full(len(vals), x0), vals, ".", color="black", ms=4)
    ax2.set_xticks(np.arange(len(groups)), [f"{g} batches" for g in groups])
    ax2.axhline(0.1, color=PALETTE["grey"], ls=":", lw=1)
    ax2.set_ylim(0, 1.05)
    ax2.set_ylabel("accuracy")
    ax2.legend(fontsize=8, loc="center right")
    ax2.set_title("2. statistics of the batch at inference", fontsize=10)

    data = [result.noise_acc_leaky, result.noise_acc_honest]
    for i, (vals, color) in enumerate(zip(data, (PALETTE["vermillion"], PALETTE["blue"]))):
        jitter = np.linspace(-0.12, 0.12, len(vals))
        ax3.plot(i + jitter, vals, "o", color=color, ms=4, alpha=0.7)
        ax3.plot([i - 0.2, i + 0.2], [vals.mean()] * 2, color="black", lw=2)
    ax3.axhline(0.5, color=PALETTE["grey"], ls=":", lw=1.2)
    ax3.text(1.45, 0.5, "chance", fontsize=8, va="bottom", ha="right", color=PALETTE["grey"])
    ax3.set_xticks([0, 1], ["selected on\ntrain + test", "selected on\ntrain only"])
    ax3.set_xlim(-0.5, 1.5)
    ax3.set_ylim(0.2, 1.0)
    ax3.set_ylabel("test accuracy on pure noise")
    ax3.set_title("3. a supervised statistic on all data", fontsize=10)
    return fig


# --------------------------------------------------------------------------------------------
# CT windows
# --------------------------------------------------------------------------------------------
def plot_ct_windows(result: Any, zoom: int = 48) -> Figure:
    """Top: the phantom's four 8-bit views (naive, soft tissue, lung, bone). Bottom: the same views
    cropped around the lesion (a ``zoom`` x ``zoom`` square), with its contrast in grey levels.
    ``result`` is ``ct_window.run()``."""
    names = list(result.views)
    fig = _figure(2.6 * len(names), 5.6)
    axes = _subplots(fig, 2, len(names))
    rows, cols = np.nonzero(result.phantom.lesion)
    cy, cx = int(rows.mean()), int(cols.mean())
    size = result.phantom.hu.shape[0]
    y0 = int(np.clip(cy - zoom // 2, 0, size - zoom))
    x0 = int(np.clip(cx - zoom // 2, 0, size - zoom))
    for j, name in enumerate(names):
        view = result.views[name]
        lo, hi = result.view_ranges[name]
        axes[0, j].imshow(view, cmap="gray", vmin=0, vmax=255, interpolation="nearest")
        axes[0, j].add_patch(Rectangle((x0, y0), zoom, zoom, fill=False, edgecolor=PALETTE["orange"], lw=1.2))
        label = "naive: min..max" if name == "naive" else f"{name} window"
        _image_axis(axes[0, j], f"{label}\n[{lo:.0f}, {hi:.0f}] HU, {result.hu_per_level[name]:.1f} HU/level")
        axes[1, j].imshow(view[y0:y0 + zoom, x0:x0 + zoom], cmap="gray", vmin=0, vmax=255, interpolation="nearest")
        _image_axis(axes[1, j], f"lesion: {result.lesion_contrast[name]:.1f} grey levels")
    return fig


def plot_ct_detection(result: Any) -> Figure:
    """Test accuracy of the lesion detector per input representation, mean bar and one dot per seed."""
    reps = list(result.accuracy)
    fig = _figure(6.0, 3.2)
    ax = _subplots(fig)
    colors = [PALETTE["vermillion"], PALETTE["sky"], PALETTE["blue"], PALETTE["green"]]
    for i, (r, color) in enumerate(zip(reps, colors * 2)):
        vals = result.accuracy[r]
        ax.bar(i, vals.mean(), 0.6, color=color, alpha=0.85)
        ax.plot(np.full(len(vals), i) + np.linspace(-0.15, 0.15, len(vals)), vals, ".", color="black", ms=5)
        ax.text(i, vals.max() + 0.004, f"{vals.mean():.1%}", ha="center", va="bottom", fontsize=9)
    ax.set_xticks(np.arange(len(reps)), reps)
    lo = min(v.min() for v in result.accuracy.values())
    ax.set_ylim(max(0.5, lo - 0.04), min(1.0, max(v.max() for v in result.accuracy.values()) + 0.03))
    ax.set_ylabel("test accuracy")
    ax.set_title("logistic regression finding a faint lesion", fontsize=10)
    return fig
