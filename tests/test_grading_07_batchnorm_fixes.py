"""Exercise set 07 (what batch norm fixes): the reference solution scores full marks, the blank
exercise 0, and each planted bug costs exactly the question it is planted in.

Bugs in DIFFERENT questions are planted together in one submission (a question is graded on its
own function only) to keep the suite fast. The shared contract is in
``tests/exercise_contract.py``. The reference itself is checked against the course library and
against central differences.
"""

from __future__ import annotations


import jupytext
import numpy as np

from course_lib.gradcheck import numerical_grad, rel_error
from course_lib.grading.exercise_set import reference_cells
from course_lib.grading.notebook_io import read_source
from course_lib.scratch.activations import ReLU
from course_lib.scratch.batchnorm import BatchNorm, inference, update_running
from course_lib.scratch.linear import Linear
from exercise_contract import (
    EXERCISES,
    SOLUTIONS,
    assert_exercise_hides_the_solutions,
    contract_tests,
    execute_solution_and_blank,
)

SOLUTION = SOLUTIONS / "07_batchnorm_fixes.md"
EXERCISE = EXERCISES / "07_batchnorm_fixes.ipynb"
QUESTIONS = {
    "q1_bn_block_forward": 3,
    "q2_bn_block_eval": 1,
    "q3_bn_block_backward": 3,
    "q4_input_percentiles": 2,
    "q5_saturated_fraction": 1,
}

# bug -> (question, text in the solution, replacement)
BUGS = {
    "running variance keeps the biased batch variance": (
        "q1_bn_block_forward", "momentum * var * n / (n - 1)\n", "momentum * var\n"),
    "momentum weights the old statistics": (
        "q1_bn_block_forward", "    new_mean = (1.0 - momentum) * running_mean + momentum * mean\n",
        "    new_mean = momentum * running_mean + (1.0 - momentum) * mean\n"),
    "running mean updated in place": (
        "q1_bn_block_forward", "    new_mean = (1.0 - momentum) * running_mean + momentum * mean\n",
        "    running_mean *= 1.0 - momentum\n    running_mean += momentum * mean\n    new_mean = running_mean\n"),
    "eps outside the square root": (
        "q1_bn_block_forward", "    inv_std = 1.0 / np.sqrt(var + eps)\n",
        "    inv_std = 1.0 / (np.sqrt(var) + eps)\n"),
    "evaluation mode normalizes with the batch statistics": (
        "q2_bn_block_eval", "gamma * (z - running_mean) / np.sqrt(running_var + eps) + beta",
        "gamma * (z - z.mean(axis=0)) / np.sqrt(z.var(axis=0) + eps) + beta"),
    "running variance used as a standard deviation": (
        "q2_bn_block_eval", "/ np.sqrt(running_var + eps) + beta", "/ (running_var + eps) + beta"),
    "no gradient through the batch mean and variance": (
        "q3_bn_block_backward", "(n * dy - dbeta - xhat * dgamma)", "(n * dy)"),
    "ReLU mask taken from dout": (
        "q3_bn_block_backward", "    dy = dout * (y > 0)\n", "    dy = dout * (dout > 0)\n"),
    "dgamma from y instead of xhat": (
        "q3_bn_block_backward", "    dgamma = (dy * xhat).sum(axis=0)\n", "    dgamma = (dy * y).sum(axis=0)\n"),
    "percentiles returned as (D, K)": (
        "q4_input_percentiles", "    return result\n", "    return result.T\n"),
    "nearest value instead of linear interpolation": (
        "q4_input_percentiles", "np.asarray(q, dtype=np.float64), axis=0)",
        "np.asarray(q, dtype=np.float64), axis=0, method=\"nearest\")"),
    "values on the threshold counted": (
        "q5_saturated_fraction", "np.float64)) > threshold", "np.float64)) >= threshold"),
    "only the upper tail counted": (
        "q5_saturated_fraction", "np.mean(np.abs(np.asarray(x, dtype=np.float64)) > threshold)",
        "np.mean(np.asarray(x, dtype=np.float64) > threshold)"),
}

# never two bugs of one question in the same submission
GROUPS = [
    ["running variance keeps the biased batch variance", "evaluation mode normalizes with the batch statistics",
     "no gradient through the batch mean and variance", "percentiles returned as (D, K)",
     "values on the threshold counted"],
    ["momentum weights the old statistics", "running variance used as a standard deviation",
     "ReLU mask taken from dout", "nearest value instead of linear interpolation", "only the upper tail counted"],
    ["running mean updated in place", "dgamma from y instead of xhat"],
    ["eps outside the square root"],
]

# The right numbers in the wrong shape: the message must name both shapes.
SHAPE_BUGS = {"percentiles returned as (D, K)": "`input_percentiles` has shape (4, 3), expected (3, 4)"}


def _reference():
    """The solution's functions, run as the grader runs them (self-check cells left out)."""
    namespace: dict = {}
    for _, src in reference_cells(read_source(SOLUTION), str(SOLUTION)):
        exec(compile(src, str(SOLUTION), "exec"), namespace)  # noqa: S102 - our own solution
    return namespace


globals().update(contract_tests("07_batchnorm_fixes", QUESTIONS, BUGS, GROUPS, SHAPE_BUGS))


def test_reference_block_matches_the_library_and_central_differences():
    ref = _reference()
    rng = np.random.default_rng(70)
    x, w, b = rng.normal(size=(6, 4)), rng.normal(size=(4, 3)), rng.normal(size=3)
    gamma, beta, dout = rng.uniform(0.5, 2.0, size=3), rng.normal(size=3), rng.normal(size=(6, 3))
    rm, rv = rng.normal(size=3), rng.uniform(1.0, 2.0, size=3)
    out, cache, new_rm, new_rv = ref["bn_block_forward"](x, w, b, gamma, beta, rm, rv, momentum=0.3)
    z, lin_cache = Linear.forward(x, w, b)
    y, bn_cache = BatchNorm.forward(z, gamma, beta)
    relu_out, relu_cache = ReLU.forward(y)
    np.testing.assert_allclose(out, relu_out, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(np.stack([new_rm, new_rv]),
                               np.stack(update_running(rm, rv, bn_cache.mean, bn_cache.var, bn_cache.n, 0.3)),
                               rtol=1e-12)
    np.testing.assert_allclose(ref["bn_block_eval"](x, w, b, gamma, beta, rm, rv),
                               np.maximum(inference(z, rm, rv, gamma, beta), 0.0), rtol=1e-12, atol=1e-12)
    grads = ref["bn_block_backward"](dout, cache)
    (dy,) = ReLU.backward(dout, relu_cache)
    dz, dgamma, dbeta = BatchNorm.backward(dy, bn_cache)
    for mine, lib in zip(grads, Linear.backward(dz, lin_cache) + (dgamma, dbeta)):
        np.testing.assert_allclose(mine, lib, rtol=1e-10, atol=1e-12)
    inputs = [x, w, b, gamma, beta]
    for k, (value, grad) in enumerate(zip(inputs, grads)):
        def block(v, k=k):
            args = list(inputs)
            args[k] = v
            return ref["bn_block_forward"](*args, rm, rv)[0]
        numeric = numerical_grad(block, value.copy(), dout, h=1e-5)
        assert rel_error(grad, numeric) < 1e-6 or np.abs(grad - numeric).max() < 1e-8, k


def test_exercise_hides_the_solutions():
    leaked = ("BEGIN SOLUTION", "HIDDEN TESTS", "var * n / (n - 1)", "n * dy - dbeta", "np.percentile(",
              "update_running", "course_lib.scratch")
    assert_exercise_hides_the_solutions(EXERCISE, "07_batchnorm_fixes", leaked, tagged=6)  # five self-checks, the demo
    assert jupytext.reads(EXERCISE.read_text(encoding="utf-8"), fmt="ipynb").cells  # a valid notebook


def test_notebooks_execute_top_to_bottom():
    """The solution runs without error; the blank exercise runs to the end and only its tagged
    cells raise, with NotImplementedError."""
    text = execute_solution_and_blank(SOLUTION, EXERCISE)
    assert text.count("all self-checks passed") == 5
    assert "saturated without BN" in text  # the demo ran
