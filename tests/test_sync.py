"""tdnn._sync (`make sync`, `make outputs`): pairing by content, which never discards an edit.

The scenario it exists for: edit the .py twin in an editor while JupyterLab has the notebook open;
Lab autosaves the .ipynb a moment later; jupytext's "newer file wins" then drops the .py edit.
"""

from __future__ import annotations

import os
import shutil
import subprocess

import jupytext
import nbformat
import pytest
from jupytext.cli import jupytext as jupytext_cli

from conftest import ROOT, make_dry_run
from tdnn import _sync
from tdnn._sync import SyncRefused, sync_pair


def _notebook() -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_markdown_cell("# A chapter\n\nSome prose."),
            nbformat.v4.new_code_cell("x = 1\nprint(x)", execution_count=1),
            nbformat.v4.new_code_cell("y = 2 * x\ny", execution_count=2),
        ]
    )
    nb.cells[1].outputs = [nbformat.v4.new_output("stream", name="stdout", text="1\n")]
    nb.cells[2].outputs = [nbformat.v4.new_output("execute_result", {"text/plain": "2"}, execution_count=2)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


@pytest.fixture
def pair(tmp_path):
    """A synced pair in a copy of the repository's pairing layout (jupytext.toml at the root)."""
    shutil.copy(ROOT / "jupytext.toml", tmp_path)
    folder = tmp_path / "notebooks"
    folder.mkdir()
    ipynb = folder / "01_topic.ipynb"
    nbformat.write(_notebook(), ipynb)
    assert "created" in sync_pair(ipynb)  # writes the .py twin and records the pair as synced
    return ipynb, ipynb.with_suffix(".py")


def _make_newer(newer, than) -> None:
    """Give ``newer`` a later modification time than ``than`` (as a later save would)."""
    t = than.stat().st_mtime + 30
    os.utime(newer, (t, t))


def _edit_py(py, old: str, new: str) -> None:
    text = py.read_text()
    assert old in text
    py.write_text(text.replace(old, new))


def _autosave_ipynb(ipynb, edit=None) -> None:
    """What JupyterLab (not pairing) does: rewrite the .ipynb, optionally with an input edit."""
    nb = nbformat.read(ipynb, as_version=4)
    if edit is not None:
        edit(nb)
    nbformat.write(nb, ipynb)


def _snapshot(*paths):
    return [(p.read_bytes(), p.stat().st_mtime_ns) for p in paths]


def _code(path) -> list[str]:
    return [c.source for c in jupytext.read(path).cells if c.cell_type == "code"]


def test_a_synced_pair_is_left_alone(pair) -> None:
    ipynb, py = pair
    before = _snapshot(ipynb, py)
    assert sync_pair(ipynb).endswith("in sync")
    assert sync_pair(py).endswith("in sync")  # either file names the pair
    assert _snapshot(ipynb, py) == before


def test_jupytexts_newer_file_wins_loses_the_py_edit(pair, tmp_path) -> None:
    """The bug, reproduced with plain `jupytext --sync` (what `make sync` ran before)."""
    ipynb, py = pair
    _edit_py(py, "x = 1", "x = 10")  # the edit in the editor ...
    _autosave_ipynb(ipynb)  # ... then Lab autosaves the notebook, unchanged
    _make_newer(ipynb, py)
    jupytext_cli(["--sync", "--quiet", str(ipynb)])
    assert "x = 10" not in py.read_text()  # the edit is gone


def test_py_edit_survives_a_newer_ipynb(pair) -> None:
    ipynb, py = pair
    _edit_py(py, "x = 1", "x = 10")
    _autosave_ipynb(ipynb)  # newer than the .py, same inputs as at the last sync
    _make_newer(ipynb, py)
    message = sync_pair(ipynb)
    assert "only the .py changed since the last sync" in message
    assert _code(ipynb)[0] == "x = 10\nprint(x)" and "x = 10" in py.read_text()
    outputs = nbformat.read(ipynb, as_version=4).cells[2].outputs
    assert outputs[0]["data"]["text/plain"] == "2"  # stored outputs are kept
    assert sync_pair(ipynb).endswith("in sync")


def test_ipynb_edit_survives_a_newer_py(pair) -> None:
    ipynb, py = pair

    def edit(nb):
        nb.cells[2].source = "y = 3 * x\ny"

    _autosave_ipynb(ipynb, edit)
    _make_newer(py, ipynb)  # e.g. an editor re-saved the .py unchanged: now the newer file
    assert "only the .ipynb changed" in sync_pair(py)
    assert _code(py)[1] == "y = 3 * x\ny" and _code(ipynb)[1] == "y = 3 * x\ny"


def test_both_sides_edited_is_refused_and_nothing_changes(pair, capsys) -> None:
    ipynb, py = pair
    _edit_py(py, "x = 1", "x = 10")  # the edit in the editor ...

    def edit(nb):  # ... and another one in a Lab that does not pair, saved later
        nb.cells[0].source = "# A chapter\n\nEdited prose."

    _autosave_ipynb(ipynb, edit)
    _make_newer(ipynb, py)
    before = _snapshot(ipynb, py)
    with pytest.raises(SyncRefused, match="both changed since the last sync") as info:
        sync_pair(ipynb)
    assert "FROM=py" in str(info.value) and "FROM=ipynb" in str(info.value)
    compare = next(line for line in str(info.value).splitlines() if "jupytext --diff" in line)
    jupytext_cli(compare.split("jupytext ", 1)[1].split())  # the suggested command works
    assert "x = 10" in capsys.readouterr().out  # and shows the .py's edit
    assert _snapshot(ipynb, py) == before
    # the command line fails (`make sync` / `make outputs` stop) and says why on stderr
    assert _sync.main([str(ipynb)]) == 1
    assert "refusing to sync" in capsys.readouterr().err
    assert _snapshot(ipynb, py) == before
    # the user chooses: the .py wins, the notebook's prose edit is dropped on request
    assert "FROM=py" in sync_pair(ipynb, source="py")
    assert _code(ipynb)[0] == "x = 10\nprint(x)"
    assert "Edited prose" not in ipynb.read_text()
    assert sync_pair(ipynb).endswith("in sync")


def _git(folder, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=folder, check=True,
        capture_output=True,
    )


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_without_a_recorded_sync_the_last_commit_decides(pair) -> None:
    ipynb, py = pair
    root = ipynb.parent.parent
    (ipynb.parent / _sync.STATE_FILE).unlink()  # a fresh clone: no sync recorded yet
    _git(root, "init", "-q")
    _git(root, "add", "jupytext.toml", "notebooks/01_topic.ipynb", "notebooks/01_topic.py")
    _git(root, "commit", "-q", "-m", "pair")
    _edit_py(py, "x = 1", "x = 10")
    _autosave_ipynb(ipynb)
    _make_newer(ipynb, py)
    assert "only the .py changed since the last commit" in sync_pair(ipynb)
    assert _code(ipynb)[0] == "x = 10\nprint(x)"

    # both sides edited since the commit (and nothing recorded): refused
    (ipynb.parent / _sync.STATE_FILE).unlink()
    _edit_py(py, "x = 10", "x = 11")
    _autosave_ipynb(ipynb, lambda nb: setattr(nb.cells[1], "source", "x = 12\nprint(x)"))
    with pytest.raises(SyncRefused, match="both changed since the last commit"):
        sync_pair(ipynb)


def test_no_baseline_and_different_inputs_is_refused(pair) -> None:
    ipynb, py = pair
    (ipynb.parent / _sync.STATE_FILE).unlink()  # and tmp_path is not a git repository
    _edit_py(py, "x = 1", "x = 10")
    with pytest.raises(SyncRefused, match="neither a recorded sync nor a git commit"):
        sync_pair(ipynb)


def test_a_missing_twin_is_created_from_the_other_side(pair) -> None:
    ipynb, py = pair
    ipynb.unlink()
    assert "created" in sync_pair(py)
    assert _code(ipynb) == _code(py)


def test_bad_arguments(pair, tmp_path) -> None:
    ipynb, _ = pair
    with pytest.raises(ValueError, match="source"):
        sync_pair(ipynb, source="md")
    with pytest.raises(ValueError, match="path must be"):
        sync_pair(tmp_path / "notes.md")
    with pytest.raises(FileNotFoundError):
        sync_pair(tmp_path / "nowhere.ipynb")


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
@pytest.mark.parametrize("target", ["sync", "outputs"])
def test_make_sync_and_outputs_use_the_rule_not_newer_file_wins(target) -> None:
    lines = make_dry_run(target)
    assert any("-m tdnn._sync" in line for line in lines)
    assert not any("jupytext --sync" in line for line in lines)
    if target == "outputs":  # the sync comes before the first execution
        sync = next(i for i, line in enumerate(lines) if "-m tdnn._sync" in line)
        execute = next(i for i, line in enumerate(lines) if "nbconvert" in line)
        assert sync < execute
