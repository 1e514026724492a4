"""The built book, opened in headless Chromium the way a reader opens it.

Needs ``_build/html`` (built by the README's book command, which the test command runs first) and
Debian's Chromium at ``/usr/bin/chromium`` (installed by the same command). For every page in
``_toc.yml`` it checks: the page loads, no request leaves localhost, MathJax typeset every formula
without an error, every image loads, nothing is written to the console as an error, widget output
(progress bars) is rendered, and every internal link points at a page and anchor that exist.
"""

from __future__ import annotations

import functools
import http.server
import os
import re
import shutil
import threading
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
HTML = Path(os.environ.get("COURSE_BOOK_HTML", ROOT / "_build" / "html"))
CHROMIUM = os.environ.get("COURSE_CHROMIUM", "/usr/bin/chromium")

pytestmark = pytest.mark.browser


def toc_pages() -> list[str]:
    """Every document named in ``_toc.yml``, as a path relative to the book root (no suffix)."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    pages = [toc["root"]]

    def walk(entries):
        for entry in entries or []:
            if "file" in entry:
                pages.append(entry["file"])
            walk(entry.get("sections"))
            walk(entry.get("chapters"))

    for part in toc.get("parts", []):
        walk(part.get("chapters"))
    walk(toc.get("chapters"))
    return [re.sub(r"\.(md|ipynb)$", "", p) for p in pages]


PAGES = toc_pages()


@pytest.fixture(scope="session")
def html_root() -> Path:
    if not (HTML / "index.html").exists():
        pytest.fail(f"{HTML}/index.html not found: build the book first (`make book`).")
    return HTML


@pytest.fixture(scope="session")
def server(html_root):
    handler = functools.partial(_QuietHandler, directory=str(html_root))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep pytest output clean
        pass


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists() or shutil.which(CHROMIUM) is None:
        pytest.fail(f"Chromium not found at {CHROMIUM}: `apt-get install -y chromium` (the book command does it).")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield b
        b.close()


def visit(browser, url: str) -> dict:
    """Open ``url``; return what the page did: requests, console errors, math, images, widgets."""
    page = browser.new_page()
    outside, console_errors, failed = [], [], []

    def route(r):
        host = urlsplit(r.request.url).hostname
        if r.request.url.startswith(("data:", "blob:")) or host in ("127.0.0.1", "localhost"):
            r.continue_()
        else:
            outside.append(r.request.url)
            r.abort()

    page.route("**/*", route)
    page.on("console", lambda m: console_errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: console_errors.append(f"uncaught: {e}"))
    page.on("requestfailed", lambda r: failed.append(f"{r.url} ({r.failure})"))
    page.goto(url, wait_until="load")
    # Let MathJax finish typesetting (it is deferred and asynchronous).
    page.wait_for_function(
        "() => !window.MathJax || (window.MathJax.startup && window.MathJax.startup.promise)",
        timeout=20_000,
    )
    page.evaluate("() => window.MathJax && window.MathJax.startup ? window.MathJax.startup.promise : null")
    page.wait_for_timeout(1000)  # late requests (the favicon) and late console errors
    info = page.evaluate(
        """() => ({
            mathSources: document.querySelectorAll('.math, div.math, span.math').length,
            mathTypeset: document.querySelectorAll('mjx-container').length,
            mathErrors: document.querySelectorAll('mjx-merror').length,
            images: Array.from(document.images).map(i => ({src: i.src, ok: i.complete && i.naturalWidth > 0})),
            figures: Array.from(document.querySelectorAll('main img')).map(i => ({
                src: i.src, alt: i.getAttribute('alt') || '',
                caption: (i.closest('figure') && i.closest('figure').querySelector('figcaption'))
                    ? i.closest('figure').querySelector('figcaption').innerText : '',
            })),
            widgetViews: document.querySelectorAll('script[type="application/vnd.jupyter.widget-view+json"]').length,
            widgetsRendered: Array.from(document.querySelectorAll('.widget-hprogress, .widget-progress'))
                .filter(e => getComputedStyle(e).visibility === 'visible' && e.offsetWidth > 0).length,
        })"""
    )
    page.close()
    info.update(outside=outside, console_errors=console_errors, failed=failed)
    return info


@pytest.fixture(scope="session")
def visits(browser, server):
    return {page: visit(browser, f"{server}/{page}.html") for page in PAGES}


def test_every_toc_page_was_built(html_root):
    missing = [p for p in PAGES if not (html_root / f"{p}.html").exists()]
    assert not missing, f"pages in _toc.yml with no HTML: {missing}"


@pytest.mark.parametrize("page", PAGES)
def test_page_is_offline_and_clean(visits, page):
    v = visits[page]
    assert not v["outside"], f"{page}: requests left localhost: {v['outside']}"
    assert not v["failed"], f"{page}: requests failed: {v['failed']}"
    assert not v["console_errors"], f"{page}: console errors: {v['console_errors']}"


@pytest.mark.parametrize("page", PAGES)
def test_math_is_typeset(visits, page):
    v = visits[page]
    assert v["mathErrors"] == 0, f"{page}: {v['mathErrors']} MathJax errors"
    if v["mathSources"]:
        assert v["mathTypeset"] >= 1, f"{page}: math on the page but MathJax typeset nothing"


@pytest.mark.parametrize("page", PAGES)
def test_images_load(visits, page):
    broken = [i["src"] for i in visits[page]["images"] if not i["ok"]]
    assert not broken, f"{page}: images that did not load: {broken}"


@pytest.mark.parametrize("page", PAGES)
def test_figures_have_numbered_captions_and_alt_text(visits, page):
    """Every image in a page's content sits in a numbered, captioned figure and carries alt text that
    describes it (myst-nb writes a file name, or nothing, when the cell metadata gives none)."""
    problems = []
    for fig in visits[page]["figures"]:
        name = fig["src"].rsplit("/", 1)[-1]
        alt = fig["alt"].strip()
        if len(alt) < 40 or name.split(".")[0] in alt or re.search(r"\.(png|svg|jpe?g)\b", alt):
            problems.append(f"{name}: alt text {alt!r}")
        if not re.match(r"Fig\.\s*\d", fig["caption"].strip()):
            problems.append(f"{name}: no numbered caption (got {fig['caption'][:40]!r})")
    assert not problems, f"{page}:\n  " + "\n  ".join(problems)


@pytest.mark.parametrize("page", PAGES)
def test_listings_do_not_scroll_sideways(browser, server, page):
    """On a 1366-pixel-wide screen (a common laptop), no code listing of a tab needs a scroll bar."""
    tab = browser.new_page(viewport={"width": 1366, "height": 900})
    tab.goto(f"{server}/{page}.html", wait_until="load")
    tab.add_style_tag(content=".sd-tab-content { display: block !important; }")  # measure every tab
    overflow = tab.evaluate(
        """() => Array.from(document.querySelectorAll('.sd-tab-content div.highlight pre'))
            .map(e => e.scrollWidth - e.clientWidth)"""
    )
    tab.close()
    wide = [px for px in overflow if px > 1]
    assert not wide, f"{page}: {len(wide)} of {len(overflow)} listings scroll sideways (by {wide} px)"


@pytest.mark.parametrize("page", PAGES)
def test_outputs_do_not_scroll_sideways(browser, server, page):
    """On a 1366-pixel-wide screen, no printed cell output (a table, a message) needs a scroll bar,
    measured with the wrapping safety net of course.css switched off and hidden outputs opened."""
    tab = browser.new_page(viewport={"width": 1366, "height": 900})
    tab.goto(f"{server}/{page}.html", wait_until="load")
    tab.add_style_tag(content=".cell_output pre { white-space: pre !important; overflow-wrap: normal !important; }")
    tab.evaluate("() => document.querySelectorAll('details').forEach(d => { d.open = true; })")
    overflow = tab.evaluate(
        """() => Array.from(document.querySelectorAll('.cell_output pre'))
            .map(e => e.scrollWidth - e.clientWidth)"""
    )
    tab.close()
    wide = [px for px in overflow if px > 1]
    assert not wide, f"{page}: {len(wide)} of {len(overflow)} outputs scroll sideways (by {wide} px)"


@pytest.mark.parametrize("page", PAGES)
def test_widgets_render(visits, page):
    v = visits[page]
    if v["widgetViews"]:
        assert v["widgetsRendered"] >= 1, f"{page}: widget output (progress bars) is not rendered visibly"


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.hrefs, self.ids = [], set()

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if a.get("id"):
            self.ids.add(a["id"])
        if tag == "a" and a.get("href"):
            self.hrefs.append(a["href"])


@functools.lru_cache(maxsize=None)
def _parse(path: Path) -> _Links:
    parser = _Links()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


@pytest.mark.parametrize("page", PAGES)
def test_internal_links_resolve(html_root, page):
    source = html_root / f"{page}.html"
    broken = []
    for href in _parse(source).hrefs:
        parts = urlsplit(href)
        if parts.scheme or parts.netloc or href.startswith(("mailto:", "javascript:")):
            continue
        target = (source.parent / unquote(parts.path)).resolve() if parts.path else source
        if target.is_dir():
            target = target / "index.html"
        if not target.exists():
            broken.append(href)
        elif parts.fragment and target.suffix == ".html" and unquote(parts.fragment) not in _parse(target).ids:
            broken.append(href)
    assert not broken, f"{page}: broken internal links: {broken}"


def test_no_external_links_to_cdns(html_root):
    """No page may *load* anything from outside (links for the reader to follow are fine)."""
    pattern = re.compile(r"<(script|link|img)[^>]+(src|href)=\"(https?:)?//", re.I)
    offenders = [
        str(p.relative_to(html_root)) for p in html_root.rglob("*.html") if pattern.search(p.read_text("utf-8"))
    ]
    assert not offenders, f"pages that load external resources: {offenders}"
