"""Reading notebooks (``.ipynb`` or MyST ``.md``) and writing generated ones.

Two readers, for two kinds of input:

* :func:`read_source` reads an instructor's solution notebook strictly (jupytext for
  ``.md``, nbformat for ``.ipynb``) and fails loudly;
* :func:`parse_submission` reads a student's file leniently from bytes the grader has
  already loaded, never executing anything, and raises :class:`NotebookError` with a
  message meant for the student when the file is not a readable notebook.

Both return a :class:`Notebook`: a list of :class:`Cell` (type, source, tags) plus the
notebook metadata, which is all the grader and the exercise generator need.

:func:`dumps_exercise` writes an nbformat-4 notebook as deterministic JSON (sorted keys,
one-space indent, no outputs, sequential cell ids, trailing newline) so that
regenerating an unchanged exercise gives identical bytes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "Cell",
    "Notebook",
    "NotebookError",
    "read_source",
    "parse_submission",
    "dumps_exercise",
    "NOTEBOOK_SUFFIXES",
    "is_text_notebook",
]

NOTEBOOK_SUFFIXES = (".ipynb", ".md")


class NotebookError(ValueError):
    """The file is not a notebook the grader can read."""


@dataclass(frozen=True)
class Cell:
    """One notebook cell: ``index`` is its position in the notebook (0-based)."""

    index: int
    cell_type: str
    source: str
    tags: tuple[str, ...] = ()
    metadata: dict = field(default_factory=dict, compare=False)

    @property
    def first_line(self) -> str:
        for line in self.source.splitlines():
            if line.strip():
                return line.strip()
        return ""


@dataclass(frozen=True)
class Notebook:
    cells: tuple[Cell, ...]
    metadata: dict = field(default_factory=dict, compare=False)

    def code_cells(self) -> list[Cell]:
        return [c for c in self.cells if c.cell_type == "code"]


def _join(source) -> str:
    if isinstance(source, str):
        return source
    if isinstance(source, list) and all(isinstance(s, str) for s in source):
        return "".join(source)
    raise NotebookError("a cell's source is neither a string nor a list of strings")


def _tags(metadata) -> tuple[str, ...]:
    if not isinstance(metadata, dict):
        return ()
    tags = metadata.get("tags", ())
    if not isinstance(tags, (list, tuple)):
        return ()
    return tuple(t for t in tags if isinstance(t, str))


def _from_cell_dicts(cells, metadata) -> Notebook:
    if not isinstance(cells, list):
        raise NotebookError("the notebook has no list of cells")
    out = []
    for i, c in enumerate(cells):
        if not isinstance(c, dict):
            raise NotebookError(f"cell {i} is not a JSON object")
        ctype = c.get("cell_type")
        if not isinstance(ctype, str):
            raise NotebookError(f"cell {i} has no cell_type")
        md = c.get("metadata", {})
        out.append(
            Cell(i, ctype, _join(c.get("source", "")), _tags(md), md if isinstance(md, dict) else {})
        )
    return Notebook(tuple(out), metadata if isinstance(metadata, dict) else {})


def is_text_notebook(text: str) -> bool:
    """True if a ``.md`` file looks like a MyST/jupytext notebook (not a plain README)."""
    head = text.lstrip()[:4000]
    return "```{code-cell}" in text or (
        head.startswith("---") and ("jupytext:" in head or "kernelspec:" in head)
    )


def _read_markdown(text: str):
    import jupytext

    fmt = "md:myst" if "```{code-cell}" in text or "format_name: myst" in text else "md"
    return jupytext.reads(text, fmt=fmt)


def read_source(path: str | Path) -> Notebook:
    """Read an instructor's solution notebook (``.md`` via jupytext, or ``.ipynb``)."""
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".md":
        nb = _read_markdown(text)
    elif path.suffix == ".ipynb":
        import nbformat

        nb = nbformat.reads(text, as_version=4)
    else:
        raise NotebookError(f"{path}: not a notebook (expected .md or .ipynb)")
    return _from_cell_dicts([dict(c) for c in nb.cells], dict(nb.metadata))


def parse_submission(data: bytes, suffix: str) -> Notebook:
    """Parse a submission's bytes leniently; raise :class:`NotebookError` if unreadable."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise NotebookError(f"the file is not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    if suffix == ".md":
        if not is_text_notebook(text):
            raise NotebookError("the Markdown file is not a MyST/jupytext notebook")
        try:
            nb = _read_markdown(text)
        except Exception as exc:  # jupytext raises a variety of errors on bad input
            raise NotebookError(f"the MyST notebook could not be parsed: {exc}") from None
        return _from_cell_dicts([dict(c) for c in nb.cells], dict(nb.metadata))
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        raise NotebookError(
            f"the notebook is not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})"
        ) from None
    if not isinstance(obj, dict):
        raise NotebookError("the notebook is not a JSON object")
    if "worksheets" in obj:  # nbformat 3: let nbformat upgrade it
        try:
            import nbformat

            nb = nbformat.reads(text, as_version=4)
        except Exception as exc:
            raise NotebookError(f"the (nbformat 3) notebook could not be read: {exc}") from None
        return _from_cell_dicts([dict(c) for c in nb.cells], dict(nb.metadata))
    if "cells" not in obj:
        raise NotebookError("the JSON file has no 'cells': it is not a Jupyter notebook")
    return _from_cell_dicts(obj["cells"], obj.get("metadata", {}))


def dumps_exercise(cells: list[tuple[str, str, dict]], metadata: dict) -> str:
    """Deterministic nbformat-4 JSON for ``cells`` = ``[(cell_type, source, metadata), ...]``.

    Outputs are empty, execution counts ``None``, ids ``cell-00``, ``cell-01``, ...
    The result is validated against the nbformat schema.
    """
    import nbformat
    from nbformat import v4

    nb = v4.new_notebook()
    nb.metadata = nbformat.from_dict(metadata)
    for i, (ctype, source, cmeta) in enumerate(cells):
        if ctype == "code":
            cell = v4.new_code_cell(source=source, metadata=cmeta)
        elif ctype == "markdown":
            cell = v4.new_markdown_cell(source=source, metadata=cmeta)
        else:
            cell = v4.new_raw_cell(source=source, metadata=cmeta)
        cell["id"] = f"cell-{i:02d}"
        nb.cells.append(cell)
    nb.nbformat, nb.nbformat_minor = 4, 5
    nbformat.validate(nb)
    # nbformat.writes: sorted keys, indent 1, sources split into lines (readable diffs).
    text = nbformat.writes(nb, version=4)
    return text if text.endswith("\n") else text + "\n"
