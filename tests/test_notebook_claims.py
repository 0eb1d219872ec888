"""The exact/measured convention (DESIGN.md, "Exact and measured outputs").

Outputs computed by float32 TensorFlow (or by the clock) are *measured*: their cells carry nbval's
``nbval-ignore-output`` tag, and the lesson they show is checked in code by ``tdnn.claims.claim`` in
the same cell or in the code cell directly after it. Every other output is *exact* and compared
strictly by nbval.
"""

from __future__ import annotations

import re

import nbformat
import pytest

from conftest import NOTEBOOKS, notebook_paths
from tdnn.claims import ClaimError, claim, format_measured

IGNORE = "nbval-ignore-output"
FORBIDDEN_TAGS = {"nbval-skip", "nbval-ignore-output-lax"}
CLAIM_CALL = re.compile(r"(?<![\w.])claim\(")

CHAPTERS = notebook_paths()


def _code_cells(path):
    nb = nbformat.read(path, as_version=4)
    return [c for c in nb.cells if c.cell_type == "code"]


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: str(p.relative_to(NOTEBOOKS)))
def test_every_ignored_output_is_backed_by_a_claim_check(path) -> None:
    cells = _code_cells(path)
    for i, cell in enumerate(cells):
        tags = set(cell.metadata.get("tags", []))
        assert not tags & FORBIDDEN_TAGS, f"code cell {i + 1} uses {tags & FORBIDDEN_TAGS}: not allowed"
        if IGNORE not in tags:
            continue
        here = CLAIM_CALL.search(cell.source)
        after = i + 1 < len(cells) and CLAIM_CALL.search(cells[i + 1].source)
        assert here or after, (
            f"code cell {i + 1} ignores its output ({IGNORE}) but neither it nor the next code cell "
            f"checks a claim with tdnn.claims.claim(...):\n{cell.source[:300]}"
        )


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: str(p.relative_to(NOTEBOOKS)))
def test_claims_print_their_check_mark(path) -> None:
    """A claim that ran prints '✓ statement': a stored notebook shows every claim it checks."""
    for i, cell in enumerate(_code_cells(path)):
        if not CLAIM_CALL.search(cell.source) or "def " in cell.source.split("claim(")[0][-200:]:
            continue
        text = "".join(o.get("text", "") for o in cell.get("outputs", []) if o.get("output_type") == "stream")
        assert "✓ " in text, f"code cell {i + 1} calls claim() but its stored output shows no ✓ line"


def test_claim_prints_the_statement_when_it_holds(capsys) -> None:
    claim("clipping keeps 5/5 runs finite", True, measured="5/5")
    assert capsys.readouterr().out == "✓ clipping keeps 5/5 runs finite\n"


def test_claim_accepts_numpy_booleans(capsys) -> None:
    np = pytest.importorskip("numpy")
    claim("all below 1", (np.array([0.1, 0.2]) < 1).all(), measured=[0.1, 0.2])
    assert capsys.readouterr().out.startswith("✓ all below 1")


def test_a_failed_claim_names_the_claim_and_the_measured_value() -> None:
    with pytest.raises(ClaimError, match=r"claim failed: BN wins in 5/5 seeds .*measured in this run: \[0\.1235, 3\]"):
        claim("BN wins in 5/5 seeds", False, measured=[0.123456, 3])


def test_a_failed_claim_is_an_assertion_error() -> None:
    with pytest.raises(AssertionError):
        claim("x", False)


@pytest.mark.parametrize("statement", ["", "   ", None, 3])
def test_claim_needs_a_statement(statement) -> None:
    with pytest.raises(TypeError, match="statement"):
        claim(statement, True)


@pytest.mark.parametrize("holds", [1, 0.0, "yes", None, [True]])
def test_claim_needs_a_boolean_outcome(holds) -> None:
    with pytest.raises(TypeError, match="holds must be a bool"):
        claim("x", holds)


def test_claim_rejects_an_array_outcome_with_a_hint() -> None:
    np = pytest.importorskip("numpy")
    with pytest.raises(TypeError, match=r"\.all\(\)"):
        claim("x", np.array([True, False]))


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0.123456789, "0.1235"),
        (3, "3"),
        (True, "True"),
        (float("inf"), "inf"),
        ({"a": 1.0 / 3}, "{a: 0.3333}"),
        ((1, 2.5), "[1, 2.5]"),
        ("5/5", "5/5"),
    ],
)
def test_format_measured(value, text) -> None:
    assert format_measured(value) == text


def test_format_measured_numpy() -> None:
    np = pytest.importorskip("numpy")
    assert format_measured(np.array([1.0, 2.0 / 3])) == "[1, 0.6667]"
    assert format_measured(np.float32(0.5)) == "0.5"


def test_format_measured_rejects_bad_digits() -> None:
    with pytest.raises(ValueError, match="digits"):
        format_measured(1.0, digits=0)
