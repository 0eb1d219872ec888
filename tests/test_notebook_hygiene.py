"""Stored notebook outputs are clean: executed, no stderr, tracebacks, paths, addresses or progress bars."""

from __future__ import annotations

import re

import nbformat
import pytest

from conftest import NOTEBOOKS, notebook_paths

BAD_PATTERNS = {
    "an absolute path": re.compile(r"(?<![\w.])(/(home|root|work|tmp|usr|opt|Users|var|private)/|[A-Za-z]:\\\\)"),
    "a memory address": re.compile(r"\b0x[0-9a-fA-F]{6,}\b"),
    "a Keras progress bar": re.compile(r"━━|\d+/\d+ \[=*>?\.*\]|ETA: "),
    "a warning": re.compile(r"\b\w*Warning\b|WARNING"),
}


def _text_of(output: dict) -> str:
    if output.get("output_type") == "stream":
        return output.get("text", "")
    data = output.get("data", {})
    return "\n".join(v if isinstance(v, str) else "".join(v) for k, v in data.items() if k.startswith("text/"))


CHAPTERS = notebook_paths()


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: str(p.relative_to(NOTEBOOKS)))
def test_stored_outputs_are_clean(path) -> None:
    nb = nbformat.read(path, as_version=4)
    assert nb.metadata.get("kernelspec", {}).get("name") == "python3", "kernelspec must be python3"
    code_cells = [c for c in nb.cells if c.cell_type == "code"]
    assert code_cells, "a notebook without code"
    for i, cell in enumerate(code_cells, start=1):
        assert cell.execution_count is not None, f"code cell {i} was never executed: run `make outputs`"
        for out in cell.get("outputs", []):
            assert out.get("output_type") != "error", f"code cell {i} stores a traceback"
            if out.get("output_type") == "stream":
                assert out.get("name") != "stderr", f"code cell {i} stores stderr: {out.get('text', '')[:200]!r}"
            text = _text_of(out)
            for what, pattern in BAD_PATTERNS.items():
                m = pattern.search(text)
                assert m is None, f"code cell {i} stores {what}: ...{text[max(0, m.start() - 60): m.end() + 60]!r}..."


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: str(p.relative_to(NOTEBOOKS)))
def test_first_code_cell_sets_up_the_notebook(path) -> None:
    nb = nbformat.read(path, as_version=4)
    first = next(c for c in nb.cells if c.cell_type == "code")
    assert "setup_notebook(" in first.source, "the first code cell must call tdnn.setup_notebook()"
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert not re.search(r"^\s*[!%]\s*pip\b", cell.source, re.M), "no pip install cells"
            assert "google.colab" not in cell.source, "no Colab magics"
