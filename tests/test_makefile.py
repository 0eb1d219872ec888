"""The Makefile's promises: `make book` needs no data set, and `make help` and the README list the targets."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from conftest import ROOT, make_dry_run

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="needs make")

DOCUMENTED = ("book", "test", "test-unit", "test-notebooks", "book-only", "lab", "sync", "outputs", "student", "bench", "lock")


def test_make_book_does_not_provision_the_data() -> None:
    lines = make_dry_run("book")  # the recursive `$(MAKE) book-only` is a dry run too
    assert any("jupyter-book build" in line for line in lines)
    assert not any("tdnn.data" in line or "dataset-fashion-mnist" in line for line in lines)
    assert any("tdnn.data" in line for line in make_dry_run("test"))  # while the tests do


def test_make_help_and_the_readme_list_the_targets() -> None:
    done = subprocess.run(["make", "--no-print-directory", "help"], cwd=ROOT, capture_output=True, text=True)
    listed = set(re.findall(r"^make ([\w-]+)", done.stdout, re.M))
    readme = (ROOT / "README.md").read_text()
    for target in DOCUMENTED:
        assert target in listed, f"`make help` does not list {target}"
        assert f"make {target}" in readme, f"README.md does not mention `make {target}`"
