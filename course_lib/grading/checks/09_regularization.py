"""Hidden checks of exercise set 09, "Overfitting and regularization" (``solutions/09_regularization.md``).

Every case is seeded; expected values come from the reference solution in the solution
notebook, computed by the grader process (see :mod:`course_lib.grading.spec`). The reference
agrees with direct definitions, with torch's autograd for the two penalties, and with the
early-stopping bookkeeping of :class:`course_lib.scratch.solver.Solver`
(``tests/test_grading_09_regularization.py``).

The cases are chosen so that the usual slips change the answer: two models only (the variance
divided by R - 1 instead of R), biases of both signs across the test points (the bias averaged
before it is squared), noise variances other than 0 and 1 (sigma added instead of sigma^2);
parameter dictionaries with biases and batch-norm parameters (penalized by mistake); ReLU
activations with exact zeros (the subgradient at 0); validation curves with ties and plateaus,
in both modes (ties counted as improvements, an off-by-one patience); inputs of several shapes
(the noise flattened or shared by the examples). The noise is graded deterministically: each
case hands both sides a fresh generator with the same seed (an :class:`Expr`).
"""

import numpy as np

from course_lib.grading.spec import Case, Expr, Question


def _rng(seed):
    return Expr(f"np.random.default_rng({seed})")


def _decomposition_cases():
    rng = np.random.default_rng(9001)
    f = rng.normal(size=8)
    offset = np.where(np.arange(8) % 2 == 0, 0.7, -0.4)  # biases of both signs
    return [
        Case(f + offset + 0.3 * rng.normal(size=(20, 8)), f, 0.09, note="R=20 models, M=8 points, noise_var=0.09"),
        Case(rng.normal(size=(2, 5)), rng.normal(size=5), 0.5, note="only two models (R=2)"),
        Case(np.tile(rng.normal(size=6), (4, 1)), rng.normal(size=6), 0.0,
             note="four identical models: no variance, noise_var=0"),
        Case(rng.normal(scale=3.0, size=(50, 1)) + 2.0, np.array([-1.0]), noise_var=2.5,
             note="a single test point, noise_var=2.5 by keyword"),
        Case(f + 0.05 * rng.normal(size=(100, 8)), f, 0.25, note="an unbiased, low-variance model"),
    ]


def _params(rng, dims, extra=False):
    params = {}
    for i, (a, b) in enumerate(zip(dims[:-1], dims[1:]), start=1):
        params[f"W{i}"] = rng.normal(size=(a, b))
        params[f"b{i}"] = rng.normal(size=b)
        if extra and i < len(dims) - 1:
            params[f"gamma{i}"] = rng.uniform(0.5, 2.0, size=b)
            params[f"beta{i}"] = rng.normal(size=b)
    return params


def _l2_cases():
    rng = np.random.default_rng(9002)
    return [
        Case(_params(rng, [4, 3, 2]), 0.01, note="two layers, lam=0.01"),
        Case(_params(rng, [5, 4, 4, 3], extra=True), 0.5,
             note="three layers with batch-norm gamma and beta (not penalized), lam=0.5"),
        Case(_params(rng, [6, 2]), lam=2.0, note="one layer, lam=2 by keyword"),
        Case({"W1": 10.0 * rng.normal(size=(3, 3)), "b1": np.full(3, 100.0)}, 1e-3,
             note="large weights and a large bias"),
    ]


def _l1_cases():
    rng = np.random.default_rng(9003)
    return [
        Case(np.maximum(rng.normal(size=(6, 5)), 0.0), 0.1, note="ReLU activations: many exact zeros"),
        Case(np.tanh(rng.normal(size=(4, 7))), 0.05, note="tanh activations of both signs"),
        Case(np.maximum(rng.normal(size=(2, 3, 4)), 0.0) - np.maximum(rng.normal(size=(2, 3, 4)), 0.0), lam=1.5,
             note="(N, C, L) activations with zeros, lam=1.5 by keyword"),
        Case(rng.normal(size=(3, 2)), 0.0, note="lam=0"),
    ]


def _early_stopping_cases():
    rng = np.random.default_rng(9004)
    acc = [0.40, 0.55, 0.61, 0.61, 0.63, 0.62, 0.63, 0.63, 0.60, 0.64, 0.62]
    loss = [1.9, 1.2, 0.9, 0.95, 0.9, 0.85, 0.85, 0.86, 0.84, 0.9, 0.91, 0.92]
    noisy = (0.9 - 0.5 * np.exp(-np.arange(1, 61) / 8) - 0.002 * np.arange(1, 61)
             + 0.01 * rng.normal(size=60)).round(3)
    return [
        Case(acc, 2, note="accuracy with ties, patience 2"),
        Case(acc, 1, note="patience 1"),
        Case(acc, 3, "max", note="patience 3, mode='max' given positionally"),
        Case(loss, 2, mode="min", note="a loss with ties, mode='min'"),
        Case(loss, 4, mode="min", note="a loss, patience 4"),
        Case([0.5] * 6, 3, note="a flat curve: no epoch after the first improves"),
        Case([0.1, 0.2, 0.3, 0.4, 0.5], 1, note="always improving: runs to the end"),
        Case(noisy, 5, note="a noisy 60-epoch curve (a NumPy array), patience 5"),
        Case(noisy, 30, note="the same curve, patience 30: runs to the end"),
    ]


def _noise_cases():
    rng = np.random.default_rng(9005)
    return [
        Case(_rng(901), rng.normal(size=(5, 4)), 0.3, note="(N, D) = (5, 4), std 0.3"),
        Case(_rng(902), rng.normal(size=(3, 2, 2)), 1.0, note="(N, C, L) inputs, std 1"),
        Case(_rng(903), rng.normal(size=(8, 1)), std=0.05, note="a single feature, std by keyword"),
        Case(_rng(904), rng.normal(size=(2, 6)), 0.0, note="std 0: x itself"),
    ]


QUESTIONS = [
    Question(
        "q1_bias_variance_decomposition",
        function="bias_variance_decomposition",
        points=3,
        cases=_decomposition_cases,
        outputs=("bias2", "variance", "expected_error"),
        rtol=1e-9,
        atol=1e-12,
        title="bias-variance decomposition of the squared error",
    ),
    Question(
        "q2_l2_penalty",
        function="l2_penalty",
        points=2,
        cases=_l2_cases,
        outputs=("penalty", "grads"),
        rtol=1e-9,
        atol=1e-12,
        title="L2 penalty on the weights and its gradient",
    ),
    Question(
        "q3_l1_activation_penalty",
        function="l1_activation_penalty",
        points=2,
        cases=_l1_cases,
        outputs=("penalty", "dh"),
        rtol=1e-9,
        atol=1e-12,
        title="L1 penalty on the activations and its subgradient",
    ),
    Question(
        "q4_early_stopping_epoch",
        function="early_stopping_epoch",
        points=2,
        cases=_early_stopping_cases,
        outputs=("stop_epoch", "best_epoch"),
        rtol=0.0,
        atol=0.0,
        title="early stopping with a patience counter",
    ),
    Question(
        "q5_add_input_noise",
        function="add_input_noise",
        points=1,
        cases=_noise_cases,
        outputs=(),
        rtol=1e-12,
        atol=1e-12,
        title="Gaussian noise on the inputs",
    ),
]
