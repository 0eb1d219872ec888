"""tdnn.batchnorm: Eq. 11-4 in NumPy against keras.layers.BatchNormalization, and BN folding."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from tdnn.batchnorm import (
    BatchNormReference,
    batch_moments,
    batch_norm,
    batch_norm_train,
    bn_variables,
    compare_latency,
    fold_batchnorm,
    moving_average,
    moving_average_path,
    predict_latency,
)

ATOL = RTOL = 1e-5


@pytest.fixture(scope="module")
def keras():
    from tdnn._tf import import_tensorflow

    import_tensorflow()
    import keras

    return keras


def _keras_bn(keras, x_shape, *, axis=-1, momentum=0.9, epsilon=1e-3, seed=0):
    """A built Keras BN layer with random (non-default) gamma and beta."""
    layer = keras.layers.BatchNormalization(axis=axis, momentum=momentum, epsilon=epsilon)
    layer.build(x_shape)
    rng = np.random.default_rng(seed)
    n = layer.gamma.shape[0]
    layer.gamma.assign(rng.normal(1.0, 0.5, n).astype("float32"))
    layer.beta.assign(rng.normal(0.0, 0.5, n).astype("float32"))
    return layer


def _batch(shape, seed, loc=0.0, scale=1.0):
    rng = np.random.default_rng(seed)
    return (loc + scale * rng.standard_normal(shape)).astype(np.float32)


# --------------------------------------------------------------------------------------------
# import hygiene
# --------------------------------------------------------------------------------------------
def test_module_imports_without_tensorflow() -> None:
    code = "import sys, tdnn.batchnorm; assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


# --------------------------------------------------------------------------------------------
# pure functions
# --------------------------------------------------------------------------------------------
def test_batch_moments_are_the_biased_mean_and_variance() -> None:
    x = _batch((7, 5), 0, loc=3.0, scale=2.0).astype(np.float64)
    mean, var = batch_moments(x)
    np.testing.assert_allclose(mean, x.mean(axis=0))
    np.testing.assert_allclose(var, x.var(axis=0, ddof=0))
    assert not np.allclose(var, x.var(axis=0, ddof=1))


def test_batch_moments_axis_keeps_the_feature_axes() -> None:
    x = _batch((6, 4, 3), 1).astype(np.float64)
    mean, var = batch_moments(x, axis=1)
    assert mean.shape == (4,)
    np.testing.assert_allclose(var, x.transpose(1, 0, 2).reshape(4, -1).var(axis=1))
    mean, var = batch_moments(x, axis=(1, 2))
    assert mean.shape == (4, 3)
    np.testing.assert_allclose(mean, x.mean(axis=0))


def test_batch_norm_is_equation_11_3() -> None:
    x = _batch((10, 3), 2, loc=1.0).astype(np.float64)
    gamma, beta, eps = np.array([1.0, 2.0, 0.5]), np.array([0.0, -1.0, 3.0]), 1e-5
    z, mu, var = batch_norm_train(x, gamma, beta, epsilon=eps)
    expected = gamma * (x - x.mean(0)) / np.sqrt(x.var(0) + eps) + beta
    np.testing.assert_allclose(z, expected)
    np.testing.assert_allclose(mu, x.mean(0))
    np.testing.assert_allclose(batch_norm(x, mu, var, gamma, beta, epsilon=eps), expected)


def test_moving_average_update_rule() -> None:
    np.testing.assert_allclose(moving_average(np.array([0.0, 1.0]), np.array([10.0, 3.0]), 0.9), [1.0, 1.2])


def test_moving_average_path_closed_form() -> None:
    v, v0 = 5.0, 0.0
    for momentum in (0.9, 0.99):
        path = moving_average_path(np.full(400, v), momentum, initial=v0)
        n = np.arange(1, 401)
        np.testing.assert_allclose(path, v + (v0 - v) * momentum**n)
    # 95 % of the way: ln(0.05)/ln(momentum) steps
    path = moving_average_path(np.full(400, 1.0), 0.9)
    assert int(np.argmax(path >= 0.95)) + 1 == int(np.ceil(np.log(0.05) / np.log(0.9))) == 29


def test_moving_average_path_vector_values() -> None:
    values = np.arange(12, dtype=float).reshape(4, 3)
    path = moving_average_path(values, 0.5, initial=[0.0, 1.0, 2.0])
    current = np.array([0.0, 1.0, 2.0])
    for t in range(4):
        current = moving_average(current, values[t], 0.5)
        np.testing.assert_allclose(path[t], current)


# --------------------------------------------------------------------------------------------
# reference layer vs keras.layers.BatchNormalization
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("shape", "axis"),
    [((32, 8), -1), ((16, 5, 7), 1), ((16, 5, 7), -1), ((8, 4, 5, 3), -1), ((8, 4, 5, 3), 2)],
)
def test_training_mode_matches_keras(keras, shape, axis) -> None:
    layer = _keras_bn(keras, shape, axis=axis)
    ref = BatchNormReference.from_keras(layer)
    x = _batch(shape, 3, loc=2.0, scale=3.0)
    np.testing.assert_allclose(ref(x, training=True), np.asarray(layer(x, training=True)), rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(ref.moving_mean, np.asarray(layer.moving_mean), rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(ref.moving_variance, np.asarray(layer.moving_variance), rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("momentum", [0.0, 0.9, 0.99])
def test_moving_statistics_and_inference_match_keras_over_several_batches(keras, momentum) -> None:
    shape = (32, 6)
    layer = _keras_bn(keras, shape, momentum=momentum, epsilon=1e-3)
    ref = BatchNormReference.from_keras(layer)
    for step in range(6):  # batches whose distribution drifts, so the moving stats really move
        x = _batch(shape, 10 + step, loc=step, scale=1.0 + step)
        np.testing.assert_allclose(ref(x, training=True), np.asarray(layer(x, training=True)), rtol=RTOL, atol=ATOL)
        np.testing.assert_allclose(ref.moving_mean, np.asarray(layer.moving_mean), rtol=RTOL, atol=ATOL)
        np.testing.assert_allclose(ref.moving_variance, np.asarray(layer.moving_variance), rtol=RTOL, atol=ATOL)
    assert ref.steps == 6
    x_test = _batch(shape, 99, loc=1.0, scale=2.0)
    np.testing.assert_allclose(ref(x_test, training=False), np.asarray(layer(x_test, training=False)), rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(ref(x_test), np.asarray(layer(x_test)), rtol=RTOL, atol=ATOL)  # default: inference


def test_keras_moving_variance_uses_the_biased_batch_variance(keras) -> None:
    x = _batch((4, 3), 5, scale=2.0)  # tiny batch: biased and unbiased differ by 4/3
    layer = keras.layers.BatchNormalization(momentum=0.0)
    layer(x, training=True)
    np.testing.assert_allclose(np.asarray(layer.moving_variance), x.var(axis=0, ddof=0), rtol=1e-5)
    assert not np.allclose(np.asarray(layer.moving_variance), x.var(axis=0, ddof=1), rtol=1e-2)
    ref = BatchNormReference(momentum=0.0)
    ref(x, training=True)
    np.testing.assert_allclose(ref.moving_variance, np.asarray(layer.moving_variance), rtol=1e-5)


def test_inference_mode_leaves_the_state_alone() -> None:
    ref = BatchNormReference(momentum=0.9)
    x = _batch((16, 4), 6, loc=5.0)
    ref(x, training=False)
    np.testing.assert_array_equal(ref.moving_mean, np.zeros(4))
    np.testing.assert_array_equal(ref.moving_variance, np.ones(4))
    assert ref.steps == 0
    ref(x, training=True)
    np.testing.assert_allclose(ref.moving_mean, 0.1 * x.mean(0), rtol=1e-6)
    assert ref.steps == 1


def test_tuple_axis_equals_flatten_then_keras_bn(keras) -> None:
    x = _batch((32, 6, 5), 7, loc=1.0, scale=2.0)
    ref = BatchNormReference(axis=(1, 2), momentum=0.9)
    layer = keras.layers.BatchNormalization(momentum=0.9)
    flat = x.reshape(32, 30)
    z_ref = ref(x, training=True)
    np.testing.assert_allclose(z_ref.reshape(32, 30), np.asarray(layer(flat, training=True)), rtol=RTOL, atol=ATOL)
    assert ref.moving_mean.shape == (6, 5)
    np.testing.assert_allclose(ref.moving_mean.ravel(), np.asarray(layer.moving_mean), rtol=RTOL, atol=ATOL)


def test_keras3_rejects_a_list_axis(keras) -> None:
    # The book's BatchNormalization(axis=[1, 2]) no longer works in Keras 3 (the notebook says so).
    with pytest.raises(TypeError):
        keras.layers.BatchNormalization(axis=[1, 2])


# --------------------------------------------------------------------------------------------
# properties
# --------------------------------------------------------------------------------------------
_floats = st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False)


@settings(max_examples=60, deadline=None)
@given(
    x=arrays(np.float64, st.tuples(st.integers(2, 40), st.integers(1, 6)), elements=_floats),
    eps=st.sampled_from([1e-3, 1e-5, 1e-8]),
)
def test_training_output_has_zero_mean_and_unit_variance(x, eps) -> None:
    var = x.var(axis=0)
    keep = var > 1e-6 * (1 + np.abs(x).max()) ** 2  # nonconstant features (beyond float64 round-off)
    if not keep.any():
        return
    x = x[:, keep]
    var = var[keep]
    z, _, _ = batch_norm_train(x, 1.0, 0.0, epsilon=eps)
    np.testing.assert_allclose(z.mean(axis=0), 0.0, atol=1e-6)
    # exactly sigma^2 / (sigma^2 + eps): ~1 whenever the variance dwarfs epsilon
    np.testing.assert_allclose(z.var(axis=0), var / (var + eps), rtol=1e-6)
    big = var > 1e3 * eps
    np.testing.assert_allclose(z.var(axis=0)[big], 1.0, rtol=1e-3)


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    a=st.floats(0.01, 100.0),
    c=st.floats(-100.0, 100.0),
)
def test_training_output_ignores_a_positive_affine_rescaling(seed, a, c) -> None:
    # why BN makes a layer's output insensitive to the scale of its weights (Ioffe & Szegedy, 2015)
    x = _batch((16, 3), seed).astype(np.float64)
    z1, _, _ = batch_norm_train(x, epsilon=1e-12)
    z2, _, _ = batch_norm_train(a * x + c, epsilon=1e-12)
    np.testing.assert_allclose(z1, z2, atol=1e-6)


# --------------------------------------------------------------------------------------------
# the book's model and BN layer variables
# --------------------------------------------------------------------------------------------
def test_book_model_summary_figures(keras) -> None:
    from tdnn.models import build_mlp, count_params

    model = build_mlp((300, 100), batch_norm="after", activation="relu", seed=42)
    assert count_params(model) == {"total": 271_346, "trainable": 268_978, "non_trainable": 2_368}
    bns = [layer for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)]
    assert [layer.count_params() for layer in bns] == [3_136, 1_200, 400]
    assert isinstance(model.layers[1], keras.layers.BatchNormalization)  # right after Flatten
    table = bn_variables(bns[0])
    assert list(table.index) == ["gamma", "beta", "moving_mean", "moving_variance"]
    assert list(table["shape"]) == [(784,)] * 4
    assert list(table["trainable"]) == [True, True, False, False]
    assert table["values"].sum() == 3_136


def test_bn_before_activation_layout(keras) -> None:
    from tdnn.models import build_mlp, count_params

    model = build_mlp((300, 100), batch_norm="before", activation="relu", seed=42)
    kinds = [type(layer).__name__ for layer in model.layers]
    assert kinds == ["Flatten", "Dense", "BatchNormalization", "Activation"] * 1 + [
        "Dense",
        "BatchNormalization",
        "Activation",
        "Dense",
    ]
    dense = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]
    assert [d.use_bias for d in dense] == [False, False, True]
    # 784*300 + 300*100 + 100*10 + 10 weights, 4*(300 + 100) BN values (half of them non-trainable)
    assert count_params(model) == {"total": 267_810, "trainable": 267_010, "non_trainable": 800}


def test_bn_variables_bad_input(keras) -> None:
    with pytest.raises(TypeError, match="layer"):
        bn_variables(keras.layers.Dense(3))
    with pytest.raises(ValueError, match="built"):
        bn_variables(keras.layers.BatchNormalization())


# --------------------------------------------------------------------------------------------
# folding BN into Dense layers
# --------------------------------------------------------------------------------------------
def _randomize_bn(keras, model, seed=0):
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            n = layer.gamma.shape[0]
            layer.set_weights(
                [rng.normal(1, 0.3, n), rng.normal(0, 0.3, n), rng.normal(0, 0.5, n), rng.uniform(0.1, 2.0, n)]
            )


@pytest.mark.parametrize("layout", ["before", "after"])
def test_fold_batchnorm_keeps_predictions_with_fewer_layers(keras, layout) -> None:
    from tdnn.models import build_mlp

    model = build_mlp((32, 16), batch_norm=layout, activation="relu", seed=0)
    _randomize_bn(keras, model)
    before = [np.array(w) for w in model.get_weights()]
    folded = fold_batchnorm(model)
    x = _batch((64, 28, 28), 8, loc=0.5, scale=0.3)
    np.testing.assert_allclose(folded(x, training=False), model(x, training=False), rtol=RTOL, atol=ATOL)
    assert len(folded.layers) < len(model.layers)
    plain = build_mlp((32, 16), batch_norm=None, activation="relu", seed=0)
    assert [type(layer).__name__ for layer in folded.layers] == [type(layer).__name__ for layer in plain.layers]
    assert [layer.activation for layer in folded.layers[1:]] == [layer.activation for layer in plain.layers[1:]]
    assert not any(isinstance(layer, keras.layers.BatchNormalization) for layer in folded.layers)
    for w0, w1 in zip(before, model.get_weights()):  # the original is untouched
        np.testing.assert_array_equal(w0, w1)


def test_fold_batchnorm_after_training_and_with_options(keras) -> None:
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((5,)),
            keras.layers.Dense(8, use_bias=True),
            keras.layers.BatchNormalization(center=False, epsilon=1e-2),
            keras.layers.Activation("tanh"),
            keras.layers.BatchNormalization(scale=False),
            keras.layers.BatchNormalization(momentum=0.5),  # BN -> BN -> Dense: composed
            keras.layers.Dense(3),
        ]
    )
    x = _batch((256, 5), 9, loc=2.0, scale=3.0)
    model.compile(optimizer="sgd", loss="mse")
    model.fit(x, _batch((256, 3), 10), epochs=2, batch_size=32, verbose=0)  # real moving stats
    folded = fold_batchnorm(model)
    assert [type(layer).__name__ for layer in folded.layers] == ["Dense", "Dense"]
    assert folded.layers[0].activation is keras.activations.tanh
    np.testing.assert_allclose(folded.predict(x, verbose=0), model.predict(x, verbose=0), rtol=RTOL, atol=ATOL)


def test_fold_batchnorm_refuses_what_it_cannot_fold(keras) -> None:
    def seq(*layers):
        return keras.Sequential([keras.Input((6,)), *layers])

    # BN after a nonlinearity with no Dense right after it
    with pytest.raises(ValueError, match="cannot fold"):
        fold_batchnorm(seq(keras.layers.Dense(4, activation="relu"), keras.layers.BatchNormalization()))
    with pytest.raises(ValueError, match="cannot fold"):
        fold_batchnorm(
            seq(
                keras.layers.Dense(4, activation="relu"),
                keras.layers.BatchNormalization(),
                keras.layers.Dropout(0.2),
                keras.layers.Dense(2),
            )
        )
    # BN over an axis other than the features
    with pytest.raises(ValueError, match="axis"):
        fold_batchnorm(
            keras.Sequential([keras.Input((4, 6)), keras.layers.BatchNormalization(axis=1), keras.layers.Flatten()])
        )
    with pytest.raises(ValueError, match="no BatchNormalization"):
        fold_batchnorm(seq(keras.layers.Dense(2)))
    with pytest.raises(TypeError, match="model"):
        fold_batchnorm("model")
    inputs = keras.Input((3,))
    with pytest.raises(TypeError, match="Sequential"):
        fold_batchnorm(keras.Model(inputs, keras.layers.BatchNormalization()(inputs)))


def test_predict_latency(keras) -> None:
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    x = np.ones((8, 4), dtype=np.float32)
    for method in ("call", "predict", "compiled"):
        t = predict_latency(model, x, repeats=2, warmup=1, method=method)
        assert 0 < t < 10
    with pytest.raises(ValueError, match="method"):
        predict_latency(model, x, method="fast")
    with pytest.raises(ValueError, match="repeats"):
        predict_latency(model, x, repeats=0)
    with pytest.raises(TypeError, match="model"):
        predict_latency(None, x)
    other = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
    times = compare_latency({"a": model, "b": other}, x, repeats=2, warmup=0, method="call")
    assert list(times) == ["a", "b"] and all(t > 0 for t in times.values())
    with pytest.raises(ValueError, match="models"):
        compare_latency({}, x)
    with pytest.raises(TypeError, match="models"):
        compare_latency({"a": "not a model"}, x)


# --------------------------------------------------------------------------------------------
# bad inputs
# --------------------------------------------------------------------------------------------
def test_bad_inputs_name_the_argument() -> None:
    x = np.ones((4, 3))
    with pytest.raises(ValueError, match="momentum"):
        BatchNormReference(momentum=1.5)
    with pytest.raises(ValueError, match="epsilon"):
        BatchNormReference(epsilon=-1.0)
    with pytest.raises(TypeError, match="axis"):
        BatchNormReference(axis="features")
    with pytest.raises(ValueError, match="axis"):
        batch_moments(x, axis=0)
    with pytest.raises(ValueError, match="axis"):
        batch_moments(x, axis=5)
    with pytest.raises(ValueError, match="axis"):
        batch_moments(np.ones((4, 3, 2)), axis=(1, -2))
    with pytest.raises(ValueError, match="x"):
        batch_moments(np.ones(3))
    with pytest.raises(ValueError, match="x"):
        batch_moments(np.ones((0, 3)))
    with pytest.raises(ValueError, match="x"):
        batch_moments(np.array([[1.0, np.nan]]))
    with pytest.raises(TypeError, match="x"):
        batch_moments("abc")
    with pytest.raises(ValueError, match="gamma"):
        batch_norm(x, 0.0, 1.0, gamma=np.ones(2))
    with pytest.raises(ValueError, match="variance"):
        batch_norm(x, 0.0, -1.0)
    with pytest.raises(ValueError, match="epsilon"):
        batch_norm(x, 0.0, 0.0, epsilon=0.0)
    with pytest.raises(ValueError, match="momentum"):
        moving_average(0.0, 1.0, momentum=-0.1)
    with pytest.raises(ValueError, match="values"):
        moving_average_path([], 0.9)
    ref = BatchNormReference()
    with pytest.raises(TypeError, match="training"):
        ref(x, training="yes")
    ref(x, training=True)
    with pytest.raises(ValueError, match="x"):
        ref(np.ones((4, 5)), training=True)
    with pytest.raises(TypeError, match="layer"):
        BatchNormReference.from_keras(object())
