"""Grade reports: data classes, the JSON form, the printed table and a CSV gradebook.

JSON schema (one object per notebook; a list of them when several were graded)::

    {"notebook": str, "score": float, "max_score": float,
     "questions": [{"name": str, "points": float, "max_points": float,
                    "passed": bool, "message": str}]}
"""

from __future__ import annotations

import csv
import json
import textwrap
from dataclasses import dataclass, field

__all__ = ["QuestionResult", "NotebookReport", "to_json", "format_table", "write_csv"]


@dataclass
class QuestionResult:
    name: str
    points: float
    max_points: float
    passed: bool
    message: str

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "points": float(self.points),
            "max_points": float(self.max_points),
            "passed": bool(self.passed),
            "message": self.message,
        }


@dataclass
class NotebookReport:
    """The grade of one notebook.

    ``exercise`` (the exercise set) and ``notes`` (problems found while running the
    notebook, e.g. a cell that raised) are printed in the table but are not part of the
    JSON schema.  ``error`` is set when the notebook could not be graded at all.
    """

    notebook: str
    questions: list[QuestionResult] = field(default_factory=list)
    exercise: str = ""
    notes: list[str] = field(default_factory=list)
    error: str = ""

    @property
    def score(self) -> float:
        return float(sum(q.points for q in self.questions))

    @property
    def max_score(self) -> float:
        return float(sum(q.max_points for q in self.questions))

    def to_dict(self) -> dict:
        return {
            "notebook": self.notebook,
            "score": self.score,
            "max_score": self.max_score,
            "questions": [q.to_dict() for q in self.questions],
        }


def to_json(reports: list[NotebookReport]) -> str:
    """JSON text: an object for one report, a list for several."""
    data = reports[0].to_dict() if len(reports) == 1 else [r.to_dict() for r in reports]
    return json.dumps(data, indent=2) + "\n"


def _fmt(x: float) -> str:
    return f"{x:g}"


def format_table(report: NotebookReport, width: int = 100) -> str:
    """A plain-text table of points per question, the total, then any notes."""
    head = f"{report.notebook}"
    if report.exercise:
        head += f"  (exercise set {report.exercise})"
    lines = [head]
    if report.error:
        lines.append(f"  NOT GRADED: {report.error}")
        return "\n".join(lines)
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
    if report.notes:
        lines.append("  notes:")
        for note in report.notes:
            for i, wrapped in enumerate(textwrap.wrap(note, width=width - 6)):
                lines.append(("  - " if i == 0 else "    ") + wrapped)
    return "\n".join(lines)


def write_csv(reports: list[NotebookReport], path) -> None:
    """One row per notebook: notebook, exercise, score, max_score, then points per question."""
    qnames: list[str] = []
    for r in reports:
        for q in r.questions:
            if q.name not in qnames:
                qnames.append(q.name)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["notebook", "exercise", "score", "max_score", *qnames, "error"])
        for r in reports:
            pts = {q.name: q.points for q in r.questions}
            w.writerow(
                [r.notebook, r.exercise, r.score, r.max_score, *[pts.get(n, "") for n in qnames], r.error]
            )
