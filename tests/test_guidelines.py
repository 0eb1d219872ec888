"""tdnn.guidelines: the chapter's configuration tables and the debugging checklist, as data."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from conftest import NOTEBOOKS
from tdnn.guidelines import (
    DEBUG_CHECKLIST,
    DEFAULT_DNN_CONFIG,
    HYPERPARAMETERS,
    SELF_NORMALIZING_CONFIG,
    WHEN_TO_DEVIATE,
    config_table,
)

# Chapters written on other branches (merged into main by the lead); every other link must exist.
OTHER_BRANCHES = {"06_transfer_learning", "07_optimizers", "08_lr_schedules"}


def test_tables_cover_the_same_hyperparameters() -> None:
    assert (
        list(DEFAULT_DNN_CONFIG) == list(HYPERPARAMETERS) == list(SELF_NORMALIZING_CONFIG)
    )
    assert all(isinstance(v, str) and v for v in DEFAULT_DNN_CONFIG.values())


def test_the_tables_are_the_books() -> None:
    assert DEFAULT_DNN_CONFIG["Kernel initializer"] == "He initialization"
    assert SELF_NORMALIZING_CONFIG["Kernel initializer"] == "LeCun initialization"
    assert SELF_NORMALIZING_CONFIG["Activation function"] == "SELU"
    assert "AdamW" in DEFAULT_DNN_CONFIG["Optimizer"]
    assert "1cycle" in DEFAULT_DNN_CONFIG["Learning rate schedule"]


def test_tables_are_read_only() -> None:
    with pytest.raises(TypeError):
        DEFAULT_DNN_CONFIG["Optimizer"] = "SGD"  # type: ignore[index]


def test_config_table_shape_and_transpose() -> None:
    table = config_table()
    assert isinstance(table, pd.DataFrame)
    assert table.shape == (6, 2) and list(table.index) == list(HYPERPARAMETERS)
    assert config_table(transpose=True).equals(table.T)
    with pytest.raises(TypeError, match="transpose"):
        config_table(transpose="yes")  # type: ignore[arg-type]


def test_advice_rows_are_pairs_of_text() -> None:
    assert len(WHEN_TO_DEVIATE) >= 4
    assert all(
        len(row) == 2 and all(isinstance(x, str) and x for x in row)
        for row in WHEN_TO_DEVIATE
    )


def test_checklist_links_point_at_chapter_notebooks() -> None:
    names = [nb for _, _, nb in DEBUG_CHECKLIST]
    assert names == sorted(names), "the checklist follows the chapters' order"
    for name in names:
        assert re.fullmatch(r"\d\d_[a-z_]+", name), name
        assert (NOTEBOOKS / f"{name}.ipynb").exists() or name in OTHER_BRANCHES, (
            f"{name}.ipynb is missing"
        )
    assert {f"{i:02d}" for i in range(1, 10)} <= {n[:2] for n in names}, (
        "one item per chapter 1-9"
    )


def test_chapter_10_shows_the_checklist_with_its_links() -> None:
    text = (NOTEBOOKS / "10_practical_guidelines.py").read_text(encoding="utf-8")
    for symptom, advice, name in DEBUG_CHECKLIST:
        row = f"# | {symptom} | {advice} | "
        linked = f"{row}[{name}]({name}.ipynb) |" in text
        # a chapter of another branch is named without a link until it is merged (a link to a
        # missing notebook breaks the book build)
        named = name in OTHER_BRANCHES and f"{row}`{name}` |" in text
        assert linked or named, f"the checklist row for {name} is missing or not linked"
