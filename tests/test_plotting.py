"""tdnn.plotting: the figures have titles, labels and one line per run; bad input is named."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from tdnn.activations import (  # noqa: E402
    elu_derivative,
    gelu_derivative,
    leaky_relu_derivative,
    relu_derivative,
    selu_derivative,
    sigmoid_derivative,
)
from tdnn.plotting import (  # noqa: E402
    break_at_jumps,
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


def _drawn_segments(line) -> np.ndarray:
    """|Δy| of every segment a Line2D actually draws (segments touching a NaN are not drawn)."""
    y = np.asarray(line.get_ydata(), dtype=float)
    steps = np.abs(np.diff(y))
    return steps[np.isfinite(steps)]


@pytest.mark.parametrize(
    ("derivative", "jump"),
    [(relu_derivative, 1.0), (lambda z: leaky_relu_derivative(z, 0.2), 0.8), (selu_derivative, 0.7)],
)
def test_derivative_plots_leave_the_kink_open(derivative, jump) -> None:
    """Issue #7: no vertical segment joins the one-sided limits at z = 0."""
    z = np.linspace(-4, 4, 401)  # contains z = 0
    _, right = plot_with_derivatives({"f": (np.abs, derivative)}, z=z)
    line = right.lines[0]
    y = np.asarray(line.get_ydata(), dtype=float)
    assert np.isnan(y).sum() == 1
    assert _drawn_segments(line).max() < jump / 10
    x = np.asarray(line.get_xdata(), dtype=float)
    assert abs(x[np.isnan(y)][0]) == pytest.approx(0.01)  # between 0 and its grid neighbour


@pytest.mark.parametrize("derivative", [sigmoid_derivative, gelu_derivative, elu_derivative, np.cos])
def test_continuous_curves_are_not_broken(derivative) -> None:
    z = np.linspace(-4, 4, 401)
    ax = plot_function({"f'": derivative}, z=z)
    assert not np.isnan(np.asarray(ax.lines[0].get_ydata(), dtype=float)).any()


def test_break_at_jumps_on_a_step() -> None:
    z = np.arange(6.0)
    zz, yy = break_at_jumps(z, np.array([0, 0, 0, 2, 2, 2.0]))
    np.testing.assert_array_equal(zz, [0, 1, 2, 2.5, 3, 4, 5])
    np.testing.assert_array_equal(np.isnan(yy), [0, 0, 0, 1, 0, 0, 0])
    zz, yy = break_at_jumps(z, z**2)
    np.testing.assert_array_equal(zz, z)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"z": np.arange(3.0), "y": np.arange(4.0)}, "same length"),
        ({"z": np.array([0.0, 2.0, 1.0]), "y": np.zeros(3)}, "increasing"),
        ({"z": np.arange(3.0), "y": np.zeros(3), "factor": 1}, "factor"),
        ({"z": np.arange(3.0), "y": np.zeros(3), "atol": -1}, "atol"),
    ],
)
def test_break_at_jumps_validates(kwargs, match) -> None:
    with pytest.raises(ValueError, match=match):
        break_at_jumps(**kwargs)
