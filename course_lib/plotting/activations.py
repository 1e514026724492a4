"""Figures of chapter 2, activation functions."""
from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.figure import Figure

from .style import PALETTE, figure as _figure, subplots as _subplots

__all__ = [
    "plot_activation_zoo",
    "plot_zigzag",
    "plot_sigmoid_saturation",
    "plot_dead_relu",
    "plot_activation_race",
]

_LAYER_COLORS = (PALETTE["blue"], PALETTE["green"], PALETTE["orange"], PALETTE["vermillion"], PALETTE["purple"],
                 PALETTE["sky"], PALETTE["black"])


def _fmt(g: float) -> str:
    return "0" if g == 0 else (f"{g:.2g}" if abs(g) >= 1e-3 else f"{g:.1e}")


def plot_activation_zoo(result: Any, ncols: int = 3) -> Figure:
    """One panel per activation: f (solid) and its derivative f' from the backward pass (dashed).

    ``result`` is ``activation_zoo.run()``. Each panel's title gives f' at the probe points
    (the slides' x = -10, 0, 10), also computed by the backward pass.
    """
    entries = list(result.entries.values())
    nrows = int(np.ceil(len(entries) / ncols))
    fig = _figure(3.2 * ncols, 2.5 * nrows)
    axes = np.atleast_1d(_subplots(fig, nrows, ncols, squeeze=False, sharex=True)).ravel()
    for ax, e in zip(axes, entries):
        ax.axhline(0, color=PALETTE["grey"], lw=0.8)
        ax.axvline(0, color=PALETTE["grey"], lw=0.8)
        ax.plot(result.grid, e.values, color=PALETTE["blue"], label="f(x)")
        ax.plot(result.grid, e.derivative, color=PALETTE["vermillion"], ls="--", label="f'(x)")
        lo, hi = min(e.values.min(), e.derivative.min()), max(e.values.max(), e.derivative.max())
        pad = 0.08 * (hi - lo)
        ax.set_ylim(max(lo - pad, -2.2), min(hi + pad, 3.2))
        probes = ", ".join(f"{_fmt(g)}" for g in e.grad_at_points)
        ax.set_title(f"{e.label}\nf'({', '.join(format(p, 'g') for p in result.points)}) = {probes}", fontsize=9)
    for ax in axes[len(entries):]:
        ax.set_visible(False)
    for ax in axes[-ncols:]:
        ax.set_xlabel("x")
    axes[0].legend(loc="upper left")
    return fig


def plot_zigzag(result: Any) -> Figure:
    """Loss contours in the (w1, w2) plane with the SGD path (one example per step) and full-batch GD.

    Left: positive inputs, every SGD step points into the (+,+) or (-,-) quadrant; right: the same
    inputs centred. ``result`` is ``zigzag.run()``.
    """
    fig = _figure(9.6, 4.4)
    axes = _subplots(fig, 1, 2, squeeze=False)[0]
    for ax, case in zip(axes, result.cases):
        w1, w2, loss = result.loss_grid(case)
        levels = np.quantile(loss, np.linspace(0.02, 0.9, 12))
        ax.contour(w1, w2, loss, levels=np.unique(levels), colors=PALETTE["grey"], linewidths=0.7, alpha=0.8)
        end = case.sgd_steps_to_tol if case.sgd_steps_to_tol > 0 else len(case.sgd_path) - 1
        p = case.sgd_path[: end + 1]
        ax.plot(p[:, 0], p[:, 1], "-o", ms=2.2, lw=1.0, color=PALETTE["vermillion"],
                label=f"SGD, 1 example/step: {end} steps, path {case.path_ratio:.1f}x the straight line")
        g = case.gd_path
        ax.plot(g[:, 0], g[:, 1], "-s", ms=3, lw=1.2, color=PALETTE["blue"],
                label=f"full-batch GD at its best step: {case.gd_steps_to_tol} steps")
        ax.plot(*case.sgd_path[0], "o", color="black", ms=6)
        ax.plot(*result.w_star, "*", color=PALETTE["green"], ms=14, mec="black", mew=0.6, label="optimum w* = (1, -1)")
        ax.set_aspect("equal")
        ax.set_xlabel("$w_1$")
        ax.set_ylabel("$w_2$")
        ax.set_title(f"{case.name}: {case.sgd_same_quadrant:.0%} of SGD steps in (+,+) or (-,-)", fontsize=10)
        ax.legend(loc="lower left", fontsize=7.5)
    return fig


def _mean_std_panel(ax, result: Any, title: str) -> None:
    for i in range(result.n_layers):
        color = _LAYER_COLORS[i % len(_LAYER_COLORS)]
        m, s = result.mean[:, i], result.std[:, i]
        ax.plot(result.steps, m, color=color, label=f"layer {i + 1}")
        ax.fill_between(result.steps, m - s, m + s, color=color, alpha=0.2, lw=0)
    ax.set_xlabel("SGD step")
    ax.set_ylabel("activation: mean ± std")
    ax.set_title(title, fontsize=10)


def plot_sigmoid_saturation(result: Any, contrast: Any | None = None) -> Figure:
    """Per-layer mean ± std of the activations on a fixed batch during training (Glorot & Bengio, Fig. 2),
    and the gradient norm of each weight matrix (log scale).

    ``result`` is ``sigmoid_saturation.run()`` (sigmoid); ``contrast`` an optional second run (e.g. tanh),
    drawn in a third panel.
    """
    ncols = 3 if contrast is not None else 2
    fig = _figure(4.2 * ncols, 3.6)
    axes = _subplots(fig, 1, ncols, squeeze=False)[0]
    _mean_std_panel(axes[0], result,
                    f"{result.activation} net: activations (val. acc. {result.val_acc[-1]:.0%} at the end)")
    axes[0].set_ylim(0, 1)
    axes[0].legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), ncols=4, fontsize=8.5)
    ax = axes[1]
    for i in range(result.grad_norm.shape[1]):
        ax.plot(result.steps, result.grad_norm[:, i], color=_LAYER_COLORS[i % len(_LAYER_COLORS)],
                label=f"$W_{i + 1}$")
    ax.set_yscale("log")
    ax.set_xlabel("SGD step")
    ax.set_ylabel(r"$\|\partial L / \partial W_\ell\|$ on the fixed batch")
    ax.set_title(f"{result.activation} net: gradient per weight matrix", fontsize=10)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), ncols=5, fontsize=8.5)
    if contrast is not None:
        _mean_std_panel(axes[2], contrast,
                        f"{contrast.activation} net: activations (val. acc. {contrast.val_acc[-1]:.0%})")
        axes[2].set_ylim(-1, 1)
    return fig


def plot_dead_relu(result: Any, layer: int = 0) -> Figure:
    """Units of one hidden layer that are off for every training image, at the four stages of the
    protocol, per variant (bars: mean over seeds; dots: each seed). ``result`` is ``dead_relu.run()``."""
    labels = result.labels
    stages = ("init", "before", "after step", "end")
    colors = (PALETTE["sky"], PALETTE["blue"], PALETTE["vermillion"], PALETTE["orange"])
    fig = _figure(max(8.0, 1.45 * len(labels) + 2), 3.8)
    ax = _subplots(fig)
    x = np.arange(len(labels))
    width = 0.8 / len(stages)
    for k, (stage, color) in enumerate(zip(stages, colors)):
        offs = x - 0.4 + width * (k + 0.5)
        vals = np.stack([result.off(label)[:, k, layer] for label in labels])  # (variants, seeds)
        ax.bar(offs, vals.mean(axis=1), width=width * 0.92, color=color, label=stage)
        for i in range(len(labels)):
            ax.plot(np.full(vals.shape[1], offs[i]), vals[i], ".", color="black", ms=3)
    for i, label in enumerate(labels):
        ax.annotate(f"revived {result.revived(label)[:, layer].mean():.1f}", (x[i], 0), xytext=(0, -28),
                    textcoords="offset points", ha="center", fontsize=8, color=PALETTE["grey"])
    ax.set_xticks(x, labels, fontsize=8.5)
    width_units = result.runs[labels[0]][0].widths[layer]
    ax.set_ylabel(f"units off for every image (of {width_units})")
    ax.set_title(f"hidden layer {layer + 1}: one step at {result.config['big_lr']:g} between SGD steps at "
                 f"{result.config['lr']:g}", fontsize=10)
    ax.legend(title="stage", ncols=4, loc="upper center", bbox_to_anchor=(0.5, -0.18), fontsize=8.5)
    ax.set_ylim(0, None)
    return fig


def plot_activation_race(result: Any) -> Figure:
    """Training error per epoch for every activation (mean over seeds, log scale; dots: each seed).
    ``result`` is ``activation_race.run()``; its ``table()`` has the test errors and parameter counts."""
    fig = _figure(7.0, 4.0)
    ax = _subplots(fig)
    epochs = np.arange(result.train_error.shape[-1])
    for i, label in enumerate(result.labels):
        color = _LAYER_COLORS[i % len(_LAYER_COLORS)]
        ls = "--" if "maxout" in label else "-"
        ax.plot(epochs, result.train_error[i].mean(axis=0), ls, marker="o", ms=3, color=color,
                label=f"{label} ({result.n_params[i]:,} params)")
        for curve in result.train_error[i]:
            ax.plot(epochs, curve, ".", color=color, ms=2, alpha=0.5)
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("training error")
    ax.set_title(f"MLP {'-'.join(map(str, result.dims))} on digits, SGD with momentum", fontsize=10)
    ax.legend(fontsize=8, loc="lower left")
    return fig
