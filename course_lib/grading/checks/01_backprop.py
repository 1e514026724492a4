"""Hidden checks of exercise set 01, "From the loss to backpropagation" (``solutions/01_backprop.md``).

Every case is seeded; expected values come from the reference solution in the solution
notebook, computed by the grader process (see :mod:`course_lib.grading.spec`).  Inputs
are continuous random draws, so no case sits on a kink of a hinge or a ReLU.
"""

import numpy as np

from course_lib.grading.spec import Case, Expr, Question


def _labels(rng, n, c):
    return rng.integers(0, c, size=n)


def _softmax_cases():
    rng = np.random.default_rng(1001)
    return [
        Case(rng.normal(size=(6, 4)), _labels(rng, 6, 4), note="a random batch, 6 examples, 4 classes"),
        Case(3.0 * rng.normal(size=(1, 7)), np.array([5]), note="a single example"),
        Case(rng.normal(size=(20, 10)), np.arange(20) % 10, note="20 examples, 10 classes"),
        Case(
            5.0 * rng.normal(size=(5, 3)) + 1e4,
            _labels(rng, 5, 3),
            note="scores near 1e4 (numerical stability)",
        ),
        Case(
            40.0 * rng.normal(size=(4, 6)) - 3e3,
            _labels(rng, 4, 6),
            note="scores near -3000 spread over tens (numerical stability)",
        ),
    ]


def _svm_cases():
    rng = np.random.default_rng(1002)
    confident = rng.normal(size=(4, 5))
    y_conf = _labels(rng, 4, 5)
    confident[np.arange(4), y_conf] += 10.0
    return [
        Case(rng.normal(size=(6, 4)), _labels(rng, 6, 4), note="a random batch, margin 1"),
        Case(2.0 * rng.normal(size=(7, 5)), _labels(rng, 7, 5), margin=0.5, note="margin=0.5"),
        Case(rng.normal(size=(3, 6)), _labels(rng, 3, 6), 2.5, note="margin 2.5 given positionally"),
        Case(confident, y_conf, note="every correct score wins by far: loss 0"),
        Case(rng.normal(size=(1, 3)), np.array([2]), note="a single example"),
    ]


def _linear_cases():
    rng = np.random.default_rng(1003)
    cases = []
    for n, d, m, note in ((4, 5, 3, "N=4, D=5, M=3"), (1, 6, 2, "a single example"), (7, 3, 8, "N=7, D=3, M=8")):
        cases.append(Case(rng.normal(size=(n, m)), rng.normal(size=(n, d)), rng.normal(size=(d, m)), note=note))
    return cases


def _numgrad_cases():
    rng = np.random.default_rng(1004)
    return [
        Case(
            Expr("lambda v: float(np.sum(np.sin(v) * v ** 2))"),
            rng.normal(size=(3, 4)),
            note="f(x) = sum(sin(x) x^2) on a 3 x 4 array",
        ),
        Case(
            Expr("lambda v: float(np.sum(v ** 3) + v[0] * v[-1])"),
            rng.normal(size=5),
            note="a 1-D array, entries that interact",
        ),
        Case(
            Expr("lambda v: float(np.sum(np.exp(2.0 * v)))"),
            rng.normal(size=(2, 3)),
            h=1e-3,
            note="h=1e-3 must be used",
        ),
        Case(
            Expr("lambda v: float(np.sum(np.tanh(v)) + v[0, 1, 0] * v[1, 2, 1])"),
            rng.normal(size=(2, 3, 2)),
            note="a 3-D array",
        ),
    ]


def _params(rng, d, h, c, b1_shift=0.0):
    return {
        "W1": 0.5 * rng.normal(size=(d, h)),
        "b1": 0.1 * rng.normal(size=h) + b1_shift,
        "W2": 0.5 * rng.normal(size=(h, c)),
        "b2": 0.1 * rng.normal(size=c),
    }


def _two_layer_cases():
    rng = np.random.default_rng(1005)
    return [
        Case(_params(rng, 4, 6, 3), rng.normal(size=(5, 4)), _labels(rng, 5, 3), 0.1, 0.05, note="lr=0.1, reg=0.05"),
        Case(_params(rng, 3, 5, 4), rng.normal(size=(6, 3)), _labels(rng, 6, 4), 1.0, 0.0, note="no regularisation"),
        Case(
            _params(rng, 3, 10, 4),
            rng.normal(size=(8, 3)),
            _labels(rng, 8, 4),
            lr=0.01,
            reg=0.5,
            note="strong regularisation, keyword arguments",
        ),
        Case(
            _params(rng, 5, 7, 3, b1_shift=-0.8),
            rng.normal(size=(4, 5)),
            _labels(rng, 4, 3),
            0.3,
            0.1,
            note="many inactive ReLU units",
        ),
    ]


QUESTIONS = [
    Question(
        "q1_softmax_loss",
        function="softmax_loss",
        points=2,
        cases=_softmax_cases,
        outputs=("loss", "dscores"),
        rtol=1e-7,
        atol=1e-10,
        title="softmax cross-entropy loss and gradient",
    ),
    Question(
        "q2_svm_loss",
        function="svm_loss",
        points=2,
        cases=_svm_cases,
        outputs=("loss", "dscores"),
        rtol=1e-7,
        atol=1e-10,
        title="multiclass hinge loss and gradient",
    ),
    Question(
        "q3_linear_backward",
        function="linear_backward",
        points=2,
        cases=_linear_cases,
        outputs=("dx", "dw", "db"),
        rtol=1e-7,
        atol=1e-10,
        title="backward pass of a linear layer",
    ),
    Question(
        "q4_numerical_gradient",
        function="numerical_gradient",
        points=1,
        cases=_numgrad_cases,
        outputs=(),
        rtol=1e-9,
        atol=1e-9,
        title="central-difference gradient",
    ),
    Question(
        "q5_two_layer_step",
        function="two_layer_step",
        points=3,
        cases=_two_layer_cases,
        outputs=("new_params", "loss"),
        rtol=1e-7,
        atol=1e-9,
        title="one SGD step of a two-layer ReLU network",
    ),
]
