"""Shared pytest fixtures and settings for the tdnn tests."""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

# In CI, Hypothesis draws the same examples on every run: a property test that passed when the
# change landed cannot fail later on an example nobody has seen (locally it keeps exploring). CI
# shares the machine with its second nbval pass, so no test may fail for being slow.
try:
    from hypothesis import HealthCheck, settings

    settings.register_profile(
        "ci",
        derandomize=True,
        deadline=None,
        print_blob=True,
        suppress_health_check=[HealthCheck.too_slow],
    )
    if os.environ.get("CI"):
        settings.load_profile("ci")
except ImportError:  # pragma: no cover - hypothesis is a dev dependency
    pass

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"


def notebook_paths() -> list[Path]:
    """Every stored notebook: the chapters and the exercises (never the book's build copies)."""
    return sorted(p for p in NOTEBOOKS.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)


def make_dry_run(*targets: str) -> list[str]:
    """The shell lines ``make -n TARGET...`` would run at the repository root (nothing is run)."""
    import subprocess

    env = {k: v for k, v in os.environ.items() if not k.startswith("MAKE")}  # not the outer make's flags
    done = subprocess.run(
        ["make", "-n", "--no-print-directory", *targets], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()
