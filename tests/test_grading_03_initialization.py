"""Exercise set 03 (weight initialization): the solution scores full marks, the blank exercise 0,
and a bug planted in one question costs that question's points and nothing else."""

from __future__ import annotations

import pytest

from course_lib.grading.__main__ import main as cli_main
from exercise_contract import (
    EXERCISES,
    SOLUTIONS,
    assert_blank_scores_zero,
    assert_planted_bugs_cost_their_questions,
    assert_solution_full_marks,
    check_shape_bugs,
    execute_solution_and_blank,
)

SOLUTION = SOLUTIONS / "03_initialization.md"
EXERCISE = EXERCISES / "03_initialization.ipynb"
POINTS = {"q1_xavier_uniform": 2, "q2_he_normal": 2, "q3_propagate_variance": 3, "q4_preactivation_stds": 3}


def test_exercise_is_current():
    assert cli_main(["assign", "--check", "--source", str(SOLUTIONS), "--dest", str(EXERCISES)]) == 0
    text = EXERCISE.read_text(encoding="utf-8")
    for leaked in ("BEGIN SOLUTION", "second_moment", "rng.uniform(-bound", "stds[layer] = z.std()"):
        assert leaked not in text


def test_solution_scores_full_marks_in_both_formats(tmp_path):
    assert_solution_full_marks(SOLUTION, POINTS, tmp_path)


def test_blank_exercise_scores_zero():
    assert_blank_scores_zero(EXERCISE, POINTS)


PLANTED = {
    "xavier with fan_in only (LeCun's bound)": (
        "q1_xavier_uniform",
        [("bound = gain * math.sqrt(6.0 / (fan_in + fan_out))", "bound = gain * math.sqrt(3.0 / fan_in)")],
    ),
    "xavier ignores the gain": (
        "q1_xavier_uniform",
        [("bound = gain * math.sqrt(6.0 / (fan_in + fan_out))", "bound = math.sqrt(6.0 / (fan_in + fan_out))")],
    ),
    "the slides' typo: multiply by sqrt(fan_in)": (
        "q1_xavier_uniform",
        [("bound = gain * math.sqrt(6.0 / (fan_in + fan_out))", "bound = gain * math.sqrt(6.0) * math.sqrt(fan_in)")],
    ),
    "xavier returns the numbers flattened": (
        "q1_xavier_uniform",
        [("return rng.uniform(-bound, bound, size=(fan_in, fan_out))",
          "return rng.uniform(-bound, bound, size=fan_in * fan_out)")],
    ),
    "he without the leaky slope": (
        "q2_he_normal",
        [("std = math.sqrt(2.0 / ((1.0 + a * a) * fan_in))", "std = math.sqrt(2.0 / fan_in)")],
    ),
    "he with fan_out": (
        "q2_he_normal",
        [("std = math.sqrt(2.0 / ((1.0 + a * a) * fan_in))", "std = math.sqrt(2.0 / ((1.0 + a * a) * fan_out))")],
    ),
    "no ReLU halving": (
        "q3_propagate_variance",
        [('factor = 0.5 if activation == "relu" else 1.0', "factor = 1.0")],
    ),
    "the input is halved too": (
        "q3_propagate_variance",
        [("second_moment = input_var\n", "second_moment = 0.5 * input_var if activation == \"relu\" else input_var\n")],
    ),
    "measures the activations, not the pre-activations": (
        "q4_preactivation_stds",
        [("        stds[layer] = z.std()\n        h = np.maximum(z, 0.0) if activation == \"relu\" else z\n",
          "        h = np.maximum(z, 0.0) if activation == \"relu\" else z\n        stds[layer] = h.std()\n")],
    ),
}


# The right numbers in the wrong shape: the message must name both shapes.
SHAPE_BUGS = {"xavier returns the numbers flattened": "`xavier_uniform` has shape (2048,), expected (64, 32)"}


def test_a_shape_bug_is_planted():
    check_shape_bugs(SHAPE_BUGS, PLANTED)


@pytest.mark.parametrize("bug", sorted(PLANTED))
def test_planted_bug_loses_only_its_question(tmp_path, bug):
    question, edits = PLANTED[bug]
    messages = {question: SHAPE_BUGS[bug]} if bug in SHAPE_BUGS else None
    assert_planted_bugs_cost_their_questions(SOLUTION, tmp_path, {question: edits}, POINTS, messages)


def test_notebooks_execute_top_to_bottom():
    """The solution runs without error; the blank exercise runs to the end with only its
    self-check cells (tagged raises-exception) raising NotImplementedError."""
    assert execute_solution_and_blank(SOLUTION, EXERCISE).count("all self-checks passed") == 4
