"""Figures of chapter 6, batch normalization.

Every function takes the result of one of the chapter's experiments
(``course_lib.experiments.bn_identity / bn_modes / bn_activation_regime / bn_failures /
bn_regularization``) and returns a Figure; the numbers are already in the result.
"""
from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import NullLocator as _NullLocator

from .style import PALETTE, figure as _figure, subplots as _subplots

__all__ = [
    "plot_bn_identity",
    "plot_bn_running",
    "plot_bn_modes",
    "plot_bn_activation_regime",
    "plot_bn_batch_sizes",
    "plot_bn_single_class",
    "plot_bn_weight_decay",
    "plot_bn_companions",
    "plot_bn_gap",
]

_NORM_COLORS = {"none": PALETTE["grey"], "batch": PALETTE["blue"], "layer": PALETTE["orange"],
                "group": PALETTE["green"]}
_NORM_LABELS = {"none": "no normalization", "batch": "batch norm", "layer": "layer norm", "group": "group norm"}


def _size_ticks(ax: Any, sizes: Any) -> None:
    """Batch sizes as the only ticks of a log x axis."""
    ax.set_xticks(list(sizes), [str(b) for b in sizes])
    ax.xaxis.set_minor_locator(_NullLocator())


def plot_bn_identity(result: Any) -> Figure:
    """BN(x) against x for gamma = sqrt(var + eps) and for the slides' gamma = var (beta = mean)."""
    fig = _figure(8.0, 3.4)
    axes = _subplots(fig, 1, 2)
    x = result.x
    for ax, key, title in zip(axes, ("sqrt(var + eps)", "var (slides)"),
                              (r"$\gamma = \sqrt{\sigma^2 + \epsilon}$, $\beta = \mu$",
                               r"$\gamma = \mathrm{Var}[x]$ (slides), $\beta = \mu$")):
        out = result.outputs[key]
        for j in range(x.shape[1]):
            ax.scatter(x[:, j], out[:, j], s=8, label=f"feature {j + 1}")
        lo, hi = min(x.min(), out.min()), max(x.max(), out.max())
        ax.plot([lo, hi], [lo, hi], color="black", lw=0.8, ls="--", label="identity")
        ax.set(xlabel="input x", ylabel="batch norm output", title=title)
    axes[1].legend(loc="upper left", fontsize=7, ncol=2)
    return fig


def plot_bn_running(result: Any) -> Figure:
    """Running variance / population variance over the steps: mean over runs and the 10-90% band."""
    fig = _figure(7.5, 3.4)
    ax = _subplots(fig, 1, 1)
    steps = np.arange(1, result.steps + 1)
    colors = (PALETTE["blue"], PALETTE["vermillion"], PALETTE["green"])
    for color, (name, ratio) in zip(colors, result.var_ratio.items()):
        lo, hi = np.percentile(ratio, [10, 90], axis=0)
        ax.fill_between(steps, lo, hi, color=color, alpha=0.15, lw=0)
        ax.plot(steps, ratio.mean(axis=0), color=color, label=f"{name}, mean of {ratio.shape[0]} runs")
    m = result.batch_size
    ax.axhline(1.0, color="black", lw=0.8, ls="--", label="population variance")
    ax.axhline((m - 1) / m, color=PALETTE["vermillion"], lw=0.8, ls=":", label=f"$(m-1)/m$ for m = {m}")
    ax.set(xlabel="training step (batches seen)", ylabel="running var / population var", ylim=(0.4, 2.0),
           title=f"Running variance, batches of {m}, momentum {result.momentum:g}")
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8)
    return fig


def plot_bn_modes(result: Any) -> Figure:
    """Test accuracy in training mode against the test batch size, with eval mode for reference."""
    fig = _figure(7.0, 3.4)
    ax = _subplots(fig, 1, 1)
    ax.plot(result.batch_sizes, result.train_mode_acc, "o-", color=PALETTE["vermillion"],
            label="training mode, random test batches")
    ax.axhline(result.eval_acc, color=PALETTE["blue"], ls="--", label="eval mode (running statistics)")
    ax.axhline(result.single_class_acc, color=PALETTE["purple"], ls=":",
               label="training mode, batches of one class")
    ax.axhline(0.1, color=PALETTE["grey"], lw=0.8, label="chance")
    ax.set(xscale="log", xlabel="test batch size", ylabel="test accuracy", ylim=(0, 1.02),
           title="Forgetting eval(): predictions depend on the test batch")
    _size_ticks(ax, result.batch_sizes)
    ax.legend(loc="lower right")
    return fig


def plot_bn_activation_regime(result: Any) -> Figure:
    """Fraction of activation inputs in [-2, 2] and saturated fraction vs weight scale, with and without BN."""
    acts = sorted({a for a, _ in result.init}, key=lambda a: a != "tanh")
    fig = _figure(8.5, 3.4)
    axes = _subplots(fig, 1, len(acts), squeeze=False)[0]
    for ax, act in zip(axes, acts):
        for norm, color in (("none", PALETTE["grey"]), ("batch", PALETTE["blue"])):
            stats = result.init[(act, norm)]
            label = _NORM_LABELS[norm]
            ax.plot(result.scales, [s.frac_in_2 for s in stats], "o-", color=color, label=f"{label}: in [-2, 2]")
            ax.plot(result.scales, [s.saturated for s in stats], "s--", color=color, label=f"{label}: saturated")
        ax.set(xscale="log", xlabel="weight std s at initialization", ylabel="fraction of activation inputs",
               ylim=(-0.02, 1.02), title=act)
    axes[0].legend(loc="center left", fontsize=8)
    return fig


def plot_bn_batch_sizes(result: Any) -> Figure:
    """Validation accuracy against the training batch size per normalization; noise of the batch mean."""
    fig = _figure(9.0, 3.4)
    ax1, ax2 = _subplots(fig, 1, 2)
    for norm in result.norms:
        ax1.plot(result.sizes, result.mean_acc(norm), "o-", color=_NORM_COLORS[norm], label=_NORM_LABELS[norm])
    ax1.set(xscale="log", xlabel="training batch size", ylabel="validation accuracy (eval mode)",
            title=f"{result.epochs} epochs, lr proportional to batch size")
    _size_ticks(ax1, result.sizes)
    ax1.legend(loc="lower right")
    sizes = np.asarray(result.sizes, dtype=float)
    ax2.plot(sizes, result.stat_noise, "o-", color=PALETTE["blue"], label="measured")
    ax2.plot(sizes, np.sqrt(2 / (np.pi * sizes)), "--", color="black", lw=0.8, label=r"$\sqrt{2/(\pi B)}$")
    ax2.set(xscale="log", yscale="log", xlabel="batch size B", ylabel="|batch mean - mean| / std",
            title="Noise of the batch mean (first layer)")
    _size_ticks(ax2, result.sizes)
    ax2.legend()
    return fig


def plot_bn_single_class(result: Any) -> Figure:
    """Validation accuracy per normalization, trained on shuffled vs single-class batches."""
    fig = _figure(7.0, 3.4)
    ax = _subplots(fig, 1, 1)
    pos = np.arange(len(result.norms))
    for k, (order, color) in enumerate((("shuffled", PALETTE["blue"]), ("one class", PALETTE["vermillion"]))):
        vals = [result.val_acc[(n, order)] for n in result.norms]
        ax.bar(pos + (k - 0.5) * 0.38, vals, width=0.38, color=color, label=f"{order} batches")
    ax.axhline(0.1, color=PALETTE["grey"], lw=0.8, ls=":", label="chance")
    ax.set_xticks(pos, [_NORM_LABELS[n] for n in result.norms])
    ax.set(ylabel="validation accuracy (eval mode)", ylim=(0, 1.05), title="Training on batches of one class")
    ax.legend(loc="upper right", fontsize=8)
    return fig


def plot_bn_weight_decay(result: Any) -> Figure:
    """Mean gamma and validation accuracy against the weight decay, decaying gamma/beta or not."""
    fig = _figure(9.0, 3.4)
    ax1, ax2 = _subplots(fig, 1, 2)
    x = np.arange(len(result.decays))
    for kind, color in zip(result.val_acc, (PALETTE["blue"], PALETTE["vermillion"])):
        ax1.plot(x, result.gamma_mean[kind], "o-", color=color, label=f"decay on {kind}")
        ax2.plot(x, result.val_acc[kind], "o-", color=color, label=f"decay on {kind}")
    for ax in (ax1, ax2):
        ax.set_xticks(x, [f"{d:g}" for d in result.decays])
        ax.set_xlabel("weight decay")
    ax1.set(ylabel=r"mean $\gamma$ of the hidden layers", title=r"What weight decay does to $\gamma$")
    ax2.set(ylabel="validation accuracy", title="Validation accuracy")
    ax1.legend()
    return fig


def plot_bn_companions(result: Any) -> Figure:
    """Spread of one example's output over random batch companions, against the batch size."""
    fig = _figure(9.0, 3.4)
    ax1, ax2 = _subplots(fig, 1, 2)
    sizes = np.asarray(result.sizes)
    for i, b in enumerate(sizes):
        jitter = b * np.exp(0.08 * np.random.default_rng(i).standard_normal(result.example_probs.shape[1]))
        ax1.scatter(jitter, result.example_probs[i], s=8, color=PALETTE["blue"], alpha=0.6)
    ax1.axhline(result.example_eval_prob, color=PALETTE["vermillion"], ls="--", label="eval mode")
    ax1.set(xscale="log", xlabel="batch size", ylabel="p(true class)", ylim=(-0.02, 1.02),
            title="One image in random batches")
    _size_ticks(ax1, sizes)
    ax1.legend(loc="lower right")
    ax2.plot(sizes, result.prob_std, "o-", color=PALETTE["blue"], label="std of p(true class)")
    ax2.plot(sizes, result.flip_rate, "s--", color=PALETTE["vermillion"], label="prediction differs from eval")
    ax2.set(xscale="log", xlabel="batch size", ylabel="mean over images", title="Noise from the companions")
    _size_ticks(ax2, sizes)
    ax2.legend()
    return fig


def plot_bn_gap(result: Any) -> Figure:
    """Training and validation accuracy per epoch, with and without batch norm (mean over seeds)."""
    fig = _figure(7.0, 3.4)
    ax = _subplots(fig, 1, 1)
    for norm in result.norms:
        epochs = np.arange(1, result.train_acc[norm].shape[1] + 1)
        color = _NORM_COLORS[norm]
        ax.plot(epochs, result.train_acc[norm].mean(axis=0), color=color, label=f"{_NORM_LABELS[norm]}, training")
        ax.plot(epochs, result.val_acc[norm].mean(axis=0), color=color, ls="--",
                label=f"{_NORM_LABELS[norm]}, validation")
    ax.set(xlabel="epoch", ylabel="accuracy (eval mode)", ylim=(0.5, 1.01),
           title=f"{result.n_train} training images, mean over {len(result.seeds)} seeds")
    ax.legend(loc="lower right")
    return fig
