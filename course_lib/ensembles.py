r"""Model ensembles and parameter averaging: a few points of accuracy at test time.

Three ways to average, from the most to the least expensive:

1. **Independent models** (:func:`average_probabilities`): train M models from different
   random initializations (or hyperparameters) and average their predicted class
   probabilities, :math:`\bar p(y|x) = \frac1M \sum_m p_m(y|x)`. Their errors are partly
   independent, so the average errs less; the cost is M trainings and M forward passes. Since
   :math:`-\ln` is convex, the averaged probabilities' cross-entropy is never above the mean
   of the members' (Jensen's inequality), example by example.
2. **Checkpoints of one run** (:func:`average_checkpoints`): average the predictions, or
   the parameters, of several snapshots of a single training run (e.g. the last few epochs):
   one training, a smaller gain.
3. **A running average of the parameters** (:func:`ema_update`, :func:`polyak_update`,
   :class:`EMACallback`): keep, during training, an average of the parameter vector and use
   it at test time. The uniform average of the iterates is Polyak-Ruppert averaging
   (Polyak & Juditsky 1992, "Acceleration of stochastic approximation by averaging"), which
   cancels much of SGD's noise around a minimum; the exponential moving average (EMA)
   :math:`\bar w \leftarrow \beta \bar w + (1-\beta) w` forgets the early, poor iterates.

Parameter averages (2, 3) are meaningful only near one minimum (the same run): averaging the
weights of independently trained networks, whose hidden units are permuted differently, gives
nonsense. A batch-norm model's running statistics belong to the weights they were measured
with: recompute them for averaged weights (a pass over the training data in training mode).

Works with scratch models (``params``, ``scores(x)`` as numpy) and torch models (``scores(x)``
or ``forward``, ``named_parameters()``); parameter dicts are ``{name: numpy array}``.
"""

from __future__ import annotations

import contextlib
from typing import Any, Iterator, Mapping, Sequence

import numpy as np

from course_lib import checks
from course_lib.scratch.losses import check_labels

__all__ = [
    "softmax", "predict_proba", "average_probabilities", "ensemble_predict", "ensemble_accuracy", "log_loss",
    "average_checkpoints", "ema_update", "polyak_update", "EMACallback", "get_params", "set_params", "with_params",
]


def softmax(scores: np.ndarray) -> np.ndarray:
    """Row-wise softmax of (N, C) scores (max-shifted)."""
    scores = checks.float_array(scores, "scores", "softmax")
    if scores.ndim != 2 or scores.shape[1] < 1:
        raise ValueError(f"softmax: scores must have shape (N, C) with C >= 1, got {scores.shape}")
    z = scores - scores.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def _is_torch(model: Any) -> bool:
    return hasattr(model, "named_parameters") and not hasattr(model, "params")


def predict_proba(model: Any, x: Any) -> np.ndarray:
    """Class probabilities (N, C) of one model, the softmax of its scores, in eval mode."""
    was_training = getattr(model, "training", None)
    if was_training is not None:
        model.eval()
    try:
        if _is_torch(model):
            import torch

            ref = next(model.parameters())
            with torch.no_grad():
                xt = torch.as_tensor(np.asarray(x), dtype=ref.dtype, device=ref.device)
                scores = model.scores(xt) if hasattr(model, "scores") else model(xt)
                return softmax(scores.detach().cpu().numpy())
        return softmax(model.scores(np.asarray(x, dtype=np.float64)))
    finally:
        if was_training is not None:
            model.train(was_training)


def _weights(weights: Any, m: int, who: str) -> np.ndarray:
    if weights is None:
        return np.full(m, 1.0 / m)
    w = np.asarray(weights, dtype=np.float64)
    if w.shape != (m,) or not np.all(np.isfinite(w)) or np.any(w < 0) or w.sum() <= 0:
        raise ValueError(f"{who}: weights must be {m} non-negative numbers with a positive sum, got {weights!r}")
    return w / w.sum()


def average_probabilities(models: Sequence[Any], x: Any, weights: Sequence[float] | None = None) -> np.ndarray:
    r"""The ensemble's probabilities (N, C): :math:`\sum_m a_m\, \mathrm{softmax}(s_m(x))`, :math:`a_m = 1/M`.

    ``models``: trained scratch or torch models with the same classes; ``weights`` optional
    non-negative weights (normalized to sum 1).
    """
    models = list(models)
    if not models:
        raise ValueError("average_probabilities: models must hold at least one model")
    w = _weights(weights, len(models), "average_probabilities")
    probs = [predict_proba(m, x) for m in models]
    if len({p.shape for p in probs}) != 1:
        raise ValueError(f"average_probabilities: the models' outputs differ in shape: {[p.shape for p in probs]}")
    return np.tensordot(w, np.stack(probs), axes=1)


def ensemble_predict(models: Sequence[Any], x: Any, weights: Sequence[float] | None = None) -> np.ndarray:
    """Predicted class (N,) of the ensemble: the arg-max of the averaged probabilities."""
    return average_probabilities(models, x, weights).argmax(axis=1)


def ensemble_accuracy(models: Sequence[Any], x: Any, y: Any, weights: Sequence[float] | None = None) -> float:
    """Fraction of examples the ensemble classifies correctly."""
    return float(np.mean(ensemble_predict(models, x, weights) == np.asarray(y)))


def log_loss(probs: np.ndarray, y: Any) -> float:
    r"""Mean cross-entropy :math:`-\frac1N \sum_i \ln p_{i, y_i}` of probabilities (N, C)."""
    probs = checks.float_array(probs, "probs", "log_loss")
    y = np.asarray(y)
    if probs.ndim != 2 or y.shape != (probs.shape[0],):
        raise ValueError(f"log_loss: probs must be (N, C) and y (N,), got {probs.shape} and {y.shape}")
    y = check_labels(y, probs.shape[0], probs.shape[1], "log_loss")
    return float(-np.mean(np.log(np.maximum(probs[np.arange(len(y)), y], 1e-300))))


def _check_same(a: Mapping[str, Any], b: Mapping[str, Any], who: str) -> None:
    if list(a) != list(b):
        raise ValueError(f"{who}: parameter names differ: {list(a)} vs {list(b)}")
    for k in a:
        if np.shape(a[k]) != np.shape(b[k]):
            raise ValueError(f"{who}: parameter {k!r} has shape {np.shape(a[k])} vs {np.shape(b[k])}")


def average_checkpoints(checkpoints: Sequence[Mapping[str, Any]],
                        weights: Sequence[float] | None = None) -> dict[str, np.ndarray]:
    r"""The (weighted) mean of parameter dicts of ONE run, :math:`\bar w = \sum_k a_k w^{(k)}`.

    ``checkpoints``: ``{name: array}`` dicts with the same names and shapes (a scratch
    model's ``params``, ``Solver.param_arrays()``, or a torch ``state_dict()`` of float
    tensors). Returns a new dict of float64 numpy arrays; the inputs are not modified.
    """
    checkpoints = list(checkpoints)
    if not checkpoints:
        raise ValueError("average_checkpoints: give at least one parameter dict")
    for c in checkpoints[1:]:
        _check_same(checkpoints[0], c, "average_checkpoints")
    w = _weights(weights, len(checkpoints), "average_checkpoints")
    return {k: sum(wi * np.asarray(c[k], dtype=np.float64) for wi, c in zip(w, checkpoints))
            for k in checkpoints[0]}


def ema_update(avg: Mapping[str, Any] | None, params: Mapping[str, Any], decay: float) -> dict[str, np.ndarray]:
    r"""One step of the exponential moving average, as a new dict: :math:`\bar w \leftarrow \beta \bar w + (1-\beta) w`.

    ``avg`` None (the first step) returns a copy of ``params``, as ``torch.optim.swa_utils``
    does. ``decay`` :math:`\beta \in [0, 1]`; the average remembers about :math:`1/(1-\beta)`
    steps. Neither argument is modified.
    """
    decay = checks.real(decay, "decay", "ema_update", minimum=0, maximum=1)
    if avg is None:
        return {k: np.array(v, dtype=np.float64) for k, v in params.items()}
    _check_same(avg, params, "ema_update")
    return {k: decay * np.asarray(avg[k], dtype=np.float64) + (1 - decay) * np.asarray(params[k], dtype=np.float64)
            for k in avg}


def polyak_update(avg: Mapping[str, Any] | None, params: Mapping[str, Any], count: int) -> dict[str, np.ndarray]:
    r"""One step of the uniform running mean (Polyak & Juditsky 1992), as a new dict.

    ``count`` is the number of parameter vectors already in ``avg`` (0 with ``avg`` None):
    :math:`\bar w_{n+1} = \bar w_n + (w - \bar w_n)/(n + 1)`, the mean of all vectors so far.
    """
    count = checks.integer(count, "count", "polyak_update", minimum=0)
    if avg is None or count == 0:
        return {k: np.array(v, dtype=np.float64) for k, v in params.items()}
    _check_same(avg, params, "polyak_update")
    return {k: np.asarray(avg[k], dtype=np.float64)
            + (np.asarray(params[k], dtype=np.float64) - np.asarray(avg[k], dtype=np.float64)) / (count + 1)
            for k in avg}


class EMACallback:
    r"""A Solver callback that keeps a running average of the parameters during training.

    ``Solver(..., callbacks=[ema])`` calls ``ema(solver)`` after every step; from step
    ``start`` on, every ``every``-th step, the average is updated with
    ``solver.param_arrays()``: by :func:`ema_update` with ``decay``, or, with
    ``decay=None``, by :func:`polyak_update` (the uniform mean of the iterates: Polyak &
    Juditsky 1992). :attr:`average` is ``{name: array}`` (None before the first update),
    :attr:`count` the number of updates. Use the average with :func:`with_params` or
    :func:`set_params`. Works with the scratch and the torch Solver. The callback's state is
    not part of ``Solver.checkpoint()``.
    """

    def __init__(self, decay: float | None = 0.99, *, start: int = 0, every: int = 1):
        self.decay = None if decay is None else checks.real(decay, "decay", "EMACallback", minimum=0, maximum=1)
        self.start = checks.integer(start, "start", "EMACallback", minimum=0)
        self.every = checks.integer(every, "every", "EMACallback", minimum=1)
        self.average: dict[str, np.ndarray] | None = None
        self.count = 0

    def __repr__(self) -> str:
        return f"EMACallback(decay={self.decay}, start={self.start}, every={self.every}, count={self.count})"

    def update(self, params: Mapping[str, Any]) -> None:
        """Fold one parameter dict into the average."""
        if self.decay is None:
            self.average = polyak_update(self.average, params, self.count)
        else:
            self.average = ema_update(self.average, params, self.decay)
        self.count += 1

    def __call__(self, solver: Any) -> None:
        t = solver.history.steps  # steps taken so far (>= 1 here)
        if t > self.start and (t - self.start) % self.every == 0:
            self.update(solver.param_arrays())


def get_params(model: Any) -> dict[str, np.ndarray]:
    """Copies of a model's parameters, ``{name: float64 array}`` (scratch ``params`` or torch ``named_parameters``)."""
    if _is_torch(model):
        return {k: p.detach().cpu().numpy().astype(np.float64) for k, p in model.named_parameters()}
    return {k: np.array(v, dtype=np.float64) for k, v in model.params.items()}


def set_params(model: Any, params: Mapping[str, Any]) -> None:
    """Overwrite a model's parameters with ``params`` (same names and shapes as :func:`get_params`)."""
    if not isinstance(params, Mapping):
        raise TypeError(f"set_params: params must be a dict {{name: array}}, got {type(params).__name__} "
                        "(an EMACallback's average is None before its first update)")
    _check_same(get_params(model), params, "set_params")
    if _is_torch(model):
        import torch

        with torch.no_grad():
            for k, p in model.named_parameters():
                p.copy_(torch.as_tensor(np.asarray(params[k]), dtype=p.dtype, device=p.device))
    else:
        for k in model.params:
            model.params[k] = np.array(params[k], dtype=np.float64)


@contextlib.contextmanager
def with_params(model: Any, params: Mapping[str, Any]) -> Iterator[Any]:
    """``with with_params(model, ema.average): model.accuracy(x, y)`` -- the model with ``params``, then its own."""
    saved = get_params(model)
    set_params(model, params)
    try:
        yield model
    finally:
        set_params(model, saved)
