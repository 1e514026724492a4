r"""A two-layer network (64 - H - 10, ReLU, softmax) trained on scikit-learn's digits.

The scratch :class:`~course_lib.scratch.model.MLP` is trained by the scratch
:class:`~course_lib.scratch.solver.Solver` with :class:`~course_lib.scratch.optim.SGD`
(momentum), mini-batches of 64. With ``twin=True`` the torch twins train a copy of the SAME
initial parameters on the SAME mini-batches, and the result reports how far the two loss
curves ever get apart (float64 rounding only).

The initial weights are small (std ``weight_scale`` = 0.01), so every class score starts near 0,
the softmax is nearly uniform, and the first loss is close to :math:`\ln C = \ln 10 \approx 2.303`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from course_lib.data import load_digits
from course_lib.scratch.model import MLP
from course_lib.scratch.optim import SGD
from course_lib.scratch.solver import History, Solver

__all__ = ["DigitsResult", "run", "train_loop", "train_loop_torch"]


@dataclass(frozen=True, eq=False)
class DigitsResult:
    history: History  # loss / lr per step, train_acc / val_acc per epoch (scratch run)
    test_acc: float  # accuracy of the trained scratch net on the 360 held-out test digits
    train_acc: float  # final accuracy on the training split
    val_acc: float  # final accuracy on the validation split
    initial_loss: float  # loss of the very first mini-batch, before any update
    chance_loss: float  # ln(C), the loss of a uniform guess
    n_params: int  # number of trainable parameters
    dims: tuple  # (64, H, 10)
    torch_history: History | None  # the torch twin's history (twin=True), else None
    twin_max_diff: float | None  # max |loss_scratch - loss_torch| over all steps, or None
    config: dict  # hyperparameters, for the record

    def summary(self) -> str:
        lines = [
            f"network {' -> '.join(map(str, self.dims))}, {self.n_params} parameters",
            f"first loss {self.initial_loss:.4f} (ln {self.dims[-1]} = {self.chance_loss:.4f})",
            f"after {self.history.epochs} epochs ({self.history.steps} steps): "
            f"train {self.train_acc:.1%}, val {self.val_acc:.1%}, test {self.test_acc:.1%}",
        ]
        if self.twin_max_diff is not None:
            lines.append(f"torch twin: largest loss difference over all steps {self.twin_max_diff:.1e}")
        return "\n".join(lines)


def run(
    hidden: int = 100,
    epochs: int = 30,
    lr: float = 0.1,
    momentum: float = 0.9,
    reg: float = 1e-4,
    batch_size: int = 64,
    weight_scale: float = 1e-2,
    twin: bool = False,
    progress: bool = True,
    seed: int = 0,
) -> DigitsResult:
    """Train 64-``hidden``-10 on digits/16 (split and initialization both from ``seed``)."""
    data = load_digits(seed=seed, scale="unit")
    model = MLP([data.n_features, hidden, data.n_classes], activation="relu", loss="softmax",
                weight_scale=weight_scale, reg=reg, rng=np.random.default_rng(seed))
    init_params = {k: v.copy() for k, v in model.params.items()}
    solver = Solver(model, data, SGD(lr, momentum=momentum), batch_size=batch_size, epochs=epochs,
                    seed=seed, progress=progress)
    history = solver.train()

    torch_history, diff = None, None
    if twin:
        torch_history = _train_twin(init_params, data, hidden, epochs, lr, momentum, reg, batch_size, seed, progress)
        diff = float(np.max(np.abs(np.asarray(history.loss) - np.asarray(torch_history.loss))))

    return DigitsResult(
        history=history,
        test_acc=model.accuracy(data.x_test, data.y_test),
        train_acc=model.accuracy(data.x_train, data.y_train),
        val_acc=model.accuracy(data.x_val, data.y_val),
        initial_loss=history.loss[0],
        chance_loss=math.log(data.n_classes),
        n_params=int(sum(v.size for v in model.params.values())),
        dims=tuple(model.dims),
        torch_history=torch_history,
        twin_max_diff=diff,
        config=dict(hidden=hidden, epochs=epochs, lr=lr, momentum=momentum, reg=reg,
                    batch_size=batch_size, weight_scale=weight_scale, seed=seed),
    )


def train_loop(model, optimizer, x, y, batch_size=64, epochs=30, seed=0) -> list:
    """Mini-batch training in its four steps; returns the loss of every step.

    The :class:`~course_lib.scratch.solver.Solver` runs this loop (the same batches for
    the same ``seed``) and adds bookkeeping: accuracies, a progress bar, checks.
    """
    rng = np.random.default_rng(seed)
    states = {name: optimizer.init(w) for name, w in model.params.items()}
    losses = []
    for _ in range(epochs):
        order = rng.permutation(len(x))  # a new random order every epoch
        for start in range(0, len(x), batch_size):
            batch = order[start : start + batch_size]  # 1. sample a mini-batch
            loss, grads = model.loss(x[batch], y[batch])  # 2. forward, 3. backward
            for name in model.params:  # 4. update every parameter
                w, dw, state = model.params[name], grads[name], states[name]
                model.params[name], states[name] = optimizer.step(w, dw, state)
            losses.append(loss)
    return losses


def train_loop_torch(model, optimizer, x, y, batch_size=64, epochs=30, seed=0) -> list:
    """The same four steps with a torch model and optimizer: autograd does step 3.

    ``x``, ``y`` are tensors; the batches are those of :func:`train_loop` for the same
    ``seed`` (and of the torch :class:`~course_lib.torch_impl.solver.Solver`).
    """
    rng = np.random.default_rng(seed)
    losses = []
    for _ in range(epochs):
        order = rng.permutation(len(x))
        for start in range(0, len(x), batch_size):
            batch = order[start : start + batch_size]  # 1. sample a mini-batch
            loss = model.loss(x[batch], y[batch])  # 2. forward
            optimizer.zero_grad()
            loss.backward()  # 3. backward: autograd fills every p.grad
            optimizer.step()  # 4. update every parameter
            losses.append(loss.item())
    return losses


def _train_twin(init_params, data, hidden, epochs, lr, momentum, reg, batch_size, seed, progress) -> History:
    import torch

    from course_lib.torch_impl.model import MLP as TorchMLP
    from course_lib.torch_impl.optim import SGD as TorchSGD
    from course_lib.torch_impl.solver import Solver as TorchSolver

    model = TorchMLP([data.n_features, hidden, data.n_classes], activation="relu", loss="softmax", reg=reg, rng=seed)
    model.load_state_dict({k: torch.from_numpy(v) for k, v in init_params.items()})
    opt = TorchSGD(model.parameters(), lr=lr, momentum=momentum)
    return TorchSolver(model, data, opt, batch_size=batch_size, epochs=epochs, seed=seed, progress=progress).train()
