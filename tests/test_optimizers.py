"""tdnn.optimizers: step-for-step agreement with Keras 3, the book's variants, laws, bad input."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from tdnn.optimizers import (
    OPTIMIZERS,
    SGD,
    AdaGrad,
    AdaMax,
    Adam,
    AdamW,
    Momentum,
    Nadam,
    Nesterov,
    RMSProp,
    keras_equivalent,
    keras_trajectory,
    minimize,
    nesterov_book_step,
    noisy_least_squares,
    numpy_trajectory,
    quadratic_bowl,
    rosenbrock,
)

STEPS = 25


@pytest.fixture(scope="module")
def keras():
    from tdnn._tf import import_tensorflow

    import_tensorflow()
    import keras

    return keras


def random_problem(seed, steps=STEPS):
    """Three parameter tensors of random shapes, with gradients of very different scales."""
    rng = np.random.default_rng(seed)
    shapes = [tuple(rng.integers(1, 6, size=rng.integers(1, 4))) for _ in range(3)]
    scales = [1.0, 1e-3, 30.0]
    thetas = [rng.standard_normal(s) for s in shapes]
    grads = [
        [rng.standard_normal(s) * c for s, c in zip(shapes, scales)] for _ in range(steps)
    ]
    return thetas, grads


def max_deviation(reference, other):
    """Largest |difference| over the trajectory, relative to each tensor's largest |value|."""
    return max(
        float(np.max(np.abs(r - o)) / np.max(np.abs(r))) for r, o in zip(reference, other)
    )


def as_float32(arrays_):
    return [np.asarray(a, dtype=np.float32).astype(np.float64) for a in arrays_]


# --------------------------------------------------------------------------------------------------
# step for step against Keras


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_matches_keras_float32_step_for_step(keras, name, seed):
    """Keras' default float32 variables, Keras' default hyperparameters, 25 steps: within 1e-5."""
    thetas, grads = random_problem(seed)
    thetas = as_float32(thetas)
    grads = [as_float32(g) for g in grads]
    make = lambda: OPTIMIZERS[name](learning_rate=0.01)  # noqa: E731
    reference = numpy_trajectory(make, thetas, grads)
    ours = keras_trajectory(keras_equivalent(make()), thetas, grads)
    assert all(r.shape == (STEPS + 1, *t.shape) for r, t in zip(reference, thetas))
    assert max_deviation(reference, ours) < 1e-5
    # and not trivially: the parameters really moved
    assert (
        max_deviation(reference, [np.broadcast_to(r[0], r.shape) for r in reference]) > 1e-3
    )


# hyperparameters that are exact in float32, so that Keras' float64 path computes the same numbers
EXACT = {
    "SGD": {},
    "Momentum": dict(momentum=0.875),
    "Nesterov": dict(momentum=0.875),
    "AdaGrad": dict(initial_accumulator_value=0.125, epsilon=2**-23),
    "RMSProp": dict(rho=0.875, epsilon=2**-23),
    "Adam": dict(beta_1=0.875, beta_2=1 - 2**-9, epsilon=2**-23),
    "AdaMax": dict(beta_1=0.875, beta_2=1 - 2**-9, epsilon=2**-23),
    "Nadam": dict(beta_1=0.875, beta_2=1 - 2**-9, epsilon=2**-23),
    "AdamW": dict(beta_1=0.875, beta_2=1 - 2**-9, epsilon=2**-23, weight_decay=2**-8),
}


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_same_formula_as_keras_in_float64(keras, name):
    """In float64 the agreement is to rounding error: the same formula, not just a close one.
    (Nadam keeps its momentum product in a float32 variable, hence its looser bound.)"""
    thetas, grads = random_problem(3, steps=30)
    make = lambda: OPTIMIZERS[name](learning_rate=2**-7, **EXACT[name])  # noqa: E731
    reference = numpy_trajectory(make, thetas, grads)
    ours = keras_trajectory(keras_equivalent(make()), thetas, grads, dtype="float64")
    assert max_deviation(reference, ours) < (1e-7 if name == "Nadam" else 1e-12)


def test_book_only_variants_have_no_keras_equivalent():
    with pytest.raises(ValueError, match="epsilon"):
        keras_equivalent(Adam(epsilon_inside=True))
    with pytest.raises(ValueError, match="momentum schedule"):
        keras_equivalent(Nadam(momentum_schedule="paper"))
    with pytest.raises(TypeError):
        keras_equivalent("adam")


# --------------------------------------------------------------------------------------------------
# the book's forms, and how far they are from Keras'


def _quadratic_grad(theta):
    return np.array([1.0, 25.0]) * theta  # ∇ of ½(θ1² + 25 θ2²)


def test_nesterov_keras_form_is_the_books_shifted_by_beta_m():
    lr, beta = 0.02, 0.9
    book_theta, m = np.array([-3.0, 1.0]), np.zeros(2)
    keras_theta = book_theta.copy()  # θ' = θ + β m, and m starts at 0
    opt = Nesterov(learning_rate=lr, momentum=beta)
    for _ in range(50):
        book_theta, m = nesterov_book_step(book_theta, m, _quadratic_grad, lr, beta)
        keras_theta = opt.step(keras_theta, _quadratic_grad(keras_theta))
        np.testing.assert_allclose(
            keras_theta, book_theta + beta * m, rtol=1e-12, atol=1e-14
        )
        np.testing.assert_allclose(opt.m, m, rtol=1e-12, atol=1e-14)


def test_adam_epsilon_inside_is_the_books_equation_and_close_to_keras():
    g = np.array([1e-3, 1.0, -2.0])
    book = Adam(learning_rate=0.1, epsilon_inside=True).step(np.zeros(3), g)
    # Eq. 11-9 by hand, first step: m̂ = g, ŝ = g²
    np.testing.assert_allclose(book, -0.1 * g / np.sqrt(g**2 + 1e-7), rtol=1e-15)
    keras_form = Adam(learning_rate=0.1).step(np.zeros(3), g)
    np.testing.assert_allclose(
        keras_form, -0.1 * g / (np.abs(g) + 1e-7 / np.sqrt(1e-3)), rtol=1e-12
    )
    assert not np.allclose(
        book, keras_form, rtol=1e-6, atol=0
    )  # they differ, mostly for small g


def test_nadam_schedules():
    keras_form, paper, constant = (
        Nadam(momentum_schedule=s) for s in ("keras", "paper", "constant")
    )
    assert keras_form.mu(1) == pytest.approx(0.9 * (1 - 0.5 * 0.96))
    assert paper.mu(250) == pytest.approx(0.9 * (1 - 0.5 * 0.96))
    assert constant.mu(1) == 0.9
    assert keras_form.mu(500) == pytest.approx(0.9, rel=1e-8)
    theta = np.ones(4)
    g = np.array([1.0, -1.0, 0.5, 2.0])
    assert not np.allclose(
        keras_form.step(theta, g), paper.step(theta, g), rtol=0, atol=1e-7
    )


# --------------------------------------------------------------------------------------------------
# laws


@settings(max_examples=100, deadline=None)
@given(
    lr=st.floats(1e-4, 1.0),
    beta=st.floats(0.0, 0.99),
    g=arrays(np.float64, 3, elements=st.floats(-100, 100)),
    t=st.integers(1, 60),
)
def test_momentum_with_a_constant_gradient_is_a_geometric_series(lr, beta, g, t):
    """m_t = −η g (1 − β^t) / (1 − β): the velocity tends to the terminal −η g / (1 − β)."""
    opt, theta = Momentum(learning_rate=lr, momentum=beta), np.zeros(3)
    for _ in range(t):
        theta = opt.step(theta, g)
    np.testing.assert_allclose(
        opt.m, -lr * g * (1 - beta**t) / (1 - beta), rtol=1e-9, atol=1e-12
    )


@settings(max_examples=100, deadline=None)
@given(
    cls=st.sampled_from([Adam, AdaMax, Nadam, RMSProp, AdaGrad]),
    g=arrays(np.float64, 4, elements=st.floats(-1e3, 1e3, allow_subnormal=False)),
    lr=st.floats(1e-4, 1.0),
)
def test_adaptive_first_steps_are_scale_free_and_bounded(cls, g, lr):
    """The adaptive methods divide by a gradient scale: the first step never exceeds a small
    multiple of η, whatever the size of the gradient (plain SGD's is η |g|)."""
    step = cls(learning_rate=lr).step(np.zeros(4), g)
    bound = {RMSProp: 1 / np.sqrt(0.1), AdaGrad: 1.0, Nadam: 2.0}.get(cls, 1.0)
    assert np.all(np.abs(step) <= bound * lr * (1 + 1e-12))
    assert np.all(np.sign(step) == -np.sign(g))


@pytest.mark.parametrize("name", [n for n in OPTIMIZERS if n != "AdamW"])
def test_zero_gradient_leaves_parameters_alone(name):
    theta = np.array([[1.0, -2.0], [3.0, 0.5]])
    opt = OPTIMIZERS[name]()
    for _ in range(5):
        theta2 = opt.step(theta, np.zeros_like(theta))
    np.testing.assert_array_equal(theta2, theta)


def test_adamw_decays_weights_at_zero_gradient():
    theta = np.array([1.0, -2.0])
    new = AdamW(learning_rate=0.1, weight_decay=0.5).step(theta, np.zeros(2))
    np.testing.assert_allclose(new, theta * (1 - 0.1 * 0.5))


def test_adagrad_effective_learning_rate_only_decreases():
    opt, theta = AdaGrad(learning_rate=0.5), np.array([1.0])
    rates = []
    for g in [1.0, 0.1, 0.01, 5.0, 0.0]:
        theta = opt.step(theta, [g])
        rates.append(0.5 / np.sqrt(opt.s[0] + opt.epsilon))
    assert all(b <= a for a, b in zip(rates, rates[1:]))


def test_step_returns_new_float64_array_and_counts():
    theta = np.array([1, 2, 3])  # ints are accepted and computed in float64
    opt = SGD(learning_rate=0.5)
    new = opt.step(theta, [1, 1, 1])
    assert new.dtype == np.float64 and opt.t == 1
    np.testing.assert_array_equal(new, [0.5, 1.5, 2.5])
    np.testing.assert_array_equal(theta, [1, 2, 3])  # input untouched


# --------------------------------------------------------------------------------------------------
# bad input


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: SGD(learning_rate=0), "learning_rate"),
        (lambda: SGD(learning_rate=-0.1), "learning_rate"),
        (lambda: Momentum(momentum=1.0), "momentum"),
        (lambda: Nesterov(momentum=-0.1), "momentum"),
        (lambda: RMSProp(rho=1.0), "rho"),
        (lambda: Adam(beta_1=1.0), "beta_1"),
        (lambda: AdaMax(beta_2=1.5), "beta_2"),
        (lambda: Adam(epsilon=-1e-7), "epsilon"),
        (lambda: AdaGrad(initial_accumulator_value=-1), "initial_accumulator_value"),
        (lambda: AdaGrad(initial_accumulator_value=0, epsilon=0), "cannot both be 0"),
        (lambda: AdamW(weight_decay=-0.1), "weight_decay"),
        (lambda: Nadam(momentum_schedule="dozat"), "momentum_schedule"),
        (lambda: SGD(0.1).step(np.zeros(3), np.zeros(2)), "shape"),
        (
            lambda: nesterov_book_step(np.zeros(2), np.zeros(2), _quadratic_grad, 0.1, 1.0),
            "momentum",
        ),
    ],
)
def test_bad_arguments_raise_value_error_naming_them(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_one_instance_per_tensor():
    opt = Adam()
    opt.step(np.zeros(3), np.ones(3))
    with pytest.raises(ValueError, match="one optimizer instance per parameter tensor"):
        opt.step(np.zeros(4), np.ones(4))


@pytest.mark.parametrize(
    "make",
    [
        lambda: SGD(learning_rate="0.1"),
        lambda: Adam(epsilon_inside=1),
        lambda: SGD(0.1).step("abc", [1.0]),
        lambda: SGD(0.1).step([1.0], None),
        lambda: SGD(0.1).step(np.zeros(2, dtype=complex), np.zeros(2)),
        lambda: nesterov_book_step(np.zeros(2), np.zeros(2), "grad", 0.1, 0.9),
        lambda: numpy_trajectory("SGD", [np.zeros(2)], []),
    ],
)
def test_bad_types_raise_type_error(make):
    with pytest.raises(TypeError):
        make()


# --------------------------------------------------------------------------------------------------
# test problems and the driver


def _finite_difference(f, theta, h=1e-6):
    return np.array(
        [(f(theta + h * e)[0] - f(theta - h * e)[0]) / (2 * h) for e in np.eye(len(theta))]
    )


@pytest.mark.parametrize(
    "problem, theta",
    [
        (quadratic_bowl((1.0, 25.0)), np.array([-4.0, 1.0])),
        (rosenbrock(), np.array([-1.5, 2.0])),
        (rosenbrock(a=2.0, b=10.0), np.array([0.3, -0.7])),
        (noisy_least_squares(n=50, d=4, seed=1)[1], np.array([0.1, -0.2, 0.3, 0.0])),
    ],
)
def test_problem_gradients_match_finite_differences(problem, theta):
    np.testing.assert_allclose(
        problem(theta)[1], _finite_difference(problem, theta), rtol=1e-5, atol=1e-6
    )


def test_problem_minima():
    assert quadratic_bowl((1.0, 25.0))(np.zeros(2)) == (0.0, pytest.approx(np.zeros(2)))
    loss, grad = rosenbrock()(np.ones(2))
    assert loss == 0.0 and np.all(grad == 0)


def test_noisy_least_squares_batches_cover_each_epoch_and_are_seeded():
    batch, full = noisy_least_squares(n=96, d=3, batch_size=32, seed=5)
    theta = np.array([0.5, -1.0, 2.0])
    full_loss = full(theta)[0]
    epoch_mean = np.mean(
        [batch(theta, step)[0] for step in range(3)]
    )  # 3 batches = 1 epoch
    assert epoch_mean == pytest.approx(full_loss, rel=1e-12)
    again, _ = noisy_least_squares(n=96, d=3, batch_size=32, seed=5)
    assert again(theta, 4)[0] == batch(theta, 4)[0]
    assert batch(theta, 4)[0] != batch(theta, 1)[0]  # a new permutation in the second epoch


def test_minimize_returns_path_and_losses_and_stops_at_divergence():
    path, losses = minimize(SGD(0.01), quadratic_bowl((1.0, 25.0)), [-4.0, 1.0], 50)
    assert path.shape == (51, 2) and losses.shape == (51,)
    assert losses[-1] < losses[0]
    path, losses = minimize(SGD(1.0), quadratic_bowl((1.0, 25.0)), [-4.0, 1.0], 1000)
    assert len(path) == len(losses) < 1001 and not np.isfinite(losses[-1])


@pytest.mark.parametrize(
    "make, error",
    [
        (lambda: quadratic_bowl((1.0, -1.0)), ValueError),
        (lambda: rosenbrock(b=0), ValueError),
        (lambda: noisy_least_squares(n=1), ValueError),
        (lambda: noisy_least_squares(condition=0.5), ValueError),
        (lambda: minimize(SGD(0.1), quadratic_bowl(), [0.0, 0.0], -1), ValueError),
        (lambda: minimize("sgd", quadratic_bowl(), [0.0, 0.0], 1), TypeError),
        (lambda: minimize(SGD(0.1), "f", [0.0, 0.0], 1), TypeError),
    ],
)
def test_problem_bad_input(make, error):
    with pytest.raises(error):
        make()
