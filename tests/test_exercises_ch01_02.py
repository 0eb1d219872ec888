"""The numerical answers of chapters 1 and 2's exercises, checked (so no exercise ships impossible).

Chapter 1 ("The vanishing/exploding gradients problems") and chapter 2 ("Glorot and He
initialization") ask the reader to predict with the variance argument (``tdnn.initializers.mean_field``)
and to measure with ``tdnn.diagnostics``. The measured checks use margins wide enough for any seed
and CPU (float32 TensorFlow); the predictions are NumPy float64.
"""

from __future__ import annotations

import math

import keras
import numpy as np
import pytest

from tdnn import initializers as ti
from tdnn.diagnostics import activation_stats_by_layer, backprop_signal_by_layer
from tdnn.models import build_mlp

rng = np.random.default_rng(0)
# a stand-in for 1,000 images of pixels in [0, 1] (E[x²] about 1/3), with random labels
X = rng.uniform(0.0, 1.0, size=(500, 784)).astype("float32")
Y = rng.integers(0, 10, size=500)


# --- chapter 1, exercise 1: Glorot weights 4 times larger for the logistic function -------------


def test_ch1_ex1_four_times_larger_weights_predicted_gain_stays_below_one():
    glorot = ti.mean_field("sigmoid", 0.01, fan=100, depth=30, first_variance=0.3)
    times4 = ti.mean_field("sigmoid", 16 * 0.01, fan=100, depth=30, first_variance=16 * 0.3)
    # σ(z) ≈ 1/2 + z/4 would give a gain of 1, but Var[z] grows to about 6: units leave the linear part
    assert glorot["gain"].iloc[-1] == pytest.approx(0.236, abs=0.005)
    assert 0.55 < times4["gain"].iloc[-1] < 0.7
    assert 4 < times4["Var[z]"].iloc[-1] < 8
    # the error signal still vanishes over 29 layers, but by ~10⁻⁶ instead of ~10⁻¹⁸
    assert 1e-8 < times4["gain"].iloc[:29].prod() < 1e-4
    assert glorot["gain"].iloc[:29].prod() < 1e-17


@pytest.mark.parametrize("seed", [0, 1])
def test_ch1_ex1_four_times_larger_weights_measured(seed):
    init = keras.initializers.VarianceScaling(scale=16.0, mode="fan_avg")
    model = build_mlp([100] * 30, activation="sigmoid", kernel_initializer=init,
                      input_shape=(784,), seed=seed)
    delta = backprop_signal_by_layer(model, X, Y)
    per_layer = (delta.loc[1] / delta.loc[30]) ** (1 / 29)
    assert 0.5 < per_layer < 0.75  # measured over 6 seeds: 0.62-0.63; mean field: 0.63
    saturated = activation_stats_by_layer(model, X)["saturated"].loc[2:30]
    assert saturated.between(0.05, 0.5).all()  # measured: 14-33 %


# --- chapter 1, exercise 2: the ReLU scale that keeps Var[z] constant ----------------------------


def test_ch1_ex2_mean_field_answer_is_he_scale_two():
    for scale, expected in [(1.5, 0.75), (2.0, 1.0), (2.5, 1.25)]:
        frame = ti.mean_field("relu", scale / 100, fan=100, depth=30, first_variance=1.0)
        assert frame["Var[z]"].iloc[-1] == pytest.approx(expected**29, rel=1e-6)


def test_ch1_ex2_measured_scale_two_is_closest_to_constant():
    growth = {}
    for scale in (1.5, 2.0, 2.5):
        logs = []
        for seed in (0, 1, 2):
            init = keras.initializers.VarianceScaling(scale=scale, mode="fan_in")
            model = build_mlp([100] * 30, activation="relu", kernel_initializer=init,
                              input_shape=(784,), seed=seed)
            var = activation_stats_by_layer(model, X, pre_activation=True)["variance"]
            logs.append(math.log(var.loc[30] / var.loc[1]) / 29)
        growth[scale] = math.exp(np.mean(logs))
    # finite layers drift (one seed alone can be off by ±10 % per layer), the mean over seeds is not
    assert 0.9 < growth[2.0] < 1.1
    assert growth[1.5] < 0.85 < 1.15 < growth[2.5]


# --- chapter 2, exercise 2: the truncation correction at 3 standard deviations -------------------


def test_ch2_ex2_truncation_at_three_standard_deviations():
    factor = ti.truncated_normal_std_factor(3.0)
    assert factor == pytest.approx(0.98658, abs=1e-5)
    assert 1 - factor == pytest.approx(0.0134, abs=1e-4)  # 1.3 % too narrow without it (2σ: 12 %)
    z = np.random.default_rng(0).standard_normal(4_000_000)
    assert z[np.abs(z) <= 3].std() == pytest.approx(factor, rel=1e-3)


# --- chapter 2, exercise 3: σ × 4 for the sigmoid in the 50-layer stack ---------------------------


def test_ch2_ex3_four_times_sigma_reduces_but_does_not_fix_vanishing():
    xs = (X - X.mean()) / X.std()  # standardized inputs, as in chapter 2
    results = {}
    for label, init in [
        ("glorot", "glorot_normal"),
        ("x4", keras.initializers.VarianceScaling(scale=16.0, mode="fan_avg")),
    ]:
        model = build_mlp([100] * 50, activation="sigmoid", kernel_initializer=init,
                          input_shape=(784,), seed=0)
        delta = backprop_signal_by_layer(model, xs, Y)
        sat = activation_stats_by_layer(model, xs)["saturated"].loc[2:50]
        results[label] = (delta.loc[1] / delta.loc[50], sat.mean())
    assert results["glorot"][0] < 1e-25 and results["glorot"][1] < 0.01
    assert 1e-14 < results["x4"][0] < 1e-6  # still vanishing, but 10²⁰ times less
    assert 0.1 < results["x4"][1] < 0.4  # and a fifth or so of the units now saturate


# --- chapter 2, exercise 1: Adam and the default initialization of a 20-layer ReLU network -------


def test_ch2_ex1_adam_escapes_the_plateau_where_sgd_stalls():
    from tdnn.data import load_fashion_mnist, subset
    from tdnn.training import fit

    data = subset(load_fashion_mnist(), 5000, 2000)
    mean, std = float(data.train.x.mean()), float(data.train.x.std())
    train = ((data.train.x - mean) / std, data.train.y)
    valid = ((data.valid.x - mean) / std, data.valid.y)
    final = {}
    for optimizer, learning_rate in [("sgd", 0.01), ("adam", 0.001)]:
        model = build_mlp([100] * 20, activation="relu", kernel_initializer="glorot_uniform", seed=42)
        history = fit(model, train, valid=valid, epochs=1, batch_size=64, optimizer=optimizer,
                      learning_rate=learning_rate, seed=42)
        final[optimizer] = history.iloc[-1]
    # SGD sits at ln 10 ≈ 2.30; after one epoch Adam is well below it (measured, 2 seeds: 1.75-1.88
    # training loss, 0.38-0.56 validation accuracy; after 5 epochs within 0.02 of He's accuracy)
    assert final["sgd"]["loss"] > 2.25 and final["sgd"]["val_accuracy"] < 0.2
    assert final["adam"]["loss"] < 2.1 and final["adam"]["val_accuracy"] > 0.25


# --- chapter 1, exercise 3: section 4 with 3 hidden layers instead of 10 -------------------------


def test_ch1_ex3_three_layers_move_every_layer_but_sigmoid_still_learns_slowly():
    from tdnn.data import load_fashion_mnist, subset
    from tdnn.diagnostics import kernel_snapshot, relative_weight_change
    from tdnn.training import fit

    small = subset(load_fashion_mnist(), n_train=8000, n_valid=2000)
    lowest, final = {}, {}
    for depth in (3, 10):
        model = build_mlp([100] * depth, activation="sigmoid", kernel_initializer="glorot_normal",
                          seed=42)
        before = kernel_snapshot(model)
        history = fit(model, small.train, valid=small.valid, epochs=3, batch_size=64,
                      optimizer="sgd", learning_rate=0.01, seed=42)
        lowest[depth] = relative_weight_change(before, model).min()
        final[depth] = history.iloc[-1]
    # the vanishing gradient is gone: the least-moved layer moves ≥ 1000× more than with 10 layers
    # (measured after 10 epochs, 2 seeds: 1.8e-2 vs 1.5e-7 to 1.6e-7)
    assert lowest[3] > 1000 * lowest[10]
    # ... but plain SGD at 0.01 still barely moves the sigmoid network off chance in this budget
    # (after 10 epochs, 2 seeds: loss 2.29, validation accuracy 0.18-0.20, against 0.81 for He + ReLU)
    assert final[3]["loss"] > 2.0
