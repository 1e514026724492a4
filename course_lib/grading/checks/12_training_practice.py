"""Hidden checks of exercise set 12, "Training in practice" (``solutions/12_training_practice.md``).

Every case is seeded; expected values come from the reference solution in the solution
notebook, computed by the grader process (see :mod:`course_lib.grading.spec`). The reference
agrees with the course library where they overlap (``tests/test_grading_12_training_practice.py``):
:func:`course_lib.babysit.expected_initial_loss`, :class:`course_lib.search.LogUniform` (its
samples and ``around``), :func:`course_lib.search.random_search` (the same points from the same
seed, ranked as ``SearchResult`` ranks them), the early stopping of
:class:`course_lib.scratch.solver.Solver` (stop epoch, best epoch and restored weights of a real
run), and :func:`course_lib.ensembles.average_probabilities` / ``ensemble_accuracy``.

Random draws are graded deterministically: each case hands both sides a fresh generator with the
same seed (an :class:`Expr`), and objectives are :class:`Expr` lambdas. The cases are chosen so
that the usual slips change the answer: log base 10, a uniform instead of a log-uniform draw, the
axes drawn in the wrong order, a ranking worst first or with ties reversed, nan scores of diverged
runs (np.argmax picks a nan), ties between best values, best values at the edge, validation curves
with plateaus and gains smaller than min_delta (ties or small gains counted as improvements, an
off-by-one patience, the snapshot of the stop epoch restored), and ensembles of one member and of
members that disagree (a sum instead of a mean, an axis kept, a count instead of a fraction).
"""

import numpy as np

from course_lib.grading.spec import Case, Expr, Question


def _rng(seed):
    return Expr(f"np.random.default_rng({seed})")


def _initial_loss_cases():
    return [
        Case(10, note="C=10: ln 10 = 2.30, the slides' '~2.5'"),
        Case(2, note="C=2"),
        Case(3, note="C=3"),
        Case(num_classes=1000, note="C=1000 by keyword"),
        Case(100, note="C=100"),
    ]


def _log_uniform_cases():
    return [
        Case(_rng(12001), 1e-5, 1e-1, 10, note="ten learning rates in [1e-5, 1e-1]"),
        Case(_rng(12002), 0.5, 2.0, 6, note="a narrow range [0.5, 2]"),
        Case(_rng(12003), 1e-8, 1.0, 1, note="a single draw over eight decades"),
        Case(_rng(12004), low=3.0, high=3000.0, n=25, note="bounds above 1, by keyword"),
    ]


_SMOOTH = Expr("lambda p: 0.9 - 0.05 * (np.log10(p['lr']) + 2.5) ** 2 - 0.01 * (np.log10(p['reg']) + 3.5) ** 2")
_THREE = Expr("lambda p: -abs(np.log(p['lr'] / 0.01)) - 0.2 * abs(np.log(p['wd'] / 1e-4))"
              " - 0.05 * abs(np.log(p['width'] / 64.0))")
_TIES = Expr("lambda p: float(np.round(0.8 - 0.1 * abs(np.log10(p['lr']) + 2), 1))")


def _random_search_cases():
    return [
        Case(_SMOOTH, {"lr": (1e-6, 1e-1), "reg": (1e-7, 1e-1)}, 12, _rng(12011), note="lr and reg, 12 trials"),
        Case(_THREE, {"width": (8.0, 512.0), "lr": (1e-4, 1.0), "wd": (1e-6, 1e-2)}, 9, _rng(12012),
             note="three axes, drawn in the order width, lr, wd"),
        Case(_TIES, {"lr": (1e-5, 1.0)}, 15, _rng(12013), note="scores rounded to 0.1: many ties"),
        Case(_SMOOTH, {"reg": (1e-5, 1e-2), "lr": (1e-3, 1e-2)}, n_trials=1, rng=_rng(12014),
             note="a single trial; reg drawn before lr; by keyword"),
    ]


def _refine_cases():
    rng = np.random.default_rng(12021)
    values = np.exp(rng.uniform(np.log(1e-6), np.log(1e-1), size=12))
    scores = rng.uniform(0.3, 0.9, size=12)
    with_nan = scores.copy()
    with_nan[[2, 7]] = np.nan
    with_nan[np.argmax(scores)] = np.nan  # the best finite score is elsewhere
    ascending = np.sort(values)
    ties = np.array([0.5, 0.7, 0.6, 0.7, 0.2])
    return [
        Case(values, scores, 4.0, note="12 random learning rates, factor 4"),
        Case(values, with_nan, 3.0, note="diverged runs score nan (one of them where the best would be)"),
        Case(ascending, np.linspace(0.1, 0.9, 12), 2.0, note="the best value is the largest: past the edge"),
        Case(np.array([1e-4, 1e-3, 1e-2, 3e-2, 1e-1]), ties, 10.0, note="two best values tie: the first"),
        Case([0.5, 2.0, 8.0], [0.3, 0.1, 0.2], factor=1.5, note="lists, the best the smallest, factor by keyword"),
    ]


def _snapshots(rng, epochs):
    return [{"W1": rng.normal(size=(3, 2)), "b1": rng.normal(size=2), "W2": rng.normal(size=(2, 4))}
            for _ in range(epochs)]


def _early_stopping_cases():
    rng = np.random.default_rng(12031)
    acc = [0.40, 0.55, 0.61, 0.61, 0.63, 0.62, 0.63, 0.63, 0.60, 0.64, 0.62, 0.62]
    neg_loss = [-1.9, -1.2, -0.9, -0.95, -0.9, -0.85, -0.85, -0.86, -0.84, -0.9]
    rising = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6]
    small_gains = [0.50, 0.52, 0.525, 0.53, 0.56, 0.565, 0.57, 0.575, 0.58]
    return [
        Case(acc, 2, _snapshots(rng, 12), note="accuracy with ties, patience 2"),
        Case(acc, 3, _snapshots(rng, 12), note="the same curve, patience 3"),
        Case(acc, 1, _snapshots(rng, 12), 0.015, note="patience 1, min_delta=0.015"),
        Case(neg_loss, 2, _snapshots(rng, 10), note="minus a loss (negative scores), patience 2"),
        Case(rising, 2, _snapshots(rng, 6), note="always improving: runs to the end"),
        Case(small_gains, 3, _snapshots(rng, 9), min_delta=0.02, note="gains below min_delta=0.02 (keyword)"),
        Case(small_gains, 3, _snapshots(rng, 9), note="the same gains without min_delta"),
        Case([0.7], 1, _snapshots(rng, 1), note="a single epoch"),
        Case([0.5, 0.5, 0.5, 0.5], patience=3, snapshots=_snapshots(rng, 4), note="a flat curve, by keyword"),
    ]


def _members(rng, m, n, c, scale=1.0):
    scores = scale * rng.normal(size=(m, n, c))
    e = np.exp(scores - scores.max(axis=2, keepdims=True))
    return [p for p in e / e.sum(axis=2, keepdims=True)]


def _ensemble_cases():
    rng = np.random.default_rng(12041)
    return [
        Case(_members(rng, 3, 5, 4), note="three members, (5, 4)"),
        Case(_members(rng, 1, 6, 3), note="a single member: itself"),
        Case(_members(rng, 7, 2, 10, scale=3.0), note="seven confident members, ten classes"),
        Case(prob_list=_members(rng, 2, 8, 2), note="two members, two classes, by keyword"),
    ]


def _accuracy_cases():
    rng = np.random.default_rng(12051)
    cases = []
    for m, n, c, note in ((3, 20, 4, "three members, 20 examples"), (1, 7, 3, "a single member"),
                          (5, 50, 10, "five members, ten classes")):
        cases.append(Case(_members(rng, m, n, c, scale=2.0), rng.integers(0, c, size=n), note=note))
    disagree = [np.array([[0.9, 0.1], [0.4, 0.6], [0.2, 0.8], [0.6, 0.4]]),
                np.array([[0.45, 0.55], [0.8, 0.2], [0.1, 0.9], [0.3, 0.7]])]
    cases.append(Case(disagree, np.array([0, 0, 1, 1]), note="members that disagree: the average wins"))
    cases.append(Case([np.array([[0.5, 0.5], [0.2, 0.8]])], y=[0, 1], note="a tie goes to class 0; y a list"))
    return cases


QUESTIONS = [
    Question("q1_expected_initial_loss", function="expected_initial_loss", points=1, cases=_initial_loss_cases,
             rtol=1e-12, atol=1e-12, title="the loss of an untrained classifier"),
    Question("q2_sample_log_uniform", function="sample_log_uniform", points=1, cases=_log_uniform_cases,
             rtol=1e-12, atol=0.0, title="sampling in log space"),
    Question("q3_random_search", function="random_search", points=2, cases=_random_search_cases,
             rtol=1e-12, atol=1e-15, title="random search, ranked on the validation score"),
    Question("q4_refine_range", function="refine_range", points=2, cases=_refine_cases,
             outputs=("low", "high"), rtol=1e-10, atol=0.0, title="coarse to fine: a narrower log range"),
    Question("q5_early_stopping", function="early_stopping", points=2, cases=_early_stopping_cases,
             outputs=("stop_epoch", "best_epoch", "best_weights"), rtol=1e-12, atol=1e-15,
             title="early stopping with patience, the best weights restored"),
    Question("q6_ensemble_predict", function="ensemble_predict", points=1, cases=_ensemble_cases,
             rtol=1e-10, atol=1e-12, title="an ensemble's averaged probabilities"),
    Question("q7_ensemble_accuracy", function="ensemble_accuracy", points=1, cases=_accuracy_cases,
             rtol=1e-12, atol=1e-12, title="an ensemble's accuracy"),
]
