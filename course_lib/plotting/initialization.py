"""Figures of chapter 3, weight initialization.

Every function takes the result of one of the chapter's experiments
(``course_lib.experiments.symmetry / small_random_depth / init_depth / glorot_tanh /
init_training / channel_collapse``) and returns a Figure; the numbers are already in the result.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure

from .style import CLASS_COLORS, PALETTE, figure as _figure, moving_average as _moving_average, subplots as _subplots

__all__ = [
    "plot_symmetry",
    "plot_layer_histograms",
    "plot_std_vs_depth",
    "plot_tanh_gains",
    "plot_glorot_tanh",
    "plot_init_training",
    "plot_channel_collapse",
]

_SERIES_COLORS = (PALETTE["vermillion"], PALETTE["blue"], PALETTE["green"], PALETTE["orange"], PALETTE["purple"],
                  PALETTE["sky"], PALETTE["black"])

_LABELS = {
    "small_random": r"small random $\mathcal{N}(0, 0.01^2)$",
    "xavier_normal": "Xavier (Glorot)",
    "xavier_uniform": "Xavier uniform",
    "he_normal": "He (Kaiming)",
    "he_uniform": "He uniform",
    "lecun_normal": "LeCun",
    "orthogonal": "orthogonal",
    "orthogonal_relu": r"orthogonal, gain $\sqrt{2}$",
    "lsuv": "LSUV",
    "torch_default": r"PyTorch default $U[\pm 1/\sqrt{n}]$",
    "tanh_gain": r"tanh gain $5/3$",
    "standard": r"standard $U[\pm 1/\sqrt{n}]$",
    "normalized": "normalized (Xavier)",
    "relu": "ReLU",
    "linear": "no nonlinearity",
    "shifted_relu": "shifted, rescaled ReLU",
}


def _label(key: Any) -> str:
    if isinstance(key, (float, int)) and not isinstance(key, bool):
        return f"weight std {key:g}"
    return _LABELS.get(key, str(key))


# --------------------------------------------------------------------------------------------
# Symmetry
# --------------------------------------------------------------------------------------------
def _region(probs1: np.ndarray, lighten: float = 0.55) -> np.ndarray:
    colors = np.array([to_rgb(CLASS_COLORS[0]), to_rgb(CLASS_COLORS[1])])
    rgb = np.stack([1.0 - probs1, probs1], axis=-1) @ colors
    return 1.0 - lighten * (1.0 - rgb)


def plot_symmetry(result: Any) -> Figure:
    """One panel per start (``symmetry.run()``): decision regions, the XOR points, and the line
    :math:`x \\cdot W_{1,:j} + b_{1,j} = 0` of every hidden unit j (identical units draw one line)."""
    runs = list(result.runs.values())
    fig = _figure(3.1 * len(runs), 3.4)
    axes = np.atleast_1d(_subplots(fig, 1, len(runs), squeeze=False)[0])
    g = result.grid
    t = np.linspace(g[0], g[-1], 200)
    for ax, r in zip(axes, runs):
        ax.imshow(_region(r.probs), origin="lower", extent=(g[0], g[-1], g[0], g[-1]), interpolation="bilinear")
        for k in (0, 1):
            sel = result.y == k
            ax.scatter(result.x[sel, 0], result.x[sel, 1], s=10, color=CLASS_COLORS[k], edgecolors="black",
                       linewidths=0.4, zorder=3)
        for j in range(r.final_W1.shape[1]):
            w, b = r.final_W1[:, j], r.final_b1[j]
            if abs(w[1]) > 1e-12:
                ax.plot(t, -(w[0] * t + b) / w[1], color="black", lw=1.2, alpha=0.8)
            elif abs(w[0]) > 1e-12:
                ax.axvline(-b / w[0], color="black", lw=1.2, alpha=0.8)
        n_lines = len({tuple(np.round(np.append(r.final_W1[:, j], r.final_b1[j]), 9))
                       for j in range(r.final_W1.shape[1])})
        ax.set_xlim(g[0], g[-1])
        ax.set_ylim(g[0], g[-1])
        ax.set_xticks([])
        ax.set_yticks([])
        ax.grid(False)
        ax.set_title(f"{r.start} start: {n_lines} distinct unit{'s' if n_lines != 1 else ''}\n"
                     f"train accuracy {r.accuracy:.0%}", fontsize=10)
    return fig


# --------------------------------------------------------------------------------------------
# Histograms per layer
# --------------------------------------------------------------------------------------------
def _histogram_source(result: Any, which: str) -> tuple[dict, str, str]:
    """(series -> (L, k) values, x label, first-layer symbol) for ``which`` of a result."""
    if which == "activations":
        if hasattr(result, "act_samples"):
            return result.act_samples, "activation value $h_\\ell$", "h"
        return result.samples, "activation value $h_\\ell$", "h"  # small_random_depth stores activations
    if which == "pre_activations":
        return result.samples, "pre-activation $z_\\ell$", "z"
    if which == "gradients":
        return result.back_samples, r"back-propagated gradient $\partial J / \partial z_\ell$", "dz"
    raise ValueError(
        f"plot_layer_histograms: which must be 'activations', 'pre_activations' or 'gradients', got {which!r}"
    )


def plot_layer_histograms(result: Any, which: str = "activations", layers: Sequence[int] | None = None,
                          series: Sequence[Any] | None = None, shared_x: bool = True) -> Figure:
    """A grid of histograms: one row per scheme (or init, or weight scale), one column per layer.

    Works with ``init_depth.run()`` (``which`` = ``"activations"`` or ``"pre_activations"``),
    ``small_random_depth.run()`` (activations) and ``glorot_tanh.run()`` (``"activations"`` or
    ``"gradients"``), as in the slides and Glorot & Bengio (2010), Figs. 6-7. ``layers`` are
    1-based. With ``shared_x`` (the default) all panels of a row share the x range of the row's
    widest panel ([-1, 1] for tanh activations), so a shrinking signal shows as a narrowing
    spike; otherwise each panel is scaled to its own values. Each panel prints its std.
    """
    data, xlabel, _ = _histogram_source(result, which)
    keys = list(data) if series is None else list(series)
    n_layers = next(iter(data.values())).shape[0]
    layers = list(range(1, n_layers + 1)) if layers is None else [int(layer) for layer in layers]
    if any(not 1 <= layer <= n_layers for layer in layers):
        raise ValueError(f"plot_layer_histograms: layers must lie in 1..{n_layers}, got {layers}")
    tanh_like = which == "activations" and getattr(result, "activation", "tanh") in ("tanh", "sigmoid")
    fig = _figure(1.9 * len(layers) + 0.6, 1.55 * len(keys) + 0.5)
    axes = _subplots(fig, len(keys), len(layers), squeeze=False)
    for row, key in enumerate(keys):
        color = _SERIES_COLORS[row % len(_SERIES_COLORS)]
        row_values = [data[key][layer - 1] for layer in layers]
        nonneg = all(float(np.min(v)) >= 0 for v in row_values)
        row_half = 1.0 if tanh_like else max(max(float(np.max(np.abs(v))) for v in row_values), 1e-300)
        for col, (layer, v) in enumerate(zip(layers, row_values)):
            ax = axes[row, col]
            half = row_half if shared_x else max(float(np.max(np.abs(v))), 1e-300)
            bins = np.linspace(0.0 if nonneg else -half, half, 41)
            ax.hist(np.clip(v, bins[0], bins[-1]), bins=bins, color=color, alpha=0.85, histtype="stepfilled")
            ax.set_yticks([])
            ax.grid(False)
            ax.text(0.97, 0.93, f"std {np.std(v):.1e}", transform=ax.transAxes, ha="right", va="top", fontsize=7.5,
                    bbox=dict(facecolor="white", alpha=0.75, lw=0, pad=1.0))
            ax.tick_params(axis="x", labelsize=7)
            ax.ticklabel_format(axis="x", style="sci", scilimits=(-2, 3))
            ax.xaxis.get_offset_text().set_fontsize(7)
            if row == 0:
                ax.set_title(f"layer {layer}", fontsize=10)
            if col == 0:
                ax.set_ylabel(_label(key), fontsize=8.5)
    fig.supxlabel(xlabel, fontsize=10)
    return fig


# --------------------------------------------------------------------------------------------
# std vs depth
# --------------------------------------------------------------------------------------------
def plot_std_vs_depth(*results: Any, titles: Sequence[str] | None = None) -> Figure:
    """std of every layer's values against depth (log scale), one panel per result.

    ``init_depth.run()``: measured pre-activation std per scheme, with the prediction of the
    variance recursion dashed (ReLU, linear and tanh). ``small_random_depth.run()``: activation std per
    weight scale. Several results give several panels (e.g. ReLU and tanh side by side).
    """
    if not results:
        raise ValueError("plot_std_vs_depth: give at least one result")
    fig = _figure(4.6 * len(results), 3.5)
    axes = np.atleast_1d(_subplots(fig, 1, len(results), squeeze=False)[0])
    for i, (ax, res) in enumerate(zip(axes, results)):
        if hasattr(res, "pre_std"):
            series = res.pre_std
            predicted = getattr(res, "predicted", {})
            ylabel = r"std of $z_\ell$"
            title = f"{res.activation}, width {res.width}"
        else:
            series = {s: res.std(s) for s in res.scales}
            predicted = {}
            ylabel = r"std of $h_\ell$"
            title = f"tanh, width {res.width}"
        for k, (key, values) in enumerate(series.items()):
            color = _SERIES_COLORS[k % len(_SERIES_COLORS)]
            layers = np.arange(1, len(values) + 1)
            ax.plot(layers, values, marker="o", ms=2.5, color=color, label=_label(key))
            if key in predicted:
                ax.plot(layers, predicted[key], ls="--", lw=1.2, color=color, alpha=0.8)
        if predicted:
            ax.plot([], [], ls="--", color=PALETTE["grey"], label="variance recursion")
        ax.set_yscale("log")
        ax.set_xlabel(r"layer $\ell$")
        ax.set_ylabel(ylabel)
        ax.set_title(title if titles is None else titles[i])
        ax.legend(loc="lower left", fontsize=8)
    return fig


_GAIN_LABELS = {
    "xavier_normal": r"gain 1 (Xavier; LeCun on square layers)",
    "lecun_normal": r"gain 1 (LeCun)",
    "he_normal": r"gain $\sqrt{2}$ (He)",
    "tanh_gain": r"gain $5/3$ (torch's tanh gain)",
}


def plot_tanh_gains(result: Any, schemes: Sequence[str] = ("xavier_normal", "he_normal", "tanh_gain")) -> Figure:
    """Two panels for a tanh ``init_depth.run()``: the std of every pre-activation against depth
    (measured, with the variance recursion dashed), and the fraction of activations beyond
    +-0.95 (tanh's flat region) against depth, one line per weight gain."""
    if result.activation != "tanh":
        raise ValueError(f"plot_tanh_gains: needs a tanh run of init_depth, got activation {result.activation!r}")
    missing = [s for s in schemes if s not in result.pre_std]
    if missing:
        raise ValueError(f"plot_tanh_gains: the result has no schemes {missing}; it has {list(result.pre_std)}")
    fig = _figure(10.5, 3.5)
    ax, ax2 = _subplots(fig, 1, 2)
    for k, scheme in enumerate(schemes):
        color = _SERIES_COLORS[(k + 1) % len(_SERIES_COLORS)]
        label = _GAIN_LABELS.get(scheme, _label(scheme))
        layers = np.arange(1, result.depth + 1)
        ax.plot(layers, result.pre_std[scheme], marker="o", ms=2.5, color=color)
        if scheme in result.predicted:
            ax.plot(layers, result.predicted[scheme], ls="--", lw=1.2, color=color, alpha=0.8)
        sat = [st.saturated for st in result.stats[scheme]]
        ax2.plot(np.arange(1, len(sat) + 1), sat, marker="o", ms=2.5, color=color, label=label)
    ax.plot([], [], ls="--", color=PALETTE["grey"], label="variance recursion")
    ax.set_yscale("log")
    ax.set_xlabel(r"layer $\ell$")
    ax.set_ylabel(r"std of $z_\ell$")
    ax.set_title(f"tanh, width {result.width}: std of the pre-activations")
    ax.legend(loc="center right", fontsize=8)  # the gains are labelled in the right panel
    ax2.set_xlabel(r"layer $\ell$")
    ax2.set_ylabel(r"fraction of $|h_\ell| > 0.95$")
    ax2.set_ylim(bottom=0)
    ax2.set_title("saturated activations")
    ax2.legend(loc="upper right", fontsize=8)
    return fig


# --------------------------------------------------------------------------------------------
# Glorot & Bengio: forward and backward std per layer
# --------------------------------------------------------------------------------------------
def plot_glorot_tanh(result: Any) -> Figure:
    """Three panels (``glorot_tanh.run()``): std per layer of the activations, of the
    back-propagated gradients and of the weight gradients, standard vs normalized init."""
    fig = _figure(11.5, 3.4)
    axes = _subplots(fig, 1, 3)
    panels = ((result.act_std, r"std of activations $h_\ell$", "forward"),
              (result.back_std, r"std of $\partial J / \partial z_\ell$", "backward: to the pre-activations"),
              (result.weight_grad_std, r"std of $\partial J / \partial W_\ell$", "backward: weight gradients"))
    layers = np.arange(1, result.hidden_layers + 1)
    for ax, (field, ylabel, title) in zip(axes, panels):
        for k, init in enumerate(result.inits):
            ax.plot(layers, field[init], marker="o", ms=3, color=_SERIES_COLORS[k], label=_label(init))
        ax.set_yscale("log")
        ax.set_xticks(layers)
        ax.set_xlabel(r"layer $\ell$ (1 = next to the input)")
        ax.set_ylabel(ylabel)
        ax.set_title(title)
    axes[0].legend(loc="lower left", fontsize=8)
    return fig


# --------------------------------------------------------------------------------------------
# Training a 30-layer ReLU net
# --------------------------------------------------------------------------------------------
def plot_init_training(result: Any, smooth: int | None = None) -> Figure:
    """Left: training loss per step for every (scheme, seed) of ``init_training.run()``, with
    the chance loss ln 10. Right: mean |dJ/dW_l| per layer on the first mini-batch (log)."""
    fig = _figure(10.5, 3.6)
    ax, ax2 = _subplots(fig, 1, 2)
    for k, scheme in enumerate(result.schemes):
        color = _SERIES_COLORS[k % len(_SERIES_COLORS)]
        for j, seed in enumerate(result.seeds):
            run = result.runs[scheme, seed]
            loss = np.asarray(run.history.loss, float)
            window = smooth or run.history.steps_per_epoch
            ax.plot(np.arange(1, len(loss) + 1) / run.history.steps_per_epoch, _moving_average(loss, window),
                    color=color, alpha=0.9, lw=1.4, label=_label(scheme) if j == 0 else None)
            ax2.plot(np.arange(1, len(run.grad_abs_mean) + 1), run.grad_abs_mean, color=color, alpha=0.8, lw=1.2,
                     marker="o", ms=2, label=_label(scheme) if j == 0 else None)
    ax.axhline(result.chance_loss, color=PALETTE["grey"], ls=":", lw=1.2)
    ax.annotate(f"ln 10 = {result.chance_loss:.2f}", (0.02, result.chance_loss), xycoords=("axes fraction", "data"),
                va="bottom", fontsize=8.5, color=PALETTE["grey"], xytext=(0, 2), textcoords="offset points")
    ax.set_xlabel("epoch")
    ax.set_ylabel("training loss (mean over an epoch)")
    ax.set_title(f"{len(result.dims) - 1}-layer ReLU net on digits")
    ax.legend(loc="upper right")
    ax2.set_yscale("log")
    ax2.set_xlabel(r"layer $\ell$ (1 = next to the input)")
    ax2.set_ylabel(r"mean $|\partial J / \partial W_\ell|$ at step 0")
    ax2.set_title("gradient per layer at initialization")
    ax2.legend(loc="center right", fontsize=8)
    return fig


# --------------------------------------------------------------------------------------------
# Channel collapse
# --------------------------------------------------------------------------------------------
def plot_channel_collapse(result: Any, variants: Sequence[str] | None = None) -> Figure:
    """Left: between-channel share of the variance against depth for every nonlinearity
    (``channel_collapse.run()``). Right: histograms of a few channels' values over the batch at
    the recorded depths, one row per nonlinearity (each colour one channel; the range is the
    0.5-99.5 percentile of the values, outliers are drawn at its edges)."""
    variants = list(result.variants if variants is None else variants)
    layers = sorted(next(iter(result.channel_samples.values())))
    fig = _figure(4.3 + 2.1 * len(layers), 1.0 + 1.5 * len(variants))
    grid = fig.add_gridspec(len(variants), 1 + len(layers), width_ratios=[2.0] + [1.0] * len(layers))
    ax = fig.add_subplot(grid[:, 0])
    depth = np.arange(1, result.depth + 1)
    for k, v in enumerate(result.variants):
        ax.plot(depth, result.share[v], color=_SERIES_COLORS[k], label=_label(v))
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel(r"layer $\ell$")
    ax.set_ylabel("between-channel share of variance")
    ax.set_title(f"width {result.width}, {result.batch} N(0,1) inputs")
    ax.legend(loc="center right", fontsize=8)
    channel_colors = (PALETTE["blue"], PALETTE["orange"], PALETTE["green"], PALETTE["vermillion"], PALETTE["purple"],
                      PALETTE["sky"], PALETTE["black"], PALETTE["yellow"])
    for row, v in enumerate(variants):
        for col, layer in enumerate(layers):
            a = fig.add_subplot(grid[row, col + 1])
            values = result.channel_samples[v][layer]
            lo, hi = np.percentile(values, [0.5, 99.5])  # a few heavy-tail outliers would squash the rest
            bins = np.linspace(lo, hi if hi > lo else lo + 1.0, 50)
            for c in range(values.shape[1]):
                a.hist(np.clip(values[:, c], bins[0], bins[-1]), bins=bins,
                       color=channel_colors[c % len(channel_colors)], alpha=0.55, histtype="stepfilled")
            a.set_yticks([])
            a.grid(False)
            a.tick_params(axis="x", labelsize=7)
            a.ticklabel_format(axis="x", style="sci", scilimits=(-2, 3))
            a.xaxis.get_offset_text().set_fontsize(7)
            if row == 0:
                a.set_title(f"layer {layer}", fontsize=10)
            if col == 0:
                a.set_ylabel(_label(v), fontsize=8)
    return fig
