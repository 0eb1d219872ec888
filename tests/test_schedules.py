"""tdnn.schedules: the book's formulas, laws (hypothesis), Keras equivalents, 1cycle, LR finder."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tdnn.schedules import (
    exponential_lr_range,
    exponential_schedule,
    keras_schedule,
    lr_range_test,
    one_cycle_momentum,
    one_cycle_peak_step,
    one_cycle_schedule,
    piecewise_constant_schedule,
    power_schedule,
    suggest_learning_rate,
)

etas = st.floats(1e-6, 10.0)
scales = st.floats(0.5, 1e5)
steps = st.integers(0, 10**6)


@pytest.fixture(scope="module")
def keras():
    from tdnn._tf import import_tensorflow

    import_tensorflow()
    import keras

    return keras


# --------------------------------------------------------------------------------------------------
# the formulas


def test_power_schedule_formula_and_halving():
    f = power_schedule(0.01, 20)
    assert f(0) == 0.01
    assert f(20) == pytest.approx(0.005, rel=1e-15)
    assert f(60) == pytest.approx(0.0025, rel=1e-15)
    g = power_schedule(0.1, 10, c=2)
    assert g(10) == pytest.approx(0.1 / 4, rel=1e-15)
    np.testing.assert_allclose(g(np.array([0, 10, 30])), [0.1, 0.025, 0.1 / 16], rtol=1e-15)


def test_exponential_schedule_formula():
    f = exponential_schedule(0.01, 20)
    assert f(0) == 0.01
    assert f(20) == pytest.approx(0.001, rel=1e-14)
    assert f(10) == pytest.approx(0.01 / math.sqrt(10), rel=1e-14)


def test_piecewise_constant_is_the_books_function():
    f = piecewise_constant_schedule([5, 15], [0.01, 0.005, 0.001])

    def book(epoch):  # HOML ch. 11's piecewise_constant_fn
        if epoch < 5:
            return 0.01
        elif epoch < 15:
            return 0.005
        else:
            return 0.001

    for epoch in range(25):
        assert f(epoch) == book(epoch)
    assert isinstance(f(3), float)
    assert f(np.arange(25)).shape == (25,)


def test_one_cycle_knots_match_the_books_scheduler():
    total, max_lr = 1000, 0.1
    f = one_cycle_schedule(total, max_lr)
    last_steps = total // 10 + 1  # the book's default
    half = (total - last_steps) // 2
    assert one_cycle_peak_step(total) == half
    assert f(0) == pytest.approx(0.01)
    assert f(half) == pytest.approx(max_lr)
    assert f(2 * half) == pytest.approx(0.01)
    assert f(total) == pytest.approx(0.01 / 1000)
    assert f(10 * total) == pytest.approx(
        0.01 / 1000
    )  # constant after the end, never negative
    # linear in between, as the book's _interpolate
    t = half // 2
    assert f(t) == pytest.approx(0.01 + (max_lr - 0.01) * t / half)


def test_one_cycle_momentum_is_inverse():
    total = 200
    lr = one_cycle_schedule(total, 1.0)
    m = one_cycle_momentum(total)
    t = np.arange(total)
    peak = one_cycle_peak_step(total)
    assert m(0) == pytest.approx(0.95)
    assert m(peak) == pytest.approx(0.85)
    assert np.argmin(m(t)) == np.argmax(lr(t)) == peak
    assert m(total - 1) == pytest.approx(0.95)


# --------------------------------------------------------------------------------------------------
# laws (hypothesis)


@settings(max_examples=200, deadline=None)
@given(eta0=etas, s=scales, c=st.floats(0.1, 3.0), t=steps)
def test_power_positive_and_non_increasing(eta0, s, c, t):
    f = power_schedule(eta0, s, c)
    assert 0 < f(t + 1) <= f(t) <= eta0


@settings(max_examples=200, deadline=None)
@given(eta0=etas, s=scales, t=st.integers(0, 10**4))
def test_exponential_positive_non_increasing_and_divides_by_10_every_s(eta0, s, t):
    f = exponential_schedule(eta0, s)
    assert f(t) > 0 or eta0 * 0.1 ** (t / s) == 0.0  # positive unless it underflows
    assert f(t + 1) <= f(t) <= eta0
    if f(t + s) > 1e-300:
        assert f(t + s) == pytest.approx(f(t) / 10, rel=1e-9)


@settings(max_examples=100, deadline=None)
@given(
    boundaries=st.lists(st.integers(1, 1000), min_size=1, max_size=5, unique=True).map(
        sorted
    ),
    data=st.data(),
)
def test_piecewise_positive_and_takes_each_value_from_its_boundary(boundaries, data):
    values = data.draw(
        st.lists(etas, min_size=len(boundaries) + 1, max_size=len(boundaries) + 1)
    )
    f = piecewise_constant_schedule(boundaries, values)
    assert f(0) == values[0]
    for b, v in zip(boundaries, values[1:]):
        assert f(b) == v
    assert np.all(f(np.arange(1200)) > 0)


@settings(max_examples=200, deadline=None)
@given(total=st.integers(10, 10**5), max_lr=etas, div=st.floats(1.01, 100.0))
def test_one_cycle_peaks_at_max_lr_at_the_right_step_and_ends_below_start(
    total, max_lr, div
):
    f = one_cycle_schedule(total, max_lr, start_lr=max_lr / div)
    t = np.arange(total + 1)
    lr = f(t)
    peak = (total - (total // 10 + 1)) // 2
    assert np.all(lr > 0)
    assert lr.max() == pytest.approx(max_lr)
    assert int(np.argmax(lr)) == peak
    assert lr[-1] < lr[0]
    assert np.all(np.diff(lr[: peak + 1]) >= 0)  # warm-up
    assert np.all(np.diff(lr[peak:]) <= 1e-18)  # cool-down and annihilation


@settings(max_examples=100, deadline=None)
@given(total=st.integers(10, 10**5), t=st.integers(0, 2 * 10**5))
def test_one_cycle_momentum_stays_in_range(total, t):
    m = one_cycle_momentum(total, max_momentum=0.95, min_momentum=0.85)
    assert 0.85 - 1e-12 <= m(t) <= 0.95 + 1e-12


# --------------------------------------------------------------------------------------------------
# bad input


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: power_schedule(0, 10), "eta0"),
        (lambda: power_schedule(0.1, -1), "s"),
        (lambda: power_schedule(0.1, 1, c=0), "c"),
        (lambda: exponential_schedule(0.1, 0), "s"),
        (lambda: exponential_schedule(float("nan"), 1), "eta0"),
        (lambda: piecewise_constant_schedule([5, 15], [0.1, 0.01]), "one more item"),
        (lambda: piecewise_constant_schedule([15, 5], [0.1, 0.01, 0.001]), "increasing"),
        (lambda: piecewise_constant_schedule([5], [0.1, -0.01]), r"values\[1\]"),
        (lambda: one_cycle_schedule(2, 0.1), "total_steps"),
        (lambda: one_cycle_schedule(100, 0.1, start_lr=1.0), "start_lr"),
        (lambda: one_cycle_schedule(100, 0.1, start_lr=0.1), "start_lr"),
        (lambda: one_cycle_schedule(100, 0.1, last_lr=0.5), "last_lr"),
        (lambda: one_cycle_schedule(100, 0.1, last_steps=99), "last_steps"),
        (lambda: one_cycle_momentum(100, max_momentum=1.0), "max_momentum"),
        (
            lambda: one_cycle_momentum(100, max_momentum=0.8, min_momentum=0.9),
            "min_momentum",
        ),
        (lambda: exponential_lr_range(1.0, 0.1, 10), "max_lr"),
        (lambda: exponential_lr_range(1e-3, 1.0, 1), "steps"),
        (lambda: suggest_learning_rate([1, 2], [1.0]), "same length"),
        (lambda: suggest_learning_rate([2, 1], [1.0, 2.0]), "increasing"),
        (lambda: power_schedule(0.1, 10)(-1), "t must be"),
    ],
)
def test_bad_arguments_raise_value_error_naming_them(make, match):
    with pytest.raises(ValueError, match=match):
        make()


@pytest.mark.parametrize(
    "make",
    [
        lambda: power_schedule("0.1", 10),
        lambda: one_cycle_schedule(100.5, 0.1),
        lambda: piecewise_constant_schedule(5, [0.1, 0.01]),
        lambda: power_schedule(0.1, 10)("3"),
        lambda: lr_range_test("not callable", [0.0]),
    ],
)
def test_bad_types_raise_type_error(make):
    with pytest.raises(TypeError):
        make()


# --------------------------------------------------------------------------------------------------
# Keras equivalents


def test_keras_schedules_agree_with_the_pure_functions(keras):
    t = np.arange(0, 300)
    cases = [
        (keras_schedule("power", eta0=0.01, s=20), power_schedule(0.01, 20)),
        (keras_schedule("exponential", eta0=0.01, s=20), exponential_schedule(0.01, 20)),
        (
            keras_schedule("piecewise", boundaries=[50, 150], values=[0.01, 0.005, 0.001]),
            piecewise_constant_schedule([50, 150], [0.01, 0.005, 0.001]),
        ),
        (  # t runs past total_steps: flat at last_lr
            keras_schedule("one_cycle", total_steps=250, max_lr=0.05),
            one_cycle_schedule(250, 0.05),
        ),
        (
            keras_schedule(
                "one_cycle", total_steps=120, max_lr=1.0, start_lr=0.3, last_lr=0.01, last_steps=0
            ),
            one_cycle_schedule(120, 1.0, start_lr=0.3, last_lr=0.01, last_steps=0),
        ),
    ]
    for keras_fn, pure in cases:
        got = np.array([float(keras_fn(int(step))) for step in t])
        np.testing.assert_allclose(got, pure(t), rtol=1e-5)  # Keras computes in float32


def test_keras_piecewise_without_the_shift_switches_one_step_late(keras):
    raw = keras.optimizers.schedules.PiecewiseConstantDecay([50], [0.01, 0.001])
    pure = piecewise_constant_schedule([50], [0.01, 0.001])
    assert float(raw(50)) == pytest.approx(0.01) and pure(50) == 0.001
    assert float(raw(51)) == pytest.approx(0.001)


def test_keras_schedule_rejects_what_keras_cannot_express(keras):
    with pytest.raises(ValueError, match="c must be 1"):
        keras_schedule("power", eta0=0.1, s=10, c=2)
    with pytest.raises(ValueError, match="kind"):
        keras_schedule("cosine", eta0=0.1, s=10)
    with pytest.raises(ValueError, match=r"boundaries\[0\]"):
        keras_schedule("piecewise", boundaries=[2.5], values=[0.1, 0.01])


def test_keras_one_cycle_checks_its_arguments_like_the_pure_function(keras):
    with pytest.raises(TypeError, match="total_steps= and max_lr="):
        keras_schedule("one_cycle", max_lr=0.1)
    with pytest.raises(TypeError, match="momentum"):
        keras_schedule("one_cycle", total_steps=100, max_lr=0.1, max_momentum=0.9)
    with pytest.raises(ValueError, match="max_lr"):
        keras_schedule("one_cycle", total_steps=100, max_lr=-0.1)
    with pytest.raises(ValueError, match="start_lr"):
        keras_schedule("one_cycle", total_steps=100, max_lr=0.1, start_lr=0.2)
    with pytest.raises((TypeError, ValueError), match="total_steps"):
        keras_schedule("one_cycle", total_steps=2, max_lr=0.1)


def test_keras_one_cycle_trains_several_batches_per_call_and_survives_saving(keras, tmp_path):
    from tdnn.training import sees_every_batch

    total = 40  # _logged_rates: 4 epochs of 10 batches
    one = _logged_rates(keras, 1, keras.optimizers.Adam(keras_schedule("one_cycle", total_steps=total, max_lr=0.05)), [])
    seven = _logged_rates(keras, 7, keras.optimizers.Adam(keras_schedule("one_cycle", total_steps=total, max_lr=0.05)), [])
    np.testing.assert_allclose(one.per_step, one_cycle_schedule(total, 0.05)(np.arange(total)), rtol=1e-5)
    assert seven.per_step == one.per_step
    assert not sees_every_batch(one)
    # the schedule is part of the optimizer's config: a .keras file keeps it
    model = keras.Sequential([keras.Input(shape=(4,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.Adam(keras_schedule("one_cycle", total_steps=total, max_lr=0.05)), loss="mse")
    model.fit(np.ones((8, 4), "float32"), np.ones((8, 1), "float32"), verbose=0)  # builds the optimizer
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras")
    schedule = loaded.optimizer._learning_rate
    assert [float(schedule(t)) for t in (0, 17, 39)] == pytest.approx(
        list(one_cycle_schedule(total, 0.05)(np.array([0, 17, 39]))), rel=1e-5
    )


def _tiny_model(keras, optimizer, seed=0):
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.Input(shape=(4,)), keras.layers.Dense(1)])
    model.compile(optimizer=optimizer, loss="mse")
    return model


@pytest.mark.parametrize("opt_name", ["sgd", "adam"])
def test_one_cycle_scheduler_sets_lr_and_momentum_per_batch(keras, opt_name):
    from tdnn.schedules import LearningRateLogger, OneCycleScheduler

    rng = np.random.default_rng(0)
    x = rng.standard_normal((160, 4)).astype("float32")
    y = x @ np.array([[1.0], [-2.0], [0.5], [3.0]], dtype="float32")
    opt = (
        keras.optimizers.SGD(momentum=0.9) if opt_name == "sgd" else keras.optimizers.Adam()
    )
    model = _tiny_model(keras, opt)
    epochs, batch, total = 3, 16, 30
    cb, logger = OneCycleScheduler(total, 0.05), LearningRateLogger()
    model.fit(x, y, epochs=epochs, batch_size=batch, callbacks=[cb, logger], verbose=0)
    expected = one_cycle_schedule(total, 0.05)(np.arange(total))
    np.testing.assert_allclose(cb.learning_rates, expected, rtol=1e-6)
    np.testing.assert_allclose(
        logger.per_step, expected, rtol=1e-6
    )  # what the optimizer used
    np.testing.assert_allclose(
        cb.momentums, one_cycle_momentum(total)(np.arange(total)), rtol=1e-6
    )
    assert len(logger.per_epoch) == epochs
    # the variable the compiled step reads ends where the schedule ends
    variable = (
        model.optimizer._tdnn_momentum if opt_name == "sgd" else model.optimizer.beta_1
    )
    assert variable is cb.momentum_variable
    assert float(np.asarray(variable)) == pytest.approx(
        one_cycle_momentum(total)(total - 1), rel=1e-6
    )


def test_one_cycle_momentum_changes_the_update(keras):
    """The same run with a frozen momentum gives other weights: the cycled momentum is used."""
    from tdnn.schedules import OneCycleScheduler

    rng = np.random.default_rng(1)
    x = rng.standard_normal((64, 4)).astype("float32")
    y = x.sum(axis=1, keepdims=True)
    weights = []
    for cycle in (True, False):
        model = _tiny_model(keras, keras.optimizers.SGD(momentum=0.95))
        cb = OneCycleScheduler(20, 0.05, cycle_momentum=cycle)
        model.fit(x, y, epochs=5, batch_size=16, callbacks=[cb], verbose=0)
        weights.append(model.get_weights()[0])
    assert not np.allclose(weights[0], weights[1], rtol=1e-4, atol=0)


def test_one_cycle_scheduler_continues_across_fit_calls(keras):
    from tdnn.schedules import OneCycleScheduler

    x = np.ones((32, 4), dtype="float32")
    y = np.ones((32, 1), dtype="float32")
    model = _tiny_model(keras, keras.optimizers.SGD())
    cb = OneCycleScheduler(8, 0.01, cycle_momentum=False)
    model.fit(x, y, epochs=2, batch_size=16, callbacks=[cb], verbose=0)
    model.fit(x, y, epochs=2, batch_size=16, callbacks=[cb], verbose=0)
    np.testing.assert_allclose(
        cb.learning_rates, one_cycle_schedule(8, 0.01)(np.arange(8)), rtol=1e-6
    )


def test_learning_rate_logger_reads_a_keras_schedule(keras):
    from tdnn.schedules import LearningRateLogger

    x = np.ones((40, 4), dtype="float32")
    y = np.ones((40, 1), dtype="float32")
    schedule = keras_schedule("exponential", eta0=0.01, s=5)
    model = _tiny_model(keras, keras.optimizers.SGD(learning_rate=schedule))
    logger = LearningRateLogger()
    model.fit(x, y, epochs=2, batch_size=10, callbacks=[logger], verbose=0)
    np.testing.assert_allclose(
        logger.per_step, exponential_schedule(0.01, 5)(np.arange(8)), rtol=1e-6
    )


def _logged_rates(keras, steps_per_execution, optimizer, callbacks):
    from tdnn.schedules import LearningRateLogger

    rng = np.random.default_rng(1)
    x = rng.standard_normal((100, 4)).astype("float32")  # 10 batches of 10: calls of 7 + 3
    y = x.sum(axis=1, keepdims=True)
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input(shape=(4,)), keras.layers.Dense(1)])
    model.compile(optimizer=optimizer, loss="mse", steps_per_execution=steps_per_execution)
    logger = LearningRateLogger()
    model.fit(x, y, validation_data=(x, y), epochs=4, batch_size=10,
              callbacks=[*callbacks, logger], verbose=0)  # fmt: skip
    return logger


@pytest.mark.parametrize("setting", ["schedule", "per epoch", "on plateau"])
def test_learning_rate_logger_logs_every_step_with_several_steps_per_call(keras, setting):
    from tdnn.training import sees_every_batch

    def make():
        if setting == "schedule":
            return keras.optimizers.SGD(learning_rate=keras_schedule("exponential", eta0=0.01, s=7)), []
        if setting == "per epoch":
            return keras.optimizers.SGD(learning_rate=0.01), [
                keras.callbacks.LearningRateScheduler(lambda epoch: 0.01 / (1 + epoch))
            ]
        return keras.optimizers.SGD(learning_rate=0.01), [
            keras.callbacks.ReduceLROnPlateau(monitor="val_loss", patience=0, min_delta=10.0)
        ]

    one = _logged_rates(keras, 1, *make())
    seven = _logged_rates(keras, 7, *make())
    assert len(one.per_step) == len(seven.per_step) == 40
    assert seven.per_step == one.per_step and seven.per_epoch == one.per_epoch
    assert len(set(one.per_step)) > 1  # the rate did change
    assert not sees_every_batch(one)  # so fit keeps several batches per call


# --------------------------------------------------------------------------------------------------
# LR finder, on problems whose right answer is known


def _quadratic(curvatures):
    """f(θ) = ½ Σ λ_i θ_i²: gradient descent converges iff lr < 2 / max λ."""
    lam = np.asarray(curvatures, dtype=float)

    def loss_and_grad(theta, step):
        return 0.5 * float(np.sum(lam * theta**2)), lam * theta

    return loss_and_grad


@pytest.mark.parametrize("lam_max", [0.5, 4.0, 100.0])
def test_lr_finder_on_a_quadratic_finds_the_stability_limit(lam_max):
    lam = np.geomspace(lam_max / 10, lam_max, 10)
    lrs, losses = lr_range_test(
        _quadratic(lam), np.ones(10), min_lr=1e-5, max_lr=10.0, steps=400
    )
    limit = 2 / lam_max  # the known right answer: GD diverges above it
    assert lrs[-1] > limit  # the test ran past the limit and stopped
    suggestion = suggest_learning_rate(lrs, losses, smoothing=0.0)
    # the loss turns only after the limit (the unstable direction needs a few steps to grow) ...
    assert limit < 10 * suggestion < 10 * limit
    # ... so the book's "10 times lower" lands below the limit, within a factor of 10 of it,
    assert limit / 10 < suggestion < limit
    # and is a learning rate that converges
    theta = np.ones(10)
    for _ in range(200):
        theta = theta - suggestion * lam * theta
    assert 0.5 * np.sum(lam * theta**2) < 1e-3 * 0.5 * np.sum(lam)


def test_lr_range_test_stops_at_divergence_and_keeps_lengths_equal():
    lrs, losses = lr_range_test(
        _quadratic([1.0]), [1.0], min_lr=1e-3, max_lr=100.0, steps=100
    )
    assert len(lrs) == len(losses) < 100
    assert losses[-1] > 4 * losses.min()


def test_suggest_learning_rate_ignores_nan_and_smooths():
    lrs = np.geomspace(1e-4, 1, 50)
    losses = np.r_[np.linspace(2, 0.5, 40), np.linspace(0.6, 5, 9), np.nan]
    assert suggest_learning_rate(lrs, losses, smoothing=0.0) == pytest.approx(lrs[39] / 10)
    assert suggest_learning_rate(lrs, losses, smoothing=0.5) <= lrs[41] / 10


def test_find_learning_rate_on_keras_linear_regression(keras):
    """Keras version: for MSE on x ~ N(0, 1) in 4-D with y = x·w, the loss Hessian is ≈ 2 I, so
    SGD diverges above lr ≈ 2/2 = 1; the finder must turn near there and restore the weights."""
    from tdnn.schedules import find_learning_rate

    rng = np.random.default_rng(0)
    x = rng.standard_normal((2048, 4)).astype("float32")
    y = x @ np.array([[1.0], [-2.0], [0.5], [3.0]], dtype="float32")
    model = _tiny_model(keras, keras.optimizers.SGD(learning_rate=0.01))
    before = [w.copy() for w in model.get_weights()]
    lrs, losses = find_learning_rate(
        model, (x, y), min_lr=1e-4, max_lr=10.0, steps=200, batch_size=64
    )
    turn = 10 * suggest_learning_rate(lrs, losses, smoothing=0.0)
    assert 0.2 < turn < 3.0
    for b, a in zip(before, model.get_weights()):
        np.testing.assert_array_equal(b, a)
    assert float(np.asarray(model.optimizer.learning_rate)) == pytest.approx(0.01)
