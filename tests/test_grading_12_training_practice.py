"""Exercise set 12 (training in practice): the reference solution scores full marks, the blank
exercise 0, and each planted bug costs exactly the question it is planted in.

Bugs in DIFFERENT questions are planted together in one submission (a question is graded on its
own function only) to keep the suite fast. The grader's expected values come from the reference
solution; tests here check that on every hidden case they agree with the course library where the
two overlap (``course_lib.babysit``, ``course_lib.search``, ``course_lib.ensembles``), and that the
early-stopping answer is what a real :class:`course_lib.scratch.solver.Solver` run with patience
does. The shared contract is in ``tests/exercise_contract.py``.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from course_lib.grading.exercise_set import load_exercise_set, reference_cells
from course_lib.grading.notebook_io import read_source
from course_lib.grading.spec import Expr
from exercise_contract import (
    EXERCISES,
    SOLUTIONS,
    assert_same,
    contract_tests,
    execute_solution_and_blank,
)

SET = "12_training_practice"
SOLUTION = SOLUTIONS / f"{SET}.md"
EXERCISE = EXERCISES / f"{SET}.ipynb"
QUESTIONS = {
    "q1_expected_initial_loss": 1,
    "q2_sample_log_uniform": 1,
    "q3_random_search": 2,
    "q4_refine_range": 2,
    "q5_early_stopping": 2,
    "q6_ensemble_predict": 1,
    "q7_ensemble_accuracy": 1,
}

_DRAW = ("        params = {name: float(np.exp(rng.uniform(np.log(low), np.log(high)))) "
         "for name, (low, high) in space.items()}\n")
_RANK = "    ranked = sorted(trials, key=lambda trial: trial[\"score\"], reverse=True)\n"
_HALF = "    half = (np.log(values.max()) - np.log(values.min())) / (2.0 * factor)\n"
_IMPROVES = "        if best_value is None or value > best_value + min_delta:\n"
_MEAN = "    probs = np.mean(np.stack([np.asarray(p, dtype=np.float64) for p in prob_list]), axis=0)\n"
_ACC = "    accuracy = float(np.mean(predicted == np.asarray(y)))\n"

# bug -> (question, text in the solution, replacement)
BUGS = {
    "log base 10": (
        "q1_expected_initial_loss", "    loss = float(np.log(num_classes))\n",
        "    loss = float(np.log10(num_classes))\n"),
    "ln(C - 1)": (
        "q1_expected_initial_loss", "    loss = float(np.log(num_classes))\n",
        "    loss = float(np.log(num_classes - 1))\n"),
    "uniform, not in log space": (
        "q2_sample_log_uniform", "    values = np.exp(rng.uniform(np.log(low), np.log(high), size=n))\n",
        "    values = rng.uniform(low, high, size=n)\n"),
    "decimal logarithm with exp": (
        "q2_sample_log_uniform", "    values = np.exp(rng.uniform(np.log(low), np.log(high), size=n))\n",
        "    values = np.exp(rng.uniform(np.log10(low), np.log10(high), size=n))\n"),
    "worst first": (
        "q3_random_search", _RANK, "    ranked = sorted(trials, key=lambda trial: trial[\"score\"])\n"),
    "ties in reverse order": (
        "q3_random_search", _RANK, "    ranked = sorted(trials, key=lambda trial: trial[\"score\"])[::-1]\n"),
    "each axis drawn for all trials first": (
        "q3_random_search", "    trials = []\n    for _ in range(n_trials):\n" + _DRAW,
        "    columns = {name: np.exp(rng.uniform(np.log(low), np.log(high), size=n_trials))\n"
        "               for name, (low, high) in space.items()}\n"
        "    trials = []\n    for i in range(n_trials):\n"
        "        params = {name: float(column[i]) for name, column in columns.items()}\n"),
    "argmax picks a nan": (
        "q4_refine_range", "    best = values[np.nanargmax(np.asarray(scores, dtype=np.float64))]\n",
        "    best = values[np.argmax(np.asarray(scores, dtype=np.float64))]\n"),
    "full width on each side": (
        "q4_refine_range", _HALF, "    half = (np.log(values.max()) - np.log(values.min())) / factor\n"),
    "linear instead of log width": (
        "q4_refine_range", _HALF + "    low, high = float(best * np.exp(-half)), float(best * np.exp(half))\n",
        "    half = (values.max() - values.min()) / (2.0 * factor)\n"
        "    low, high = float(best - half), float(best + half)\n"),
    "ties count as improvements": (
        "q5_early_stopping", _IMPROVES, "        if best_value is None or value >= best_value + min_delta:\n"),
    "min_delta ignored": (
        "q5_early_stopping", _IMPROVES, "        if best_value is None or value > best_value:\n"),
    "one epoch too many": (
        "q5_early_stopping", "            if wait >= patience:\n", "            if wait > patience:\n"),
    "weights of the stop epoch": (
        "q5_early_stopping", "    best_weights = copy.deepcopy(snapshots[best_epoch - 1])\n",
        "    best_weights = copy.deepcopy(snapshots[stop_epoch - 1])\n"),
    "axis of the members kept": (
        "q6_ensemble_predict", _MEAN,
        "    probs = np.mean(np.stack([np.asarray(p, dtype=np.float64) for p in prob_list]), axis=0, keepdims=True)\n"),
    "sum instead of mean": (
        "q6_ensemble_predict", _MEAN,
        "    probs = np.sum(np.stack([np.asarray(p, dtype=np.float64) for p in prob_list]), axis=0)\n"),
    "count instead of fraction": (
        "q7_ensemble_accuracy", _ACC, "    accuracy = float(np.sum(predicted == np.asarray(y)))\n"),
    "mean of the members' accuracies": (
        "q7_ensemble_accuracy", "    predicted = mean_probs.argmax(axis=1)\n" + _ACC,
        "    accuracy = float(np.mean([np.mean(np.asarray(p).argmax(axis=1) == np.asarray(y)) for p in prob_list]))\n"),
}

# never two bugs of one question in the same submission
GROUPS = [
    ["log base 10", "uniform, not in log space", "worst first", "argmax picks a nan", "ties count as improvements",
     "axis of the members kept"],
    ["ln(C - 1)", "decimal logarithm with exp", "ties in reverse order", "full width on each side",
     "min_delta ignored", "sum instead of mean", "mean of the members' accuracies"],
    ["each axis drawn for all trials first", "linear instead of log width", "one epoch too many"],
    ["weights of the stop epoch", "count instead of fraction"],
]

# The right numbers in the wrong shape: the message must name both shapes.
SHAPE_BUGS = {
    "axis of the members kept": "has shape (1, 5, 4), expected (5, 4)",
}


# the contract's tests; tagged: the cells tagged raises-exception (seven self-checks and the demo);
# leaked: what the blank exercise must not show
globals().update(contract_tests(SET, QUESTIONS, BUGS, GROUPS, SHAPE_BUGS, tagged=8, leaked=(
    "np.nanargmax", "trial[\"score\"], reverse=True", "(2.0 * factor)", "copy.deepcopy(snapshots",
    "float(np.log(num_classes))", "from course_lib", "_Fixed",
)))


# -- the expected values are the library's ------------------------------------------------------------
def _evaluated(value):
    return eval(value.src, {"np": np, "math": math}) if isinstance(value, Expr) else value  # noqa: S307


class _Fixed:
    """A 'model' whose probabilities are given (scores = their log)."""

    def __init__(self, probs):
        self.params, self._scores = {}, np.log(probs)

    def scores(self, x):
        return self._scores


def _library_answers():
    from course_lib import babysit, ensembles, search

    def sample(rng, low, high, n):
        axis = search.log_uniform(low, high)
        return np.array([axis.sample(rng) for _ in range(n)])

    def random_search(objective, space, n_trials, rng):
        axes = {name: search.log_uniform(lo, hi) for name, (lo, hi) in space.items()}
        points = [{name: axis.sample(rng) for name, axis in axes.items()} for _ in range(n_trials)]
        trials = [{**p, "score": float(objective(dict(p)))} for p in points]
        result = search.SearchResult(trials=trials, space=axes, maximize=True, method="random", names=list(axes))
        return result._ranked()

    def refine(values, scores, factor=4.0):
        values = np.asarray(values, dtype=float)
        scores = np.asarray(scores, dtype=float)
        best = values[int(np.argmax(np.where(np.isnan(scores), -np.inf, scores)))]
        axis = search.log_uniform(values.min(), values.max()).around(best, factor)
        return axis.lo, axis.hi

    def average(prob_list):
        return ensembles.average_probabilities([_Fixed(p) for p in prob_list], np.zeros((len(prob_list[0]), 1)))

    def accuracy(prob_list, y):
        return ensembles.ensemble_accuracy([_Fixed(p) for p in prob_list], np.zeros((len(prob_list[0]), 1)), y)

    return {"expected_initial_loss": babysit.expected_initial_loss, "sample_log_uniform": sample,
            "random_search": random_search, "refine_range": refine, "ensemble_predict": average,
            "ensemble_accuracy": accuracy}


def test_hidden_cases_agree_with_the_library():
    """Every value the grader expects (but early stopping's, see below) is what course_lib computes."""
    library = _library_answers()
    exercise = load_exercise_set(SET, SOLUTIONS)
    for prepared in exercise.questions:
        assert not prepared.error, prepared.error
        q = prepared.question
        if q.function not in library:
            continue
        for case, ready in zip(q.get_cases(), prepared.cases):
            args = [_evaluated(a) for a in case.args]
            kwargs = {key: _evaluated(v) for key, v in case.kwargs.items()}
            assert_same(ready.expected["result"], library[q.function](*args, **kwargs), f"{q.name}: {case.note}",
                        rtol=1e-10, atol=1e-12)


def _reference():
    namespace: dict = {}
    for _, src in reference_cells(read_source(SOLUTION), SOLUTION.name):
        exec(src, namespace)  # noqa: S102 - the course's own solution
    return namespace


@pytest.mark.parametrize("patience, min_delta", [(3, 0.0), (2, 0.02)])
def test_early_stopping_is_what_the_solver_does(patience, min_delta):
    """A real Solver run with patience stops after the epoch the reference names, its history's
    best epoch is the reference's, and the weights it restores are the reference's snapshot."""
    from course_lib.data.synthetic import make_blobs
    from course_lib.scratch.model import MLP
    from course_lib.scratch.optim import SGD
    from course_lib.scratch.solver import Solver

    rng = np.random.default_rng(3)
    x, y = make_blobs(rng, 240, centers=4, std=1.6)
    data = {"x_train": x[:120], "y_train": y[:120], "x_val": x[120:], "y_val": y[120:]}
    model = MLP([2, 16, 4], reg=0.0, rng=0, init="he_normal")
    snapshots = []

    def keep(solver):
        h = solver.history
        if h.steps % h.steps_per_epoch == 0:
            snapshots.append({k: np.array(v) for k, v in solver.model.params.items()})

    solver = Solver(model, data, SGD(lr=0.3, momentum=0.9), batch_size=16, epochs=40, seed=0, progress=False,
                    patience=patience, min_delta=min_delta, callbacks=[keep])
    h = solver.train()
    assert h.stopped_early, "choose a run that stops early"
    stop, best, weights = _reference()["early_stopping"](h.val_acc, patience, snapshots, min_delta)
    assert (stop, best) == (h.epochs, h.best_epoch)
    assert len(snapshots) == stop
    for name, value in model.params.items():
        np.testing.assert_array_equal(weights[name], value)


def test_notebooks_execute_top_to_bottom():
    """The solution runs without error; the blank exercise runs to the end and only its tagged
    cells raise, with NotImplementedError."""
    text = execute_solution_and_blank(SOLUTION, EXERCISE)
    assert text.count("all self-checks passed") == 7
    assert "refined lr range" in text and "ensemble of 5: test accuracy" in text  # the demo ran
