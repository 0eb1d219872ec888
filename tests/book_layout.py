"""Check the built book (Jupyter Book 1.x, ``_build/html``) in a real headless Chromium at laptop width.

Usage::

    python tests/book_layout.py [_build/html] [--width 1280] [--height 1000] [--pages intro,notebooks/01_...]

For every page of the table of contents (``toc.yml``, globs expanded; ``--pages`` for some) it reports

- every element that scrolls or is clipped sideways: code cells, text outputs, tables, display
  equations, anything else in the article (page, kind, cell number, scrollWidth vs clientWidth);
- whether MathJax finished, and any MathJax error (``mjx-merror``);
- images that did not load (``naturalWidth == 0``);
- console errors and uncaught exceptions;
- requests that leave the machine (anything but ``file:``, ``data:``, ``blob:`` and localhost). They
  are blocked, not sent;
- pages of the table of contents missing from the sidebar;
- the header's download button: the file its link resolves to in the browser must exist in the
  site and be the page's own source; a notebook must be valid (nbformat 4) and hold no otter
  teacher line (solution or hidden-test marker).

It drives Debian's Chromium (``/usr/bin/chromium`` or ``$CHROMIUM``) over the DevTools protocol on a
pipe (``--remote-debugging-pipe``): standard library only, no port opened, nothing downloaded.
Exit status 0 when every page is clean, 1 otherwise. ``check_site`` returns the same findings to
tests (``tests/test_book_site.py``).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-extensions", "--disable-default-apps", "--mute-audio",
    "--dns-prefetch-disable", "--remote-debugging-pipe",
]
LOCAL_PREFIXES = ("file:", "data:", "blob:", "about:", "http://localhost", "http://127.0.0.1",
                  "https://localhost", "https://127.0.0.1", "ws://localhost", "ws://127.0.0.1")

# Runs in the page after load and MathJax: returns everything the checks need.
MEASURE_JS = r"""
(() => {
  const article = document.querySelector('article.bd-article') || document.querySelector('main') || document.body;
  const cells = [...document.querySelectorAll('div.cell')];
  const cellOf = el => { const c = el.closest('div.cell'); return c ? cells.indexOf(c) + 1 : null; };
  const firstLine = el => {
    const c = el.closest('div.cell');
    const src = c && c.querySelector('.cell_input pre');
    const t = (src ? src.textContent : el.textContent).split('\n').find(l => l.trim()) || '';
    return t.trim().slice(0, 70);
  };
  const kindOf = el => {
    if (el.closest('mjx-container') || el.matches('mjx-container') || el.closest('div.math')) return 'equation';
    if (el.matches('table') || el.querySelector(':scope > table') || el.closest('table')) return 'table';
    if (el.closest('.cell_input')) return 'code';
    if (el.closest('.cell_output')) return 'output';
    if (el.matches('pre') || el.closest('div.highlight')) return 'code block';
    return el.tagName.toLowerCase();
  };
  // the longest line of a code cell or text output, in characters (what to shorten)
  const longest = el => {
    const pre = el.matches('pre') ? el : el.querySelector('pre');
    if (!pre) return null;
    return Math.max(...pre.textContent.split('\n').map(l => [...l].length));
  };
  const label = el => {
    let s = el.tagName.toLowerCase();
    if (el.id) s += '#' + el.id;
    if (el.classList.length) s += '.' + [...el.classList].slice(0, 3).join('.');
    return s;
  };
  // 1. Every element of the article whose content is wider than its box: a scroll container
  //    (overflow-x auto/scroll) or a clipping one (hidden/clip). Visible overflow is caught in 3.
  //    Math is measured in 2: MathJax's hidden assistive MathML inflates scrollWidth.
  const over = [];
  const isMath = el => el.matches('span.math, div.math, mjx-container') || el.closest('mjx-container');
  for (const el of article.querySelectorAll('*')) {
    if (el.scrollWidth <= el.clientWidth + 1 || el.clientWidth === 0 || isMath(el)) continue;
    const ox = getComputedStyle(el).overflowX;
    if (ox === 'visible') continue;
    over.push({kind: kindOf(el), cell: cellOf(el), element: label(el), overflow: ox,
               scrollWidth: el.scrollWidth, clientWidth: el.clientWidth, text: firstLine(el),
               longest: longest(el)});
  }
  // 2. Formulas: the typeset formula (mjx-math) must fit the box that shows it.
  for (const c of article.querySelectorAll('mjx-container')) {
    const m = c.querySelector('mjx-math');
    if (!m) continue;
    const box = c.closest('div.math, span.math') || c.parentElement;
    const avail = Math.min(box.clientWidth || Infinity, c.clientWidth || Infinity);
    const w = m.getBoundingClientRect().width;
    if (w > avail + 1) {
      const display = c.getAttribute('display') === 'true';
      over.push({kind: display ? 'equation' : 'inline math', cell: cellOf(c), element: label(box),
                 overflow: getComputedStyle(c).overflowX, scrollWidth: Math.round(w),
                 clientWidth: Math.round(avail), text: c.textContent.slice(0, 70)});
    }
  }
  // 3. Elements sticking out of the article column without a scroll box of their own between
  //    them and the article (those are reported in 1).
  const box = article.getBoundingClientRect();
  const cs = getComputedStyle(article);
  const left = box.left + parseFloat(cs.paddingLeft), right = box.right - parseFloat(cs.paddingRight);
  const clipped = el => {
    for (let p = el.parentElement; p && p !== article; p = p.parentElement) {
      if (getComputedStyle(p).overflowX !== 'visible') return true;
    }
    return false;
  };
  const sel = 'pre, table, mjx-container[display="true"], img, .cell_output > .output, div.math';
  for (const el of article.querySelectorAll(sel)) {
    const r = el.getBoundingClientRect();
    if (r.width === 0 || clipped(el)) continue;
    if (r.right > right + 1 || r.left < left - 1) {
      over.push({kind: kindOf(el), cell: cellOf(el), element: label(el), overflow: 'sticks out',
                 scrollWidth: Math.round(r.right - left), clientWidth: Math.round(right - left),
                 text: firstLine(el)});
    }
  }
  // the page itself must not scroll sideways
  const doc = document.documentElement;
  if (doc.scrollWidth > doc.clientWidth + 1) {
    over.push({kind: 'page', cell: null, element: 'html', overflow: 'page',
               scrollWidth: doc.scrollWidth, clientWidth: doc.clientWidth, text: ''});
  }
  // How many monospace characters a code cell shows per line.
  let codeChars = null;
  const pre = document.querySelector('.cell_input pre') || article.querySelector('pre');
  if (pre) {
    const probe = document.createElement('span');
    probe.textContent = 'x'.repeat(200);
    probe.style.whiteSpace = 'pre';
    pre.appendChild(probe);
    const cw = probe.getBoundingClientRect().width / 200;
    probe.remove();
    const cs = getComputedStyle(pre);
    const inner = pre.clientWidth - parseFloat(cs.paddingLeft) - parseFloat(cs.paddingRight);
    codeChars = Math.floor(inner / cw + 0.01);
  }
  // outputs of cells tagged nbval-ignore-output must carry the "measured" label (_static/tdnn.css)
  const measured = [...document.querySelectorAll('div.cell.tag_nbval-ignore-output > .cell_output')];
  const unlabelled = measured.filter(o => !getComputedStyle(o, '::before').content.includes('measured'))
                             .map(o => cellOf(o));
  const imgs = [...document.images];
  // the chapter list in the left sidebar: every link it shows (visible at this width)
  const shown = el => { const r = el.getBoundingClientRect(); return r.width > 0 && r.height > 0; };
  const nav = document.querySelector('nav.bd-docs-nav');
  const sidebar = nav ? [...nav.querySelectorAll('a.reference.internal')].filter(shown)
                          .map(a => a.href.split('#')[0]) : [];
  const captions = nav ? [...nav.querySelectorAll('p.caption')].filter(shown)
                           .map(c => c.textContent.trim()) : [];
  // the header's download button (a dropdown): the source file it links to
  const dl = document.querySelector('.dropdown-download-buttons a.btn-download-source-button');
  const dlButton = document.querySelector('.dropdown-download-buttons > button');
  // the link is in a dropdown menu: a click on the button must show it (then close the menu)
  let downloadOpens = null;
  if (dl && dlButton) {
    dlButton.click();
    downloadOpens = shown(dl);
    if (downloadOpens) dlButton.click();
  }
  return {
    downloadOpens,
    sidebar, captions,
    download: dl ? dl.href : null,
    downloadButtonShown: !!dlButton && shown(dlButton),
    overflows: over,
    codeChars,
    articleWidth: Math.round(box.width),
    nCells: cells.length,
    nMath: document.querySelectorAll('mjx-container').length,
    mathErrors: [...document.querySelectorAll('mjx-merror')].map(e => e.getAttribute('data-mjx-error') || e.textContent).slice(0, 5),
    rawTex: (document.querySelector('article') || document.body).innerText.includes('$$'),
    images: imgs.length,
    brokenImages: imgs.filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.getAttribute('src')),
    nMeasured: measured.length,
    unlabelledMeasured: unlabelled,
    mathjax: typeof window.MathJax === 'object' && !!window.MathJax.startup,
  };
})()
"""

WAIT_MATHJAX_JS = r"""
(async () => {
  if (!(window.MathJax && MathJax.startup && MathJax.startup.promise)) return 'no-mathjax';
  try { await MathJax.startup.promise; return 'ok'; } catch (e) { return 'error: ' + e; }
})()
"""


class CDPError(RuntimeError):
    pass


class Browser:
    """A headless Chromium driven over the DevTools protocol on a pipe (fds 3 and 4)."""

    def __init__(self, executable: str, width: int, height: int) -> None:
        self._profile = tempfile.TemporaryDirectory(prefix="book-layout-")
        import fcntl
        to_child_r, self._to_child = os.pipe()
        self._from_child, from_child_w = os.pipe()
        # Chromium reads commands on fd 3 and writes replies on fd 4: move the child's ends above
        # any fd that could collide, then dup them onto 3 and 4 in the child before exec.
        hi_r = fcntl.fcntl(to_child_r, fcntl.F_DUPFD, 100)
        hi_w = fcntl.fcntl(from_child_w, fcntl.F_DUPFD, 100)
        os.close(to_child_r)
        os.close(from_child_w)

        def _setup_fds() -> None:  # runs in the child before exec
            os.dup2(hi_r, 3)
            os.dup2(hi_w, 4)

        self.proc = subprocess.Popen(
            [executable, *FLAGS, f"--user-data-dir={self._profile.name}",
             f"--window-size={width},{height}", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            preexec_fn=_setup_fds, close_fds=False,  # other fds are non-inheritable
        )
        os.close(hi_r)
        os.close(hi_w)
        self._buf = b""
        self._next_id = 0
        self.events: list[dict] = []
        self.width, self.height = width, height

    # -- protocol -------------------------------------------------------------------------------
    def _read_message(self, deadline: float) -> dict:
        import select
        while b"\0" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("Chromium did not answer in time")
            ready, _, _ = select.select([self._from_child], [], [], left)
            if ready:
                chunk = os.read(self._from_child, 1 << 20)
                if not chunk:
                    raise CDPError("Chromium closed the DevTools pipe (did it start?)")
                self._buf += chunk
        raw, _, self._buf = self._buf.partition(b"\0")
        return json.loads(raw)

    def send(self, method: str, params: dict | None = None, session: str | None = None,
             timeout: float = 60.0) -> dict:
        self._next_id += 1
        my_id = self._next_id  # events handled while we wait may send messages of their own
        msg = {"id": my_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self._to_child, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            reply = self._read_message(deadline)
            if reply.get("id") == my_id:
                if "error" in reply:
                    raise CDPError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self._handle_event(reply, session)

    def _handle_event(self, event: dict, session: str | None) -> None:
        if "method" not in event:
            return
        if event["method"] == "Fetch.requestPaused":
            # Answer at once (the page is blocked until we do): local requests go on, others fail.
            params = event["params"]
            url = params["request"]["url"]
            method = "Fetch.continueRequest" if url.startswith(LOCAL_PREFIXES) else "Fetch.failRequest"
            args = {"requestId": params["requestId"]}
            if method == "Fetch.failRequest":
                args["errorReason"] = "BlockedByClient"
            self._next_id += 1
            msg = {"id": self._next_id, "method": method, "params": args}
            if event.get("sessionId"):
                msg["sessionId"] = event["sessionId"]
            os.write(self._to_child, json.dumps(msg).encode() + b"\0")
        self.events.append(event)

    def pump(self, seconds: float) -> None:
        """Process events for a while (used to wait for the load event)."""
        deadline = time.monotonic() + seconds
        try:
            while True:
                self._handle_event(self._read_message(deadline), None)
        except TimeoutError:
            pass

    def wait_for(self, method: str, session: str, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for ev in self.events:
                if ev.get("method") == method and ev.get("sessionId") == session:
                    return True
            try:
                self._handle_event(self._read_message(deadline), None)
            except TimeoutError:
                return False
        return False

    # -- pages ----------------------------------------------------------------------------------
    def open(self, url: str, timeout: float = 60.0) -> tuple[str, str]:
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.send(f"{domain}.enable", session=session)
        self.send("Fetch.enable", {"patterns": [{"urlPattern": "http*"}, {"urlPattern": "ws*"}]},
                  session=session)
        self.send("Emulation.setDeviceMetricsOverride",
                  {"width": self.width, "height": self.height, "deviceScaleFactor": 1, "mobile": False},
                  session=session)
        self.events.clear()
        self.send("Page.navigate", {"url": url}, session=session)
        if not self.wait_for("Page.loadEventFired", session, timeout):
            raise TimeoutError(f"{url} did not finish loading in {timeout} s")
        return target, session

    def evaluate(self, expression: str, session: str, timeout: float = 60.0):
        result = self.send("Runtime.evaluate",
                           {"expression": expression, "awaitPromise": True, "returnByValue": True},
                           session=session, timeout=timeout)
        if "exceptionDetails" in result:
            raise CDPError(f"page script failed: {result['exceptionDetails']}")
        return result["result"].get("value")

    def close_page(self, target: str) -> None:
        self.send("Target.closeTarget", {"targetId": target})

    def screenshot(self, session: str, path: Path, full_page: bool = False) -> None:
        import base64
        params: dict = {"format": "png"}
        if full_page:
            height = self.evaluate("document.documentElement.scrollHeight", session)
            params.update(captureBeyondViewport=True,
                          clip={"x": 0, "y": 0, "width": self.width, "height": height, "scale": 1})
        data = self.send("Page.captureScreenshot", params, session=session)["data"]
        path.write_bytes(base64.b64decode(data))

    def close(self) -> None:
        try:
            self.send("Browser.close", timeout=10)
        except Exception:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self._to_child)
        os.close(self._from_child)
        self._profile.cleanup()

    def __enter__(self) -> "Browser":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


@dataclass
class PageReport:
    page: str
    overflows: list[dict] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    external_requests: list[str] = field(default_factory=list)
    broken_images: list[str] = field(default_factory=list)
    math_errors: list[str] = field(default_factory=list)
    mathjax: str = ""
    raw_tex: bool = False
    n_math: int = 0
    n_images: int = 0
    n_cells: int = 0
    n_measured: int = 0
    unlabelled_measured: list[int] = field(default_factory=list)
    code_chars: int | None = None
    article_width: int = 0
    sidebar: list[str] = field(default_factory=list)  # pages the sidebar links to (html_dir-relative)
    captions: list[str] = field(default_factory=list)
    missing_from_sidebar: list[str] = field(default_factory=list)
    download: str | None = None  # the file the download button links to (html_dir-relative)
    download_problems: list[str] = field(default_factory=list)

    @property
    def problems(self) -> list[str]:
        out = [f"{o['kind']} overflows" + (f" (cell {o['cell']})" if o["cell"] else "")
               for o in self.overflows]
        out += [f"console error: {e}" for e in self.console_errors]
        out += [f"request leaves the machine: {u}" for u in self.external_requests]
        out += [f"image not loaded: {s}" for s in self.broken_images]
        out += [f"MathJax error: {e}" for e in self.math_errors]
        if self.mathjax not in ("ok", "no-mathjax"):
            out.append(f"MathJax did not finish: {self.mathjax}")
        out += [f"measured output without its label (cell {c})" for c in self.unlabelled_measured]
        if self.raw_tex:
            out.append("raw TeX ($$) left in the text")
        out += [f"sidebar does not list {p}" for p in self.missing_from_sidebar]
        out += [f"download link: {p}" for p in self.download_problems]
        return out


def _console_errors(events: list[dict]) -> list[str]:
    errors = []
    for ev in events:
        method, p = ev.get("method"), ev.get("params", {})
        if method == "Runtime.exceptionThrown":
            d = p["exceptionDetails"]
            errors.append((d.get("exception", {}).get("description") or d.get("text", "")).split("\n")[0])
        elif method == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
            errors.append(" ".join(str(a.get("value", a.get("description", ""))) for a in p["args"]))
        elif method == "Log.entryAdded" and p["entry"]["level"] == "error":
            e = p["entry"]
            if "net::ERR_BLOCKED_BY_CLIENT" in e.get("text", "") or e.get("source") == "network" \
                    and not e.get("url", "").startswith(LOCAL_PREFIXES):
                continue  # reported as an external request instead
            errors.append(f"{e.get('text', '')} {e.get('url', '')}".strip())
    return errors


def _external_requests(events: list[dict]) -> list[str]:
    urls = []
    for ev in events:
        if ev.get("method") == "Network.requestWillBeSent":
            url = ev["params"]["request"]["url"]
            if not url.startswith(LOCAL_PREFIXES) and url not in urls:
                urls.append(url)
    return urls


def content_pages(html_dir: Path) -> list[Path]:
    """The site's content pages: every HTML file but redirects, Sphinx's own (search, genindex), _static."""
    skip = {"search.html", "genindex.html", "py-modindex.html"}
    pages = [p for p in html_dir.rglob("*.html")
             if p.name not in skip and not any(part.startswith("_") for part in p.relative_to(html_dir).parts)]
    # index.html is a bare redirect to the root page (written by sphinx-external-toc)
    return sorted(p for p in pages if 'http-equiv="Refresh"' not in p.read_text(errors="replace")[:500])


def toc_pages(source_dir: Path, toc: Path | None = None) -> list[str]:
    """The pages of the book in table-of-contents order, as docnames (``notebooks/01_...``): the
    root, every ``file:`` entry and every source file a ``glob:`` entry matches (as
    sphinx-external-toc expands it: docnames matched with fnmatch, sorted)."""
    import fnmatch

    import yaml

    source_dir = Path(source_dir)
    data = yaml.safe_load((toc or source_dir / "toc.yml").read_text())
    docs = sorted(p.relative_to(source_dir).with_suffix("").as_posix()
                  for suffix in (".md", ".ipynb") for p in source_dir.rglob(f"*{suffix}")
                  if not any(part.startswith((".", "_")) for part in p.relative_to(source_dir).parts))
    pages = [data["root"]]

    def walk(entries: list[dict]) -> None:
        for e in entries:
            if "file" in e:
                pages.append(str(Path(e["file"]).with_suffix("")) if e["file"].endswith((".md", ".ipynb"))
                             else e["file"])
            elif "glob" in e:
                pages.extend(d for d in docs if fnmatch.fnmatchcase(d, e["glob"]) and d not in pages)
            walk(e.get("sections", []))

    for part in data.get("parts", [{"chapters": data.get("chapters", [])}]):
        walk(part.get("chapters", []))
    return pages


def check_download(html_dir: Path, source_dir: Path | None, page: str, url: str | None) -> tuple[str | None, list[str]]:
    """Follow the download button's link of ``page`` (``url``, resolved by the browser): the file must
    exist in the site; a notebook must be a valid nbformat-4 notebook with no otter teacher line
    (solution or hidden-test marker), and must be the very notebook the page was built from (a
    chapter: its stored outputs; an exercise: the student version)."""
    from urllib.parse import unquote, urlparse

    if not url:
        return None, ["the page has no download button"]
    parsed = urlparse(url)
    if parsed.scheme != "file":
        return url, [f"links outside the site: {url}"]
    target = Path(unquote(parsed.path)).resolve()
    try:
        rel = target.relative_to(html_dir).as_posix()
    except ValueError:
        return url, [f"links outside the site: {url}"]
    if not target.is_file():
        return rel, [f"{rel} does not exist"]
    problems = []
    if target.suffix == ".ipynb":
        import nbformat

        from tdnn._book import teacher_markers
        try:
            nb = nbformat.reads(target.read_text(), as_version=nbformat.NO_CONVERT)
            if nb.nbformat != 4:
                raise ValueError(f"nbformat {nb.nbformat}")
            nbformat.validate(nb)
        except Exception as e:  # noqa: BLE001 - any failure to read is the finding
            return rel, [f"{rel} is not a valid notebook ({type(e).__name__}: {str(e)[:200]})"]
        if not nb.cells:
            problems.append(f"{rel} has no cells")
        problems += [f"{rel} holds a teacher line: {m!r}" for m in teacher_markers(nb)[:5]]
    if source_dir is not None:
        source = source_dir / rel.removeprefix("_sources/")
        if rel.startswith("_sources/") and source.name.startswith(Path(page).name + ".") and source.is_file():
            if source.read_bytes() != target.read_bytes():
                problems.append(f"{rel} differs from the page's source {source.relative_to(source_dir)}")
        else:
            problems.append(f"{rel} is not the source of {page}")
    return rel, problems


def find_chromium() -> str | None:
    candidates = [os.environ.get("CHROMIUM"), "/usr/bin/chromium", shutil.which("chromium"),
                  shutil.which("chromium-browser"), shutil.which("google-chrome")]
    return next((c for c in candidates if c and os.access(c, os.X_OK)), None)


def check_site(html_dir: Path, pages: list[Path] | None = None, width: int = 1280, height: int = 1000,
               screenshots: Path | None = None, chromium: str | None = None,
               sidebar: list[str] | None = None, source_dir: Path | None = None,
               full_page: bool = False) -> list[PageReport]:
    """Check ``pages`` (default: every content page) of the site in ``html_dir``. ``sidebar``: the
    docnames every page's sidebar must list (default: none checked). ``source_dir``: the book's
    source folder, to compare each download with the page's source (default: not compared)."""
    html_dir = Path(html_dir).resolve()
    chromium = chromium or find_chromium()
    if chromium is None:
        raise FileNotFoundError("no Chromium found (apt-get install chromium, or set $CHROMIUM)")
    pages = [Path(p).resolve() for p in pages] if pages is not None else content_pages(html_dir)
    source_dir = Path(source_dir).resolve() if source_dir is not None else None
    reports = []
    with Browser(chromium, width, height) as browser:
        for page in pages:
            rel = page.relative_to(html_dir).as_posix()
            target, session = browser.open(page.resolve().as_uri())
            report = PageReport(rel)
            report.mathjax = browser.evaluate(WAIT_MATHJAX_JS, session)
            browser.pump(0.3)  # let late console messages and image loads arrive
            m = browser.evaluate(MEASURE_JS, session)
            report.overflows = m["overflows"]
            report.code_chars = m["codeChars"]
            report.article_width = m["articleWidth"]
            report.n_cells, report.n_math, report.n_images = m["nCells"], m["nMath"], m["images"]
            report.math_errors, report.raw_tex = m["mathErrors"], m["rawTex"]
            report.broken_images = m["brokenImages"]
            report.n_measured, report.unlabelled_measured = m["nMeasured"], m["unlabelledMeasured"]
            report.sidebar = [_site_relative(html_dir, u) for u in m["sidebar"]]
            report.captions = m["captions"]
            report.missing_from_sidebar = [d for d in (sidebar or []) if f"{d}.html" not in report.sidebar]
            docname = rel.removesuffix(".html")
            report.download, report.download_problems = check_download(
                html_dir, source_dir, docname, m["download"])
            if m["download"] and not m["downloadButtonShown"]:
                report.download_problems.append("the download button is not visible")
            elif m["download"] and not m["downloadOpens"]:
                report.download_problems.append("a click on the download button does not show the link")
            page_events = [e for e in browser.events if e.get("sessionId") in (session, None)]
            report.console_errors = _console_errors(page_events)
            report.external_requests = _external_requests(page_events)
            if screenshots is not None:
                screenshots.mkdir(parents=True, exist_ok=True)
                browser.screenshot(session, screenshots / (rel.replace("/", "_")[:-5] + ".png"), full_page)
            browser.close_page(target)
            reports.append(report)
    return reports


def _site_relative(html_dir: Path, url: str) -> str:
    from urllib.parse import unquote, urlparse

    parsed = urlparse(url)
    if parsed.scheme != "file":
        return url
    try:
        return Path(unquote(parsed.path)).resolve().relative_to(html_dir).as_posix()
    except ValueError:
        return url


def format_report(r: PageReport) -> str:
    lines = [f"{r.page}: {len(r.overflows)} overflowing, {r.n_cells} cells, {r.n_math} formulas, "
             f"{r.n_images} images, {r.n_measured} measured outputs, article {r.article_width} px, code shows {r.code_chars} chars, "
             f"MathJax {r.mathjax}, sidebar {len(r.sidebar)} links, download {r.download}"]
    for o in r.overflows:
        cell = f"cell {o['cell']:>2}" if o["cell"] else "       "
        chars = f", longest line {o['longest']} chars" if o.get("longest") else ""
        lines.append(f"  {o['kind']:<10} {cell}  {o['scrollWidth']:>5} > {o['clientWidth']:<5} px "
                     f"({o['overflow']}, {o['element']}{chars})  {o['text']}")
    for p in r.problems:
        if "overflows" not in p:
            lines.append(f"  {p}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("html_dir", nargs="?", default="_build/html", type=Path)
    ap.add_argument("--width", type=int, default=1280)
    ap.add_argument("--height", type=int, default=1000)
    ap.add_argument("--pages", help="comma-separated pages relative to html_dir, without .html")
    ap.add_argument("--screenshots", type=Path, help="folder for one PNG per page (viewport)")
    ap.add_argument("--full-page", action="store_true", help="screenshots of the whole page, not the viewport")
    ap.add_argument("--source", type=Path, default=Path("."),
                    help="the book's source folder, with toc.yml (default: the current folder)")
    args = ap.parse_args(argv)
    if not (args.html_dir / "index.html").exists():
        print(f"{args.html_dir}/index.html not found: build the book first (make book-only)", file=sys.stderr)
        return 2
    toc = toc_pages(args.source) if (args.source / "toc.yml").exists() else None
    names = args.pages.split(",") if args.pages else toc
    pages = [args.html_dir / f"{p}.html" for p in names] if names else None
    t0 = time.monotonic()
    reports = check_site(args.html_dir, pages, args.width, args.height, args.screenshots,
                         sidebar=toc, source_dir=args.source if toc else None, full_page=args.full_page)
    for r in reports:
        print(format_report(r))
    bad = [r for r in reports if r.problems]
    print(f"{len(reports)} pages checked at {args.width}x{args.height} in {time.monotonic() - t0:.1f} s: "
          f"{len(bad)} with problems")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
