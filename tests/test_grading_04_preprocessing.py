"""Exercise set 04 (data preprocessing): the reference solution scores full marks, the blank
exercise 0, and each planted bug costs exactly the question it is planted in.

Bugs in DIFFERENT questions are planted together in one submission (a question is graded on its
own function only) to keep the suite fast. The shared contract is in
``tests/exercise_contract.py``.
"""

from __future__ import annotations



from exercise_contract import (
    EXERCISES,
    SOLUTIONS,
    assert_exercise_hides_the_solutions,
    contract_tests,
    execute_solution_and_blank,
)

SOLUTION = SOLUTIONS / "04_preprocessing.md"
EXERCISE = EXERCISES / "04_preprocessing.ipynb"
QUESTIONS = {"q1_standardize_train_test": 3, "q2_pca_whiten": 4, "q3_window_level": 3}

# bug -> (question, text in the solution, replacement)
BUGS = {
    "test set standardized with its own statistics": (
        "q1_standardize_train_test", "    z_test = (x_test - mean) / std\n",
        "    z_test = (x_test - x_test.mean(axis=0)) / np.where(x_test.std(axis=0) > 0, x_test.std(axis=0), 1.0)\n"),
    "std divides by N - 1": (
        "q1_standardize_train_test", "    std = x_train.std(axis=0)\n", "    std = x_train.std(axis=0, ddof=1)\n"),
    "constant column divided by zero": (
        "q1_standardize_train_test", "    std = np.where(std > 0, std, 1.0)\n", ""),
    "no sign rule": (
        "q2_pca_whiten", "    vectors = vectors * np.where(pivot < 0, -1.0, 1.0)\n", ""),
    "eigenvalues in increasing order": (
        "q2_pca_whiten", "    order = np.argsort(values)[::-1]\n", "    order = np.argsort(values)\n"),
    "eps ignored": (
        "q2_pca_whiten", "np.sqrt(np.clip(values, 0.0, None) + eps)", "np.sqrt(np.clip(values, 0.0, None))"),
    "covariance divides by N - 1": (
        "q2_pca_whiten", "    cov = centred.T @ centred / x_train.shape[0]\n",
        "    cov = centred.T @ centred / (x_train.shape[0] - 1)\n"),
    "no clipping": (
        "q3_window_level", "    y = np.clip(y, 0.0, 1.0)\n", ""),
    "window from center - width instead of center - width / 2": (
        "q3_window_level", "    low = center - width / 2.0\n", "    low = center - width\n"),
    "window returns a flattened array": (
        "q3_window_level", "    return y\n", "    return y.ravel()\n"),
}

# never two bugs of one question in the same submission
GROUPS = [
    ["test set standardized with its own statistics", "no sign rule", "no clipping"],
    ["std divides by N - 1", "eigenvalues in increasing order",
     "window from center - width instead of center - width / 2"],
    ["constant column divided by zero", "eps ignored", "window returns a flattened array"],
    ["covariance divides by N - 1"],
]


# The right numbers in the wrong shape: the message must name both shapes.
SHAPE_BUGS = {"window returns a flattened array": "`window_level` has shape (42,), expected (6, 7)"}


globals().update(contract_tests("04_preprocessing", QUESTIONS, BUGS, GROUPS, SHAPE_BUGS))


def test_exercise_hides_the_solutions():
    leaked = ("BEGIN SOLUTION", "HIDDEN TESTS", "np.where(pivot < 0", "np.clip(y, 0.0, 1.0)", "fit_standardize")
    assert_exercise_hides_the_solutions(EXERCISE, "04_preprocessing", leaked, tagged=4)  # three self-checks, the demo


def test_notebooks_execute_top_to_bottom():
    """The solution runs without error; the blank exercise runs to the end and only its tagged
    cells raise, with NotImplementedError."""
    text = execute_solution_and_blank(SOLUTION, EXERCISE)
    assert text.count("all self-checks passed") == 3
    assert "soft-tissue window of" in text  # the demo ran
