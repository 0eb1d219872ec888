"""tdnn.plotting: the figures have titles, labels and one line per run; bad input is named."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from tdnn.plotting import (  # noqa: E402
    plot_function,
    plot_learning_curves,
    plot_per_layer,
    plot_with_derivatives,
)


def _history(n: int = 4) -> pd.DataFrame:
    h = pd.DataFrame({"loss": np.linspace(1, 0.5, n), "val_accuracy": np.linspace(0.5, 0.8, n), "seconds": 1.0})
    h.index = pd.RangeIndex(1, n + 1, name="epoch")
    return h


def teardown_function() -> None:
    plt.close("all")


def test_learning_curves() -> None:
    axes = plot_learning_curves({"a": _history(), "b": _history()}, title="t")
    assert len(axes) == 2 and len(axes[0].lines) == 2
    assert axes[0].get_xlabel() == "epoch" and axes[1].get_ylabel() == "validation accuracy"
    assert axes[0].get_title() == "Training loss" and axes[0].get_ylabel() == "training loss (log scale)"
    assert axes[0].get_yscale() == "log"
    axes = plot_learning_curves({"a": _history()}, metrics=["val_accuracy"], x="seconds")
    np.testing.assert_allclose(axes[0].lines[0].get_xdata(), [1, 2, 3, 4])
    assert "time (s)" in axes[0].get_xlabel()


def test_per_layer_and_function() -> None:
    frame = pd.DataFrame({"std": [1.0, 2.0, 4.0]}, index=pd.Index([1, 2, 3], name="layer"))
    ax = plot_per_layer({"x": frame, "y": frame["std"]}, "std", title="T", ylabel="std")
    assert ax.get_title() == "T" and ax.get_yscale() == "log" and len(ax.lines) == 2
    ax = plot_function({"sigmoid": lambda z: 1 / (1 + np.exp(-z))}, title="σ")
    assert ax.get_title() == "σ" and [l.get_label() for l in ax.lines if not l.get_label().startswith("_")] == ["sigmoid"]


def test_bad_inputs() -> None:
    with pytest.raises(ValueError, match="histories"):
        plot_learning_curves({})
    with pytest.raises(ValueError, match="metric 'acc'"):
        plot_learning_curves({"a": _history()}, metrics=["acc"])
    with pytest.raises(ValueError, match="x must be one of"):
        plot_learning_curves({"a": _history()}, x="steps")
    with pytest.raises(ValueError, match="column 'var'"):
        plot_per_layer({"a": pd.DataFrame({"std": [1.0]})}, "var")
    with pytest.raises(TypeError, match="functions"):
        plot_function({"f": 3})


def test_with_derivatives() -> None:
    left, right = plot_with_derivatives({"square": (np.square, lambda z: 2 * z)}, title="T")
    assert left.get_title() == "T" and right.get_title() == "Their derivatives"
    assert right.get_legend() is None and left.get_legend() is not None
    z = left.lines[0].get_xdata()
    np.testing.assert_allclose(right.lines[0].get_ydata(), 2 * z)
    with pytest.raises(TypeError, match="pairs"):
        plot_with_derivatives({"f": np.square})
    with pytest.raises(ValueError, match="pairs"):
        plot_with_derivatives({})
