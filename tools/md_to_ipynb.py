"""Convert every MyST Markdown notebook in a folder to .ipynb (for nbval, which only reads .ipynb).

Usage: python tools/md_to_ipynb.py SOURCE_DIR DEST_DIR

A Markdown file is a notebook when its front matter has a ``jupytext`` or ``kernelspec`` entry;
plain pages are skipped. The sources are never modified.
"""

from __future__ import annotations

import sys
from pathlib import Path

import jupytext


def is_notebook(path: Path) -> bool:
    text = path.read_text(encoding="utf-8")
    if not text.startswith("---"):
        return False
    front = text.split("---", 2)[1]
    return "kernelspec:" in front or "jupytext:" in front


def main(source: str, dest: str) -> int:
    out = Path(dest)
    out.mkdir(parents=True, exist_ok=True)
    converted = 0
    for path in sorted(Path(source).glob("*.md")):
        if not is_notebook(path):
            continue
        notebook = jupytext.read(path, fmt="md:myst")
        jupytext.write(notebook, out / f"{path.stem}.ipynb", fmt="ipynb")
        converted += 1
    print(f"{source}: {converted} notebook(s) -> {dest}")
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    sys.exit(main(*sys.argv[1:]))
