"""tdnn.regularization: reference math vs Keras, MC dropout, calibration metrics, early stopping."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tdnn._tf import import_tensorflow
from tdnn.regularization import (
    MCDropout,
    WeightHistory,
    adam_trajectory,
    alpha_dropout_params,
    apply_alpha_dropout,
    apply_dropout,
    dropout_mask,
    expected_calibration_error,
    l1_l2_penalty,
    log_loss,
    mc_estimate_spread,
    mc_predict,
    reliability_curve,
    unit_norms,
)

import_tensorflow()
import keras  # noqa: E402


def _rng(seed=0):
    return np.random.default_rng(seed)


# ---------------------------------------------------------------------------------------------
# ℓ1 / ℓ2


@pytest.mark.parametrize(("l1", "l2"), [(0.01, 0.0), (0.0, 0.01), (0.003, 0.02)])
def test_penalty_matches_keras_l1l2(l1, l2) -> None:
    w = _rng().standard_normal((20, 7)).astype("float32")
    keras_value = float(keras.regularizers.L1L2(l1=l1, l2=l2)(w))
    assert np.isclose(l1_l2_penalty(w, l1=l1, l2=l2), keras_value, rtol=1e-5)


def test_penalty_matches_model_losses() -> None:
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((5,)),
            keras.layers.Dense(4, kernel_regularizer=keras.regularizers.l2(0.1)),
            keras.layers.Dense(3, kernel_regularizer=keras.regularizers.l1(0.05)),
        ]
    )
    model(np.zeros((1, 5), "float32"))
    k1, k2 = model.layers[0].kernel.numpy(), model.layers[1].kernel.numpy()
    expected = l1_l2_penalty(k1, l2=0.1) + l1_l2_penalty(k2, l1=0.05)
    assert np.isclose(sum(float(x) for x in model.losses), expected, rtol=1e-5)


def test_penalty_sums_a_list_and_has_no_half() -> None:
    assert (
        l1_l2_penalty([np.array([3.0, -4.0]), np.array([[1.0]])], l1=1.0, l2=1.0)
        == 8.0 + 26.0
    )


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"weights": np.ones(3), "l1": -1.0}, ValueError, "l1"),
        ({"weights": np.ones(3), "l2": "x"}, TypeError, "l2"),
        ({"weights": []}, ValueError, "weights"),
        ({"weights": np.array([np.nan])}, ValueError, "finite"),
    ],
)
def test_penalty_rejects_bad_input(kwargs, error, match) -> None:
    with pytest.raises(error, match=match):
        l1_l2_penalty(**kwargs)


# ---------------------------------------------------------------------------------------------
# Adam with ℓ2 vs AdamW


def _keras_trajectory(optimizer, w0, data_grad, steps, l2=0.0):
    var = keras.Variable(np.array(w0, "float32"))
    out = [var.numpy().astype(np.float64)]
    for _ in range(steps):
        w = var.numpy().astype(np.float64)
        g = data_grad(w) + 2 * l2 * w
        optimizer.apply_gradients([(keras.ops.convert_to_tensor(g.astype("float32")), var)])
        out.append(var.numpy().astype(np.float64))
    return np.stack(out)


def _quadratic_grad(w):
    return np.array([10.0, 0.1]) * (w - 1.0)


def test_adam_with_l2_matches_keras() -> None:
    w0 = np.array([2.0, -3.0])
    ref = adam_trajectory(_quadratic_grad, w0, 25, learning_rate=0.05, l2=0.3)
    got = _keras_trajectory(
        keras.optimizers.Adam(learning_rate=0.05), w0, _quadratic_grad, 25, l2=0.3
    )
    assert np.allclose(ref, got, rtol=1e-4, atol=1e-5)


def test_adamw_matches_keras() -> None:
    w0 = np.array([2.0, -3.0])
    ref = adam_trajectory(_quadratic_grad, w0, 25, learning_rate=0.05, weight_decay=0.5)
    got = _keras_trajectory(
        keras.optimizers.AdamW(learning_rate=0.05, weight_decay=0.5),
        w0,
        _quadratic_grad,
        25,
    )
    assert np.allclose(ref, got, rtol=1e-4, atol=1e-5)


def test_without_data_gradient_adam_l2_steps_do_not_depend_on_the_strength() -> None:
    zero = np.zeros_like
    weak = adam_trajectory(zero, [1.0], 50, learning_rate=0.01, l2=0.1)
    strong = adam_trajectory(zero, [1.0], 50, learning_rate=0.01, l2=100.0)
    assert np.allclose(weak, strong, atol=1e-5)  # 1000× the strength, the same steps
    steps = -np.diff(weak[:, 0])
    assert np.all(
        (steps > 0.007) & (steps <= 0.0100001)
    )  # about one learning rate per step


def test_without_data_gradient_adamw_decays_geometrically() -> None:
    traj = adam_trajectory(
        np.zeros_like, [1.0, -2.0], 30, learning_rate=0.1, weight_decay=0.2
    )
    expected = np.array([1.0, -2.0]) * (1 - 0.1 * 0.2) ** np.arange(31)[:, None]
    assert np.allclose(traj, expected, rtol=1e-12)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"data_grad": 3}, TypeError, "data_grad"),
        ({"steps": 0}, ValueError, "steps"),
        ({"learning_rate": 0.0}, ValueError, "learning_rate"),
        ({"beta_1": 1.0}, ValueError, "beta_1"),
        ({"data_grad": lambda w: np.zeros(5)}, ValueError, "shape"),
    ],
)
def test_adam_trajectory_rejects_bad_input(kwargs, error, match) -> None:
    args = {"data_grad": np.zeros_like, "w0": [1.0, 2.0], "steps": 3} | kwargs
    with pytest.raises(error, match=match):
        adam_trajectory(**args)


# ---------------------------------------------------------------------------------------------
# Dropout


@pytest.mark.parametrize("rate", [0.1, 0.5, 0.8])
def test_dropout_matches_keras_in_training(rate) -> None:
    x = _rng(1).uniform(0.5, 2.0, (200, 500)).astype("float32")
    out = keras.layers.Dropout(rate, seed=3)(x, training=True).numpy()
    kept = out != 0
    n = kept.size
    # the mask, statistically: the kept fraction is 1 - rate within 5 binomial standard deviations
    assert abs(kept.mean() - (1 - rate)) < 5 * np.sqrt(rate * (1 - rate) / n)
    # the scaling, exactly (up to float32 rounding): same as the reference with Keras' mask
    assert np.allclose(out, apply_dropout(x, rate, mask=kept), rtol=1e-6)


def test_dropout_is_the_identity_at_inference() -> None:
    x = _rng(2).standard_normal((4, 6)).astype("float32")
    assert np.array_equal(keras.layers.Dropout(0.5)(x, training=False).numpy(), x)
    assert np.array_equal(apply_dropout(x, 0.5, training=False), x.astype(np.float64))


@settings(deadline=None, max_examples=30)
@given(rate=st.floats(0.05, 0.9), seed=st.integers(0, 2**16))
def test_dropout_keeps_the_expected_value(rate, seed) -> None:
    x = np.full(200_000, 3.0)
    out = apply_dropout(x, rate, seed=seed)
    sd = 3.0 * np.sqrt(rate / (1 - rate) / x.size)  # std of the mean of x·mask/(1-p)
    assert abs(out.mean() - 3.0) < 6 * sd
    assert set(np.unique(out)) <= {0.0, 3.0 / (1 - rate)}


def test_dropout_mask_is_seeded() -> None:
    assert np.array_equal(
        dropout_mask((3, 4), 0.5, seed=1), dropout_mask((3, 4), 0.5, seed=1)
    )
    assert dropout_mask(10, 0.0, seed=1).all()


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"rate": 1.0}, ValueError, "rate"),
        ({"rate": -0.1}, ValueError, "rate"),
        ({"training": 1}, TypeError, "training"),
        ({"mask": np.ones((2, 2))}, ValueError, "mask"),
        ({"mask": np.ones(3, bool)}, ValueError, "mask"),
    ],
)
def test_dropout_rejects_bad_input(kwargs, error, match) -> None:
    args = {"x": np.ones((2, 2)), "rate": 0.5} | kwargs
    with pytest.raises(error, match=match):
        apply_dropout(**args)
    with pytest.raises(error, match=match):
        apply_alpha_dropout(**args)


def test_alpha_dropout_matches_keras() -> None:
    rate = 0.2
    x = _rng(3).standard_normal((100, 300)).astype("float32")
    out = keras.layers.AlphaDropout(rate, seed=5)(x, training=True).numpy()
    alpha_p, a, b = alpha_dropout_params(rate)
    dropped = np.isclose(out, a * alpha_p + b, rtol=0, atol=1e-6)
    assert abs(dropped.mean() - rate) < 5 * np.sqrt(rate * (1 - rate) / dropped.size)
    assert np.allclose(
        out, apply_alpha_dropout(x, rate, mask=~dropped), rtol=1e-5, atol=1e-6
    )


@pytest.mark.parametrize("rate", [0.05, 0.2, 0.5])
def test_alpha_dropout_keeps_mean_and_variance_where_dropout_does_not(rate) -> None:
    x = _rng(4).standard_normal(400_000)
    alpha = apply_alpha_dropout(x, rate, seed=1)
    plain = apply_dropout(x, rate, seed=1)
    assert abs(alpha.mean()) < 0.01 and abs(alpha.var() - 1) < 0.01
    assert plain.var() > 1 + 0.5 * rate  # inverted dropout inflates the variance to 1/(1-p)


def test_alpha_dropout_params_at_zero_rate_are_the_identity() -> None:
    _, a, b = alpha_dropout_params(0.0)
    assert a == 1.0 and b == 0.0


# ---------------------------------------------------------------------------------------------
# MC dropout


def _dropout_model(layer=keras.layers.Dropout, rate=0.5):
    keras.utils.set_random_seed(0)
    return keras.Sequential(
        [
            keras.Input((8,)),
            keras.layers.Dense(16, activation="relu"),
            layer(rate),
            keras.layers.Dense(3, activation="softmax"),
        ]
    )


def test_mc_predict_shapes_and_statistics() -> None:
    model = _dropout_model()
    x = _rng(5).standard_normal((7, 8)).astype("float32")
    keras.utils.set_random_seed(1)
    mean, std, samples = mc_predict(model, x, 30, return_samples=True)
    assert mean.shape == std.shape == (7, 3) and samples.shape == (30, 7, 3)
    assert np.allclose(mean, samples.mean(0)) and np.allclose(std, samples.std(0))
    assert np.allclose(mean.sum(axis=1), 1.0, atol=1e-5)
    assert (std > 0).any()  # dropout is active: the samples differ


def test_mc_predict_batches_like_one_call_in_distribution() -> None:
    model = _dropout_model(rate=0.0)  # no dropout: every pass is the same
    x = _rng(6).standard_normal((10, 8)).astype("float32")
    mean, std = mc_predict(model, x, 3, batch_size=4)
    assert np.allclose(mean, model(x).numpy(), atol=1e-6)
    assert np.allclose(std, 0.0, atol=1e-7)


def test_mcdropout_layer_stays_active_at_inference() -> None:
    x = _rng(7).standard_normal((5, 8)).astype("float32")
    mc = _dropout_model(MCDropout)
    plain = _dropout_model(keras.layers.Dropout)
    assert not np.allclose(mc(x).numpy(), mc(x).numpy())
    assert np.array_equal(plain(x).numpy(), plain(x).numpy())
    assert np.array_equal(plain.predict(x, verbose=0), plain(x).numpy())


def test_mc_predict_rejects_bad_input() -> None:
    model = _dropout_model()
    with pytest.raises(TypeError, match="model"):
        mc_predict("model", np.ones((2, 8)))
    with pytest.raises(ValueError, match="n_samples"):
        mc_predict(model, np.ones((2, 8)), 0)
    with pytest.raises(ValueError, match="x"):
        mc_predict(model, np.ones((0, 8)))


# ---------------------------------------------------------------------------------------------
# Calibration metrics


def test_log_loss_by_hand() -> None:
    probs = np.array([[0.5, 0.5], [0.1, 0.9], [0.8, 0.2]])
    y = np.array([0, 1, 1])
    assert np.isclose(log_loss(probs, y), -(np.log(0.5) + np.log(0.9) + np.log(0.2)) / 3)


def test_ece_and_reliability_by_hand() -> None:
    # two bins used: confidence 0.95 (2 examples, 1 right) and 0.6 (2 examples, 2 right)
    probs = np.array([[0.95, 0.05], [0.95, 0.05], [0.6, 0.4], [0.4, 0.6]])
    y = np.array([0, 1, 0, 1])
    table = reliability_curve(probs, y, n_bins=10)
    assert table["count"].tolist() == [2, 2]
    assert np.allclose(table["accuracy"], [1.0, 0.5]) and np.allclose(
        table["confidence"], [0.6, 0.95]
    )
    assert np.isclose(expected_calibration_error(probs, y, 10), 0.5 * 0.4 + 0.5 * 0.45)


def test_ece_of_a_calibrated_classifier_is_small() -> None:
    rng = _rng(8)
    conf = rng.uniform(0.5, 1.0, 200_000)
    correct = rng.random(conf.size) < conf  # right with probability = confidence
    y = np.where(correct, 0, 1)
    probs = np.stack([conf, 1 - conf], axis=1)
    assert expected_calibration_error(probs, y, 10) < 0.01
    overconfident = np.stack([np.sqrt(conf), 1 - np.sqrt(conf)], axis=1)
    assert expected_calibration_error(overconfident, y, 10) > 0.05


@settings(deadline=None, max_examples=40)
@given(seed=st.integers(0, 2**16), n_bins=st.integers(1, 20))
def test_ece_lies_in_unit_interval(seed, n_bins) -> None:
    rng = _rng(seed)
    probs = rng.dirichlet(np.ones(4), size=50)
    y = rng.integers(0, 4, 50)
    assert 0.0 <= expected_calibration_error(probs, y, n_bins) <= 1.0
    assert reliability_curve(probs, y, n_bins)["count"].sum() == 50


@pytest.mark.parametrize(
    ("probs", "y", "match"),
    [
        (np.ones((2, 2)), np.array([0, 1]), "sum to 1"),
        (np.array([0.5, 0.5]), np.array([0]), "shape"),
        (np.full((2, 2), 0.5), np.array([0, 2]), "labels"),
        (np.full((2, 2), 0.5), np.array([0.0, 1.0]), "integer"),
    ],
)
def test_calibration_metrics_reject_bad_input(probs, y, match) -> None:
    with pytest.raises(ValueError, match=match):
        expected_calibration_error(probs, y)
    with pytest.raises(ValueError, match=match):
        log_loss(probs, y)


def test_mc_estimate_spread_falls_with_n() -> None:
    rng = _rng(9)
    samples = rng.dirichlet(np.ones(3), size=(200, 40))
    table = mc_estimate_spread(samples, [1, 4, 16, 64], n_repeats=30, seed=0)
    assert table["prob_std"].is_monotonic_decreasing
    ratio = table.loc[1, "prob_std"] / table.loc[16, "prob_std"]
    assert 3.0 < ratio < 5.0  # about √16 = 4
    with pytest.raises(ValueError, match="ns"):
        mc_estimate_spread(samples, [500])
    with pytest.raises(ValueError, match="samples"):
        mc_estimate_spread(samples[0], [1])


# ---------------------------------------------------------------------------------------------
# Max-norm and early stopping


def test_unit_norms_match_keras_maxnorm_axis() -> None:
    kernel = _rng(10).standard_normal((50, 8)).astype("float32")
    clipped = keras.constraints.MaxNorm(1.0)(
        kernel
    ).numpy()  # axis=0: each unit's incoming weights
    assert np.all(unit_norms(clipped) <= 1.0 + 1e-5)
    assert np.allclose(
        unit_norms(clipped), 1.0, atol=1e-5
    )  # every column was longer than 1
    wrong = keras.constraints.MaxNorm(1.0, axis=1)(kernel).numpy()
    assert np.all(unit_norms(wrong, axis=1) <= 1.0 + 1e-5)
    assert np.any(unit_norms(wrong) > 1.5)  # the wrong axis leaves the units unconstrained


def test_unit_norms_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="kernel"):
        unit_norms(np.ones(3))
    with pytest.raises(ValueError, match="axis"):
        unit_norms(np.ones((2, 2)), axis=2)


def test_weight_history_checks_early_stopping_restored_the_best_epoch() -> None:
    rng = _rng(11)
    x = rng.standard_normal((64, 5)).astype("float32")
    y = (x[:, 0] > 0).astype("int32")
    xv = rng.standard_normal((64, 5)).astype("float32")
    yv = rng.integers(0, 2, 64)  # noise: validation loss soon rises
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((5,)),
            keras.layers.Dense(32, activation="relu"),
            keras.layers.Dense(2, activation="softmax"),
        ]
    )
    model.compile(
        optimizer=keras.optimizers.Adam(0.05), loss="sparse_categorical_crossentropy"
    )
    recorder = WeightHistory()
    stopper = keras.callbacks.EarlyStopping(patience=3, restore_best_weights=True)
    history = model.fit(
        x, y, validation_data=(xv, yv), epochs=40, callbacks=[recorder, stopper], verbose=0
    )
    val = history.history["val_loss"]
    best = int(np.argmin(val)) + 1
    assert len(val) < 40 and best < len(val)  # stopped early, after the best epoch
    assert recorder.matches(model, best)
    assert not recorder.matches(model, len(val))
    with pytest.raises(ValueError, match="epoch"):
        recorder.matches(model, 99)
