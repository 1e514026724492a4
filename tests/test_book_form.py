"""What a reader gets on every chapter page, checked on the chapter sources.

Every chapter has learning goals, inline questions with hidden answers, a Recap box, a link to its
exercise set and a references section; every figure it draws has a caption, a name the text refers
to with ``{numref}``, and alt text that describes what the figure shows (not a file name).

Figures are code cells that call ``plotting.plot_*``; their caption, name and alt text are myst-nb
cell metadata::

    ```{code-cell} ipython3
    ---
    tags: [hide-input]
    mystnb:
      figure:
        caption: What the figure shows, in a sentence or two.
        name: fig-pre-cloud
      image:
        alt: A description for a reader who cannot see the figure.
    ---
    plotting.plot_preprocessing_cloud(cloud)
    ```
"""

from __future__ import annotations

import re
from pathlib import Path

import jupytext
import pytest

BOOK = Path(__file__).resolve().parent.parent / "book"
CHAPTERS = sorted(p.name for p in BOOK.glob("[0-9][0-9]_*.md"))
MIN_QUESTIONS = 3
MIN_ALT_CHARS = 40


def figure_cells(chapter: str) -> list[dict]:
    nb = jupytext.read(BOOK / chapter)
    return [c for c in nb.cells if c.cell_type == "code" and re.search(r"\bplotting\.plot_\w+\(", c.source)]


@pytest.fixture(params=CHAPTERS)
def chapter(request):
    return request.param


def test_learning_goals_recap_exercises_and_references(chapter):
    text = (BOOK / chapter).read_text()
    assert re.search(r"(?m)^## Learning goals\s*$", text), f"{chapter}: no '## Learning goals' section"
    assert re.search(r"\{admonition\}\s*Recap\b", text), f"{chapter}: no Recap admonition"
    assert re.search(r"(?m)^## Exercises\s*$", text) and f"exercises/{chapter[:-3]}.ipynb" in text, (
        f"{chapter}: no Exercises section pointing to exercises/{chapter[:-3]}.ipynb"
    )
    assert "{bibliography}" in text, f"{chapter}: no bibliography"


def test_inline_questions_have_hidden_answers(chapter):
    text = (BOOK / chapter).read_text()
    questions = len(re.findall(r"(?m)^\s*:class:\s*dropdown\b", text)) + len(re.findall(r"\{dropdown\}", text))
    assert questions >= MIN_QUESTIONS, (
        f"{chapter}: {questions} inline questions with hidden answers, want {MIN_QUESTIONS}+"
    )


def test_every_figure_has_a_caption_a_name_and_alt_text(chapter):
    cells = figure_cells(chapter)
    assert cells, f"{chapter} draws no figure"
    problems = []
    for cell in cells:
        meta = cell.metadata.get("mystnb", {})
        fig, img = meta.get("figure", {}), meta.get("image", {})
        where = cell.source.strip().splitlines()[-1][:60]
        if not str(fig.get("caption", "")).strip():
            problems.append(f"{where}: no caption")
        if not str(fig.get("name", "")).startswith("fig-"):
            problems.append(f"{where}: no name starting with 'fig-'")
        alt = str(img.get("alt", ""))
        if len(alt) < MIN_ALT_CHARS or re.search(r"\.(png|svg|jpe?g)\b", alt):
            problems.append(f"{where}: alt text missing, too short or a file name: {alt!r}")
    assert not problems, f"{chapter}:\n  " + "\n  ".join(problems)


def test_every_figure_is_referred_to_in_the_text(chapter):
    text = (BOOK / chapter).read_text()
    names = [c.metadata.get("mystnb", {}).get("figure", {}).get("name") for c in figure_cells(chapter)]
    names = [n for n in names if n]
    unreferenced = [n for n in names if not re.search(r"\{numref\}`(?:[^`<]*<)?" + re.escape(n) + r">?`", text)]
    assert not unreferenced, f"{chapter}: figures never referred to with {{numref}}: {unreferenced}"
    assert len(set(names)) == len(names), f"{chapter}: duplicate figure names {names}"


def test_glue_calls_stay_out_of_the_code_a_reader_sees(chapter):
    """``glue(...)`` is bookkeeping for the prose: it lives in cells tagged ``remove-cell``."""
    nb = jupytext.read(BOOK / chapter)
    shown = [
        c.source.strip().splitlines()[0][:60]
        for c in nb.cells
        if c.cell_type == "code"
        and re.search(r"^\s*glue\(", c.source, re.M)
        and not {"remove-cell", "remove-input"} & set(c.metadata.get("tags", []))
    ]
    assert not shown, f"{chapter}: cells that show glue(...) calls to the reader: {shown}"
