"""The code listings the book shows are short enough to read without scrolling.

Every ``{literalinclude}`` of a chapter is resolved the way Sphinx resolves it (``:pyobject:``,
``:start-after:`` / ``:end-before:``, ``:lines:``), and each shown line must fit in
``MAX_LINE`` characters, so nothing in a listing scrolls sideways. The included object or markers
must exist: a renamed function would otherwise break the build with a less helpful message.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BOOK = ROOT / "book"
MAX_LINE = 88

DIRECTIVE = re.compile(r"^(?P<fence>`{3,}|:{3,})\{literalinclude\}\s+(?P<path>\S+)\s*$")
OPTION = re.compile(r"^:(?P<name>[\w-]+):\s*(?P<value>.*)$")


def listings(page: Path) -> list[tuple[int, Path, dict[str, str]]]:
    """(line number, included file, options) of every literalinclude on a page."""
    found, lines = [], page.read_text().splitlines()
    for i, line in enumerate(lines):
        m = DIRECTIVE.match(line.strip())
        if not m:
            continue
        options = {}
        for opt in lines[i + 1 :]:
            o = OPTION.match(opt.strip())
            if not o:
                break
            options[o.group("name")] = o.group("value").strip()
        found.append((i + 1, (page.parent / m.group("path")).resolve(), options))
    return found


def pyobject_lines(source: str, dotted: str) -> list[str]:
    """The source lines of ``Class``, ``function`` or ``Class.method``, as Sphinx's ``:pyobject:``."""
    node: ast.AST = ast.parse(source)
    for part in dotted.split("."):
        children = [
            n
            for n in ast.iter_child_nodes(node)
            if isinstance(n, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and n.name == part
        ]
        if not children:
            raise LookupError(f"no object {dotted!r}")
        node = children[0]
    lines = source.splitlines()
    return lines[node.lineno - 1 : node.end_lineno]


def shown_lines(path: Path, options: dict[str, str]) -> list[str]:
    source = path.read_text()
    lines = pyobject_lines(source, options["pyobject"]) if "pyobject" in options else source.splitlines()
    if "start-after" in options:
        marker = options["start-after"]
        idx = next((i for i, line in enumerate(lines) if marker in line), None)
        if idx is None:
            raise LookupError(f"start-after marker {marker!r} not found")
        lines = lines[idx + 1 :]
    if "end-before" in options:
        marker = options["end-before"]
        idx = next((i for i, line in enumerate(lines) if marker in line), None)
        if idx is None:
            raise LookupError(f"end-before marker {marker!r} not found")
        lines = lines[:idx]
    if "lines" in options:
        picked = []
        for part in options["lines"].split(","):
            a, _, b = part.partition("-")
            picked += lines[int(a) - 1 : int(b) if b else int(a)]
        lines = picked
    return lines


PAGES = sorted(BOOK.glob("*.md"))
CASES = [(page, n, path, opts) for page in PAGES for n, path, opts in listings(page)]


def test_the_listing_reader_resolves_a_method():
    src = "class A:\n    def f(self):\n        return 1\n\n    def g(self):\n        pass\n"
    assert pyobject_lines(src, "A.f") == ["    def f(self):", "        return 1"]
    with pytest.raises(LookupError):
        pyobject_lines(src, "A.h")


def test_the_book_has_listings():
    assert len(CASES) > 20


@pytest.mark.parametrize(
    "page, lineno, path, options",
    CASES,
    ids=[f"{p.name}:{n}:{o.get('pyobject', path.name)}" for p, n, path, o in CASES],
)
def test_listing_fits_the_page(page, lineno, path, options):
    assert path.is_file(), f"{page.name}:{lineno} includes a missing file {path}"
    shown = shown_lines(path, options)
    assert shown, f"{page.name}:{lineno} shows nothing"
    long = [(i, len(line)) for i, line in enumerate(shown, start=1) if len(line) > MAX_LINE]
    assert not long, (
        f"{page.name}:{lineno} ({path.name} {options}) has lines longer than {MAX_LINE} characters "
        f"(line, length): {long}"
    )


@pytest.mark.parametrize(
    "page, lineno, path, options",
    CASES,
    ids=[f"{p.name}:{n}:{o.get('pyobject', path.name)}" for p, n, path, o in CASES],
)
def test_listing_shows_the_math_not_the_argument_checks(page, lineno, path, options):
    """A listing carries the lines of the math; argument checks live in a checking function it calls."""
    shown = shown_lines(path, options)
    raising = [line.strip() for line in shown if re.match(r"\s*raise\b", line)]
    assert not raising, f"{page.name}:{lineno} ({path.name} {options}) shows argument checks: {raising}"
