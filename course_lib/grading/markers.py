"""Solution and hidden-test markers, nbgrader style.

A cell of a solution notebook may hold regions delimited by marker lines::

    def softmax_loss(scores, y):
        \"\"\"docstring the student keeps\"\"\"
        ### BEGIN SOLUTION
        ...the reference code...
        ### END SOLUTION

    ### BEGIN HIDDEN TESTS
    ...instructor-only code...
    ### END HIDDEN TESTS

When the exercise is generated:

* a SOLUTION region in a code cell becomes one line,
  ``raise NotImplementedError("softmax_loss: write your solution here")``, indented like
  the ``### BEGIN SOLUTION`` line (the function name is the nearest enclosing ``def``);
* a SOLUTION region in a markdown cell becomes ``YOUR ANSWER HERE``;
* a HIDDEN TESTS region is removed with its markers (a cell left empty is dropped).

Regions may not nest and every BEGIN needs its END; :func:`find_regions` raises
:class:`MarkerError` naming the line otherwise.  Marker lines are matched after
stripping whitespace, case-sensitively, with any number of ``#`` (at least one) before
``BEGIN``/``END`` -- the same tolerance nbgrader has.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = [
    "BEGIN_SOLUTION",
    "END_SOLUTION",
    "BEGIN_HIDDEN",
    "END_HIDDEN",
    "MarkerError",
    "Region",
    "find_regions",
    "has_hidden_tests",
    "has_solution",
    "stub_source",
]

BEGIN_SOLUTION = "### BEGIN SOLUTION"
END_SOLUTION = "### END SOLUTION"
BEGIN_HIDDEN = "### BEGIN HIDDEN TESTS"
END_HIDDEN = "### END HIDDEN TESTS"

_MARKER_RE = re.compile(r"^\s*#+\s*(BEGIN|END)\s+(SOLUTION|HIDDEN TESTS)\s*$")
_DEF_RE = re.compile(r"^(\s*)(?:async\s+)?def\s+([A-Za-z_]\w*)\s*\(")

MARKDOWN_PLACEHOLDER = "YOUR ANSWER HERE"


class MarkerError(ValueError):
    """Unbalanced, nested or misplaced solution / hidden-test markers."""


@dataclass(frozen=True)
class Region:
    """One marked region: ``kind`` is ``"solution"`` or ``"hidden"``; lines are 0-based,
    ``begin`` and ``end`` are the marker lines themselves."""

    kind: str
    begin: int
    end: int


def _marker(line: str):
    m = _MARKER_RE.match(line)
    if not m:
        return None
    return m.group(1), ("solution" if m.group(2) == "SOLUTION" else "hidden")


def _label(kind: str, which: str) -> str:
    return f"`### {which} {'SOLUTION' if kind == 'solution' else 'HIDDEN TESTS'}`"


def find_regions(source: str) -> list[Region]:
    """Return the marked regions of one cell's source, validating the markers."""
    regions: list[Region] = []
    open_kind, open_line = None, -1
    for i, line in enumerate(source.splitlines()):
        m = _marker(line)
        if m is None:
            continue
        which, kind = m
        if which == "BEGIN":
            if open_kind is not None:
                raise MarkerError(
                    f"line {i + 1}: {_label(kind, 'BEGIN')} inside the region opened by "
                    f"{_label(open_kind, 'BEGIN')} at line {open_line + 1} "
                    "(regions cannot nest; close it first)"
                )
            open_kind, open_line = kind, i
        else:
            if open_kind is None:
                raise MarkerError(
                    f"line {i + 1}: {_label(kind, 'END')} without a matching {_label(kind, 'BEGIN')}"
                )
            if kind != open_kind:
                raise MarkerError(
                    f"line {i + 1}: {_label(kind, 'END')} closes the region opened by "
                    f"{_label(open_kind, 'BEGIN')} at line {open_line + 1}"
                )
            regions.append(Region(kind, open_line, i))
            open_kind = None
    if open_kind is not None:
        raise MarkerError(
            f"line {open_line + 1}: {_label(open_kind, 'BEGIN')} has no matching "
            f"{_label(open_kind, 'END')}"
        )
    return regions


def has_solution(source: str) -> bool:
    """True when the source holds at least one (well-formed) SOLUTION region."""
    return any(r.kind == "solution" for r in find_regions(source))


def has_hidden_tests(source: str) -> bool:
    """True when the source holds a hidden-test marker line (well-formed or not)."""
    return any((m := _marker(line)) is not None and m[1] == "hidden" for line in source.splitlines())


def _enclosing_function(lines: list[str], index: int, indent: int) -> str | None:
    for j in range(index - 1, -1, -1):
        m = _DEF_RE.match(lines[j])
        if m and len(m.group(1).expandtabs()) < indent:
            return m.group(2)
    return None


def stub_source(source: str, cell_type: str = "code") -> str | None:
    """The student version of one cell's source, or ``None`` if nothing is left of it.

    SOLUTION regions are replaced (see the module docstring), HIDDEN TESTS regions are
    removed.  A source without markers is returned unchanged.
    """
    regions = find_regions(source)
    if not regions:
        return source
    lines = source.splitlines()
    out: list[str] = []
    pos = 0
    for r in regions:
        out.extend(lines[pos : r.begin])
        if r.kind == "solution":
            marker_line = lines[r.begin]
            indent_str = marker_line[: len(marker_line) - len(marker_line.lstrip())]
            if cell_type == "code":
                name = _enclosing_function(lines, r.begin, len(indent_str.expandtabs()))
                what = f"{name}: write your solution here" if name else "write your solution here"
                out.append(f"{indent_str}raise NotImplementedError({what!r})")
            else:
                out.append(f"{indent_str}{MARKDOWN_PLACEHOLDER}")
        pos = r.end + 1
    out.extend(lines[pos:])
    text = "\n".join(out)
    if not text.strip():
        return None
    # Drop blank lines left at the end by a removed hidden region.
    return text.rstrip()
