"""Exercise set 03 (weight initialization): the solution scores full marks, the blank exercise 0,
and a bug planted in one question costs that question's points and nothing else."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from course_lib.grading.__main__ import main as cli_main
from course_lib.grading.grade import grade_notebook
from course_lib.grading.sandbox import Limits

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS = ROOT / "solutions"
EXERCISES = ROOT / "exercises"
SOLUTION = SOLUTIONS / "03_initialization.md"
EXERCISE = EXERCISES / "03_initialization.ipynb"
POINTS = {"q1_xavier_uniform": 2, "q2_he_normal": 2, "q3_propagate_variance": 3, "q4_preactivation_stds": 3}
FULL = float(sum(POINTS.values()))


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def grade(path: Path):
    before = sha(path)
    report = grade_notebook(path, solutions_dir=SOLUTIONS, limits=Limits(timeout=30.0, memory_mb=2048))
    assert sha(path) == before, "the grader modified the submission"
    return report


def variant(tmp_path: Path, *edits: tuple[str, str]) -> Path:
    text = SOLUTION.read_text(encoding="utf-8")
    for old, new in edits:
        assert text.count(old) == 1, f"edit target found {text.count(old)} times: {old!r}"
        text = text.replace(old, new)
    path = tmp_path / SOLUTION.name
    path.write_text(text, encoding="utf-8")
    return path


def test_exercise_is_current():
    assert cli_main(["assign", "--check", "--source", str(SOLUTIONS), "--dest", str(EXERCISES)]) == 0
    text = EXERCISE.read_text(encoding="utf-8")
    for leaked in ("BEGIN SOLUTION", "second_moment", "rng.uniform(-bound", "stds[layer] = z.std()"):
        assert leaked not in text


def test_solution_scores_full_marks_in_both_formats(tmp_path):
    import jupytext

    md = grade(SOLUTION)
    assert md.score == md.max_score == FULL
    assert {q.name: q.max_points for q in md.questions} == POINTS
    nb_path = tmp_path / "03_initialization.ipynb"
    jupytext.write(jupytext.read(SOLUTION), nb_path, fmt="ipynb")
    assert grade(nb_path).score == FULL


def test_blank_exercise_scores_zero():
    report = grade(EXERCISE)
    assert report.score == 0 and report.max_score == FULL
    assert all("NotImplementedError" in q.message for q in report.questions)


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


@pytest.mark.parametrize("bug", sorted(PLANTED))
def test_planted_bug_loses_only_its_question(tmp_path, bug):
    question, edits = PLANTED[bug]
    report = grade(variant(tmp_path, *edits))
    for q in report.questions:
        if q.name == question:
            assert not q.passed and q.points == 0, f"{bug}: {q.message}"
        else:
            assert q.passed and q.points == q.max_points, f"{bug} broke {q.name}: {q.message}"
    assert report.score == FULL - POINTS[question]


def test_notebooks_execute_top_to_bottom():
    """The solution runs without error; the blank exercise runs to the end with only its
    self-check cells (tagged raises-exception) raising NotImplementedError."""
    import jupytext
    import nbclient
    import nbformat

    solution = jupytext.read(SOLUTION)
    nbclient.NotebookClient(solution, timeout=60, kernel_name="python3").execute()
    errors = [o for c in solution.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert errors == []
    text = "".join(o.get("text", "") for c in solution.cells for o in c.get("outputs", []))
    assert text.count("all self-checks passed") == 4
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
