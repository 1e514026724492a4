r"""Saturation of the top hidden layer of a deep sigmoid net (Glorot & Bengio 2010, Fig. 2).

Protocol (scaled down from the paper's Shapeset/MNIST runs): scikit-learn digits scaled to
[0, 1], an MLP 64 - 256 - 256 - 256 - 256 - 10 with sigmoid hidden units and a softmax output,
the "standard" initialization of the time,

.. math::

    W_{ij} \sim U\!\left[-\tfrac{1}{\sqrt{n_\text{in}}},\ \tfrac{1}{\sqrt{n_\text{in}}}\right], \qquad b = 0,

plain SGD with learning rate 0.1 on mini-batches of 10. Every ``record_every`` steps the
hidden activations on a FIXED set of validation images are summarized per layer with
:func:`course_lib.diagnostics.activation_stats` (mean, std, fraction saturated), and the
validation accuracy is measured.

What Glorot & Bengio saw: the last hidden layer is quickly pushed toward 0 (the saturated
end of the sigmoid) while the first stays near 0.5, and learning stalls until it slowly
escapes. Their explanation: early on, the softmax output can lower the loss fastest through
its biases; a top layer at 0 contributes nothing to the scores and stops disturbing them.
But a unit at 0 also passes back almost no gradient (:math:`\sigma' = \sigma(1 - \sigma)`),
so the layers below learn very slowly. Zero-centred tanh units have no such trap: 0 is
the middle of their range, where the slope is largest.

The network is the scratch :class:`~course_lib.scratch.model.MLP` and the steps are taken by
:class:`~course_lib.scratch.optim.SGD`, in a loop of its own rather than the ``Solver``: the
statistics are recorded between steps, and the batches are drawn as in the paper's protocol (a
fresh permutation whenever fewer than a batch of examples remain).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from threadpoolctl import threadpool_limits

from course_lib import checks
from course_lib.data import load_digits
from course_lib.diagnostics import activation_stats, gradient_stats
from course_lib.scratch.model import MLP
from course_lib.scratch.optim import SGD
from course_lib.scratch.solver import apply_update, progress_bar

__all__ = ["SaturationResult", "run", "standard_init"]


@dataclass(frozen=True, eq=False)
class SaturationResult:
    steps: np.ndarray  # (R,) step counts at which the fixed batch was recorded (0 = before training)
    mean: np.ndarray  # (R, L) mean activation of each hidden layer on the fixed batch
    std: np.ndarray  # (R, L) std of each hidden layer's activations (over examples and units)
    saturated: np.ndarray  # (R, L) fraction of activations in the flat tails (diagnostics rules)
    low: np.ndarray  # (R, L) fraction of activations below 0.05 (sigmoid) / -0.95 (tanh): the "off" tail
    grad_norm: np.ndarray  # (R, L + 1) norm of the loss gradient w.r.t. W1..W_{L+1} on the fixed batch
    val_acc: np.ndarray  # (R,) accuracy on the validation split at each record
    loss: np.ndarray  # (steps,) training loss of each mini-batch
    activation: str
    dims: tuple  # (64, 256, 256, 256, 256, 10)
    config: dict

    @property
    def n_layers(self) -> int:
        return self.mean.shape[1]

    def at(self, step: int) -> int:
        """Row index of the record closest to ``step``."""
        return int(np.argmin(np.abs(self.steps - step)))

    def table(self, every: int | None = None) -> str:
        """Mean (std) per hidden layer at each record (or every ``every`` steps)."""
        if every is None:
            rows = range(len(self.steps))
        else:
            rows = sorted({self.at(s) for s in range(0, int(self.steps[-1]) + 1, every)})
        layers = "  ".join(f"{'layer ' + str(i + 1):>14}" for i in range(self.n_layers))
        head = f"{'step':>6}  " + layers + "   val acc"
        lines = [head]
        for r in rows:
            cells = "  ".join(f"{self.mean[r, i]:7.3f} ({self.std[r, i]:.3f})" for i in range(self.n_layers))
            lines.append(f"{int(self.steps[r]):>6}  {cells}   {self.val_acc[r]:7.1%}")
        return "\n".join(lines)


def standard_init(rng: np.random.Generator, fan_in: int, fan_out: int) -> np.ndarray:
    r"""The "standard" initialization of Glorot & Bengio (2010), eq. (1).

    :math:`W \sim U[-1/\sqrt{n}, 1/\sqrt{n}]` with n = fan_in; shape (fan_in, fan_out).
    """
    bound = 1.0 / np.sqrt(fan_in)
    return rng.uniform(-bound, bound, size=(fan_in, fan_out))


def run(
    steps: int = 2000,
    record_every: int = 50,
    width: int = 256,
    depth: int = 4,
    lr: float = 0.1,
    batch_size: int = 10,
    n_fixed: int = 300,
    activation: str = "sigmoid",
    progress: bool = True,
    seed: int = 0,
) -> SaturationResult:
    """Train the deep net with standard init and record per-layer activation statistics."""
    if activation not in ("sigmoid", "tanh"):
        raise ValueError(f"sigmoid_saturation: activation must be 'sigmoid' or 'tanh', got {activation!r}")
    for name, value in (("steps", steps), ("record_every", record_every), ("width", width), ("depth", depth),
                        ("batch_size", batch_size), ("n_fixed", n_fixed)):
        checks.integer(value, name, "sigmoid_saturation", minimum=1)
    rng = np.random.default_rng(seed)
    data = load_digits(seed=seed, scale="unit")
    dims = (data.n_features,) + (width,) * depth + (data.n_classes,)
    model = MLP(dims, activation=activation, init=standard_init, rng=rng)  # draws from rng, layer by layer
    sgd = SGD(lr=lr)
    states = {name: sgd.init(w) for name, w in model.params.items()}
    fixed = data.x_val[: min(n_fixed, len(data.x_val))]
    fixed_y = data.y_val[: len(fixed)]
    off = (lambda a: a < 0.05) if activation == "sigmoid" else (lambda a: a < -0.95)

    rec_steps, means, stds, sats, lows, accs, gnorms = [], [], [], [], [], [], []

    def record(step: int) -> None:
        hs = model.hidden(fixed)
        stats = activation_stats(hs, activation)
        rec_steps.append(step)
        means.append([s.mean for s in stats])
        stds.append([s.std for s in stats])
        sats.append([s.saturated for s in stats])
        lows.append([float(np.mean(off(h))) for h in hs])
        accs.append(1.0 - model.error(data.x_val, data.y_val))
        _, grads = model.loss(fixed, fixed_y)
        gnorms.append([g.norm for g in gradient_stats({f"W{i}": grads[f"W{i}"] for i in range(1, len(dims))})])

    n = data.x_train.shape[0]
    order, pos = rng.permutation(n), 0
    losses = np.empty(steps)
    record(0)
    bar = progress_bar(steps, progress, desc=f"{activation} net")
    # Tiny matrices (batch 10): one BLAS thread is faster, and many times faster on a busy machine.
    with threadpool_limits(1, user_api="blas"):
        for t in range(steps):
            if pos + batch_size > n:
                order, pos = rng.permutation(n), 0
            idx = order[pos : pos + batch_size]
            pos += batch_size
            losses[t], grads = model.loss(data.x_train[idx], data.y_train[idx])
            apply_update(model, sgd, grads, states)
            bar.update(1)
            if (t + 1) % record_every == 0 or t + 1 == steps:
                record(t + 1)
    bar.close()

    return SaturationResult(
        steps=np.asarray(rec_steps),
        mean=np.asarray(means),
        std=np.asarray(stds),
        saturated=np.asarray(sats),
        low=np.asarray(lows),
        grad_norm=np.asarray(gnorms),
        val_acc=np.asarray(accs),
        loss=losses,
        activation=activation,
        dims=dims,
        config=dict(steps=steps, record_every=record_every, width=width, depth=depth, lr=lr,
                    batch_size=batch_size, n_fixed=n_fixed, seed=seed),
    )
