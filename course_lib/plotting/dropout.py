"""Figures of the dropout chapter (:mod:`course_lib.experiments.dropout_*`)."""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.figure import Figure

from .style import PALETTE, figure as _figure, subplots as _subplots

__all__ = ["plot_thinned_networks", "plot_mc_averaging", "plot_sparsity", "plot_variance_shift",
           "plot_dropout_cnn", "plot_reliability"]


def _draw_net(ax, dims, masks, title: str) -> None:
    """Units as circles (crossed out if dropped), edges only between two kept units."""
    xs = np.arange(len(dims))
    pos = [np.linspace(-(d - 1) / 2, (d - 1) / 2, d) for d in dims]
    for layer in range(len(dims) - 1):
        for i, yi in enumerate(pos[layer]):
            for j, yj in enumerate(pos[layer + 1]):
                on = masks[layer][i] and masks[layer + 1][j]
                ax.plot([xs[layer], xs[layer + 1]], [yi, yj], color=PALETTE["grey"] if on else "#e6e6e6",
                        lw=0.9 if on else 0.5, zorder=1)
    for layer in range(len(dims)):
        for i, y in enumerate(pos[layer]):
            kept = bool(masks[layer][i])
            color = PALETTE["blue"] if kept else "white"
            ax.scatter([xs[layer]], [y], s=140, color=color, edgecolor=PALETTE["black"], zorder=2, lw=1.0)
            if not kept:
                ax.plot(xs[layer] + np.array([-0.12, 0.12]), y + np.array([-0.3, 0.3]), color=PALETTE["vermillion"],
                        lw=1.5, zorder=3)
                ax.plot(xs[layer] + np.array([-0.12, 0.12]), y + np.array([0.3, -0.3]), color=PALETTE["vermillion"],
                        lw=1.5, zorder=3)
    ax.set_title(title)
    ax.set_axis_off()


def plot_thinned_networks(result: Any) -> Figure:
    """The full network, then the thinned networks of the sampled masks in ``result.thinned``
    (:mod:`~course_lib.experiments.dropout_ensemble`): dropped units crossed out, their edges gone."""
    dims = result.thinned_dims
    n = 1 + len(result.thinned)
    fig = _figure(2.4 * n, 2.8)
    axes = _subplots(fig, 1, n)
    _draw_net(axes[0], dims, [np.ones(d, bool) for d in dims], "full network")
    for k, (ax, masks) in enumerate(zip(axes[1:], result.thinned), start=1):
        kept = sum(int(np.sum(m)) for m in masks[:-1])
        ax_title = f"thinned net {k}\n{kept} of {sum(dims[:-1])} units kept"
        _draw_net(ax, dims, masks, ax_title)
    return fig


def plot_mc_averaging(result: Any) -> Figure:
    """Test error of MC averaging against the number k of thinned nets (mean and spread over the
    repetitions), with the weight-scaled network as a horizontal line (Srivastava et al. Fig. 11)."""
    fig = _figure(5.2, 3.3)
    ax = _subplots(fig)
    ks, mean, std = result.ks, 100 * result.mc_mean, 100 * result.mc_std
    ax.fill_between(ks, mean - std, mean + std, color=PALETTE["blue"], alpha=0.2, lw=0)
    ax.plot(ks, mean, color=PALETTE["blue"], marker="o", ms=4, label="MC average of k thinned nets")
    ax.axhline(100 * result.scaled_error, color=PALETTE["vermillion"], ls="--", label="weight scaling (one pass)")
    ax.set_xscale("log")
    ax.set_xticks(ks, [str(k) for k in ks])
    ax.minorticks_off()
    ax.set_xlabel("k, number of thinned networks averaged")
    ax.set_ylabel("test error (%)")
    ax.legend()
    return fig


def plot_sparsity(result: Any, n_features: int = 24) -> Figure:
    """Top: the first encoder features (columns of W1 as 8x8 images) without and with dropout.
    Bottom: histograms of the units' mean activation and of the fraction of active units per image."""
    ps = result.ps
    fig = _figure(9.0, 6.0)
    top = fig.subfigures(2, 1, height_ratios=[1.1, 1.0])
    feats = top[0].subfigures(1, len(ps))
    colors = [PALETTE["grey"], PALETTE["blue"], PALETTE["orange"], PALETTE["green"]]
    cols = 6
    for sub, p in zip(np.atleast_1d(feats), ps):
        w = result.runs[p].w1[:, :n_features]
        axes = sub.subplots(int(np.ceil(n_features / cols)), cols)
        for j, ax in enumerate(axes.flat):
            ax.set_axis_off()
            if j < w.shape[1]:
                lim = np.abs(w[:, j]).max()
                ax.imshow(w[:, j].reshape(8, 8), cmap="RdBu_r", vmin=-lim, vmax=lim)
        sub.suptitle("no dropout" if p == 0 else f"dropout p = {p:g}", fontsize=10)
    a1, a2 = top[1].subplots(1, 2)
    for k, p in enumerate(ps):
        r = result.runs[p]
        label = "no dropout" if p == 0 else f"dropout p = {p:g}"
        a1.hist(r.unit_mean, bins=30, color=colors[k % 4], alpha=0.6, label=label)
        a2.hist(r.active_fraction, bins=np.linspace(0, 1, 41), color=colors[k % 4], alpha=0.6, label=label)
    a1.set_xlabel("mean activation of a hidden unit")
    a1.set_ylabel("units")
    a2.set_xlabel("fraction of hidden units active on an image")
    a2.set_ylabel("test images")
    a1.legend()
    for ax in (a1, a2):
        ax.grid(alpha=0.3)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
    return fig


def plot_variance_shift(result: Any) -> Figure:
    """Per unit of the second batch-norm layer: the measured variance shift (test variance / running
    variance) against the one predicted from the dropout formula; the diagonal is agreement, 1 is no shift."""
    fig = _figure(4.4, 3.8)
    ax = _subplots(fig)
    ax.scatter(result.predicted, result.shift, s=10, color=PALETTE["blue"], alpha=0.6, label="one unit")
    lo = 0.0
    ax.plot([lo, 1.2], [lo, 1.2], color=PALETTE["grey"], ls="--", lw=1, label="measured = predicted")
    ax.axhline(1.0, color=PALETTE["vermillion"], lw=1, ls=":", label="no shift")
    ax.set_xlim(lo, 1.2)
    ax.set_ylim(lo, 1.2)
    ax.set_xlabel("predicted Var(test) / Var(train)")
    ax.set_ylabel("measured Var(test) / running var")
    ax.legend(loc="upper left", fontsize=8)
    return fig


def plot_dropout_cnn(result: Any) -> Figure:
    """One column per model: training loss (with dropout) and validation loss per epoch, one colour per p."""
    n = len(result.models)
    fig = _figure(4.2 * n, 5.2)
    axes = np.asarray(_subplots(fig, 2, n, sharex=True, squeeze=False))
    colors = [PALETTE["grey"], PALETTE["blue"], PALETTE["orange"], PALETTE["vermillion"], PALETTE["green"]]
    titles = {"simple": "simple CNN", "deep": "deeper CNN (2 convs per block)"}
    for j, m in enumerate(result.models):
        for k, p in enumerate(result.ps):
            for ax, which in ((axes[0, j], "train_loss"), (axes[1, j], "val_loss")):
                c = result.curve(m, p, which)
                ep = np.arange(1, c.shape[1] + 1)
                ax.plot(ep, c.mean(axis=0), color=colors[k % 5], label="no dropout" if p == 0 else f"p = {p:g}")
        axes[0, j].set_title(titles.get(m, m))
        axes[0, j].set_yscale("log")
        axes[1, j].set_yscale("log")
        axes[1, j].set_xlabel("epoch")
    axes[0, 0].set_ylabel("training loss (with dropout)")
    axes[1, 0].set_ylabel("validation loss")
    axes[0, 0].legend(fontsize=8)
    return fig


def plot_reliability(result: Any) -> Figure:
    """Reliability diagrams, one panel per predictor: accuracy per confidence bin (filled bars) and the
    bin's mean confidence (outlined bars) against the diagonal of perfect calibration; the ECE in the title."""
    methods = list(result.reliabilities)
    fig = _figure(3.3 * len(methods), 3.6)
    axes = _subplots(fig, 1, len(methods), sharey=True)
    for ax, m in zip(np.atleast_1d(axes), methods):
        r = result.reliabilities[m]
        centers = 0.5 * (r.edges[1:] + r.edges[:-1])
        width = r.edges[1] - r.edges[0]
        has = r.count > 0
        ax.bar(centers[has], r.accuracy[has], width * 0.9, color=PALETTE["blue"], alpha=0.75, label="accuracy")
        ax.bar(centers[has], r.confidence[has], width * 0.9, fill=False, edgecolor=PALETTE["vermillion"], lw=1.5,
               label="mean confidence")
        ax.plot([0, 1], [0, 1], color=PALETTE["grey"], ls="--", lw=1)
        ax.set_title(f"{m}: ECE {r.ece:.3f}")
        ax.set_xlabel("confidence (top class probability)")
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1.02)
    np.atleast_1d(axes)[0].set_ylabel("accuracy")
    np.atleast_1d(axes)[0].legend(loc="upper left", fontsize=8)
    return fig
