"""Figures of chapter 8, why batch norm works.

Every function takes the result of one of the chapter's experiments
(``course_lib.experiments.bn_noisy / bn_ics / bn_landscape / bn_insights``) and returns a Figure;
the numbers are already in the result.
"""
from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.figure import Figure

from .style import PALETTE, figure as _figure, moving_average as _moving_average, subplots as _subplots

__all__ = ["plot_bn_noisy", "plot_bn_ics", "plot_bn_landscape", "plot_bn_perturbations", "plot_bn_hessian"]

_COLORS = {"plain": PALETTE["vermillion"], "bn": PALETTE["blue"], "noisy_bn": PALETTE["green"],
           "noisy_plain": PALETTE["orange"]}
_LABELS = {"plain": "no BN", "bn": "BN", "noisy_bn": "noisy BN", "noisy_plain": "noise, no BN"}


def plot_bn_noisy(result: Any, smooth: int = 10, probe_seed: int | None = None) -> Figure:
    """Left: mini-batch training loss per step (moving average of ``smooth``; every seed one line, a
    cross where a run diverged). Right: the probed unit's ReLU input over the steps, batch mean with a
    band of one batch standard deviation, for one seed (``bn_noisy.run()``)."""
    fig = _figure(10.5, 3.6)
    ax, ax2 = _subplots(fig, 1, 2)
    for v in result.variants:
        for j, s in enumerate(result.seeds):
            r = result.runs[v, s]
            loss = r.loss[np.isfinite(r.loss)]
            steps = np.arange(1, len(loss) + 1)
            ax.plot(steps, _moving_average(loss, smooth), color=_COLORS[v], lw=1.3, alpha=0.85,
                    label=_LABELS[v] if j == 0 else None)
            if r.diverged:
                ax.plot(steps[-1:], _moving_average(loss, smooth)[-1:], "x", color=_COLORS[v], ms=8, mew=2)
    ax.axhline(result.chance_loss, color=PALETTE["grey"], ls=":", lw=1.2)
    ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("training loss (mini-batch, smoothed)")
    ax.set_title(f"SGD, learning rate {result.config['lr']:g}")
    ax.legend(loc="lower left", fontsize=8)
    seed = result.seeds[0] if probe_seed is None else probe_seed
    for v in ("plain", "bn", "noisy_bn"):
        if v not in result.variants:
            continue
        r = result.runs[v, seed]
        steps = np.arange(1, len(r.probe_mean) + 1)
        ax2.plot(steps, r.probe_mean, color=_COLORS[v], lw=1.0, label=_LABELS[v])
        ax2.fill_between(steps, r.probe_mean - r.probe_std, r.probe_mean + r.probe_std, color=_COLORS[v],
                         alpha=0.15, lw=0)
    ax2.set_xlabel("step")
    ax2.set_ylabel("ReLU input of one unit")
    ax2.set_title(f"layer {result.config['probe_layer']}, unit {result.config['probe_unit']}: "
                  "batch mean \u00b1 std")
    ax2.legend(loc="upper right", fontsize=8)
    return fig


def plot_bn_ics(result: Any) -> Figure:
    """Per layer (2 = the second hidden layer ... 11 = the output layer): median over the measured steps
    of cos(G, G') (left) and of ||G - G'|| / ||G|| (right), every seed one line (``bn_ics.run()``)."""
    fig = _figure(10.5, 3.5)
    axes = _subplots(fig, 1, 2)
    for ax, measure, label in zip(axes, ("cosine", "relative"), (r"$\cos(G_i, G_i')$",
                                                                  r"$\|G_i - G_i'\| \,/\, \|G_i\|$")):
        for v in result.variants:
            per = result.per_layer(v, measure)
            layers = result.runs[v, result.seeds[0]].layers
            for j, row in enumerate(per):
                ax.plot(layers, row, color=_COLORS[v], marker="o", ms=3, lw=1.2, alpha=0.85,
                        label=_LABELS[v] if j == 0 else None)
        ax.set_xlabel(r"layer $i$ (11 = output layer)")
        ax.set_ylabel(label + " (median over steps)")
        ax.legend(fontsize=8)
    axes[0].set_title("gradient direction kept (1 = no shift)")
    axes[1].set_title("gradient change (0 = no shift)")
    return fig


def plot_bn_landscape(result: Any, seed: int | None = None) -> Figure:
    """Along the training steps where a walk was made: the range of the loss over the walk (band, with
    the loss at the start as a line), the largest gradient change, and the effective smoothness, for
    one seed (``bn_landscape.run()``); log scales."""
    seed = result.seeds[0] if seed is None else seed
    fig = _figure(12.0, 3.4)
    axes = _subplots(fig, 1, 3)
    for v in result.variants:
        r = result.runs[v, seed]
        c = _COLORS[v]
        axes[0].fill_between(r.steps, r.walk_loss.min(axis=1), r.walk_loss.max(axis=1), color=c, alpha=0.3, lw=0,
                             label=f"{_LABELS[v]}: range over the walk")
        axes[0].plot(r.steps, r.start_loss, color=c, lw=1.2)
        axes[1].plot(r.steps, r.max_grad_change, color=c, marker="o", ms=3, label=_LABELS[v])
        axes[2].plot(r.steps, r.smoothness, color=c, marker="o", ms=3, label=_LABELS[v])
    axes[0].set_ylabel(r"$J(\theta - \eta g)$, $\eta \in [0.5, 4]\times$lr")
    axes[0].set_title("loss along the gradient")
    axes[1].set_ylabel(r"$\max_\eta \|\nabla J(\theta - \eta g) - g\|$")
    axes[1].set_title("gradient predictiveness")
    axes[2].set_ylabel(r"$\max_\eta \|\Delta g\| / \|\eta g\|$")
    axes[2].set_title(r"effective $\beta$-smoothness")
    for ax in axes:
        ax.set_yscale("log")
        ax.set_xlabel("training step")
        ax.legend(fontsize=8)
    return fig


def plot_bn_perturbations(result: Any, seed: int | None = None, target: int = 3) -> Figure:
    """Histograms of the predicted classes of the validation digits, one row per net (no BN, BN) of one
    seed: before, after a random perturbation, after a targeted one (towards class ``target``), and
    after the targeted one restricted to the hidden layers (``bn_insights.run()``)."""
    seed = result.seeds[0] if seed is None else seed
    fig = _figure(11.0, 4.6)
    axes = _subplots(fig, len(result.variants), 4, sharey=True)
    axes = np.atleast_2d(axes)
    classes = np.arange(result.classes)
    for row, v in enumerate(result.variants):
        n = result.nets[v, seed]
        panels = (("before", n.counts), ("random direction", n.random[0].counts),
                  (f"towards class {target}", n.targeted[target].counts),
                  (f"towards class {target}, hidden layers only", n.targeted_hidden[target].counts))
        for col, (title, counts) in enumerate(panels):
            ax = axes[row, col]
            colors = [PALETTE["vermillion"] if (col >= 2 and k == target) else _COLORS[v] for k in classes]
            ax.bar(classes, counts / counts.sum(), color=colors)
            ax.set_xticks(classes)
            ax.set_ylim(0, 1.02)
            ax.grid(axis="x", visible=False)
            if row == 0:
                ax.set_title(title, fontsize=9.5)
            if row == len(result.variants) - 1:
                ax.set_xlabel("predicted class")
            if col == 0:
                ax.set_ylabel(f"{_LABELS[v]}\nfraction of inputs")
    return fig


def plot_bn_hessian(result: Any) -> Figure:
    """Overlap of the Hessian's leading eigenvector with the span of the output channel-mean gradients,
    per seed, no BN vs BN (log scale), with the expected overlap C/P of a random direction; right: the
    leading eigenvalue (``bn_insights.run()``)."""
    fig = _figure(9.0, 3.4)
    ax, ax2 = _subplots(fig, 1, 2)
    width = 0.8 / len(result.variants)
    x = np.arange(len(result.seeds))
    for k, v in enumerate(result.variants):
        ax.bar(x + (k - (len(result.variants) - 1) / 2) * width, result.overlap(v), width, color=_COLORS[v],
               label=_LABELS[v])
        ax2.bar(x + (k - (len(result.variants) - 1) / 2) * width,
                [abs(result.nets[v, s].eigenvalues[0]) for s in result.seeds], width, color=_COLORS[v],
                label=_LABELS[v])
    chance = result.nets[result.variants[0], result.seeds[0]].random_overlap
    ax.axhline(chance, color=PALETTE["grey"], ls=":", lw=1.2)
    ax.annotate("random direction, C/P", (0.02, chance), xycoords=("axes fraction", "data"), va="top",
                fontsize=8.5, color=PALETTE["grey"], xytext=(0, -2), textcoords="offset points",
                bbox=dict(facecolor="white", edgecolor="none", pad=1.0), zorder=5)
    ax.set_yscale("log")
    ax.set_ylim(chance / 20, 1.5)
    for a in (ax, ax2):
        a.set_xticks(x, [f"seed {s}" for s in result.seeds])
        a.grid(axis="x", visible=False)
    handles, labels = ax.get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside upper center", ncol=len(labels), fontsize=9)
    ax.set_ylabel(r"$\|Q^\top v_1\|^2$")
    ax.set_title("leading eigenvector in the channel-mean span")
    ax2.set_ylabel(r"$|\lambda_1|$")
    ax2.set_title("largest Hessian eigenvalue (magnitude)")
    return fig
