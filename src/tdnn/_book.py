"""The book's exercise pages: the *student* versions of the teacher notebooks (``make book``).

The teacher notebooks in ``notebooks/exercises/`` hold the solutions, their explanations and the
hidden tests; the site must show only what a student gets. ``make book`` therefore runs
``otter assign`` (offline, without running the tests) on every teacher notebook and writes the
student notebook it produces to ``exercises/NAME.ipynb`` (git-ignored), which ``toc.yml`` includes
with a glob: the page shows the questions, and its download button hands out that student notebook.

The one change to otter's student notebook: otter puts its ``grader = otter.Notebook(...)`` cell
first, above the title; the title cell is moved above it, so that the page (and the notebook)
opens with its title. Usage: ``python -m tdnn._book OUT_DIR TEACHER.ipynb...``.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat

# Lines that only a teacher notebook holds: otter's solution and test delimiters, and the markers
# of single-line solutions and hidden tests. otter removes all of them from the student notebook.
TEACHER_MARKERS = re.compile(
    r"#\s*(BEGIN|END)\s+(SOLUTION|TESTS|QUESTION)\b|#\s*SOLUTION\s*$|^\s*#\s*HIDDEN\s*$"
    r"|#\s*ASSIGNMENT CONFIG",
    re.M,
)


def teacher_markers(nb: nbformat.NotebookNode) -> list[str]:
    """The lines of ``nb``'s cells that carry an otter teacher marker (empty for a student notebook)."""
    return [m.group(0).strip() for cell in nb.cells for m in TEACHER_MARKERS.finditer(cell.source)]


def title_first(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Move the first Markdown cell that starts with a ``# `` title above the code cells before it."""
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "markdown" and cell.source.lstrip().startswith("# "):
            if i > 0 and all(c.cell_type == "code" for c in nb.cells[:i]):
                nb.cells.insert(0, nb.cells.pop(i))
            break
    return nb


def student_page(teacher: Path, out_dir: Path, otter: str) -> Path:
    """Run ``otter assign`` on ``teacher`` and write its student notebook to ``out_dir``."""
    teacher, out_dir = Path(teacher), Path(out_dir)
    if teacher.suffix != ".ipynb" or not teacher.is_file():
        raise ValueError(f"teacher must be an existing .ipynb file, got {teacher}")
    with tempfile.TemporaryDirectory(prefix="tdnn-assign-") as tmp:
        done = subprocess.run(
            [otter, "assign", "--no-run-tests", "--no-pdfs", str(teacher.resolve()), tmp],
            capture_output=True, text=True,
        )
        if done.returncode != 0:
            raise RuntimeError(f"otter assign {teacher} failed:\n{done.stdout}\n{done.stderr}")
        nb = nbformat.read(Path(tmp) / "student" / teacher.name, as_version=4)
    left = teacher_markers(nb)
    if left:
        raise RuntimeError(f"the student version of {teacher.name} still holds teacher lines: {left}")
    out = out_dir / teacher.name
    out_dir.mkdir(parents=True, exist_ok=True)
    nbformat.write(title_first(nb), out)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Write the student versions of teacher notebooks.")
    ap.add_argument("out_dir", type=Path)
    ap.add_argument("teachers", nargs="*", type=Path)
    args = ap.parse_args(argv)
    otter = shutil.which("otter", path=str(Path(sys.executable).parent)) or shutil.which("otter")
    if otter is None:
        print("otter-grader is not installed (make setup installs it)", file=sys.stderr)
        return 2
    shutil.rmtree(args.out_dir, ignore_errors=True)  # no stale page of a removed exercise
    for teacher in args.teachers:
        print(f"exercise page: {student_page(teacher, args.out_dir, otter)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
