"""The class view of a grading run: per-question statistics and a histogram of the totals.

:func:`class_summary` groups the reports by exercise set; for each set it gives, per
question, the mean points and the share of notebooks with full marks on it, the same for
the total, and the totals themselves.  :func:`format_class_summary` prints that as plain
text (``python -m course_lib.grading grade`` does so whenever it graded several notebooks)::

    class summary: exercise set 01_backprop, 3 notebooks graded (max 10 points)
      question              points  graded   mean  full marks
      q1_softmax_loss            2       3   1.33         67%
      ...
      total                     10       3   4.67         33%
      totals: min 0, median 4, max 10
      histogram of totals (points: notebooks)
         0 | ########################################  1
         ...

What is left out, and said so under the table: notebooks that could not be graded at all
(they have no exercise set or no score), and -- since a score the grader failed on is not
the student's -- questions marked as internal grader errors (out of that question's
``graded`` count) and the totals of notebooks that had one (out of the histogram).
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass

from .report import INTERNAL, NotebookReport

__all__ = ["QuestionStats", "SetStats", "class_summary", "format_histogram", "format_class_summary"]


@dataclass(frozen=True)
class QuestionStats:
    """One question over a class: ``graded`` notebooks (internal errors left out), their mean
    points and the fraction of them with full marks."""

    name: str
    max_points: float
    graded: int
    mean_points: float
    full_marks: float


@dataclass(frozen=True)
class SetStats:
    """One exercise set over a class.

    ``totals`` are the scores of the notebooks graded without any internal error, in report
    order; ``n_internal`` counts the notebooks left out of them."""

    exercise: str
    max_score: float
    questions: tuple[QuestionStats, ...]
    totals: tuple[float, ...]
    n_internal: int

    @property
    def n_graded(self) -> int:
        return len(self.totals) + self.n_internal

    @property
    def mean_total(self) -> float:
        return statistics.fmean(self.totals) if self.totals else math.nan

    @property
    def full_marks(self) -> float:
        """The fraction of the totals that are full marks."""
        if not self.totals:
            return math.nan
        return sum(t >= self.max_score for t in self.totals) / len(self.totals)


def class_summary(reports: list[NotebookReport]) -> list[SetStats]:
    """Statistics per exercise set, sets in order of first appearance (see the module docstring)."""
    by_set: dict[str, list[NotebookReport]] = {}
    for r in reports:
        if r.error or not r.exercise:
            continue
        by_set.setdefault(r.exercise, []).append(r)
    out = []
    for exercise, group in by_set.items():
        names: list[str] = []
        max_points: dict[str, float] = {}
        points: dict[str, list[float]] = {}
        full: dict[str, list[bool]] = {}
        for r in group:
            for q in r.questions:
                if q.name not in max_points:
                    names.append(q.name)
                    max_points[q.name] = q.max_points
                    points[q.name], full[q.name] = [], []
                if q.error == INTERNAL:
                    continue
                points[q.name].append(q.points)
                full[q.name].append(q.points >= q.max_points)
        questions = tuple(
            QuestionStats(
                name=n,
                max_points=max_points[n],
                graded=len(points[n]),
                mean_points=statistics.fmean(points[n]) if points[n] else math.nan,
                full_marks=sum(full[n]) / len(full[n]) if full[n] else math.nan,
            )
            for n in names
        )
        clean = [r for r in group if not r.internal_error]
        out.append(
            SetStats(
                exercise=exercise,
                max_score=max(r.max_score for r in group),
                questions=questions,
                totals=tuple(r.score for r in clean),
                n_internal=len(group) - len(clean),
            )
        )
    return out


def _num(x: float, digits: int = 2) -> str:
    if math.isnan(x):
        return "-"
    return f"{x:g}" if float(x).is_integer() else f"{x:.{digits}f}"


def _mean(x: float) -> str:
    return "-" if math.isnan(x) else f"{x:.2f}"


def _pct(x: float) -> str:
    return "-" if math.isnan(x) else f"{100 * x:.0f}%"


def format_histogram(totals, max_score: float, bins: int = 10, width: int = 40) -> str:
    """A text histogram of ``totals`` on ``[0, max_score]``, one line per bin: its label, a
    bar of ``#`` scaled to the fullest bin (``width`` characters), and the count.

    Whole-point totals out of at most 20 get one bin per point; otherwise ``bins`` equal
    bins ``[lo, hi)``, the last one closed (full marks fall in it)."""
    if max_score <= 0 or not math.isfinite(max_score):
        raise ValueError(f"max_score must be a positive number, got {max_score!r}")
    if bins < 1 or width < 1:
        raise ValueError(f"bins and width must be positive, got bins={bins!r}, width={width!r}")
    totals = [float(t) for t in totals]
    whole = float(max_score).is_integer() and max_score <= 20 and all(t.is_integer() for t in totals)
    if whole:
        edges = list(range(int(max_score) + 1))
        counts = [sum(t == e for t in totals) for e in edges]
        labels = [f"{e:>4}" for e in edges]
    else:
        step = max_score / bins
        counts = [0] * bins
        for t in totals:
            counts[min(bins - 1, max(0, int(t // step)))] += 1
        labels = []
        for i in range(bins):
            lo, hi = i * step, (i + 1) * step
            labels.append(f"[{lo:5.4g}, {hi:5.4g}{']' if i == bins - 1 else ')'}")
    top = max(counts) if counts and max(counts) else 1
    lines = []
    for label, c in zip(labels, counts):
        bar = "#" * round(width * c / top)
        lines.append(f"{label} | {bar:<{width}}  {c}")
    return "\n".join(lines)


def format_class_summary(reports: list[NotebookReport], width: int = 40) -> str:
    """The class summary as text: one block per exercise set (see the module docstring), then a
    line for the notebooks that could not be graded."""
    blocks = []
    for st in class_summary(reports):
        head = (
            f"class summary: exercise set {st.exercise}, {st.n_graded} notebook"
            f"{'s' if st.n_graded != 1 else ''} graded (max {_num(st.max_score)} points)"
        )
        name_w = max([len("question")] + [len(q.name) for q in st.questions])
        lines = [head, f"  {'question':<{name_w}}  {'points':>6}  {'graded':>6}  {'mean':>6}  {'full marks':>10}"]
        for q in st.questions:
            lines.append(
                f"  {q.name:<{name_w}}  {_num(q.max_points):>6}  {q.graded:>6}  "
                f"{_mean(q.mean_points):>6}  {_pct(q.full_marks):>10}"
            )
        lines.append(
            f"  {'total':<{name_w}}  {_num(st.max_score):>6}  {len(st.totals):>6}  "
            f"{_mean(st.mean_total):>6}  {_pct(st.full_marks):>10}"
        )
        if st.totals:
            lines.append(
                f"  totals: min {_num(min(st.totals))}, median {_num(statistics.median(st.totals))}, "
                f"max {_num(max(st.totals))}"
            )
            lines.append("  histogram of totals (points: notebooks)")
            hist = format_histogram(st.totals, st.max_score, width=width)
            lines.extend("    " + line for line in hist.splitlines())
        if st.n_internal:
            lines.append(
                f"  {st.n_internal} notebook(s) had an internal grader error: their totals are left out "
                "above, and the questions concerned out of their counts"
            )
        blocks.append("\n".join(lines))
    not_graded = [r for r in reports if r.error or not r.exercise]
    if not_graded:
        blocks.append(f"not graded: {len(not_graded)} notebook(s) (see the messages above)")
    return "\n\n".join(blocks)
