"""Tests for tdnn.initializers: Table 11-1 and Eq. 11-1 against Keras' initializers."""

from __future__ import annotations

import inspect
import math
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tdnn import initializers as ti
from tdnn._tf import import_tensorflow

import_tensorflow()
import keras  # noqa: E402
from keras.src.initializers.random_initializers import compute_fans  # noqa: E402

fans = st.integers(min_value=1, max_value=100_000)
SHAPE = (800, 1200)  # fan_in 800, fan_out 1200, fan_avg 1000: the three modes differ
SEED = 42


def draw(initializer: keras.initializers.Initializer, shape: tuple[int, ...] = SHAPE) -> np.ndarray:
    return np.asarray(initializer(shape), dtype=np.float64)


# --- Table 11-1 and Eq. 11-1 -------------------------------------------------------------------


def test_table_11_1_variances_for_the_books_mlp_layer():
    # the first hidden layer of the book's Fashion-MNIST MLP: 784 inputs, 300 units
    assert ti.init_variance("glorot", 784, 300) == pytest.approx(1 / 542)
    assert ti.init_variance("he", 784, 300) == pytest.approx(2 / 784)
    assert ti.init_variance("lecun", 784, 300) == pytest.approx(1 / 784)
    assert ti.init_variance("Xavier", 784, 300) == ti.init_variance("glorot", 784, 300)
    assert ti.fan_avg(784, 300) == 542.0
    assert ti.glorot_variance(784, 300) == pytest.approx(1 / 542)
    assert ti.he_variance(784) == pytest.approx(2 / 784)
    assert ti.lecun_variance(784) == pytest.approx(1 / 784)


def test_init_std_and_limit_formulas():
    assert ti.init_std("he", 784, 300) == pytest.approx(math.sqrt(2 / 784))
    assert ti.init_std("he", 784, 300, "untruncated_normal") == pytest.approx(math.sqrt(2 / 784))
    assert ti.init_std("he", 784, 300, "uniform") == pytest.approx(math.sqrt(2 / 784))
    assert ti.init_std("he", 784, 300, "truncated_normal") == pytest.approx(
        math.sqrt(2 / 784) / 0.87962566103423978, rel=1e-12
    )
    assert ti.init_limit("glorot", 784, 300) == pytest.approx(math.sqrt(6 / (784 + 300)))
    assert ti.init_limit("he", 784, 300) == pytest.approx(math.sqrt(6 / 784))
    assert ti.init_limit("lecun", 784, 300) == pytest.approx(math.sqrt(3 / 784))


@given(fan_in=fans, fan_out=fans)
def test_table_laws(fan_in, fan_out):
    glorot = ti.init_variance("glorot", fan_in, fan_out)
    assert glorot == pytest.approx(ti.init_variance("glorot", fan_out, fan_in))  # symmetric in the fans
    assert min(1 / fan_in, 1 / fan_out) <= glorot * (1 + 1e-12)
    assert glorot <= max(1 / fan_in, 1 / fan_out) * (1 + 1e-12)
    assert ti.init_variance("he", fan_in, fan_out) == pytest.approx(2 * ti.init_variance("lecun", fan_in, 1))
    for name in ti.INITIALIZATIONS:
        variance = ti.init_variance(name, fan_in, fan_out)
        r = ti.init_limit(name, fan_in, fan_out)
        assert r**2 / 3 == pytest.approx(variance)  # U(-r, r) has variance r²/3
        assert ti.init_std(name, fan_in, fan_out, "uniform") == pytest.approx(math.sqrt(variance))


@given(scale=st.floats(0.01, 100), mode=st.sampled_from(ti.MODES), fan_in=fans, fan_out=fans)
def test_scaled_variance_is_linear_in_scale(scale, mode, fan_in, fan_out):
    assert ti.scaled_variance(scale, mode, fan_in, fan_out) == pytest.approx(
        scale * ti.scaled_variance(1.0, mode, fan_in, fan_out)
    )


def test_table_11_1_dataframe():
    table = ti.table_11_1()
    assert list(table.index) == ["Glorot", "He", "LeCun"]
    assert "tanh" in table.loc["Glorot", "activation functions"]
    assert "ReLU" in table.loc["He", "activation functions"]
    assert table.loc["LeCun", "activation functions"] == "SELU"
    assert table.loc["He", "σ² (normal)"] == "2 / fan_in"
    numbers = ti.table_11_1(784, 300)
    assert numbers.loc["He", "σ²"] == pytest.approx(2 / 784)
    assert numbers.loc["Glorot", "uniform limit r"] == pytest.approx(math.sqrt(6 / 1084))
    assert numbers.loc["LeCun", "Keras truncated stddev"] == pytest.approx(math.sqrt(1 / 784) / 0.8796256610342398)


# --- fans --------------------------------------------------------------------------------------


@given(shape=st.lists(st.integers(1, 50), min_size=1, max_size=4))
def test_fan_in_fan_out_matches_keras_compute_fans(shape):
    assert ti.fan_in_fan_out(tuple(shape)) == compute_fans(tuple(shape))


def test_fan_in_fan_out_of_a_dense_kernel_is_its_shape():
    layer = keras.layers.Dense(300)
    layer.build((None, 784))
    assert ti.fan_in_fan_out(layer.kernel.shape) == (784, 300)


# --- the truncated normal correction ------------------------------------------------------------


def keras_truncation_constant() -> float:
    """The constant in the installed Keras' VarianceScaling.__call__ (read from its source)."""
    source = inspect.getsource(keras.initializers.VarianceScaling.__call__)
    match = re.search(r"stddev = math\.sqrt\(scale\) / (\d*\.\d+)", source)
    assert match, "Keras' VarianceScaling no longer divides by a truncation constant: update the notebook"
    return float(match.group(1))


def test_truncation_factor_equals_keras_constant():
    assert keras_truncation_constant() == pytest.approx(0.87962566103423978, abs=1e-15)
    assert ti.truncated_normal_std_factor() == pytest.approx(keras_truncation_constant(), abs=1e-8)
    assert ti.truncated_normal_std_factor(2.0) == pytest.approx(0.87962566103423978, abs=1e-15)


@settings(max_examples=25)
@given(bound=st.floats(0.2, 6.0))
def test_truncation_factor_matches_numerical_integration(bound):
    x = np.linspace(-bound, bound, 20_001)
    density = np.exp(-(x**2) / 2)
    variance = np.trapezoid(x**2 * density, x) / np.trapezoid(density, x)
    assert ti.truncated_normal_std_factor(bound) == pytest.approx(math.sqrt(variance), rel=1e-6)


@given(a=st.floats(0.05, 8.0), b=st.floats(0.05, 8.0))
def test_truncation_factor_grows_with_the_bound_towards_one(a, b):
    lo, hi = sorted((a, b))
    assert 0 < ti.truncated_normal_std_factor(lo) <= ti.truncated_normal_std_factor(hi) <= 1
    # a narrow truncation is nearly uniform on [-b, b]: std ≈ b / √3
    assert ti.truncated_normal_std_factor(0.01) == pytest.approx(0.01 / math.sqrt(3), rel=1e-4)


def test_truncated_normal_without_the_correction_is_too_narrow():
    sigma = 0.05
    w = draw(keras.initializers.TruncatedNormal(stddev=sigma, seed=SEED))
    assert w.std() == pytest.approx(sigma * ti.truncated_normal_std_factor(), rel=5e-3)
    assert np.abs(w).max() <= 2 * sigma


# --- Keras' built-in initializers ---------------------------------------------------------------


@pytest.mark.parametrize("keras_name", sorted(ti.KERAS_INITIALIZERS))
def test_keras_initializer_std_and_range(keras_name):
    name, distribution = ti.KERAS_INITIALIZERS[keras_name]
    w = draw(keras.initializers.get({"class_name": keras_name, "config": {"seed": SEED}}))
    fan_in, fan_out = ti.fan_in_fan_out(SHAPE)
    sigma = math.sqrt(ti.init_variance(name, fan_in, fan_out))
    assert abs(w.mean()) < 0.01 * sigma
    # ~1M samples: the standard error of the empirical std is ~0.07 %
    assert w.std() == pytest.approx(sigma, rel=5e-3)
    biggest = np.abs(w).max()
    if distribution == "uniform":
        r = ti.init_limit(name, fan_in, fan_out)
        assert r * 0.999 < biggest <= r
    else:  # truncated at 2 × the pre-truncation stddev
        bound = 2 * ti.init_std(name, fan_in, fan_out, "truncated_normal")
        assert bound * 0.99 < biggest <= bound * (1 + 1e-6)
        assert bound == pytest.approx(2.2737 * sigma, rel=1e-4)


@pytest.mark.parametrize("keras_name", sorted(ti.KERAS_INITIALIZERS))
def test_keras_initializer_is_exactly_our_sampler(keras_name):
    name, distribution = ti.KERAS_INITIALIZERS[keras_name]
    fan_in, fan_out = ti.fan_in_fan_out(SHAPE)
    if distribution == "uniform":
        r = ti.init_limit(name, fan_in, fan_out)
        ours = keras.initializers.RandomUniform(-r, r, seed=SEED)
    else:
        ours = keras.initializers.TruncatedNormal(stddev=ti.init_std(name, fan_in, fan_out, distribution), seed=SEED)
    theirs = keras.initializers.get({"class_name": keras_name, "config": {"seed": SEED}})
    np.testing.assert_allclose(draw(ours), draw(theirs), rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("distribution", ["truncated_normal", "untruncated_normal", "uniform"])
@pytest.mark.parametrize("mode", ti.MODES)
@pytest.mark.parametrize("scale", [0.5, 2.0])
def test_variance_scaling_std(scale, mode, distribution):
    shape = (300, 500)
    w = draw(keras.initializers.VarianceScaling(scale, mode, distribution, seed=SEED), shape)
    variance = ti.scaled_variance(scale, mode, *ti.fan_in_fan_out(shape))
    assert w.std() == pytest.approx(math.sqrt(variance), rel=1.5e-2)  # 150k samples: SE ~0.2 %
    if distribution == "uniform":
        assert np.abs(w).max() <= ti.uniform_limit(variance)
    elif distribution == "truncated_normal":
        assert np.abs(w).max() <= 2 * ti.sampler_std(variance, distribution) * (1 + 1e-6)


def test_untruncated_normal_has_tails():
    variance = ti.scaled_variance(2.0, "fan_in", *ti.fan_in_fan_out(SHAPE))
    sigma = ti.sampler_std(variance, "untruncated_normal")
    w = draw(keras.initializers.VarianceScaling(2.0, "fan_in", "untruncated_normal", seed=SEED))
    np.testing.assert_allclose(
        w, draw(keras.initializers.RandomNormal(stddev=sigma, seed=SEED)), rtol=1e-6, atol=1e-9
    )
    assert w.std() == pytest.approx(sigma, rel=5e-3)
    # P(|Z| > 2) = 1 - erf(√2) ≈ 4.55 % for a normal; a 2σ-truncated one has none beyond 2.27 σ
    assert np.mean(np.abs(w) > 2 * sigma) == pytest.approx(1 - math.erf(math.sqrt(2)), rel=0.03)
    assert np.abs(w).max() > 4 * sigma


def test_keras_normal_distribution_means_truncated():
    assert keras.initializers.VarianceScaling(distribution="normal").distribution == "truncated_normal"


def test_books_he_avg_init_uniform_limit():
    # the book: he_avg_init = VarianceScaling(scale=2., mode="fan_avg", distribution="uniform")
    he_avg_init = keras.initializers.VarianceScaling(scale=2.0, mode="fan_avg", distribution="uniform", seed=SEED)
    dense = keras.layers.Dense(300, activation="sigmoid", kernel_initializer=he_avg_init)
    dense.build((None, 784))
    w = np.asarray(dense.kernel)
    r = ti.uniform_limit(ti.scaled_variance(2.0, "fan_avg", 784, 300))
    assert r == pytest.approx(math.sqrt(6 / 542))
    assert r * 0.999 < np.abs(w).max() <= r
    assert w.std() == pytest.approx(r / math.sqrt(3), rel=1e-2)


# --- the variance argument layer by layer (mean_field) -------------------------------------------


@settings(max_examples=30, deadline=None)
@given(st.floats(min_value=1e-3, max_value=1e3))
def test_gaussian_expectation_of_moments(variance):
    assert ti.gaussian_expectation(lambda z: np.ones_like(z), variance) == pytest.approx(1.0)
    assert ti.gaussian_expectation(lambda z: z, variance) == pytest.approx(0.0, abs=1e-9 * variance)
    assert ti.gaussian_expectation(lambda z: z**2, variance) == pytest.approx(variance, rel=1e-9)
    assert ti.gaussian_expectation(lambda z: z**4, variance) == pytest.approx(3 * variance**2, rel=1e-9)


def test_gaussian_expectation_matches_monte_carlo():
    from tdnn.activations import sigmoid_derivative

    z = np.random.default_rng(0).normal(0.0, math.sqrt(45.0), 2_000_000)
    expected = np.mean(sigmoid_derivative(z) ** 2)
    assert ti.gaussian_expectation(lambda v: sigmoid_derivative(v) ** 2, 45.0) == pytest.approx(expected, rel=1e-2)


@settings(max_examples=30, deadline=None)
@given(st.floats(min_value=0.2, max_value=5.0), st.integers(min_value=2, max_value=1000))
def test_mean_field_relu_multiplies_the_variance_by_half_the_forward_gain(scale, fan):
    # E[relu(z)^2] = Var[z] / 2 and E[relu'(z)^2] = 1/2 for z ~ N(0, v): He's argument
    frame = ti.mean_field("relu", scale / fan, fan=fan, depth=6, first_variance=1.0)
    assert np.allclose(frame["Var[z]"], (scale / 2) ** np.arange(6), rtol=1e-6)
    assert np.allclose(frame["gain"], math.sqrt(scale / 2), rtol=1e-6)


def test_mean_field_he_keeps_relu_variance_and_gain_at_one():
    frame = ti.mean_field("relu", ti.he_variance(100), fan=100, depth=50, first_variance=0.4)
    assert np.allclose(frame["Var[z]"], 0.4, rtol=1e-6)
    assert np.allclose(frame["gain"], 1.0, rtol=1e-6)


def test_mean_field_small_sigmoid_inputs_give_the_slope_one_quarter():
    # σ(z) ≈ 1/2 + z/4 near 0: the per-layer gain is √(fan σ²) / 4, hence "4 times larger weights"
    frame = ti.mean_field("sigmoid", 1e-8, fan=100, depth=1, first_variance=1e-8)
    assert frame["gain"].iloc[0] == pytest.approx(math.sqrt(100 * 1e-8) / 4, rel=1e-6)
    frame = ti.mean_field("tanh", 1e-8, fan=100, depth=1, first_variance=1e-8)
    assert frame["gain"].iloc[0] == pytest.approx(math.sqrt(100 * 1e-8), rel=1e-6)


def test_mean_field_sigmoid_with_standard_normal_weights_saturates_but_keeps_the_gain_near_one():
    frame = ti.mean_field("sigmoid", 1.0, fan=100, depth=30, first_variance=150.0)
    assert frame["Var[z]"].iloc[1:].between(30, 60).all()
    assert frame["gain"].iloc[1:].between(0.9, 1.1).all()
    glorot = ti.mean_field("sigmoid", 0.01, fan=100, depth=30, first_variance=0.35)
    assert glorot["gain"].iloc[1:].between(0.22, 0.25).all()


def test_mean_field_bad_arguments_are_named():
    with pytest.raises(ValueError, match="activation"):
        ti.mean_field("sigmoidd", 0.01)
    with pytest.raises(ValueError, match="weight_variance"):
        ti.mean_field("sigmoid", 0.0)
    with pytest.raises(ValueError, match="fan"):
        ti.mean_field("sigmoid", 0.01, fan=0)
    with pytest.raises(ValueError, match="depth"):
        ti.mean_field("sigmoid", 0.01, depth=0)
    with pytest.raises(ValueError, match="first_variance"):
        ti.mean_field("sigmoid", 0.01, first_variance=-1.0)
    with pytest.raises(TypeError, match="f must be"):
        ti.gaussian_expectation(3.0, 1.0)
    with pytest.raises(ValueError, match="variance"):
        ti.gaussian_expectation(np.sin, -1.0)
    with pytest.raises(ValueError, match="one value per input"):
        ti.gaussian_expectation(lambda z: 1.0, 1.0)


# --- bad inputs ---------------------------------------------------------------------------------


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="name"):
        ti.init_variance("kaiming", 10, 10)
    with pytest.raises(TypeError, match="name"):
        ti.init_std(2, 10, 10)
    with pytest.raises(ValueError, match="fan_in"):
        ti.init_variance("he", 0, 10)
    with pytest.raises(ValueError, match="fan_out"):
        ti.init_limit("glorot", 10, -1)
    with pytest.raises(TypeError, match="fan_in"):
        ti.init_std("he", 10.0, 10)
    with pytest.raises(ValueError, match="distribution"):
        ti.init_std("he", 10, 10, "gaussian")
    with pytest.raises(ValueError, match="mode"):
        ti.scaled_variance(1.0, "fan_sum", 10, 10)
    with pytest.raises(ValueError, match="scale"):
        ti.scaled_variance(0.0, "fan_in", 10, 10)
    with pytest.raises(ValueError, match="variance"):
        ti.uniform_limit(-1.0)
    with pytest.raises(ValueError, match="variance"):
        ti.sampler_std(0.0)
    with pytest.raises(ValueError, match="bound"):
        ti.truncated_normal_std_factor(0.0)
    with pytest.raises(ValueError, match="shape"):
        ti.fan_in_fan_out(())
    with pytest.raises(ValueError, match=r"shape\[1\]"):
        ti.fan_in_fan_out((3, 0))
    with pytest.raises(TypeError, match="shape"):
        ti.fan_in_fan_out("784x300")
    with pytest.raises(ValueError, match="fan_in and fan_out"):
        ti.table_11_1(784)
