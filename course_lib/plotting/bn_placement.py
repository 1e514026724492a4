"""Figures of the batch-norm placement experiment (:mod:`course_lib.experiments.bn_placement`)."""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.figure import Figure

from .style import PALETTE, figure as _figure, subplots as _subplots

__all__ = ["plot_bn_placement", "plot_bn_gain"]

_COLORS = {None: PALETTE["grey"], "before": PALETTE["blue"], "after": PALETTE["orange"]}
_STYLES = {None: ":", "before": "-", "after": "--"}
_TITLES = {"simple": "simple CNN", "deep": "deeper CNN (2 convs per block)", "resnet": "ResNet"}
_LABELS = {None: "no BN", "before": "BN before ReLU", "after": "BN after ReLU"}


def plot_bn_placement(result: Any) -> Figure:
    """One column per model: training loss per epoch (top, log scale) and validation accuracy (bottom),
    one line per placement (the mean over the seeds; thin lines: each seed)."""
    n = len(result.models)
    fig = _figure(3.4 * n + 0.6, 5.4)
    axes = np.asarray(_subplots(fig, 2, n, sharex=True, sharey="row", squeeze=False))
    for j, model in enumerate(result.models):
        top, bottom = axes[0, j], axes[1, j]
        for p in result.placements_of(model):
            for ax, which in ((top, "train_loss"), (bottom, "val_acc")):
                curves = result.curves(model, p, which)
                epochs = np.arange(1, curves.shape[1] + 1)
                if len(result.seeds) > 1:
                    for c in curves:
                        ax.plot(epochs, c, color=_COLORS[p], ls=_STYLES[p], lw=0.7, alpha=0.35)
                ax.plot(epochs, curves.mean(axis=0), color=_COLORS[p], ls=_STYLES[p], lw=2.0, marker="o", ms=3,
                        label=_LABELS[p])
        top.set_yscale("log")
        top.set_title(_TITLES.get(model, model))
        bottom.set_xlabel("epoch")
        if j == 0:
            top.set_ylabel("training loss (epoch mean)")
            bottom.set_ylabel("validation accuracy")
    widest = max(range(n), key=lambda j: len(result.placements_of(result.models[j])))
    axes[0, widest].legend(loc="lower left", fontsize=8)  # one legend: the same colours in every panel
    return fig


def plot_bn_gain(result: Any) -> Figure:
    """What batch norm saves per model and placement: mean training loss without BN minus with it
    (bars: the mean over the seeds; dots: each seed). Higher = batch norm helped more."""
    fig = _figure(5.2, 3.2)
    ax = _subplots(fig)
    width = 0.38
    for i, model in enumerate(result.models):
        placed = [p for p in result.placements_of(model) if p is not None]
        for k, p in enumerate(placed):
            x = i + (k - (len(placed) - 1) / 2) * width
            gains = result.gain(model, p)
            ax.bar(x, gains.mean(), width * 0.9, color=_COLORS[p], alpha=0.8,
                   label=_LABELS[p] if p not in ax.get_legend_handles_labels()[1] and i == 0 else None)
            ax.plot(np.full(len(gains), x), gains, "o", color=PALETTE["black"], ms=3)
    ax.axhline(0.0, color=PALETTE["grey"], lw=0.8)
    ax.set_xticks(range(len(result.models)), [_TITLES.get(m, m).split(" (")[0] for m in result.models])
    ax.set_ylabel("mean loss without BN − with BN")
    ax.set_title("how much batch norm speeds up training")
    ax.legend(loc="upper left", fontsize=8)
    return fig
