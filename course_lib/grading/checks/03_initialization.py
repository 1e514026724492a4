"""Hidden checks of exercise set 03, "Weight initialization" (``solutions/03_initialization.md``).

The initializers are graded deterministically: each case hands the student's function and the
reference a FRESH generator with the same seed (an :class:`Expr` evaluated on each side), so the
two arrays must agree number by number. The cases vary the fans (including 1 and non-square
layers), the gain and the negative slope, so that a wrong fan, a missing gain or a missing
:math:`1 + a^2` changes the result. Every expected value comes from the reference solution.
"""

import numpy as np

from course_lib.grading.spec import Case, Expr, Question


def _rng(seed):
    # The expression is evaluated before any student code runs, on each side, so both get an
    # identical fresh generator.
    return Expr(f"np.random.default_rng({seed})")


def _xavier_cases():
    return [
        Case(_rng(301), 64, 32, note="fans (64, 32), gain 1"),
        Case(_rng(302), 10, 300, note="fan_out much larger than fan_in"),
        Case(_rng(303), 1, 7, gain=5 / 3, note="fan_in 1, the tanh gain 5/3 as a keyword"),
        Case(_rng(304), 128, 128, 2 ** 0.5, note="square layer, gain sqrt(2) given positionally"),
    ]


def _he_cases():
    return [
        Case(_rng(311), 64, 32, note="ReLU (a = 0), fans (64, 32)"),
        Case(_rng(312), 10, 300, note="fan_in 10, fan_out 300: the std depends on fan_in only"),
        Case(_rng(313), 50, 20, a=0.25, note="leaky ReLU, a = 0.25"),
        Case(_rng(314), 3, 3, 1.0, note="a = 1 (a linear layer): std sqrt(1 / fan_in)"),
    ]


def _propagate_cases():
    rng = np.random.default_rng(321)
    fans = [int(n) for n in rng.integers(2, 200, size=12)]
    return [
        Case(1.0, [256] * 30, [2 / 256] * 30, note="30 ReLU layers with He's variance"),
        Case(1.0, [256] * 30, [1 / 256] * 30, note="30 ReLU layers with Xavier's variance (square layers)"),
        Case(2.5, [64, 128, 128, 10], [0.01, 0.02, 0.005, 0.1], "linear", note="linear layers, input variance 2.5"),
        Case(0.7, fans, [float(v) for v in rng.uniform(0.001, 0.05, size=12)], activation="relu",
             note="12 ReLU layers of random widths and variances"),
        Case(1.0, [5], [0.3], note="a single layer: the input is not halved"),
    ]


def _measure_cases():
    rng = np.random.default_rng(331)
    widths = [20, 30, 30, 10]
    w_relu = [rng.normal(0, np.sqrt(2 / a), size=(a, b)) for a, b in zip(widths[:-1], widths[1:])]
    w_lin = [rng.normal(0, 0.3, size=(a, b)) for a, b in zip(widths[:-1], widths[1:])]
    return [
        Case(rng.normal(size=(50, 20)), w_relu, note="3 ReLU layers with He weights"),
        Case(rng.normal(size=(40, 20)), w_lin, "linear", note="3 linear layers"),
        Case(rng.normal(size=(8, 20)) + 2.0, w_relu, activation="relu", note="inputs with a non-zero mean"),
        Case(rng.normal(size=(5, 20)), w_relu[:1], note="a single layer"),
    ]


QUESTIONS = [
    Question(
        "q1_xavier_uniform",
        function="xavier_uniform",
        points=2,
        cases=_xavier_cases,
        outputs=("W",),
        rtol=1e-9,
        atol=1e-12,
        title="Glorot/Xavier uniform initializer",
    ),
    Question(
        "q2_he_normal",
        function="he_normal",
        points=2,
        cases=_he_cases,
        outputs=("W",),
        rtol=1e-9,
        atol=1e-12,
        title="He normal initializer with the leaky-ReLU slope",
    ),
    Question(
        "q3_propagate_variance",
        function="propagate_variance",
        points=3,
        cases=_propagate_cases,
        outputs=("variances",),
        rtol=1e-9,
        atol=0.0,
        title="variance recursion through a deep net",
    ),
    Question(
        "q4_preactivation_stds",
        function="preactivation_stds",
        points=3,
        cases=_measure_cases,
        outputs=("stds",),
        rtol=1e-9,
        atol=1e-12,
        title="measured std of every pre-activation",
    ),
]
