"""`make lab` serves the folder that holds jupytext.toml, so that saving in Lab updates the .py twin.

jupytext's contents manager looks for its configuration only inside the folder JupyterLab serves:
started at notebooks/ (as `make lab` once did), Lab saved the .ipynb alone and the pair drifted.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import jupytext
import pytest
from jupytext.compare import compare_notebooks

from conftest import ROOT, make_dry_run

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="needs make")

# Runs in a fresh interpreter: a Jupyter server configured from the command line `make lab` uses
# (extensions included: jupyterlab_jupytext installs jupytext's contents manager), without starting
# it; saves a notebook through its contents manager; then, as a control, saves one through the
# same contents manager class rooted at notebooks/.
SAVE_AS_LAB_DOES = r"""
import asyncio, json, sys
from pathlib import Path
import nbformat
from jupyter_server.serverapp import ServerApp

api_path, argv = sys.argv[1], sys.argv[2:]
app = ServerApp()
app.initialize(argv=[*argv, "--no-browser"], find_extensions=True, new_httpserver=False)

def save(manager, path):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    result = manager.save({"type": "notebook", "format": "json", "content": nb}, path)
    if asyncio.iscoroutine(result):
        asyncio.run(result)

cm = app.contents_manager
save(cm, api_path)
control = type(cm)(root_dir=str(Path(cm.root_dir) / "notebooks"))
save(control, "control.ipynb")
print(json.dumps({"class": type(cm).__name__, "root_dir": cm.root_dir, "preferred_dir": cm.preferred_dir}))
"""


def lab_arguments() -> list[str]:
    """The options `make lab` passes to `jupyter lab`."""
    lines = [shlex.split(line) for line in make_dry_run("lab") if "jupyter lab" in line]
    assert len(lines) == 1, lines
    words = lines[0]
    return words[words.index("lab") + 1 :]


def test_make_lab_serves_the_repository_root() -> None:
    args = lab_arguments()
    assert all(a.startswith("--") for a in args), "a folder argument would replace root_dir"
    roots = [a.split("=", 1)[1] for a in args if a.startswith("--ServerApp.root_dir=")]
    assert len(roots) == 1 and Path(roots[0]).resolve() == ROOT
    assert (ROOT / "jupytext.toml").is_file()


def test_saving_in_lab_configured_as_make_lab_writes_the_py_twin(tmp_path) -> None:
    # the repository's pairing layout, copied: jupytext.toml at the root, the notebooks below
    root = tmp_path / "repo"
    (root / "notebooks").mkdir(parents=True)
    shutil.copy(ROOT / "jupytext.toml", root)
    args = [
        f"--ServerApp.root_dir={root}" if a.startswith("--ServerApp.root_dir=") else a
        for a in lab_arguments()
    ]
    env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime")}
    done = subprocess.run(
        [sys.executable, "-c", SAVE_AS_LAB_DOES, "notebooks/probe.ipynb", *args],
        capture_output=True, text=True, env=env, timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    info = json.loads(done.stdout.strip().splitlines()[-1])
    assert "Jupytext" in info["class"], info  # jupytext's contents manager is the one Lab uses
    assert Path(info["root_dir"]) == root and info["preferred_dir"] == "notebooks"

    ipynb, twin = root / "notebooks" / "probe.ipynb", root / "notebooks" / "probe.py"
    assert twin.is_file(), "saving the notebook did not write its .py twin"
    assert "format_name: percent" in twin.read_text()
    compare_notebooks(jupytext.read(twin), jupytext.read(ipynb), fmt="py:percent")
    # the control: rooted at notebooks/, the same contents manager saves the .ipynb alone
    assert (root / "notebooks" / "control.ipynb").is_file()
    assert not (root / "notebooks" / "control.py").exists()
