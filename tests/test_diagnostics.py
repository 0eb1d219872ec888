"""tdnn.diagnostics: per-layer activation statistics, dead units, gradient norms, weight changes."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from tdnn.diagnostics import (
    activation_stats_by_layer,
    dead_unit_fraction,
    gradient_norms_by_layer,
    kernel_snapshot,
    relative_weight_change,
)
from tdnn.models import build_mlp


def _set_constant(model, layer_index: int, kernel: float, bias: float) -> None:
    layer = [lay for lay in model.layers if isinstance(lay, keras.layers.Dense)][layer_index]
    layer.kernel.assign(np.full(layer.kernel.shape, kernel, "float32"))
    layer.bias.assign(np.full(layer.bias.shape, bias, "float32"))


def test_activation_stats_known_values() -> None:
    model = build_mlp((4, 3), activation="sigmoid", input_shape=(5,), n_outputs=2, seed=0)
    _set_constant(model, 0, 0.0, 10.0)  # sigmoid(10) = 0.99995: saturated
    _set_constant(model, 1, 0.0, 0.0)  # sigmoid(0) = 0.5: not saturated
    x = np.random.default_rng(0).normal(size=(16, 5))
    stats = activation_stats_by_layer(model, x)
    assert list(stats.index) == [1, 2, 3]
    assert stats.loc[1, "saturated"] == 1.0 and stats.loc[2, "saturated"] == 0.0
    assert stats.loc[2, "mean"] == pytest.approx(0.5) and stats.loc[2, "std"] == pytest.approx(0.0, abs=1e-7)
    assert np.isnan(stats.loc[3, "saturated"])  # softmax output: not a saturating hidden activation
    assert stats.loc[1, "variance"] == pytest.approx(stats.loc[1, "std"] ** 2, abs=1e-9)


def test_tanh_saturation_threshold() -> None:
    model = build_mlp((2,), activation="tanh", input_shape=(1,), n_outputs=1, output_activation=None, seed=0)
    layer = model.layers[0]
    layer.kernel.assign(np.array([[1.0, -1.0]], "float32"))
    layer.bias.assign(np.zeros(2, "float32"))
    x = np.array([[0.0], [3.0]])  # tanh(3) = 0.995 -> saturated; tanh(0) = 0 -> not
    stats = activation_stats_by_layer(model, x, saturation=0.99)
    assert stats.loc[1, "saturated"] == pytest.approx(0.5)


def test_dead_units() -> None:
    model = build_mlp((6, 4), activation="relu", input_shape=(3,), seed=0)
    _set_constant(model, 0, 0.0, -1.0)  # relu(-1) = 0 for every input: all dead
    x = np.random.default_rng(1).normal(size=(32, 3))
    dead = dead_unit_fraction(model, x)
    assert dead.loc[1] == 1.0
    assert list(dead.index) == [1, 2]
    stats = activation_stats_by_layer(model, x)
    assert stats.loc[1, "zero"] == 1.0


def test_gradient_norms_match_a_manual_tape() -> None:
    model = build_mlp((8, 8), activation="tanh", input_shape=(4,), n_outputs=3, seed=2)
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(10, 4)).astype("float32"), rng.integers(0, 3, 10)
    table = gradient_norms_by_layer(model, x, y)
    dense = [lay for lay in model.layers if isinstance(lay, keras.layers.Dense)]
    with tf.GradientTape() as tape:
        loss = keras.losses.SparseCategoricalCrossentropy()(y, model(x))
    grads = tape.gradient(loss, [d.kernel for d in dense])
    expected = [float(tf.norm(g)) for g in grads]
    np.testing.assert_allclose(table["grad_norm"].to_numpy(), expected, rtol=1e-5)
    np.testing.assert_allclose(table["grad_rms"], [np.sqrt(np.mean(g.numpy() ** 2)) for g in grads], rtol=1e-5)
    np.testing.assert_allclose(table["ratio"], table["grad_norm"] / table["weight_norm"])


def test_vanishing_gradients_in_a_deep_sigmoid_stack() -> None:
    """The chapter's claim, as a test: N(0, 1) + sigmoid, gradients shrink toward the lower layers."""
    model = build_mlp([50] * 12, activation="sigmoid", input_shape=(20,),
                      kernel_initializer=keras.initializers.RandomNormal(0.0, 1.0), seed=0)
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(256, 20)).astype("float32"), rng.integers(0, 10, 256)
    rms = gradient_norms_by_layer(model, x, y)["grad_rms"]
    assert rms.loc[1] < rms.loc[11] / 10


def test_relative_weight_change() -> None:
    model = build_mlp((3,), input_shape=(2,), n_outputs=2, seed=0)
    before = kernel_snapshot(model)
    layer = model.layers[0]
    layer.kernel.assign(layer.kernel.numpy() * 1.5)
    change = relative_weight_change(before, model)
    assert change.loc[1] == pytest.approx(0.5, rel=1e-6) and change.loc[2] == 0.0
    with pytest.raises(ValueError, match="before"):
        relative_weight_change(before[:1], model)


def test_bad_inputs() -> None:
    model = build_mlp((3,), input_shape=(2,), n_outputs=2, seed=0)
    with pytest.raises(TypeError, match="model"):
        activation_stats_by_layer("model", np.zeros((2, 2)))
    with pytest.raises(ValueError, match="x must be a non-empty batch"):
        activation_stats_by_layer(model, np.zeros(2))
    with pytest.raises(TypeError, match="x must be numeric"):
        activation_stats_by_layer(model, np.array([["a", "b"]]))
    with pytest.raises(ValueError, match="saturation"):
        activation_stats_by_layer(model, np.zeros((2, 2)), saturation=1.0)
    with pytest.raises(ValueError, match="same number of examples"):
        gradient_norms_by_layer(model, np.zeros((4, 2)), np.zeros(3))
    with pytest.raises(TypeError, match="loss"):
        gradient_norms_by_layer(model, np.zeros((4, 2)), np.zeros(4), loss="mse")
    with pytest.raises(ValueError, match="no Dense layers"):
        activation_stats_by_layer(keras.Sequential([keras.Input((2,)), keras.layers.ReLU()]), np.zeros((2, 2)))


def test_pre_activation_stats() -> None:
    model = build_mlp((4,), activation="sigmoid", input_shape=(3,), n_outputs=2, seed=0)
    x = np.random.default_rng(0).normal(size=(64, 3)).astype("float32")
    stats = activation_stats_by_layer(model, x, pre_activation=True)
    layer = model.layers[0]
    z = x @ layer.kernel.numpy() + layer.bias.numpy()
    assert stats.loc[1, "mean"] == pytest.approx(float(z.mean()), rel=1e-5)
    assert stats.loc[1, "variance"] == pytest.approx(float(z.var()), rel=1e-5)
    assert np.isnan(stats.loc[1, "saturated"])


def test_backprop_signal_matches_the_kernel_gradient() -> None:
    """∂L/∂W = aᵀ δ: the error signal and the layer input reproduce the kernel gradient."""
    from tdnn.diagnostics import backprop_signal_by_layer, layer_outputs

    model = build_mlp((6, 5), activation="tanh", input_shape=(4,), n_outputs=3, seed=3)
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(1, 4)).astype("float32"), np.array([2])
    delta = backprop_signal_by_layer(model, x, y)
    assert list(delta.index) == [1, 2, 3]
    # single example: |∂L/∂W_l| = |a_{l-1}| * |δ_l|, and RMS(δ) = |δ| / sqrt(units)
    grads = gradient_norms_by_layer(model, x, y)["grad_norm"]
    inputs = [x] + layer_outputs(model, x)[:-1]
    units = [6, 5, 3]
    for l in (1, 2, 3):
        expected = np.linalg.norm(inputs[l - 1]) * delta.loc[l] * np.sqrt(units[l - 1])
        assert grads.loc[l] == pytest.approx(expected, rel=1e-4)
    with pytest.raises(TypeError, match="Sequential"):
        inp = keras.Input((4,))
        backprop_signal_by_layer(keras.Model(inp, keras.layers.Dense(2)(inp)), x, [0])
