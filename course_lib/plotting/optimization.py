"""Figures of the chapter on optimization.

Each function takes the result of one of the chapter's experiments (``course_lib.experiments.
optimizer_paths / optimizer_mlp / adam_algebra / lr_curves / schedules_demo``) and returns a Figure.
"""
from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from .style import PALETTE, figure as _figure, subplots as _subplots

__all__ = ["plot_optimizer_paths", "plot_stability_edge", "plot_optimizer_mlp", "plot_adam_bias",
           "plot_lr_curves", "plot_schedules"]

_COLORS = {
    "SGD": PALETTE["black"], "momentum": PALETTE["orange"], "Nesterov": PALETTE["vermillion"],
    "Adagrad": PALETTE["green"], "RMSProp": PALETTE["sky"], "Adadelta": PALETTE["purple"],
    "Adam": PALETTE["blue"], "SGD Nesterov": PALETTE["vermillion"],
}
_GROUPS = (("SGD", "momentum", "Nesterov"), ("SGD", "Adagrad", "RMSProp", "Adadelta", "Adam"))


def _surface(ax, result, surface: str) -> None:
    from course_lib.experiments.optimizer_paths import SURFACES

    f, _, start, _, (xlim, ylim) = SURFACES[surface]
    x, y = np.meshgrid(np.linspace(*xlim, 200), np.linspace(*ylim, 200))
    z = f(np.stack([x, y], axis=-1))
    levels = np.quantile(z, np.linspace(0.0, 1.0, 25) ** 2) if surface != "saddle" else 20
    ax.contour(x, y, z, levels=levels if surface == "saddle" else np.unique(levels), colors=PALETTE["grey"],
               linewidths=0.5, alpha=0.7)
    ax.plot(*start, "o", color=PALETTE["black"], ms=5)
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    ax.set_xlabel("$w_1$")


def plot_optimizer_paths(result) -> Figure:
    """A grid of stills: rows = surfaces, columns = momentum family / adaptive family."""
    fig = _figure(10.0, 3.3 * len(result.surfaces))
    axes = np.atleast_2d(_subplots(fig, len(result.surfaces), 2))
    for r, surface in enumerate(result.surfaces):
        for c, group in enumerate(_GROUPS):
            ax = axes[r, c]
            _surface(ax, result, surface)
            for label in group:
                if label not in result.labels:
                    continue
                p = result.paths[surface, label]
                ok = np.all(np.isfinite(p), axis=1)
                ax.plot(p[ok, 0], p[ok, 1], ".-", ms=2.5, lw=1.1, color=_COLORS[label], label=label)
            ax.set_title(f"{surface}: " + ("SGD and momentum" if c == 0 else "SGD and adaptive methods"))
            ax.set_ylabel("$w_2$")
            if r == 0:
                ax.legend(loc="lower right", fontsize=8)
    return fig


def plot_stability_edge(result) -> Figure:
    """The steep coordinate w_2 of gradient descent just below and just above lr = 2/L."""
    fig = _figure(6.0, 3.0)
    ax = _subplots(fig, 1, 1)
    for name, color in (("below", PALETTE["blue"]), ("above", PALETTE["vermillion"])):
        p = result.edge_paths[name]
        k = 0.95 if name == "below" else 1.05
        ax.semilogy(np.abs(p[:, 1]), "o-", ms=3, color=color, label=f"lr = {k:.2f} x 2/L")
    ax.set_xlabel("step")
    ax.set_ylabel("$|w_2|$ (steep coordinate)")
    ax.legend()
    return fig


def plot_optimizer_mlp(result) -> Figure:
    """Training loss per epoch of each optimizer at its best learning rate (mean over seeds)."""
    fig = _figure(6.5, 3.6)
    ax = _subplots(fig, 1, 1)
    curves = result.best_curves()
    epochs = np.arange(1, curves.shape[-1] + 1)
    for i, name in enumerate(result.names):
        ax.semilogy(epochs, np.nanmean(curves[i], axis=0), "o-", ms=3, color=_COLORS.get(name, None),
                    label=f"{name} (lr {result.best_lr(name):g})")
    ax.set_xlabel("epoch")
    ax.set_ylabel("training loss (mean over the epoch)")
    ax.legend(fontsize=8)
    return fig


def plot_adam_bias(result) -> Figure:
    """Left: |first step| / lr against the gradient's scale; right: uncorrected step / corrected step vs t."""
    fig = _figure(10.0, 3.3)
    ax1, ax2 = _subplots(fig, 1, 2)
    ax1.semilogx(result.grad_scales, result.first_step / result.lr, "o", color=PALETTE["blue"])
    ax1.set_ylim(0, 1.5)
    ax1.set_xlabel("|gradient| of the coordinate")
    ax1.set_ylabel("|first Adam step| / lr")
    ax1.set_title("first step: size lr on every coordinate")
    colors = {"corrected": PALETTE["black"], "none": PALETTE["vermillion"], "m only": PALETTE["orange"],
              "v only": PALETTE["green"]}
    names = {"corrected": "both corrected (Adam)", "none": "no correction", "m only": "only m corrected",
             "v only": "only v corrected"}
    for key, ratio in result.step_ratio.items():
        ax2.loglog(result.steps, ratio, color=colors[key], label=names[key])
    ax2.set_xlabel("step t")
    ax2.set_ylabel("step size / Adam's step size")
    ax2.set_title("bias correction (constant gradient)")
    ax2.legend(fontsize=8)
    return fig


def plot_lr_curves(result) -> Figure:
    """The slides' four loss curves, measured: very high, high, low, good learning rate."""
    fig = _figure(6.5, 3.6)
    ax = _subplots(fig, 1, 1)
    colors = {"very high": PALETTE["yellow"], "high": PALETTE["green"], "low": PALETTE["blue"],
              "good": PALETTE["vermillion"]}
    epochs = np.arange(1, result.curves.shape[1] + 1)
    for label, lr, curve in zip(result.labels, result.rates, result.curves):
        ax.plot(epochs, np.minimum(curve, 4.0), "o-", ms=3, color=colors.get(label), label=f"{label} (lr {lr:g})")
    ax.axhline(result.initial_loss, ls="--", color=PALETTE["grey"], lw=1)
    ax.text(epochs[-1], result.initial_loss, "ln 10 (chance)", ha="right", va="bottom", fontsize=8)
    ax.set_ylim(0, 4.1)
    ax.set_xlabel("epoch")
    ax.set_ylabel("training loss (clipped at 4)")
    ax.legend(fontsize=8)
    return fig


def plot_schedules(result) -> Figure:
    """Left: lr against the epoch for each schedule; right: the training loss each one gives."""
    fig = _figure(10.0, 3.4)
    ax1, ax2 = _subplots(fig, 1, 2)
    t = np.arange(result.lr.shape[1]) / result.steps_per_epoch
    epochs = np.arange(1, result.curves.shape[1] + 1)
    for label, lr, curve in zip(result.labels, result.lr, result.curves):
        ax1.plot(t, lr, lw=1.4, label=label)
        ax2.semilogy(epochs, curve, "o-", ms=3, label=label)
    ax1.set_xlabel("epoch")
    ax1.set_ylabel("learning rate")
    ax1.legend(fontsize=8)
    ax2.set_xlabel("epoch")
    ax2.set_ylabel("training loss (mean over the epoch)")
    return fig
