r"""Santurkar et al. (2018), Sec. 3.1 and Fig. 4: batch norm makes the loss landscape smoother.

At a point :math:`\theta` of training, with the mini-batch gradient :math:`g = \nabla J(\theta)`,
walk along the gradient with step sizes :math:`\eta \in [\eta_\min, \eta_\max]` and look at

* the **loss range**: :math:`\max_\eta J(\theta - \eta g) - \min_\eta J(\theta - \eta g)`, how much
  the loss can change over steps of these sizes (is the gradient step safe to take at a larger
  rate?);
* the **gradient change** ("gradient predictiveness"): :math:`\max_\eta \|\nabla J(\theta - \eta g) - g\|_2`,
  how far the gradient at the landing point is from the one that chose the direction;
* the **effective smoothness** ("effective :math:`\beta`-smoothness"):
  :math:`\max_\eta \|\nabla J(\theta - \eta g) - g\|_2 / \|\eta g\|_2`, a local Lipschitz constant of
  the gradient along the path (a :math:`\beta`-smooth function has it :math:`\le \beta`).

Everything is computed on the step's own mini-batch (BN with that batch's statistics).

Protocol (:mod:`~course_lib.experiments._santurkar_net`): digits standardized, 10 hidden ReLU layers
of 128, He init, plain SGD at learning rate ``lr`` (the same for both nets), batch 128; at every
``every``-th step from ``first`` to ``last`` a walk with ``points`` step sizes evenly spaced in
[0.5, 4] x ``lr``. Training then continues with the ordinary step.

What must show (the paper's Fig. 4, on VGG and deep linear nets): all three quantities are several
times smaller with batch norm than without.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from course_lib.scratch.solver import progress_bar

from . import _santurkar_net as net

__all__ = ["LandscapeRun", "LandscapeResult", "run", "walk", "VARIANTS"]

VARIANTS = ("plain", "bn")


@dataclass(frozen=True, eq=False)
class LandscapeRun:
    variant: str
    seed: int
    steps: np.ndarray  # (M,) steps at which a walk was made
    etas: np.ndarray  # (P,) the step sizes of a walk
    walk_loss: np.ndarray  # (M, P) J(theta - eta g)
    start_loss: np.ndarray  # (M,) J(theta)
    grad_change: np.ndarray  # (M, P) ||grad J(theta - eta g) - g||
    grad_norm: np.ndarray  # (M,) ||g||
    loss: np.ndarray  # (steps,) mini-batch training loss

    @property
    def loss_range(self) -> np.ndarray:
        """(M,) max - min of the loss along each walk."""
        return self.walk_loss.max(axis=1) - self.walk_loss.min(axis=1)

    @property
    def max_grad_change(self) -> np.ndarray:
        """(M,) largest gradient change along each walk."""
        return self.grad_change.max(axis=1)

    @property
    def smoothness(self) -> np.ndarray:
        """(M,) effective beta-smoothness: max over the walk of ||dg|| / ||eta g||."""
        return (self.grad_change / (self.etas[None, :] * self.grad_norm[:, None])).max(axis=1)


@dataclass(frozen=True, eq=False)
class LandscapeResult:
    variants: tuple
    seeds: tuple
    runs: dict  # (variant, seed) -> LandscapeRun
    config: dict = field(default_factory=dict)

    def median(self, variant: str, measure: str) -> np.ndarray:
        """(seeds,) median over the walks of ``measure`` ("loss_range", "max_grad_change", "smoothness")."""
        return np.array([float(np.median(getattr(self.runs[variant, s], measure))) for s in self.seeds])

    def ratio(self, measure: str) -> np.ndarray:
        """(seeds,) plain / bn of the per-seed medians of ``measure``."""
        return self.median("plain", measure) / self.median("bn", measure)

    def table(self) -> str:
        lines = [f"{'variant':<8}{'seed':>5}{'loss range':>12}{'grad change':>13}{'smoothness':>12}"]
        for (v, s), r in self.runs.items():
            lines.append(f"{v:<8}{s:>5}{np.median(r.loss_range):>12.4f}{np.median(r.max_grad_change):>13.4f}"
                         f"{np.median(r.smoothness):>12.3f}")
        return "\n".join(lines)


def walk(params, x: torch.Tensor, y: torch.Tensor, etas, grads=None) -> tuple:
    """Walk along -g on the batch (x, y).

    Returns J(theta), ||g||, and for each eta: J(theta - eta g) and
    ||grad J(theta - eta g) - g||.
    """
    value = net.loss(params, x, y)
    if grads is None:
        grads = net.layer_grads(params, value)
    g = net.flatten(grads)
    losses, changes = [], []
    for eta in etas:
        moved = net.clone_params(params)
        net.sgd_step(moved, grads, float(eta))  # theta - eta g
        v = net.loss(moved, x, y)
        g_new = net.flatten(net.layer_grads(moved, v))
        losses.append(float(v.detach()))
        changes.append(float((g_new - g).norm()))
    return float(value.detach()), float(g.norm()), np.array(losses), np.array(changes)


def _train(variant: str, seed: int, data, cfg: dict, dtype, bar) -> LandscapeRun:
    params = net.init_params(variant == "bn", depth=cfg["depth"], width=cfg["width"], rng=seed, dtype=dtype)
    etas = cfg["lr"] * np.linspace(cfg["eta_range"][0], cfg["eta_range"][1], cfg["points"])
    at = set(range(cfg["first"], cfg["last"] + 1, cfg["every"]))
    losses = np.full(cfg["last"] + 1, np.nan)
    steps, start, gnorm, wl, gc = [], [], [], [], []
    for t, idx in enumerate(net.batches(len(data.y_train), cfg["batch_size"], cfg["last"] + 1, seed)):
        x, y = data.x_train[idx], data.y_train[idx]
        value = net.loss(params, x, y)
        grads = net.layer_grads(params, value)
        if t in at:
            j0, n0, walk_loss, change = walk(params, x, y, etas, grads)
            steps.append(t)
            start.append(j0)
            gnorm.append(n0)
            wl.append(walk_loss)
            gc.append(change)
        net.sgd_step(params, grads, cfg["lr"])
        losses[t] = float(value.detach())
        bar.update(1)
    return LandscapeRun(variant=variant, seed=seed, steps=np.array(steps), etas=etas, walk_loss=np.array(wl),
                        start_loss=np.array(start), grad_change=np.array(gc), grad_norm=np.array(gnorm), loss=losses)


def run(lr: float = 0.1, first: int = 10, last: int = 100, every: int = 10, points: int = 8,
        eta_range: tuple = (0.5, 4.0), batch_size: int = 128, seeds: tuple = (0, 1, 2), variants: tuple = VARIANTS,
        depth: int = net.DEPTH, width: int = net.WIDTH, dtype: torch.dtype = torch.float32, data_seed: int = 0,
        progress: bool = True) -> LandscapeResult:
    """Train each (variant, seed) to step ``last``, walking along the gradient at steps first, first + every, ..."""
    unknown = [v for v in variants if v not in VARIANTS]
    if unknown:
        raise ValueError(f"bn_landscape.run: unknown variants {unknown}, choose from {VARIANTS}")
    if lr <= 0 or not 0 <= first <= last or every < 1 or points < 2 or not 0 < eta_range[0] < eta_range[1]:
        raise ValueError("bn_landscape.run: need lr > 0, 0 <= first <= last, every >= 1, points >= 2, "
                         f"0 < eta_range[0] < eta_range[1]; got {lr}, {first}, {last}, {every}, {points}, {eta_range}")
    data = net.load_data(data_seed, dtype)
    cfg = dict(lr=lr, first=first, last=last, every=every, points=points, eta_range=tuple(eta_range),
               batch_size=batch_size, seeds=tuple(seeds), variants=tuple(variants), depth=depth, width=width,
               data_seed=data_seed)
    runs = {}
    with net.one_torch_thread(), progress_bar(len(variants) * len(seeds) * (last + 1), progress,
                                              desc="bn_landscape") as bar:
        for v in variants:
            for s in seeds:
                runs[v, s] = _train(v, s, data, cfg, dtype, bar)
    return LandscapeResult(variants=tuple(variants), seeds=tuple(seeds), runs=runs, config=cfg)
