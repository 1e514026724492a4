r"""Regularizers compared on a small training set: L2, activation L1, input noise, early stopping, dropout.

Protocol (the baseline of the dropout chapters): an MLP 40 - 256 - 256 - 10 with ReLU, He-normal
weights and zero biases (:class:`course_lib.torch_impl.model.MLP`, float32) trained on a SMALL
subset of MNIST-1D (``n_train`` signals of :func:`course_lib.data.load_mnist1d`; the validation
and test sets are the usual ones), Adam at ``lr``, mini-batches of 100, the same number of steps
for every method. Each method changes one thing:

* ``"none"``: nothing (the network fits the training set perfectly and overfits);
* ``"l2"``: weight decay in the loss, :math:`\tfrac{\lambda}{2}\sum_\ell \|W_\ell\|_F^2` (``MLP(reg=...)``);
* ``"act_l1"``: an L1 penalty on the hidden ACTIVATIONS (not the weights),
  :math:`\frac{\beta}{N} \sum_n \sum_\ell \|h_\ell^{(n)}\|_1`, which pushes most units to be off
  for most inputs (a sparse code); see :func:`activation_l1`;
* ``"input_noise"``: fresh Gaussian noise of std :math:`s` added to every training input at every
  step (Bishop 1995: to first order, the same as a Tikhonov penalty on the input gradient);
* ``"early_stop"``: no penalty, training stops after ``patience`` epochs without a better
  validation accuracy and the best epoch's weights are kept (Prechelt 1998), through the
  Solver's ``patience``;
* ``"dropout"``: inverted dropout on the hidden units (``MLP(dropout=p)``; Srivastava et al. 2014).

Every method is measured by its train and test accuracy at the end (early stopping: at the epoch it
kept), over ``seeds``. The strengths (``STRENGTHS``) were chosen once on the validation set at the
book's size, not tuned per seed. ``dataset="digits"`` runs the same protocol on a subset of the 8x8
digits (64 inputs).

What must show: without regularization the train accuracy reaches 1 and the test accuracy stays far
below (overfitting). Measured on MNIST-1D with 500 signals (seeds 0 and 1): L2 helps most (about
+9 points), the activation penalty, input noise and dropout each add a few points, early stopping
nothing (the validation curve stays flat after its peak instead of falling). On 200 digits images
no method changes the test accuracy by more than a few images. The measured numbers, not a ranking
fixed in advance, are what the book reports.
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from course_lib import checks
from course_lib.data import load_digits, load_mnist1d
from course_lib.scratch.solver import progress_bar
from course_lib.torch_impl.model import MLP
from course_lib.torch_impl.solver import Solver

__all__ = ["METHODS", "STRENGTHS", "RegRun", "RegularizersResult", "Regularized", "activation_l1",
           "load_subset", "train_mlp", "run"]

METHODS = ("none", "l2", "act_l1", "input_noise", "early_stop", "dropout")
STRENGTHS = {"none": 0.0, "l2": 3e-2, "act_l1": 1e-2, "input_noise": 0.5, "early_stop": 20, "dropout": 0.5}
"""The strength of each method: lambda, beta, noise std, patience (epochs), drop probability p."""


def _check_l1_args(hidden: Any, strength: Any) -> tuple[list, float]:
    strength = checks.real(strength, "strength", "activation_l1", minimum=0)
    hidden = [np.asarray(h, dtype=np.float64) for h in hidden]
    if not hidden or any(h.ndim != 2 or h.shape[0] != hidden[0].shape[0] for h in hidden):
        raise ValueError("activation_l1: hidden must be a non-empty list of (N, H_l) arrays with the same N")
    return hidden, strength


def activation_l1(hidden: list, strength: float) -> tuple[float, list]:
    r"""The activation-sparsity penalty and its gradient, in numpy.

    .. math::

        P = \frac{\beta}{N} \sum_{n} \sum_\ell \sum_j |h_{\ell, nj}|, \quad
        \partial P / \partial h_{\ell, nj} = (\beta / N)\,\mathrm{sign}(h_{\ell, nj})

    ``hidden`` is the list of hidden activations ``[h_1, ...]``, each (N, H_l) (as
    ``MLP.hidden(x)`` returns them); returns ``(P, [dP/dh_1, ...])``. After a ReLU
    :math:`h \ge 0`, so :math:`|h| = h` and the gradient is :math:`\beta/N` on every
    active unit: a constant pull towards zero on units that fire.
    """
    hidden, strength = _check_l1_args(hidden, strength)
    n = hidden[0].shape[0]  # batch size
    penalty = strength / n * sum(float(np.abs(h).sum()) for h in hidden)
    return penalty, [strength / n * np.sign(h) for h in hidden]


class Regularized(torch.nn.Module):
    """An MLP whose training loss adds input noise and/or the activation L1 penalty.

    ``loss(x, y)`` in training mode: ``mlp.loss(x + s * noise, y) + beta/N * sum_l ||h_l||_1``
    with the noise drawn from ``generator``; in eval mode the plain ``mlp.loss``. ``accuracy``
    is the MLP's. The hidden activations come from ``mlp.hidden`` (one more forward pass).
    """

    def __init__(self, mlp: MLP, act_l1: float = 0.0, noise_std: float = 0.0, generator: Any = None):
        super().__init__()
        self.mlp = mlp
        self.act_l1 = float(act_l1)
        self.noise_std = float(noise_std)
        self.generator = generator

    def loss(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        if self.training and self.noise_std > 0:
            noise = torch.randn(x.shape, generator=self.generator, dtype=x.dtype)
            x = x + self.noise_std * noise
        loss = self.mlp.loss(x, y)
        if self.training and self.act_l1 > 0:
            hidden = self.mlp.hidden(x)
            loss = loss + self.act_l1 / x.shape[0] * sum(h.abs().sum() for h in hidden)
        return loss

    def accuracy(self, x: Any, y: Any) -> float:
        return self.mlp.accuracy(x, y)


@dataclass(frozen=True)
class RegRun:
    method: str
    strength: float
    seed: int
    train_acc: float  # at the end (early stopping: at the kept epoch)
    test_acc: float
    val_curve: tuple  # validation accuracy at every evaluation (every ``eval_epochs`` epochs)
    train_curve: tuple  # training accuracy at the same evaluations
    eval_epoch: tuple  # epochs completed at each evaluation
    best_epoch: int  # epochs completed at the best validation accuracy


@dataclass(frozen=True)
class RegularizersResult:
    runs: tuple  # RegRun, seeds x methods
    methods: tuple
    seeds: tuple
    n_train: int
    epochs: int
    dataset: str

    def table(self, key: str = "test_acc") -> np.ndarray:
        """(seeds, methods) array of ``key`` ("test_acc" or "train_acc")."""
        out = np.empty((len(self.seeds), len(self.methods)))
        for r in self.runs:
            out[self.seeds.index(r.seed), self.methods.index(r.method)] = getattr(r, key)
        return out

    def mean(self, method: str, key: str = "test_acc") -> float:
        return float(self.table(key)[:, self.methods.index(method)].mean())

    def gain(self, method: str) -> np.ndarray:
        """Test accuracy of ``method`` minus that of "none", per seed."""
        t = self.table("test_acc")
        return t[:, self.methods.index(method)] - t[:, self.methods.index("none")]

    def curves(self, method: str, seed: int | None = None) -> RegRun:
        seed = self.seeds[0] if seed is None else seed
        return next(r for r in self.runs if r.method == method and r.seed == seed)


def load_subset(dataset: str, n_train: int, seed: int) -> dict:
    """The first ``n_train`` training examples of a seeded shuffle, with the full val and test sets."""
    if dataset == "mnist1d":
        s = load_mnist1d()
    elif dataset == "digits":
        s = load_digits(seed=0, scale="unit")
    else:
        raise ValueError(f"dataset must be 'mnist1d' or 'digits', got {dataset!r}")
    n_train = checks.integer(n_train, "n_train", "load_subset", minimum=10)
    if n_train > s.x_train.shape[0]:
        raise ValueError(f"n_train must be at most {s.x_train.shape[0]} for {dataset}, got {n_train}")
    idx = np.random.default_rng(1000 + seed).permutation(s.x_train.shape[0])[:n_train]
    return dict(x_train=s.x_train[idx], y_train=s.y_train[idx], x_val=s.x_val, y_val=s.y_val,
                x_test=s.x_test, y_test=s.y_test)


def train_mlp(data: dict, *, hidden: tuple = (256, 256), dropout: Any = None, reg: float = 0.0,
              act_l1: float = 0.0, noise_std: float = 0.0, patience: int | None = None,
              epochs: int = 100, lr: float = 1e-3, batch_size: int = 100, seed: int = 0,
              eval_every: int | None = None) -> tuple:
    """Train one MLP on ``data`` (a dict of train/val/test arrays); returns ``(History, train_acc, test_acc)``.

    ``eval_every`` (steps; None: every epoch) and ``patience`` (evaluations) go to the Solver.
    Accuracies are measured in eval mode at the end (with ``patience``: on the restored best weights).
    """
    dims = [data["x_train"].shape[1], *hidden, 10]
    mlp = MLP(dims, init="he_normal", reg=reg, rng=seed, dtype=torch.float32, dropout=dropout)
    gen = torch.Generator().manual_seed(10_000 + seed)
    model = Regularized(mlp, act_l1=act_l1, noise_std=noise_std, generator=gen)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    solver = Solver(model, {k: data[k] for k in ("x_train", "y_train", "x_val", "y_val")}, opt,
                    batch_size=batch_size, epochs=epochs, seed=seed, progress=False, patience=patience,
                    eval_every=eval_every)
    hist = solver.train()
    model.eval()
    with torch.no_grad():
        train_acc = mlp.accuracy(data["x_train"], data["y_train"])
        test_acc = mlp.accuracy(data["x_test"], data["y_test"])
    return hist, float(train_acc), float(test_acc)


@contextlib.contextmanager
def torch_threads(n: int = 1):
    """Limit torch to ``n`` intra-op threads inside the block (small matrices: one is fastest)."""
    old = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(old)


def run(n_train: int = 500, epochs: int = 200, seeds: tuple = (0, 1), methods: tuple = METHODS,
        strengths: dict | None = None, dataset: str = "mnist1d", lr: float = 1e-3, eval_epochs: int = 2,
        progress: bool = True) -> RegularizersResult:
    """Train the MLP once per method and seed on ``n_train`` examples (see the module docstring).

    The validation (and training) accuracy is measured every ``eval_epochs`` epochs; early
    stopping's patience (in epochs) is counted in these evaluations.
    """
    strengths = {**STRENGTHS, **(strengths or {})}
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise ValueError(f"methods must be among {METHODS}, got {unknown}")
    epochs = checks.integer(epochs, "epochs", "regularizers.run", minimum=1)
    eval_epochs = checks.integer(eval_epochs, "eval_epochs", "regularizers.run", minimum=1)
    steps_per_epoch = -(-int(n_train) // 100)
    seeds = tuple(int(s) for s in seeds)
    runs = []
    bar = progress_bar(len(seeds) * len(methods), progress, desc="regularizers")
    with torch_threads(1):
        for seed in seeds:
            data = load_subset(dataset, n_train, seed)
            for method in methods:
                s = strengths[method]
                kw = dict(epochs=epochs, lr=lr, seed=seed, eval_every=eval_epochs * steps_per_epoch)
                if method == "l2":
                    kw["reg"] = s
                elif method == "act_l1":
                    kw["act_l1"] = s
                elif method == "input_noise":
                    kw["noise_std"] = s
                elif method == "early_stop":
                    kw["patience"] = max(1, int(s) // eval_epochs)
                elif method == "dropout":
                    kw["dropout"] = s
                hist, train_acc, test_acc = train_mlp(data, **kw)
                eval_epoch = tuple(int(t) // steps_per_epoch for t in hist.eval_step)
                runs.append(RegRun(method=method, strength=float(s), seed=seed, train_acc=train_acc,
                                   test_acc=test_acc, val_curve=tuple(hist.val_acc),
                                   train_curve=tuple(hist.train_acc), eval_epoch=eval_epoch,
                                   best_epoch=eval_epoch[int(np.argmax(hist.val_acc))]))
                bar.update(1)
    bar.close()
    return RegularizersResult(runs=tuple(runs), methods=tuple(methods), seeds=seeds, n_train=int(n_train),
                              epochs=epochs, dataset=dataset)
