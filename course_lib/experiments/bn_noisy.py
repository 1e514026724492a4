r"""Santurkar et al. (2018), Sec. 2 and Fig. 2: batch norm with noise injected after it still trains.

If batch norm worked by keeping the distribution of every layer's input steady (reducing internal
covariate shift), then destroying that steadiness on purpose should destroy the benefit. Santurkar
et al. add, after every BN layer, noise whose mean and scale change at every step (the "noisy
BatchNorm"), and find that the network trains about as well as with plain BN.

Protocol (:mod:`~course_lib.experiments._santurkar_net`): digits standardized, 10 hidden ReLU layers
of 128 (He init), softmax cross-entropy, plain SGD with learning rate ``lr``, batch 128, ``steps``
steps, the same mini-batches for every variant of a seed. Four variants:

* ``"plain"`` -- no batch norm;
* ``"bn"`` -- batch norm before every ReLU;
* ``"noisy_bn"`` -- batch norm, then the noise (per step and unit a shift ~ U(-0.5, 0.5) and a
  scale ~ U(1, 1.25), per element a jitter of 0.1; see :class:`~._santurkar_net.Noise`);
* ``"noisy_plain"`` -- the same noise at the same place, without batch norm.

What must show: ``noisy_bn`` ends with a training loss close to ``bn`` (a small multiple of it,
far below the chance loss ln 10), while ``noisy_plain`` trains much worse than both, or diverges at
this learning rate. The result also records, at every step, the mean and standard deviation over
the batch of one unit's input to its ReLU, noise included (``probe_layer``, ``probe_unit``): with noise this
distribution jumps from step to step, which is the instability the noise was built to create.
The final losses are measured on the whole training set without noise (BN with the training
set's statistics).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch

from course_lib.scratch.solver import progress_bar

from . import _santurkar_net as net

__all__ = ["NoisyRun", "NoisyResult", "run", "VARIANTS"]

VARIANTS = ("plain", "bn", "noisy_bn", "noisy_plain")


@dataclass(frozen=True, eq=False)
class NoisyRun:
    variant: str
    seed: int
    loss: np.ndarray  # (steps,) mini-batch training loss (nan after a divergence)
    probe_mean: np.ndarray  # (steps,) batch mean of the probed unit's ReLU input
    probe_std: np.ndarray  # (steps,) batch std of the same
    final_loss: float  # training-set loss after the last step, no noise (inf if diverged)
    val_acc: float
    diverged: bool


@dataclass(frozen=True, eq=False)
class NoisyResult:
    variants: tuple
    seeds: tuple
    runs: dict  # (variant, seed) -> NoisyRun
    chance_loss: float
    config: dict = field(default_factory=dict)

    def final_losses(self, variant: str) -> np.ndarray:
        """(seeds,) training-set loss after training (inf where the run diverged)."""
        return np.array([self.runs[variant, s].final_loss for s in self.seeds])

    def val_accs(self, variant: str) -> np.ndarray:
        return np.array([self.runs[variant, s].val_acc for s in self.seeds])

    def probe_jitter(self, variant: str) -> np.ndarray:
        """(seeds,) median absolute step-to-step change of the probed unit's batch mean."""
        return np.array([np.nanmedian(np.abs(np.diff(self.runs[variant, s].probe_mean))) for s in self.seeds])

    def table(self) -> str:
        lines = [f"{'variant':<13}" + "".join(f"{'seed ' + str(s):>22}" for s in self.seeds)]
        for v in self.variants:
            cells = []
            for s in self.seeds:
                r = self.runs[v, s]
                cells.append("diverged".rjust(22) if r.diverged else f"loss {r.final_loss:.4f} acc {r.val_acc:.0%}"
                             .rjust(22))
            lines.append(f"{v:<13}" + "".join(cells))
        return "\n".join(lines)


def _train(variant: str, seed: int, data, cfg: dict, dtype, bar) -> NoisyRun:
    bn = variant in ("bn", "noisy_bn")
    noise = net.Noise(**cfg["noise"]) if variant.startswith("noisy") else None
    params = net.init_params(bn, depth=cfg["depth"], width=cfg["width"], rng=seed, dtype=dtype)
    gen = torch.Generator().manual_seed(10_000 + seed)
    steps = cfg["steps"]
    losses, pm, ps = (np.full(steps, np.nan) for _ in range(3))
    diverged = False
    for t, idx in enumerate(net.batches(len(data.y_train), cfg["batch_size"], steps, seed)):
        pre: list = []
        value = net.loss(params, data.x_train[idx], data.y_train[idx], noise=noise, gen=gen, pre=pre)
        if not bool(torch.isfinite(value)):
            diverged = True
            break
        grads = net.layer_grads(params, value)
        net.sgd_step(params, grads, cfg["lr"])
        losses[t] = float(value.detach())
        col = pre[cfg["probe_layer"] - 1][:, cfg["probe_unit"]].detach()
        pm[t], ps[t] = float(col.mean()), float(col.std(correction=0))
        bar.update(1)
    if not diverged and not all(bool(torch.isfinite(p).all()) for p in net.tensors(params)):
        diverged = True
    if diverged:
        final, acc = math.inf, float("nan")
    else:
        with torch.no_grad():
            stats = net.population_stats(params, data.x_train) if bn else None
            final = float(net.loss(params, data.x_train, data.y_train, stats=stats))
        acc = net.accuracy(params, data)
        diverged = not math.isfinite(final)
        final = final if math.isfinite(final) else math.inf
    return NoisyRun(variant=variant, seed=seed, loss=losses, probe_mean=pm, probe_std=ps, final_loss=final,
                    val_acc=acc, diverged=diverged)


def run(lr: float = 0.1, steps: int = 200, batch_size: int = 128, seeds: tuple = (0, 1, 2),
        variants: tuple = VARIANTS, depth: int = net.DEPTH, width: int = net.WIDTH, noise: dict | None = None,
        probe_layer: int = 3, probe_unit: int = 0, dtype: torch.dtype = torch.float32, data_seed: int = 0,
        progress: bool = True) -> NoisyResult:
    """Train every (variant, seed) and record the loss curve and the probed unit's statistics."""
    unknown = [v for v in variants if v not in VARIANTS]
    if unknown:
        raise ValueError(f"bn_noisy.run: unknown variants {unknown}, choose from {VARIANTS}")
    if not 1 <= probe_layer <= depth or not 0 <= probe_unit < width:
        raise ValueError(f"bn_noisy.run: probe_layer must be in 1..{depth} and probe_unit in 0..{width - 1}")
    if lr <= 0 or steps < 1 or batch_size < 2:
        raise ValueError("bn_noisy.run: need lr > 0, steps >= 1, batch_size >= 2")
    data = net.load_data(data_seed, dtype)
    cfg = dict(lr=lr, steps=steps, batch_size=batch_size, seeds=tuple(seeds), variants=tuple(variants),
               depth=depth, width=width, noise=dict(noise or {}), probe_layer=probe_layer, probe_unit=probe_unit,
               data_seed=data_seed)
    net.Noise(**cfg["noise"])  # check it early
    runs = {}
    with net.one_torch_thread(), progress_bar(len(variants) * len(seeds) * steps, progress, desc="bn_noisy") as bar:
        for v in variants:
            for s in seeds:
                runs[v, s] = _train(v, s, data, cfg, dtype, bar)
    return NoisyResult(variants=tuple(variants), seeds=tuple(seeds), runs=runs, chance_loss=math.log(10), config=cfg)
