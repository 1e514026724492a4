"""Grade reports: data classes, the JSON form, the printed table and a CSV gradebook.

JSON schema (one object per notebook; a list of them when several were graded)::

    {"notebook": str, "score": float, "max_score": float,
     "questions": [{"name": str, "points": float, "max_points": float,
                    "passed": bool, "message": str, "error": null | "internal"}],
     "error": null | "internal" | "not graded",
     "notes": [str],
     "isolation": null | {...}}

The first four keys, and the first five of each question, are the design's contract;
the others are additions:

* ``error`` -- ``"internal"`` when the grader itself failed (a broken checks file or
  reference solution, an exception while judging): the question's message says
  "internal grader error", it scores 0 but that 0 is not the student's, and the notes
  hold the traceback.  On the notebook, ``"internal"`` if any question (or the loading
  of the exercise set) had one, ``"not graded"`` if the notebook could not be graded at
  all (e.g. an unknown exercise set; the reason is in the notes).  A fault of the
  submission (a crash, a timeout, a missing function, tampering) is not an error here:
  it costs the question's points with a message for the student.
* ``notes`` -- problems found while running the notebook (a cell that raised, a cell
  skipped because it hung) and the tracebacks of internal errors.
* ``isolation`` -- what protected the grader while the student's code ran, as reported
  by the sandboxed process itself (``null`` when no student code ran); its keys are
  described in :mod:`course_lib.grading.sandbox`.
"""

from __future__ import annotations

import csv
import json
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["QuestionResult", "NotebookReport", "INTERNAL", "to_json", "format_table", "format_isolation", "write_csv"]

INTERNAL = "internal"
"""The ``error`` value of a question (and a notebook) that the grader itself failed to grade."""


@dataclass
class QuestionResult:
    name: str
    points: float
    max_points: float
    passed: bool
    message: str
    error: str | None = None  # INTERNAL when the grader failed on this question

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "points": float(self.points),
            "max_points": float(self.max_points),
            "passed": bool(self.passed),
            "message": self.message,
            "error": self.error,
        }


@dataclass
class NotebookReport:
    """The grade of one notebook.

    ``exercise`` (the exercise set) is printed in the table but not part of the JSON;
    ``student`` (set when grading a class: the subfolder name or the file stem) is a
    column of the CSV, not part of the JSON either (its ``notebook`` path names it).
    ``error`` is set when the notebook could not be graded at all, and ``internal`` when
    that (or any question) was the grader's own failure; ``isolation`` is the sandbox's
    report (see the module docstring).
    """

    notebook: str
    questions: list[QuestionResult] = field(default_factory=list)
    exercise: str = ""
    notes: list[str] = field(default_factory=list)
    error: str = ""
    internal: bool = False
    isolation: dict | None = None
    student: str = ""

    @property
    def score(self) -> float:
        return float(sum(q.points for q in self.questions))

    @property
    def max_score(self) -> float:
        return float(sum(q.max_points for q in self.questions))

    @property
    def internal_error(self) -> bool:
        """True if the grader itself failed on this notebook (the grade is not trustworthy)."""
        return self.internal or any(q.error == INTERNAL for q in self.questions)

    @property
    def error_kind(self) -> str | None:
        if self.internal_error:
            return INTERNAL
        return "not graded" if self.error else None

    def to_dict(self) -> dict:
        notes = list(self.notes)
        if self.error and self.error not in notes:
            notes.insert(0, self.error)
        return {
            "notebook": self.notebook,
            "score": self.score,
            "max_score": self.max_score,
            "questions": [q.to_dict() for q in self.questions],
            "error": self.error_kind,
            "notes": notes,
            "isolation": self.isolation,
        }


def to_json(reports: list[NotebookReport]) -> str:
    """JSON text: an object for one report, a list for several."""
    data = reports[0].to_dict() if len(reports) == 1 else [r.to_dict() for r in reports]
    return json.dumps(data, indent=2) + "\n"


def _fmt(x: float) -> str:
    return f"{x:g}"


def format_isolation(isolation: dict | None) -> str:
    """One line for the table: what protected the grader while this notebook's code ran."""
    if not isolation:
        return "isolation: none reported (no student code ran)"
    writes, network = isolation.get("writes"), isolation.get("network")
    blocked = f"writes and network {writes}" if writes == network else f"writes {writes}, network {network}"
    landlock = f"Landlock ABI {isolation.get('landlock_abi')}" if isolation.get("landlock") else "NO Landlock"
    rlimits = isolation.get("rlimits", {})
    missing = [name for name, ok in rlimits.items() if not ok]
    limits = "rlimits all set" if rlimits and not missing else "rlimits NOT set: " + "/".join(missing or ["all"])
    workdir = isolation.get("workdir")
    return (
        f"isolation: {landlock} ({blocked}), {limits}, timeout {_fmt(isolation.get('timeout_s', 0.0))}s, "
        f"{workdir} workdir"
    )


def format_table(report: NotebookReport, width: int = 100) -> str:
    """A plain-text table of points per question, the total, the isolation, then any notes."""
    head = f"{report.notebook}"
    if report.exercise:
        head += f"  (exercise set {report.exercise})"
    lines = [head]
    if report.error:
        lines.append(f"  NOT GRADED: {report.error}")
    else:
        name_w = max([len("question")] + [len(q.name) for q in report.questions])
        indent = 2 + name_w + 2 + 9 + 2
        lines.append(f"  {'question':<{name_w}}  {'points':>9}  result")
        for q in report.questions:
            pts = f"{_fmt(q.points)}/{_fmt(q.max_points)}"
            text = q.message if q.passed else f"FAILED: {q.message}"
            wrapped = textwrap.wrap(text, width=max(40, width - indent)) or [""]
            lines.append(f"  {q.name:<{name_w}}  {pts:>9}  {wrapped[0]}")
            lines.extend(" " * indent + w for w in wrapped[1:])
        total = f"{_fmt(report.score)}/{_fmt(report.max_score)}"
        lines.append(f"  {'total':<{name_w}}  {total:>9}")
        lines.append("  " + format_isolation(report.isolation))
    if report.internal_error:
        lines.append("  INTERNAL GRADER ERROR: this grade is incomplete; the traceback is in the notes")
    notes = [n for n in report.notes if n != report.error]
    if notes:
        lines.append("  notes:")
        for note in notes:
            first = True
            for paragraph in note.splitlines() or [""]:  # tracebacks keep their lines
                for wrapped in textwrap.wrap(paragraph, width=width - 6, subsequent_indent="  ") or [""]:
                    lines.append(("  - " if first else "    ") + wrapped)
                    first = False
    return "\n".join(lines)


CSV_ISOLATION_COLUMNS = ["landlock_abi", "rlimits", "timeout_s", "writes", "network"]


def _isolation_cells(isolation: dict | None) -> list:
    if not isolation:
        return [""] * len(CSV_ISOLATION_COLUMNS)
    applied = " ".join(name for name, ok in isolation.get("rlimits", {}).items() if ok)
    return [isolation.get("landlock_abi", 0), applied, isolation.get("timeout_s", ""),
            isolation.get("writes", ""), isolation.get("network", "")]


def write_csv(reports: list[NotebookReport], path) -> None:
    """One row per notebook: notebook, exercise, score, max_score, the points per question,
    ``error`` (why it was not graded, or ``internal grader error``), then the isolation:
    ``isolation_landlock_abi`` (0: no Landlock), ``isolation_rlimits`` (the limits in force,
    space-separated), ``isolation_timeout_s``, ``isolation_writes``, ``isolation_network``,
    and last ``student`` (the subfolder name or file stem, see
    :func:`~course_lib.grading.grade.student_of`; new columns only ever go at the end)."""
    qnames: list[str] = []
    for r in reports:
        for q in r.questions:
            if q.name not in qnames:
                qnames.append(q.name)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(
            ["notebook", "exercise", "score", "max_score", *qnames, "error",
             *(f"isolation_{c}" for c in CSV_ISOLATION_COLUMNS), "student"]
        )
        for r in reports:
            pts = {q.name: q.points for q in r.questions}
            error = r.error or ""
            if r.internal_error:
                error = "internal grader error" + (f": {error}" if error else "")
            w.writerow(
                [r.notebook, r.exercise, r.score, r.max_score, *[pts.get(n, "") for n in qnames], error,
                 *_isolation_cells(r.isolation), r.student or Path(r.notebook).stem]
            )
