"""The solution notebooks as nbgrader *source* notebooks (``nbgrader-source``).

The solution notebooks already use nbgrader's markers (``### BEGIN/END SOLUTION``,
``### BEGIN/END HIDDEN TESTS``), but nbgrader also needs to know, per cell, what the cell
is: it refuses a marker outside a cell marked as a solution or an autograder-test cell.
:func:`nbgrader_source` adds that cell metadata (``metadata.nbgrader``, schema 3):

* a code cell with a SOLUTION region is a *solution* cell (``grade_id``
  ``solution_<function>``, after the first function it defines);
* the self-check cell of a question (the first cell tagged ``raises-exception`` after
  the heading ``## Question k: `fn` (P points)``) is an *autograder-test* cell worth P
  points (``grade_id`` ``test_<function>``), and so is any other cell with a HIDDEN
  TESTS region (worth 0 points);
* cells tagged ``solution-only`` are dropped; every other cell is left as it is.

``nbgrader generate_assignment`` then produces the student version by itself (its own
stubs, ``# YOUR CODE HERE`` and ``raise NotImplementedError()``), and ``nbgrader
autograde`` scores a submission with the self-checks (and hidden tests) as its tests.
Those tests are the notebook's, not the seeded cases of ``checks/NN_topic.py``: nbgrader
does not run course_lib's grader, its sandbox or its private checks.

Command line: ``python -m course_lib.grading nbgrader-source --dest COURSE_DIR`` writes
``COURSE_DIR/source/NN_topic/NN_topic.ipynb`` for every solution notebook.
"""

from __future__ import annotations

import re
from pathlib import Path

from .assign import SOLUTION_ONLY_TAG
from .exercise_set import source_stems
from .markers import find_regions
from .notebook_io import dumps_exercise, read_source

__all__ = ["nbgrader_source", "export_nbgrader"]

SCHEMA_VERSION = 3
_HEADING_RE = re.compile(r"^#+ .*`(\w+)`.*\((\d+(?:\.\d+)?) points?\)", re.M)
_DEF_RE = re.compile(r"^def\s+(\w+)\s*\(", re.M)


def _meta(grade_id: str, *, solution: bool, grade: bool, points: float | None = None) -> dict:
    meta = {"grade": grade, "grade_id": grade_id, "locked": not solution, "schema_version": SCHEMA_VERSION,
            "solution": solution, "task": False}
    if grade:
        meta["points"] = points or 0
    return meta


def _unique(grade_id: str, used: set[str], index: int) -> str:
    if grade_id in used:
        grade_id = f"{grade_id}_cell{index}"
    used.add(grade_id)
    return grade_id


def nbgrader_source(source: str | Path) -> str:
    """The nbgrader source notebook (nbformat-4 JSON text) of one solution notebook."""
    source = Path(source)
    nb = read_source(source)
    cells = []
    used: set[str] = set()
    pending: tuple[str, float] | None = None  # the question whose self-check comes next
    for cell in nb.cells:
        if SOLUTION_ONLY_TAG in cell.tags:
            continue
        meta: dict = {"tags": list(cell.tags)} if cell.tags else {}
        if cell.cell_type == "markdown":
            heading = _HEADING_RE.search(cell.source)
            if heading:
                pending = (heading.group(1), float(heading.group(2)))
        regions = {r.kind for r in find_regions(cell.source)}
        if cell.cell_type == "code" and "solution" in regions:
            defined = _DEF_RE.search(cell.source)
            name = defined.group(1) if defined else f"cell{cell.index}"
            meta["nbgrader"] = _meta(_unique(f"solution_{name}", used, cell.index), solution=True, grade=False)
        elif cell.cell_type == "code" and "raises-exception" in cell.tags and (pending or "hidden" in regions):
            name, points = pending if pending else (f"cell{cell.index}", 0.0)
            pending = None
            points = int(points) if float(points).is_integer() else points
            meta["nbgrader"] = _meta(_unique(f"test_{name}", used, cell.index), solution=False, grade=True,
                                     points=points)
        elif cell.cell_type == "markdown" and "solution" in regions:
            meta["nbgrader"] = _meta(_unique(f"answer_cell{cell.index}", used, cell.index), solution=True,
                                     grade=False)
        cells.append((cell.cell_type, cell.source, meta))
    metadata = {}
    if isinstance(nb.metadata.get("kernelspec"), dict):
        metadata["kernelspec"] = dict(nb.metadata["kernelspec"])
    else:
        metadata["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
    metadata["language_info"] = {"name": "python"}
    return dumps_exercise(cells, metadata)


def export_nbgrader(source_dir: str | Path, course_dir: str | Path, sets: list[str] | None = None) -> list[Path]:
    """Write ``course_dir/source/NN_topic/NN_topic.ipynb`` for the solution notebooks in
    ``source_dir`` (all, or those named in ``sets``); returns the paths written."""
    stems = source_stems(Path(source_dir))
    if sets is not None:
        unknown = sorted(set(sets) - set(stems))
        if unknown:
            raise ValueError(f"sets: no solution notebook for {', '.join(unknown)} in {source_dir}")
        stems = {s: stems[s] for s in sets}
    written = []
    for stem, path in stems.items():
        target = Path(course_dir) / "source" / stem / f"{stem}.ipynb"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(nbgrader_source(path), encoding="utf-8")
        written.append(target)
    return written
