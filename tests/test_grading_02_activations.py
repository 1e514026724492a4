"""Exercise set 02 (activation functions): the reference solution scores full marks, the blank
exercise 0, and each planted bug costs exactly the question it is planted in.

To keep the suite fast, bugs in DIFFERENT questions are planted together in one submission
(a question is graded on its own function only), and the test checks that exactly the
questions with a bug fail. The helpers ``grade`` and ``by_name`` come from ``tests/test_grading.py``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from test_grading import by_name, grade, to_ipynb

ROOT = Path(__file__).resolve().parents[1]
SOLUTION = ROOT / "solutions" / "02_activations.md"
EXERCISE = ROOT / "exercises" / "02_activations.ipynb"
QUESTIONS = {
    "q1_sigmoid": 1,
    "q2_tanh": 1,
    "q3_relu": 1,
    "q4_leaky_relu": 1,
    "q5_elu": 2,
    "q6_maxout": 3,
    "q7_count_dead_units": 1,
}
FULL = float(sum(QUESTIONS.values()))

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
    "dead units: a zero pre-activation counts as alive": (
        "q7_count_dead_units", "np.all(pre_activations <= 0, axis=0)", "np.all(pre_activations < 0, axis=0)"),
    "dead units: off for ANY example instead of every example": (
        "q7_count_dead_units", "np.all(pre_activations <= 0, axis=0)", "np.any(pre_activations <= 0, axis=0)"),
}

# Groups of bugs planted together: never two bugs in the same question.
GROUPS = [
    ["sigmoid derivative without (1 - out)", "relu derivative 1 at x = 0", "elu through a 0/1 mask: nan for large x",
     "dead units: a zero pre-activation counts as alive"],
    ["tanh derivative 1 - out", "leaky relu ignores the slope argument", "maxout splits the gradient at ties"],
    ["sigmoid as e^x / (1 + e^x): nan at x = 1000", "elu derivative without + alpha", "maxout db averages over the batch",
     "dead units: off for ANY example instead of every example"],
]


def _variant(tmp_path: Path, bugs: list[str]) -> Path:
    text = SOLUTION.read_text(encoding="utf-8")
    for bug in bugs:
        _, old, new = BUGS[bug]
        assert text.count(old) == 1, f"{bug}: edit target found {text.count(old)} times"
        text = text.replace(old, new)
    path = tmp_path / "02_activations.md"
    path.write_text(text, encoding="utf-8")
    return path


def test_groups_cover_every_bug_once_and_never_two_in_one_question():
    planted = [b for group in GROUPS for b in group]
    assert sorted(planted) == sorted(BUGS)
    for group in GROUPS:
        questions = [BUGS[b][0] for b in group]
        assert len(set(questions)) == len(questions)
    assert {BUGS[b][0] for b in BUGS} == set(QUESTIONS)  # every question has at least one planted bug


def test_solution_scores_full_marks_in_both_formats(tmp_path):
    md = grade(SOLUTION)
    assert md.score == md.max_score == FULL
    assert {q.name: q.max_points for q in md.questions} == QUESTIONS
    nb = grade(to_ipynb(SOLUTION, tmp_path / "02_activations.ipynb"))
    assert [q.to_dict() for q in nb.questions] == [q.to_dict() for q in md.questions]


def test_blank_exercise_scores_zero():
    report = grade(EXERCISE)
    assert report.score == 0 and report.max_score == FULL
    for q in report.questions:
        assert not q.passed and "raised NotImplementedError" in q.message, q.message


def test_exercise_hides_the_solutions():
    nb = json.loads(EXERCISE.read_text(encoding="utf-8"))
    assert nb["metadata"]["course_lib"]["exercise"] == "02_activations"
    text = EXERCISE.read_text(encoding="utf-8")
    for leaked in ("BEGIN SOLUTION", "np.expm1(np.minimum", "pieces == winner", "np.all(pre_activations"):
        assert leaked not in text
    tagged = [c for c in nb["cells"] if "raises-exception" in c["metadata"].get("tags", [])]
    assert len(tagged) == 8  # seven self-checks and the demo


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
    assert text.count("all self-checks passed") == 7
    assert "dead units after one step with lr = 5: 18" in text  # the demo kills units

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
