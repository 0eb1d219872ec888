"""Reproducible, quiet notebooks: seeds, TensorFlow op determinism, plot style and the run profile.

Every notebook starts with ``profile = setup_notebook()``. Two fresh executions then give identical
metrics (and byte-identical PNGs) on the same machine and library versions; a different CPU type may
change the last digits, which is why notebooks print rounded figures.
"""

from __future__ import annotations

import os
import random
from dataclasses import dataclass
from typing import TypeVar

import numpy as np

from tdnn._tf import import_tensorflow
from tdnn._validate import check_choice, check_int

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

PROFILES = ("book", "full")
PROFILE_ENV_VAR = "TDNN_PROFILE"
T = TypeVar("T")


@dataclass(frozen=True)
class Profile:
    """How big the experiments are: ``book`` (default: seconds on a laptop CPU) or ``full``.

    Notebooks ask the profile for sizes, e.g. ``profile.pick(book=5_000, full=55_000)``; stored
    outputs always come from the ``book`` profile. Set ``TDNN_PROFILE=full`` for full-scale runs.
    """

    name: str = "book"

    def __post_init__(self) -> None:
        check_choice("name", self.name, PROFILES)

    @property
    def full(self) -> bool:
        """True for the full-scale profile."""
        return self.name == "full"

    def pick(self, book: T, full: T) -> T:
        """Return ``book`` under the book profile and ``full`` under the full profile."""
        return full if self.full else book


def current_profile() -> Profile:
    """The profile named by ``$TDNN_PROFILE`` (``book`` when unset)."""
    name = os.environ.get(PROFILE_ENV_VAR, "book").strip().lower() or "book"
    if name not in PROFILES:
        raise ValueError(f"${PROFILE_ENV_VAR} must be one of {list(PROFILES)}, got {name!r}")
    return Profile(name)


def seed_everything(seed: int = 42) -> None:
    """Seed Python, NumPy and TensorFlow/Keras in one call (``keras.utils.set_random_seed``).

    In Keras 3, ``tf.random.set_seed`` alone no longer makes weight initialization reproducible;
    ``keras.utils.set_random_seed`` seeds Python's ``random``, NumPy and the backend together.
    """
    seed = check_int("seed", seed, min_value=0)
    random.seed(seed)
    np.random.seed(seed)
    import_tensorflow()
    import keras

    keras.utils.set_random_seed(seed)


def enable_determinism() -> None:
    """Make TensorFlow ops deterministic (``tf.config.experimental.enable_op_determinism``)."""
    tf = import_tensorflow()

    tf.config.experimental.enable_op_determinism()


def quiet_tensorflow() -> None:
    """Silence TensorFlow's Python-side loggers (the C++ ones are silenced at ``import tdnn``)."""
    import logging

    tf = import_tensorflow()

    tf.get_logger().setLevel(logging.ERROR)
    try:
        import absl.logging

        absl.logging.set_verbosity(absl.logging.ERROR)
    except ImportError:  # pragma: no cover - absl ships with TensorFlow
        pass


PLOT_STYLE: dict[str, object] = {
    "figure.figsize": (7.0, 3.6),
    "figure.dpi": 100,
    "savefig.dpi": 100,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titlesize": 11,
    "axes.labelsize": 10,
    "legend.fontsize": 9,
    "legend.frameon": False,
    "lines.linewidth": 1.8,
    "image.cmap": "viridis",
    "svg.hashsalt": "tdnn",
}


def set_plot_style() -> None:
    """The companion's matplotlib style: readable at page width, light grid, no top/right spines."""
    import matplotlib as mpl

    mpl.rcParams.update(PLOT_STYLE)
    try:  # PNG figures in notebooks (small, and deterministic byte for byte)
        from IPython import get_ipython

        shell = get_ipython()
        if shell is not None:
            shell.run_line_magic("config", "InlineBackend.figure_formats = ['png']")
            shell.run_line_magic("config", "InlineBackend.rc = {}")
    except ImportError:  # pragma: no cover - IPython is a dev dependency
        pass


def setup_notebook(seed: int = 42, *, deterministic: bool = True, plots: bool = True) -> Profile:
    """Seed everything, enable op determinism, quiet TensorFlow, set the plot style; return the profile.

    Call it in the first code cell of every notebook::

        from tdnn import setup_notebook
        profile = setup_notebook()
    """
    seed = check_int("seed", seed, min_value=0)
    profile = current_profile()
    quiet_tensorflow()
    if deterministic:
        enable_determinism()
    seed_everything(seed)
    if plots:
        set_plot_style()
    return profile
