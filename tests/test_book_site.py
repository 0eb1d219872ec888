"""The built book (``_build/html``, made by ``make book``) in a real headless browser: every chapter
page is in the site, its math is typeset by the bundled MathJax (no CDN), and its figures load."""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile

import pytest
import yaml

from conftest import ROOT

HTML = ROOT / "_build" / "html"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


def _toc_files() -> list[str]:
    toc = yaml.safe_load((ROOT / "toc.yml").read_text())
    return [ch["file"] for part in toc["parts"] for ch in part["chapters"]]


def test_every_chapter_notebook_is_in_the_toc() -> None:
    chapters = sorted(p.stem for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    assert [f.split("/")[-1] for f in _toc_files()] == chapters


def _require_site() -> None:
    if not (HTML / "index.html").exists():
        pytest.skip("the book is not built: run `make book` (make test builds it first)")


def _dump_dom(page) -> str:
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync"]
    with tempfile.TemporaryDirectory() as profile:
        result = subprocess.run(
            [CHROMIUM, *flags, f"--user-data-dir={profile}", "--virtual-time-budget=20000",
             "--dump-dom", page.as_uri()],
            capture_output=True, text=True, timeout=120,
        )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


@pytest.mark.parametrize("file", _toc_files())
def test_chapter_page_static_checks(file) -> None:
    _require_site()
    page = HTML / f"{file}.html"
    assert page.exists(), f"{page.name} missing from the built site"
    html = page.read_text()
    assert "_static/mathjax/tex-chtml.js" in html, "MathJax must come from the bundled copy"
    assert "cdn.jsdelivr.net/npm/mathjax" not in html
    images = re.findall(r'<img[^>]+src="([^"]+\.png)"', html)
    assert len(images) >= 2, "a chapter page should show its figures"
    for src in images:
        assert (page.parent / src).resolve().exists(), f"missing image {src}"


@pytest.mark.skipif(CHROMIUM is None, reason="needs Chromium (apt-get install chromium)")
@pytest.mark.parametrize("file", ["intro", *_toc_files()])
def test_page_renders_math_in_a_headless_browser(file) -> None:
    _require_site()
    dom = _dump_dom(HTML / f"{file}.html")
    n_math = dom.count("<mjx-container")
    if file != "intro":
        assert n_math >= 5, f"only {n_math} typeset formulas on {file}: MathJax did not run"
    assert "<mjx-merror" not in dom, "MathJax reported a TeX error"
    # no raw TeX left behind: typeset math removes the $$ delimiters from the text
    text = re.sub(r"<(script|style|pre)[\s\S]*?</\1>", "", dom)
    assert "$$" not in re.sub(r"<[^>]+>", "", text)
