r"""Greydanus & Kobak (2024), MNIST-1D, Table 1: logistic regression < MLP < CNN, and a shuffled CNN.

Data: :func:`course_lib.data.load_mnist1d` with the paper's default arguments (``seed=42``, the
frozen dataset: 4000 training and 1000 test signals of length 40, 10 classes), all 4000 training
signals used for training (``n_val=0``), accuracies measured on the paper's 1000 test signals.

Models, as in the paper's code (PyTorch's default initialization
:math:`U[\pm 1/\sqrt{\text{fan\_in}}]` for weights and biases):

* ``"logistic"``: one linear layer 40 -> 10;
* ``"mlp"``: 40 -> 100 -> 100 -> 10 with ReLU;
* ``"cnn"``: three 1-D convolutions with 25 channels (kernel 5 stride 2 padding 1, then twice
  kernel 3 stride 2 padding 1: lengths 40 -> 19 -> 10 -> 5), ReLU after each, a linear readout
  125 -> 10. The convolutions are the course's twin
  :func:`course_lib.torch_impl.conv.conv2d` on signals shaped (N, 1, 1, 40) with (1, k) kernels;
* ``"cnn_shuffled"``: the same CNN on signals whose 40 positions are permuted by one fixed
  random permutation (the same for training and test). Logistic regression and the MLP do not
  care about the order of their inputs (a permutation of the inputs is a permutation of the
  rows of their first weight matrix), the CNN does: its filters look at neighbouring positions.

Training: Adam, learning rate 1e-2, batch 100 drawn at random, cross-entropy, float32. The paper
trains for 6000 steps; ``steps`` scales it down (the book uses fewer; ``run(steps=6000)`` is the
full protocol).

What must show: test accuracy logistic (paper: ~32%) < MLP (~68%) < CNN (~94%); the shuffled CNN
(paper: ~56%) falls well below the CNN, to the MLP's level or lower: shuffling costs the CNN its
advantage.
"""
from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from course_lib.data import load_mnist1d
from course_lib.scratch.solver import progress_bar
from course_lib.torch_impl.conv import conv2d

__all__ = ["MNIST1DRun", "MNIST1DResult", "run", "MODELS", "PAPER", "LENGTH"]

MODELS = ("logistic", "mlp", "cnn", "cnn_shuffled")
PAPER = {"logistic": 0.32, "mlp": 0.68, "cnn": 0.94, "cnn_shuffled": 0.56}
"""Test accuracies of Greydanus & Kobak's Table 1 (quotations; the last from its "shuffled" row)."""
LENGTH = 40
CHANNELS = 25
CONV_LAYERS = ((5, 2, 1), (3, 2, 1), (3, 2, 1))  # (kernel, stride, padding) of the three convolutions


def _layer_shapes(model: str) -> list[tuple[tuple[int, ...], int]]:
    """(weight shape, fan_in) of every layer, weights then biases follow the same fan."""
    if model == "logistic":
        return [((LENGTH, 10), LENGTH)]
    if model == "mlp":
        return [((LENGTH, 100), LENGTH), ((100, 100), 100), ((100, 10), 100)]
    shapes, c_in, n = [], 1, LENGTH
    for k, s, p in CONV_LAYERS:
        shapes.append(((CHANNELS, c_in, 1, k), c_in * k))
        c_in, n = CHANNELS, (n + 2 * p - k) // s + 1
    return shapes + [((CHANNELS * n, 10), CHANNELS * n)]


def _init(model: str, gen: torch.Generator) -> list[torch.Tensor]:
    """Weights and biases, U[-1/sqrt(fan_in), 1/sqrt(fan_in)] (PyTorch's default for Linear and Conv)."""
    params = []
    for shape, fan_in in _layer_shapes(model):
        bound = 1.0 / math.sqrt(fan_in)
        out = shape[0] if len(shape) == 4 else shape[1]
        for s in (shape, (out,)):
            params.append(((torch.rand(s, generator=gen) * 2 - 1) * bound).requires_grad_())
    return params


def _forward(model: str, params: list[torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    """Class scores (N, 10) of a batch of signals (N, 40)."""
    if model == "logistic":
        return x @ params[0] + params[1]
    if model == "mlp":
        h = torch.relu(x @ params[0] + params[1])
        h = torch.relu(h @ params[2] + params[3])
        return h @ params[4] + params[5]
    h = x.reshape(x.shape[0], 1, 1, LENGTH)  # a signal is a 1 x 40 image
    for i, (_, s, p) in enumerate(CONV_LAYERS):
        h = torch.relu(conv2d(h, params[2 * i], params[2 * i + 1], stride=(1, s), padding=(0, p)))
    return h.flatten(1) @ params[-2] + params[-1]


@contextlib.contextmanager
def _torch_threads(n: int):
    old = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(old)


@dataclass(frozen=True, eq=False)
class MNIST1DRun:
    model: str
    test_acc: float  # after the last step
    train_acc: float  # on all training signals, after the last step
    eval_step: np.ndarray  # (E,) steps at which the test accuracy was measured
    test_curve: np.ndarray  # (E,) test accuracy at those steps
    n_params: int


@dataclass(frozen=True, eq=False)
class MNIST1DResult:
    models: tuple
    runs: dict  # model -> MNIST1DRun
    permutation: np.ndarray  # (40,) the positions' order seen by "cnn_shuffled"
    example: np.ndarray  # (40,) the first test signal, in its original order
    example_label: int
    paper: dict  # model -> the paper's test accuracy
    seed: int
    steps: int
    config: dict

    def test_acc(self, model: str) -> float:
        return self.runs[model].test_acc

    def table(self) -> str:
        lines = [f"MNIST-1D, {self.steps} steps, seed {self.seed}",
                 f"{'model':<14}{'params':>8}{'train acc':>11}{'test acc':>10}{'paper':>8}"]
        for m in self.models:
            r = self.runs[m]
            paper = f"{self.paper[m]:.0%}" if m in self.paper else "-"
            lines.append(f"{m:<14}{r.n_params:>8}{r.train_acc:>11.1%}{r.test_acc:>10.1%}{paper:>8}")
        return "\n".join(lines)


def run(models: tuple = MODELS, seed: int = 0, steps: int = 3000, lr: float = 1e-2, batch_size: int = 100,
        eval_every: int = 250, data_seed: int = 42, progress: bool = True) -> MNIST1DResult:
    """Train each model for ``steps`` Adam steps (seeded init, batches and permutation); test accuracy curves."""
    unknown = [m for m in models if m not in MODELS]
    if unknown:
        raise ValueError(f"mnist1d_baselines.run: unknown models {unknown}; choose from {MODELS}")
    if steps < 1 or batch_size < 1 or eval_every < 1:
        raise ValueError(f"mnist1d_baselines.run: steps, batch_size and eval_every must be >= 1, "
                         f"got {steps}, {batch_size}, {eval_every}")
    data = load_mnist1d(seed=data_seed, n_val=0)
    permutation = np.random.default_rng([seed, 40]).permutation(LENGTH)
    runs = {}
    with _torch_threads(1):  # tiny matrices: one thread is as fast and does not wait for the other core
        for k, model in enumerate(models):
            order = permutation if model == "cnn_shuffled" else np.arange(LENGTH)
            x_train = torch.as_tensor(data.x_train[:, order], dtype=torch.float32)
            x_test = torch.as_tensor(data.x_test[:, order], dtype=torch.float32)
            y_train, y_test = torch.as_tensor(data.y_train), torch.as_tensor(data.y_test)
            arch = "cnn" if model.startswith("cnn") else model
            params = _init(arch, torch.Generator().manual_seed(seed * 1000 + k))
            opt = torch.optim.Adam(params, lr=lr)
            rng = np.random.default_rng([seed, k])
            eval_steps, curve = [], []
            bar = progress_bar(steps, progress, desc=model)
            try:
                for t in range(1, steps + 1):
                    idx = torch.as_tensor(rng.integers(0, len(y_train), batch_size))
                    loss = F.cross_entropy(_forward(arch, params, x_train[idx]), y_train[idx])
                    opt.zero_grad()
                    loss.backward()
                    opt.step()
                    bar.update(1)
                    if t % eval_every == 0 or t == steps:
                        with torch.no_grad():
                            acc = float((_forward(arch, params, x_test).argmax(1) == y_test).float().mean())
                        eval_steps.append(t)
                        curve.append(acc)
                        bar.set_postfix(test_acc=f"{acc:.3f}")
            finally:
                bar.close()
            with torch.no_grad():
                train_acc = float((_forward(arch, params, x_train).argmax(1) == y_train).float().mean())
            runs[model] = MNIST1DRun(model=model, test_acc=curve[-1], train_acc=train_acc,
                                     eval_step=np.array(eval_steps), test_curve=np.array(curve),
                                     n_params=int(sum(p.numel() for p in params)))
    return MNIST1DResult(
        models=tuple(models), runs=runs, permutation=permutation, example=data.x_test[0].copy(),
        example_label=int(data.y_test[0]), paper=dict(PAPER), seed=seed, steps=steps,
        config=dict(models=tuple(models), seed=seed, steps=steps, lr=lr, batch_size=batch_size,
                    eval_every=eval_every, data_seed=data_seed),
    )
