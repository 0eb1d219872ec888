"""tdnn.assignments: the checks behind the graded exercises accept right answers and explain wrong
ones with a hint that never gives the answer away."""

from __future__ import annotations

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
