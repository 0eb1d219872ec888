"""One equation numbering everywhere: the notebooks' "Eq. 11-N" labels (the 3rd edition's) are the
ones used in ``src/``, ``tests/`` and ``README.md``.

Every "Eq. 11-N" (or "Equation 11-N") is attributed to a concept: the concept named on the same line
closest to the label, or else the file's own topic (``batchnorm.py`` is about BN). The notebooks
define one number per concept; every other file must use the same one.
"""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LABEL = re.compile(r"\b(?:Eqs?\.|Equation)\s*(11-\d+)")
CONCEPTS = {
    "Glorot initialization": re.compile(r"Glorot|Xavier|fan[_ -]avg", re.IGNORECASE),
    "ELU": re.compile(r"(?<![A-Za-z])ELU"),
    "GELU": re.compile(r"GELU"),
    "Batch Normalization": re.compile(r"batch ?norm|\bBN\b", re.IGNORECASE),
    "momentum optimization": re.compile(r"\bmomentum\b", re.IGNORECASE),
    "Nesterov": re.compile(r"Nesterov|\bNAG\b"),
    "AdaGrad": re.compile(r"AdaGrad", re.IGNORECASE),
    "RMSProp": re.compile(r"RMSProp", re.IGNORECASE),
    "Adam": re.compile(r"\bAdam\b"),
}
# The topic of a file whose lines name an equation without naming its concept.
FILE_TOPICS = {
    "initializers": "Glorot initialization",
    "02_initialization": "Glorot initialization",
    "batchnorm": "Batch Normalization",
    "04_batch_normalization": "Batch Normalization",
}


def labels_in(text: str, topic: str | None) -> list[tuple[str, str, str]]:
    """``(concept, label, line)`` for each equation label in ``text``; concept ``None`` if unknown."""
    found = []
    lines = text.splitlines()
    for i, line in enumerate(lines):
        for match in LABEL.finditer(line):
            distances = {
                concept: min(abs(m.start() - match.start()) for m in pattern.finditer(line))
                for concept, pattern in CONCEPTS.items()
                if pattern.search(line)
            }
            if distances:
                concept = min(distances, key=distances.get)
            else:  # a label on the continuation line of a display equation: the line above
                above = lines[i - 1] if i else ""
                named = [c for c, pattern in CONCEPTS.items() if pattern.search(above)]
                concept = named[0] if len(named) == 1 else topic
            found.append((concept, match.group(1), line.strip()))
    return found


def file_topic(path: Path) -> str | None:
    stem = path.stem.removeprefix("test_")
    return FILE_TOPICS.get(stem)


def notebook_numbering() -> dict[str, set[str]]:
    numbering = defaultdict(set)
    for path in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.py")):
        for concept, label, _ in labels_in(path.read_text(encoding="utf-8"), file_topic(path)):
            if concept is not None:
                numbering[concept].add(label)
    return numbering


def other_files() -> list[Path]:
    files = [ROOT / "README.md"]
    files += sorted((ROOT / "src").rglob("*.py")) + sorted((ROOT / "tests").rglob("*.py"))
    return [p for p in files if p.name != Path(__file__).name]


def test_the_notebooks_give_each_concept_one_number() -> None:
    numbering = notebook_numbering()
    assert {"ELU", "GELU", "Batch Normalization"} <= set(numbering), dict(numbering)
    for concept, labels in numbering.items():
        assert len(labels) == 1, f"the notebooks number {concept} as {sorted(labels)}"


@pytest.mark.parametrize("path", other_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_equation_labels_match_the_notebooks(path: Path) -> None:
    numbering = {c: next(iter(labels)) for c, labels in notebook_numbering().items()}
    for concept, label, line in labels_in(path.read_text(encoding="utf-8"), file_topic(path)):
        assert concept is not None, f"cannot tell which equation {label} is (name it on the line): {line}"
        assert concept in numbering, f"{label} ({concept}) is not numbered in any notebook: {line}"
        assert label == numbering[concept], (
            f"{concept} is Eq. {numbering[concept]} in the notebooks but {label} here: {line}"
        )


def test_the_checker_attributes_labels_to_the_nearest_concept() -> None:
    text = "ELU (Eq. 11-2) and GELU (Eq. 11-3)\nBN, Eq. 11-4\n\nEquation 11-9, nothing named"
    assert labels_in(text, None) == [
        ("ELU", "11-2", "ELU (Eq. 11-2) and GELU (Eq. 11-3)"),
        ("GELU", "11-3", "ELU (Eq. 11-2) and GELU (Eq. 11-3)"),
        ("Batch Normalization", "11-4", "BN, Eq. 11-4"),
        (None, "11-9", "Equation 11-9, nothing named"),
    ]
    assert labels_in("Equation 11-4 in NumPy", "Batch Normalization")[0][0] == "Batch Normalization"
    assert labels_in("f(z) = ELU(z)\n(Eq. 11-2)", None)[0][0] == "ELU"


def test_a_wrong_number_is_caught() -> None:
    """The old state of batchnorm.py (BN called Eq. 11-3) must not pass."""
    numbering = {c: next(iter(labels)) for c, labels in notebook_numbering().items()}
    wrong = labels_in('"""Batch Normalization (Eq. 11-3) in NumPy."""', "Batch Normalization")
    assert [label != numbering[c] for c, label, _ in wrong] == [True]
