"""The grading contract every exercise set must meet, as helpers shared by the per-set tests.

An exercise set ``NN_topic`` passes when: its reference solution scores full marks (MyST and
.ipynb alike), the generated blank exercise scores 0 with "raised NotImplementedError" on every
question, a bug planted in one question costs exactly that question's points, the grader never
modifies a submission, and both notebooks execute top to bottom (the blank one raising only in
its cells tagged ``raises-exception``). Among the planted bugs, at least one returns the right
numbers in the wrong shape (a ``keepdims=True`` axis, a flattened array): it too costs exactly
its question, with a message that names both shapes (``check_shape_bugs``). Each
``tests/test_grading*.py`` file names its set's questions, points and planted bugs and calls
these helpers; ``contract_tests`` makes the tests every set shares, bound in each set's file.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

from course_lib.grading.grade import grade_notebook
from course_lib.grading.sandbox import Limits

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS = ROOT / "solutions"
EXERCISES = ROOT / "exercises"


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def grade(path: Path, timeout: float = 20.0, memory_mb: int = 2048, **kwargs):
    """Grade in-process and check that the submission was not modified."""
    before = sha(path)
    limits = Limits(timeout=timeout, memory_mb=memory_mb)
    report = grade_notebook(path, solutions_dir=SOLUTIONS, limits=limits, **kwargs)
    assert sha(path) == before, "the grader modified the submission"
    return report


def by_name(report) -> dict:
    return {q.name: q for q in report.questions}


def plant(solution: Path, tmp_path: Path, edits, append: str = "", name: str | None = None) -> Path:
    """A copy of ``solution`` with text replacements ``(old, new)`` (each must match exactly once)
    and an optional extra code cell at the end, written into ``tmp_path``."""
    text = solution.read_text(encoding="utf-8")
    for old, new in edits:
        assert text.count(old) == 1, f"edit target found {text.count(old)} times: {old!r}"
        text = text.replace(old, new)
    if append:
        text = text.rstrip("\n") + "\n\n```{code-cell} ipython3\n" + append.strip("\n") + "\n```\n"
    path = tmp_path / (name or solution.name)
    path.write_text(text, encoding="utf-8")
    return path


def to_ipynb(md_path: Path, ipynb_path: Path) -> Path:
    import jupytext

    jupytext.write(jupytext.read(md_path), ipynb_path, fmt="ipynb")
    return ipynb_path


def assert_only_failing(report, failing: set[str], questions) -> None:
    """Exactly the questions in ``failing`` scored 0; every other one scored full points."""
    qs = by_name(report)
    assert set(qs) == set(questions)
    for name, q in qs.items():
        if name in failing:
            assert not q.passed and q.points == 0, f"{name} should fail: {q.message}"
        else:
            assert q.passed and q.points == q.max_points, f"{name} should pass: {q.message}"


def assert_solution_full_marks(solution: Path, points: dict[str, float], tmp_path: Path) -> None:
    """Full marks for the MyST solution and the same report for its .ipynb form."""
    md = grade(solution)
    assert md.score == md.max_score == float(sum(points.values()))
    assert {q.name: q.max_points for q in md.questions} == points
    assert all(q.passed for q in md.questions)
    nb = grade(to_ipynb(solution, tmp_path / f"{solution.stem}.ipynb"))
    assert [q.to_dict() for q in nb.questions] == [q.to_dict() for q in md.questions]


def assert_blank_scores_zero(exercise: Path, points: dict[str, float]) -> None:
    report = grade(exercise)
    assert report.score == 0 and report.max_score == float(sum(points.values()))
    for q in report.questions:
        assert not q.passed and "raised NotImplementedError" in q.message, q.message


def assert_planted_bugs_cost_their_questions(solution, tmp_path, edits_by_question, points, messages=None) -> None:
    """Plant the edits of several questions at once: exactly those questions lose their points.

    ``messages`` maps a question to words its message must contain (e.g. the shapes of a
    shape bug). A planted bug is the submission's fault, never an internal grader error.
    """
    edits = [e for question_edits in edits_by_question.values() for e in question_edits]
    report = grade(plant(solution, tmp_path, edits))
    failing = set(edits_by_question)
    assert_only_failing(report, failing, points)
    assert report.score == float(sum(points.values())) - sum(points[q] for q in failing)
    assert not report.internal_error, report.notes
    for question, words in (messages or {}).items():
        assert words in by_name(report)[question].message, by_name(report)[question].message


SHAPE_MESSAGE = re.compile(r"has shape \([\d, ]*\), expected \([\d, ]*\)")
"""What the message of a shape bug must say: the shape returned and the shape expected."""


def check_shape_bugs(shape_bugs: dict[str, str], bugs) -> None:
    """A set's shape bugs: at least one, each one of its planted ``bugs``, and each expected
    message (the words the grader's message must contain) naming both shapes."""
    assert shape_bugs, "plant a bug that returns the right numbers in the wrong shape"
    for bug, words in shape_bugs.items():
        assert bug in bugs, f"shape bug {bug!r} is not planted"
        assert SHAPE_MESSAGE.search(words), f"the message of {bug!r} must name both shapes: {words!r}"


def shape_messages(group: list[str], bugs: dict, shape_bugs: dict[str, str]) -> dict[str, str]:
    """``{question: words}`` for the shape bugs of one group of ``bugs`` (name -> (question, ...))."""
    return {bugs[b][0]: shape_bugs[b] for b in group if b in shape_bugs}


def execute_solution_and_blank(solution: Path, exercise: Path) -> str:
    """Run both notebooks top to bottom; returns the solution's printed text.

    The solution must run without any error; in the blank exercise only the cells tagged
    ``raises-exception`` may raise, and with NotImplementedError.
    """
    import jupytext
    import nbclient
    import nbformat

    notebook = jupytext.read(solution)
    nbclient.NotebookClient(notebook, timeout=60, kernel_name="python3").execute()
    outputs = [o for c in notebook.cells if c.cell_type == "code" for o in c.outputs]
    assert [o for o in outputs if o.output_type == "error"] == []

    blank = nbformat.read(exercise, as_version=4)
    nbclient.NotebookClient(blank, timeout=60, kernel_name="python3").execute()
    for cell in blank.cells:
        if cell.cell_type != "code":
            continue
        errors = [o for o in cell.outputs if o.output_type == "error"]
        if "raises-exception" in cell.metadata.get("tags", []):
            assert errors and errors[0].ename == "NotImplementedError", cell.source[:80]
        else:
            assert errors == [], cell.source[:80]
    return "".join(o.get("text", "") for o in outputs)


def group_bugs(bugs: dict, groups: list[list[str]], questions) -> list[dict[str, list]]:
    """Check a set's planted bugs and group them for planting together.

    ``bugs`` maps a bug's name to ``(question, old, new)``; ``groups`` lists bug names planted in
    one submission. Every bug must be in exactly one group, no group may hold two bugs of one
    question (a question is graded on its own function only), and every question must have at
    least one bug. Returns, per group, ``{question: [(old, new), ...]}``.
    """
    planted = [b for group in groups for b in group]
    assert sorted(planted) == sorted(bugs), "every bug must be planted exactly once"
    grouped = []
    for group in groups:
        qs = [bugs[b][0] for b in group]
        assert len(set(qs)) == len(qs), f"two bugs of one question in a group: {group}"
        grouped.append({bugs[b][0]: [bugs[b][1:]] for b in group})
    assert {q for q, *_ in bugs.values()} == set(questions), "every question needs a planted bug"
    return grouped


def assert_exercise_hides_the_solutions(exercise: Path, set_name: str, leaked, tagged: int) -> None:
    """The blank exercise is set ``set_name``'s, contains none of the strings ``leaked``, and has
    ``tagged`` cells tagged ``raises-exception`` (its self-checks and the demo)."""
    import json

    text = exercise.read_text(encoding="utf-8")
    nb = json.loads(text)
    assert nb["metadata"]["course_lib"]["exercise"] == set_name
    for words in leaked:
        assert words not in text, words
    cells = [c for c in nb["cells"] if "raises-exception" in c["metadata"].get("tags", [])]
    assert len(cells) == tagged


def contract_tests(set_name: str, questions: dict[str, float], bugs: dict, groups: list[list[str]],
                   shape_bugs: dict[str, str], *, leaked: tuple[str, ...] | None = None,
                   tagged: int | None = None) -> dict:
    """The contract's tests for exercise set ``set_name``, to bind at module level of its test file
    (``globals().update(contract_tests(...))``), so each keeps its usual name for ``pytest -k``.

    Always: the planted bugs are grouped correctly, the solution scores full marks in both formats,
    the blank exercise scores zero, and each group of planted bugs loses exactly its questions
    (parametrized over ``groups``). With ``leaked`` (strings the blank exercise must not contain)
    and ``tagged`` (its number of cells tagged ``raises-exception``), also: the exercise is what
    ``build_exercise`` makes of the solution now, and hides the solutions.
    """
    solution = SOLUTIONS / f"{set_name}.md"
    exercise = EXERCISES / f"{set_name}.ipynb"

    def test_groups_cover_every_bug_once_and_never_two_in_one_question():
        assert len(group_bugs(bugs, groups, questions)) == len(groups)
        check_shape_bugs(shape_bugs, bugs)

    def test_solution_scores_full_marks_in_both_formats(tmp_path):
        assert_solution_full_marks(solution, questions, tmp_path)

    def test_blank_exercise_scores_zero():
        assert_blank_scores_zero(exercise, questions)

    @pytest.mark.parametrize("group", range(len(groups)))
    def test_planted_bugs_lose_exactly_their_questions(tmp_path, group):
        edits = group_bugs(bugs, groups, questions)[group]
        messages = shape_messages(groups[group], bugs, shape_bugs)
        assert_planted_bugs_cost_their_questions(solution, tmp_path, edits, questions, messages)

    tests = [test_groups_cover_every_bug_once_and_never_two_in_one_question,
             test_solution_scores_full_marks_in_both_formats, test_blank_exercise_scores_zero,
             test_planted_bugs_lose_exactly_their_questions]

    if leaked is not None:
        assert tagged is not None, "give the number of cells tagged raises-exception"

        def test_exercise_is_current_and_hides_the_solutions():
            from course_lib.grading.assign import build_exercise
            from course_lib.grading.spec import load_checks

            checks = load_checks(set_name)
            text = exercise.read_text(encoding="utf-8")
            assert build_exercise(solution, f"solutions/{set_name}.md", checks) == text
            leaked_or_hidden = ("BEGIN SOLUTION", "HIDDEN TESTS", *leaked)
            assert_exercise_hides_the_solutions(exercise, set_name, leaked_or_hidden, tagged)

        tests.insert(1, test_exercise_is_current_and_hides_the_solutions)
    return {test.__name__: test for test in tests}


def assert_same(expected, got, where: str, *, rtol: float, atol: float) -> None:
    """``got`` equals the grader's ``expected`` value: nested dicts (same keys), tuples and lists
    (same lengths) down to arrays of the same shape that agree to ``rtol``/``atol``; ``where``
    names the place in the failure message."""
    import numpy as np

    if isinstance(expected, dict):
        assert set(expected) == set(got), where
        for key in expected:
            assert_same(expected[key], got[key], f"{where}[{key!r}]", rtol=rtol, atol=atol)
    elif isinstance(expected, (tuple, list)):
        assert len(expected) == len(got), where
        for k, (e, g) in enumerate(zip(expected, got)):
            assert_same(e, g, f"{where}[{k}]", rtol=rtol, atol=atol)
    else:
        assert np.shape(expected) == np.shape(got), where
        np.testing.assert_allclose(expected, got, rtol=rtol, atol=atol, err_msg=where)
