"""Pair each notebook with its py:percent twin without ever discarding an edit (``make sync``).

``jupytext --sync`` keeps the inputs of the *newer* file. That loses work in a common case: you edit
``NN_topic.py`` in an editor while the notebook is open in a JupyterLab that autosaves the
``.ipynb`` a minute later; the next ``jupytext --sync`` finds the ``.ipynb`` newer and silently
overwrites your edit. This module decides from the *contents* instead of the clock:

1. A pair is **in sync** when the ``.ipynb``'s inputs equal the ``.py`` (both written out as
   jupytext's py:percent text). Nothing to do.
2. Otherwise each side is compared with the **last synced inputs**: those recorded at the last
   sync (in ``.sync-state.json`` next to the notebooks; never committed) or, if none are recorded
   (a fresh clone), the last committed version of each file (``git show HEAD:...``).

   - Only the ``.py`` changed: the ``.ipynb`` takes its inputs (stored outputs are kept).
   - Only the ``.ipynb`` changed: the ``.py`` is rewritten from it.
   - Both changed, or there is nothing to compare with: **refuse**, change nothing, and explain how
     to keep one side (``make sync FROM=py NB=...`` or ``FROM=ipynb``).
3. A missing twin is created from the file that exists.

The syncing itself is jupytext's (``jupytext --sync``, told which side is the source); afterwards
the two sides are checked to hold the source's inputs. Usage::

    python -m tdnn._sync [--from py|ipynb] [NOTEBOOK ...]   # default: every pair under notebooks/

It needs jupytext (a development dependency), imported only when used.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

STATE_FILE = ".sync-state.json"
SIDES = ("py", "ipynb")


class SyncRefused(RuntimeError):
    """Both sides of a pair changed since the last sync: syncing either way would lose an edit."""


def pair_of(path: str | os.PathLike[str]) -> tuple[Path, Path]:
    """``(ipynb, py)`` paths of the pair that ``path`` (either file) belongs to."""
    path = Path(path)
    if path.suffix not in (".ipynb", ".py"):
        raise ValueError(f"path must be a .ipynb notebook or its .py twin, got {str(path)!r}")
    return path.with_suffix(".ipynb"), path.with_suffix(".py")


def inputs_text(path: Path, text: str | None = None) -> str:
    """The notebook's inputs as jupytext writes them in py:percent (what the ``.py`` twin holds).

    ``text`` is the file's contents (default: read ``path``); ``path`` tells the format and where to
    look for ``jupytext.toml``. Outputs and filtered-out metadata do not appear in the result.
    """
    import jupytext
    from jupytext.config import load_jupytext_config

    config = load_jupytext_config(str(path.resolve()))
    if text is None:
        text = path.read_text(encoding="utf-8")
    fmt = "ipynb" if path.suffix == ".ipynb" else "py:percent"
    nb = jupytext.reads(text, fmt=fmt, config=config)
    nb.metadata.get("jupytext", {}).pop("text_representation", None)  # holds jupytext's version
    return jupytext.writes(nb, fmt="py:percent", config=config)


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _state_path(ipynb: Path) -> Path:
    return ipynb.parent / STATE_FILE


def read_state(ipynb: Path) -> str | None:
    """The digest of the inputs recorded at the pair's last sync, if any."""
    try:
        state = json.loads(_state_path(ipynb).read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return None
    value = state.get(ipynb.name) if isinstance(state, dict) else None
    return value if isinstance(value, str) else None


def record_state(ipynb: Path, inputs: str) -> None:
    """Remember ``inputs`` as the pair's last synced inputs."""
    path = _state_path(ipynb)
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
        state = state if isinstance(state, dict) else {}
    except (FileNotFoundError, ValueError):
        state = {}
    state[ipynb.name] = _digest(inputs)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(state, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def committed_text(path: Path) -> str | None:
    """The file as committed in git's ``HEAD``, or None (no git, not a repository, not committed)."""
    try:
        done = subprocess.run(
            ["git", "show", f"HEAD:./{path.name}"],
            cwd=path.parent,
            capture_output=True,
            check=False,
        )
    except OSError:
        return None
    return done.stdout.decode("utf-8") if done.returncode == 0 else None


def changed_sides(ipynb: Path, py: Path, current: dict[str, str]) -> tuple[list[str] | None, str]:
    """Which sides changed since the last sync, and against what (``"the last sync"``, ...).

    ``None`` instead of a list means there is nothing to compare with.
    """
    recorded = read_state(ipynb)
    if recorded is not None:
        return [side for side in SIDES if _digest(current[side]) != recorded], "the last sync"
    committed = {"py": committed_text(py), "ipynb": committed_text(ipynb)}
    if committed["py"] is None or committed["ipynb"] is None:
        return None, "nothing"
    base = {"py": inputs_text(py, committed["py"]), "ipynb": inputs_text(ipynb, committed["ipynb"])}
    return [side for side in SIDES if current[side] != base[side]], "the last commit"


def _refusal(ipynb: Path, py: Path, changed: list[str] | None, basis: str) -> str:
    nb = ipynb.as_posix()
    if changed is None:
        why = "their inputs differ, and neither a recorded sync nor a git commit tells which side was edited"
    elif changed:
        why = f"both changed since {basis} and their inputs differ"
    else:
        why = f"their inputs differ, yet neither changed since {basis}"
    return (
        f"refusing to sync {nb} and {py.as_posix()}: {why}. Syncing either way would discard the "
        "other side's edits, so nothing was changed.\n"
        f"  compare them:  .venv/bin/jupytext --diff {py.as_posix()} {nb}\n"
        "  then keep one side (copy what you need from the other one first):\n"
        f"    make sync FROM=py NB={nb}      # the .py wins\n"
        f"    make sync FROM=ipynb NB={nb}   # the .ipynb wins"
    )


def _jupytext_sync_from(source: Path, other: Path, ipynb: Path) -> None:
    """``jupytext --sync``, which takes the newer file's inputs, with ``source`` made the newer."""
    from jupytext.cli import jupytext as jupytext_cli

    if other.exists():
        src, dst = source.stat(), other.stat()
        if dst.st_mtime >= src.st_mtime:
            os.utime(other, (dst.st_atime, src.st_mtime - 2.0))
    jupytext_cli(["--sync", "--quiet", str(ipynb if ipynb.exists() else source)])


def sync_pair(path: str | os.PathLike[str], *, source: str | None = None) -> str:
    """Sync one pair by the rule of the module docstring; return a short account of what happened.

    Args:
        path: the ``.ipynb`` or its ``.py`` twin.
        source: ``"py"`` or ``"ipynb"`` to force the direction (the other side's edits are lost),
            or None to apply the rule.

    Raises:
        SyncRefused: both sides changed since the last sync (nothing was changed).
    """
    if source not in (None, *SIDES):
        raise ValueError(f"source must be None, 'py' or 'ipynb', got {source!r}")
    ipynb, py = pair_of(path)
    files = {"py": py, "ipynb": ipynb}
    if not ipynb.exists() and not py.exists():
        raise FileNotFoundError(f"neither {ipynb} nor {py} exists")
    missing = [side for side, f in files.items() if not f.exists()]
    if missing:
        (gone,) = missing
        source = "ipynb" if gone == "py" else "py"
        _jupytext_sync_from(files[source], files[gone], ipynb)
        done = f"created {files[gone].as_posix()} from {files[source].name}"
    else:
        current = {side: inputs_text(f) for side, f in files.items()}
        if current["py"] == current["ipynb"]:
            record_state(ipynb, current["py"])
            return f"{ipynb.as_posix()}: in sync"
        if source is None:
            changed, basis = changed_sides(ipynb, py, current)
            if changed is None or len(changed) != 1:
                raise SyncRefused(_refusal(ipynb, py, changed, basis))
            (source,) = changed
            reason = f"only the .{source} changed since {basis}"
        else:
            reason = f"FROM={source}"
        other = "py" if source == "ipynb" else "ipynb"
        _jupytext_sync_from(files[source], files[other], ipynb)
        after = {side: inputs_text(f) for side, f in files.items()}
        if after["py"] != current[source] or after["ipynb"] != current[source]:
            raise RuntimeError(f"jupytext did not sync {ipynb} from its .{source} as expected")
        done = f"{files[source].as_posix()} -> {files[other].name} ({reason})"
    record_state(ipynb, inputs_text(py))
    return done


def default_notebooks(folder: str | os.PathLike[str] = "notebooks") -> list[Path]:
    """Every pair under ``folder`` (one path per pair), skipping checkpoints and ``_*.py`` modules."""
    found: dict[Path, Path] = {}
    for path in sorted(Path(folder).rglob("*")):
        if ".ipynb_checkpoints" in path.parts or path.suffix not in (".ipynb", ".py"):
            continue
        if path.suffix == ".py" and path.name.startswith("_"):
            continue
        found.setdefault(path.with_suffix(""), path)
    return list(found.values())


def main(argv: Sequence[str] | None = None, *, out: Callable[[str], None] = print) -> int:
    """Command line: sync the given pairs (default: all under ``notebooks/``); 1 if any refused."""
    parser = argparse.ArgumentParser(prog="python -m tdnn._sync", description=__doc__.split("\n")[0])
    parser.add_argument("notebooks", nargs="*", help=".ipynb or .py files (default: notebooks/)")
    parser.add_argument("--from", dest="source", choices=SIDES, help="force the direction of the sync")
    args = parser.parse_args(argv)
    paths: Iterable[Path] = [Path(p) for p in args.notebooks] or default_notebooks()
    refused = 0
    for path in paths:
        try:
            out(sync_pair(path, source=args.source))
        except SyncRefused as exc:
            refused += 1
            print(exc, file=sys.stderr)
    if refused:
        print(f"{refused} pair(s) not synced, see above.", file=sys.stderr)
    return 1 if refused else 0


if __name__ == "__main__":
    sys.exit(main())
