"""tdnn.assignments: the checks behind the graded exercises accept right answers and explain wrong
ones with a hint that never gives the answer away."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tdnn.assignments import (
    check_adam_step,
    check_one_cycle_lr,
    check_batch_norm_forward,
    check_choice_answer,
    check_choice_format,
    check_clip_by_norm,
    check_he_normal_std,
    check_number,
)


def _hint(check, *args, **kwargs) -> str:
    with pytest.raises(AssertionError) as info:
        check(*args, **kwargs)
    return str(info.value)


# ---------------------------------------------------------------- multiple choice and numbers
def test_choice_format_accepts_a_letter_and_rejects_the_placeholder() -> None:
    check_choice_format("B ", "abcd")
    assert "No answer yet" in _hint(check_choice_format, ..., "abcd")
    assert "one letter" in _hint(check_choice_format, "e", "abcd")
    assert "one letter" in _hint(check_choice_format, 2, "abcd")


def test_choice_format_multiple() -> None:
    check_choice_format({"a", "C"}, "abcde", multiple=True)
    check_choice_format("a, c", "abcde", multiple=True)
    assert "not options" in _hint(check_choice_format, {"a", "z"}, "abcde", multiple=True)
    assert "set of letters" in _hint(check_choice_format, set(), "abcde", multiple=True)


def test_choice_format_needs_options() -> None:
    with pytest.raises(ValueError, match="options"):
        check_choice_format("a", "")


def test_choice_answer_single_and_multiple() -> None:
    check_choice_answer(" B", "b", hint="h")
    check_choice_answer(["c", "a"], {"a", "c"}, hint="h")
    check_choice_answer("a,c", {"a", "c"}, hint="h")
    message = _hint(check_choice_answer, "a", "b", hint="Think about symmetry.")
    assert message == "Not quite. Think about symmetry."
    assert "Not quite" in _hint(check_choice_answer, {"a"}, {"a", "c"}, hint="h")


def test_choice_answer_needs_a_hint() -> None:
    with pytest.raises(ValueError, match="hint"):
        check_choice_answer("a", "a", hint=" ")


def test_check_number() -> None:
    check_number(54.74, 54.7356, rel_tol=5e-3, hint="h")
    message = _hint(check_number, 45.0, 54.7356, rel_tol=5e-3, hint="Try three variables.")
    assert "54.7" not in message and "Try three variables." in message
    assert "must be a number" in _hint(check_number, "x", 1.0, hint="h")
    assert "No answer yet" in _hint(check_number, ..., 1.0, hint="h")
    assert "Not quite" in _hint(check_number, float("nan"), 1.0, hint="h")
    with pytest.raises(ValueError, match="rel_tol"):
        check_number(1.0, 1.0, rel_tol=0, hint="h")


# ---------------------------------------------------------------- He initialization
def test_he_normal_std_right_answer_passes() -> None:
    check_he_normal_std(lambda fan_in: np.sqrt(2 / fan_in))


@pytest.mark.parametrize(
    ("wrong", "expected"),
    [
        (lambda n: 2 / n, "variance"),
        (lambda n: np.sqrt(1 / n), "LeCun"),
        (lambda n: np.sqrt(2 / n) / 0.87962566103423978, "truncated"),
        (lambda n: np.sqrt(2 / (n + 10)), "Table 11-1"),
        (lambda n: None, "must return a number"),
    ],
)
def test_he_normal_std_hints(wrong, expected) -> None:
    message = _hint(check_he_normal_std, wrong)
    assert expected in message
    assert "sqrt(2" not in message and "2 / fan_in" not in message


def test_he_normal_std_stub_and_non_function() -> None:
    def stub(fan_in):
        raise NotImplementedError

    assert "not implemented" in _hint(check_he_normal_std, stub)
    assert "must be a function" in _hint(check_he_normal_std, 3.0)


# ---------------------------------------------------------------- batch norm
def _bn(x, gamma, beta, epsilon=1e-3, ddof=0, axis=0, eps_on=True, affine=True):
    mu = x.mean(axis=axis, keepdims=True)
    var = x.var(axis=axis, ddof=ddof, keepdims=True)
    x_hat = (x - mu) / np.sqrt(var + (epsilon if eps_on else 0.0))
    return gamma * x_hat + beta if affine else x_hat


def test_batch_norm_right_answer_passes() -> None:
    check_batch_norm_forward(_bn)


@pytest.mark.parametrize(
    ("wrong", "expected"),
    [
        (lambda x, g, b, e: _bn(x, g, b, e, axis=1), "per feature"),
        (lambda x, g, b, e: _bn(x, g, b, e, ddof=1), "biased variance"),
        (lambda x, g, b, e: _bn(x, g, b, e, eps_on=False), "denominator"),
        (lambda x, g, b, e: _bn(x, g, b, e, affine=False), "rescaled and shifted"),
        (lambda x, g, b, e: _bn(x, g, b, e)[:3], "shape"),
        (lambda x, g, b, e: x, "four steps"),
    ],
)
def test_batch_norm_hints(wrong, expected) -> None:
    assert expected in _hint(check_batch_norm_forward, wrong)


# ---------------------------------------------------------------- clipping
def test_clip_by_norm_right_answer_passes() -> None:
    check_clip_by_norm(lambda g, c: g * c / max(np.linalg.norm(g), c))


@pytest.mark.parametrize(
    ("wrong", "expected"),
    [
        (lambda g, c: g / np.linalg.norm(g) * min(np.linalg.norm(g), c), "NaN or inf"),
        (lambda g, c: np.clip(g, -c, c), "clipping by value"),
        (lambda g, c: g / max(np.linalg.norm(g), c), "same way"),
        (lambda g, c: g.reshape(-1, 1), "shape"),
    ],
)
def test_clip_by_norm_hints(wrong, expected) -> None:
    with np.errstate(all="ignore"):
        assert expected in _hint(check_clip_by_norm, wrong)


def test_clip_by_norm_hint_for_a_short_gradient() -> None:
    def always_rescale(g, c):
        n = np.linalg.norm(g)
        return g if n == 0 else g * c / n

    assert "left unchanged" in _hint(check_clip_by_norm, always_rescale)


# ---------------------------------------------------------------- Adam and 1cycle
def _adam(theta, grad, m, s, t, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
          bias_correction=True, square=True, sign=-1.0, t_offset=0):
    m = beta_1 * m + (1 - beta_1) * grad
    s = beta_2 * s + (1 - beta_2) * (grad * grad if square else grad)
    t = t - t_offset
    if bias_correction:
        m_hat, s_hat = m / (1 - beta_1**t), s / (1 - beta_2**t)
    else:
        m_hat, s_hat = m, s
    with np.errstate(all="ignore"):
        return theta + sign * learning_rate * m_hat / (np.sqrt(s_hat) + epsilon), m, s


def test_adam_step_right_answers_pass() -> None:
    check_adam_step(_adam)

    def book_epsilon_inside(theta, grad, m, s, t, learning_rate, beta_1, beta_2, epsilon):
        m = beta_1 * m + (1 - beta_1) * grad
        s = beta_2 * s + (1 - beta_2) * grad**2
        m_hat, s_hat = m / (1 - beta_1**t), s / (1 - beta_2**t)
        return theta - learning_rate * m_hat / np.sqrt(s_hat + epsilon), m, s

    check_adam_step(book_epsilon_inside)


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"sign": 1.0}, "uphill"),
        ({"bias_correction": False}, "bias corrections"),
        ({"square": False}, "second moving average"),
        ({"t_offset": 1}, "NaN or inf"),
        ({"beta_1": 0.5}, "Adam's Eq. 11-9"),
    ],
)
def test_adam_step_hints(kwargs, expected) -> None:
    def wrong(theta, grad, m, s, t, learning_rate, beta_1, beta_2, epsilon):
        hp = dict(learning_rate=learning_rate, beta_1=beta_1, beta_2=beta_2, epsilon=epsilon)
        hp.update({k: v for k, v in kwargs.items() if k in hp})
        rest = {k: v for k, v in kwargs.items() if k not in hp}
        return _adam(theta, grad, m, s, t, **hp, **rest)

    assert expected in _hint(check_adam_step, wrong)


def test_adam_step_must_return_a_triple() -> None:
    assert "tuple (theta, m, s)" in _hint(check_adam_step, lambda *a, **k: a[0])


def _one_cycle(t, total_steps, max_lr, peak_shift=0, end_lr=None):
    last_steps = total_steps // 10 + 1
    half = (total_steps - last_steps) // 2 + peak_shift
    start = max_lr / 10
    end = start / 1000 if end_lr is None else end_lr
    return float(np.interp(t, [0, half, 2 * half, total_steps], [start, max_lr, start, end]))


def test_one_cycle_right_answer_passes() -> None:
    check_one_cycle_lr(_one_cycle)


@pytest.mark.parametrize(
    ("wrong", "expected"),
    [
        (lambda t, n, lr: _one_cycle(t, n, lr, peak_shift=3), "warm-up"),
        (lambda t, n, lr: _one_cycle(t, n, lr, end_lr=0.0), "annihilation"),
        (lambda t, n, lr: _one_cycle(t, n, lr) * (2 if t == 0 else 1), "start"),
        (lambda t, n, lr: None, "must return a number"),
    ],
)
def test_one_cycle_hints(wrong, expected) -> None:
    assert expected in _hint(check_one_cycle_lr, wrong)


# ---------------------------------------------------------------- chapter 1: backprop through σ
from tdnn.activations import SELU_ALPHA, SELU_SCALE, sigmoid, sigmoid_derivative  # noqa: E402
from tdnn.assignments import check_backprop_sigmoid, check_dropout, check_selu  # noqa: E402
from tdnn.initializers import glorot_variance, mean_field  # noqa: E402


def _backprop(delta, kernel, z, transpose=True, derivative=True, of="z", sign=1.0):
    back = delta @ (kernel.T if transpose else kernel)
    if not derivative:
        return sign * back
    s = {"z": 1 / (1 + np.exp(-z)), "raw": z}[of]
    return sign * back * s * (1 - s)


def test_backprop_sigmoid_right_answer_passes() -> None:
    check_backprop_sigmoid(_backprop)
    check_backprop_sigmoid(lambda d, w, z: np.dot(d, w.T) * sigmoid_derivative(z))


@pytest.mark.parametrize(
    ("wrong", "expected"),
    [
        (lambda d, w, z: _backprop(d, w, z, transpose=False), "orientation of the kernel"),
        (lambda d, w, z: _backprop(d, w, z, derivative=False), "only the weights"),
        (lambda d, w, z: (d @ w.T) * sigmoid(z), "the activation itself"),
        (lambda d, w, z: _backprop(d, w, z, of="raw"), "takes σ(z) as its input"),
        (lambda d, w, z: _backprop(d, w, z, sign=-1.0), "sign"),
        (lambda d, w, z: np.zeros((1, 1)), "shape"),
        (lambda d, w, z: d * 0.25, "chain rule"),
        (lambda d, w, z: None, "must return an array"),
    ],
)
def test_backprop_sigmoid_hints(wrong, expected) -> None:
    message = _hint(check_backprop_sigmoid, wrong)
    assert expected in message
    assert ".T" not in message and "(1 − σ(z))" not in message


def test_backprop_sigmoid_shape_hint_for_the_layer_above() -> None:
    def right_only_for_square_kernels(d, w, z):
        return _backprop(d, w, z) if w.shape[0] == w.shape[1] else d  # else δ of the layer above

    assert "one value per unit of layer l+1" in _hint(check_backprop_sigmoid, right_only_for_square_kernels)


def test_backprop_step_shrinks_delta_by_mean_field_gain() -> None:
    """The law behind the question: one step of the reference recurrence, over a wide layer with
    Glorot weights, multiplies δ's RMS by mean_field's gain (chapter 1's prediction)."""
    rng = np.random.default_rng(0)
    fan, var_z = 1000, 4.0
    weight_var = glorot_variance(fan, fan)
    kernel = rng.normal(0.0, np.sqrt(weight_var), size=(fan, fan))
    delta = rng.normal(size=(256, fan))
    z = rng.normal(0.0, np.sqrt(var_z), size=(256, fan))
    measured = np.sqrt(np.mean(_backprop(delta, kernel, z) ** 2))  # δ above has RMS ≈ 1
    predicted = mean_field("sigmoid", weight_var, fan=fan, depth=1, first_variance=var_z)["gain"].iloc[0]
    # over seeds 0-4 the ratio measured/predicted stayed within 0.4 % of 1
    assert measured == pytest.approx(predicted, rel=0.02)
    assert predicted < 0.25


# ---------------------------------------------------------------- chapter 3: SELU
def _selu(z, alpha=SELU_ALPHA, scale=SELU_SCALE, scale_pos=True, scale_neg=True, minus_one=True):
    z = np.asarray(z, dtype=float)
    neg = alpha * (np.exp(np.minimum(z, 0)) - (1.0 if minus_one else 0.0))
    return np.where(z > 0, z * (scale if scale_pos else 1.0), neg * (scale if scale_neg else 1.0))


def test_selu_right_answers_pass() -> None:
    check_selu(_selu)
    check_selu(lambda z: 1.0507009873554805 * np.where(z > 0, z, 1.6732632423543772 * np.expm1(z)))


@pytest.mark.parametrize(
    ("wrong", "expected"),
    [
        (lambda z: _selu(z, scale=1.0), "slope 1"),
        (lambda z: _selu(z, scale_neg=False), "negative side is missing"),
        (lambda z: _selu(z, scale_pos=False), "positive side is missing"),
        (lambda z: _selu(z, alpha=SELU_SCALE, scale=SELU_ALPHA), "swapped"),
        (lambda z: _selu(z, minus_one=False), "jumps at z = 0"),
        (lambda z: _selu(z, alpha=1.6733, scale=1.0507), "rounded"),
        (lambda z: _selu(z, alpha=1.67, scale=1.05), "rounded"),
        (lambda z: SELU_SCALE * np.where(z > 0, z, SELU_ALPHA * z), "saturates"),
        (lambda z: np.tanh(z), "branch by branch"),
        (lambda z: _selu(z)[:-1], "shape"),
        (lambda z: _selu(np.ravel(z)), "any shape"),
        (lambda z: math.exp(z), "raised TypeError"),
        (lambda z: _selu(z).astype(np.float32), "float64"),
        (lambda z: None, "must return an array"),
    ],
)
def test_selu_hints(wrong, expected) -> None:
    with np.errstate(all="ignore"):
        message = _hint(check_selu, wrong)
    assert expected in message
    assert "1.67" not in message and "1.05" not in message and "exp(" not in message


# ---------------------------------------------------------------- chapter 9: dropout
def _dropout(x, rate, keep, training, *, scale="inverted", at_inference=None):
    if not training:
        return x * (1 - rate) if at_inference == "paper" else x.copy()
    factor = {"inverted": 1 / (1 - rate), "none": 1.0, "shrink": 1 - rate, "rate": 1 / rate}[scale]
    return np.where(keep, x * factor, 0.0)


def test_dropout_right_answers_pass() -> None:
    check_dropout(_dropout)
    check_dropout(lambda x, rate, keep, training: x * keep / (1 - rate) if training else x)


@pytest.mark.parametrize(
    ("wrong", "expected"),
    [
        (lambda x, r, k, t: _dropout(x, r, k, t, scale="none"), "not rescaled"),
        (lambda x, r, k, t: _dropout(x, r, k, t, scale="shrink"), "shrink"),
        (lambda x, r, k, t: _dropout(x, r, k, t, scale="rate"), "drop probability"),
        (lambda x, r, k, t: _dropout(x, r, ~k, t), "inputs to keep"),
        (lambda x, r, k, t: _dropout(x, r, np.random.default_rng(0).random(x.shape) >= r, t), "the given mask"),
        (lambda x, r, k, t: _dropout(x, r, k, t, at_inference="paper"), "original paper"),
        (lambda x, r, k, t: _dropout(x, r, k, True), "still on at inference"),
        (lambda x, r, k, t: _dropout(x, r, k, t) if t else 2 * x, "turned off"),
        (lambda x, r, k, t: _dropout(x, r, k, t)[:, :1], "shape"),
        (lambda x, r, k, t: np.where(k, x, 0.0) ** 2 if t else x, "rescale the others"),
        (lambda x, r, k, t: None, "must return an array"),
        (lambda x, r, k, t: _dropout(x, r, k, t).astype(np.float32), "float64"),
    ],
)
def test_dropout_hints(wrong, expected) -> None:
    message = _hint(check_dropout, wrong)
    assert expected in message
    assert "1 - rate" not in message and "1 − rate" not in message and "1/(1" not in message


def test_dropout_must_not_modify_x() -> None:
    def in_place(x, rate, keep, training):
        if training:
            x *= keep / (1 - rate)
        return x

    assert "modified its input x" in _hint(check_dropout, in_place)


def test_new_checks_reject_non_functions() -> None:
    for check in (check_backprop_sigmoid, check_selu, check_dropout):
        assert "must be a function" in _hint(check, 3.0)

    def stub(*args):
        raise NotImplementedError

    for check in (check_backprop_sigmoid, check_selu, check_dropout):
        assert "not implemented" in _hint(check, stub)


# ---------------------------------------------------------------- chapter 6: reusing model A
def _book_model_b_on_a(model_a, *, clone=True, copy_weights=True, drop_output=True, freeze=True,
                       freeze_output=False, n_reused=None, output=(1, "sigmoid"), freeze_original=False):
    """The book's recipe, with one step left out or done wrong on request."""
    import keras

    if freeze_original:
        for layer in model_a.layers[:-1]:
            layer.trainable = False
    source = model_a
    if clone:
        source = keras.models.clone_model(model_a)
        if copy_weights:
            source.set_weights(model_a.get_weights())
    layers = source.layers[:-1] if drop_output else source.layers
    if n_reused is not None:
        layers = layers[: n_reused + 1]  # Flatten + the first hidden layers
    model_b = keras.Sequential([keras.Input(shape=model_a.input_shape[1:]), *layers])
    if freeze:
        for layer in layers:
            layer.trainable = False
    model_b.add(keras.layers.Dense(output[0], activation=output[1]))
    if freeze_output:
        model_b.layers[-1].trainable = False
    return model_b


def test_model_b_on_a_right_answers_pass() -> None:
    from tdnn.assignments import check_model_b_on_a
    from tdnn.transfer import reuse_layers

    check_model_b_on_a(_book_model_b_on_a)
    check_model_b_on_a(lambda m: reuse_layers(m, n_outputs=1, output_activation="sigmoid", freeze=True))


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"clone": False}, "the same variables"),
        ({"freeze_original": True}, "model_a's layers are frozen"),
        ({"copy_weights": False}, "does not hold model_a's trained weights"),
        ({"drop_output": False}, "still holds model A's output layer"),
        ({"output": (2, "softmax")}, 'Dense(1, activation="sigmoid")'),
        ({"freeze": False}, "still trainable"),
        ({"freeze_output": True}, "new output layer is frozen"),
        ({"n_reused": 1}, "model_a has 2 hidden layers"),
    ],
)
def test_model_b_on_a_hints(kwargs, expected) -> None:
    from tdnn.assignments import check_model_b_on_a

    message = _hint(check_model_b_on_a, lambda m: _book_model_b_on_a(m, **kwargs))
    assert expected in message
    assert "clone_model" not in message and "set_weights" not in message


def test_model_b_on_a_must_return_a_model_and_leave_model_a_alone() -> None:
    from tdnn.assignments import check_model_b_on_a

    assert "must return a Keras model" in _hint(check_model_b_on_a, lambda m: None)

    def whole_clone(model_a):
        from tdnn.transfer import clone_with_weights

        return clone_with_weights(model_a)

    assert "still model A's output layer" in _hint(check_model_b_on_a, whole_clone)
    assert "must be a function" in _hint(check_model_b_on_a, "model")

    def spoils_a(model_a):
        model_b = _book_model_b_on_a(model_a)
        model_a.layers[1].kernel.assign(model_a.layers[1].kernel * 0.0)
        return model_b

    assert "changed model_a's weights" in _hint(check_model_b_on_a, spoils_a)
