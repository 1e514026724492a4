"""Figures of chapter 1, from the perceptron to backpropagation."""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure
from matplotlib.patches import Circle, FancyArrowPatch
from matplotlib.ticker import MaxNLocator

from .style import (
    BACKWARD_COLOR,
    CLASS_COLORS,
    FORWARD_COLOR,
    PALETTE,
    figure as _figure,
    moving_average as _moving_average,
    subplots as _subplots,
)

__all__ = [
    "plot_loss_curve",
    "plot_decision_boundaries",
    "plot_capacity",
    "plot_classic",
    "plot_h_sweep",
    "plot_comp_graph",
]


# --------------------------------------------------------------------------------------------
# Loss curves
# --------------------------------------------------------------------------------------------
def plot_loss_curve(history_or_result: Any, title: str | None = None) -> Figure:
    """Loss per step (and accuracy per epoch when available).

    Accepts a ``History`` (``loss``, ``train_acc``, ``val_acc``), any result with a ``history``
    attribute (e.g. ``digits_two_layer.run()``; its ``chance_loss`` is drawn as a reference line
    and a torch twin's curve, if present, is overlaid), or a result with a ``losses`` dict of
    curves (e.g. ``xor_two_layer.run()``: one line per implementation, log scale).
    """
    obj = history_or_result
    if hasattr(obj, "losses") and isinstance(obj.losses, dict):
        return _plot_loss_dict(obj, title)
    history = getattr(obj, "history", obj)
    twin = getattr(obj, "torch_history", None)
    chance = getattr(obj, "chance_loss", None)
    has_acc = bool(getattr(history, "val_acc", None))

    fig = _figure(9.5 if has_acc else 5.5, 3.4)
    axes = _subplots(fig, 1, 2 if has_acc else 1, squeeze=False)[0]
    ax = axes[0]
    loss = np.asarray(history.loss, dtype=float)
    steps = np.arange(1, len(loss) + 1)
    spe = max(int(getattr(history, "steps_per_epoch", 1) or 1), 1)
    ax.plot(steps, loss, color=PALETTE["blue"], alpha=0.3, lw=1, label="mini-batch loss")
    ax.plot(steps, _moving_average(loss, spe), color=PALETTE["blue"],
            label=f"mean of last {spe} steps" if spe > 1 else None)
    if twin is not None:
        ax.plot(steps, _moving_average(np.asarray(twin.loss, float), spe), color=PALETTE["orange"], ls="--",
                label="torch twin (same batches)")
    if chance is not None:
        ax.axhline(chance, color=PALETTE["grey"], ls=":", lw=1.2)
        ax.annotate(f"ln C = {chance:.2f}", (steps[-1], chance), ha="right", va="bottom", color=PALETTE["grey"],
                    fontsize=9, xytext=(0, 2), textcoords="offset points")
    ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("training loss")
    ax.legend(loc="lower left")
    ax.set_title("loss" if title is None else title)
    if has_acc:
        ax = axes[1]
        if getattr(history, "eval_step", None):
            epochs_axis = np.asarray(history.eval_step, float) / spe
        else:
            epochs_axis = np.arange(1, len(history.val_acc) + 1)
        ax.plot(epochs_axis, history.train_acc, marker="o", ms=3, color=PALETTE["blue"], label="train")
        ax.plot(epochs_axis, history.val_acc, marker="s", ms=3, color=PALETTE["vermillion"], label="validation")
        ax.set_xlabel("epoch")
        ax.set_ylabel("accuracy")
        ax.set_ylim(min(0.8, min(history.val_acc) - 0.02), 1.005)
        ax.legend(loc="lower right")
        ax.set_title("accuracy")
    return fig


def _plot_loss_dict(result: Any, title: str | None) -> Figure:
    fig = _figure(5.8, 3.4)
    ax = _subplots(fig)
    styles = [("-", 3.5, 0.35), ("--", 1.8, 1.0), (":", 2.2, 1.0)]
    for (name, curve), (ls, lw, alpha) in zip(result.losses.items(), styles * 3):
        ax.plot(np.arange(1, len(curve) + 1), curve, ls=ls, lw=lw, alpha=alpha, label=name)
    ax.set_yscale("log")
    ax.set_xlabel("update")
    ax.set_ylabel(r"$E = \frac{1}{2}\sum_n (t_n - o_n)^2$")
    ax.legend(title="implementation")
    ax.set_title("XOR: the same trajectory three times" if title is None else title)
    return fig


# --------------------------------------------------------------------------------------------
# Decision boundaries
# --------------------------------------------------------------------------------------------
def _region_image(probs: np.ndarray, lighten: float = 0.55) -> np.ndarray:
    """RGB image: each pixel the class colours mixed by probability, blended towards white."""
    colors = np.array([to_rgb(c) for c in CLASS_COLORS[: probs.shape[-1]]])  # (C, 3)
    rgb = probs @ colors
    return 1.0 - lighten * (1.0 - rgb)


def _scatter_classes(ax, x: np.ndarray, y: np.ndarray, size: float = 16) -> None:
    for k in np.unique(y):
        sel = y == k
        ax.scatter(x[sel, 0], x[sel, 1], s=size, color=CLASS_COLORS[int(k)], edgecolors="black",
                   linewidths=0.5, zorder=3, label=f"class {int(k)}")


def _boundary_panel(ax, grid: np.ndarray, probs: np.ndarray, x: np.ndarray, y: np.ndarray, title: str) -> None:
    extent = (grid[0], grid[-1], grid[0], grid[-1])
    ax.imshow(_region_image(probs), origin="lower", extent=extent, interpolation="bilinear", aspect="equal")
    _scatter_classes(ax, x, y, size=14)
    ax.set_xlim(grid[0], grid[-1])
    ax.set_ylim(grid[0], grid[-1])
    ax.set_xticks([])
    ax.set_yticks([])
    ax.grid(False)
    ax.set_title(title, fontsize=10)


def _net_title(net: Any) -> str:
    return f"{net.hidden} hidden, $\\lambda$ = {net.reg:g}\ntrain {net.train_acc:.0%}, test {net.test_acc:.0%}"


def plot_decision_boundaries(result: Any, nets: Sequence[Any] | None = None, ncols: int | None = None) -> Figure:
    """Decision regions of trained classifiers on a 2-D grid, with the training points.

    ``result`` has ``grid`` (G,), ``x_train``, ``y_train`` and nets with ``probs`` (G, G, C)
    (``capacity.run()``); ``nets`` picks which (default: all of ``result.nets``). Colours mix
    the class colours by predicted probability, so uncertain regions look washed out.
    """
    nets = tuple(result.nets if nets is None else nets)
    ncols = ncols or len(nets)
    nrows = int(np.ceil(len(nets) / ncols))
    fig = _figure(3.0 * ncols, 3.25 * nrows)
    axes = np.atleast_1d(_subplots(fig, nrows, ncols, squeeze=False)).ravel()
    for ax, net in zip(axes, nets):
        _boundary_panel(ax, result.grid, net.probs, result.x_train, result.y_train, _net_title(net))
    for ax in axes[len(nets):]:
        ax.set_visible(False)
    return fig


def plot_capacity(result: Any) -> Figure:
    """Two rows of decision regions: top, growing hidden size; bottom, growing L2 strength."""
    ncols = max(len(result.sizes), len(result.strengths))
    fig = _figure(3.0 * ncols, 6.6)
    axes = _subplots(fig, 2, ncols, squeeze=False)
    for row, nets, label in ((0, result.sizes, "more units"), (1, result.strengths, r"stronger L2 penalty")):
        for col in range(ncols):
            ax = axes[row, col]
            if col < len(nets):
                _boundary_panel(ax, result.grid, nets[col].probs, result.x_train, result.y_train, _net_title(nets[col]))
            else:
                ax.set_visible(False)
        axes[row, 0].set_ylabel(label + r" $\rightarrow$", fontsize=10)
    return fig


# --------------------------------------------------------------------------------------------
# Perceptron and ADALINE
# --------------------------------------------------------------------------------------------
def plot_classic(result: Any) -> Figure:
    """For each data set (rows): the points with both learned lines, the perceptron's mistakes
    per epoch, and ADALINE's squared-error loss per epoch (``history_classic.run()``)."""
    datasets = result.datasets
    fig = _figure(11.0, 3.3 * len(datasets))
    axes = _subplots(fig, len(datasets), 3, squeeze=False, width_ratios=[1.0, 1.2, 1.2])
    for row, d in enumerate(datasets):
        ax = axes[row, 0]
        g = d.grid
        extent = (g[0], g[-1], g[0], g[-1])
        ax.imshow(_region_image(np.eye(2)[d.perceptron.grid_pred], lighten=0.25), origin="lower", extent=extent,
                  interpolation="nearest", aspect="equal")
        _scatter_classes(ax, d.x, d.y, size=14)
        ax.contour(g, g, d.perceptron.grid_pred, levels=[0.5], colors=[PALETTE["black"]], linewidths=1.8)
        ax.contour(g, g, d.adaline.grid_pred, levels=[0.5], colors=[PALETTE["vermillion"]], linewidths=1.8,
                   linestyles="--")
        ax.plot([], [], color=PALETTE["black"], label="perceptron")
        ax.plot([], [], color=PALETTE["vermillion"], ls="--", label="ADALINE")
        ax.set_xlim(g[0], g[-1])
        ax.set_ylim(g[0], g[-1])
        ax.set_xticks([])
        ax.set_yticks([])
        ax.grid(False)
        ax.set_title(f"{d.name}: final boundaries", fontsize=10)
        handles, labels = ax.get_legend_handles_labels()
        ax.legend(handles[-2:], labels[-2:], loc="lower left", fontsize=8, frameon=True)

        ax = axes[row, 1]
        errors = d.perceptron.curve
        ax.plot(np.arange(1, len(errors) + 1), errors, marker="o", ms=3, color=PALETTE["black"])
        ax.set_xlabel("epoch")
        ax.set_ylabel("mistakes in the epoch")
        verdict = "stopped: no mistakes" if d.perceptron.converged else "never stops"
        ax.set_title(f"perceptron on {d.name} ({verdict})", fontsize=10)
        ax.set_ylim(bottom=0)
        ax.set_xlim(0.5, max(len(errors), 2) + 0.5)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))

        ax = axes[row, 2]
        losses = d.adaline.curve
        ax.plot(np.arange(1, len(losses) + 1), losses, color=PALETTE["vermillion"])
        floor = getattr(d, "adaline_floor", None)
        if floor is not None:
            ax.axhline(floor, color=PALETTE["grey"], ls=":", lw=1.2)
            ax.annotate(f"N/8 = {floor:g}", (len(losses), floor), ha="right", va="bottom", color=PALETTE["grey"],
                        fontsize=9, xytext=(0, 2), textcoords="offset points")
        ax.set_ylim(bottom=0)
        ax.set_xlabel("epoch")
        ax.set_ylabel(r"$\frac{1}{2}\sum_n (d_n - z_n)^2$")
        ax.set_title(f"ADALINE on {d.name} (accuracy {d.adaline.accuracy:.0%})", fontsize=10)
    return fig


# --------------------------------------------------------------------------------------------
# Gradient check vs step size
# --------------------------------------------------------------------------------------------
def _short_verdict(meaning: str) -> str:
    """First words of a threshold's meaning, for a band label."""
    words = meaning.replace(":", ";").split(";")[0].split()
    if words[:2] == ["the", "gradient"]:
        return "wrong"
    if words[:2] == ["fine", "only"]:
        return "only with kinks"
    return " ".join(words[:2])


def plot_h_sweep(result: Any, h_mark: float = 1e-5) -> Figure:
    """Relative error of the numerical gradient vs the step h (log-log), with the verdict bands
    of ``result.thresholds`` in the background (``gradient_check.run()``)."""
    fig = _figure(7.0, 4.0)
    ax = _subplots(fig)
    hs = np.asarray(result.hs)
    band_colors = ["#f6d5c8", "#fbe9cf", "#e6f1f8", "#d9efe6"]  # light vermillion, orange, sky, green
    for (low, high, meaning), color in zip(result.thresholds, band_colors):
        ax.axhspan(max(low, 1e-13), min(high, 10.0), color=color, zorder=0, lw=0)
        ax.text(1.02, np.sqrt(max(low, 1e-13) * min(high, 10.0)), _short_verdict(meaning), fontsize=8.5,
                va="center", ha="left", color="#444444", transform=ax.get_yaxis_transform())
    ax.loglog(hs, result.errors["float64"], marker="o", color=PALETTE["blue"], label="float64")
    ax.loglog(hs, result.errors["float32"], marker="s", color=PALETTE["orange"], label="float32")
    ax.loglog(hs, result.buggy, marker="x", ls="--", color=PALETTE["vermillion"],
              label=f"float64, backward off by {result.bug:.0%}")
    ax.axvline(h_mark, color=PALETTE["black"], ls=":", lw=1.2)
    ax.annotate(f"h = {h_mark:g}", (h_mark, 3.0), ha="left", va="top", fontsize=9, xytext=(3, 0),
                textcoords="offset points")
    ax.set_ylim(1e-13, 10.0)
    ax.set_xlim(hs.min() / 2, hs.max() * 2)
    ax.set_xlabel("finite-difference step h")
    ax.set_ylabel("relative error vs analytic gradient")
    ax.legend(loc="lower left", frameon=True, framealpha=0.9)
    ax.grid(True, which="major")
    ax.set_title("Gradient check: relative error vs step h")
    return fig


# --------------------------------------------------------------------------------------------
# The computational graph of f = (x + y) z
# --------------------------------------------------------------------------------------------
_GRAPH_LAYOUT = {"x": (0.0, 2.4), "y": (0.0, 1.0), "z": (0.0, -0.4), "q": (2.6, 1.7), "f": (5.2, 0.6)}


def _fmt(v: float) -> str:
    return f"{v:g}"


def plot_comp_graph(result: Any) -> Figure:
    """The graph of ``comp_graph.run()``: inputs on the left, one circle per gate, forward
    values above each wire in green, gradients df/d(wire) below it in red."""
    nodes = {n.name: n for n in result.nodes}
    fig = _figure(7.5, 3.6)
    ax = _subplots(fig)
    ax.set_xlim(-0.9, 7.1)
    ax.set_ylim(-1.0, 2.9)
    ax.set_aspect("equal")
    ax.axis("off")
    radius = 0.32

    def wire(src_xy, dst_xy, value, grad, label_at=0.45):
        arrow = FancyArrowPatch(src_xy, dst_xy, arrowstyle="-|>", mutation_scale=12, lw=1.4,
                                color=PALETTE["black"], shrinkA=0, shrinkB=0)
        ax.add_patch(arrow)
        mx = src_xy[0] + label_at * (dst_xy[0] - src_xy[0])
        my = src_xy[1] + label_at * (dst_xy[1] - src_xy[1])
        ax.annotate(_fmt(value), (mx, my), xytext=(0, 6), textcoords="offset points", ha="center", va="bottom",
                    color=FORWARD_COLOR, fontsize=11, fontweight="bold")
        ax.annotate(_fmt(grad), (mx, my), xytext=(0, -6), textcoords="offset points", ha="center", va="top",
                    color=BACKWARD_COLOR, fontsize=11, fontweight="bold")

    def edge_point(frm, to):
        """Point on the circle around ``frm`` in the direction of ``to`` (inputs have no circle)."""
        (x0, y0), (x1, y1) = frm, to
        d = np.hypot(x1 - x0, y1 - y0)
        return (x0 + radius * (x1 - x0) / d, y0 + radius * (y1 - y0) / d)

    gates = [n for n in result.nodes if n.op != "input"]
    for gate in gates:
        gx, gy = _GRAPH_LAYOUT[gate.name]
        ax.add_patch(Circle((gx, gy), radius, facecolor="white", edgecolor=PALETTE["black"], lw=1.5, zorder=3))
        symbol = {"+": "+", "*": r"$\times$"}.get(gate.op, gate.op)
        ax.text(gx, gy, symbol, ha="center", va="center", fontsize=15, zorder=4)
        formula = f"{gate.name} = {gate.inputs[0]} {'+' if gate.op == '+' else '·'} {gate.inputs[1]}"
        ax.text(gx, gy - radius - 0.08, formula, ha="center", va="top", fontsize=8.5, color="#444444")
        for src in gate.inputs:
            sx, sy = _GRAPH_LAYOUT[src]
            start = edge_point((sx, sy), (gx, gy)) if nodes[src].op != "input" else (sx + 0.25, sy)
            end = edge_point((gx, gy), (sx, sy))
            wire(start, end, nodes[src].value, nodes[src].grad, label_at=0.4 if nodes[src].op == "input" else 0.45)
    for n in result.nodes:
        if n.op == "input":
            sx, sy = _GRAPH_LAYOUT[n.name]
            ax.text(sx, sy, f"${n.name}$", ha="right", va="center", fontsize=14)
    # the output wire
    out = gates[-1]
    ox, oy = _GRAPH_LAYOUT[out.name]
    wire((ox + radius, oy), (ox + 1.5, oy), out.value, out.grad, label_at=0.5)
    ax.text(ox + 1.58, oy, "$f$", ha="left", va="center", fontsize=14)
    ax.text(-0.9, -0.95, "green: forward value", color=FORWARD_COLOR, fontsize=9, ha="left")
    ax.text(2.1, -0.95, r"red: gradient $\partial f / \partial(\cdot)$", color=BACKWARD_COLOR, fontsize=9, ha="left")
    return fig
