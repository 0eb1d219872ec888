"""The graded exercises work end to end with otter-grader, as an instructor uses them.

For every teacher notebook in ``notebooks/exercises/``: ``otter assign`` builds the student notebook
and the autograder; ``otter run`` grades the teacher solution at full marks and the untouched
student notebook at (near) zero; no solution or hidden test reaches the student notebook; and the
student notebook executes top to bottom without crashing (its questions fail their checks).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbconvert.preprocessors import ExecutePreprocessor

from conftest import NOTEBOOKS

EXERCISES = sorted((NOTEBOOKS / "exercises").glob("*.ipynb"))
OTTER = Path(sys.executable).with_name("otter")
# full marks per assignment (1 point per conceptual question, 2 per coding question): a question
# lost from the autograder shows up here
FULL_MARKS = {
    "ex01_unstable_gradients": 15,
    "ex02_faster_training": 13,
    "ex03_deep_net_practice": 14,
}


def _otter(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    result = subprocess.run([str(OTTER), *args], capture_output=True, text=True, cwd=cwd, timeout=900)
    assert result.returncode == 0, f"otter {' '.join(args)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result


def _score(results: Path) -> tuple[float, float]:
    tests = json.loads(results.read_text())["tests"]
    graded = [t for t in tests if "max_score" in t]
    assert graded, f"no graded tests in {results}"
    return sum(t["score"] for t in graded), sum(t["max_score"] for t in graded)


def test_there_are_exercises() -> None:
    assert EXERCISES, "no teacher notebooks in notebooks/exercises/"


@pytest.fixture(scope="module", params=EXERCISES, ids=lambda p: p.stem)
def assigned(request, tmp_path_factory) -> dict[str, Path]:
    teacher: Path = request.param
    out = tmp_path_factory.mktemp(teacher.stem)
    # --no-run-tests: test_teacher_solution_scores_full_marks runs every test on the solution
    # through the autograder zip, the check otter assign's own run would repeat (one execution
    # of the notebook less per assignment)
    _otter("assign", "--no-run-tests", str(teacher), str(out / "dist"))
    zips = list((out / "dist" / "autograder").glob("*.zip"))
    assert len(zips) == 1, zips
    return {
        "teacher": teacher,
        "out": out,
        "zip": zips[0],
        "solution": out / "dist" / "autograder" / teacher.name,
        "student": out / "dist" / "student" / teacher.name,
    }


def test_teacher_solution_scores_full_marks(assigned) -> None:
    grades = assigned["out"] / "grades-teacher"
    grades.mkdir()
    _otter("run", "-a", str(assigned["zip"]), "-o", str(grades), str(assigned["solution"]))
    score, total = _score(grades / "results.json")
    assert total > 0 and score == total, f"teacher solution scored {score}/{total}"
    expected = FULL_MARKS[assigned["teacher"].stem]  # a new assignment registers its marks here
    assert total == expected, f"full marks are {total}, expected {expected}"


def test_untouched_student_notebook_scores_near_zero(assigned) -> None:
    grades = assigned["out"] / "grades-student"
    grades.mkdir()
    _otter("run", "-a", str(assigned["zip"]), "-o", str(grades), str(assigned["student"]))
    score, total = _score(grades / "results.json")
    assert score <= 0.1 * total, f"the untouched student notebook scored {score}/{total}"


def _solution_fragments(teacher: Path) -> list[str]:
    """Lines of the teacher notebook that must not reach students: solution code, solution
    Markdown and hidden tests (lines the question itself states, such as a given formula, are not
    solutions)."""
    nb = nbformat.read(teacher, as_version=4)
    fragments: list[str] = []
    prompts: list[str] = []
    block: list[str] = []
    for cell in nb.cells:
        first = cell.source.strip().splitlines()[0].strip().lower() if cell.source.strip() else ""
        if cell.cell_type == "raw" and re.match(r"#\s+(begin|end)\s+(solution|tests)", first):
            kind = first.split()[2]
            if first.split()[1] == "begin":
                block.append(kind)
            else:
                block.pop()
            continue
        lines = [ln.strip() for ln in cell.source.splitlines() if ln.strip()]
        if cell.cell_type == "code":
            inside = False
            for ln in lines:
                if ln.startswith("# BEGIN SOLUTION"):
                    inside = True
                elif ln.startswith("# END SOLUTION"):
                    inside = False
                elif inside:
                    fragments.append(ln)
                elif re.search(r"#\s*SOLUTION\s*$", ln):
                    fragments.append(re.sub(r"\s*#\s*SOLUTION\s*$", "", ln))
            if block and block[-1] == "tests" and lines and "hidden" in lines[0].lower():
                fragments += [ln for ln in lines[1:] if not ln.startswith(("from ", "import "))]
        elif cell.cell_type == "markdown" and block and block[-1] == "solution":
            fragments += [ln for ln in lines if len(ln) > 20]
        elif cell.cell_type == "markdown":
            prompts.append(cell.source)
    return [f for f in fragments if not any(f in p for p in prompts)]


def test_no_solution_or_hidden_test_leaks_to_students(assigned) -> None:
    fragments = _solution_fragments(assigned["teacher"])
    assert len(fragments) >= 5, "the leak check found too few solution lines to be meaningful"
    student = assigned["student"].read_text()
    text = json.dumps(json.loads(student))  # also covers the notebook's metadata (public tests)
    for fragment in fragments:
        assert fragment not in student and json.dumps(fragment)[1:-1] not in text, (
            f"solution text reached the student notebook: {fragment!r}"
        )
    nb = nbformat.read(assigned["student"], as_version=4)
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code"), "outputs must be cleared"


def test_student_notebook_runs_top_to_bottom(assigned) -> None:
    nb = nbformat.read(assigned["student"], as_version=4)
    ExecutePreprocessor(timeout=600, kernel_name="python3", allow_errors=False).preprocess(
        nb, {"metadata": {"path": str(assigned["student"].parent)}}
    )
    checks = [c for c in nb.cells if c.cell_type == "code" and "grader.check(" in c.source]
    assert checks, "the student notebook has no grader.check cells"


def test_teacher_only_cells_reach_neither_students_nor_the_autograder(assigned) -> None:
    """Cells that start with ``# IGNORE`` (ex03's claim checks of the teacher's own runs) are
    dropped by otter assign: they exist only in the teacher notebook."""
    teacher = nbformat.read(assigned["teacher"], as_version=4)
    ignored = [c.source for c in teacher.cells if re.match(r"#\s*ignore\b", c.source.strip(), re.I)]
    for key in ("student", "solution"):
        nb = nbformat.read(assigned[key], as_version=4)
        for source in ignored:
            assert all(source.strip() not in c.source for c in nb.cells), f"a # IGNORE cell reached {key}"
