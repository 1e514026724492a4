r"""Dead ReLUs: units knocked out by one too-large step, counted, and what brings them back.

A ReLU unit is **dead** on a data set when its pre-activation is :math:`\le 0` for every example
(:func:`course_lib.diagnostics.count_dead_units`): it outputs 0 and passes back a zero gradient
for every example, so gradient descent never changes its incoming weights again -- unless the
layer below changes what it sees.

Protocol: digits scaled to [0, 1] (non-negative inputs, like image pixels), an MLP
64 - 100 - 100 - 10 with He-normal weights (std :math:`\sqrt{2/n_\text{in}}`), mini-batches of 32,

1. ``warmup`` steps of SGD at ``lr``;
2. ONE step at ``big_lr`` (a learning-rate slip, e.g. a schedule or a typo, 400 times too large);
3. ``recovery`` more steps at ``lr``.

Units that are off for every training image are counted per hidden layer at initialization,
before the big step, right after it, and at the end. For the units of layer 1 the experiment
also records by how much their incoming weights changed during the recovery phase (exactly 0
for dead ReLUs: no gradient reaches them). Variants (``VARIANTS``): ReLU; ReLU with the slides'
small positive bias 0.01; leaky ReLU (torch's slope 0.01 and the slides' 0.1); ELU; and ReLU on
the same inputs standardized (zero-centred), with the same network and steps.

For leaky ReLU and ELU "off" means the same event (pre-activation :math:`\le 0` on every
example), but such a unit still receives a gradient (times the slope), so it is not dead in the
strict sense; the experiment measures whether that gradient actually brings it back.

The network is the scratch :class:`~course_lib.scratch.model.MLP` (the variant's activation and
hyperparameters), and :class:`~course_lib.scratch.optim.SGD` takes the steps, in a loop of its own:
the protocol's three phases need a learning rate per step and counts between them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from threadpoolctl import threadpool_limits

from course_lib import checks
from course_lib.data import load_digits
from course_lib.scratch.activations import ELU, LeakyReLU, ReLU
from course_lib.scratch.model import MLP
from course_lib.scratch.optim import SGD
from course_lib.scratch.solver import apply_update, progress_bar

__all__ = ["Variant", "VARIANTS", "DeadRun", "DeadReLUResult", "run", "run_variant"]


@dataclass(frozen=True)
class Variant:
    label: str
    act: type
    hyper: dict
    bias_init: float = 0.0  # initial bias of the hidden layers
    scale: str = "unit"  # digits scaling: "unit" (x/16, non-negative) or "standard" (zero-centred)


VARIANTS: tuple[Variant, ...] = (
    Variant("ReLU", ReLU, {}),
    Variant("ReLU, bias 0.01", ReLU, {}, bias_init=0.01),
    Variant("leaky ReLU 0.01", LeakyReLU, {"negative_slope": 0.01}),
    Variant("leaky ReLU 0.1", LeakyReLU, {"negative_slope": 0.1}),
    Variant("ELU", ELU, {"alpha": 1.0}),
    Variant("ReLU, centred inputs", ReLU, {}, scale="standard"),
)
"""The variants compared by :func:`run`."""

STAGES = ("init", "before", "after step", "end")


@dataclass(frozen=True, eq=False)
class DeadRun:
    variant: str
    seed: int
    off: np.ndarray  # (4 stages, L hidden layers) int: units off for every training image
    revived: np.ndarray  # (L,) int: units off right after the big step and active again at the end
    layer1_dead_weight_change: float  # max |W1 change| over recovery, on layer-1 units off after the step (nan if none)
    val_error: np.ndarray  # (4 stages,) validation error
    widths: tuple  # hidden widths


@dataclass(frozen=True, eq=False)
class DeadReLUResult:
    runs: dict  # variant label -> list of DeadRun (one per seed)
    seeds: tuple
    config: dict

    @property
    def labels(self) -> list[str]:
        return list(self.runs)

    def off(self, label: str) -> np.ndarray:
        """(seeds, 4 stages, L) units off for every training image."""
        return np.stack([r.off for r in self.runs[label]])

    def revived(self, label: str) -> np.ndarray:
        """(seeds, L) units off after the big step that are active again at the end."""
        return np.stack([r.revived for r in self.runs[label]])

    def val_error(self, label: str) -> np.ndarray:
        """(seeds, 4 stages) validation error."""
        return np.stack([r.val_error for r in self.runs[label]])

    def table(self, layer: int = 0) -> str:
        """Mean over seeds of layer ``layer``'s off units at each stage, revived units, final error."""
        width = max(len(s) for s in self.labels) + 1
        cols = [max(8, len(s) + 2) for s in STAGES]
        head = (f"{'variant':<{width}}" + "".join(f"{s:>{w}}" for s, w in zip(STAGES, cols, strict=True))
                + f"{'revived':>9}{'err after':>11}{'err end':>9}")
        lines = [f"layer {layer + 1}: units (of {self.runs[self.labels[0]][0].widths[layer]}) off for every "
                 f"training image, mean over {len(self.seeds)} seeds", head]
        for label in self.labels:
            off = self.off(label)[:, :, layer].mean(axis=0)
            err = self.val_error(label).mean(axis=0)
            lines.append(f"{label:<{width}}" + "".join(f"{v:>{w}.1f}" for v, w in zip(off, cols, strict=True))
                         + f"{self.revived(label)[:, layer].mean():>9.1f}{err[2]:>11.1%}{err[3]:>9.1%}")
        return "\n".join(lines)


def _off_masks(model: MLP, x: np.ndarray) -> list[np.ndarray]:
    """Per hidden layer, the units whose pre-activation is <= 0 on every row of x
    (the units :func:`course_lib.diagnostics.count_dead_units` counts)."""
    return [np.all(z <= 0.0, axis=0) for z in model.pre_activations(x)]


def run_variant(
    variant: Variant,
    seed: int = 0,
    widths: tuple = (100, 100),
    lr: float = 0.05,
    big_lr: float = 20.0,
    warmup: int = 100,
    recovery: int = 1000,
    batch_size: int = 32,
    bar=None,
) -> DeadRun:
    """One run of the protocol for one variant (same split, weights and batches for every variant)."""
    data = load_digits(seed=seed, scale=variant.scale)
    x, y = data.x_train, data.y_train
    dims = (data.n_features,) + tuple(widths) + (data.n_classes,)
    model = MLP(dims, activation=variant.act, activation_kwargs=variant.hyper, init="he_normal",
                bias=variant.bias_init, rng=np.random.default_rng(seed))
    model.params[f"b{model.num_layers}"] = np.zeros(data.n_classes)  # the bias is for the hidden units only
    sgd = SGD(lr=lr)
    states = {name: sgd.init(w) for name, w in model.params.items()}
    batches = np.random.default_rng([seed, 2])

    def train(steps: int, step_lr: float) -> None:
        for _ in range(steps):
            idx = batches.choice(len(x), size=batch_size, replace=False)
            _, grads = model.loss(x[idx], y[idx])
            apply_update(model, sgd, grads, states, lr=step_lr)
            if bar is not None:
                bar.update(1)

    def snapshot() -> tuple[list[np.ndarray], float]:
        with np.errstate(over="ignore", invalid="ignore"):
            return _off_masks(model, x), model.error(data.x_val, data.y_val)

    stages = [snapshot()]
    train(warmup, lr)
    stages.append(snapshot())
    with np.errstate(over="ignore", invalid="ignore"):
        train(1, big_lr)
    stages.append(snapshot())
    w1_after = model.params["W1"]  # the optimizer replaces the array, never changes it
    train(recovery, lr)
    stages.append(snapshot())

    after, end = stages[2][0], stages[3][0]
    dead1 = after[0]
    w1_end = model.params["W1"]
    change = float(np.max(np.abs(w1_end[:, dead1] - w1_after[:, dead1]))) if dead1.any() else float("nan")
    return DeadRun(
        variant=variant.label,
        seed=seed,
        off=np.array([[int(m.sum()) for m in masks] for masks, _ in stages]),
        revived=np.array([int((a & ~e).sum()) for a, e in zip(after, end)]),
        layer1_dead_weight_change=change,
        val_error=np.array([err for _, err in stages]),
        widths=tuple(widths),
    )


def run(
    n_seeds: int = 3,
    variants: tuple = VARIANTS,
    widths: tuple = (100, 100),
    lr: float = 0.05,
    big_lr: float = 20.0,
    warmup: int = 100,
    recovery: int = 1000,
    batch_size: int = 32,
    progress: bool = True,
    seed: int = 0,
) -> DeadReLUResult:
    """Every variant on the seeds ``seed, seed + 1, ..., seed + n_seeds - 1`` (split, weights, batches)."""
    n_seeds = checks.integer(n_seeds, "n_seeds", "dead_relu", minimum=1)
    if not variants:
        raise ValueError("dead_relu: need at least one variant")
    seeds = tuple(range(int(seed), int(seed) + n_seeds))
    total = len(seeds) * len(variants) * (warmup + recovery + 1)
    bar = progress_bar(total, progress, desc="dead ReLUs")
    runs = {}
    with threadpool_limits(1, user_api="blas"):
        for v in variants:
            runs[v.label] = [run_variant(v, s, widths, lr, big_lr, warmup, recovery, batch_size, bar) for s in seeds]
    bar.close()
    return DeadReLUResult(
        runs=runs,
        seeds=seeds,
        config=dict(widths=tuple(widths), lr=lr, big_lr=big_lr, warmup=warmup, recovery=recovery,
                    batch_size=batch_size),
    )
