"""What the book's cells print is narrow enough to read without scrolling sideways.

The code listings keep to ``MAX_LINE`` characters (tests/test_book_listings.py); the text a cell
prints (tables, messages) is shown in the same column, so it must keep to the same width. For every
executed chapter notebook of the built book (``_build/jupyter_execute/book/NN_*.ipynb`` and
``speed.ipynb``), and for its page in ``_build/html``, this checks every line of every output the
reader sees: ``stdout`` (and ``stderr`` unless ``_config.yml`` removes it) and the ``text/plain``
of a result or display that myst-nb shows as text, i.e. one without a richer form it prefers (an
image, HTML, a widget). Cells tagged ``remove-output`` or ``remove-cell`` show nothing;
``hide-output`` / ``hide-cell`` outputs are one click away and are checked.

Without a built book the tests skip (build it with ``make book``). While writing a chapter, check a
one-chapter build (``tools/build_chapter.py``) from the command line; the checker reads an executed
notebook or the HTML page itself::

    python tests/test_book_outputs.py _build/chapter/06_batchnorm/book/06_batchnorm.html
"""

from __future__ import annotations

import html
import json
import os
import re
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"
EXECUTED = Path(os.environ.get("COURSE_BOOK_EXECUTED", ROOT / "_build" / "jupyter_execute" / "book"))
HTML = Path(os.environ.get("COURSE_BOOK_HTML", ROOT / "_build" / "html"))
MAX_LINE = 88

# myst-nb's order of preference for the HTML page (its default ``nb_mime_priority_overrides``):
# ``text/plain`` is shown only when an output has none of the others.
RICHER = (
    "application/vnd.jupyter.widget-view+json",
    "application/javascript",
    "text/html",
    "image/svg+xml",
    "image/png",
    "image/jpeg",
    "text/markdown",
    "text/latex",
)
HIDDEN_TAGS = {"remove-output", "remove-cell"}
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def stderr_shown() -> bool:
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    return (config.get("execute") or {}).get("stderr_output", "show") not in ("remove", "remove-warn")


def _text(value) -> str:
    return "".join(value) if isinstance(value, list) else value


def _visible_lines(text: str) -> list[str]:
    """The lines a reader sees: ANSI colour codes dropped, a carriage return overwrites its line."""
    return [ANSI.sub("", line.rsplit("\r", 1)[-1]).rstrip() for line in text.split("\n")]


def notebook_outputs(path: Path, with_stderr: bool | None = None) -> list[tuple[int, str]]:
    """(cell number, text) of every output of an executed notebook that the book shows as text."""
    if with_stderr is None:
        with_stderr = stderr_shown()
    shown = []
    nb = json.loads(Path(path).read_text(encoding="utf-8"))
    for n, cell in enumerate(nb["cells"]):
        if cell["cell_type"] != "code" or HIDDEN_TAGS & set(cell.get("metadata", {}).get("tags", [])):
            continue
        for out in cell.get("outputs", []):
            if out["output_type"] == "stream":
                if out["name"] == "stdout" or with_stderr:
                    shown.append((n, _text(out["text"])))
            elif out["output_type"] in ("execute_result", "display_data"):
                data = out.get("data", {})
                if "text/plain" in data and not any(kind in data for kind in RICHER):
                    shown.append((n, _text(data["text/plain"])))
            elif out["output_type"] == "error":
                shown.append((n, "\n".join(out.get("traceback", []))))
    return shown


class _OutputText(HTMLParser):
    """The text of every ``<pre>`` inside a ``cell_output`` block of a built page."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.blocks: list[str] = []
        self._stack: list[tuple[str, bool]] = []  # (tag, inside a cell output)
        self._pre: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        inside = bool(self._stack and self._stack[-1][1])
        if "cell_output" in (dict(attrs).get("class") or "").split():
            inside = True
        if tag in ("br", "img", "meta", "link", "input", "hr", "wbr"):
            return
        self._stack.append((tag, inside))
        if tag == "pre" and inside:
            self._pre = []

    def handle_endtag(self, tag):
        while self._stack:
            top, _ = self._stack.pop()
            if top == tag:
                break
        if tag == "pre" and self._pre is not None:
            self.blocks.append("".join(self._pre))
            self._pre = None

    def handle_data(self, data):
        if self._pre is not None:
            self._pre.append(data)


def html_outputs(path: Path) -> list[tuple[int, str]]:
    """(block number, text) of every printed output on a built HTML page."""
    parser = _OutputText()
    parser.feed(Path(path).read_text(encoding="utf-8"))
    return [(n, html.unescape(text)) for n, text in enumerate(parser.blocks)]


def wide_lines(path: Path, limit: int = MAX_LINE) -> list[tuple[int, int, str]]:
    """(cell or block number, length, line) of every shown output line longer than ``limit``.

    ``path`` is an executed notebook (``.ipynb``) or a built page (``.html``)."""
    path = Path(path)
    outputs = html_outputs(path) if path.suffix == ".html" else notebook_outputs(path)
    return [(n, len(line), line) for n, text in outputs for line in _visible_lines(text) if len(line) > limit]


CHAPTERS = sorted(p.stem for p in BOOK.glob("[0-9][0-9]_*.md")) + ["speed"]


def test_the_checker_sees_what_the_book_shows(tmp_path):
    wide = "x" * (MAX_LINE + 1)
    cells = [
        {"cell_type": "code", "metadata": {}, "outputs": [{"output_type": "stream", "name": "stdout", "text": [wide]}]},
        {"cell_type": "code", "metadata": {"tags": ["remove-output"]},
         "outputs": [{"output_type": "stream", "name": "stdout", "text": wide}]},
        {"cell_type": "code", "metadata": {}, "outputs": [
            {"output_type": "execute_result", "data": {"text/plain": wide, "image/png": ""}, "metadata": {}},
            {"output_type": "display_data", "data": {"text/plain": "ok\r" + wide + "\rshort"}, "metadata": {}},
            {"output_type": "display_data", "data": {"text/plain": "ok\n\x1b[31m" + "y" * MAX_LINE + "\x1b[0m"},
             "metadata": {}},
        ]},
        {"cell_type": "code", "metadata": {"tags": ["hide-output"]},
         "outputs": [{"output_type": "execute_result", "data": {"text/plain": wide}, "metadata": {}}]},
    ]
    nb = tmp_path / "nb.ipynb"
    nb.write_text(json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    assert [(n, length) for n, length, _ in wide_lines(nb)] == [(0, MAX_LINE + 1), (3, MAX_LINE + 1)]

    page = tmp_path / "page.html"
    page.write_text(
        '<div class="cell_input"><pre>' + wide + "</pre></div>"
        '<div class="cell_output docutils container"><div class="output stream"><div class="highlight">'
        "<pre><span>a &lt; b</span>\n" + "z" * (MAX_LINE - 5) + "&amp;&amp;&amp;&amp;</pre></div></div>"
        '<img src="x.png"><pre>' + wide + "</pre></div><pre>" + wide + "</pre>"
    )
    assert [(n, length) for n, length, _ in wide_lines(page)] == [(1, MAX_LINE + 1)]
    assert html_outputs(page)[0][1].startswith("a < b\n")


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_printed_output_fits_the_page(chapter):
    """Checked twice: in the executed notebook and in the built page (what the reader is served)."""
    built = [p for p in (EXECUTED / f"{chapter}.ipynb", HTML / "book" / f"{chapter}.html") if p.exists()]
    if not built:
        pytest.skip(f"{chapter}: no executed notebook in {EXECUTED}: the book has not been built (`make book`)")
    wide = [(p.name, *line) for p in built for line in wide_lines(p)]
    assert not wide, f"{chapter}: {len(wide)} output lines longer than {MAX_LINE} characters" + "".join(
        f"\n  {name} #{n}, {length} chars: {line[:100]}" for name, n, length, line in wide
    )


if __name__ == "__main__":
    status = 0
    for arg in sys.argv[1:] or sorted(str(p) for p in EXECUTED.glob("*.ipynb")):
        for n, length, line in wide_lines(Path(arg)):
            status = 1
            print(f"{arg} #{n} ({length}): {line}")
    raise SystemExit(status)
