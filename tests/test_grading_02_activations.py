"""Exercise set 02 (activation functions): the reference solution scores full marks, the blank
exercise 0, and each planted bug costs exactly the question it is planted in.

To keep the suite fast, bugs in DIFFERENT questions are planted together in one submission
(a question is graded on its own function only), and the test checks that exactly the
questions with a bug fail. The shared contract is in ``tests/exercise_contract.py``.
"""

from __future__ import annotations



from exercise_contract import (
    EXERCISES,
    SOLUTIONS,
    assert_exercise_hides_the_solutions,
    contract_tests,
    execute_solution_and_blank,
)

SOLUTION = SOLUTIONS / "02_activations.md"
EXERCISE = EXERCISES / "02_activations.ipynb"
QUESTIONS = {
    "q1_sigmoid": 1,
    "q2_tanh": 1,
    "q3_relu": 1,
    "q4_leaky_relu": 1,
    "q5_elu": 2,
    "q6_maxout": 3,
    "q7_count_dead_units": 1,
}

# question -> (text in the solution, replacement): one bug per question and kind.
BUGS = {
    "sigmoid derivative without (1 - out)": (
        "q1_sigmoid", "    dx = dout * out * (1.0 - out)\n", "    dx = dout * out\n"),
    "sigmoid as e^x / (1 + e^x): nan at x = 1000": (
        "q1_sigmoid", "        out = 1.0 / (1.0 + np.exp(-x))\n", "        out = np.exp(x) / (1.0 + np.exp(x))\n"),
    "tanh derivative 1 - out": (
        "q2_tanh", "    dx = dout * (1.0 - out**2)\n", "    dx = dout * (1.0 - out)\n"),
    "relu derivative 1 at x = 0": (
        "q3_relu", "    dx = dout * (x > 0)\n", "    dx = dout * (x >= 0)\n"),
    "leaky relu ignores the slope argument": (
        "q4_leaky_relu", "    dx = np.where(positive, dout, negative_slope * dout)\n",
        "    dx = np.where(positive, dout, 0.01 * dout)\n"),
    "elu through a 0/1 mask: nan for large x": (
        "q5_elu", "    out = np.where(positive, x, negative_part)\n",
        "    out = positive * x + (~positive) * alpha * (np.exp(x) - 1.0)\n"),
    "elu derivative without + alpha": (
        "q5_elu", "    dx = dout * np.where(positive, 1.0, negative_part + alpha)\n",
        "    dx = dout * np.where(positive, 1.0, negative_part)\n"),
    "maxout splits the gradient at ties": (
        "q6_maxout", "    delta = np.where(pieces == winner, dout, 0.0)  # (k, N, M)\n",
        "    ties = (z == out)\n    delta = ties * dout / ties.sum(axis=0)\n"),
    "maxout db averages over the batch": (
        "q6_maxout", "    db = delta.sum(axis=1)\n", "    db = delta.mean(axis=1)\n"),
    "maxout db keeps the summed axis (keepdims=True)": (
        "q6_maxout", "    db = delta.sum(axis=1)\n", "    db = delta.sum(axis=1, keepdims=True)\n"),
    "dead units: a zero pre-activation counts as alive": (
        "q7_count_dead_units", "np.all(pre_activations <= 0, axis=0)", "np.all(pre_activations < 0, axis=0)"),
    "dead units: off for ANY example instead of every example": (
        "q7_count_dead_units", "np.all(pre_activations <= 0, axis=0)", "np.any(pre_activations <= 0, axis=0)"),
}

# Groups of bugs planted together: never two bugs in the same question.
GROUPS = [
    ["sigmoid derivative without (1 - out)", "relu derivative 1 at x = 0", "elu through a 0/1 mask: nan for large x",
     "dead units: a zero pre-activation counts as alive", "maxout db keeps the summed axis (keepdims=True)"],
    ["tanh derivative 1 - out", "leaky relu ignores the slope argument", "maxout splits the gradient at ties"],
    ["sigmoid as e^x / (1 + e^x): nan at x = 1000", "elu derivative without + alpha",
     "maxout db averages over the batch", "dead units: off for ANY example instead of every example"],
]


# The right numbers in the wrong shape: the message must name both shapes.
SHAPE_BUGS = {"maxout db keeps the summed axis (keepdims=True)": "`db` has shape (2, 1, 3), expected (2, 3)"}


globals().update(contract_tests("02_activations", QUESTIONS, BUGS, GROUPS, SHAPE_BUGS))


def test_exercise_hides_the_solutions():
    leaked = ("BEGIN SOLUTION", "np.expm1(np.minimum", "pieces == winner", "np.all(pre_activations")
    assert_exercise_hides_the_solutions(EXERCISE, "02_activations", leaked, tagged=8)  # seven self-checks and the demo


def test_notebooks_execute_top_to_bottom():
    """The solution runs without error; the blank exercise runs to the end and only its tagged
    cells raise, with NotImplementedError."""
    text = execute_solution_and_blank(SOLUTION, EXERCISE)
    assert text.count("all self-checks passed") == 7
    assert "dead units after one step with lr = 5: 18" in text  # the demo kills units
