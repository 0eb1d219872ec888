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


def plot_function(
    functions: Mapping[str, Callable[[np.ndarray], np.ndarray]],
    *,
    z: np.ndarray | None = None,
    ax: Any = None,
    title: str = "",
    xlabel: str = "z",
    ylabel: str = "",
) -> Any:
    """Plot named functions of ``z`` (default: −5 to 5), e.g. an activation and its derivative."""
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
        ax.plot(z, f(z), label=label)
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
    on the right, with one legend (on the left panel). Returns the two Axes."""
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
