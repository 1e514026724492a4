r"""The training loop: mini-batch SGD over a model with ``loss(x, y) -> (loss, grads)``.

One step :math:`t` (counted from 0 over the whole run) does

.. math::

    (J_t, g_t) = \mathrm{model.loss}(x_{B_t}, y_{B_t}), \qquad
    (w, s) \leftarrow \mathrm{optimizer.step}(w, g_t, s, \eta_t), \quad \eta_t = \mathrm{schedule}(t)

for every parameter :math:`w` with its optimizer state :math:`s`, where :math:`B_t` is the next
mini-batch of a random permutation of the training set (a new permutation every epoch).

The bookkeeping (:class:`History`, the data checks, the shuffling) is shared with the torch
twin :class:`course_lib.torch_impl.solver.Solver`, so both see exactly the same mini-batches
for the same ``seed``. This module imports no torch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

import numpy as np
from tqdm.auto import tqdm

from course_lib import checks

__all__ = ["History", "Solver", "apply_update"]


@dataclass
class History:
    """What happened during training; plain Python lists, no torch.

    Attributes
    ----------
    loss : list of float       training loss of each step's mini-batch (length = number of steps)
    lr : list of float         learning rate used at each step
    train_acc : list of float  accuracy on the training set (or a fixed subset) at each evaluation
    val_acc : list of float    accuracy on the validation set at each evaluation
    eval_step : list of int    number of steps taken when each evaluation happened
    epochs : int               epochs completed
    steps_per_epoch : int      ceil(N_train / batch_size)

    By default one evaluation happens at the end of every epoch, so ``train_acc`` and
    ``val_acc`` have one entry per epoch.
    """

    loss: list[float] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)
    train_acc: list[float] = field(default_factory=list)
    val_acc: list[float] = field(default_factory=list)
    eval_step: list[int] = field(default_factory=list)
    epochs: int = 0
    steps_per_epoch: int = 0

    @property
    def best_val_acc(self) -> float:
        """Highest validation accuracy seen (nan before the first evaluation)."""
        return max(self.val_acc) if self.val_acc else float("nan")

    @property
    def steps(self) -> int:
        return len(self.loss)


# ----- helpers shared with course_lib.torch_impl.solver ---------------------------------
DATA_KEYS = ("x_train", "y_train", "x_val", "y_val")


def get_data(data: Any, num_classes: int | None = None) -> dict[str, np.ndarray]:
    """The four arrays of ``data`` (a ``Splits``-like object or a dict), validated.

    x arrays: float64, finite, first axis = examples; y arrays: 1-D integer labels of the
    same length (in ``0..num_classes-1`` when ``num_classes`` is given).
    """
    out = {}
    for key in DATA_KEYS:
        if isinstance(data, dict):
            if key not in data:
                raise ValueError(f"Solver: data has no {key!r} (need keys {DATA_KEYS})")
            value = data[key]
        else:
            if not hasattr(data, key):
                raise ValueError(f"Solver: data has no attribute {key!r} (need {DATA_KEYS})")
            value = getattr(data, key)
        out[key] = np.asarray(value)
    for split in ("train", "val"):
        x, y = out[f"x_{split}"], out[f"y_{split}"]
        if x.ndim < 1 or x.shape[0] == 0:
            raise ValueError(f"Solver: x_{split} must hold at least one example, got shape {x.shape}")
        if not np.issubdtype(x.dtype, np.number) or np.issubdtype(x.dtype, np.complexfloating):
            raise ValueError(f"Solver: x_{split} must be real numbers, got dtype {x.dtype}")
        x = x.astype(np.float64)
        if not np.all(np.isfinite(x)):
            raise ValueError(f"Solver: x_{split} contains nan or inf")
        if y.ndim != 1:
            raise ValueError(f"Solver: y_{split} must be 1-D, got shape {y.shape}")
        if y.shape[0] != x.shape[0]:
            raise ValueError(f"Solver: x_{split} has {x.shape[0]} examples but y_{split} has {y.shape[0]} labels")
        if y.dtype == bool or not np.issubdtype(y.dtype, np.integer):
            if not (np.issubdtype(y.dtype, np.floating) and np.all(np.isfinite(y)) and np.all(y == np.round(y))):
                raise ValueError(f"Solver: y_{split} must hold integer class labels, got dtype {y.dtype}")
        y = y.astype(np.int64)
        if y.min() < 0 or (num_classes is not None and y.max() >= num_classes):
            hi = "" if num_classes is None else f"..{num_classes - 1}"
            raise ValueError(f"Solver: y_{split} labels must lie in 0{hi}, got min {y.min()}, max {y.max()}")
        out[f"x_{split}"], out[f"y_{split}"] = x, y
    if out["x_train"].shape[1:] != out["x_val"].shape[1:]:
        raise ValueError(
            f"Solver: x_train examples have shape {out['x_train'].shape[1:]}, x_val {out['x_val'].shape[1:]}"
        )
    return out


def check_settings(batch_size: int, epochs: int, eval_every: int | None, max_eval: int | None) -> None:
    """Check the Solver's loop settings: integers >= 1 (``eval_every`` and ``max_eval`` may be None)."""
    checks.integer(batch_size, "batch_size", "Solver", minimum=1)
    checks.integer(epochs, "epochs", "Solver", minimum=1)
    for name, value in (("eval_every", eval_every), ("max_eval", max_eval)):
        if value is not None:
            checks.integer(value, name, "Solver", minimum=1)


def epoch_batches(rng: np.random.Generator, n: int, batch_size: int,
                  drop_last: bool = False) -> Iterator[np.ndarray]:
    """Index arrays of one epoch: a fresh permutation cut into batches.

    The last batch may be smaller; with ``drop_last`` an incomplete last batch is skipped (as
    ``torch.utils.data.DataLoader(drop_last=True)``), which batch norm needs when ``n`` leaves a
    remainder of one example.
    """
    order = rng.permutation(n)
    stop = n - n % batch_size if drop_last else n
    for start in range(0, stop, batch_size):
        yield order[start : start + batch_size]


def steps_per_epoch(n: int, batch_size: int, drop_last: bool) -> int:
    """Number of mini-batches :func:`epoch_batches` yields."""
    if drop_last and n < batch_size:
        raise ValueError(f"Solver: drop_last with batch_size={batch_size} > {n} training examples leaves no batch")
    return n // batch_size if drop_last else math.ceil(n / batch_size)


def eval_indices(seed: int, n: int, max_eval: int | None) -> np.ndarray | None:
    """A fixed random subset of ``max_eval`` indices (None = use all ``n``), drawn once."""
    if max_eval is None or max_eval >= n:
        return None
    return np.sort(np.random.default_rng([seed, 1]).choice(n, size=max_eval, replace=False))


def lr_at_step(schedule: Callable[[int], float] | None, t: int, default: float) -> float:
    return float(default if schedule is None else schedule(t))


def check_loss(loss: float, t: int, epoch: int) -> None:
    """Stop with a FloatingPointError when the loss is nan or inf."""
    if not math.isfinite(loss):
        raise FloatingPointError(
            f"training diverged: loss is {loss} at step {t} (epoch {epoch}); "
            "lower the learning rate or the weight scale"
        )


def progress_bar(total: int, progress: bool, desc: str = "train") -> Any:
    """A ``tqdm.auto`` bar; hidden when ``progress`` is False or the env var TQDM_DISABLE is set."""
    kwargs = {} if progress else {"disable": True}
    return tqdm(total=total, desc=desc, unit="step", leave=True, **kwargs)


def apply_update(model: Any, optimizer: Any, grads: dict, states: dict, lr: float | None = None) -> None:
    r"""One optimizer step on every parameter of a scratch model (:class:`Solver`'s update, for own loops).

    .. math::

        (w, s_w) \leftarrow \mathrm{optimizer.step}(w, g_w, s_w, \eta) \quad \text{for every } w \text{ in params}

    ``grads`` is keyed like ``model.params`` (what ``model.loss(x, y)`` returns), ``states`` too
    (``{name: optimizer.init(w)}`` once, before the first step); every array has the shape of its
    parameter. The new parameters and states replace the old entries of ``model.params`` and
    ``states``; no array is modified in place. ``lr`` None means the optimizer's own.
    """
    for name, w in model.params.items():
        model.params[name], states[name] = optimizer.step(w, grads[name], states[name], lr=lr)


# ----- the loop shared with the torch twin ------------------------------------------------
class TrainingLoop:
    """The epoch / mini-batch / evaluation loop that :class:`Solver` and its torch twin share.

    A subclass sets ``history``, ``epochs``, ``progress``, ``eval_every``, ``batch_size``,
    ``_rng`` and ``_n_train``, and implements two methods: ``_step(idx, t, epoch) -> (loss, lr)``
    (one update on the mini-batch ``idx``, checking the loss with :func:`check_loss` before it
    changes any parameter) and ``_accuracy(split) -> float``. Because the loop and the batches
    are the same code, a scratch and a torch model that start from the same parameters follow
    the same loss curve.
    """

    history: History

    def _step(self, idx: np.ndarray, t: int, epoch: int) -> tuple[float, float]:
        raise NotImplementedError

    def _accuracy(self, split: str) -> float:
        raise NotImplementedError

    def _evaluate(self) -> None:
        h = self.history
        h.train_acc.append(self._accuracy("train"))
        h.val_acc.append(self._accuracy("val"))
        h.eval_step.append(h.steps)

    def train(self) -> History:
        """Train for ``epochs`` more epochs; returns (and keeps appending to) :attr:`history`."""
        h = self.history
        bar = progress_bar(self.epochs * h.steps_per_epoch, self.progress)
        try:
            for _ in range(self.epochs):
                epoch = h.epochs
                batches = epoch_batches(self._rng, self._n_train, self.batch_size, self.drop_last)
                for idx in batches:
                    loss, lr = self._step(idx, h.steps, epoch)
                    h.loss.append(float(loss))
                    h.lr.append(lr)
                    bar.update(1)
                    if self.eval_every is not None and h.steps % self.eval_every == 0:
                        self._evaluate()
                h.epochs += 1
                if self.eval_every is None:
                    self._evaluate()
                val_acc = f"{h.val_acc[-1]:.3f}" if h.val_acc else "-"
                bar.set_postfix(epoch=h.epochs, loss=f"{h.loss[-1]:.4f}", val_acc=val_acc)
            if self.eval_every is not None and (not h.eval_step or h.eval_step[-1] != h.steps):
                self._evaluate()
        finally:
            bar.close()
        return h


# ----- the solver -------------------------------------------------------------------------
class Solver(TrainingLoop):
    r"""Train a scratch model with a scratch optimizer; ``train()`` returns a :class:`History`.

    .. math::

        w \leftarrow \mathrm{step}\big(w, \nabla_w J(x_B, y_B), s, \eta_t\big) \quad \text{for each mini-batch } B

    Parameters
    ----------
    model : object with ``params`` (dict of arrays), ``loss(x, y) -> (loss, grads)`` and
        ``accuracy(x, y)``, e.g. :class:`course_lib.scratch.model.MLP`.
    data : a ``Splits`` (attributes ``x_train, y_train, x_val, y_val``) or a dict with those keys;
        x (N, ...) float, y (N,) int.
    optimizer : a scratch optimizer (``lr``, ``init(w)``, ``step(w, dw, state, lr)``), e.g.
        :class:`course_lib.scratch.optim.SGD`; each parameter gets its own state.
    schedule : None or ``lr_at(t) -> float`` with t the step index from 0 (None: ``optimizer.lr``).
    batch_size, epochs : int
    seed : int
        Mini-batches come from ``np.random.default_rng(seed)``: a new permutation each epoch.
    progress : bool
        Show a ``tqdm.auto`` progress bar (also silenced by the env var ``TQDM_DISABLE=1``).
    eval_every : None or int
        None: evaluate train/val accuracy at the end of every epoch. An int k: after every
        k-th step instead (and after the last step).
    max_eval : None or int
        Compute accuracies on at most this many examples of each split (a fixed random subset).
    drop_last : bool
        Skip the incomplete last mini-batch of each epoch (a batch-norm model cannot train on a
        batch of one example; with 1077 examples and batch 4 the last batch has one).

    Calling :meth:`train` again continues training for ``epochs`` more epochs and appends to
    the same history. If the loss becomes nan/inf, training stops with a ``FloatingPointError``
    naming the step; :attr:`history` keeps what was recorded until then.

    Twin: :class:`course_lib.torch_impl.solver.Solver` (same arguments and History).
    """

    def __init__(
        self,
        model: Any,
        data: Any,
        optimizer: Any,
        schedule: Callable[[int], float] | None = None,
        *,
        batch_size: int = 64,
        epochs: int = 10,
        seed: int = 0,
        progress: bool = True,
        eval_every: int | None = None,
        max_eval: int | None = None,
        drop_last: bool = False,
    ):
        check_settings(batch_size, epochs, eval_every, max_eval)
        if schedule is not None and not callable(schedule):
            raise TypeError(f"Solver: schedule must be None or a callable lr_at(t), got {type(schedule).__name__}")
        for attr in ("params", "loss", "accuracy"):
            if not hasattr(model, attr):
                raise TypeError(f"Solver: the model has no {attr!r} (a scratch model is expected)")
        for attr in ("init", "step", "lr"):
            if not hasattr(optimizer, attr):
                raise TypeError(f"Solver: the optimizer has no {attr!r} (a scratch optimizer is expected)")
        self.model = model
        self.data = get_data(data, getattr(model, "num_classes", None))
        self.optimizer = optimizer
        self.schedule = schedule
        self.batch_size = int(batch_size)
        self.epochs = int(epochs)
        self.seed = seed
        self.progress = progress
        self.eval_every = eval_every
        self.max_eval = max_eval
        self.drop_last = bool(drop_last)
        self._n_train = n = self.data["x_train"].shape[0]
        self.history = History(steps_per_epoch=steps_per_epoch(n, self.batch_size, self.drop_last))
        self._rng = np.random.default_rng(seed)
        self._eval_idx = {
            split: eval_indices(seed, self.data[f"x_{split}"].shape[0], max_eval) for split in ("train", "val")
        }
        self.states = {name: optimizer.init(w) for name, w in model.params.items()}

    def _accuracy(self, split: str) -> float:
        x, y, idx = self.data[f"x_{split}"], self.data[f"y_{split}"], self._eval_idx[split]
        if idx is not None:
            x, y = x[idx], y[idx]
        was_training = getattr(self.model, "training", None)
        if was_training is not None:
            self.model.eval()  # batch norm: the running statistics, as the torch twin's Solver does
        try:
            return float(self.model.accuracy(x, y))
        finally:
            if was_training is not None:
                self.model.train(was_training)

    def _evaluate(self) -> None:
        with np.errstate(over="ignore", invalid="ignore"):  # a diverging run is reported by the next step
            super()._evaluate()

    def _step(self, idx: np.ndarray, t: int, epoch: int) -> tuple[float, float]:
        lr = lr_at_step(self.schedule, t, self.optimizer.lr)
        with np.errstate(over="ignore", invalid="ignore"):
            loss, grads = self.model.loss(self.data["x_train"][idx], self.data["y_train"][idx])
        check_loss(loss, t, epoch)
        apply_update(self.model, self.optimizer, grads, self.states, lr=lr)
        return float(loss), lr
