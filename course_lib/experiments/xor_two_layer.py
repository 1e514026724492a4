r"""The slides' "2-layer network in 11 lines" on XOR, written three ways with identical trajectories.

The network: 3 inputs (the two XOR bits and a constant 1 that plays the role of a bias),
4 sigmoid hidden units, 1 sigmoid output, no other biases; weights uniform in [-1, 1);
full-batch gradient descent on :math:`E = \tfrac12 \sum_n (t_n - o_n)^2` with step size
``lr`` (the slides' loop is ``lr = 1``).

1. :func:`train_classic` -- plain numpy, the deltas written out as in Rumelhart, Hinton &
   Williams (1986);
2. :func:`train_scratch` -- the same net assembled from :mod:`course_lib.scratch` ops
   (``Linear`` and ``Sigmoid``, forward then backward in reverse);
3. :func:`train_torch` -- the torch twins, with autograd doing the backward pass.

All three start from the SAME initial weights (drawn once from the injected Generator) and,
in float64, follow the same trajectory up to rounding (differences around 1e-15).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from course_lib.scratch.activations import Sigmoid
from course_lib.scratch.linear import Linear

__all__ = ["XOR_X", "XOR_T", "init_weights", "train_classic", "train_scratch", "train_torch", "XorResult", "run",
           "XorSeedSweep", "seed_sweep", "XorSizeSweep", "size_sweep"]

XOR_X = np.array([[0, 0, 1], [0, 1, 1], [1, 0, 1], [1, 1, 1]], dtype=np.float64)  # (4, 3), last column = 1
XOR_T = np.array([[0], [1], [1], [0]], dtype=np.float64)  # (4, 1) targets: x1 XOR x2


def init_weights(rng: np.random.Generator, hidden: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """``w1`` (3, hidden) and ``w2`` (hidden, 1), uniform in [-1, 1)."""
    w1 = rng.uniform(-1.0, 1.0, size=(3, hidden))
    w2 = rng.uniform(-1.0, 1.0, size=(hidden, 1))
    return w1, w2


def train_classic(w1, w2, steps: int = 5000, lr: float = 1.0):
    """Plain numpy. Returns ``(losses (steps,), output (4,), w1, w2)``.

    ``losses[k]`` is E before the k-th update.
    """
    w1, w2 = w1.copy(), w2.copy()
    x, t = XOR_X, XOR_T
    losses = np.empty(steps)
    for step in range(steps):
        h = 1.0 / (1.0 + np.exp(-(x @ w1)))  # (4, H) hidden activations
        o = 1.0 / (1.0 + np.exp(-(h @ w2)))  # (4, 1) output
        losses[step] = 0.5 * np.sum((t - o) ** 2)
        delta_o = (t - o) * o * (1.0 - o)  # -dE/d(output pre-activation)
        delta_h = (delta_o @ w2.T) * h * (1.0 - h)  # -dE/d(hidden pre-act.), the OLD w2
        w2 += lr * h.T @ delta_o
        w1 += lr * x.T @ delta_h
    h = 1.0 / (1.0 + np.exp(-(x @ w1)))
    o = 1.0 / (1.0 + np.exp(-(h @ w2)))  # the trained net's outputs
    return losses, o[:, 0], w1, w2


def train_scratch(w1, w2, steps: int = 5000, lr: float = 1.0):
    """The same net from the scratch ops.

    Biases are held at zero (the input's column of ones is the bias).
    """
    w1, w2 = w1.copy(), w2.copy()
    b1, b2 = np.zeros(w1.shape[1]), np.zeros(1)
    x, t = XOR_X, XOR_T
    losses = np.empty(steps)
    for step in range(steps):
        a1, c1 = Linear.forward(x, w1, b1)
        h, c2 = Sigmoid.forward(a1)
        a2, c3 = Linear.forward(h, w2, b2)
        o, c4 = Sigmoid.forward(a2)
        losses[step] = 0.5 * np.sum((o - t) ** 2)
        do = o - t  # dE/do
        (da2,) = Sigmoid.backward(do, c4)
        dh, dw2, _ = Linear.backward(da2, c3)
        (da1,) = Sigmoid.backward(dh, c2)
        _, dw1, _ = Linear.backward(da1, c1)
        w1 -= lr * dw1
        w2 -= lr * dw2
    h = Sigmoid.forward(Linear.forward(x, w1, b1)[0])[0]
    o = Sigmoid.forward(Linear.forward(h, w2, b2)[0])[0]
    return losses, o[:, 0], w1, w2


def train_torch(w1, w2, steps: int = 5000, lr: float = 1.0):
    """The same net from the torch twins; ``loss.backward()`` computes the gradients."""
    import torch

    from course_lib.torch_impl.activations import sigmoid
    from course_lib.torch_impl.linear import linear

    x = torch.tensor(XOR_X)
    t = torch.tensor(XOR_T)
    w1 = torch.tensor(w1, dtype=torch.float64, requires_grad=True)
    w2 = torch.tensor(w2, dtype=torch.float64, requires_grad=True)
    b1 = torch.zeros(w1.shape[1], dtype=torch.float64)
    b2 = torch.zeros(1, dtype=torch.float64)
    losses = np.empty(steps)
    for step in range(steps):
        o = sigmoid(linear(sigmoid(linear(x, w1, b1)), w2, b2))
        loss = 0.5 * ((o - t) ** 2).sum()
        losses[step] = loss.item()
        loss.backward()
        with torch.no_grad():
            w1 -= lr * w1.grad
            w2 -= lr * w2.grad
        w1.grad = None
        w2.grad = None
    with torch.no_grad():
        o = sigmoid(linear(sigmoid(linear(x, w1, b1)), w2, b2))
    w1, w2 = w1.detach().numpy().copy(), w2.detach().numpy().copy()
    return losses, o[:, 0].numpy().copy(), w1, w2


@dataclass(frozen=True, eq=False)
class XorResult:
    losses: dict  # {"classic" | "scratch" | "torch": (steps,)} E before each update
    outputs: dict  # {name: (4,)} network output after training, for inputs 00, 01, 10, 11
    w1: np.ndarray  # (3, H) final weights of the classic version
    w2: np.ndarray  # (H, 1)
    w1_init: np.ndarray  # (3, H) the shared initial weights
    w2_init: np.ndarray  # (H, 1)
    targets: np.ndarray  # (4,) 0 1 1 0
    max_diff: float  # largest |difference| between any two versions' losses, outputs or weights
    steps: int
    lr: float
    seed: int

    @property
    def predictions(self) -> np.ndarray:
        """Classic version's outputs thresholded at 0.5, int64 (4,)."""
        return (self.outputs["classic"] > 0.5).astype(np.int64)

    @property
    def solved(self) -> bool:
        """All four outputs on the right side of 0.5."""
        return bool(np.all(self.predictions == self.targets))

    @property
    def max_output_error(self) -> float:
        """Largest |target - output| after training (classic version)."""
        return float(np.max(np.abs(self.targets - self.outputs["classic"])))


def run(steps: int = 5000, lr: float = 1.0, hidden: int = 4, seed: int = 0, torch_version: bool = True) -> XorResult:
    """Train the XOR net from one random start three ways (``torch_version=False`` skips torch)."""
    if steps < 1:
        raise ValueError(f"steps must be >= 1, got {steps}")
    rng = np.random.default_rng(seed)
    w1_0, w2_0 = init_weights(rng, hidden)
    runs = {"classic": train_classic(w1_0, w2_0, steps, lr), "scratch": train_scratch(w1_0, w2_0, steps, lr)}
    if torch_version:
        runs["torch"] = train_torch(w1_0, w2_0, steps, lr)
    ref = runs["classic"]
    max_diff = 0.0
    for other in runs.values():
        for a, b in zip(ref, other):
            max_diff = max(max_diff, float(np.max(np.abs(a - b))))
    return XorResult(
        losses={k: v[0] for k, v in runs.items()},
        outputs={k: v[1] for k, v in runs.items()},
        w1=ref[2], w2=ref[3], w1_init=w1_0, w2_init=w2_0,
        targets=XOR_T[:, 0].astype(np.int64), max_diff=max_diff, steps=steps, lr=float(lr), seed=seed,
    )


@dataclass(frozen=True, eq=False)
class XorSeedSweep:
    seeds: tuple  # the seeds tried
    max_output_error: np.ndarray  # (S,) largest |target - output| after training, per seed
    final_loss: np.ndarray  # (S,) E after the last update, per seed
    steps: int

    @property
    def solved(self) -> np.ndarray:
        """(S,) bool: every output on the right side of 0.5."""
        return self.max_output_error < 0.5


def seed_sweep(seeds=range(10), steps: int = 5000, lr: float = 1.0, hidden: int = 4) -> XorSeedSweep:
    """Train the classic version from several random starts (does XOR get solved from every start?)."""
    errs, losses = [], []
    for s in seeds:
        w1, w2 = init_weights(np.random.default_rng(s), hidden)
        curve, out, _, _ = train_classic(w1, w2, steps, lr)
        errs.append(float(np.max(np.abs(XOR_T[:, 0] - out))))
        losses.append(float(0.5 * np.sum((XOR_T[:, 0] - out) ** 2)))
    return XorSeedSweep(seeds=tuple(seeds), max_output_error=np.array(errs), final_loss=np.array(losses), steps=steps)


@dataclass(frozen=True, eq=False)
class XorSizeSweep:
    """How often the classic net learns XOR from a random start, for a few hidden-layer widths."""

    hidden_sizes: tuple  # the widths tried
    sweeps: dict  # {hidden: XorSeedSweep} over the same seeds
    tol: float  # a start succeeds when every output is within tol of its target
    steps: int  # the budget: full-batch updates per start

    @property
    def seeds(self) -> tuple:
        return self.sweeps[self.hidden_sizes[0]].seeds

    def successes(self, hidden: int) -> np.ndarray:
        """(S,) bool: after ``steps`` updates every output is within ``tol`` of its target."""
        return self.sweeps[hidden].max_output_error < self.tol

    def success_count(self, hidden: int) -> int:
        return int(self.successes(hidden).sum())

    def table(self) -> str:
        rows = [f"{'hidden':>6} {'solved':>8}   largest |target - output| per start"]
        for h in self.hidden_sizes:
            errors = [f"{e:.2f}" for e in self.sweeps[h].max_output_error]
            lines = [" ".join(errors[i : i + 10]) for i in range(0, len(errors), 10)] or [""]
            rows.append(f"{h:>6} {self.success_count(h):>3} / {len(self.seeds):<3}  {lines[0]}")
            rows += [" " * 18 + line for line in lines[1:]]  # ten starts a line: fits 88 characters
        return "\n".join(rows)


def size_sweep(hidden_sizes=(2, 20), seeds=range(20), steps: int = 5000, lr: float = 1.0,
               tol: float = 0.1) -> XorSizeSweep:
    """The classic net from the same random starts with each hidden width: does it learn XOR?

    Two sigmoid units are enough to represent XOR here (some starts do find such weights), so
    the failures of the small net are failures of training, not of capacity.
    """
    if not 0 < tol < 0.5:
        raise ValueError(f"tol must lie in (0, 0.5), got {tol}")
    sweeps = {h: seed_sweep(seeds=seeds, steps=steps, lr=lr, hidden=h) for h in hidden_sizes}
    return XorSizeSweep(hidden_sizes=tuple(hidden_sizes), sweeps=sweeps, tol=float(tol), steps=steps)
