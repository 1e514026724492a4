r"""Twin of :mod:`course_lib.scratch.solver`: the same training loop for a torch model and optimizer.

It shares :class:`~course_lib.scratch.solver.History`, the data checks and the shuffling
with the scratch solver: for the same ``seed`` both see exactly the same mini-batches, so
a scratch and a torch model with the same initial parameters produce the same loss curve.
"""

from __future__ import annotations

import copy
import math
from typing import Any, Callable, Sequence

import numpy as np
import torch

from course_lib import checks
from course_lib.scratch.solver import (
    History,
    TrainingLoop,
    check_loss,
    check_settings,
    eval_indices,
    get_data,
    load_checkpoint,
    save_checkpoint,
    steps_per_epoch,
)

__all__ = ["Solver", "History", "save_checkpoint", "load_checkpoint"]


class Solver(TrainingLoop):
    r"""Twin of `course_lib.scratch.solver.Solver`.

    .. math::

        w \leftarrow w - \eta_t\,(\text{optimizer's direction for } \nabla_w J(x_B, y_B))

    Same constructor: ``Solver(model, data, optimizer, schedule=None, *, batch_size=64,
    epochs=10, seed=0, progress=True, eval_every=None, max_eval=None, drop_last=False,
    update_ratio_every=None, patience=None, min_delta=0.0, restore_best=True, callbacks=())``, where

    * ``model`` is an ``nn.Module`` with ``loss(x, y) -> scalar tensor`` and ``accuracy(x, y)``
      (e.g. :class:`course_lib.torch_impl.model.MLP`); the data are moved once to the model's
      device and dtype, labels to ``torch.long``;
    * ``optimizer`` is a ``torch.optim.Optimizer`` already built on ``model.parameters()``;
    * ``schedule`` is None, a callable ``lr_at(t)`` (written into every param group before step
      t), or a ``torch.optim.lr_scheduler.LRScheduler`` on that optimizer (stepped after every
      optimizer step).

    ``train()`` returns the same :class:`~course_lib.scratch.solver.History`; a nan/inf loss
    raises ``FloatingPointError`` naming the step. Update/weight ratios, early stopping and
    callbacks work as on the scratch side (the parameter names are ``named_parameters()``'s).
    :meth:`checkpoint` holds ``model.state_dict()`` (parameters and buffers), the optimizer's
    and the scheduler's ``state_dict()``, the model's ``dropout_generator`` state and the
    shuffling generator; :meth:`resume` continues bit for bit on the same device.
    """

    _KIND = "torch"

    def __init__(
        self,
        model: torch.nn.Module,
        data: Any,
        optimizer: torch.optim.Optimizer,
        schedule: Callable[[int], float] | Any = None,
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
        if not isinstance(optimizer, torch.optim.Optimizer):
            raise TypeError(f"Solver: optimizer must be a torch.optim.Optimizer, got {type(optimizer).__name__}")
        is_scheduler = isinstance(schedule, torch.optim.lr_scheduler.LRScheduler)
        if schedule is not None and not is_scheduler and not callable(schedule):
            raise TypeError("Solver: schedule must be None, a callable lr_at(t) or a torch LRScheduler")
        if not hasattr(model, "loss"):
            raise TypeError("Solver: the model needs a loss(x, y) method returning a scalar tensor")
        self._init_extras(update_ratio_every, patience, min_delta, restore_best, callbacks)
        self.model = model
        self.optimizer = optimizer
        self.schedule = schedule
        self._is_scheduler = is_scheduler
        self.batch_size = int(batch_size)
        self.epochs = int(epochs)
        self.seed = seed
        self.progress = progress
        self.eval_every = eval_every
        self.max_eval = max_eval

        arrays = get_data(data, getattr(model, "num_classes", None))
        ref = next(model.parameters())
        self.data = {
            key: torch.as_tensor(value, dtype=ref.dtype if key.startswith("x") else torch.long, device=ref.device)
            for key, value in arrays.items()
        }
        self.drop_last = bool(drop_last)
        self._n_train = n = arrays["x_train"].shape[0]
        self.history = History(steps_per_epoch=steps_per_epoch(n, self.batch_size, self.drop_last))
        self._rng = np.random.default_rng(seed)
        self._eval_idx = {
            split: eval_indices(seed, arrays[f"x_{split}"].shape[0], max_eval) for split in ("train", "val")
        }

    def _accuracy(self, split: str) -> float:
        x, y, idx = self.data[f"x_{split}"], self.data[f"y_{split}"], self._eval_idx[split]
        if idx is not None:
            idx = torch.as_tensor(idx, device=x.device)
            x, y = x[idx], y[idx]
        was_training = self.model.training
        self.model.eval()  # matters once a model holds dropout / batch norm
        try:
            with torch.no_grad():
                if hasattr(self.model, "accuracy"):
                    return float(self.model.accuracy(x, y))
                return float((self.model(x).argmax(dim=1) == y).double().mean())
        finally:
            self.model.train(was_training)

    def train(self) -> History:
        self.model.train()
        return super().train()

    def _step(self, idx: np.ndarray, t: int, epoch: int) -> tuple[float, float]:
        if self.schedule is not None and not self._is_scheduler:
            for group in self.optimizer.param_groups:
                group["lr"] = float(self.schedule(t))
        lr = float(self.optimizer.param_groups[0]["lr"])
        idx_t = torch.as_tensor(idx, device=self.data["x_train"].device)
        self.optimizer.zero_grad()
        loss = self.model.loss(self.data["x_train"][idx_t], self.data["y_train"][idx_t])
        loss_value = float(loss.detach())
        check_loss(loss_value, t, epoch)
        loss.backward()
        self.optimizer.step()
        if self._is_scheduler:
            self.schedule.step()
        return loss_value, lr

    # ----- update ratios, early stopping, checkpoints ------------------------------------
    def param_arrays(self) -> dict[str, np.ndarray]:
        """Copies of the model's parameters as numpy arrays, ``{name: array}`` (``named_parameters()``)."""
        return {name: p.detach().cpu().numpy().copy() for name, p in self.model.named_parameters()}

    def _param_refs(self) -> dict[str, torch.Tensor]:
        return {name: p.detach().clone() for name, p in self.model.named_parameters()}

    @torch.no_grad()
    def _update_ratios(self, before: dict[str, torch.Tensor]) -> dict[str, float]:
        out = {}
        for name, p in self.model.named_parameters():
            num, den = float(torch.linalg.vector_norm(p - before[name])), float(torch.linalg.vector_norm(before[name]))
            out[name] = (0.0 if num == 0.0 else math.inf) if den == 0.0 else num / den
        return out

    def _snapshot(self) -> dict:
        return {k: v.detach().clone() for k, v in self.model.state_dict().items()}

    @torch.no_grad()
    def _restore(self, snapshot: dict) -> None:
        self.model.load_state_dict(snapshot)

    def _model_state(self) -> dict:
        gen = getattr(self.model, "dropout_generator", None)
        return {
            "model": self._snapshot(),
            "optimizer": copy.deepcopy(self.optimizer.state_dict()),
            "scheduler": copy.deepcopy(self.schedule.state_dict()) if self._is_scheduler else None,
            "model_rng_state": None if gen is None else gen.get_state().clone(),
        }

    def _load_model_state(self, ckpt: dict) -> None:
        state = ckpt["model"]
        mine = self.model.state_dict()
        if list(state) != list(mine) or any(tuple(state[k].shape) != tuple(mine[k].shape) for k in mine):
            raise ValueError("Solver.load_checkpoint: the model's state_dict "
                             f"{ {k: tuple(v.shape) for k, v in mine.items()} } differs from the checkpoint's "
                             f"{ {k: tuple(v.shape) for k, v in state.items()} }")
        self._restore(state)
        self.optimizer.load_state_dict(copy.deepcopy(ckpt["optimizer"]))
        if self._is_scheduler:
            if ckpt.get("scheduler") is None:
                raise ValueError("Solver.load_checkpoint: the checkpoint has no scheduler state for this LRScheduler")
            self.schedule.load_state_dict(copy.deepcopy(ckpt["scheduler"]))
        gen = getattr(self.model, "dropout_generator", None)
        if ckpt.get("model_rng_state") is not None and gen is not None:
            gen.set_state(ckpt["model_rng_state"].clone())
