"""The instructor's side of the grader: a class graded in parallel, the class summary, private
checks, and the same exercise sets run through nbgrader.

Submissions are built from ``solutions/01_backprop.md`` (and ``02_activations.md``) by text
edits, as in tests/test_grading.py; every grading leaves the submissions byte-for-byte unchanged.
"""

from __future__ import annotations

import csv
import importlib.util
import json
import math
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from course_lib.grading import grade as grade_module
from course_lib.grading.__main__ import main as cli_main
from course_lib.grading.exercise_set import merge_questions
from course_lib.grading.grade import grade_paths, student_of
from course_lib.grading.report import NotebookReport, QuestionResult
from course_lib.grading.sandbox import Limits
from course_lib.grading.spec import Case, Question
from course_lib.grading.summary import class_summary, format_class_summary, format_histogram

from exercise_contract import EXERCISES, SOLUTIONS, by_name, grade, plant, sha

SOLUTION = SOLUTIONS / "01_backprop.md"
EXERCISE = EXERCISES / "01_backprop.ipynb"
FULL = 10.0
ROW_MAX_BUG = ("shifted = scores - scores.max(axis=1, keepdims=True)", "shifted = scores - scores.max()")
"""A natural bug the built-in checks miss: one max over the whole batch instead of one per row
(rows whose scores lie far apart then underflow to log 0)."""


def make_class(root: Path) -> Path:
    """``root/submissions``: alice (blank), bob (the solution), carol (one file, the blank exercise
    renamed), dave (the row-max bug), erin (exercise set 02, the solution)."""
    folder = root / "submissions"
    for student in ("alice", "bob", "dave", "erin"):
        (folder / student).mkdir(parents=True)
    (folder / "alice" / "01_backprop.ipynb").write_bytes(EXERCISE.read_bytes())
    (folder / "bob" / "01_backprop.md").write_bytes(SOLUTION.read_bytes())
    (folder / "carol.ipynb").write_bytes(EXERCISE.read_bytes())  # a file per student: identified by metadata
    plant(SOLUTION, folder / "dave", [ROW_MAX_BUG])
    (folder / "erin" / "02_activations.md").write_bytes((SOLUTIONS / "02_activations.md").read_bytes())
    return folder


# -- a class -----------------------------------------------------------------------------------------


def test_grading_a_class_in_parallel(tmp_path, capsys):
    folder = make_class(tmp_path)
    before = {p: sha(p) for p in folder.rglob("*") if p.is_file()}
    out, csv_path = tmp_path / "all.json", tmp_path / "grades.csv"
    rc = cli_main(["grade", str(folder), "--jobs", "2", "--json", str(out), "--csv", str(csv_path), "--quiet"])
    assert rc == 0
    assert {p: sha(p) for p in folder.rglob("*") if p.is_file()} == before
    printed = capsys.readouterr().out

    data = json.loads(out.read_text())  # the JSON format is unchanged: a list of the usual objects
    assert [Path(d["notebook"]).relative_to(folder).as_posix() for d in data] == [
        "alice/01_backprop.ipynb", "bob/01_backprop.md", "carol.ipynb", "dave/01_backprop.md",
        "erin/02_activations.md",
    ]
    assert all(set(d) == {"notebook", "score", "max_score", "questions", "error", "notes", "isolation"} for d in data)
    assert [d["score"] for d in data[:4]] == [0.0, FULL, 0.0, FULL]  # the row-max bug passes the built-in checks
    assert data[4]["score"] == data[4]["max_score"] > 0

    with open(csv_path, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["student"] for r in rows] == ["alice", "bob", "carol", "dave", "erin"]
    assert [r["exercise"] for r in rows] == ["01_backprop"] * 4 + ["02_activations"]
    assert list(rows[0])[:4] == ["notebook", "exercise", "score", "max_score"] and list(rows[0])[-1] == "student"

    assert "class summary: exercise set 01_backprop, 4 notebooks graded (max 10 points)" in printed
    assert "class summary: exercise set 02_activations, 1 notebook graded" in printed
    lines = printed.splitlines()
    q1 = next(line for line in lines if line.strip().startswith("q1_softmax_loss"))
    assert q1.split()[1:] == ["2", "4", "1.00", "50%"]  # points, graded, mean, full marks
    total = next(line for line in lines if line.strip().startswith("total") and "/" not in line)
    assert total.split()[1:] == ["10", "4", "5.00", "50%"]
    assert any(line.strip().startswith("0 | ") and line.endswith("  2") for line in lines)
    assert any(line.strip().startswith("10 | ") and line.endswith("  2") for line in lines)


def test_jobs_bound_the_sandboxes_running_at_once(tmp_path, monkeypatch):
    """With --jobs N, never more than N sandboxes run together, and with N = 2 two do."""
    folder = tmp_path / "submissions"
    slow = "import time\ntime.sleep(1.5)"
    for student in ("ann", "ben", "cat"):
        (folder / student).mkdir(parents=True)
        plant(SOLUTION, folder / student, [], append=slow)
    live, peak = [0], [0]
    real_start = grade_module._start_child

    class Counted:
        def __init__(self, child):
            self.child, self.done = child, False

        def poll(self):
            outcome = self.child.poll()
            if outcome is not None and not self.done:
                self.done = True
                live[0] -= 1
            return outcome

        def abort(self):
            self.child.abort()

    def counting_start(*args, **kwargs):
        child = Counted(real_start(*args, **kwargs))
        live[0] += 1
        peak[0] = max(peak[0], live[0])
        return child

    monkeypatch.setattr(grade_module, "_start_child", counting_start)
    limits = Limits(timeout=20)
    reports, errors = grade_paths([folder], solutions_dir=SOLUTIONS, limits=limits, jobs=2)
    assert errors == [] and [r.score for r in reports] == [FULL] * 3 and peak[0] == 2
    assert [r.student for r in reports] == ["ann", "ben", "cat"]
    peak[0] = 0
    serial, _ = grade_paths([folder], solutions_dir=SOLUTIONS, limits=limits, jobs=1)
    assert peak[0] == 1
    assert [[q.to_dict() for q in r.questions] for r in serial] == [[q.to_dict() for q in r.questions] for r in reports]


def test_an_interrupted_class_stops_its_sandboxes(tmp_path):
    """Ctrl-C while a class is graded: every grading thread stops its sandboxes at once."""
    import time

    slow = plant(SOLUTION, tmp_path, [], append="import time\ntime.sleep(60)")
    grade_module._CANCEL.set()
    try:
        start = time.monotonic()
        with pytest.raises(KeyboardInterrupt):
            grade(slow, timeout=60)
        assert time.monotonic() - start < 30
    finally:
        grade_module._CANCEL.clear()


def test_student_identity(tmp_path):
    root = tmp_path / "subs"
    (root / "alice" / "deep").mkdir(parents=True)
    assert student_of(root / "alice" / "deep" / "01_backprop.ipynb", root) == "alice"
    assert student_of(root / "bob.ipynb", root) == "bob"
    assert student_of(root / "bob.ipynb", root / "bob.ipynb") == "bob"  # a file given by itself


def test_bad_usage_exits_with_2(tmp_path, capsys):
    assert cli_main(["grade", str(SOLUTION), "--jobs", "0"]) == 2
    assert cli_main(["grade", str(SOLUTION), "--checks-only"]) == 2
    assert cli_main(["grade", str(SOLUTION), "--checks", str(tmp_path / "nowhere")]) == 2
    assert "no such folder" in capsys.readouterr().err
    with pytest.raises(ValueError, match="jobs"):
        grade_paths([SOLUTION], jobs=0)


# -- the class summary ---------------------------------------------------------------------------------


def _report(student: str, points: list[float], exercise: str = "01_backprop", internal: int | None = None):
    maxima = [2.0, 3.0]
    qs = [
        QuestionResult(f"q{i + 1}", p, m, p == m, "", error="internal" if internal == i else None)
        for i, (p, m) in enumerate(zip(points, maxima))
    ]
    return NotebookReport(notebook=f"{student}/{exercise}.ipynb", questions=qs, exercise=exercise, student=student)


def test_class_summary_statistics():
    reports = [
        _report("a", [2, 3]),
        _report("b", [0, 3]),
        _report("c", [2, 0]),
        _report("d", [0, 0], internal=1),  # the grader failed on d's q2
        NotebookReport(notebook="e/x.ipynb", error="cannot tell which exercise set x.ipynb belongs to"),
    ]
    (st,) = class_summary(reports)
    assert st.exercise == "01_backprop" and st.max_score == 5 and st.n_graded == 4 and st.n_internal == 1
    q1, q2 = st.questions
    assert (q1.graded, q1.mean_points, q1.full_marks) == (4, 1.0, 0.5)
    assert (q2.graded, q2.mean_points, q2.full_marks) == (3, 2.0, 2 / 3)  # d's internal error left out
    assert st.totals == (5.0, 3.0, 2.0) and st.full_marks == 1 / 3 and st.mean_total == pytest.approx(10 / 3)
    text = format_class_summary(reports)
    assert "1 notebook(s) had an internal grader error" in text and "not graded: 1 notebook(s)" in text
    assert math.isnan(class_summary([_report("x", [0, 0], internal=0)])[0].questions[0].mean_points)


def test_histogram():
    whole = format_histogram([0, 0, 5, 10, 10, 10], 10, width=6).splitlines()
    assert len(whole) == 11 and whole[0] == "   0 | ####    2" and whole[10] == "  10 | ######  3"
    assert whole[5].endswith("1") and whole[3] == "   3 |         0"
    binned = format_histogram([0.5, 49.0, 100.0, 99.9], 100, bins=4, width=4).splitlines()
    assert [line.split()[-1] for line in binned] == ["1", "1", "0", "2"]
    assert binned[-1].startswith("[   75,   100]") and binned[0].startswith("[    0,    25)")
    for bad in ({"max_score": 0}, {"max_score": 10, "bins": 0}):
        with pytest.raises(ValueError):
            format_histogram([1.0], **bad)


# -- private checks -------------------------------------------------------------------------------------

PRIVATE_CHECKS = '''
"""Private checks of exercise set 01: softmax on rows whose scores lie far apart."""
import numpy as np

from course_lib.grading.spec import Case, Question


def _rows_apart():
    rng = np.random.default_rng(7)
    scores = rng.normal(size=(3, 4))
    scores[1] += 2000.0  # one row near 2000, the others near 0
    return [Case(scores, np.array([0, 3, 1]), note="rows whose scores are 2000 apart")]


def _softmax_cases():
    rng = np.random.default_rng(8)
    return [Case(rng.normal(size=(5, 3)), rng.integers(0, 3, size=5), note="a random batch")] + _rows_apart()


QUESTIONS = [
    Question("q1_softmax_loss", function="softmax_loss", points=2, outputs=("loss", "dscores"), cases=_softmax_cases),
    Question("p1_softmax_rows_apart", function="softmax_loss", points=1, outputs=("loss", "dscores"),
             cases=_rows_apart),
]
'''
BUILTIN = ["q1_softmax_loss", "q2_svm_loss", "q3_linear_backward", "q4_numerical_gradient", "q5_two_layer_step"]


def private_checks(tmp_path: Path) -> Path:
    folder = tmp_path / "private"
    folder.mkdir()
    (folder / "01_backprop.py").write_text(textwrap.dedent(PRIVATE_CHECKS), encoding="utf-8")
    return folder


def test_private_checks_catch_a_bug_the_built_in_ones_miss(tmp_path):
    checks = private_checks(tmp_path)
    bug = plant(SOLUTION, tmp_path, [ROW_MAX_BUG])
    assert grade(bug).score == FULL  # the built-in checks miss it

    solution = grade(SOLUTION, private_checks_dir=checks)
    assert [q.name for q in solution.questions] == BUILTIN + ["p1_softmax_rows_apart"]
    assert solution.score == solution.max_score == FULL + 1
    assert by_name(solution)["q1_softmax_loss"].message == "passed (2 checks)"  # the private q1 replaced it

    buggy = grade(bug, private_checks_dir=checks)
    failed = {q.name for q in buggy.questions if not q.passed}
    assert failed == {"q1_softmax_loss", "p1_softmax_rows_apart"} and buggy.score == FULL + 1 - 3
    assert "rows whose scores are 2000 apart" in by_name(buggy)["p1_softmax_rows_apart"].message
    assert not buggy.internal_error


def test_private_checks_on_the_command_line(tmp_path):
    checks = private_checks(tmp_path)
    bug = plant(SOLUTION, tmp_path, [ROW_MAX_BUG])
    for extra, names in (([], BUILTIN + ["p1_softmax_rows_apart"]), (["--checks-only"], [
            "q1_softmax_loss", "p1_softmax_rows_apart"])):
        out = tmp_path / "r.json"
        assert cli_main(["grade", str(bug), "--checks", str(checks), *extra, "--json", str(out), "--quiet"]) == 0
        data = json.loads(out.read_text())
        assert [q["name"] for q in data["questions"]] == names
        assert {q["name"] for q in data["questions"] if not q["passed"]} == {"q1_softmax_loss", "p1_softmax_rows_apart"}
    # A set without a private file is graded with the built-in checks.
    report = grade(SOLUTIONS / "02_activations.md", private_checks_dir=checks)
    assert report.score == report.max_score > 0 and not report.internal_error


def test_merge_questions():
    def q(name, points=1):
        return Question(name, function="f", points=points, cases=[Case(1)])

    builtin = [q("a"), q("b"), q("c")]
    merged = merge_questions(builtin, [q("z"), q("b", points=5)])
    assert [(m.name, m.points) for m in merged] == [("a", 1), ("b", 5), ("c", 1), ("z", 1)]
    assert merge_questions([], [q("z")])[0].name == "z" and merge_questions(builtin, []) == builtin


# -- nbgrader ------------------------------------------------------------------------------------------

HAVE_NBGRADER = importlib.util.find_spec("nbgrader") is not None


def test_nbgrader_source_metadata(tmp_path):
    """Every SOLUTION region is in a solution cell and every HIDDEN TESTS region in a grade cell
    (what nbgrader demands); the grade cells carry the points of the questions."""
    from course_lib.grading.nbgrader_export import export_nbgrader
    from course_lib.grading.spec import load_checks

    written = export_nbgrader(SOLUTIONS, tmp_path)
    assert sorted(p.parent.name for p in written) == sorted(p.stem for p in SOLUTIONS.glob("*.md"))
    for path in written:
        nb = json.loads(path.read_text(encoding="utf-8"))
        points = 0.0
        ids = []
        for cell in nb["cells"]:
            text = "".join(cell["source"])
            meta = cell["metadata"].get("nbgrader", {})
            if "### BEGIN SOLUTION" in text:
                assert meta.get("solution") is True, (path.name, text[:60])
            if "### BEGIN HIDDEN TESTS" in text:
                assert meta.get("grade") is True, (path.name, text[:60])
            if meta:
                ids.append(meta["grade_id"])
            points += meta.get("points", 0) if meta.get("grade") else 0
        assert len(ids) == len(set(ids))
        assert points == sum(q.points for q in load_checks(path.parent.name)), path.name


def _nbgrader(args: list[str], course: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])  # its `alembic`
    proc = subprocess.run(
        [sys.executable, "-m", "nbgrader", *args, f"--CourseDirectory.root={course}"],
        cwd=course, env=env, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


@pytest.mark.slow
@pytest.mark.skipif(not HAVE_NBGRADER, reason="nbgrader is not installed (pip install -e '.[nbgrader]')")
def test_nbgrader_generates_and_autogrades_the_sets(tmp_path):
    """nbgrader's own generate_assignment accepts every set; its autograde gives the solution
    full marks and the generated blank version zero."""
    from course_lib.grading.nbgrader_export import export_nbgrader

    course = tmp_path / "course"
    export_nbgrader(SOLUTIONS, course)
    sets = sorted(p.stem for p in SOLUTIONS.glob("*.md"))
    for name in sets:
        _nbgrader(["generate_assignment", name, "--force"], course)
        release = (course / "release" / name / f"{name}.ipynb").read_text(encoding="utf-8")
        for leaked in ("BEGIN SOLUTION", "END SOLUTION", "HIDDEN TESTS"):
            assert leaked not in release, (name, leaked)
        assert "raise NotImplementedError()" in release
    name = "01_backprop"
    for student in ("alice", "bob"):
        _nbgrader(["db", "student", "add", student], course)
        (course / "submitted" / student / name).mkdir(parents=True)
    shutil.copy(course / "source" / name / f"{name}.ipynb", course / "submitted" / "alice" / name)
    shutil.copy(course / "release" / name / f"{name}.ipynb", course / "submitted" / "bob" / name)
    _nbgrader(["autograde", name], course)
    _nbgrader(["export", "--to", str(course / "grades.csv")], course)
    with open(course / "grades.csv", newline="", encoding="utf-8") as fh:
        rows = [r for r in csv.DictReader(fh) if r["assignment"] == name]
    grades = {r["student_id"]: (float(r["score"]), float(r["max_score"])) for r in rows}
    assert grades == {"alice": (FULL, FULL), "bob": (0.0, FULL)}
