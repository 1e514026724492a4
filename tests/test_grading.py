"""Tests of exercise generation and of the grader (``python -m course_lib.grading``).

Submissions are built from the solution notebook ``solutions/01_backprop.md`` by text
edits (a planted bug, an extra cell), written to a temporary folder and graded.  Every
grading checks that the submission file is byte-for-byte unchanged.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from course_lib.grading import markers
from course_lib.grading.__main__ import main as cli_main
from course_lib.grading.assign import AssignError, assign, build_exercise
from course_lib.grading.report import format_table

from exercise_contract import EXERCISES, ROOT, SOLUTIONS, by_name, execute_solution_and_blank, grade, plant, sha
from exercise_contract import to_ipynb
from exercise_contract import assert_blank_scores_zero, assert_only_failing as _assert_only_failing
from exercise_contract import assert_solution_full_marks, check_shape_bugs

SOLUTION = SOLUTIONS / "01_backprop.md"
EXERCISE = EXERCISES / "01_backprop.ipynb"
POINTS = {
    "q1_softmax_loss": 2.0,
    "q2_svm_loss": 2.0,
    "q3_linear_backward": 2.0,
    "q4_numerical_gradient": 1.0,
    "q5_two_layer_step": 3.0,
}
QUESTIONS = list(POINTS)
FULL = 10.0


# -- helpers (the shared contract is in tests/exercise_contract.py) ----------------------------------


def variant(tmp_path: Path, *edits: tuple[str, str], append: str = "", name: str = "01_backprop.md") -> Path:
    """The solution notebook with text replacements and an optional extra code cell at the end."""
    return plant(SOLUTION, tmp_path, edits, append=append, name=name)


def assert_only_failing(report, failing: set[str]):
    _assert_only_failing(report, failing, QUESTIONS)


# -- assign ---------------------------------------------------------------------------------------


def test_committed_exercises_are_current():
    assert cli_main(["assign", "--check", "--source", str(SOLUTIONS), "--dest", str(EXERCISES)]) == 0


def test_generation_is_deterministic(tmp_path):
    first = build_exercise(SOLUTION, "solutions/01_backprop.md")
    second = build_exercise(SOLUTION, "solutions/01_backprop.md")
    assert first == second == EXERCISE.read_text(encoding="utf-8")
    res = assign(SOLUTIONS, tmp_path / "ex")
    expected = sorted(f"{src.stem}.ipynb" for src in SOLUTIONS.glob("*.md"))
    assert sorted(p.name for p in res.written) == expected
    for name in expected:  # every generated exercise is byte-identical to the committed one
        assert (tmp_path / "ex" / name).read_bytes() == (EXERCISES / name).read_bytes()
    again = assign(SOLUTIONS, tmp_path / "ex")
    assert again.written == [] and again.ok


def test_exercise_content():
    nb = json.loads(EXERCISE.read_text(encoding="utf-8"))
    assert nb["nbformat"] == 4
    assert nb["metadata"]["course_lib"]["exercise"] == "01_backprop"
    assert nb["metadata"]["kernelspec"]["name"] == "python3"
    assert "jupytext" not in nb["metadata"]
    text = EXERCISE.read_text(encoding="utf-8")
    for leaked in ("BEGIN SOLUTION", "END SOLUTION", "HIDDEN TESTS", "_loop_loss", "log_probs", "f_minus"):
        assert leaked not in text
    code = ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"]
    assert all(c["outputs"] == [] and c["execution_count"] is None for c in nb["cells"] if c["cell_type"] == "code")
    for fn in ("softmax_loss", "svm_loss", "linear_backward", "numerical_gradient", "two_layer_step"):
        cell = next(c for c in code if f"def {fn}(" in c)
        assert f"raise NotImplementedError('{fn}: write your solution here')" in cell
        assert '"""' in cell  # the docstring is kept
    checks = [c for c in nb["cells"] if "raises-exception" in c["metadata"].get("tags", [])]
    assert len(checks) == 6  # five self-checks and the training demo


def test_check_reports_stale_missing_and_extra(tmp_path, capsys):
    src, dest = tmp_path / "solutions", tmp_path / "exercises"
    src.mkdir()
    dest.mkdir()
    (src / "01_backprop.md").write_text(SOLUTION.read_text(encoding="utf-8"), encoding="utf-8")
    (dest / "99_orphan.ipynb").write_text("{}", encoding="utf-8")
    assert cli_main(["assign", "--check", "--source", str(src), "--dest", str(dest)]) == 1
    out = capsys.readouterr().out
    assert "missing: " in out and "01_backprop.ipynb" in out
    assert "extra: " in out and "99_orphan.ipynb" in out
    assert not (dest / "01_backprop.ipynb").exists()  # --check never writes
    assert cli_main(["assign", "--source", str(src), "--dest", str(dest)]) == 0
    (src / "01_backprop.md").write_text(
        SOLUTION.read_text(encoding="utf-8").replace("A network learns", "A neural network learns"), encoding="utf-8"
    )
    assert cli_main(["assign", "--check", "--source", str(src), "--dest", str(dest)]) == 1
    assert "stale:" in capsys.readouterr().out


def test_generated_exercise_of_removed_source_is_removed(tmp_path):
    src, dest = tmp_path / "solutions", tmp_path / "exercises"
    src.mkdir()
    (src / "01_backprop.md").write_text(SOLUTION.read_text(encoding="utf-8"), encoding="utf-8")
    assign(src, dest)
    (dest / "01_backprop.ipynb").rename(dest / "02_gone.ipynb")  # generated, but no source
    res = assign(src, dest)
    assert [p.name for p in res.removed] == ["02_gone.ipynb"]
    assert sorted(p.name for p in dest.iterdir()) == ["01_backprop.ipynb"]


@pytest.mark.parametrize(
    "old, new, expected",
    [
        ("    ### END SOLUTION\n    return loss, dscores\n```\n\n"
         "```{code-cell} ipython3\n:tags: [raises-exception]\n\n# Self-check for question 1",
         "    return loss, dscores\n```\n\n"
         "```{code-cell} ipython3\n:tags: [raises-exception]\n\n# Self-check for question 1",
         "has no matching `### END SOLUTION`"),
        ("### END HIDDEN TESTS\nprint(\"svm_loss", "print(\"svm_loss", "has no matching `### END HIDDEN TESTS`"),
        ("    dx = dout @ w.T\n", "    ### BEGIN SOLUTION\n    dx = dout @ w.T\n", "regions cannot nest"),
    ],
)
def test_unbalanced_markers_are_reported_with_file_and_cell(tmp_path, capsys, old, new, expected):
    src = tmp_path / "solutions"
    src.mkdir()
    text = SOLUTION.read_text(encoding="utf-8")
    assert text.count(old) == 1
    (src / "01_backprop.md").write_text(text.replace(old, new), encoding="utf-8")
    with pytest.raises(AssignError) as err:
        assign(src, tmp_path / "exercises")
    assert "01_backprop.md, cell " in str(err.value) and expected in str(err.value)
    assert not (tmp_path / "exercises").exists()
    assert cli_main(["assign", "--source", str(src), "--dest", str(tmp_path / "exercises")]) == 2
    assert expected in capsys.readouterr().err


def test_points_heading_must_match_checks(tmp_path):
    src = tmp_path / "solutions"
    src.mkdir()
    text = SOLUTION.read_text(encoding="utf-8").replace("`svm_loss` (2 points)", "`svm_loss` (3 points)")
    (src / "01_backprop.md").write_text(text, encoding="utf-8")
    with pytest.raises(AssignError, match="q2_svm_loss: no markdown heading"):
        assign(src, tmp_path / "exercises")


def test_stub_source():
    src = (
        "def f(x):\n"
        '    """Doc."""\n'
        "    ### BEGIN SOLUTION\n"
        "    y = 2 * x\n"
        "    ### END SOLUTION\n"
        "    return y\n"
        "### BEGIN HIDDEN TESTS\n"
        "assert f(1) == 2\n"
        "### END HIDDEN TESTS\n"
    )
    assert markers.stub_source(src) == (
        'def f(x):\n    """Doc."""\n    raise NotImplementedError(\'f: write your solution here\')\n    return y'
    )
    assert markers.stub_source("### BEGIN HIDDEN TESTS\nassert 1\n### END HIDDEN TESTS\n") is None
    assert markers.stub_source("Answer:\n### BEGIN SOLUTION\n42\n### END SOLUTION", "markdown") == (
        "Answer:\nYOUR ANSWER HERE"
    )
    assert markers.stub_source("x = 1\n") == "x = 1\n"
    with pytest.raises(markers.MarkerError, match="line 1: `### END SOLUTION` without"):
        markers.find_regions("### END SOLUTION\n")


# -- reference and blank --------------------------------------------------------------------------


def test_solution_scores_full_marks_in_both_formats(tmp_path):
    assert_solution_full_marks(SOLUTION, POINTS, tmp_path)


def test_blank_exercise_scores_zero():
    assert_blank_scores_zero(EXERCISE, POINTS)


def test_notebooks_execute_top_to_bottom():
    """The solution runs without error; the blank exercise runs to the end, and only its
    self-check cells (tagged raises-exception) raise, with NotImplementedError."""
    assert "all self-checks passed" in execute_solution_and_blank(SOLUTION, EXERCISE)


# -- planted bugs ------------------------------------------------------------------------------------

PLANTED = {
    "softmax gradient not divided by N": (
        "q1_softmax_loss",
        [("    dscores /= n\n", "")],
        "`dscores` differs",
    ),
    "softmax without the max shift": (
        "q1_softmax_loss",
        [("shifted = scores - scores.max(axis=1, keepdims=True)", "shifted = scores")],
        "numerically stable",
    ),
    "svm counts the correct class": (
        "q2_svm_loss",
        [("    margins[rows, y] = 0.0\n", "")],
        "`loss` is",
    ),
    "linear db is a mean": (
        "q3_linear_backward",
        [("db = dout.sum(axis=0)", "db = dout.mean(axis=0)")],
        "`db` differs",
    ),
    "linear db keeps the summed axis (keepdims=True)": (
        "q3_linear_backward",
        [("db = dout.sum(axis=0)", "db = dout.sum(axis=0, keepdims=True)")],
        "`db` has shape (1, 3), expected (3,)",
    ),
    "forward differences": (
        "q4_numerical_gradient",
        [("        x[index] = original - h\n", "        x[index] = original\n"), ("/ (2 * h)", "/ h")],
        "differs from the expected value",
    ),
    "x not restored": (
        "q4_numerical_gradient",
        [("        x[index] = original\n        grad", "        grad")],
        "changed its input `x`",
    ),
    "no L2 gradient on W1": (
        "q5_two_layer_step",
        [('grads["W1"] = x.T @ dz + reg * W1', 'grads["W1"] = x.T @ dz')],
        "`new_params['W1']` differs",
    ),
    "updates params in place": (
        "q5_two_layer_step",
        [(
            '    new_params = {key: params[key] - lr * grads[key] for key in ("W1", "b1", "W2", "b2")}\n',
            '    for key in ("W1", "b1", "W2", "b2"):\n        params[key] -= lr * grads[key]\n'
            '    new_params = params\n',
        )],
        "changed its input `params`",
    ),
}


# The right numbers in the wrong shape (their PLANTED message names both shapes).
SHAPE_BUGS = ("linear db keeps the summed axis (keepdims=True)",)


def test_a_shape_bug_is_planted():
    check_shape_bugs({bug: PLANTED[bug][2] for bug in SHAPE_BUGS}, PLANTED)


@pytest.mark.parametrize("bug", sorted(PLANTED))
def test_planted_bug_loses_only_its_question(tmp_path, bug):
    question, edits, message = PLANTED[bug]
    report = grade(variant(tmp_path, *edits))
    assert_only_failing(report, {question})
    assert message in by_name(report)[question].message
    assert report.score == FULL - report.questions[QUESTIONS.index(question)].max_points
    assert by_name(report)[question].error is None and not report.internal_error  # the submission's fault


def test_planted_bug_same_grade_in_ipynb_form(tmp_path):
    md = variant(tmp_path, ("db = dout.sum(axis=0)", "db = dout.mean(axis=0)"))
    r_md = grade(md)
    r_nb = grade(to_ipynb(md, tmp_path / "01_backprop.ipynb"))
    assert [q.to_dict() for q in r_md.questions] == [q.to_dict() for q in r_nb.questions]


# -- robustness and tampering -------------------------------------------------------------------------


def test_infinite_loop_in_a_function_times_out_that_question_only(tmp_path):
    path = variant(tmp_path, ("    dx = dout @ w.T\n", "    while True:\n        pass\n"))
    report = grade(path, timeout=2)
    assert_only_failing(report, {"q3_linear_backward"})
    msg = by_name(report)["q3_linear_backward"].message
    assert msg.startswith("timed out after 2s while running `linear_backward`"), msg
    assert not report.internal_error  # a submission's fault, not the grader's


def test_infinite_loop_at_top_level_is_skipped(tmp_path):
    report = grade(variant(tmp_path, append="while True:\n    pass"), timeout=2)
    assert report.score == FULL
    assert any("was skipped: it timed out after 2s" in note for note in report.notes), report.notes


def test_exit_in_a_function_costs_only_that_question(tmp_path):
    path = variant(
        tmp_path,
        ("    n = scores.shape[0]\n    rows = np.arange(n)\n    shifted",
         "    import os\n    os._exit(0)\n    n = scores.shape[0]\n    rows = np.arange(n)\n    shifted"),
    )
    report = grade(path)
    assert_only_failing(report, {"q1_softmax_loss"})
    assert "exited early" in by_name(report)["q1_softmax_loss"].message


def test_segfault_in_a_function_costs_only_that_question(tmp_path):
    # A genuine segmentation fault: C recursion (repr of a deeply nested list) on a small stack.
    crash = (
        "    import sys, threading\n    sys.setrecursionlimit(10**8)\n    threading.stack_size(256 * 1024)\n"
        "    nested = []\n    for _ in range(100000):\n        nested = [nested]\n"
        "    t = threading.Thread(target=repr, args=(nested,))\n    t.start()\n    t.join()\n"
    )
    path = variant(tmp_path, ("    margins = np.maximum(", crash + "    margins = np.maximum("))
    report = grade(path)
    assert_only_failing(report, {"q2_svm_loss"})
    assert "SIGSEGV" in by_name(report)["q2_svm_loss"].message


def test_exit_at_top_level_is_skipped(tmp_path):
    path = variant(
        tmp_path,
        ("## Question 3: `linear_backward`",
         "```{code-cell} ipython3\nimport os\nos._exit(3)\n```\n\n## Question 3: `linear_backward`"),
        append="import sys\nsys.exit(0)",
    )
    report = grade(path)
    assert report.score == FULL
    assert any("was skipped: it exited with code 3" in n for n in report.notes), report.notes
    assert any("raised SystemExit" in n for n in report.notes), report.notes


@pytest.mark.parametrize(
    "content, message",
    [
        (b'{"cells": [', "the notebook is not valid JSON"),
        (b"\xff\xfe\x00", "not UTF-8"),
        (b'{"cells": "nope"}', "no list of cells"),
        (b"[1, 2]", "not a JSON object"),
    ],
)
def test_malformed_notebook_scores_zero_with_a_message(tmp_path, content, message):
    path = tmp_path / "01_backprop.ipynb"
    path.write_bytes(content)
    report = grade(path)
    assert report.score == 0 and report.max_score == FULL
    assert all(message in q.message and q.message.startswith("could not read the notebook") for q in report.questions)


def test_missing_function_and_syntax_error(tmp_path):
    path = variant(
        tmp_path,
        ("def softmax_loss(scores, y):", "def softmax_loss_v2(scores, y):"),
        ("    rows = np.arange(n)\n    margins", "    rows = np.arange(n\n    margins"),
    )
    report = grade(path)
    assert_only_failing(report, {"q1_softmax_loss", "q2_svm_loss"})
    qs = by_name(report)
    assert qs["q1_softmax_loss"].message.startswith("function `softmax_loss` is not defined")
    assert qs["q2_svm_loss"].message.startswith("function `svm_loss` is not defined")
    assert "SyntaxError" in qs["q2_svm_loss"].message


def test_monkeypatching_numpy_and_builtins_gains_nothing(tmp_path):
    patch = """
import builtins
import numpy as np
import numpy.testing
np.allclose = lambda *a, **k: True
np.isclose = lambda *a, **k: True
np.array_equal = lambda *a, **k: True
np.testing.assert_allclose = lambda *a, **k: None
np.testing.assert_array_equal = lambda *a, **k: None
builtins.abs = lambda x: 0
builtins.round = lambda *a, **k: 0
def softmax_loss(scores, y):
    return 0.0, np.zeros_like(scores)
"""
    report = grade(variant(tmp_path, append=patch))
    assert_only_failing(report, {"q1_softmax_loss"})
    assert "`loss` is 0" in by_name(report)["q1_softmax_loss"].message

    # Breaking builtins wholesale breaks the student's own functions, not the grader.
    wrecked = grade(
        variant(tmp_path, append=patch + "builtins.isinstance = lambda *a: True\n", name="01_backprop-b.md")
    )
    assert not by_name(wrecked)["q1_softmax_loss"].passed
    assert wrecked.score <= FULL - 2 and wrecked.notes == []


def test_ordinary_libraries_work_in_the_sandbox(tmp_path):
    """Plotting, asyncio-using imports, namedtuples and files in the working directory are fine."""
    extra = """
import collections
import matplotlib
import matplotlib.pyplot as plt
Point = collections.namedtuple("Point", "x y", defaults=(0,))
fig, ax = plt.subplots()
ax.plot([0, 1], [Point(1).x, Point(2).x])
fig.savefig("curve.png")
np.save("weights.npy", np.ones(3))
assert np.load("weights.npy").sum() == 3
"""
    report = grade(variant(tmp_path, append=extra))
    assert report.score == FULL
    assert report.notes == []


def test_redefining_checks_and_patching_the_grader_gains_nothing(tmp_path):
    cheat = """
def self_check(*args, **kwargs):
    print("  ok  everything")
def compare(*args, **kwargs):
    return None
QUESTIONS = []
try:
    import course_lib.grading.compare as c
    c.compare = compare
    import course_lib.grading.grade as g
    g._judge = lambda pq, rec: (True, "passed")
except Exception as exc:
    print("patching failed:", exc)
def svm_loss(scores, y, margin=1.0):
    return 1.0, np.ones_like(scores)
"""
    report = grade(variant(tmp_path, append=cheat))
    assert_only_failing(report, {"q2_svm_loss"})


def test_printing_fake_results_gains_nothing(tmp_path):
    fake = """
import json, os
FAKE = {"kind": "question", "name": "q3_linear_backward", "status": "ok", "passed": True,
        "score": 10, "nonce": "0" * 32, "cases": []}
def linear_backward(dout, x, w):
    print("PASSED q3_linear_backward 2/2")
    print(json.dumps(FAKE))
    print(json.dumps({"notebook": "x", "score": 10.0, "max_score": 10.0, "questions": []}))
    for fd in range(3, 40):
        try:
            os.write(fd, (json.dumps(FAKE) + "\\ndone\\n").encode())
        except OSError:
            pass
    return None
"""
    report = grade(variant(tmp_path, append=fake))
    assert_only_failing(report, {"q3_linear_backward"})


def test_writing_outside_the_sandbox_is_refused(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    target = outside / "pwned.txt"
    sub_dir = tmp_path / "submission"
    sub_dir.mkdir()
    submission = sub_dir / "01_backprop.md"
    attacks = f"""
import os, shutil, subprocess
attempts = [
    lambda: open({str(target)!r}, "w").write("pwned"),
    lambda: open({str(submission)!r}, "w").write("pwned"),
    lambda: os.remove({str(submission)!r}),
    lambda: shutil.rmtree({str(outside)!r}),
    lambda: os.rename({str(submission)!r}, "stolen.md"),
    lambda: subprocess.run(["touch", {str(target)!r}]),
    lambda: os.system("touch " + {str(target)!r}),
    lambda: os.symlink({str(target)!r}, "link.txt"),
    lambda: os.open({str(target)!r}, os.O_WRONLY | os.O_CREAT),
]
blocked = []
for attack in attempts:
    try:
        attack()
    except Exception as exc:
        blocked.append(type(exc).__name__)
open("inside.txt", "w").write("the working directory is writable")
"""
    linear_attack = (
        "    ### BEGIN SOLUTION\n    dx = dout @ w.T\n",
        f"    ### BEGIN SOLUTION\n    open({str(target)!r}, 'w').write('pwned')\n    dx = dout @ w.T\n",
    )
    text_path = variant(tmp_path, linear_attack, append=attacks)
    submission.write_bytes(text_path.read_bytes())
    report = grade(submission)
    assert not target.exists()
    assert submission.exists()
    assert sorted(p.name for p in outside.iterdir()) == []
    assert_only_failing(report, {"q3_linear_backward"})
    msg = by_name(report)["q3_linear_backward"].message
    assert "raised PermissionError" in msg and "sandbox" in msg, msg


def test_hidden_test_cells_in_a_submission_are_not_run(tmp_path):
    sneaky = "### BEGIN HIDDEN TESTS\ndef softmax_loss(scores, y):\n    return 0.0, scores\n### END HIDDEN TESTS"
    report = grade(variant(tmp_path, append=sneaky))
    assert report.score == FULL


def test_landlock_blocks_writes_the_audit_hook_cannot_see(tmp_path):
    """The kernel layer (Linux Landlock): a write through a directory fd, which the audit
    hook cannot attribute to a path, is still refused outside the working directory."""
    from course_lib.grading.sandbox import CHILD_SCRIPT

    work, outside = tmp_path / "work", tmp_path / "outside"
    work.mkdir()
    outside.mkdir()
    script = f"""
import importlib.util, os
spec = importlib.util.spec_from_file_location("child", {str(CHILD_SCRIPT)!r})
child = importlib.util.module_from_spec(spec)
spec.loader.exec_module(child)
abi = child._landlock({str(work)!r})
open(os.path.join({str(work)!r}, "inside.txt"), "w").write("fine")
try:
    dir_fd = os.open({str(outside)!r}, os.O_RDONLY)
    os.close(os.open("escaped.txt", os.O_WRONLY | os.O_CREAT, dir_fd=dir_fd))
    print(abi, "WROTE")
except PermissionError:
    print(abi, "BLOCKED")
"""
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    abi, verdict = proc.stdout.split()
    if abi == "0":
        pytest.skip("Landlock is not available on this kernel")
    assert verdict == "BLOCKED"
    assert (work / "inside.txt").exists() and not (outside / "escaped.txt").exists()


def test_memory_bomb_costs_only_that_question(tmp_path):
    bomb = "    blocks = []\n    while True:\n        blocks.append(np.ones(10**7))\n"
    path = variant(tmp_path, ("    W1, b1, W2, b2 = params", bomb + "    W1, b1, W2, b2 = params"))
    report = grade(path, memory_mb=1024)
    assert_only_failing(report, {"q5_two_layer_step"})
    assert "MemoryError" in by_name(report)["q5_two_layer_step"].message


# -- command line, reports, folders -----------------------------------------------------------------


def run_cli(*args, cwd=ROOT):
    return subprocess.run(
        [sys.executable, "-m", "course_lib.grading", *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        start_new_session=True,  # should the sandbox fail, a killed process group is not pytest's
    )


def test_cli_json_report_schema_and_exit_codes(tmp_path):
    out = tmp_path / "report.json"
    proc = run_cli("grade", EXERCISE, "--json", out)
    assert proc.returncode == 0, proc.stderr
    assert "total" in proc.stdout and "0/10" in proc.stdout
    data = json.loads(out.read_text())
    # The design's keys, plus error, notes and isolation.
    assert set(data) == {"notebook", "score", "max_score", "questions", "error", "notes", "isolation"}
    assert data["notebook"].endswith("01_backprop.ipynb")
    assert isinstance(data["score"], float) and data["max_score"] == FULL
    assert data["error"] is None and data["notes"] == []
    for q in data["questions"]:
        assert set(q) == {"name", "points", "max_points", "passed", "message", "error"}
        assert isinstance(q["name"], str) and isinstance(q["message"], str)
        assert isinstance(q["points"], float) and isinstance(q["max_points"], float)
        assert isinstance(q["passed"], bool) and q["error"] is None
    assert [q["name"] for q in data["questions"]] == QUESTIONS
    assert_isolation_entry(data["isolation"])
    assert "isolation: " in proc.stdout and "timeout 30s" in proc.stdout

    missing = run_cli("grade", tmp_path / "nope.ipynb")
    assert missing.returncode != 0 and "no such file" in missing.stderr
    stranger = tmp_path / "zz_unknown.ipynb"
    stranger.write_text(json.dumps({"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    unknown = run_cli("grade", stranger)
    assert unknown.returncode != 0 and "cannot tell which exercise set" in unknown.stderr + unknown.stdout


def assert_isolation_entry(iso: dict, timeout: float = 30.0, memory_mb: float = 2048.0):
    """The report's ``isolation`` entry, as documented in ``course_lib/grading/sandbox.py``."""
    assert set(iso) == {
        "landlock", "landlock_abi", "audit_hook", "rlimits", "memory_mb", "timeout_s", "workdir", "writes", "network"
    }
    assert isinstance(iso["landlock_abi"], int) and iso["landlock"] == (iso["landlock_abi"] > 0)
    assert iso["audit_hook"] is True and iso["workdir"] == "temporary"
    assert iso["rlimits"] == {"memory": True, "cpu": True, "file_size": True, "core_dumps": True}
    assert iso["memory_mb"] == memory_mb and iso["timeout_s"] == timeout
    assert iso["writes"] == ("blocked by Landlock" if iso["landlock"] else "blocked by the audit hook only")
    assert iso["network"] == ("blocked by Landlock" if iso["landlock_abi"] >= 4 else "blocked by the audit hook only")


def test_isolation_is_what_the_sandbox_reports(tmp_path, monkeypatch):
    """The entry records the limits really in force, read back in the sandbox: a limit that was
    asked for but not applied shows as such."""
    import resource

    from course_lib.grading import sandbox

    report = grade(SOLUTION, timeout=12, memory_mb=1536)
    assert_isolation_entry(report.isolation, timeout=12.0, memory_mb=1536.0)
    if resource.getrlimit(resource.RLIMIT_AS)[0] != resource.RLIM_INFINITY:
        pytest.skip("this process already has an address-space limit")
    monkeypatch.setattr(sandbox, "_preexec", lambda limits: (lambda: None))  # set no limit at all
    bare = grade(variant(tmp_path, name="01_backprop-bare.md"))
    assert bare.score == FULL
    assert bare.isolation["rlimits"]["memory"] is False and bare.isolation["memory_mb"] is None
    assert "rlimits NOT set: memory" in format_table(bare)


def test_isolation_entry_names_the_weaker_layers():
    from course_lib.grading.sandbox import Isolation, isolation_entry

    requested = {"memory": 100, "cpu": 10, "file_size": 50, "core_dumps": 0}
    record = {"landlock_abi": 3, "audit_hook": True, "in_workdir": True,
              "rlimits": {"memory": 100, "cpu": 10, "file_size": 50, "core_dumps": 0}}
    old_kernel = isolation_entry(Isolation.from_record(record, requested), 5.0)
    assert old_kernel["writes"] == "blocked by Landlock"
    assert old_kernel["network"] == "blocked by the audit hook only"  # Landlock blocks TCP from ABI 4
    none = dict(record, landlock_abi=0, rlimits={"memory": None, "cpu": 20, "file_size": 50, "core_dumps": 0})
    weakest = Isolation.weakest([Isolation.from_record(record, requested), Isolation.from_record(none, requested)])
    entry = isolation_entry(weakest, 5.0)
    assert entry["landlock"] is False and entry["writes"] == entry["network"] == "blocked by the audit hook only"
    assert entry["rlimits"] == {"memory": False, "cpu": False, "file_size": True, "core_dumps": True}
    assert Isolation.from_record({"kind": "sandbox"}, requested) is None  # malformed: nothing claimed
    assert isolation_entry(None, 5.0) is None


# -- internal grader errors -------------------------------------------------------------------------


def broken_checks(tmp_path: Path, old: str, new: str) -> Path:
    """A copy of the course's checks files with one edit in 01_backprop.py."""
    from course_lib.grading.spec import CHECKS_DIR

    folder = tmp_path / "checks"
    folder.mkdir()
    for path in CHECKS_DIR.glob("*.py"):
        text = path.read_text(encoding="utf-8")
        if path.name == "01_backprop.py":
            assert text.count(old) == 1
            text = text.replace(old, new)
        (folder / path.name).write_text(text, encoding="utf-8")
    return folder


def test_a_broken_check_is_an_internal_error_of_its_question_only(tmp_path):
    checks = broken_checks(
        tmp_path,
        "def _linear_cases():\n",
        "def _linear_cases():\n    raise ValueError('a bug in the checks file')\n",
    )
    out, csv_path = tmp_path / "r.json", tmp_path / "r.csv"
    rc = cli_main(["grade", str(SOLUTION), "--checks", str(checks), "--json", str(out), "--csv", str(csv_path)])
    assert rc == 3
    data = json.loads(out.read_text())
    assert data["error"] == "internal"
    qs = {q["name"]: q for q in data["questions"]}
    broken = qs.pop("q3_linear_backward")
    assert broken["error"] == "internal" and broken["points"] == 0.0 and not broken["passed"]
    assert broken["message"].startswith("internal grader error: the checks of `linear_backward` could not be prepared")
    assert "could not read" not in broken["message"]
    assert all(q["passed"] and q["error"] is None for q in qs.values())  # the others are graded as usual
    assert any("Traceback" in n and "ValueError: a bug in the checks file" in n for n in data["notes"])
    assert "internal grader error" in csv_path.read_text()


def test_an_unloadable_checks_file_is_an_internal_error(tmp_path):
    checks = broken_checks(tmp_path, "QUESTIONS = [\n", "QUESTIONS = [[\n")
    out = tmp_path / "r.json"
    assert cli_main(["grade", str(SOLUTION), "--checks", str(checks), "--json", str(out)]) == 3
    data = json.loads(out.read_text())
    assert data["error"] == "internal" and data["questions"] == [] and data["isolation"] is None
    assert "could not be loaded" in data["notes"][0] and "SyntaxError" in "".join(data["notes"])


def test_an_exception_while_comparing_is_an_internal_error(tmp_path, monkeypatch):
    """A bug in the comparison (injected here) is the grader's: named as such, exit code 3."""
    from course_lib.grading import grade as grade_module

    real_compare = grade_module.compare

    def broken_compare(expected, actual, name, **kwargs):
        if "`svm_loss`" in name:
            raise ZeroDivisionError("injected")
        return real_compare(expected, actual, name, **kwargs)

    monkeypatch.setattr(grade_module, "compare", broken_compare)
    report = grade(SOLUTION)
    assert_only_failing(report, {"q2_svm_loss"})
    q2 = by_name(report)["q2_svm_loss"]
    assert q2.error == "internal" and report.internal_error
    assert q2.message.startswith("internal grader error: judging `svm_loss` raised ZeroDivisionError: injected")
    assert any("Traceback" in n and "broken_compare" in n for n in report.notes)
    assert "INTERNAL GRADER ERROR" in format_table(report)
    assert cli_main(["grade", str(SOLUTION), "--quiet"]) == 3


def test_results_that_cannot_be_decoded_are_an_internal_error(monkeypatch):
    from course_lib.grading import codec
    from course_lib.grading import grade as grade_module

    def undecodable(obj, **kwargs):
        raise codec.CodecError("injected")

    # Only the grader's decoding of results is broken (not the loading of the reference).
    monkeypatch.setattr(grade_module, "codec", SimpleNamespace(decode=undecodable, CodecError=codec.CodecError))
    report = grade(SOLUTION)
    assert report.score == 0 and all(q.error == "internal" for q in report.questions)
    assert all("CodecError: injected" in q.message for q in report.questions)


def test_sandbox_cannot_kill_the_grader(tmp_path):
    path = variant(
        tmp_path,
        ("    dx = dout @ w.T\n",
         "    import os, signal\n    os.kill(os.getppid(), signal.SIGKILL)\n    dx = dout @ w.T\n"),
        append="import os, signal\ntry:\n    os.killpg(os.getpgid(os.getppid()), signal.SIGKILL)\n"
               "except Exception:\n    pass",
    )
    out = tmp_path / "r.json"
    proc = run_cli("grade", path, "--json", out)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(out.read_text())
    msgs = {q["name"]: q for q in data["questions"]}
    assert not msgs["q3_linear_backward"]["passed"]
    assert "PermissionError" in msgs["q3_linear_backward"]["message"]
    assert data["score"] == FULL - 2


def test_grading_a_folder(tmp_path):
    folder = tmp_path / "submissions"
    (folder / "alice").mkdir(parents=True)
    (folder / "bob").mkdir()
    (folder / "carol").mkdir()
    (folder / "alice" / "01_backprop.ipynb").write_bytes(EXERCISE.read_bytes())
    (folder / "bob" / "01_backprop.md").write_bytes(SOLUTION.read_bytes())
    (folder / "carol" / "homework.ipynb").write_bytes(EXERCISE.read_bytes())  # renamed: metadata
    (folder / "README.md").write_text("# Submissions\n\nNot a notebook.\n")
    (folder / ".ipynb_checkpoints").mkdir()
    (folder / ".ipynb_checkpoints" / "01_backprop-checkpoint.ipynb").write_text("{")
    out, csv_path = tmp_path / "all.json", tmp_path / "grades.csv"
    before = {p: sha(p) for p in folder.rglob("*") if p.is_file()}
    rc = cli_main(["grade", str(folder), "--json", str(out), "--csv", str(csv_path), "--quiet"])
    assert rc == 0
    assert {p: sha(p) for p in folder.rglob("*") if p.is_file()} == before
    data = json.loads(out.read_text())
    assert isinstance(data, list) and len(data) == 3
    scores = {Path(d["notebook"]).parent.name: d["score"] for d in data}
    assert scores == {"alice": 0.0, "bob": FULL, "carol": 0.0}
    rows = csv_path.read_text().splitlines()
    assert rows[0].startswith("notebook,exercise,score,max_score,q1_softmax_loss")
    assert len(rows) == 4


def test_isolated_mode_gives_the_same_grades(tmp_path):
    path = variant(tmp_path, ("db = dout.sum(axis=0)", "db = dout.mean(axis=0)"))
    shared, isolated = grade(path), grade(path, isolate=True)
    assert [q.to_dict() for q in shared.questions] == [q.to_dict() for q in isolated.questions]
