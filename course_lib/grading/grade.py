"""Grade submissions: identify the exercise set, sandbox the student's code, score it.

Flow for one notebook (:func:`grade_notebook`):

1. read the file's bytes once (the file is never opened for writing) and parse them
   without executing anything (:func:`~course_lib.grading.notebook_io.parse_submission`);
2. identify the exercise set: the file stem (``01_backprop``), else the
   ``course_lib.exercise`` metadata that ``assign`` writes, else a stem that starts with a
   known set name (``01_backprop-alice``);
3. load the trusted reference outputs for that set
   (:func:`~course_lib.grading.exercise_set.load_exercise_set`);
4. extract the student's code cells: every code cell except those tagged
   ``raises-exception`` (self-checks and demos) and those holding a hidden-test marker
   (test code in a submission is never run); IPython magics become ``pass``;
5. a fresh sandboxed child (:mod:`~course_lib.grading.sandbox`) runs those cells once
   and then calls each question's function on every case (with ``isolate=True``, one
   child per question); the raw outputs come back as JSON and are compared in this
   process (:mod:`~course_lib.grading.compare`).  If the child hangs or dies inside a
   question's function, that question gets 0 with a message and the questions after it
   run again in a new child.

A top-level cell that hangs or kills the interpreter is found from the child's progress
file, skipped, and the affected questions are re-run without it -- so it costs only the
questions whose function it defined.  A malformed notebook scores 0 with a message.
"""

from __future__ import annotations

import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path

from . import codec
from .compare import compare
from .exercise_set import ExerciseSet, PreparedQuestion, load_exercise_set, source_stems, strip_magics
from .markers import has_hidden_tests
from .notebook_io import Notebook, NotebookError, is_text_notebook, parse_submission
from .report import NotebookReport, QuestionResult
from .sandbox import ChildOutcome, ChildRun, Limits

__all__ = [
    "GradingError",
    "grade_notebook",
    "grade_paths",
    "collect_notebooks",
    "default_solutions_dir",
    "METADATA_KEY",
]

METADATA_KEY = "course_lib"
"""Notebook metadata key written by ``assign``: ``{"exercise": "01_backprop", ...}``."""


class GradingError(RuntimeError):
    """Grading could not run for a notebook (unreadable path, unknown exercise set, ...)."""


def default_solutions_dir() -> Path:
    """``./solutions`` if it exists, else the ``solutions/`` folder of the source tree."""
    cwd = Path.cwd() / "solutions"
    if cwd.is_dir():
        return cwd
    return Path(__file__).resolve().parents[2] / "solutions"


# -- identifying the exercise set ---------------------------------------------------------


def _identify(path: Path, nb: Notebook | None, known: list[str]) -> str:
    stem = path.stem
    if stem in known:
        return stem
    if nb is not None:
        meta = nb.metadata.get(METADATA_KEY)
        if isinstance(meta, dict) and meta.get("exercise") in known:
            return meta["exercise"]
    for name in sorted(known, key=len, reverse=True):
        if stem.startswith(name):
            return name
    raise GradingError(
        f"cannot tell which exercise set {path.name} belongs to: name it like one of "
        f"{', '.join(known) or '(none found)'} or keep the notebook metadata written by `assign`"
    )


# -- student cells --------------------------------------------------------------------------


def student_cells(nb: Notebook) -> list[dict]:
    """The code cells the grader runs (see the module docstring, step 4)."""
    cells = []
    for cell in nb.code_cells():
        if "raises-exception" in cell.tags or has_hidden_tests(cell.source):
            continue
        if not cell.source.strip():
            continue
        cells.append({"index": cell.index, "source": strip_magics(cell.source), "label": cell.first_line[:60]})
    return cells


def _cell_name(cells_by_index: dict, index: int) -> str:
    label = cells_by_index.get(index, {}).get("label", "")
    return f"cell {index + 1}" + (f" (`{label}`)" if label else "")


# -- interpreting one child's outcome ---------------------------------------------------------


def _exit_description(rc: int | None, detail: str) -> str:
    if rc is None:
        return "it stopped"
    if rc < 0:
        try:
            sig = signal.Signals(-rc).name
        except ValueError:
            sig = f"signal {-rc}"
        why = {
            "SIGXCPU": " (CPU time limit exceeded)",
            "SIGKILL": " (killed: memory or time limit?)",
            "SIGSEGV": " (segmentation fault)",
            "SIGXFSZ": " (file size limit exceeded)",
        }.get(sig, "")
        return f"it was killed by {sig}{why}"
    if rc == 0:
        return "it exited early (does the code call sys.exit() or os._exit()?)"
    return f"it exited with code {rc}" + (f": {detail}" if detail else "")


def _case_label(pq: PreparedQuestion, k: int) -> str:
    n = len(pq.cases)
    note = pq.cases[k].note if 0 <= k < n else ""
    return f"case {k + 1} of {n}" + (f": {note}" if note else "")


def _error_text(err) -> str:
    if not isinstance(err, dict):
        return "an error"
    etype = str(err.get("type", "Exception"))[:80]
    msg = str(err.get("message", ""))[:400]
    return f"{etype}: {msg}" if msg else etype


def _judge(pq: PreparedQuestion, result: dict) -> tuple[bool, str]:
    q = pq.question
    fn = f"`{q.function}`"
    cases = result.get("cases")
    if len(cases) != len(pq.cases):
        return False, "the grader could not read the results (was the sandbox tampered with?)"
    for k, (case, got) in enumerate(zip(pq.cases, cases)):
        where = _case_label(pq, k)
        if not isinstance(got, dict):
            return False, "the grader could not read the results (was the sandbox tampered with?)"
        if not got.get("ok"):
            if "unreadable" in got:
                return False, f"{fn} returned a value the grader cannot read: {str(got['unreadable'])[:300]} ({where})"
            return False, f"{fn} raised {_error_text(got.get('error'))} ({where})"
        try:
            actual = {
                "result": codec.decode(got.get("result")),
                "args_after": codec.decode(got.get("args_after")),
                "kwargs_after": codec.decode(got.get("kwargs_after")),
            }
        except codec.CodecError:
            return False, "the grader could not read the results (was the sandbox tampered with?)"
        msg = compare(
            case.expected["result"],
            actual["result"],
            f"the value returned by {fn}",
            rtol=q.rtol,
            atol=q.atol,
            names=q.outputs,
        )
        if msg:
            return False, f"{msg} ({where})"
        exp_args, act_args = case.expected["args_after"], actual["args_after"]
        if not isinstance(act_args, list) or len(act_args) != len(exp_args):
            return False, "the grader could not read the results (was the sandbox tampered with?)"
        for i, (e, a) in enumerate(zip(exp_args, act_args)):
            if i in case.expr_args:
                continue
            name = case.arg_names[i] if i < len(case.arg_names) else f"argument {i + 1}"
            if compare(e, a, f"`{name}`", rtol=q.rtol, atol=q.atol):
                return False, (
                    f"{fn} changed its input `{name}` (a function must leave its arguments as it "
                    f"found them: copy before modifying, or restore) ({where})"
                )
        exp_kw, act_kw = case.expected["kwargs_after"], actual["kwargs_after"]
        if not isinstance(act_kw, dict) or set(act_kw) != set(exp_kw):
            return False, "the grader could not read the results (was the sandbox tampered with?)"
        for key in exp_kw:
            if key in case.expr_kwargs:
                continue
            if compare(exp_kw[key], act_kw[key], f"`{key}`", rtol=q.rtol, atol=q.atol):
                return False, f"{fn} changed its input `{key}` ({where})"
    n = len(pq.cases)
    return True, f"passed ({n} check{'s' if n != 1 else ''})"


# -- scheduling ----------------------------------------------------------------------------------


@dataclass
class _Task:
    """Questions run together in one child (all of them, or one with ``isolate``)."""

    questions: list[PreparedQuestion]
    attempts: int = 0


def _run_questions(
    exercise: ExerciseSet, cells: list[dict], limits: Limits, jobs: int, isolate: bool
) -> tuple[list[QuestionResult], list[str]]:
    by_index = {c["index"]: c for c in cells}
    bad_cells: dict[int, str] = {}  # cell index -> why it is skipped
    cell_errors: dict[int, str] = {}
    results: dict[str, QuestionResult] = {}
    if isolate:
        pending = [_Task([pq]) for pq in exercise.questions]
    else:
        pending = [_Task(list(exercise.questions))]
    running: list[tuple[_Task, ChildRun, frozenset]] = []
    max_attempts = len(cells) + len(exercise.questions) + 2
    timeout_txt = f"{limits.timeout:g}s"

    def finish(pq: PreparedQuestion, passed: bool, message: str):
        q = pq.question
        results[q.name] = QuestionResult(q.name, float(q.points) if passed else 0.0, float(q.points), passed, message)

    def problems() -> str:
        notes = [f"{_cell_name(by_index, i)} was skipped: {why}" for i, why in sorted(bad_cells.items())]
        notes += [f"{_cell_name(by_index, i)} raised {err}" for i, err in sorted(cell_errors.items())]
        return ("; problems in the notebook: " + "; ".join(notes[:3])) if notes else ""

    def judge_record(pq: PreparedQuestion, rec: dict):
        fn = f"`{pq.question.function}`"
        status = rec.get("status")
        if status == "missing":
            return finish(pq, False, f"function {fn} is not defined" + problems())
        if status == "not_callable":
            return finish(pq, False, f"{fn} is defined but is not a function")
        if status != "ok" or not isinstance(rec.get("cases"), list):
            return finish(pq, False, f"the grader could not read the results of {fn}")
        try:
            return finish(pq, *_judge(pq, rec))
        except Exception:  # forged or corrupted data must not crash the grader
            return finish(pq, False, f"the grader could not read the results of {fn}")

    def stopped(outcome: ChildOutcome) -> str:
        if outcome.kind == "timeout":
            return f"timed out after {timeout_txt}"
        return _exit_description(outcome.returncode, outcome.detail)

    def handle(task: _Task, outcome: ChildOutcome, excluded: frozenset):
        cells_rec = next((r for r in outcome.records if r.get("kind") == "cells"), None)
        if cells_rec is not None:
            for err in cells_rec.get("cell_errors", []) if isinstance(cells_rec.get("cell_errors"), list) else []:
                if isinstance(err, dict) and isinstance(err.get("cell"), int):
                    line = err.get("line")
                    text = _error_text(err) + (f" (line {line})" if isinstance(line, int) else "")
                    cell_errors.setdefault(err["cell"], text)
        by_name = {
            r["name"]: r for r in outcome.records if r.get("kind") == "question" and isinstance(r.get("name"), str)
        }
        remaining = []
        for pq in task.questions:
            if pq.question.name in by_name:
                judge_record(pq, by_name[pq.question.name])
            else:
                remaining.append(pq)
        if not remaining:
            return
        where = outcome.where
        parts = where.split()
        if outcome.kind == "ok":
            for pq in remaining:
                finish(pq, False, "the grader could not read the results (was the sandbox tampered with?)")
            return
        if cells_rec is None:
            # Died before the questions: in a top-level cell, or while starting.
            if len(parts) == 2 and parts[0] == "cell" and parts[1].isdigit():
                index = int(parts[1])
                if index in by_index and index not in excluded and task.attempts < max_attempts:
                    bad_cells.setdefault(index, "it " + stopped(outcome).removeprefix("it "))
                    pending.append(_Task(remaining, task.attempts))  # again, without that cell
                    return
            for pq in remaining:
                finish(
                    pq,
                    False,
                    "the sandbox could not run the notebook: "
                    + stopped(outcome)
                    + (f" ({outcome.detail})" if outcome.detail and outcome.kind == "timeout" else "")
                    + (" -- is --memory-mb too small?" if where in ("startup", "") else ""),
                )
            return
        failing = None
        if len(parts) >= 2 and parts[0] == "question" and parts[1].isdigit():
            qi = int(parts[1])
            if 0 <= qi < len(task.questions) and task.questions[qi] in remaining:
                failing = task.questions[qi]
        if failing is None:  # should not happen; do not retry forever
            for pq in remaining:
                finish(pq, False, f"the process running your code stopped ({where}): {stopped(outcome)}")
            return
        fn = f"`{failing.question.function}`"
        case = f" ({_case_label(failing, int(parts[3]))})" if len(parts) == 4 and parts[3].isdigit() else ""
        if outcome.kind == "timeout":
            finish(failing, False, f"timed out after {timeout_txt} while running {fn}{case}")
        else:
            finish(failing, False, f"the process running {fn} stopped{case}: {stopped(outcome)}")
        rest = [pq for pq in remaining if pq is not failing]
        if rest:
            pending.append(_Task(rest, task.attempts))

    try:
        _schedule(pending, running, cells, bad_cells, limits, jobs, handle)
    finally:
        for _task, child, _excluded in running:  # only after an exception (e.g. Ctrl-C)
            child.abort()

    notes = [f"{_cell_name(by_index, i)} was skipped: {why}" for i, why in sorted(bad_cells.items())]
    notes += [f"{_cell_name(by_index, i)} raised {err}" for i, err in sorted(cell_errors.items())]
    return [results[pq.question.name] for pq in exercise.questions], notes


def _schedule(pending, running, cells, bad_cells, limits, jobs, handle):
    """Run tasks, at most ``jobs`` children at a time, until none is left."""
    while pending or running:
        while pending and len(running) < max(1, jobs):
            task = pending.pop(0)
            task.attempts += 1
            excluded = frozenset(bad_cells)
            try:
                child = ChildRun(
                    [{"index": c["index"], "source": c["source"]} for c in cells if c["index"] not in excluded],
                    [
                        {
                            "name": pq.question.name,
                            "function": pq.question.function,
                            "cases": [{"args": c.args_json, "kwargs": c.kwargs_json} for c in pq.cases],
                        }
                        for pq in task.questions
                    ],
                    limits,
                )
            except OSError as exc:
                raise GradingError(f"could not start the sandboxed Python: {exc}") from exc
            running.append((task, child, excluded))
        for entry in list(running):
            task, child, excluded = entry
            outcome = child.poll()
            if outcome is not None:
                running.remove(entry)
                handle(task, outcome, excluded)
        if running:
            time.sleep(0.005)


# -- public API ----------------------------------------------------------------------------------


def grade_notebook(
    path: str | Path,
    *,
    solutions_dir: str | Path | None = None,
    checks_dir: str | Path | None = None,
    limits: Limits = Limits(),
    jobs: int | None = None,
    isolate: bool = False,
    display_name: str | None = None,
) -> NotebookReport:
    """Grade one notebook; raises :class:`GradingError` if it cannot be graded at all."""
    path = Path(path)
    name = display_name or str(path)
    solutions_dir = Path(solutions_dir) if solutions_dir else default_solutions_dir()
    jobs = jobs or max(1, min(4, os.cpu_count() or 1))
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise GradingError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        nb, parse_error = parse_submission(data, path.suffix), ""
    except NotebookError as exc:
        nb, parse_error = None, str(exc)
    try:
        known = sorted(source_stems(solutions_dir))
    except Exception as exc:
        raise GradingError(str(exc)) from None
    set_name = _identify(path, nb, known)
    try:
        exercise = load_exercise_set(set_name, solutions_dir, checks_dir)
    except Exception as exc:
        raise GradingError(f"the exercise set {set_name} could not be loaded: {exc}") from exc
    report = NotebookReport(notebook=name, exercise=set_name)
    if nb is None:
        for pq in exercise.questions:
            q = pq.question
            report.questions.append(
                QuestionResult(q.name, 0.0, float(q.points), False, f"could not read the notebook: {parse_error}")
            )
        report.notes.append(f"could not read the notebook: {parse_error}")
        return report
    cells = student_cells(nb)
    report.questions, report.notes = _run_questions(exercise, cells, limits, jobs, isolate)
    return report


def collect_notebooks(path: Path) -> list[Path]:
    """The notebooks under a folder (recursively): ``.ipynb`` files and MyST ``.md`` notebooks,
    skipping checkpoints and hidden folders; a file is returned as is."""
    if path.is_file():
        return [path]
    found = []
    for p in sorted(path.rglob("*")):
        rel = p.relative_to(path).parts
        if any(part.startswith(".") or part == "__pycache__" for part in rel) or not p.is_file():
            continue
        if p.suffix == ".ipynb":
            found.append(p)
        elif p.suffix == ".md":
            try:
                if is_text_notebook(p.read_text(encoding="utf-8", errors="replace")):
                    found.append(p)
            except OSError:
                continue
    return found


def grade_paths(
    paths: list[str | Path], **kwargs
) -> tuple[list[NotebookReport], list[str]]:
    """Grade files and folders; returns the reports and the errors of notebooks not graded."""
    reports, errors = [], []
    for raw in paths:
        path = Path(raw)
        if not path.exists():
            errors.append(f"{raw}: no such file or directory")
            continue
        notebooks = collect_notebooks(path)
        if path.is_dir() and not notebooks:
            errors.append(f"{raw}: no notebooks found")
        for nb_path in notebooks:
            try:
                reports.append(grade_notebook(nb_path, **kwargs))
            except GradingError as exc:
                errors.append(f"{nb_path}: {exc}")
                reports.append(NotebookReport(notebook=str(nb_path), error=str(exc)))
    return reports, errors
