"""Sphinx extension that makes the built book work with no network.

Three jobs:

1. Serve MathJax 3 and the Jupyter widget manager from the build itself. The files come from the
   npm packages pinned in ``tools/web/package.json`` (installed into ``tools/web/node_modules``)
   and are copied into ``_build/html/_static/vendor/`` when the build finishes. ``_config.yml``
   points ``mathjax_path`` and ``nb_ipywidgets_js`` at those copies.
2. Remove the duplicated inline scripts that Sphinx 7 puts on every page (the theme and
   sphinx-thebe both register ``THEBE_JS_URL``; declaring a ``const`` twice is a console error).
3. Add the book's own small style sheet, ``static/course.css`` (the size of code listings).
"""

from __future__ import annotations

import shutil
from pathlib import Path

from sphinx.application import Sphinx
from sphinx.errors import ExtensionError

WEB_DIR = Path(__file__).resolve().parents[1] / "web"
NODE_MODULES = WEB_DIR / "node_modules"

# (source inside node_modules, destination inside _static/vendor, file patterns to skip)
VENDORED = [
    ("mathjax/es5", "mathjax", ("*.map",)),
    ("@jupyter-widgets/html-manager/dist", "html-manager", ("*.map", "*-amd.js")),
]


def _check_sources() -> None:
    missing = [src for src, _, _ in VENDORED if not (NODE_MODULES / src).is_dir()]
    if missing:
        raise ExtensionError(
            "offline assets missing: "
            + ", ".join(str(NODE_MODULES / m) for m in missing)
            + ". Run `npm ci --prefix tools/web` (the README's book command does it)."
        )


def _on_builder_inited(app: Sphinx) -> None:
    if app.builder.format == "html":
        _check_sources()
        # the book's own style sheet (tools/sphinx_ext/static/course.css): listing font size
        app.config.html_static_path.append(str(Path(__file__).parent / "static"))
        app.add_css_file("course.css")


def _copy_assets(app: Sphinx, exception: Exception | None) -> None:
    if exception is not None or app.builder.format != "html":
        return
    vendor = Path(app.outdir) / "_static" / "vendor"
    for src, dest, skip in VENDORED:
        target = vendor / dest
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(NODE_MODULES / src, target, ignore=shutil.ignore_patterns(*skip))


def _dedupe_scripts(app: Sphinx, pagename, templatename, context, doctree) -> None:
    scripts = context.get("script_files")
    if not scripts:
        return
    seen: set[tuple] = set()
    unique = []
    for script in scripts:
        # Inline scripts come with filename None from one extension and "" from another.
        filename = getattr(script, "filename", script) or ""
        key = (str(filename), tuple(sorted(getattr(script, "attributes", {}).items())))
        if key in seen:
            continue
        seen.add(key)
        unique.append(script)
    scripts[:] = unique


def setup(app: Sphinx) -> dict:
    app.connect("builder-inited", _on_builder_inited)
    # Early: a later handler may end the event by returning a template name (emit_firstresult).
    app.connect("html-page-context", _dedupe_scripts, priority=1)
    app.connect("build-finished", _copy_assets)
    return {"parallel_read_safe": True, "parallel_write_safe": True, "version": "1.0"}
