"""Build one chapter alone, with the book's configuration, warnings as errors.

    python tools/build_chapter.py book/04_preprocessing.md [--out DIR]

Writing a chapter, one wants to see it rendered (glued numbers, figure captions, cross-references)
without executing every other chapter. This makes a throw-away book in a temporary folder whose
table of contents holds only that chapter, with links to the project's ``book/``, ``course_lib/``
and ``tools/`` (so ``literalinclude`` paths and the offline-assets extension work as in the real
build), and builds it with ``jupyter-book build -W -n --keep-going``. Links to other chapters are
not checked here (they cannot resolve in a one-chapter book); the full build checks them. The HTML
lands in ``DIR`` (default ``_build/chapter/<name>``); the exit code is the build's.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("chapter", help="a page of book/, e.g. book/04_preprocessing.md")
    parser.add_argument("--out", help="where to put the HTML (default _build/chapter/<name>)")
    args = parser.parse_args(argv)
    page = (ROOT / args.chapter).resolve() if not Path(args.chapter).is_absolute() else Path(args.chapter)
    if page.parent != ROOT / "book" or page.suffix != ".md" or not page.is_file():
        parser.error(f"{args.chapter} is not a page of book/ (book/NN_name.md)")
    out = Path(args.out).resolve() if args.out else ROOT / "_build" / "chapter" / page.stem
    jupyter_book = Path(sys.executable).parent / "jupyter-book"
    with tempfile.TemporaryDirectory(prefix="chapter-") as tmp:
        tmp = Path(tmp)
        for name in ("book", "course_lib", "tools"):
            (tmp / name).symlink_to(ROOT / name, target_is_directory=True)
        config = yaml.safe_load((ROOT / "_config.yml").read_text())
        # links to the other chapters cannot resolve in a one-chapter book; the full build checks them
        sphinx_config = config.setdefault("sphinx", {}).setdefault("config", {})
        sphinx_config["suppress_warnings"] = [*sphinx_config.get("suppress_warnings", []), "myst.xref_missing"]
        (tmp / "_config.yml").write_text(yaml.safe_dump(config, sort_keys=False))
        (tmp / "_toc.yml").write_text(f"format: jb-book\nroot: book/{page.stem}\n")
        code = subprocess.call([str(jupyter_book), "build", str(tmp), "-W", "-n", "--keep-going"], cwd=tmp)
        if (tmp / "_build" / "html").is_dir():
            shutil.rmtree(out, ignore_errors=True)
            out.parent.mkdir(parents=True, exist_ok=True)
            shutil.copytree(tmp / "_build" / "html", out)
            print(f"HTML: {out / (page.stem + '.html')}")
    return code


if __name__ == "__main__":
    raise SystemExit(main())
