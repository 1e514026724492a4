"""Hidden checks of exercise set 02, "Activation functions" (``solutions/02_activations.md``).

Every case is seeded; expected values come from the reference solution in the solution
notebook, computed by the grader process (see :mod:`course_lib.grading.spec`). Continuous
random inputs never sit exactly on a kink, so the cases that probe the convention at x = 0
(and at maxout ties) put exact zeros (exact ties) in on purpose.
"""

import numpy as np

from course_lib.grading.spec import Case, Question


def _with_zeros(rng, shape, scale=2.0, frac=0.25):
    """Normal draws with about ``frac`` of the entries set to exactly 0 (the kink of a rectifier)."""
    x = scale * rng.normal(size=shape)
    x[rng.random(shape) < frac] = 0.0
    return x


def _unary_cases(seed, extreme=False, kink=False):
    rng = np.random.default_rng(seed)
    cases = [
        Case(rng.normal(size=(5, 4)), rng.normal(size=(5, 4)), note="a 5 x 4 batch"),
        Case(4.0 * rng.normal(size=(3, 2, 6)), rng.normal(size=(3, 2, 6)), note="a 3-D array, inputs of spread 4"),
        Case(rng.normal(size=7), np.ones(7), note="a 1-D array, dout = 1 (the derivative itself)"),
    ]
    if kink:
        cases.append(Case(_with_zeros(rng, (6, 5)), rng.normal(size=(6, 5)),
                          note="exact zeros in x: the derivative at the kink"))
    if extreme:
        big = np.array([[-1000.0, -750.0, -40.0, 0.0], [40.0, 750.0, 1000.0, 3.0]])
        cases.append(Case(big, rng.normal(size=big.shape), note="inputs up to +-1000 (numerical stability)"))
    return cases


def _leaky_cases():
    rng = np.random.default_rng(2004)
    return [
        Case(rng.normal(size=(5, 4)), rng.normal(size=(5, 4)), note="default slope 0.01"),
        Case(_with_zeros(rng, (6, 3)), rng.normal(size=(6, 3)), negative_slope=0.1,
             note="slope 0.1 (the slides'), exact zeros"),
        Case(3.0 * rng.normal(size=(2, 3, 4)), rng.normal(size=(2, 3, 4)), 0.25,
             note="slope 0.25 given positionally, 3-D"),
        Case(_with_zeros(rng, 8), np.ones(8), note="default slope, exact zeros, dout = 1"),
    ]


def _elu_cases():
    rng = np.random.default_rng(2005)
    big = np.array([[-1000.0, -30.0, 0.0, 1e-12], [30.0, 710.0, 1000.0, -1e-12]])
    return [
        Case(2.0 * rng.normal(size=(5, 4)), rng.normal(size=(5, 4)), note="alpha = 1"),
        Case(_with_zeros(rng, (4, 6)), rng.normal(size=(4, 6)), alpha=0.5, note="alpha = 0.5, exact zeros"),
        Case(3.0 * rng.normal(size=(2, 2, 3)), rng.normal(size=(2, 2, 3)), 2.0,
             note="alpha = 2 given positionally, 3-D"),
        Case(big, rng.normal(size=big.shape), note="inputs up to 1000 (no overflow into nan)"),
    ]


def _maxout_cases():
    rng = np.random.default_rng(2006)
    cases = []
    shapes = ((4, 5, 2, 3, "k = 2 pieces"), (6, 3, 4, 2, "k = 4 pieces"), (1, 7, 3, 5, "a single example"))
    for n, d, k, m, note in shapes:
        cases.append(Case(rng.normal(size=(n, d)), rng.normal(size=(k, d, m)), rng.normal(size=(k, m)),
                          rng.normal(size=(n, m)), note=note))
    w = rng.normal(size=(4, 3))
    b = rng.normal(size=3)
    tied_w = np.stack([0.5 * w, w, w])  # pieces 1 and 2 identical: ties wherever they win
    tied_b = np.stack([b - 5.0, b, b])
    cases.append(Case(rng.normal(size=(5, 4)), tied_w, tied_b, rng.normal(size=(5, 3)),
                      note="two identical pieces: ties go to the first maximal piece"))
    cases.append(Case(rng.normal(size=(3, 4)), np.zeros((2, 4, 2)), np.zeros((2, 2)), rng.normal(size=(3, 2)),
                      note="all pieces zero: every entry is a tie"))
    return cases


def _dead_cases():
    rng = np.random.default_rng(2007)
    z1 = rng.normal(size=(20, 30)) - 2.0  # many dead units
    z2 = rng.normal(size=(10, 8))
    z2[:, [1, 4]] = -np.abs(z2[:, [1, 4]])  # two dead units
    z3 = np.zeros((5, 6))
    z3[0, 2] = 1e-9  # all zero but one entry: 5 dead units
    z4 = np.abs(rng.normal(size=(4, 5)))  # none dead
    return [
        Case(z1, note="shifted pre-activations, many dead units"),
        Case(z2, note="two dead units"),
        Case(z3, note="exact zeros count as off"),
        Case(z4, note="no dead unit"),
        Case(-np.abs(rng.normal(size=(1, 9))), note="a single example"),
    ]


QUESTIONS = [
    Question("q1_sigmoid", function="sigmoid_forward_backward", points=1,
             cases=lambda: _unary_cases(2001, extreme=True), outputs=("out", "dx"), rtol=1e-7, atol=1e-12,
             title="sigmoid forward and backward"),
    Question("q2_tanh", function="tanh_forward_backward", points=1,
             cases=lambda: _unary_cases(2002, extreme=True), outputs=("out", "dx"), rtol=1e-7, atol=1e-12,
             title="tanh forward and backward"),
    Question("q3_relu", function="relu_forward_backward", points=1,
             cases=lambda: _unary_cases(2003, kink=True), outputs=("out", "dx"), rtol=1e-9, atol=1e-12,
             title="ReLU forward and backward"),
    Question("q4_leaky_relu", function="leaky_relu_forward_backward", points=1, cases=_leaky_cases,
             outputs=("out", "dx"), rtol=1e-9, atol=1e-12, title="leaky ReLU forward and backward"),
    Question("q5_elu", function="elu_forward_backward", points=2, cases=_elu_cases,
             outputs=("out", "dx"), rtol=1e-7, atol=1e-12, title="ELU forward and backward"),
    Question("q6_maxout", function="maxout_forward_backward", points=3, cases=_maxout_cases,
             outputs=("out", "dx", "dw", "db"), rtol=1e-7, atol=1e-10, title="maxout layer forward and backward"),
    Question("q7_count_dead_units", function="count_dead_units", points=1, cases=_dead_cases,
             outputs=(), rtol=0.0, atol=0.0, title="count dead ReLU units"),
]
