"""Figures of the chapter on training in practice.

Each function takes the result of one of the chapter's experiments
(``course_lib.experiments.babysitting / net_growth / curve_diagnosis / hparam_search /
ensembles_demo``) and returns a Figure.
"""
from __future__ import annotations

import numpy as np
from matplotlib.colors import Normalize
from matplotlib.figure import Figure

from .style import PALETTE, figure as _figure, moving_average, subplots as _subplots

__all__ = ["plot_babysitting", "plot_net_growth", "plot_curve_diagnosis", "plot_search_toy", "plot_search_odds",
           "plot_hparam_search", "plot_ensembles", "plot_early_stopping"]

_CASE_TITLES = {
    "lr_too_high": "learning rate too high", "lr_too_low": "learning rate too low", "bad_init": "bad initialization",
    "overfitting": "big gap: overfitting", "no_gap": "no gap", "healthy": "healthy",
}


def plot_babysitting(result) -> Figure:
    """Overfitting 20 examples; the learning-rate range test; update/weight ratio vs learning rate."""
    fig = _figure(10.5, 3.3)
    ax1, ax2, ax3 = _subplots(fig, 1, 3)
    ax1.semilogy(result.overfit.loss, color=PALETTE["blue"])
    ax1.axhline(result.chance_loss, color=PALETTE["grey"], ls="--", lw=1, label=r"$\ln 10$")
    ax1.set_xlabel("step (full batch)")
    ax1.set_ylabel("training loss")
    ax1.set_title(f"overfit {result.overfit.n} examples")
    ax1.legend()
    r = result.lr_range
    finite = np.isfinite(r.loss) & (r.loss < 3 * r.initial_loss)
    ax2.semilogx(r.lrs[finite], r.loss[finite], "o-", color=PALETTE["blue"])
    for lr in r.lrs[~finite]:
        ax2.axvline(lr, color=PALETTE["vermillion"], lw=1, ls=":")
    ax2.axhline(r.initial_loss, color=PALETTE["grey"], ls="--", lw=1, label="loss at init")
    ax2.plot([], [], color=PALETTE["vermillion"], ls=":", label="blew up")
    ax2.set_xlabel("learning rate")
    ax2.set_ylabel("loss after the short run")
    ax2.set_title("learning-rate range test")
    ax2.legend()
    lrs = np.array(result.ratio_lrs)
    ax3.loglog(lrs, result.ratio_W1, "o-", color=PALETTE["blue"], label="W1")
    ax3.loglog(lrs, result.ratio_W2, "s-", color=PALETTE["orange"], label="W2")
    ax3.axhspan(3e-4, 3e-3, color=PALETTE["green"], alpha=0.15, label=r"$\approx 10^{-3}$")
    ax3.set_xlabel("learning rate")
    ax3.set_ylabel(r"median $\|\Delta W\| / \|W\|$")
    ax3.set_title("update/weight ratio")
    ax3.legend()
    return fig


def plot_net_growth(result) -> Figure:
    """Final training and best validation accuracy of each architecture (mean over seeds)."""
    fig = _figure(7.0, 3.2)
    ax = _subplots(fig, 1, 1)
    labels = ["-".join(map(str, a)) for a in result.architectures]
    xs = np.arange(len(labels))
    ax.plot(xs, result.mean("final_train"), "o-", color=PALETTE["sky"], label="training (final)")
    ax.plot(xs, result.mean("best_val"), "s-", color=PALETTE["blue"], label="validation (best epoch)")
    ax.set_xticks(xs, labels)
    ax.set_xlabel("hidden units per layer")
    ax.set_ylabel("accuracy")
    ax.legend()
    return fig


def plot_curve_diagnosis(result, seed: int | None = None) -> Figure:
    """One column per row of the diagnosis table: the loss per step (top) and the accuracies (bottom)."""
    seed = result.seeds[0] if seed is None else seed
    n = len(result.cases)
    fig = _figure(2.0 * n, 4.4)
    axes = _subplots(fig, 2, n)
    for j, case in enumerate(result.cases):
        r = result.runs[case, seed]
        ax, bx = axes[0, j], axes[1, j]
        loss = r.loss[np.isfinite(r.loss)]
        steps = np.arange(len(loss)) / r.steps_per_epoch
        ax.plot(steps, loss, color=PALETTE["sky"], lw=0.6)
        ax.plot(steps, moving_average(loss, 10), color=PALETTE["blue"], lw=1.4)
        if case == "lr_too_high":
            ax.set_yscale("log")
        ax.set_title(f"{_CASE_TITLES.get(case, case)}\n-> {r.kind}", fontsize=9)
        ax.set_xlabel("epoch")
        epochs = np.arange(1, len(r.train_acc) + 1)
        bx.plot(epochs, r.train_acc, color=PALETTE["sky"], label="train")
        bx.plot(epochs, r.val_acc, color=PALETTE["vermillion"], label="val")
        bx.set_ylim(0, 1.02)
        bx.set_xlabel("epoch")
    axes[0, 0].set_ylabel("training loss")
    axes[1, 0].set_ylabel("accuracy")
    axes[1, -1].legend(loc="lower right")
    return fig


def plot_search_toy(toy) -> Figure:
    """The nine grid and nine random trials over the toy objective, with its important axis below."""
    from course_lib.experiments.hparam_search import toy_objective

    fig = _figure(8.0, 4.2)
    axes = _subplots(fig, 2, 2, height_ratios=[3, 1], sharex=True)
    a = np.linspace(0, 1, 201)
    aa, bb = np.meshgrid(a, a)
    f = np.vectorize(toy_objective)(aa, bb)
    for j, (res, name) in enumerate(((toy.grid, "grid"), (toy.random, "random"))):
        ax, bx = axes[0, j], axes[1, j]
        ax.contourf(aa, bb, f, levels=12, cmap="Greys", alpha=0.6)
        pa = np.array([t["a"] for t in res.trials])
        pb = np.array([t["b"] for t in res.trials])
        ax.scatter(pa, pb, s=40, color=PALETTE["vermillion"], zorder=3)
        ax.set_title(f"{name}: {len(set(pa))} distinct values of a")
        ax.set_ylabel("b (does not matter)" if j == 0 else "")
        bx.plot(a, [toy_objective(v, 0) for v in a], color=PALETTE["blue"])
        bx.scatter(pa, [toy_objective(v, 0) for v in pa], s=25, color=PALETTE["vermillion"], zorder=3)
        bx.set_xlabel("a (matters)")
    axes[1, 0].set_ylabel("f(a, 0)")
    return fig


def plot_search_odds(top5, logu) -> Figure:
    """P(a trial in the top 5 %) vs the number of trials; uniform vs log-uniform samples per decade."""
    fig = _figure(9.0, 3.2)
    ax, bx = _subplots(fig, 1, 2)
    ax.plot(top5.trials, top5.exact, color=PALETTE["blue"], label=r"$1 - 0.95^n$")
    ax.plot(top5.trials[::5], top5.simulated[::5], "o", ms=4, color=PALETTE["vermillion"], label="simulated")
    ax.axvline(60, color=PALETTE["grey"], ls="--", lw=1)
    ax.set_xlabel("number of random trials n")
    ax.set_ylabel("P(some trial in the top 5 %)")
    ax.legend(loc="lower right")
    k = len(logu.uniform_frac)
    xs = np.arange(k)
    bx.bar(xs - 0.2, logu.uniform_frac, 0.4, color=PALETTE["sky"], label="uniform")
    bx.bar(xs + 0.2, logu.log_frac, 0.4, color=PALETTE["blue"], label="log-uniform")
    bx.set_xticks(xs, [f"[{lo:.0e}, {hi:.0e}]" for lo, hi in zip(logu.decades[:-1], logu.decades[1:])],
                  fontsize=7)
    bx.set_ylabel("fraction of samples")
    bx.set_xlabel("decade")
    bx.legend()
    return fig


def plot_hparam_search(result) -> Figure:
    """Every trial of the three stages in the (learning rate, L2 strength) plane, coloured by validation accuracy."""
    fig = _figure(10.5, 3.4)
    axes = _subplots(fig, 1, len(result.stages), sharey=True)
    scores = np.concatenate([s.result.scores for s in result.stages])
    norm = Normalize(vmin=float(np.nanmin(scores)), vmax=float(np.nanmax(scores)))
    sc = None
    for ax, st in zip(axes, result.stages):
        lr = np.array([t["lr"] for t in st.result.trials])
        reg = np.array([t["reg"] for t in st.result.trials])
        sc = ax.scatter(lr, reg, c=st.result.scores, cmap="viridis", norm=norm, s=45, edgecolor="k", lw=0.4)
        best = st.result.best
        ax.scatter([best["lr"]], [best["reg"]], marker="*", s=200, color=PALETTE["vermillion"], zorder=3)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlim(1e-5 / 2, 2.0)
        ax.set_title(f"{st.name} ({len(st.result.trials)} trials, {st.epochs} epochs)")
        ax.set_xlabel("learning rate")
    axes[0].set_ylabel("L2 strength")
    fig.colorbar(sc, ax=list(axes), label="validation accuracy")
    return fig


def plot_ensembles(result) -> Figure:
    """Left: members vs ensembles of k members; right: one run's final iterate vs its averages."""
    fig = _figure(9.5, 3.3)
    ax, bx = _subplots(fig, 1, 2)
    m = len(result.member_acc)
    ks = np.arange(1, m + 1)
    ax.scatter(ks, result.member_acc, color=PALETTE["sky"], label="member k alone", zorder=3)
    ax.plot(ks, result.ensemble_acc, "o-", color=PALETTE["blue"], label="ensemble of members 1..k")
    ax.axhline(result.member_acc.mean(), color=PALETTE["grey"], ls="--", lw=1, label="mean member")
    ax.set_xticks(ks)
    ax.set_xlabel("k")
    ax.set_ylabel("test accuracy")
    ax.legend(loc="upper left")
    names = ["final\niterate", "snapshots:\npredictions", "snapshots:\nparameters", "EMA", "Polyak"]
    vals = [result.final_acc, result.snapshot_pred_acc, result.snapshot_param_acc, result.ema_acc,
            result.polyak_acc]
    colors = [PALETTE["grey"]] + [PALETTE["blue"]] * 4
    bx.bar(np.arange(5), vals, color=colors)
    lo = min(vals) - 0.03
    bx.set_ylim(lo, max(vals) + 0.02)
    bx.set_xticks(np.arange(5), names, fontsize=8)
    bx.set_ylabel("test accuracy")
    bx.set_title("one training run")
    return fig


def plot_early_stopping(result) -> Figure:
    """Validation accuracy per epoch of the early-stopped run, with the best epoch and the stop."""
    fig = _figure(6.0, 3.0)
    ax = _subplots(fig, 1, 1)
    epochs = np.arange(1, len(result.val_acc) + 1)
    ax.plot(epochs, result.val_acc, "o-", ms=3, color=PALETTE["blue"], label="validation accuracy")
    ax.axvline(result.best_epoch, color=PALETTE["green"], ls="--", lw=1.2, label="best epoch (restored)")
    ax.axvline(result.epochs_run, color=PALETTE["vermillion"], ls=":", lw=1.2, label="stopped")
    ax.set_xlabel("epoch")
    ax.set_ylabel("accuracy")
    ax.legend(loc="lower right")
    return fig
