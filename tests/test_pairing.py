"""Each notebook is a jupytext pair: the .ipynb (stored outputs) and its py:percent twin agree."""

from __future__ import annotations

import jupytext
import pytest
from jupytext.compare import compare_notebooks

from conftest import NOTEBOOKS, notebook_paths

PAIRED = notebook_paths()


def test_there_are_notebooks() -> None:
    assert any(p.name[:2].isdigit() for p in PAIRED), "no chapter notebooks found under notebooks/"


@pytest.mark.parametrize("ipynb", PAIRED, ids=lambda p: str(p.relative_to(NOTEBOOKS)))
def test_ipynb_matches_its_py_percent_twin(ipynb) -> None:
    twin = ipynb.with_suffix(".py")
    assert twin.exists(), f"{ipynb.name} has no py:percent twin: run `make sync`"
    nb = jupytext.read(ipynb)
    py = jupytext.read(twin)
    assert py.metadata.get("jupytext", {}).get("text_representation", {}).get("format_name") == "percent"
    # Raises with a readable diff when inputs differ (outputs live only in the .ipynb).
    compare_notebooks(py, nb, fmt="py:percent", allow_expected_differences=False)


def test_no_orphan_twins() -> None:
    for py in NOTEBOOKS.rglob("*.py"):
        if ".ipynb_checkpoints" in py.parts or py.name.startswith("_"):
            continue
        assert py.with_suffix(".ipynb").exists(), f"{py.name} has no paired .ipynb: run `make sync`"
