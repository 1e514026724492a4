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

Faults of the submission and faults of the grader are kept apart:

* a crash, a timeout, an exception, a missing function, malformed results (tampering)
  cost the question's points, with a message for the student;
* an exception in this trusted process -- a checks file or reference that cannot build a
  question's cases, results that cannot be decoded, a comparison that raises, any other
  bug -- and a sandbox that fails before running any of the submission's code are
  **internal grader errors**: the question's message says so, it is marked
  ``error="internal"`` in the report, the traceback goes to the report's notes, and the
  command line exits with code 3.  A checks file or reference solution that cannot be
  loaded at all raises :class:`InternalGradingError`.

The report's ``isolation`` entry is the weakest isolation reported by the children that
ran the submission's code (:func:`~course_lib.grading.sandbox.isolation_entry`).

A class (:func:`grade_paths`): the notebooks of every folder given are graded in parallel,
at most ``jobs`` sandboxes at a time (default ``os.cpu_count()``), in threads of this
process that each wait on their sandboxed children; the reports come back in the order
the notebooks were found, whatever order they finished in.  Each report's ``student`` is
the first folder under the folder given (``submissions/alice/01_backprop.ipynb`` ->
``alice``), or the file stem for a notebook directly in it or given by itself.
"""

from __future__ import annotations

import os
import signal
import threading
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

from . import codec
from .compare import compare
from .exercise_set import ExerciseSet, PreparedQuestion, load_exercise_set, source_stems, strip_magics
from .markers import has_hidden_tests
from .notebook_io import Notebook, NotebookError, is_text_notebook, parse_submission
from .report import INTERNAL, NotebookReport, QuestionResult
from .sandbox import ChildOutcome, ChildRun, Isolation, Limits, isolation_entry

__all__ = [
    "GradingError",
    "InternalGradingError",
    "grade_notebook",
    "grade_paths",
    "collect_notebooks",
    "default_solutions_dir",
    "student_of",
    "METADATA_KEY",
]

METADATA_KEY = "course_lib"
"""Notebook metadata key written by ``assign``: ``{"exercise": "01_backprop", ...}``."""


class GradingError(RuntimeError):
    """Grading could not run for a notebook (unreadable path, unknown exercise set, ...).

    ``details`` may hold a traceback for the report's notes."""

    def __init__(self, message: str, details: str = ""):
        super().__init__(message)
        self.details = details


class InternalGradingError(GradingError):
    """The grader's own material or machinery failed (a checks file or reference solution
    that cannot be loaded, a sandbox that cannot be started): not the submission's fault."""


_CANCEL = threading.Event()
"""Set by :func:`grade_paths` on Ctrl-C: every thread's scheduling loop stops and kills its children."""


class GradingCancelled(KeyboardInterrupt):
    """Raised in a grading thread when the grading of a class was interrupted."""


TAMPERED = "the results of {fn} came back malformed (was the sandbox tampered with?)"
"""Message for results that the trusted harness cannot have produced."""


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
    """Compare one question's results with the reference.  Exceptions (a decoding failure,
    a comparison that raises) are the grader's and propagate to the caller."""
    q = pq.question
    fn = f"`{q.function}`"
    tampered = TAMPERED.format(fn=fn)
    cases = result.get("cases")
    if len(cases) != len(pq.cases):
        return False, tampered
    for k, (case, got) in enumerate(zip(pq.cases, cases)):
        where = _case_label(pq, k)
        if not isinstance(got, dict):
            return False, tampered
        if not got.get("ok"):
            if "unreadable" in got:
                return False, f"{fn} returned a value the grader cannot read: {str(got['unreadable'])[:300]} ({where})"
            return False, f"{fn} raised {_error_text(got.get('error'))} ({where})"
        actual = {
            "result": codec.decode(got.get("result")),
            "args_after": codec.decode(got.get("args_after")),
            "kwargs_after": codec.decode(got.get("kwargs_after")),
        }
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
            return False, tampered
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
            return False, tampered
        for key in exp_kw:
            if key in case.expr_kwargs:
                continue
            if compare(exp_kw[key], act_kw[key], f"`{key}`", rtol=q.rtol, atol=q.atol):
                return False, f"{fn} changed its input `{key}` ({where})"
    n = len(pq.cases)
    return True, f"passed ({n} check{'s' if n != 1 else ''})"


# -- reading a child's progress ---------------------------------------------------------------


@dataclass(frozen=True)
class _Progress:
    """Where a child was when it stopped, read from its last progress line.

    The child writes one plain-text line per step: ``sandbox landlock=N`` (setting up),
    ``cell 7``, ``question 2 lookup``, ``question 2 case 1``, ``done``; the parent says
    ``startup`` when no line was written.  A line of any other form leaves every field unset.
    """

    before_code: bool = False  # starting up or setting up the sandbox: none of the submission ran yet
    cell: int | None = None  # the index of the top-level cell it was running
    question: int | None = None  # the position of the question in the child's job
    case: int | None = None  # the case of that question, once one had started


def _parse_progress(where: str) -> _Progress:
    """Read one progress line (see :class:`_Progress`); the only place that knows its format."""
    parts = where.split()
    if where in ("startup", "") or parts[:1] == ["sandbox"]:
        return _Progress(before_code=True)
    if len(parts) == 2 and parts[0] == "cell" and parts[1].isdecimal():
        return _Progress(cell=int(parts[1]))
    if len(parts) >= 2 and parts[0] == "question" and parts[1].isdecimal():
        case = int(parts[3]) if len(parts) == 4 and parts[3].isdecimal() else None
        return _Progress(question=int(parts[1]), case=case)
    return _Progress()


def _stop_reason(outcome: ChildOutcome, timeout: float) -> str:
    """Why a child stopped early, for a message: ``timed out after 30s``, ``it was killed by ...``."""
    if outcome.kind == "timeout":
        return f"timed out after {timeout:g}s"
    return _exit_description(outcome.returncode, outcome.detail)


# -- the children's jobs -------------------------------------------------------------------------


@dataclass
class _Outcome:
    """What :func:`_run_questions` found for one notebook."""

    results: list[QuestionResult]
    notes: list[str]
    isolation: Isolation | None


@dataclass
class _Task:
    """Questions run together in one child (all of them, or one with ``isolate``)."""

    questions: list[PreparedQuestion]
    attempts: int = 0


def _first_tasks(exercise: ExerciseSet, isolate: bool) -> list[_Task]:
    """The tasks to start with: every question whose checks could be prepared, in one child
    or (``isolate``) one child per question."""
    ready = [pq for pq in exercise.questions if not pq.error]
    if isolate:
        return [_Task([pq]) for pq in ready]
    return [_Task(ready)] if ready else []


def _start_child(task: _Task, cells: list[dict], excluded: frozenset, limits: Limits) -> ChildRun:
    """Start a sandboxed child that runs the cells not in ``excluded``, then ``task``'s questions.

    A child that cannot be started at all is an :class:`InternalGradingError`."""
    job_cells = [{"index": c["index"], "source": c["source"]} for c in cells if c["index"] not in excluded]
    job_questions = [
        {
            "name": pq.question.name,
            "function": pq.question.function,
            "cases": [{"args": c.args_json, "kwargs": c.kwargs_json} for c in pq.cases],
        }
        for pq in task.questions
    ]
    try:
        return ChildRun(job_cells, job_questions, limits)
    except OSError as exc:
        raise InternalGradingError(f"could not start the sandboxed Python: {exc}", traceback.format_exc()) from exc


# -- grading the questions of one notebook -------------------------------------------------------


class _QuestionRuns:
    """Runs one notebook's questions in sandboxed children and turns what they report into results.

    State kept while the children run:

    * ``pending``: tasks still to start (a task comes back when its child died in a cell,
      without that cell, or for the questions after the one that killed it);
    * ``bad_cells``: cells skipped from now on, with why; ``cell_errors``: exceptions of cells;
    * ``results``: one :class:`QuestionResult` per question decided so far;
    * ``internal_notes`` (tracebacks of the grader's own failures) and ``isolations``
      (what each child reported to be in force).
    """

    def __init__(self, exercise: ExerciseSet, cells: list[dict], limits: Limits):
        self.exercise = exercise
        self.cells = cells
        self.limits = limits
        self.by_index = {c["index"]: c for c in cells}
        self.max_attempts = len(cells) + len(exercise.questions) + 2
        self.pending: list[_Task] = []
        self.bad_cells: dict[int, str] = {}  # cell index -> why it is skipped
        self.cell_errors: dict[int, str] = {}
        self.results: dict[str, QuestionResult] = {}
        self.internal_notes: list[str] = []
        self.isolations: list[Isolation | None] = []

    # -- the whole run ---------------------------------------------------------------------------

    def run(self, jobs: int, isolate: bool) -> _Outcome:
        """Grade every question; returns the results in the exercise set's order."""
        self.pending = _first_tasks(self.exercise, isolate)
        for pq in self.exercise.questions:
            if pq.error:
                last = pq.error.strip().splitlines()[-1] if pq.error.strip() else "unknown error"
                what = f"the checks of `{pq.question.function}` could not be prepared ({last[:200]})"
                self.internal(pq, what, pq.error)
        self.schedule(jobs)
        return _Outcome(
            [self.results[pq.question.name] for pq in self.exercise.questions],
            self.cell_notes() + self.internal_notes,
            Isolation.weakest(self.isolations),
        )

    def schedule(self, jobs: int) -> None:
        """Run the pending tasks, at most ``jobs`` children at a time, until none is left.

        A task's cells are those not in ``bad_cells`` when its child starts.  If this loop is
        left by an exception (e.g. Ctrl-C), the children still running are killed."""
        running: list[tuple[_Task, ChildRun, frozenset]] = []
        try:
            while self.pending or running:
                while self.pending and len(running) < max(1, jobs):
                    task = self.pending.pop(0)
                    task.attempts += 1
                    excluded = frozenset(self.bad_cells)
                    running.append((task, _start_child(task, self.cells, excluded, self.limits), excluded))
                for entry in list(running):
                    task, child, excluded = entry
                    outcome = child.poll()
                    if outcome is not None:
                        running.remove(entry)
                        self.handle(task, outcome, excluded)
                if running:
                    if _CANCEL.is_set():
                        raise GradingCancelled()
                    time.sleep(0.005)
        finally:
            for _task, child, _excluded in running:  # only after an exception
                child.abort()

    # -- recording results -----------------------------------------------------------------------

    def finish(self, pq: PreparedQuestion, passed: bool, message: str) -> None:
        """Record a question's score and message (an internal error already recorded stays)."""
        q = pq.question
        if q.name in self.results and self.results[q.name].error == INTERNAL:
            return
        points = float(q.points)
        self.results[q.name] = QuestionResult(q.name, points if passed else 0.0, points, passed, message)

    def internal(self, pq: PreparedQuestion, what: str, details: str) -> None:
        """The grader failed on this question: 0 points, marked, traceback in the notes."""
        q = pq.question
        self.results[q.name] = QuestionResult(
            q.name,
            0.0,
            float(q.points),
            False,
            f"internal grader error: {what} (not a fault of the submission; details in the report's notes)",
            error=INTERNAL,
        )
        self.internal_notes.append(f"internal grader error in {q.name}: {what}\n{details.rstrip()}")

    def cell_notes(self) -> list[str]:
        """One note per skipped cell, then one per cell that raised, in cell order."""
        notes = [f"{_cell_name(self.by_index, i)} was skipped: {why}" for i, why in sorted(self.bad_cells.items())]
        notes += [f"{_cell_name(self.by_index, i)} raised {err}" for i, err in sorted(self.cell_errors.items())]
        return notes

    def problems(self) -> str:
        """The first cell notes, appended to a "not defined" message (they often explain it)."""
        notes = self.cell_notes()
        return ("; problems in the notebook: " + "; ".join(notes[:3])) if notes else ""

    # -- one child's outcome ---------------------------------------------------------------------

    def handle(self, task: _Task, outcome: ChildOutcome, excluded: frozenset) -> None:
        """Take in a finished child's outcome; a failure of the grader while doing so becomes an
        internal error on the task's questions still undecided."""
        self.isolations.append(outcome.isolation)
        try:
            self.interpret(task, outcome, excluded)
        except Exception as exc:  # a bug in the grader: report it on the questions left
            what = f"interpreting the sandbox's outcome raised {type(exc).__name__}: {str(exc)[:200]}"
            details = traceback.format_exc()
            for pq in task.questions:
                if pq.question.name not in self.results:
                    self.internal(pq, what, details)

    def interpret(self, task: _Task, outcome: ChildOutcome, excluded: frozenset) -> None:
        """Judge the questions the child finished, then decide the others from where it stopped."""
        cells_rec = next((r for r in outcome.records if r.get("kind") == "cells"), None)
        if cells_rec is not None:
            self.note_cell_errors(cells_rec)
        remaining = self.judge_records(task, outcome.records)
        if not remaining:
            return
        if outcome.kind == "ok":  # the child finished, yet some questions have no record
            for pq in remaining:
                self.finish(pq, False, TAMPERED.format(fn=f"`{pq.question.function}`"))
            return
        progress = _parse_progress(outcome.where)
        if cells_rec is None and progress.before_code:
            self.stopped_before_code(outcome, remaining)
        elif cells_rec is None:
            self.stopped_in_cells(task, outcome, progress, remaining, excluded)
        else:
            self.stopped_in_question(task, outcome, progress, remaining)

    def note_cell_errors(self, cells_rec: dict) -> None:
        """Keep the first exception of each cell from the child's ``cells`` record."""
        errors = cells_rec.get("cell_errors")
        for err in errors if isinstance(errors, list) else []:
            if isinstance(err, dict) and isinstance(err.get("cell"), int):
                line = err.get("line")
                text = _error_text(err) + (f" (line {line})" if isinstance(line, int) else "")
                self.cell_errors.setdefault(err["cell"], text)

    def judge_records(self, task: _Task, records: list[dict]) -> list[PreparedQuestion]:
        """Judge every question of ``task`` the child reported on; returns the others."""
        by_name = {r["name"]: r for r in records if r.get("kind") == "question" and isinstance(r.get("name"), str)}
        remaining = []
        for pq in task.questions:
            if pq.question.name in by_name:
                self.judge_record(pq, by_name[pq.question.name])
            else:
                remaining.append(pq)
        return remaining

    def judge_record(self, pq: PreparedQuestion, rec: dict) -> None:
        """Turn one ``question`` record into the question's result."""
        fn = f"`{pq.question.function}`"
        status = rec.get("status")
        if status == "missing":
            return self.finish(pq, False, f"function {fn} is not defined" + self.problems())
        if status == "not_callable":
            return self.finish(pq, False, f"{fn} is defined but is not a function")
        if status != "ok" or not isinstance(rec.get("cases"), list):
            return self.finish(pq, False, TAMPERED.format(fn=fn))
        try:
            return self.finish(pq, *_judge(pq, rec))
        except Exception as exc:  # the grader's failure, not the submission's
            what = f"judging {fn} raised {type(exc).__name__}: {str(exc)[:200]}"
            return self.internal(pq, what, traceback.format_exc())

    # -- a child that stopped early ----------------------------------------------------------------

    def stopped_before_code(self, outcome: ChildOutcome, remaining: list[PreparedQuestion]) -> None:
        """The child died before running any of the submission's code: the grader's problem."""
        what = "the sandbox failed before running any of the submission's code: " + self.stop_reason(outcome)
        if outcome.kind != "timeout":
            what += " -- is --memory-mb too small?"
        for pq in remaining:
            self.internal(pq, what, f"sandbox at {outcome.where!r}: {outcome.detail or 'no output'}")

    def stopped_in_cells(
        self,
        task: _Task,
        outcome: ChildOutcome,
        progress: _Progress,
        remaining: list[PreparedQuestion],
        excluded: frozenset,
    ) -> None:
        """The child died in the top-level cells: skip that cell and run the questions again,
        or, when that is not possible, the questions cannot be graded."""
        index = progress.cell
        retry = index is not None and index in self.by_index and index not in excluded
        if retry and task.attempts < self.max_attempts:
            self.bad_cells.setdefault(index, "it " + self.stop_reason(outcome).removeprefix("it "))
            self.pending.append(_Task(remaining, task.attempts))  # again, without that cell
            return
        detail = f" ({outcome.detail})" if outcome.detail and outcome.kind == "timeout" else ""
        message = "the sandbox could not run the notebook: " + self.stop_reason(outcome) + detail
        for pq in remaining:
            self.finish(pq, False, message)

    def stopped_in_question(
        self, task: _Task, outcome: ChildOutcome, progress: _Progress, remaining: list[PreparedQuestion]
    ) -> None:
        """The child died in a question's function: that question gets 0, the ones after it
        run again in a new child."""
        qi = progress.question
        failing = None
        if qi is not None and 0 <= qi < len(task.questions) and task.questions[qi] in remaining:
            failing = task.questions[qi]
        if failing is None:  # should not happen; do not retry forever
            message = f"the process running your code stopped ({outcome.where}): {self.stop_reason(outcome)}"
            for pq in remaining:
                self.finish(pq, False, message)
            return
        fn = f"`{failing.question.function}`"
        case = f" ({_case_label(failing, progress.case)})" if progress.case is not None else ""
        if outcome.kind == "timeout":
            self.finish(failing, False, f"timed out after {self.limits.timeout:g}s while running {fn}{case}")
        else:
            self.finish(failing, False, f"the process running {fn} stopped{case}: {self.stop_reason(outcome)}")
        rest = [pq for pq in remaining if pq is not failing]
        if rest:
            self.pending.append(_Task(rest, task.attempts))

    def stop_reason(self, outcome: ChildOutcome) -> str:
        """Why the child stopped (:func:`_stop_reason` with this run's timeout)."""
        return _stop_reason(outcome, self.limits.timeout)


def _run_questions(exercise: ExerciseSet, cells: list[dict], limits: Limits, jobs: int, isolate: bool) -> _Outcome:
    """Grade the questions of one notebook whose code cells are ``cells`` (see :class:`_QuestionRuns`)."""
    return _QuestionRuns(exercise, cells, limits).run(jobs, isolate)


# -- public API ----------------------------------------------------------------------------------


def grade_notebook(
    path: str | Path,
    *,
    solutions_dir: str | Path | None = None,
    checks_dir: str | Path | None = None,
    limits: Limits = Limits(),  # noqa: B008 -- Limits is a frozen dataclass, so sharing one default is safe
    jobs: int | None = None,
    isolate: bool = False,
    display_name: str | None = None,
    private_checks_dir: str | Path | None = None,
) -> NotebookReport:
    """Grade one notebook; raises :class:`GradingError` if it cannot be graded at all
    (:class:`InternalGradingError` when that is the grader's own failure).

    ``checks_dir`` replaces the package's checks folder; ``private_checks_dir`` adds an
    instructor's private checks on top of it (see :mod:`.exercise_set`).  ``jobs`` bounds
    the sandboxes of this notebook running at once (only ``isolate`` runs several)."""
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
        exercise = load_exercise_set(set_name, solutions_dir, checks_dir, private_checks_dir)
    except Exception as exc:
        raise InternalGradingError(
            f"the exercise set {set_name} could not be loaded: {exc}", traceback.format_exc()
        ) from exc
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
    outcome = _run_questions(exercise, cells, limits, jobs, isolate)
    report.questions, report.notes = outcome.results, outcome.notes
    report.isolation = isolation_entry(outcome.isolation, limits.timeout)
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


def student_of(notebook: Path, given: Path) -> str:
    """Who a notebook belongs to: the first folder under the folder ``given``, else its file stem."""
    if given.is_dir():
        try:
            parts = notebook.relative_to(given).parts
        except ValueError:
            parts = ()
        if len(parts) > 1:
            return parts[0]
    return notebook.stem


def _grade_one(nb_path: Path, student: str, kwargs: dict) -> tuple[NotebookReport, str | None]:
    """Grade one notebook of :func:`grade_paths`: its report, and the error if it was not graded."""
    try:
        report, error = grade_notebook(nb_path, **kwargs), None
    except GradingError as exc:
        error = f"{nb_path}: {exc}"
        internal = isinstance(exc, InternalGradingError)
        notes = [exc.details] if exc.details else []
        report = NotebookReport(notebook=str(nb_path), error=str(exc), internal=internal, notes=notes)
    except KeyboardInterrupt:
        raise
    except Exception as exc:  # a bug in the grader: say so, and grade the other notebooks
        message = f"internal grader error: {type(exc).__name__}: {exc}"
        error = f"{nb_path}: {message}"
        report = NotebookReport(notebook=str(nb_path), error=message, internal=True, notes=[traceback.format_exc()])
    report.student = student
    return report, error


def grade_paths(
    paths: list[str | Path], *, jobs: int | None = None, **kwargs
) -> tuple[list[NotebookReport], list[str]]:
    """Grade files and folders; returns the reports and the errors of notebooks not graded.

    A notebook that cannot be graded gets a report with ``error`` set (and ``internal``
    when the grader failed, with the traceback in its notes); the others are still graded.
    Notebooks are graded in parallel, at most ``jobs`` sandboxes at a time (default
    ``os.cpu_count()``); the reports keep the order in which the notebooks were found.
    ``kwargs`` go to :func:`grade_notebook`.
    """
    if jobs is not None and (isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1):
        raise ValueError(f"jobs must be a positive integer, got {jobs!r}")
    jobs = jobs or os.cpu_count() or 1
    errors: list[str] = []
    work: list[tuple[Path, str]] = []
    for raw in paths:
        path = Path(raw)
        if not path.exists():
            errors.append(f"{raw}: no such file or directory")
            continue
        notebooks = collect_notebooks(path)
        if path.is_dir() and not notebooks:
            errors.append(f"{raw}: no notebooks found")
        work.extend((nb_path, student_of(nb_path, path)) for nb_path in notebooks)
    workers = max(1, min(jobs, len(work)))
    kwargs = dict(kwargs, jobs=max(1, jobs // workers))  # at most about `jobs` sandboxes in all
    if workers == 1:
        results = [_grade_one(nb_path, student, kwargs) for nb_path, student in work]
    else:
        results = _grade_in_threads(work, workers, kwargs)
    reports = [report for report, _ in results]
    errors.extend(error for _, error in results if error)
    return reports, errors


def _grade_in_threads(work: list[tuple[Path, str]], workers: int, kwargs: dict) -> list:
    """:func:`_grade_one` for every notebook in ``work``, ``workers`` at a time, in order.

    On Ctrl-C the notebooks not started are dropped and the sandboxes running are killed."""
    from concurrent.futures import ThreadPoolExecutor

    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="grade")
    try:
        futures = [pool.submit(_grade_one, nb_path, student, kwargs) for nb_path, student in work]
        return [f.result() for f in futures]
    except BaseException:
        _CANCEL.set()
        pool.shutdown(wait=True, cancel_futures=True)
        _CANCEL.clear()
        raise
    finally:
        pool.shutdown(wait=True)
