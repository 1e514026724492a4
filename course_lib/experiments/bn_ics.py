r"""Santurkar et al. (2018), Sec. 2.2 and Fig. 3: does batch norm reduce internal covariate shift?

Internal covariate shift (ICS) is the change of a layer's input distribution caused by the steps
of the layers below it. Santurkar et al. measure it through what the layer has to *do*: its
gradient. For layer :math:`i` and a mini-batch :math:`(x, y)` at step :math:`t`,

.. math::

    G_i = \nabla_{W_i} J(W_1^{t}, \dots, W_{i-1}^{t}, W_i^{t}, \dots, W_L^{t}; x, y), \qquad
    G_i' = \nabla_{W_i} J(W_1^{t+1}, \dots, W_{i-1}^{t+1}, W_i^{t}, \dots, W_L^{t}; x, y),

the gradient before and after the layers below took their step (same batch, same layer weights).
Without ICS the two are equal; the more the lower layers move the ground under layer :math:`i`,
the further apart they are. Two measures, per layer and step: the cosine
:math:`\cos(G_i, G_i')` (1 = no shift) and the distance :math:`\|G_i - G_i'\|_2`, also relative to
:math:`\|G_i\|_2` (the two nets' gradients have different sizes).

Protocol (:mod:`~course_lib.experiments._santurkar_net`): digits standardized, 10 hidden ReLU layers
of 128 (He init), plain SGD with learning rate ``lr``, batch 128, ``steps`` steps; every ``every``
steps the shift is measured for the weights of every layer above the first (layers 2..11, the
output layer included); "the layers below took their step" means the SGD step of all their
parameters (W, b and, with BN, gamma and beta) with this step's gradient.

What Santurkar et al. found, and what must show here: BN does not reduce ICS measured this way.
The cosine with BN is not higher than without (in their VGG and deep linear nets it is often
lower), and the relative distance is not smaller.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch

from course_lib.scratch.solver import progress_bar

from . import _santurkar_net as net

__all__ = ["ICSRun", "ICSResult", "run", "VARIANTS", "gradient_shift"]

VARIANTS = ("plain", "bn")


@dataclass(frozen=True, eq=False)
class ICSRun:
    variant: str
    seed: int
    steps: np.ndarray  # (M,) the steps at which ICS was measured
    layers: np.ndarray  # (K,) 1-based layer numbers measured (2..L)
    cosine: np.ndarray  # (M, K) cos(G_i, G_i')
    distance: np.ndarray  # (M, K) ||G_i - G_i'||
    relative: np.ndarray  # (M, K) ||G_i - G_i'|| / ||G_i||
    loss: np.ndarray  # (steps,) mini-batch loss
    final_loss: float  # training-set loss after training


@dataclass(frozen=True, eq=False)
class ICSResult:
    variants: tuple
    seeds: tuple
    runs: dict  # (variant, seed) -> ICSRun
    config: dict = field(default_factory=dict)

    def median(self, variant: str, measure: str = "cosine") -> np.ndarray:
        """(seeds,) median over steps and layers of ``measure`` ("cosine", "distance" or "relative")."""
        return np.array([float(np.median(getattr(self.runs[variant, s], measure))) for s in self.seeds])

    def per_layer(self, variant: str, measure: str = "cosine") -> np.ndarray:
        """(seeds, K) median over steps, per layer."""
        return np.stack([np.median(getattr(self.runs[variant, s], measure), axis=0) for s in self.seeds])

    def table(self) -> str:
        lines = [f"{'variant':<8}{'seed':>5}{'median cos':>12}{'median ||G-G`||':>17}{'median relative':>17}"
                 f"{'final loss':>12}"]
        for (v, s), r in self.runs.items():
            lines.append(f"{v:<8}{s:>5}{np.median(r.cosine):>12.3f}{np.median(r.distance):>17.3e}"
                         f"{np.median(r.relative):>17.3f}{r.final_loss:>12.4f}")
        return "\n".join(lines)


def gradient_shift(params, x: torch.Tensor, y: torch.Tensor, lr: float,
                   grads=None) -> tuple:
    """For every layer i >= 2: (cos(G_i, G_i'), ||G_i - G_i'||, ||G_i||) on the batch.

    ``grads`` are this step's gradients (computed if None). Each G_i' comes from a
    copy of the parameters in which the layers below i took the step -lr * grads.
    """
    if grads is None:
        grads = net.layer_grads(params, net.loss(params, x, y))
    cos, dist, norm = [], [], []
    for i in range(1, len(params)):
        moved = net.clone_params(params)
        net.sgd_step(moved, grads, lr, layers=range(i))  # layers below i move
        g_new = torch.autograd.grad(net.loss(moved, x, y), moved[i][0])[0]
        g_old = grads[i][0]
        dot = float((g_old * g_new).sum())
        cos.append(dot / float(g_old.norm() * g_new.norm()))
        dist.append(float((g_old - g_new).norm()))
        norm.append(float(g_old.norm()))
    return np.array(cos), np.array(dist), np.array(norm)


def _train(variant: str, seed: int, data, cfg: dict, dtype, bar) -> ICSRun:
    params = net.init_params(variant == "bn", depth=cfg["depth"], width=cfg["width"], rng=seed, dtype=dtype)
    losses = np.full(cfg["steps"], np.nan)
    steps, cos, dist, rel = [], [], [], []
    for t, idx in enumerate(net.batches(len(data.y_train), cfg["batch_size"], cfg["steps"], seed)):
        x, y = data.x_train[idx], data.y_train[idx]
        value = net.loss(params, x, y)
        grads = net.layer_grads(params, value)
        if t % cfg["every"] == 0:
            c, d, n = gradient_shift(params, x, y, cfg["lr"], grads)
            steps.append(t)
            cos.append(c)
            dist.append(d)
            rel.append(d / n)
        net.sgd_step(params, grads, cfg["lr"])
        losses[t] = float(value.detach())
        bar.update(1)
    with torch.no_grad():
        stats = net.population_stats(params, data.x_train) if variant == "bn" else None
        final = float(net.loss(params, data.x_train, data.y_train, stats=stats))
    return ICSRun(variant=variant, seed=seed, steps=np.array(steps), layers=np.arange(2, len(params) + 1),
                  cosine=np.array(cos), distance=np.array(dist), relative=np.array(rel), loss=losses,
                  final_loss=final)


def run(lr: float = 0.1, steps: int = 200, every: int = 10, batch_size: int = 128, seeds: tuple = (0, 1, 2),
        variants: tuple = VARIANTS, depth: int = net.DEPTH, width: int = net.WIDTH,
        dtype: torch.dtype = torch.float32, data_seed: int = 0, progress: bool = True) -> ICSResult:
    """Train each (variant, seed), measuring the gradient shift of every layer every ``every`` steps."""
    unknown = [v for v in variants if v not in VARIANTS]
    if unknown:
        raise ValueError(f"bn_ics.run: unknown variants {unknown}, choose from {VARIANTS}")
    if lr <= 0 or steps < 1 or every < 1 or batch_size < 2:
        raise ValueError("bn_ics.run: need lr > 0, steps >= 1, every >= 1, batch_size >= 2")
    data = net.load_data(data_seed, dtype)
    cfg = dict(lr=lr, steps=steps, every=every, batch_size=batch_size, seeds=tuple(seeds), variants=tuple(variants),
               depth=depth, width=width, data_seed=data_seed)
    runs = {}
    with net.one_torch_thread(), progress_bar(len(variants) * len(seeds) * steps, progress, desc="bn_ics") as bar:
        for v in variants:
            for s in seeds:
                runs[v, s] = _train(v, s, data, cfg, dtype, bar)
    if any(not math.isfinite(r.final_loss) for r in runs.values()):
        raise FloatingPointError("bn_ics.run: a run diverged; lower lr")
    return ICSResult(variants=tuple(variants), seeds=tuple(seeds), runs=runs, config=cfg)
