r"""Hyperparameter search: grid, random, and coarse-to-fine, scored on the validation split.

A search space is a dict ``{name: axis}``. Axes:

* :func:`log_uniform` ``(lo, hi)`` -- :math:`\exp(U(\ln lo, \ln hi))`, for scale parameters
  such as the learning rate or the L2 strength, whose useful values span decades;
* :func:`uniform` ``(lo, hi)`` -- for parameters such as a dropout probability;
* :func:`choice` ``(a, b, ...)`` -- categorical (an optimizer name, a layer width);
* for :func:`grid_search`, an explicit list of values (or a continuous axis plus ``points=k``).

**Random beats grid** (Bergstra & Bengio 2012, "Random search for hyper-parameter
optimization"): when only a few of the hyperparameters matter, a grid of :math:`k^d` points
tries only k distinct values of each, while :math:`k^d` random points try :math:`k^d`
distinct values of every axis, the important ones included.

**The golden rule** (chapter 4: statistics from the training set only) applies to
hyperparameters too: a hyperparameter is a statistic of the data it was chosen on. The
objective ``objective(params) -> float`` must train on the training split and score on
the **validation** split; the test split is touched once, at the very end, by the model
chosen. Every search function takes ``split="val"`` and refuses ``split="test"``; an
objective may also return :class:`Score` ``(value, split)``, and a test-split score is
refused as well.

**Coarse to fine**: search wide with few epochs, then :func:`refine` narrows every axis
around the best point, and search again with more epochs. When the best value lies at the
edge of its range, the optimum may lie outside it: an :class:`EdgeOfRangeWarning` says so
(widen that range rather than refining into the edge).

Results are a :class:`SearchResult`: a list of dicts (one per trial, the parameters plus
``"score"``) and :meth:`SearchResult.format_table`. No pandas needed.
"""

from __future__ import annotations

import itertools
import math
import warnings
from dataclasses import dataclass, field
from numbers import Real
from typing import Any, Callable, Mapping

import numpy as np

from course_lib import checks

__all__ = [
    "EdgeOfRangeWarning", "LogUniform", "Uniform", "Choice", "log_uniform", "uniform", "choice", "Score",
    "SearchResult", "grid_search", "random_search", "refine", "check_split", "ALLOWED_SPLITS",
]


class EdgeOfRangeWarning(UserWarning):
    """The best value of a numeric hyperparameter lies at the edge of the range searched."""


@dataclass(frozen=True)
class LogUniform:
    r"""Log-uniform on [lo, hi] (0 < lo < hi): :math:`\exp(U(\ln lo, \ln hi))`."""

    lo: float
    hi: float

    def __post_init__(self) -> None:
        checks.real(self.lo, "lo", "log_uniform", exclusive_minimum=True, minimum=0)
        checks.real(self.hi, "hi", "log_uniform", exclusive_minimum=True, minimum=0)
        if not self.lo < self.hi:
            raise ValueError(f"log_uniform: lo must be < hi, got lo={self.lo}, hi={self.hi}")

    def sample(self, rng: np.random.Generator) -> float:
        return float(np.exp(rng.uniform(np.log(self.lo), np.log(self.hi))))

    def grid(self, k: int) -> list[float]:
        return [float(v) for v in np.geomspace(self.lo, self.hi, k)]

    def position(self, value: float) -> float:
        """Where ``value`` lies in the range, 0 (lo) .. 1 (hi), on the log scale."""
        return float((np.log(value) - np.log(self.lo)) / (np.log(self.hi) - np.log(self.lo)))

    def around(self, value: float, factor: float) -> "LogUniform":
        half = (np.log(self.hi) - np.log(self.lo)) / (2 * factor)
        return LogUniform(float(value * np.exp(-half)), float(value * np.exp(half)))


@dataclass(frozen=True)
class Uniform:
    """Uniform on [lo, hi] (lo < hi)."""

    lo: float
    hi: float

    def __post_init__(self) -> None:
        checks.real(self.lo, "lo", "uniform")
        checks.real(self.hi, "hi", "uniform")
        if not self.lo < self.hi:
            raise ValueError(f"uniform: lo must be < hi, got lo={self.lo}, hi={self.hi}")

    def sample(self, rng: np.random.Generator) -> float:
        return float(rng.uniform(self.lo, self.hi))

    def grid(self, k: int) -> list[float]:
        return [float(v) for v in np.linspace(self.lo, self.hi, k)]

    def position(self, value: float) -> float:
        return float((value - self.lo) / (self.hi - self.lo))

    def around(self, value: float, factor: float) -> "Uniform":
        """Width / factor around ``value``, clipped to this range (a probability stays one)."""
        half = (self.hi - self.lo) / (2 * factor)
        lo, hi = max(self.lo, value - half), min(self.hi, value + half)
        return Uniform(float(lo), float(hi)) if lo < hi else Uniform(self.lo, self.hi)


@dataclass(frozen=True)
class Choice:
    """One of a few options, each equally likely."""

    options: tuple

    def __post_init__(self) -> None:
        if len(self.options) == 0:
            raise ValueError("choice: give at least one option")

    def sample(self, rng: np.random.Generator) -> Any:
        return self.options[int(rng.integers(len(self.options)))]

    def grid(self, k: int | None = None) -> list:
        return list(self.options)


def log_uniform(lo: float, hi: float) -> LogUniform:
    """An axis sampled log-uniformly on [lo, hi] (learning rates, L2 strengths)."""
    return LogUniform(lo, hi)


def uniform(lo: float, hi: float) -> Uniform:
    """An axis sampled uniformly on [lo, hi] (a dropout probability, a momentum)."""
    return Uniform(lo, hi)


def choice(*options: Any) -> Choice:
    """A categorical axis: ``choice("sgd", "adam")`` or ``choice([32, 64, 128])``."""
    if len(options) == 1 and isinstance(options[0], (list, tuple)):
        options = tuple(options[0])
    return Choice(tuple(options))


ALLOWED_SPLITS = ("val", "validation", "cv")
"""Splits a search may be scored on: the validation split, or cross-validation folds of the training set."""


def check_split(split: Any, who: str = "search") -> str:
    """``split`` if a search may be scored on it; refuses the test split (the golden rule)."""
    if split == "test":
        raise ValueError(f"{who}: split='test' is refused: hyperparameters chosen on the test set make its score "
                         "an optimistic, useless estimate; score on the validation split (split='val') and "
                         "touch the test split once, at the end")
    if split not in ALLOWED_SPLITS:
        raise ValueError(f"{who}: split must be one of {ALLOWED_SPLITS}, got {split!r}")
    return split


@dataclass(frozen=True)
class Score:
    """An objective's value with the split it was measured on (``"val"`` unless said otherwise)."""

    value: float
    split: str = "val"


def _score(value: Any, who: str) -> float:
    """The objective's return value as a float (nan for a diverged run), refusing test-split scores."""
    if isinstance(value, Score):
        check_split(value.split, who)
        value = value.value
    if not (isinstance(value, Real) and not isinstance(value, bool)) and not (
            isinstance(value, np.ndarray) and value.shape == () and np.issubdtype(value.dtype, np.number)):
        raise TypeError(f"{who}: objective must return a float (or a Score), got {type(value).__name__}")
    return float(value)


@dataclass
class SearchResult:
    """All trials of a search, in the order they ran.

    ``trials``: list of dicts, each the trial's parameters plus ``"score"`` (nan when the
    run diverged: a ``FloatingPointError`` in the objective); ``space``: the axes searched;
    ``maximize``: whether higher scores are better; ``method``: "grid" or "random";
    ``split``: where the scores come from.
    """

    trials: list[dict]
    space: dict
    maximize: bool
    method: str
    split: str = "val"
    names: list[str] = field(default_factory=list)

    def _ranked(self) -> list[dict]:
        good = [t for t in self.trials if math.isfinite(t["score"])]
        good.sort(key=lambda t: t["score"], reverse=self.maximize)
        return good + [t for t in self.trials if not math.isfinite(t["score"])]

    @property
    def best(self) -> dict:
        """The trial with the best finite score (parameters and ``"score"``)."""
        ranked = self._ranked()
        if not ranked or not math.isfinite(ranked[0]["score"]):
            raise ValueError("SearchResult.best: no trial has a finite score")
        return dict(ranked[0])

    @property
    def best_params(self) -> dict:
        """The best trial's parameters (without the score)."""
        return {k: v for k, v in self.best.items() if k != "score"}

    @property
    def scores(self) -> np.ndarray:
        return np.array([t["score"] for t in self.trials])

    def format_table(self, top: int | None = None) -> str:
        """A plain-text table, best first: rank, every parameter, the score (``%.4g``)."""
        rows = self._ranked()[:top]
        cols = ["rank", *self.names, f"score ({self.split})"]

        def fmt(v: Any) -> str:
            return f"{v:.4g}" if isinstance(v, (float, np.floating)) else str(v)

        body = [[str(i + 1), *(fmt(r[n]) for n in self.names), fmt(r["score"])] for i, r in enumerate(rows)]
        widths = [max(len(c), *(len(b[j]) for b in body)) if body else len(c) for j, c in enumerate(cols)]
        lines = ["  ".join(c.rjust(w) for c, w in zip(cols, widths)), "  ".join("-" * w for w in widths)]
        lines += ["  ".join(v.rjust(w) for v, w in zip(b, widths)) for b in body]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.format_table()


def _check_space(space: Any, who: str) -> dict:
    if not isinstance(space, Mapping) or not space:
        raise ValueError(f"{who}: space must be a non-empty dict {{name: axis}}, got {space!r}")
    for name in space:
        if not isinstance(name, str) or name == "score":
            raise ValueError(f"{who}: every axis name must be a string other than 'score', got {name!r}")
    return dict(space)


def _run(objective: Callable[[dict], Any], points: list[dict], who: str) -> list[dict]:
    if not callable(objective):
        raise TypeError(f"{who}: objective must be callable objective(params) -> float")
    trials = []
    for params in points:
        try:
            score = _score(objective(dict(params)), who)
        except FloatingPointError:  # a diverged training run: the worst possible score
            score = math.nan
        trials.append({**params, "score": score})
    return trials


def _edge_warnings(result: SearchResult, edge: float) -> None:
    """Warn when the best numeric value lies at the edge of its range (grid: the end values)."""
    try:
        best = result.best
    except ValueError:
        return
    for name, axis in result.space.items():
        value = best[name]
        if isinstance(axis, (LogUniform, Uniform)):
            pos = axis.position(value)
            where = "lower" if pos <= edge else "upper" if pos >= 1 - edge else None
            bounds = (axis.lo, axis.hi)
        elif isinstance(axis, (list, tuple, np.ndarray)) and len(axis) >= 3 and all(
                isinstance(v, Real) and not isinstance(v, bool) for v in axis):
            lo, hi = min(axis), max(axis)
            where = "lower" if value == lo else "upper" if value == hi else None
            bounds = (lo, hi)
        else:
            continue
        if where is not None:
            warnings.warn(f"the best {name}={value:.4g} lies at the {where} edge of the range searched "
                          f"[{bounds[0]:.4g}, {bounds[1]:.4g}]: the optimum may lie outside; widen that range",
                          EdgeOfRangeWarning, stacklevel=3)


def grid_search(objective: Callable[[dict], Any], space: Mapping[str, Any], *, maximize: bool = True,
                split: str = "val", points: int | None = None, warn_edges: bool = True) -> SearchResult:
    """Every combination of the axes' values (their Cartesian product, in dict order).

    ``space``: ``{name: [values...]}``; a :func:`choice` gives its options; a continuous axis
    (:func:`log_uniform`, :func:`uniform`) needs ``points=k`` (k log- or evenly spaced values).
    ``objective(params) -> float`` (or :class:`Score`) is the VALIDATION score of a model
    trained with ``params``; ``maximize`` says whether higher is better (accuracy) or lower
    (loss). Warns with :class:`EdgeOfRangeWarning` when a numeric best sits on the grid's end.
    """
    check_split(split, "grid_search")
    space = _check_space(space, "grid_search")
    values = {}
    for name, axis in space.items():
        if isinstance(axis, (LogUniform, Uniform)):
            if points is None:
                raise ValueError(f"grid_search: axis {name!r} is continuous; give points=k or a list of values")
            values[name] = axis.grid(checks.integer(points, "points", "grid_search", minimum=2))
        elif isinstance(axis, Choice):
            values[name] = axis.grid()
        elif isinstance(axis, (list, tuple, np.ndarray)) and len(axis) > 0:
            values[name] = list(axis)
        else:
            raise ValueError(f"grid_search: axis {name!r} must be a non-empty list of values, a choice(...) or a "
                             f"continuous axis with points=k, got {axis!r}")
    names = list(values)
    grid = [dict(zip(names, combo)) for combo in itertools.product(*values.values())]
    result = SearchResult(trials=_run(objective, grid, "grid_search"), space=space, maximize=bool(maximize),
                          method="grid", split=split, names=names)
    if warn_edges:
        _edge_warnings(result, edge=0.0)
    return result


def random_search(objective: Callable[[dict], Any], space: Mapping[str, Any], n_trials: int, *, seed: int = 0,
                  maximize: bool = True, split: str = "val", edge: float = 0.1,
                  warn_edges: bool = True) -> SearchResult:
    """``n_trials`` points drawn independently from the axes (Bergstra & Bengio 2012).

    ``space``: ``{name: log_uniform(...) | uniform(...) | choice(...) | [values]}`` (a list is a
    choice); points from ``np.random.default_rng(seed)``, axis by axis in dict order.
    ``objective`` and ``maximize`` as in :func:`grid_search`. Warns with
    :class:`EdgeOfRangeWarning` when the best value of a continuous axis lies in the outer
    ``edge`` fraction of its range (on the log scale for :func:`log_uniform`).
    """
    check_split(split, "random_search")
    space = _check_space(space, "random_search")
    n_trials = checks.integer(n_trials, "n_trials", "random_search", minimum=1)
    edge = checks.real(edge, "edge", "random_search", minimum=0, maximum=0.5)
    axes = {}
    for name, axis in space.items():
        if isinstance(axis, (LogUniform, Uniform, Choice)):
            axes[name] = axis
        elif isinstance(axis, (list, tuple)) and len(axis) > 0:
            axes[name] = Choice(tuple(axis))
        else:
            raise ValueError(f"random_search: axis {name!r} must be log_uniform(...), uniform(...), choice(...) or "
                             f"a list, got {axis!r}")
    rng = np.random.default_rng(seed)
    points = [{name: axis.sample(rng) for name, axis in axes.items()} for _ in range(n_trials)]
    result = SearchResult(trials=_run(objective, points, "random_search"), space=axes, maximize=bool(maximize),
                          method="random", split=split, names=list(axes))
    if warn_edges:
        _edge_warnings(result, edge=edge)
    return result


def refine(result: SearchResult, factor: float = 4.0) -> dict:
    """A narrower space around the best trial, for the next (finer) search.

    * :func:`log_uniform` axes: the old width divided by ``factor`` on the log scale, centred
      on the best value (it may extend past the old range);
    * :func:`uniform` axes: width / ``factor`` around the best, clipped to the old range;
    * categorical axes (:func:`choice`, non-numeric lists): the best option only;
    * numeric grid lists: as many values as before, from halfway to the best value's lower
      neighbour to halfway to its upper one (geometric halfway and log spacing for a
      log-spaced list); a best value at an end mirrors its one neighbour, so the new list
      reaches past the old edge (not below 0 for a list of non-negative values).
    """
    factor = checks.real(factor, "factor", "refine", exclusive_minimum=True, minimum=1)
    if not isinstance(result, SearchResult):
        raise TypeError(f"refine: result must be a SearchResult, got {type(result).__name__}")
    best = result.best
    out: dict[str, Any] = {}
    for name, axis in result.space.items():
        value = best[name]
        if isinstance(axis, (LogUniform, Uniform)):
            out[name] = axis.around(value, factor)
        elif isinstance(axis, (list, tuple, np.ndarray)) and len(axis) >= 2 and all(
                isinstance(v, Real) and not isinstance(v, bool) for v in axis):
            out[name] = _refine_list(axis, value)
        elif isinstance(axis, Choice):
            out[name] = Choice((value,))
        else:
            out[name] = [value]
    return out


def _refine_list(axis: Any, value: Any) -> list:
    """A numeric grid list narrowed around ``value`` (see :func:`refine`)."""
    vals = sorted(set(float(v) for v in axis))
    k = len(axis)
    i = vals.index(float(value))
    geometric = False
    if vals[0] > 0:
        log_steps, steps = np.diff(np.log(vals)), np.diff(vals)
        constant_ratio = np.ptp(log_steps) < 1e-6 * log_steps.max() and np.ptp(steps) > 1e-9 * steps.max()
        geometric = bool(constant_ratio or vals[-1] / vals[0] >= 10)
    t = np.log(vals) if geometric else np.array(vals)
    v = t[i]
    below = t[i - 1] if i > 0 else v - (t[i + 1] - v)
    above = t[i + 1] if i < len(t) - 1 else v + (v - t[i - 1])
    lo, hi = (below + v) / 2, (v + above) / 2
    if not geometric and vals[0] >= 0:
        lo = max(lo, 0.0)
    new = np.linspace(lo, hi, k)
    new = np.exp(new) if geometric else new
    out = [float(x) for x in new]
    if all(checks.is_integer(x) for x in axis):  # integer axes (widths, epochs) stay integers
        out = sorted(set(int(round(x)) for x in out))
    return out
