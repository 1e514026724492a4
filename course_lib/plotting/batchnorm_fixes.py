"""Figures of chapter 7, what batch norm fixes.

Every function takes the result of one of the chapter's experiments
(``course_lib.experiments.bn_mnist / bn_rescue / bn_lr_sweep``) and returns a Figure; the
numbers are already in the result.
"""
from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from .style import PALETTE, figure as _figure, moving_average as _moving_average, subplots as _subplots

__all__ = ["plot_bn_mnist", "plot_bn_rescue", "plot_bn_lr_sweep"]

_COLORS = {"plain": PALETTE["vermillion"], "batch norm": PALETTE["blue"]}
_NAMES = {"plain": "without batch norm", "batch norm": "with batch norm"}


def _color(label: str) -> str:
    return _COLORS.get(label, PALETTE["grey"])


def _name(label: str) -> str:
    return _NAMES.get(label, label)


def plot_bn_mnist(result: Any, unit: int | None = None) -> Figure:
    """Ioffe & Szegedy's Fig. 1 for ``bn_mnist.run()``: (a) test accuracy against the step, with and
    without batch norm; (b, c) the 15th, 50th and 85th percentiles of the input of one sigmoid of the
    last hidden layer (``unit``, default the result's) over training, without and with batch norm."""
    unit = result.unit if unit is None else int(unit)
    fig = _figure(11.0, 3.4)
    axes = _subplots(fig, 1, 3)
    steps = result.steps
    for label, run in result.runs.items():
        axes[0].plot(steps, run.test_acc, color=_color(label), label=_name(label))
    axes[0].set_xlabel("SGD step")
    axes[0].set_ylabel("test accuracy")
    axes[0].set_ylim(0, 1.02)
    axes[0].set_title("(a) test accuracy")
    axes[0].legend(loc="lower right")
    lo = min(run.percentiles[:, :, unit].min() for run in result.runs.values())
    hi = max(run.percentiles[:, :, unit].max() for run in result.runs.values())
    pad = 0.05 * (hi - lo)
    for ax, (tag, (label, run)) in zip(axes[1:], zip("bc", result.runs.items())):
        p = run.percentiles[:, :, unit]
        ax.fill_between(steps, p[:, 0], p[:, 2], color=_color(label), alpha=0.2, lw=0)
        for k, (q, ls) in enumerate(zip(("15th", "50th", "85th"), ("--", "-", "--"))):
            ax.plot(steps, p[:, k], color=_color(label), ls=ls, lw=1.4 if k == 1 else 1.0, label=f"{q} percentile")
        ax.set_ylim(lo - pad, hi + pad)
        ax.set_xlabel("SGD step")
        ax.set_ylabel(f"input of sigmoid unit {unit + 1}, last hidden layer")
        ax.set_title(f"({tag}) {_name(label)}")
        ax.legend(loc="lower right", fontsize=8)
    return fig


def plot_bn_rescue(result: Any) -> Figure:
    """The three failures of chapters 2 and 3 with and without batch norm (``bn_rescue.run()``):
    (a) training loss of the 30-layer Xavier ReLU net, with the chance loss ln 10; (b) ReLU units off
    for every training image around the oversized step (bars: mean over seeds, dots: each seed);
    (c) mean activation of the top sigmoid layer, and (d) validation accuracy of the sigmoid net."""
    fig = _figure(10.5, 6.6)
    axes = _subplots(fig, 2, 2)
    (ax_deep, ax_dead), (ax_top, ax_acc) = axes
    deep = result.deep
    for label in dict.fromkeys(k for k, _ in deep.runs):
        for j, seed in enumerate(deep.seeds):
            h = deep.runs[label, seed].history
            loss = np.asarray(h.loss, float)
            ax_deep.plot(np.arange(1, len(loss) + 1) / h.steps_per_epoch, _moving_average(loss, h.steps_per_epoch),
                         color=_color(label), lw=1.4, label=_name(label) if j == 0 else None)
    ax_deep.axhline(deep.chance_loss, color=PALETTE["grey"], ls=":", lw=1.2)
    ax_deep.annotate(f"ln 10 = {deep.chance_loss:.2f}", (0.02, deep.chance_loss), xycoords=("axes fraction", "data"),
                     va="bottom", fontsize=8.5, color=PALETTE["grey"], xytext=(0, 2), textcoords="offset points")
    ax_deep.set_xlabel("epoch")
    ax_deep.set_ylabel("training loss (mean over an epoch)")
    ax_deep.set_title(f"(a) {len(deep.dims) - 1}-layer ReLU net, Xavier init", fontsize=10)
    ax_deep.legend(loc="lower left", fontsize=8.5)
    ax_deep.set_ylim(0, None)

    dead = result.dead
    labels = list(dead.runs)
    n_layers = dead.off(labels[0]).shape[2]
    stages = ("before", "after step", "end")
    stage_idx = [1, 2, 3]
    groups = [(label, layer) for layer in range(n_layers) for label in labels]
    x = np.arange(len(stages))
    width = 0.8 / len(groups)
    for g, (label, layer) in enumerate(groups):
        vals = dead.off(label)[:, stage_idx, layer]  # (seeds, 3)
        offs = x - 0.4 + width * (g + 0.5)
        ax_dead.bar(offs, vals.mean(axis=0), width=width * 0.9, color=_color(label), alpha=1.0 if layer == 0 else 0.5,
                    label=f"layer {layer + 1}, {_name(label)}")
        for i in range(len(stages)):
            ax_dead.plot(np.full(vals.shape[0], offs[i]), vals[:, i], ".", color="black", ms=3)
    ax_dead.set_xticks(x, ["before the big step", "right after it", "end"])
    widths = dead.runs[labels[0]][0].widths
    ax_dead.set_ylabel(f"dead ReLU units (of {widths[0]})")
    ax_dead.set_title(f"(b) one SGD step at lr {dead.config['big_lr']:g}", fontsize=10)
    ax_dead.legend(loc="upper left", fontsize=7.5)

    sat = result.saturation
    for label, run in sat.runs.items():
        ax_top.plot(sat.steps, run.mean[:, -1], color=_color(label), label=_name(label))
        ax_top.fill_between(sat.steps, run.mean[:, -1] - run.std[:, -1], run.mean[:, -1] + run.std[:, -1],
                            color=_color(label), alpha=0.15, lw=0)
        ax_acc.plot(sat.steps, run.val_acc, color=_color(label), label=_name(label))
    ax_top.set_ylim(0, 1)
    ax_top.set_xlabel("SGD step")
    ax_top.set_ylabel(f"layer {sat.config['depth']} activation, mean $\\pm$ std")
    ax_top.set_title(f"(c) top layer of the {sat.config['depth']}-layer sigmoid net", fontsize=10)
    ax_top.legend(loc="upper right", fontsize=8.5)
    ax_acc.set_ylim(0, 1.02)
    ax_acc.set_xlabel("SGD step")
    ax_acc.set_ylabel("validation accuracy")
    ax_acc.set_title("(d) the same sigmoid net: validation accuracy", fontsize=10)
    ax_acc.legend(loc="center right", fontsize=8.5)
    return fig


def plot_bn_lr_sweep(result: Any) -> Figure:
    """``bn_lr_sweep.run()``: final training loss (log) and validation accuracy against the learning
    rate (log), with and without batch norm; dots are seeds, lines their median; a cross on the top
    edge marks a diverged run; dashed lines mark the largest learning rate that trains."""
    fig = _figure(10.5, 3.6)
    ax_loss, ax_acc = _subplots(fig, 1, 2)
    lrs = result.lrs
    finite = np.concatenate([v[np.isfinite(v)] for v in result.final_loss.values()])
    top = float(np.max(finite[finite < 1e6])) * 3 if np.any(finite < 1e6) else 10.0
    for label in result.final_loss:
        loss = result.final_loss[label]
        acc = result.val_acc[label]
        color = _color(label)
        shown = np.where(np.isfinite(loss), np.minimum(loss, top), np.nan)
        with warnings.catch_warnings():  # a learning rate where every seed diverged: an all-nan column
            warnings.simplefilter("ignore", RuntimeWarning)
            ax_loss.plot(lrs, np.nanmedian(shown, axis=0), color=color, marker="o", ms=4, label=_name(label))
            ax_acc.plot(lrs, np.nanmedian(acc, axis=0), color=color, marker="o", ms=4, label=_name(label))
        for i in range(loss.shape[0]):
            ax_loss.plot(lrs, shown[i], ".", color=color, ms=3, alpha=0.6)
            ax_acc.plot(lrs, acc[i], ".", color=color, ms=3, alpha=0.6)
        div = ~np.isfinite(loss).all(axis=0)
        ax_loss.plot(lrs[div], np.full(div.sum(), top), "x", color=color, ms=7, mew=1.8)
        ax_acc.plot(lrs[div], np.full(div.sum(), 0.0), "x", color=color, ms=7, mew=1.8)
        best = result.largest_lr(label)
        if np.any(np.isfinite(best)):
            for ax in (ax_loss, ax_acc):
                ax.axvline(float(np.nanmin(best)), color=color, ls="--", lw=1.0, alpha=0.8)
    for ax in (ax_loss, ax_acc):
        ax.set_xscale("log")
        ax.set_xlabel("learning rate (plain SGD)")
    ax_loss.set_yscale("log")
    ax_loss.set_ylabel(f"training loss, last {result.config['tail']} steps")
    ax_loss.set_title("final loss (x: diverged)", fontsize=10)
    ax_loss.legend(loc="upper left", fontsize=8.5)
    ax_acc.axhline(result.threshold, color=PALETTE["grey"], ls=":", lw=1.0)
    ax_acc.set_ylim(-0.03, 1.02)
    ax_acc.set_ylabel("validation accuracy")
    ax_acc.set_title(f"accuracy after {result.config['steps']} steps (dotted: the bar for 'trains')", fontsize=10)
    ax_acc.legend(loc="lower left", fontsize=8.5)
    return fig
