"""Figures of the chapter on overfitting and regularization.

Each function takes the result of one of the chapter's experiments
(``course_lib.experiments.bias_variance / regularizers / dropout_overfit``) and returns a Figure.
"""
from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from .style import PALETTE, figure as _figure, subplots as _subplots

__all__ = ["plot_bias_variance", "plot_regularizers", "plot_dropout_overfit"]

_METHOD_LABELS = {
    "none": "none", "l2": "L2 on weights", "act_l1": "L1 on activations", "input_noise": "input noise",
    "early_stop": "early stopping", "dropout": "dropout",
}


def plot_bias_variance(result, show_degrees: tuple = (1, 3, 12)) -> Figure:
    """Left: a few fits per degree (low / middle / high capacity); right: bias², variance, test error vs degree."""
    fig = _figure(12, 3.6)
    axes = _subplots(fig, 1, len(show_degrees) + 1, gridspec_kw={"width_ratios": [1] * len(show_degrees) + [1.6]})
    degrees = list(result.degrees)
    for ax, deg in zip(axes[:-1], show_degrees):
        i = degrees.index(deg)
        for fit in result.fits[i]:
            ax.plot(result.x_test, fit, color=PALETTE["sky"], lw=0.8, alpha=0.6)
        ax.plot(result.x_test, result.mean_fit[i], color=PALETTE["blue"], lw=2, label=r"mean fit $\bar f$")
        ax.plot(result.x_test, np.sin(np.pi * result.x_test), "--", color=PALETTE["black"], lw=1.5, label="true $f$")
        ax.scatter(result.x_train, result.y_show[0], s=12, color=PALETTE["vermillion"], zorder=3, label="one data set")
        ax.set_ylim(-2, 2)
        ax.set_title(f"degree {deg}")
        ax.set_xlabel("x")
    axes[0].legend(loc="lower right", fontsize=7)
    ax = axes[-1]
    ax.semilogy(result.degrees, result.bias2, "o-", color=PALETTE["blue"], label="bias²")
    ax.semilogy(result.degrees, result.variance, "s-", color=PALETTE["orange"], label="variance")
    ax.semilogy(result.degrees, result.test_error, "D-", color=PALETTE["vermillion"], label="test error (measured)")
    ax.semilogy(result.degrees, result.decomposition, "k:", lw=2, label=r"bias² + variance + $\sigma^2$")
    ax.semilogy(result.degrees, result.train_error, "^-", color=PALETTE["green"], label="training error")
    ax.axhline(result.noise, color=PALETTE["grey"], lw=1, ls="--", label=r"noise $\sigma^2$")
    ax.set_ylim(1e-4, None)
    ax.set_xticks(result.degrees[::2])
    ax.set_xlabel("polynomial degree (capacity)")
    ax.set_ylabel("squared error")
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1.0))
    return fig


def plot_regularizers(result) -> Figure:
    """Left: train and test accuracy per method (dots: seeds); right: validation curves of one seed."""
    fig = _figure(10.5, 3.8)
    ax, ax2 = _subplots(fig, 1, 2, gridspec_kw={"width_ratios": [1.3, 1]})
    train, test = result.table("train_acc"), result.table("test_acc")
    xs = np.arange(len(result.methods))
    ax.bar(xs - 0.2, train.mean(axis=0), 0.4, color=PALETTE["sky"], label="train")
    ax.bar(xs + 0.2, test.mean(axis=0), 0.4, color=PALETTE["blue"], label="test")
    for s in range(len(result.seeds)):
        ax.scatter(xs + 0.2, test[s], s=10, color=PALETTE["black"], zorder=3)
    ax.set_xticks(xs, [_METHOD_LABELS[m] for m in result.methods], rotation=25, ha="right")
    ax.set_ylabel("accuracy")
    ax.set_ylim(0, 1.2)
    ax.set_yticks(np.linspace(0, 1, 6))
    ax.legend(loc="upper center", ncols=2)
    ax.set_title(f"{result.dataset}, {result.n_train} training examples")
    for m in result.methods:
        r = result.curves(m)
        ax2.plot(r.eval_epoch, r.val_curve, lw=1.2, label=_METHOD_LABELS[m])
        if m == "early_stop":
            ax2.axvline(r.best_epoch, color=PALETTE["grey"], ls="--", lw=1)
    ax2.set_xlabel("epoch")
    ax2.set_ylabel("validation accuracy")
    ax2.legend(fontsize=7, loc="lower right")
    return fig


def plot_dropout_overfit(result) -> Figure:
    """Left: train/test accuracy vs drop probability p; right: test accuracy vs training-set size, with/without."""
    fig = _figure(10, 3.6)
    ax, ax2 = _subplots(fig, 1, 2)
    ps = np.array(result.ps)
    for arr, color, label in ((result.p_train, PALETTE["sky"], "train"), (result.p_test, PALETTE["blue"], "test")):
        ax.plot(ps, arr.mean(axis=0), "o-", color=color, label=label)
        if arr.shape[0] > 1:
            ax.fill_between(ps, arr.min(axis=0), arr.max(axis=0), color=color, alpha=0.2)
    ax.set_xlabel("drop probability p (hidden layers)")
    ax.set_ylabel("accuracy")
    ax.set_title(f"{result.n_train} training examples")
    ax.legend()
    sizes = np.array(result.sizes)
    for k, (color, label) in enumerate(((PALETTE["vermillion"], "no dropout"),
                                        (PALETTE["green"], f"dropout p = {result.p_size:g}"))):
        ax2.plot(sizes, result.size_test[..., k].mean(axis=0), "o-", color=color, label=f"test, {label}")
        ax2.plot(sizes, result.size_train[..., k].mean(axis=0), "--", color=color, lw=1, label=f"train, {label}")
    ax2.set_xscale("log")
    ax2.set_xticks(sizes, [str(n) for n in sizes])
    ax2.minorticks_off()
    ax2.set_xlabel("training-set size")
    ax2.set_ylabel("accuracy")
    ax2.legend(fontsize=7)
    return fig
