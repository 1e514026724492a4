"""Exercise set 04 (data preprocessing): the reference solution scores full marks, the blank
exercise 0, and each planted bug costs exactly the question it is planted in.

Bugs in DIFFERENT questions are planted together in one submission (a question is graded on its
own function only) to keep the suite fast. The helpers ``grade``, ``by_name`` and ``to_ipynb``
come from ``tests/test_grading.py``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from test_grading import by_name, grade, to_ipynb

ROOT = Path(__file__).resolve().parents[1]
SOLUTION = ROOT / "solutions" / "04_preprocessing.md"
EXERCISE = ROOT / "exercises" / "04_preprocessing.ipynb"
QUESTIONS = {"q1_standardize_train_test": 3, "q2_pca_whiten": 4, "q3_window_level": 3}
FULL = float(sum(QUESTIONS.values()))

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
}

# never two bugs of one question in the same submission
GROUPS = [
    ["test set standardized with its own statistics", "no sign rule", "no clipping"],
    ["std divides by N - 1", "eigenvalues in increasing order", "window from center - width instead of center - width / 2"],
    ["constant column divided by zero", "eps ignored"],
    ["covariance divides by N - 1"],
]


def _variant(tmp_path: Path, bugs: list[str]) -> Path:
    text = SOLUTION.read_text(encoding="utf-8")
    for bug in bugs:
        _, old, new = BUGS[bug]
        assert text.count(old) == 1, f"{bug}: edit target found {text.count(old)} times"
        text = text.replace(old, new)
    path = tmp_path / "04_preprocessing.md"
    path.write_text(text, encoding="utf-8")
    return path


def test_groups_cover_every_bug_once_and_never_two_in_one_question():
    planted = [b for group in GROUPS for b in group]
    assert sorted(planted) == sorted(BUGS)
    for group in GROUPS:
        questions = [BUGS[b][0] for b in group]
        assert len(set(questions)) == len(questions)
    assert {BUGS[b][0] for b in BUGS} == set(QUESTIONS)


def test_solution_scores_full_marks_in_both_formats(tmp_path):
    md = grade(SOLUTION)
    assert md.score == md.max_score == FULL
    assert {q.name: q.max_points for q in md.questions} == QUESTIONS
    nb = grade(to_ipynb(SOLUTION, tmp_path / "04_preprocessing.ipynb"))
    assert [q.to_dict() for q in nb.questions] == [q.to_dict() for q in md.questions]


def test_blank_exercise_scores_zero():
    report = grade(EXERCISE)
    assert report.score == 0 and report.max_score == FULL
    for q in report.questions:
        assert not q.passed and "raised NotImplementedError" in q.message, q.message


def test_exercise_hides_the_solutions():
    nb = json.loads(EXERCISE.read_text(encoding="utf-8"))
    assert nb["metadata"]["course_lib"]["exercise"] == "04_preprocessing"
    text = EXERCISE.read_text(encoding="utf-8")
    for leaked in ("BEGIN SOLUTION", "HIDDEN TESTS", "np.where(pivot < 0", "np.clip(y, 0.0, 1.0)", "fit_standardize"):
        assert leaked not in text
    tagged = [c for c in nb["cells"] if "raises-exception" in c["metadata"].get("tags", [])]
    assert len(tagged) == 4  # three self-checks and the demo


@pytest.mark.parametrize("group", range(len(GROUPS)))
def test_planted_bugs_lose_exactly_their_questions(tmp_path, group):
    bugs = GROUPS[group]
    failing = {BUGS[b][0] for b in bugs}
    report = grade(_variant(tmp_path, bugs))
    results = by_name(report)
    assert set(results) == set(QUESTIONS)
    for name, q in results.items():
        if name in failing:
            assert not q.passed and q.points == 0, f"{name} should fail: {q.message}"
        else:
            assert q.passed and q.points == q.max_points, f"{name} should pass: {q.message}"
    assert report.score == FULL - sum(QUESTIONS[q] for q in failing)


def test_notebooks_execute_top_to_bottom():
    """The solution runs without error; the blank exercise runs to the end and only its tagged
    cells raise, with NotImplementedError."""
    import jupytext
    import nbclient
    import nbformat

    solution = jupytext.read(SOLUTION)
    nbclient.NotebookClient(solution, timeout=60, kernel_name="python3").execute()
    outputs = [o for c in solution.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    text = "".join(o.get("text", "") for o in outputs)
    assert text.count("all self-checks passed") == 3
    assert "soft-tissue window of" in text  # the demo ran

    blank = nbformat.read(EXERCISE, as_version=4)
    nbclient.NotebookClient(blank, timeout=60, kernel_name="python3").execute()
    for cell in blank.cells:
        if cell.cell_type != "code":
            continue
        errs = [o for o in cell.outputs if o.output_type == "error"]
        if "raises-exception" in cell.metadata.get("tags", []):
            assert errs and errs[0].ename == "NotImplementedError"
        else:
            assert errs == []
