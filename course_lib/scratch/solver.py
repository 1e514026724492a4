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

Beyond the loop itself (the practice of chapter "training in practice"):

* **update/weight ratios** -- with ``update_ratio_every=k`` the history records, every k-th
  step and for every parameter array, :math:`\|\Delta w\| / \|w\|` (the rule of thumb is
  a ratio near :math:`10^{-3}`: much smaller, the learning rate is too low; much larger, too high);
* **early stopping** (Prechelt 1998) -- with ``patience=p`` training stops after p evaluations
  without a better validation accuracy, and the weights of the best evaluation come back;
* **checkpoints** -- :meth:`Solver.checkpoint` is a dict with everything the run depends on
  (parameters, optimizer states, the shuffling generator, the model's dropout generator, the
  history, the step); :meth:`Solver.resume` or :meth:`Solver.load_checkpoint` continue from it
  and give exactly the run that was never interrupted. :func:`save_checkpoint` /
  :func:`load_checkpoint` write and read it as a ``.npz`` archive of arrays plus one JSON
  string, without pickle.
"""

from __future__ import annotations

import copy
import dataclasses
import importlib
import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import numpy as np
from tqdm.auto import tqdm

from course_lib import checks

__all__ = ["History", "Solver", "apply_update", "save_checkpoint", "load_checkpoint", "CHECKPOINT_FORMAT"]


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
    update_ratio : dict of str -> list of float
        ``{name: [||w_new - w_old|| / ||w_old||, ...]}`` for every parameter array, one entry per
        recorded step (empty unless the solver has ``update_ratio_every``); inf where
        ``||w_old|| = 0`` and the step moved it (a zero-initialized bias at step 0)
    update_step : list of int  the step index t (from 0) of each recorded ratio
    best_step : int or None    steps taken at the evaluation with the best ``val_acc`` so far
    best_epoch : int or None   epochs completed at that evaluation (1 = after the first epoch)
    stopped_early : bool       True when early stopping ended the run (``patience``)

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
    update_ratio: dict[str, list[float]] = field(default_factory=dict)
    update_step: list[int] = field(default_factory=list)
    best_step: int | None = None
    best_epoch: int | None = None
    stopped_early: bool = False

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


# ----- checkpoints: a pickle-free codec ----------------------------------------------------
CHECKPOINT_FORMAT = "course_lib.solver.checkpoint/1"
"""The ``format`` entry of every checkpoint dict and file."""


def _encode(obj: Any, arrays: dict[str, np.ndarray]) -> Any:
    """A JSON-able tree for ``obj``; numpy arrays and torch tensors go into ``arrays``, referenced by key."""
    if obj is None or isinstance(obj, (bool, str)):
        return obj
    if isinstance(obj, np.bool_):
        return bool(obj)
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        return float(obj)
    if isinstance(obj, np.ndarray):
        key = f"a{len(arrays)}"
        arrays[key] = obj
        return {"__ndarray__": key}
    if type(obj).__module__.split(".")[0] == "torch" and hasattr(obj, "detach"):  # a tensor (no torch import)
        key = f"a{len(arrays)}"
        arrays[key] = obj.detach().cpu().numpy().copy()
        return {"__tensor__": key, "dtype": str(obj.dtype)}
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        cls = type(obj)
        fields = {f.name: _encode(getattr(obj, f.name), arrays) for f in dataclasses.fields(obj) if f.init}
        return {"__dataclass__": f"{cls.__module__}:{cls.__qualname__}", "fields": fields}
    if isinstance(obj, tuple):
        return {"__tuple__": [_encode(v, arrays) for v in obj]}
    if isinstance(obj, list):
        return [_encode(v, arrays) for v in obj]
    if isinstance(obj, dict):
        if all(isinstance(k, str) and not k.startswith("__") for k in obj):
            return {k: _encode(v, arrays) for k, v in obj.items()}
        return {"__items__": [[_encode(k, arrays), _encode(v, arrays)] for k, v in obj.items()]}
    raise TypeError(f"save_checkpoint: cannot store a value of type {type(obj).__name__}")


def _decode(tree: Any, arrays: Any) -> Any:
    """Inverse of :func:`_encode`; dataclasses are rebuilt only from ``course_lib`` modules."""
    if isinstance(tree, list):
        return [_decode(v, arrays) for v in tree]
    if not isinstance(tree, dict):
        return tree
    if "__ndarray__" in tree:
        return np.array(arrays[tree["__ndarray__"]])
    if "__tensor__" in tree:
        torch = importlib.import_module("torch")  # only a torch checkpoint gets here
        return torch.from_numpy(np.array(arrays[tree["__tensor__"]]))
    if "__tuple__" in tree:
        return tuple(_decode(v, arrays) for v in tree["__tuple__"])
    if "__items__" in tree:
        return {_decode(k, arrays): _decode(v, arrays) for k, v in tree["__items__"]}
    if "__dataclass__" in tree:
        module, _, qualname = tree["__dataclass__"].partition(":")
        if module.split(".")[0] != "course_lib":
            raise ValueError(f"load_checkpoint: refusing to build {tree['__dataclass__']!r} (not a course_lib class)")
        cls: Any = importlib.import_module(module)
        for part in qualname.split("."):
            cls = getattr(cls, part)
        if not (isinstance(cls, type) and dataclasses.is_dataclass(cls)):
            raise ValueError(f"load_checkpoint: {tree['__dataclass__']!r} is not a dataclass")
        return cls(**{k: _decode(v, arrays) for k, v in tree["fields"].items()})
    return {k: _decode(v, arrays) for k, v in tree.items()}


def save_checkpoint(checkpoint: dict, path: str | os.PathLike, *, overwrite: bool = False) -> Path:
    """Write a checkpoint dict (from ``Solver.checkpoint()``) to ``path`` as a ``.npz`` archive.

    Every array (numpy, or torch tensor on the torch side) is one entry of the archive; the rest
    of the tree (numbers, strings, lists, the optimizer-state dataclasses' names and fields)
    is one JSON string under ``"__meta__"``. No pickle is involved, so loading it runs no code.
    An existing file is never replaced unless ``overwrite=True`` (``FileExistsError``); the
    file is written to a temporary name first and then moved into place. Returns the path.
    """
    if not isinstance(checkpoint, dict) or checkpoint.get("format") != CHECKPOINT_FORMAT:
        raise ValueError("save_checkpoint: checkpoint must be the dict returned by Solver.checkpoint()")
    path = Path(path)
    if path.exists() and not overwrite:
        raise FileExistsError(f"save_checkpoint: {path} exists; pass overwrite=True to replace it")
    arrays: dict[str, np.ndarray] = {}
    meta = json.dumps(_encode(checkpoint, arrays))
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:  # a file object: numpy does not append ".npz" to the name
        np.savez(f, __meta__=np.array(meta), **arrays)
    os.replace(tmp, path)
    return path


def load_checkpoint(path: str | os.PathLike) -> dict:
    """Read a checkpoint written by :func:`save_checkpoint` (``allow_pickle=False``)."""
    archive = np.load(Path(path), allow_pickle=False)
    if not isinstance(archive, np.lib.npyio.NpzFile) or "__meta__" not in archive.files:
        raise ValueError(f"load_checkpoint: {path} is not a Solver checkpoint (no .npz with a __meta__ entry)")
    with archive:
        tree = json.loads(str(archive["__meta__"]))
        checkpoint = _decode(tree, archive)
    if checkpoint.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(f"load_checkpoint: {path} has format {checkpoint.get('format')!r}, "
                         f"expected {CHECKPOINT_FORMAT!r}")
    return checkpoint


def history_from_dict(d: dict) -> History:
    """A :class:`History` from ``dataclasses.asdict(history)`` (as stored in a checkpoint)."""
    d = dict(d)
    d["update_ratio"] = {k: list(v) for k, v in d.get("update_ratio", {}).items()}
    return History(**d)


def check_extras(update_ratio_every: Any, patience: Any, min_delta: Any, callbacks: Any) -> tuple:
    """Check the Solver's keyword-only extras; returns ``(update_ratio_every, patience, min_delta, callbacks)``."""
    if update_ratio_every is not None:
        update_ratio_every = checks.integer(update_ratio_every, "update_ratio_every", "Solver", minimum=1)
    if patience is not None:
        patience = checks.integer(patience, "patience", "Solver", minimum=1)
    min_delta = checks.real(min_delta, "min_delta", "Solver", minimum=0)
    callbacks = tuple(callbacks)
    for cb in callbacks:
        if not callable(cb):
            raise TypeError(f"Solver: every callback must be callable cb(solver), got {type(cb).__name__}")
    return update_ratio_every, patience, min_delta, callbacks


def update_ratio(old: np.ndarray, new: np.ndarray) -> float:
    r""":math:`\|w_{new} - w_{old}\| / \|w_{old}\|` (Frobenius norms).

    0 when nothing moved; inf when :math:`w_{old} = 0` moved (a zero-initialized bias at the first step).
    """
    num = float(np.linalg.norm(new - old))
    den = float(np.linalg.norm(old))
    if den == 0.0:
        return 0.0 if num == 0.0 else math.inf
    return num / den


# ----- the loop shared with the torch twin ------------------------------------------------
class TrainingLoop:
    """The epoch / mini-batch / evaluation loop that :class:`Solver` and its torch twin share.

    A subclass sets ``history``, ``epochs``, ``progress``, ``eval_every``, ``batch_size``,
    ``_rng`` and ``_n_train`` (and calls :meth:`_init_extras`), and implements
    ``_step(idx, t, epoch) -> (loss, lr)`` (one update on the mini-batch ``idx``, checking the
    loss with :func:`check_loss` before it changes any parameter), ``_accuracy(split) -> float``,
    ``_param_refs()`` / ``_update_ratios(before)`` (the update/weight ratios of one step),
    ``_snapshot()`` / ``_restore(snapshot)`` (the best weights for early stopping),
    ``param_arrays()`` and ``_model_state()`` / ``_load_model_state(ckpt)`` (checkpoints).
    Because the loop and the batches are the same code, a scratch and a torch model that
    start from the same parameters follow the same loss curve.
    """

    history: History
    _KIND = "scratch"
    # defaults of the extras, for a subclass that does not call _init_extras
    update_ratio_every: int | None = None
    patience: int | None = None
    min_delta: float = 0.0
    restore_best: bool = True
    callbacks: tuple = ()
    _best_value: float = -math.inf
    _wait: int = 0
    _best_snapshot: Any = None

    def _init_extras(self, update_ratio_every: Any, patience: Any, min_delta: Any, restore_best: Any,
                     callbacks: Any) -> None:
        (self.update_ratio_every, self.patience, self.min_delta,
         self.callbacks) = check_extras(update_ratio_every, patience, min_delta, callbacks)
        self.restore_best = bool(restore_best)
        self._best_value = -math.inf  # best validation accuracy so far
        self._wait = 0  # evaluations since the best one
        self._best_snapshot: Any = None  # weights of the best evaluation (only with patience)

    def _step(self, idx: np.ndarray, t: int, epoch: int) -> tuple[float, float]:
        raise NotImplementedError

    def _accuracy(self, split: str) -> float:
        raise NotImplementedError

    def _param_refs(self) -> Any:
        raise NotImplementedError

    def _update_ratios(self, before: Any) -> dict[str, float]:
        raise NotImplementedError

    def _snapshot(self) -> Any:
        raise NotImplementedError

    def _restore(self, snapshot: Any) -> None:
        raise NotImplementedError

    def _evaluate(self) -> None:
        h = self.history
        h.train_acc.append(self._accuracy("train"))
        h.val_acc.append(self._accuracy("val"))
        h.eval_step.append(h.steps)

    def _after_evaluate(self) -> bool:
        """Best-so-far bookkeeping after an evaluation; True when early stopping says stop.

        An evaluation improves when ``val_acc > best + min_delta``; with ``patience`` p the
        run stops after p evaluations in a row without improvement (Prechelt 1998).
        """
        h = self.history
        val = h.val_acc[-1]
        if h.best_step is None or val > self._best_value + self.min_delta:
            self._best_value = val
            h.best_step, h.best_epoch = h.steps, h.epochs
            self._wait = 0
            if self.patience is not None and self.restore_best:
                self._best_snapshot = self._snapshot()
            return False
        self._wait += 1
        return self.patience is not None and self._wait >= self.patience

    def restore_best_weights(self) -> None:
        """Put back the weights of the best evaluation (needs ``patience`` and ``restore_best``).

        Early stopping does this by itself when it stops the run; call it after a run that
        used up its epochs to get the best weights rather than the last ones.
        """
        if self._best_snapshot is None:
            raise RuntimeError("Solver.restore_best_weights: no best weights kept (set patience=... and "
                               "restore_best=True, and evaluate at least once)")
        self._restore(self._best_snapshot)

    def train(self) -> History:
        """Train for ``epochs`` more epochs; returns (and keeps appending to) :attr:`history`.

        With ``patience`` the run may stop earlier; the weights of the best evaluation are then
        restored (``restore_best``), and ``history.stopped_early`` is True.
        """
        h = self.history
        if h.stopped_early:
            self._wait = 0  # a new call continues from the restored best weights with fresh patience
            h.stopped_early = False
        bar = progress_bar(self.epochs * h.steps_per_epoch, self.progress)
        k = self.update_ratio_every
        stop = False
        try:
            for _ in range(self.epochs):
                epoch = h.epochs
                batches = epoch_batches(self._rng, self._n_train, self.batch_size, self.drop_last)
                for idx in batches:
                    t = h.steps
                    before = self._param_refs() if k is not None and t % k == 0 else None
                    loss, lr = self._step(idx, t, epoch)
                    if before is not None:
                        for name, ratio in self._update_ratios(before).items():
                            h.update_ratio.setdefault(name, []).append(ratio)
                        h.update_step.append(t)
                    h.loss.append(float(loss))
                    h.lr.append(lr)
                    bar.update(1)
                    for callback in self.callbacks:
                        callback(self)
                    if self.eval_every is not None and h.steps % self.eval_every == 0:
                        self._evaluate()
                        if self._after_evaluate():
                            stop = True
                            break
                if stop:
                    break
                h.epochs += 1
                if self.eval_every is None:
                    self._evaluate()
                    stop = self._after_evaluate()
                val_acc = f"{h.val_acc[-1]:.3f}" if h.val_acc else "-"
                bar.set_postfix(epoch=h.epochs, loss=f"{h.loss[-1]:.4f}", val_acc=val_acc)
                if stop:
                    break
            if (not stop and self.eval_every is not None and (not h.eval_step or h.eval_step[-1] != h.steps)):
                self._evaluate()
                self._after_evaluate()
        finally:
            bar.close()
        if stop:
            h.stopped_early = True
            if self.restore_best and self._best_snapshot is not None:
                self._restore(self._best_snapshot)
        return h

    # ----- checkpoints ---------------------------------------------------------------------
    def _settings(self) -> dict:
        return dict(batch_size=self.batch_size, epochs=self.epochs, seed=self.seed, eval_every=self.eval_every,
                    max_eval=self.max_eval, drop_last=self.drop_last, update_ratio_every=self.update_ratio_every,
                    patience=self.patience, min_delta=self.min_delta, restore_best=self.restore_best)

    def checkpoint(self) -> dict:
        """Everything this run depends on, as a dict of copies (see :func:`save_checkpoint` to write it).

        Keys: ``format``, ``kind`` ("scratch" or "torch"), ``step``, ``epoch``, ``n_train``,
        ``settings`` (the constructor's keyword arguments), ``model`` (parameters and buffers),
        ``optimizer`` (the per-parameter states), ``rng_state`` (the shuffling generator),
        ``model_rng_state`` (the model's dropout generator, or None), ``history`` (as a dict),
        ``early_stopping`` (best value, waiting count, best weights), plus ``scheduler`` on the
        torch side. Take it between two calls of :meth:`train`; a run resumed from it with
        :meth:`resume` reproduces the uninterrupted run exactly.
        """
        snap = self._best_snapshot
        return {
            "format": CHECKPOINT_FORMAT,
            "kind": self._KIND,
            "step": self.history.steps,
            "epoch": self.history.epochs,
            "n_train": self._n_train,
            "settings": self._settings(),
            "rng_state": copy.deepcopy(self._rng.bit_generator.state),
            "history": copy.deepcopy(dataclasses.asdict(self.history)),
            "early_stopping": {"best": self._best_value, "wait": self._wait,
                               "best_weights": None if snap is None else copy.deepcopy(snap)},
            **self._model_state(),
        }

    def save_checkpoint(self, path: str | os.PathLike, *, overwrite: bool = False) -> Path:
        """``save_checkpoint(self.checkpoint(), path, overwrite=overwrite)``: never replaces a file by default."""
        return save_checkpoint(self.checkpoint(), path, overwrite=overwrite)

    def load_checkpoint(self, checkpoint: dict | str | os.PathLike) -> "TrainingLoop":
        """Continue from ``checkpoint`` (a dict from :meth:`checkpoint` or a path to a saved one).

        The model, optimizer and data given to this solver must match those of the checkpointed
        run (same parameter names and shapes, same number of training examples, same batching);
        their values are replaced by the checkpoint's. Returns the solver.
        """
        ckpt = checkpoint if isinstance(checkpoint, dict) else load_checkpoint(checkpoint)
        if ckpt.get("format") != CHECKPOINT_FORMAT:
            raise ValueError("Solver.load_checkpoint: checkpoint must come from Solver.checkpoint() or save_checkpoint")
        if ckpt["kind"] != self._KIND:
            raise ValueError(f"Solver.load_checkpoint: a {ckpt['kind']} checkpoint cannot resume a {self._KIND} Solver")
        if ckpt["n_train"] != self._n_train:
            raise ValueError(f"Solver.load_checkpoint: the checkpoint was trained on {ckpt['n_train']} examples, "
                             f"this data has {self._n_train}")
        for key in ("batch_size", "drop_last"):
            if ckpt["settings"][key] != getattr(self, key):
                raise ValueError(f"Solver.load_checkpoint: {key}={getattr(self, key)!r} differs from the checkpoint's "
                                 f"{ckpt['settings'][key]!r}")
        self._load_model_state(ckpt)
        self._rng.bit_generator.state = copy.deepcopy(ckpt["rng_state"])
        self.history = history_from_dict(copy.deepcopy(ckpt["history"]))
        es = ckpt["early_stopping"]
        self._best_value, self._wait = float(es["best"]), int(es["wait"])
        self._best_snapshot = copy.deepcopy(es["best_weights"])
        return self

    @classmethod
    def resume(cls, checkpoint: dict | str | os.PathLike, model: Any, data: Any, optimizer: Any,
               schedule: Any = None, **kwargs: Any) -> "TrainingLoop":
        """A solver that continues a checkpointed run: ``cls(model, data, optimizer, schedule, **settings)``
        with the checkpoint's settings (``kwargs`` override them, e.g. ``epochs=``), then
        :meth:`load_checkpoint`. ``model`` and ``optimizer`` are fresh objects of the same kind
        (their values are replaced); ``schedule`` must be the same function of the step.
        """
        ckpt = checkpoint if isinstance(checkpoint, dict) else load_checkpoint(checkpoint)
        if not isinstance(ckpt, dict) or ckpt.get("format") != CHECKPOINT_FORMAT:
            raise ValueError("Solver.resume: checkpoint must come from Solver.checkpoint() or save_checkpoint")
        settings = {**ckpt["settings"], **kwargs}
        solver = cls(model, data, optimizer, schedule, **settings)
        return solver.load_checkpoint(ckpt)

    def _model_state(self) -> dict:
        raise NotImplementedError

    def _load_model_state(self, ckpt: dict) -> None:
        raise NotImplementedError


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
    update_ratio_every : None or int
        Every k-th step (t = 0, k, 2k, ...), record :math:`\|\Delta w\| / \|w\|` of every
        parameter array in ``history.update_ratio`` (None: never; the cost is a few norms).
    patience : None or int
        Early stopping (Prechelt 1998): stop after ``patience`` evaluations in a row whose
        validation accuracy does not beat the best by more than ``min_delta``; the weights of
        the best evaluation are restored when ``restore_best`` (``history.best_epoch`` /
        ``best_step`` say when it was). None: run all epochs.
    min_delta : float >= 0
    restore_best : bool
    callbacks : sequence of callables ``cb(solver)``, called after every step (after the history
        has the step's loss), e.g. :class:`course_lib.ensembles.EMACallback`.

    Calling :meth:`train` again continues training for ``epochs`` more epochs and appends to
    the same history. If the loss becomes nan/inf, training stops with a ``FloatingPointError``
    naming the step; :attr:`history` keeps what was recorded until then. :meth:`checkpoint`,
    :meth:`save_checkpoint`, :meth:`load_checkpoint` and :meth:`resume` stop and continue a run
    exactly (the callbacks keep their own state).

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
        update_ratio_every: int | None = None,
        patience: int | None = None,
        min_delta: float = 0.0,
        restore_best: bool = True,
        callbacks: Sequence[Callable[[Any], None]] = (),
    ):
        check_settings(batch_size, epochs, eval_every, max_eval)
        checks.integer(seed, "seed", "Solver", minimum=0)
        if schedule is not None and not callable(schedule):
            raise TypeError(f"Solver: schedule must be None or a callable lr_at(t), got {type(schedule).__name__}")
        for attr in ("params", "loss", "accuracy"):
            if not hasattr(model, attr):
                raise TypeError(f"Solver: the model has no {attr!r} (a scratch model is expected)")
        for attr in ("init", "step", "lr"):
            if not hasattr(optimizer, attr):
                raise TypeError(f"Solver: the optimizer has no {attr!r} (a scratch optimizer is expected)")
        self._init_extras(update_ratio_every, patience, min_delta, restore_best, callbacks)
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

    def param_arrays(self) -> dict[str, np.ndarray]:
        """The model's current parameters ``{name: array}``.

        These are the live arrays: the Solver replaces them at every step, never mutates them.
        """
        return dict(self.model.params)

    def _param_refs(self) -> dict[str, np.ndarray]:
        return dict(self.model.params)  # apply_update replaces the arrays: the old ones stay intact

    def _update_ratios(self, before: dict[str, np.ndarray]) -> dict[str, float]:
        return {name: update_ratio(before[name], w) for name, w in self.model.params.items()}

    def _snapshot(self) -> dict:
        running = getattr(self.model, "running", None)
        return {"params": {k: np.array(v) for k, v in self.model.params.items()},
                "running": None if running is None else {k: np.array(v) for k, v in running.items()}}

    def _restore(self, snapshot: dict) -> None:
        for k, v in snapshot["params"].items():
            self.model.params[k] = np.array(v)
        if snapshot["running"] is not None:
            for k, v in snapshot["running"].items():
                self.model.running[k] = np.array(v)

    def _model_state(self) -> dict:
        rng = getattr(self.model, "dropout_rng", None)
        return {
            "model": self._snapshot(),
            "optimizer": {"repr": repr(self.optimizer), "states": copy.deepcopy(self.states)},
            "model_rng_state": None if rng is None else copy.deepcopy(rng.bit_generator.state),
        }

    def _load_model_state(self, ckpt: dict) -> None:
        params = ckpt["model"]["params"]
        mine = self.model.params
        if list(params) != list(mine) or any(np.shape(params[k]) != np.shape(mine[k]) for k in mine):
            raise ValueError("Solver.load_checkpoint: the model's parameters "
                             f"{ {k: np.shape(v) for k, v in mine.items()} } differ from the checkpoint's "
                             f"{ {k: np.shape(v) for k, v in params.items()} }")
        if set(ckpt["optimizer"]["states"]) != set(mine):
            raise ValueError("Solver.load_checkpoint: the optimizer states do not match the model's parameters")
        self._restore(ckpt["model"])
        self.states = copy.deepcopy(ckpt["optimizer"]["states"])
        rng = getattr(self.model, "dropout_rng", None)
        if ckpt["model_rng_state"] is not None and rng is not None:
            rng.bit_generator.state = copy.deepcopy(ckpt["model_rng_state"])
