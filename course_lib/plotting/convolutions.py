"""Figures of chapter 5, convolutional networks.

Every function takes the result of one of the chapter's experiments
(``course_lib.experiments.conv_templates / mnist1d_baselines``) and returns a Figure; the numbers
are already in the result.
"""
from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.figure import Figure

from .style import PALETTE, figure as _figure, subplots as _subplots

__all__ = ["plot_conv_templates", "plot_conv_shift", "plot_mnist1d_baselines"]

_MODEL_COLORS = {"logistic": PALETTE["grey"], "mlp": PALETTE["orange"], "cnn": PALETTE["blue"],
                 "cnn_shuffled": PALETTE["vermillion"]}
_MODEL_LABELS = {"logistic": "logistic regression", "mlp": "MLP", "cnn": "CNN",
                 "cnn_shuffled": "CNN, shuffled positions"}


def _image(ax, img: np.ndarray, cmap: str = "gray_r", vmin=None, vmax=None) -> None:
    ax.imshow(img, cmap=cmap, vmin=vmin, vmax=vmax, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.grid(False)


def plot_conv_templates(result: Any, n: int = 16) -> Figure:
    """The MLP's first-layer weights as 8x8 images (``conv_templates.run()``), blue < 0 < red."""
    templates = result.templates[:n]
    cols = int(np.ceil(np.sqrt(len(templates))))
    rows = int(np.ceil(len(templates) / cols))
    fig = _figure(1.2 * cols, 1.2 * rows + 0.3)
    axes = np.atleast_2d(_subplots(fig, rows, cols, squeeze=False))
    for k, ax in enumerate(axes.flat):
        if k < len(templates):
            t = templates[k]
            lim = float(np.abs(t).max()) or 1.0
            _image(ax, t, cmap="RdBu_r", vmin=-lim, vmax=lim)
            ax.set_title(f"unit {k + 1}", fontsize=8)
        else:
            ax.set_axis_off()
    fig.suptitle("first-layer weights of the MLP, one 8x8 template per hidden unit", fontsize=10)
    return fig


def plot_conv_shift(result: Any) -> Figure:
    """Left: a test digit and the same digit one pixel to the right. Right: test accuracy of the MLP
    and the CNN on the unshifted images and on each one-pixel shift (``conv_templates.run()``)."""
    fig = _figure(9.0, 3.0)
    grid = fig.add_gridspec(1, 4, width_ratios=[1, 1, 0.1, 4])
    for col, (img, title) in enumerate(((result.sample, "a test digit"), (result.sample_shifted, "one pixel right"))):
        ax = fig.add_subplot(grid[0, col])
        _image(ax, img, vmin=0, vmax=1)
        ax.set_title(title, fontsize=9)
    ax = fig.add_subplot(grid[0, 3])
    cases = list(result.acc[result.models[0]])
    x = np.arange(len(cases))
    width = 0.8 / len(result.models)
    for k, model in enumerate(result.models):
        values = [result.acc[model][c] for c in cases]
        ax.bar(x + (k - (len(result.models) - 1) / 2) * width, values, width,
               color=_MODEL_COLORS.get(model), label=_MODEL_LABELS.get(model, model))
    ax.set_xticks(x, ["no shift" if c == "none" else f"shifted {c}" for c in cases])
    ax.set_ylim(0, 1)
    ax.set_ylabel("test accuracy")
    ax.axhline(0.1, color=PALETTE["black"], lw=0.8, ls=":", label="chance")
    ax.legend(loc="upper right", ncols=3)
    return fig


def plot_mnist1d_baselines(result: Any) -> Figure:
    """Left: one MNIST-1D signal in its order and shuffled. Middle: test accuracy during training.
    Right: final test accuracy of each model beside the paper's (``mnist1d_baselines.run()``)."""
    fig = _figure(11.0, 3.3)
    axes = _subplots(fig, 1, 3, width_ratios=[1.1, 1.4, 1.2])
    ax = axes[0]
    ax.plot(np.arange(len(result.example)), result.example, color=_MODEL_COLORS["cnn"], label="as generated")
    ax.plot(np.arange(len(result.example)), result.example[result.permutation], color=_MODEL_COLORS["cnn_shuffled"],
            lw=1.2, label="positions shuffled")
    ax.set_xlabel("position")
    ax.set_title(f"a test signal (class {result.example_label})")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), ncols=2, fontsize=8)
    ax = axes[1]
    for model in result.models:
        r = result.runs[model]
        ax.plot(r.eval_step, r.test_curve, color=_MODEL_COLORS.get(model), label=_MODEL_LABELS.get(model, model))
    ax.set_xlabel("training step")
    ax.set_ylabel("test accuracy")
    ax.set_ylim(0, 1)
    ax.legend(loc="lower right", fontsize=8)
    ax = axes[2]
    x = np.arange(len(result.models))
    ax.bar(x, [result.runs[m].test_acc for m in result.models],
           color=[_MODEL_COLORS.get(m) for m in result.models])
    paper = [(i, result.paper[m]) for i, m in enumerate(result.models) if m in result.paper]
    if paper:
        ax.scatter([i for i, _ in paper], [v for _, v in paper], marker="_", s=600, color=PALETTE["black"],
                   linewidths=2.5, zorder=3, label="paper (Table 1)")
    ax.set_xticks(x, [_MODEL_LABELS.get(m, m).replace(", ", ",\n") for m in result.models], fontsize=8)
    ax.set_ylim(0, 1)
    ax.set_title("final test accuracy")
    ax.legend(loc="upper left", fontsize=8)
    return fig
