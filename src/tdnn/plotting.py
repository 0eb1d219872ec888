"""The companion's figures: learning curves, per-layer profiles, functions and their derivatives."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from tdnn._validate import check_choice


def _plt() -> Any:
    import matplotlib.pyplot as plt

    return plt


def _check_frames(name: str, frames: Any, column: str | None = None) -> Mapping[str, pd.DataFrame]:
    if not isinstance(frames, Mapping) or not frames:
        raise ValueError(f"{name} must be a non-empty mapping of label -> DataFrame")
    for label, frame in frames.items():
        if not isinstance(frame, (pd.DataFrame, pd.Series)):
            raise TypeError(f"{name}[{label!r}] must be a DataFrame or Series, got {type(frame).__name__}")
        if column is not None and isinstance(frame, pd.DataFrame) and column not in frame.columns:
            raise ValueError(f"column {column!r} is not in {name}[{label!r}]: {list(frame.columns)}")
    return frames


def plot_per_layer(
    frames: Mapping[str, pd.DataFrame | pd.Series],
    column: str | None = None,
    *,
    ax: Any = None,
    log: bool = True,
    title: str = "",
    ylabel: str = "",
    xlabel: str = "layer (1 = first hidden layer)",
) -> Any:
    """One line per configuration: ``column`` of each per-layer table against the layer index.

    ``frames`` maps a label (e.g. ``"N(0,1) + sigmoid"``) to a table from
    :mod:`tdnn.diagnostics` (or a Series). Returns the matplotlib Axes.
    """
    frames = _check_frames("frames", frames, column)
    plt = _plt()
    if ax is None:
        _, ax = plt.subplots()
    for label, frame in frames.items():
        series = frame if isinstance(frame, pd.Series) else frame[column]
        ax.plot(series.index, series.to_numpy(), marker="o", markersize=3, label=label)
    if log:
        ax.set_yscale("log")
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel or (column or ""))
    ax.legend()
    return ax


def metric_label(metric: str) -> str:
    """A readable label for a Keras history column: ``"val_accuracy"`` -> ``"validation accuracy"``."""
    if metric.startswith("val_"):
        return "validation " + metric[4:].replace("_", " ")
    if metric in ("loss", "accuracy"):
        return "training " + metric
    return metric.replace("_", " ")


def plot_learning_curves(
    histories: Mapping[str, pd.DataFrame],
    metrics: Sequence[str] = ("loss", "val_accuracy"),
    *,
    x: str = "epoch",
    title: str = "",
    axes: Any = None,
) -> Any:
    """Learning curves, one panel per metric, one line per run, against epochs or wall-clock seconds.

    ``histories`` maps a label to a :func:`tdnn.training.fit` history; ``x`` is ``"epoch"`` or
    ``"seconds"`` (cumulative wall time). Returns the array of Axes.
    """
    histories = _check_frames("histories", histories)
    check_choice("x", x, ("epoch", "seconds"))
    if isinstance(metrics, str) or not metrics:
        raise ValueError("metrics must be a non-empty sequence of history columns, e.g. ('loss', 'val_accuracy')")
    for label, h in histories.items():
        for m in metrics:
            if m not in h.columns:
                raise ValueError(f"metric {m!r} is not in histories[{label!r}]: {list(h.columns)}")
        if x == "seconds" and "seconds" not in h.columns:
            raise ValueError(f"histories[{label!r}] has no 'seconds' column")
    plt = _plt()
    if axes is None:
        _, axes = plt.subplots(1, len(metrics), figsize=(4.0 * len(metrics) + 1, 3.4), squeeze=False)
        axes = axes[0]
    axes = np.atleast_1d(axes)
    for ax, metric in zip(axes, metrics):
        for label, h in histories.items():
            xs = h.index.to_numpy() if x == "epoch" else h["seconds"].cumsum().to_numpy()
            ax.plot(xs, h[metric].to_numpy(), marker="o" if len(h) <= 30 else None, markersize=3, label=label)
        name = metric_label(metric)
        ax.set_xlabel("epoch" if x == "epoch" else "wall-clock time (s)")
        ax.set_ylabel(name + (" (log scale)" if "loss" in metric else ""))
        ax.set_title(name[0].upper() + name[1:])
        if "loss" in metric:
            ax.set_yscale("log")
    fig = axes[0].figure
    if title:
        fig.suptitle(title)
    if len(axes) > 1:
        # one legend for all panels, below them, where it hides no curve
        handles, labels = axes[0].get_legend_handles_labels()
        n_rows = -(-len(labels) // 4)
        height = fig.get_figheight()
        fig.set_figheight(height + 0.3 * n_rows)
        fig.tight_layout(rect=(0, (0.05 + 0.25 * n_rows) / fig.get_figheight(), 1, 1))
        fig.legend(handles, labels, loc="lower center", ncol=min(len(labels), 4), frameon=False)
    else:
        axes[0].legend()
        fig.tight_layout()
    return axes


def break_at_jumps(z: Any, y: Any, *, factor: float = 10.0, atol: float = 1e-6) -> tuple[np.ndarray, np.ndarray]:
    """Insert a NaN point wherever ``y`` jumps between two grid points, so a line plot shows the
    one-sided limits of a discontinuity as two open ends instead of joining them with a vertical
    segment (e.g. ReLU's derivative at z = 0).

    A step ``y[i] -> y[i+1]`` counts as a jump when it exceeds ``atol`` and is more than ``factor``
    times both neighbouring steps: a smooth curve sampled on a fine grid changes gradually, a jump
    does not. ``z`` must be increasing. Returns the new ``(z, y)`` (float arrays, NaN rows added).
    """
    z = np.asarray(z, dtype=float)
    y = np.asarray(y, dtype=float)
    if z.ndim != 1 or y.shape != z.shape:
        raise ValueError(f"z and y must be 1-D arrays of the same length, got shapes {z.shape} and {y.shape}")
    if z.size > 1 and not np.all(np.diff(z) > 0):
        raise ValueError("z must be strictly increasing")
    if not (isinstance(factor, (int, float)) and factor > 1):
        raise ValueError(f"factor must be a number > 1, got {factor!r}")
    if not (isinstance(atol, (int, float)) and atol >= 0):
        raise ValueError(f"atol must be a number >= 0, got {atol!r}")
    if z.size < 2:
        return z, y
    steps = np.abs(np.diff(y))
    padded = np.concatenate([[0.0], steps, [0.0]])
    neighbours = np.maximum(padded[:-2], padded[2:])
    with np.errstate(invalid="ignore"):
        jumps = np.flatnonzero((steps > atol) & (steps > factor * neighbours))
    if jumps.size == 0:
        return z, y
    at = jumps + 1
    return np.insert(z, at, (z[jumps] + z[at]) / 2), np.insert(y, at, np.nan)


def plot_function(
    functions: Mapping[str, Callable[[np.ndarray], np.ndarray]],
    *,
    z: np.ndarray | None = None,
    ax: Any = None,
    title: str = "",
    xlabel: str = "z",
    ylabel: str = "",
) -> Any:
    """Plot named functions of ``z`` (default: −5 to 5), e.g. an activation and its derivative.

    Discontinuities (a derivative's jump at a kink) are left open: see :func:`break_at_jumps`.
    """
    if not isinstance(functions, Mapping) or not functions:
        raise ValueError("functions must be a non-empty mapping of label -> callable")
    for label, f in functions.items():
        if not callable(f):
            raise TypeError(f"functions[{label!r}] must be callable")
    z = np.linspace(-5, 5, 401) if z is None else np.asarray(z, dtype=float)
    plt = _plt()
    if ax is None:
        _, ax = plt.subplots()
    for label, f in functions.items():
        ax.plot(*break_at_jumps(z, np.broadcast_to(f(z), z.shape)), label=label)
    ax.axhline(0, color="k", linewidth=0.6)
    ax.axvline(0, color="k", linewidth=0.6)
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.legend()
    return ax


def plot_with_derivatives(
    pairs: Mapping[str, tuple[Callable[[np.ndarray], np.ndarray], Callable[[np.ndarray], np.ndarray]]],
    *,
    z: np.ndarray | None = None,
    title: str = "",
    figsize: tuple[float, float] = (9, 3.8),
) -> Any:
    """Two panels: the functions of ``pairs`` (label -> ``(f, f')``) on the left, their derivatives
    on the right, with one legend (on the left panel). Returns the two Axes.

    A derivative that jumps at a kink (ReLU's, leaky ReLU's, SELU's at z = 0) is drawn as two
    pieces with open ends, not joined by a vertical segment (:func:`break_at_jumps`).
    """
    if not isinstance(pairs, Mapping) or not pairs:
        raise ValueError("pairs must be a non-empty mapping of label -> (function, derivative)")
    for label, pair in pairs.items():
        if not (isinstance(pair, tuple) and len(pair) == 2):
            raise TypeError(f"pairs[{label!r}] must be a (function, derivative) tuple")
    plt = _plt()
    fig, (left, right) = plt.subplots(1, 2, figsize=figsize)
    plot_function({k: f for k, (f, _) in pairs.items()}, z=z, ax=left, title=title, ylabel="φ(z)")
    plot_function({k: d for k, (_, d) in pairs.items()}, z=z, ax=right, title="Their derivatives", ylabel="φ'(z)")
    right.get_legend().remove()
    fig.tight_layout()
    return left, right
