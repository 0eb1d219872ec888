"""tdnn.activations (NumPy reference math) and tdnn.activation_layers (RReLU), checked against Keras."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tdnn import activations as A
from tdnn._tf import import_tensorflow

tf = import_tensorflow()
import keras  # noqa: E402

from tdnn.activation_layers import RReLU  # noqa: E402

GRID = np.linspace(-6.0, 6.0, 1201)  # includes z = 0 (index 600)
OFF_KINK = GRID[np.abs(GRID) > 1e-9]
TOL = dict(rtol=1e-6, atol=1e-6)

finite = st.floats(min_value=-30.0, max_value=30.0, allow_nan=False, allow_infinity=False)
alphas = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)


def _keras_value_and_grad(fn, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Keras function value and elementwise derivative (``tf.GradientTape``), in float64 where possible."""
    x = tf.constant(z, dtype=tf.float64)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = tf.cast(fn(x), tf.float64)
        total = tf.reduce_sum(y)
    return np.asarray(y), np.asarray(tape.gradient(total, x))


# name -> (Keras function/layer, reference f, reference f', compare the derivative at z = 0 too?)
CASES = {
    "sigmoid": (keras.activations.sigmoid, A.sigmoid, A.sigmoid_derivative, True),
    "tanh": (keras.activations.tanh, A.tanh, A.tanh_derivative, True),
    "relu": (keras.activations.relu, A.relu, A.relu_derivative, True),
    "leaky_relu(0.01)": (
        keras.layers.LeakyReLU(negative_slope=0.01),
        lambda z: A.leaky_relu(z, alpha=0.01),
        lambda z: A.leaky_relu_derivative(z, alpha=0.01),
        True,
    ),
    "leaky_relu(0.2)": (
        keras.layers.LeakyReLU(negative_slope=0.2),
        lambda z: A.leaky_relu(z, alpha=0.2),
        lambda z: A.leaky_relu_derivative(z, alpha=0.2),
        True,
    ),
    "leaky_relu activation (default 0.2)": (
        keras.activations.leaky_relu,
        lambda z: A.leaky_relu(z, alpha=0.2),
        lambda z: A.leaky_relu_derivative(z, alpha=0.2),
        True,
    ),
    "elu layer": (keras.layers.ELU(), A.elu, A.elu_derivative, True),
    "elu(alpha=0.5)": (
        lambda x: keras.activations.elu(x, alpha=0.5),
        lambda z: A.elu(z, alpha=0.5),
        lambda z: A.elu_derivative(z, alpha=0.5),
        False,  # Keras' tf.where(x > 0, ...): slope α at 0; ELU's Eq. 11-2 (z >= 0 branch): 1
    ),
    "selu": (keras.activations.selu, A.selu, A.selu_derivative, True),
    "gelu (exact)": (keras.activations.gelu, A.gelu, A.gelu_derivative, True),
    "gelu (tanh approx.)": (
        lambda x: keras.activations.gelu(x, approximate=True),
        lambda z: A.gelu(z, approximate=True),
        lambda z: A.gelu_derivative(z, approximate=True),
        True,
    ),
    "swish": (keras.activations.swish, A.swish, A.swish_derivative, True),
    "silu": (keras.activations.silu, A.silu, A.silu_derivative, True),
    "mish": (keras.activations.mish, A.mish, A.mish_derivative, True),
}


@pytest.mark.parametrize("name", list(CASES))
def test_reference_matches_keras_and_its_gradient(name: str) -> None:
    keras_fn, f, df, check_kink = CASES[name]
    y, g = _keras_value_and_grad(keras_fn, GRID)
    np.testing.assert_allclose(f(GRID), y, **TOL, err_msg=f"{name}: value")
    z = GRID if check_kink else OFF_KINK
    mask = slice(None) if check_kink else np.abs(GRID) > 1e-9
    np.testing.assert_allclose(df(z), g[mask], **TOL, err_msg=f"{name}: derivative")


def test_elu_derivative_at_zero_follows_eq_11_2() -> None:
    # ELU's Eq. 11-2 puts z = 0 in the linear branch: slope 1 whatever α (Keras' tf.where gives α there).
    assert A.elu_derivative(0.0, alpha=0.5) == 1.0
    assert A.elu_derivative(-1e-12, alpha=0.5) == pytest.approx(0.5)


def test_swish_with_beta_matches_keras_formula() -> None:
    for beta in (0.6, 1.702, 3.0):
        y, g = _keras_value_and_grad(lambda x: x * keras.activations.sigmoid(beta * x), GRID)
        np.testing.assert_allclose(A.swish(GRID, beta=beta), y, **TOL)
        np.testing.assert_allclose(A.swish_derivative(GRID, beta=beta), g, **TOL)


def test_keras_defaults_we_document() -> None:
    assert keras.layers.LeakyReLU().negative_slope == pytest.approx(0.3)  # the book: "defaults to alpha=0.3"
    one = tf.constant([1.0, -1.0], tf.float64)
    np.testing.assert_allclose(keras.activations.leaky_relu(one), [1.0, -0.2])
    # keras.activations.gelu (the "gelu" string) is exact; keras.ops.gelu defaults to the tanh form.
    np.testing.assert_allclose(keras.activations.gelu(one), A.gelu([1.0, -1.0]), atol=1e-12)
    np.testing.assert_allclose(keras.ops.gelu(one), A.gelu([1.0, -1.0], approximate=True), atol=1e-12)
    assert keras.activations.get("swish") is keras.activations.get("silu")


def test_selu_constants_are_keras_constants() -> None:
    y = np.asarray(keras.activations.selu(tf.constant([1.0, -60.0], tf.float64)))
    assert y[0] == pytest.approx(A.SELU_SCALE, abs=1e-15)  # λ · 1
    assert -y[1] / A.SELU_SCALE == pytest.approx(A.SELU_ALPHA, abs=1e-14)  # λα(e^-60 − 1) ≈ −λα
    assert round(A.SELU_SCALE, 4) == 1.0507 and round(A.SELU_ALPHA, 4) == 1.6733


def test_selu_constants_from_klambauer_closed_form() -> None:
    # Klambauer et al. (2017), Eq. 14: the (α01, λ01) that make (mean 0, variance 1) a fixed point.
    s = math.erfc(1 / math.sqrt(2)) * math.sqrt(math.e)
    alpha = -math.sqrt(2 / math.pi) / (s - 1)
    lam = (1 - s) * math.sqrt(2 * math.pi) * (
        2 * math.erfc(math.sqrt(2)) * math.e**2 + math.pi * s**2 - 2 * (2 + math.pi) * s + math.pi + 2
    ) ** -0.5
    assert alpha == pytest.approx(A.SELU_ALPHA, rel=1e-14)
    assert lam == pytest.approx(A.SELU_SCALE, rel=1e-14)


def test_selu_keeps_standard_normal_standardized() -> None:
    z = np.linspace(-12, 12, 240_001)
    pdf = np.exp(-0.5 * z * z) / math.sqrt(2 * math.pi)
    y = A.selu(z)
    mean = np.trapezoid(y * pdf, z)
    var = np.trapezoid(y * y * pdf, z) - mean**2
    assert abs(mean) < 1e-8 and var == pytest.approx(1.0, abs=1e-8)
    # ... which ELU (α = 1) does not: its output mean is positive and its variance below 1.
    y = A.elu(z)
    assert np.trapezoid(y * pdf, z) > 0.1


def test_gelu_minimum_is_where_the_book_says() -> None:
    z = np.linspace(-3, 0, 30_001)
    y = A.gelu(z)
    i = int(np.argmin(y))
    assert y[i] == pytest.approx(-0.17, abs=0.001) and z[i] == pytest.approx(-0.75, abs=0.01)


def test_gelu_sigmoid_approximation_is_close() -> None:
    err = np.max(np.abs(A.gelu(GRID) - A.swish(GRID, beta=A.GELU_SIGMOID_BETA)))
    assert 0.01 < err < 0.03  # z σ(1.702 z) is close but not equal (max error ≈ 0.02)
    assert np.max(np.abs(A.gelu(GRID) - A.gelu(GRID, approximate=True))) < 1e-3


def test_scalars_and_shapes() -> None:
    assert A.relu(-2).shape == () and float(A.relu(3)) == 3.0
    assert A.gelu(1.0).shape == ()
    x = np.arange(-6, 6, dtype=np.int64).reshape(3, 4)
    for name, (f, df) in A.REFERENCE.items():
        assert f(x).shape == (3, 4) and f(x).dtype == np.float64, name
        assert df(x).shape == (3, 4), name


def test_no_overflow_for_large_inputs() -> None:
    z = np.array([-1000.0, -50.0, 0.0, 50.0, 1000.0])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        for name, (f, df) in A.REFERENCE.items():
            assert np.all(np.isfinite(f(z))) and np.all(np.isfinite(df(z))), name
    np.testing.assert_allclose(A.sigmoid(z), [0.0, math.exp(-50) / (1 + math.exp(-50)), 0.5, 1 / (1 + math.exp(-50)), 1.0])


# --- hypothesis: the laws ---------------------------------------------------------------------------


@given(finite)
def test_relu_is_max_with_zero(z: float) -> None:
    assert A.relu(z) == max(z, 0.0)


@given(finite, alphas)
def test_leaky_relu_is_max_of_alpha_z_and_z(z: float, alpha: float) -> None:
    assert A.leaky_relu(z, alpha) == max(alpha * z, z)


@given(finite, finite, alphas)
@settings(max_examples=200)
def test_relu_family_is_monotone(a: float, b: float, alpha: float) -> None:
    lo, hi = min(a, b), max(a, b)
    for f in (A.relu, lambda z: A.leaky_relu(z, alpha), lambda z: A.elu(z, alpha), A.selu, A.sigmoid, A.tanh):
        assert f(lo) <= f(hi)


@given(finite)
def test_sigmoid_derivative_law(z: float) -> None:
    s = A.sigmoid(z)
    d = A.sigmoid_derivative(z)
    assert d == pytest.approx(s * (1 - s), abs=1e-15)
    assert 0.0 <= d <= 0.25


@given(finite)
def test_tanh_is_a_rescaled_sigmoid(z: float) -> None:
    assert A.tanh(z) == pytest.approx(2 * A.sigmoid(2 * z) - 1, abs=1e-12)


@given(finite, st.floats(min_value=0.0, max_value=5.0))
def test_elu_is_bounded_below_and_selu_is_scaled_elu(z: float, alpha: float) -> None:
    assert A.elu(z, alpha) >= -alpha
    assert A.selu(z) == pytest.approx(A.SELU_SCALE * A.elu(z, A.SELU_ALPHA), rel=1e-15, abs=1e-300)


@given(finite, st.floats(min_value=0.1, max_value=5.0))
def test_gelu_and_swish_odd_part_is_identity(z: float, beta: float) -> None:
    # Φ(z) + Φ(−z) = 1 and σ(z) + σ(−z) = 1, so f(z) − f(−z) = z.
    assert A.gelu(z) - A.gelu(-z) == pytest.approx(z, abs=1e-9)
    assert A.swish(z, beta) - A.swish(-z, beta) == pytest.approx(z, abs=1e-9)


@given(st.floats(min_value=-8.0, max_value=8.0).filter(lambda z: abs(z) > 1e-3))
@settings(max_examples=100)
def test_derivatives_match_central_differences(z: float) -> None:
    h = 1e-6
    for name, (f, df) in A.REFERENCE.items():
        numeric = (f(z + h) - f(z - h)) / (2 * h)
        assert df(z) == pytest.approx(numeric, rel=1e-5, abs=1e-6), name


def test_softplus_matches_keras() -> None:
    y, g = _keras_value_and_grad(keras.activations.softplus, GRID)
    np.testing.assert_allclose(A.softplus(GRID), y, **TOL)
    np.testing.assert_allclose(A.sigmoid(GRID), g, **TOL)  # softplus' = σ
    assert A.softplus(1000.0) == 1000.0 and A.softplus(-1000.0) == 0.0


def test_inactive_fraction_equals_dead_fraction_for_relu() -> None:
    from tdnn.diagnostics import dead_unit_fraction, layer_outputs
    from tdnn.models import build_mlp

    model = build_mlp([20, 20], activation="relu", input_shape=(5,), seed=0)
    model.layers[0].bias.assign(np.linspace(-3.0, 0.5, 20))  # kill some units of the first layer
    x = np.random.default_rng(0).normal(size=(64, 5)).astype(np.float32)
    ours = [A.inactive_unit_fraction(a) for a in layer_outputs(model, x)[:-1]]
    np.testing.assert_allclose(ours, dead_unit_fraction(model, x).to_numpy())
    assert ours[0] > 0


def test_inactive_unit_fraction() -> None:
    outputs = np.array([[0.0, 1.0, -0.1, 0.0], [0.0, 0.0, -0.2, 2.0], [0.0, 0.5, -0.3, 0.0]])
    assert A.inactive_unit_fraction(outputs) == 0.5  # columns 0 (dead ReLU) and 2 (leaky, in a coma)
    assert A.inactive_unit_fraction(np.ones((2, 3, 4))) == 0.0


# --- bad inputs -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "call, exc, match",
    [
        (lambda: A.leaky_relu(1.0, alpha=-0.1), ValueError, "alpha"),
        (lambda: A.leaky_relu(1.0, alpha=1.5), ValueError, "alpha"),
        (lambda: A.leaky_relu_derivative(1.0, alpha=float("nan")), ValueError, "alpha"),
        (lambda: A.elu(1.0, alpha=-1.0), ValueError, "alpha"),
        (lambda: A.elu(1.0, alpha="1"), TypeError, "alpha"),
        (lambda: A.swish(1.0, beta=float("inf")), ValueError, "beta"),
        (lambda: A.gelu(1.0, approximate="yes"), TypeError, "approximate"),
        (lambda: A.relu("1.0"), TypeError, "z"),
        (lambda: A.sigmoid(np.array([True, False])), TypeError, "z"),
        (lambda: A.tanh(np.array([1 + 2j])), TypeError, "z"),
        (lambda: A.inactive_unit_fraction(np.zeros(5)), ValueError, "outputs"),
        (lambda: A.inactive_unit_fraction(np.zeros((0, 5))), ValueError, "outputs"),
        (lambda: A.inactive_unit_fraction(np.array([["a"]])), TypeError, "outputs"),
        (lambda: RReLU(lower=-0.1), ValueError, "lower"),
        (lambda: RReLU(upper=1.5), ValueError, "upper"),
        (lambda: RReLU(lower=0.3, upper=0.1), ValueError, "upper"),
        (lambda: RReLU(seed=-1), ValueError, "seed"),
    ],
)
def test_bad_arguments_are_named(call, exc, match) -> None:
    with pytest.raises(exc, match=match):
        call()


def test_lazy_rrelu_attribute() -> None:
    assert A.RReLU is RReLU
    with pytest.raises(AttributeError, match="no_such"):
        A.no_such  # noqa: B018


# --- RReLU layer ------------------------------------------------------------------------------------


X_NEG = -np.ones((64, 50), np.float32)


def test_rrelu_training_draws_slopes_in_range_that_vary() -> None:
    layer = RReLU(lower=0.1, upper=0.3, seed=1)
    slopes = -np.asarray(layer(X_NEG, training=True))
    assert slopes.min() >= 0.1 and slopes.max() <= 0.3
    assert slopes.std() > 0.04  # U(0.1, 0.3) has std 0.2/√12 ≈ 0.058: not a constant slope
    assert abs(slopes.mean() - 0.2) < 0.01
    again = -np.asarray(layer(X_NEG, training=True))
    assert not np.array_equal(slopes, again)  # new slopes at every call


def test_rrelu_inference_uses_exactly_the_mean_slope() -> None:
    layer = RReLU(lower=0.1, upper=0.3, seed=1)
    x = np.linspace(-5, 5, 101, dtype=np.float32)[None, :]
    expected = np.where(x >= 0, x, np.float32(0.2) * x)
    np.testing.assert_array_equal(np.asarray(layer(x)), expected)
    np.testing.assert_array_equal(np.asarray(layer(x, training=False)), expected)
    assert RReLU().mean_slope == pytest.approx((1 / 8 + 1 / 3) / 2)


def test_rrelu_positive_inputs_pass_through_in_training() -> None:
    x = np.linspace(0, 5, 51, dtype=np.float32)[None, :]
    np.testing.assert_array_equal(np.asarray(RReLU(seed=0)(x, training=True)), x)


def test_rrelu_seeded_layers_draw_the_same_slopes() -> None:
    a = np.asarray(RReLU(seed=7)(X_NEG, training=True))
    b = np.asarray(RReLU(seed=7)(X_NEG, training=True))
    np.testing.assert_array_equal(a, b)


def test_rrelu_serializes() -> None:
    layer = RReLU(lower=0.05, upper=0.25, seed=3, name="rrelu")
    clone = RReLU.from_config(layer.get_config())
    assert (clone.lower, clone.upper, clone.seed, clone.name) == (0.05, 0.25, 3, "rrelu")
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input(shape=(4,)), keras.layers.Dense(3), RReLU(lower=0.05, upper=0.25)])
    # Rebuilt from JSON, the class is found through its registered name "tdnn>RReLU".
    # (model.save() works too, but TF 2.21 + NumPy 2 emit a DeprecationWarning from Keras' own code.)
    loaded = keras.models.model_from_json(model.to_json())
    loaded.set_weights(model.get_weights())
    assert isinstance(loaded.layers[-1], RReLU) and loaded.layers[-1].upper == 0.25
    x = np.random.default_rng(0).normal(size=(8, 4)).astype(np.float32)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-6)


def test_rrelu_trains_in_a_model() -> None:
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input(shape=(4,)), keras.layers.Dense(8), RReLU(seed=0), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    x = np.random.default_rng(0).normal(size=(32, 4)).astype(np.float32)
    history = model.fit(x, x.sum(axis=1), epochs=3, verbose=0)
    assert np.all(np.isfinite(history.history["loss"]))
