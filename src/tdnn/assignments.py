"""Checks for the graded exercises (``notebooks/exercises/``): compare a student's answer with
``tdnn``'s reference and, when it is wrong, say what to look at, never what the answer is.

Each ``check_*`` function returns ``None`` when the answer is right and raises ``AssertionError``
with a hint otherwise, so that an otter-grader test case is one line::

    from tdnn.assignments import check_he_normal_std
    check_he_normal_std(he_normal_std)

The hints recognise the usual mistakes (the variance instead of the standard deviation, fan-out
instead of fan-in, the population variance in BN, forgetting ε, clipping a short gradient, sharing
model A's layers instead of copying them, dropout left on at inference, ...).

The NumPy checks import no TensorFlow; :func:`check_model_b_on_a` (Keras models) and
:func:`check_dropout` (whose reference lives in :mod:`tdnn.regularization`) import it when called.
Multiple-choice answers are checked with :func:`check_choice_format` (public: only the format) and
:func:`check_choice_answer` (hidden: right or wrong).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from tdnn.activations import SELU_ALPHA, SELU_SCALE, elu, selu, sigmoid, sigmoid_derivative
from tdnn.batchnorm import batch_norm_train
from tdnn.clipping import clip_by_norm
from tdnn.initializers import he_variance
from tdnn.optimizers import Adam
from tdnn.schedules import one_cycle_schedule

__all__ = [
    "check_adam_step",
    "check_backprop_sigmoid",
    "check_batch_norm_forward",
    "check_choice_answer",
    "check_choice_format",
    "check_clip_by_norm",
    "check_dropout",
    "check_he_normal_std",
    "check_model_b_on_a",
    "check_number",
    "check_one_cycle_lr",
    "check_selu",
]


def _require_callable(name: str, fn: Any) -> None:
    if not callable(fn):
        raise AssertionError(f"{name} must be a function; got {type(fn).__name__}. Define it with def.")


def _call(name: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    try:
        return fn(*args, **kwargs)
    except NotImplementedError:
        raise AssertionError(f"{name} is not implemented yet: replace the `...` with your code.") from None
    except Exception as exc:  # the student's code raised: say where, not how to fix it
        raise AssertionError(f"{name} raised {type(exc).__name__}: {exc}") from None


def _as_float(name: str, value: Any) -> float:
    if value is None or value is Ellipsis:
        raise AssertionError(f"{name} returned {value!r}: it must return a number.")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise AssertionError(f"{name} must return a number, got {type(value).__name__}.") from None


def _as_array(name: str, value: Any) -> np.ndarray:
    if value is None or value is Ellipsis:
        raise AssertionError(f"{name} returned {value!r}: it must return an array.")
    try:
        return np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise AssertionError(f"{name} must return an array of numbers, got {type(value).__name__}.") from None


def _normalize_choice(answer: Any) -> Any:
    if isinstance(answer, str):
        return answer.strip().lower()
    if isinstance(answer, Iterable):
        return frozenset(str(a).strip().lower() for a in answer)
    return answer


def check_choice_format(answer: Any, options: Iterable[str], *, multiple: bool = False) -> None:
    """Public check of a multiple-choice answer's *format*: one option letter (or a set of them).

    Says nothing about whether the answer is right.
    """
    options = [str(o).lower() for o in options]
    if not options:
        raise ValueError("options must not be empty")
    if answer is None or answer is Ellipsis:
        raise AssertionError("No answer yet: replace the `...` with your choice.")
    given = _normalize_choice(answer)
    if multiple:
        if isinstance(given, str):
            given = frozenset(given.replace(",", " ").split()) if given else frozenset()
        if not isinstance(given, frozenset) or not given:
            raise AssertionError(f"Answer with a set of letters, e.g. {{'{options[0]}', '{options[-1]}'}}.")
        bad = sorted(given - set(options))
        if bad:
            raise AssertionError(f"{bad} are not options; choose among {options}.")
        return
    if not isinstance(given, str) or given not in options:
        raise AssertionError(f"Answer with one letter among {options}, as a string such as '{options[0]}'.")


def check_choice_answer(answer: Any, correct: str | Iterable[str], hint: str) -> None:
    """Hidden check of a multiple-choice answer: right, or an ``AssertionError`` with ``hint``.

    ``correct`` is one letter, or an iterable of letters for a "select all that apply" question
    (then ``answer`` may be a set, a list, or a string such as ``"a, c"``).
    """
    if not isinstance(hint, str) or not hint.strip():
        raise ValueError("hint must be a non-empty string")
    if isinstance(correct, str):
        ok = _normalize_choice(answer) == correct.strip().lower()
    else:
        given = _normalize_choice(answer)
        if isinstance(given, str):
            given = frozenset(given.replace(",", " ").split())
        ok = given == frozenset(c.strip().lower() for c in correct)
    if not ok:
        raise AssertionError(f"Not quite. {hint.strip()}")


def check_number(answer: Any, expected: float, *, rel_tol: float = 1e-2, hint: str) -> None:
    """Hidden check of a numeric answer within a relative tolerance; the hint never gives the value."""
    if not isinstance(hint, str) or not hint.strip():
        raise ValueError("hint must be a non-empty string")
    if not rel_tol > 0:
        raise ValueError(f"rel_tol must be > 0, got {rel_tol!r}")
    if answer is None or answer is Ellipsis:
        raise AssertionError("No answer yet: replace the `...` with a number.")
    try:
        value = float(answer)
    except (TypeError, ValueError):
        raise AssertionError(f"Your answer must be a number, got {type(answer).__name__}.") from None
    if not math.isfinite(value) or not math.isclose(value, float(expected), rel_tol=rel_tol):
        raise AssertionError(f"Not quite. {hint.strip()}")


def check_backprop_sigmoid(backprop_sigmoid: Callable[..., Any]) -> None:
    """Check a student's ``backprop_sigmoid(delta_above, kernel_above, z)``: one step of
    backpropagation down through a sigmoid layer (chapter 1, "The Vanishing/Exploding Gradients
    Problems").

    Layer l+1 computes z⁽ˡ⁺¹⁾ = σ(z⁽ˡ⁾) W⁽ˡ⁺¹⁾ + b⁽ˡ⁺¹⁾ (Keras' kernel layout: one row per unit of
    layer l, one column per unit of layer l+1; one row of z per instance). The chain rule gives
    layer l's error signal δ⁽ˡ⁾ = ∂L/∂z⁽ˡ⁾ = (δ⁽ˡ⁺¹⁾ W⁽ˡ⁺¹⁾ᵀ) ⊙ σ′(z⁽ˡ⁾), with σ′ the reference
    :func:`tdnn.activations.sigmoid_derivative`. Iterated over wide layers, each step multiplies δ's
    root mean square by about the ``gain`` of :func:`tdnn.initializers.mean_field` (a unit test
    checks it), which is how the gradients vanish.
    """
    name = "backprop_sigmoid"
    _require_callable(name, backprop_sigmoid)
    rng = np.random.default_rng(1)
    # (batch, units of layer l, units of layer l+1): square first, so that a transposed kernel
    # gets its hint before it gets a shape error
    for batch, units, above in ((4, 3, 3), (5, 3, 4), (2, 6, 2)):
        delta = rng.normal(size=(batch, above))
        kernel = rng.normal(size=(units, above))
        z = rng.normal(0.0, 2.0, size=(batch, units))
        got = _as_array(name, _call(name, backprop_sigmoid, delta.copy(), kernel.copy(), z.copy()))
        back = delta @ kernel.T
        want = back * sigmoid_derivative(z)
        if got.shape == want.shape and np.allclose(got, want, rtol=1e-6, atol=1e-12):
            continue

        def same(variant: np.ndarray) -> bool:
            return got.shape == variant.shape and bool(np.allclose(got, variant, rtol=1e-6, atol=1e-12))

        if got.shape == (batch, above) and units != above:
            hint = (
                "it returned one value per unit of layer l+1; δ of layer l has one per unit of "
                "layer l (the shape of z)."
            )
        elif got.shape != want.shape:
            hint = f"it returned shape {got.shape}; δ of layer l has the shape of z, {z.shape}."
        elif units == above and same((delta @ kernel) * sigmoid_derivative(z)):
            hint = (
                "check the orientation of the kernel: its rows belong to layer l's units, its "
                "columns to layer l+1's."
            )
        elif same(back):
            hint = (
                "only the weights' factor is there: on its way down the signal also goes through "
                "each unit's activation function (chain rule)."
            )
        elif same(back * sigmoid(z)):
            hint = "that multiplies by σ(z), the activation itself; the chain rule needs its derivative."
        elif same(back * z * (1.0 - z)):
            hint = "the derivative's formula takes σ(z) as its input, not z."
        elif same(-want):
            hint = "the sign is flipped."
        else:
            hint = (
                "apply the chain rule: ∂L/∂z of layer l goes through σ at layer l, then through "
                "layer l+1's weights."
            )
        raise AssertionError(
            f"backprop_sigmoid with δ of shape {delta.shape}, a kernel of shape {kernel.shape} and z "
            f"of shape {z.shape}: {hint}"
        )


def check_he_normal_std(he_normal_std: Callable[[int], float]) -> None:
    """Check a student's ``he_normal_std(fan_in)``: the σ of He initialization (Table 11-1).

    The reference is :func:`tdnn.initializers.he_variance`; the book's normal distribution (not
    Keras' truncated one) is meant.
    """
    _require_callable("he_normal_std", he_normal_std)
    for fan_in in (1, 4, 100, 784, 1000):
        got = _as_float("he_normal_std", _call("he_normal_std", he_normal_std, fan_in))
        want = math.sqrt(he_variance(fan_in))
        if math.isclose(got, want, rel_tol=1e-6):
            continue
        if math.isclose(got, he_variance(fan_in), rel_tol=1e-6):
            hint = "that is the variance σ²; the function must return the standard deviation σ."
        elif math.isclose(got, math.sqrt(1.0 / fan_in), rel_tol=1e-6):
            hint = "that is LeCun's σ; He initialization is for ReLU, see Table 11-1."
        elif math.isclose(got, want / 0.87962566103423978, rel_tol=1e-6):
            hint = "that is Keras' truncated-normal parameter; the question asks for the weights' σ."
        else:
            hint = "compare with Table 11-1 (He initialization uses fan_in only)."
        raise AssertionError(f"he_normal_std({fan_in}) returned {got:.6g}: {hint}")


def check_selu(selu_fn: Callable[[Any], Any]) -> None:
    """Check a student's ``selu(z)`` (chapter 3, "ELU and SELU"; Klambauer et al., 2017):
    ``λ·z`` for z > 0 and ``λ·α·(exp(z) − 1)`` for z ≤ 0, with the exact constants
    :data:`tdnn.activations.SELU_ALPHA` and :data:`tdnn.activations.SELU_SCALE`.

    The reference is :func:`tdnn.activations.selu` (tested against Keras). The tolerance (relative
    1e-9) accepts ``exp(z) − 1`` as well as ``expm1`` but not rounded constants: self-normalization
    relies on them.
    """
    name = "selu"
    _require_callable(name, selu_fn)
    z = np.concatenate([np.linspace(-8.0, 8.0, 33), [-30.0, -1e-3, 1e-3, 30.0]])
    raw = _call(name, selu_fn, z.copy())
    got = _as_array(name, raw)
    want = selu(z)
    ok = got.shape == want.shape and np.allclose(got, want, rtol=1e-9, atol=1e-12)
    if not ok and any(t in str(getattr(raw, "dtype", "")) for t in ("float32", "float16")):
        raise AssertionError(
            f"selu returned {getattr(raw, 'dtype')} values, whose rounding hides whether the "
            "constants are exact: compute in float64 with NumPy."
        )
    if ok:
        grid = np.array([[-1.0, 0.0, 1.0], [2.0, -3.0, 0.5]])
        got2 = _as_array(name, _call(name, selu_fn, grid.copy()))
        if got2.shape != grid.shape:
            raise AssertionError(
                f"selu returned shape {got2.shape} for z of shape {grid.shape}: it must apply "
                "elementwise to an array of any shape."
            )
        if np.allclose(got2, selu(grid), rtol=1e-9, atol=1e-12):
            return
        raise AssertionError("selu is right on a 1-D array but not on a 2-D one: apply it elementwise.")
    if got.shape != want.shape:
        raise AssertionError(f"selu returned shape {got.shape} for z of shape {z.shape}: it applies elementwise.")
    a, lam = SELU_ALPHA, SELU_SCALE
    neg = np.minimum(z, 0.0)

    def same(variant: np.ndarray) -> bool:  # z = 0 left out: the branches' boundary
        return bool(np.allclose(got[z != 0], variant[z != 0], rtol=1e-6, atol=1e-9))

    # the constants the student's function implies: slope of the positive side, floor of the negative
    lam_s = float(got[z == 8.0][0]) / 8.0
    floor_s = -float(got[z == -30.0][0])
    if same(elu(z, a)):
        hint = "the positive side has slope 1, like ELU's: look at SELU's scale λ."
    elif same(np.where(z < 0, a * np.expm1(neg), lam * z)):
        hint = "the negative side is missing the scale λ."
    elif same(np.where(z < 0, lam * a * np.expm1(neg), z)):
        hint = "the positive side is missing the scale λ."
    elif same(a * elu(z, lam)):
        hint = "α and λ are swapped."
    elif same(np.where(z < 0, lam * a * np.exp(neg), lam * z)):
        hint = "your function jumps at z = 0: look at the negative branch again."
    elif (
        math.isclose(lam_s, lam, rel_tol=1e-2)
        and math.isclose(floor_s, lam * a, rel_tol=1e-2)
        and same(lam_s * elu(z, floor_s / lam_s))
    ):
        hint = (
            "the constants are rounded: self-normalization needs them to full precision "
            "(use SELU_ALPHA and SELU_SCALE)."
        )
    elif floor_s > 2 * lam * a:
        hint = "for very negative z SELU saturates (it tends to a constant); yours keeps falling."
    else:
        hint = "compare with SELU's definition (a scaled ELU, chapter 3) branch by branch."
    raise AssertionError(f"selu's output differs from SELU's: {hint}")


def check_batch_norm_forward(batch_norm_forward: Callable[..., Any]) -> None:
    """Check a student's ``batch_norm_forward(x, gamma, beta, epsilon)``: Batch Normalization
    (Eq. 11-4) in training mode.

    ``x`` has shape (batch, features); statistics are per feature over the batch, with the biased
    (population) variance, as in the paper and in Keras. The reference is
    :func:`tdnn.batchnorm.batch_norm_train`.
    """
    _require_callable("batch_norm_forward", batch_norm_forward)
    rng = np.random.default_rng(11)
    x = rng.normal(3.0, 2.0, size=(16, 5)) * np.array([1.0, 10.0, 0.1, 1.0, 5.0])
    gamma = rng.uniform(0.5, 2.0, size=5)
    beta = rng.normal(size=5)
    epsilon = 1e-3
    got = _call("batch_norm_forward", batch_norm_forward, x.copy(), gamma.copy(), beta.copy(), epsilon)
    try:
        got = np.asarray(got, dtype=np.float64)
    except (TypeError, ValueError):
        raise AssertionError("batch_norm_forward must return an array of numbers.") from None
    if got.shape != x.shape:
        raise AssertionError(
            f"batch_norm_forward returned shape {got.shape} for x of shape {x.shape}: the output "
            "has one value per input value."
        )
    want, mean, var = batch_norm_train(x, gamma, beta, epsilon=epsilon)
    if np.allclose(got, want, rtol=1e-6, atol=1e-9):
        return
    per_row = (x - x.mean(axis=1, keepdims=True)) / np.sqrt(x.var(axis=1, keepdims=True) + epsilon)
    unbiased = (x - mean) / np.sqrt(x.var(axis=0, ddof=1) + epsilon) * gamma + beta
    no_eps = (x - mean) / np.sqrt(var) * gamma + beta
    no_affine = (x - mean) / np.sqrt(var + epsilon)
    if np.allclose(got, gamma * per_row + beta):
        hint = "the statistics must be computed per feature over the batch (axis 0), not per instance."
    elif np.allclose(got, unbiased):
        hint = "Batch Normalization (Eq. 11-4) uses the biased variance (divide by m_B, not m_B − 1)."
    elif np.allclose(got, no_eps, rtol=1e-6):
        hint = "look at the denominator of step 3 again."
    elif np.allclose(got, no_affine):
        hint = "the normalized inputs still have to be rescaled and shifted (step 4)."
    else:
        hint = "follow the four steps of Batch Normalization (Eq. 11-4) one by one; print the shapes."
    raise AssertionError(f"batch_norm_forward's output differs from Eq. 11-4: {hint}")


def check_clip_by_norm(clip_by_norm_fn: Callable[[Any, float], Any]) -> None:
    """Check a student's ``clip_by_norm(g, c)``: rescale ``g`` to norm ``c`` only when it is longer.

    The reference is :func:`tdnn.clipping.clip_by_norm` (the book's [0.9, 100.0] example included).
    """
    _require_callable("clip_by_norm", clip_by_norm_fn)
    cases = [
        (np.array([0.9, 100.0]), 1.0),
        (np.array([0.3, -0.4]), 1.0),  # norm 0.5: unchanged
        (np.array([[3.0, 4.0], [0.0, 12.0]]), 2.5),
        (np.zeros(3), 1.0),
    ]
    for g, c in cases:
        got = _call("clip_by_norm", clip_by_norm_fn, g.copy(), c)
        try:
            got = np.asarray(got, dtype=np.float64)
        except (TypeError, ValueError):
            raise AssertionError("clip_by_norm must return an array of numbers.") from None
        want = clip_by_norm(g, c)
        if got.shape == g.shape and np.allclose(got, want, rtol=1e-6, atol=1e-12):
            continue
        norm = float(np.linalg.norm(g))
        if got.shape != g.shape:
            hint = f"it returned shape {got.shape} for a gradient of shape {g.shape}."
        elif not np.all(np.isfinite(got)):
            hint = "it returned NaN or inf; what happens when the gradient is all zeros?"
        elif norm <= c:
            hint = "a gradient shorter than the threshold must be left unchanged."
        elif np.allclose(got, np.clip(g, -c, c)):
            hint = "that is clipping by value; clipping by norm keeps the direction."
        else:
            hint = "the clipped gradient should point the same way, with norm equal to the threshold."
        raise AssertionError(f"clip_by_norm(g, {c}) with ‖g‖ = {norm:.3g}: {hint}")


def check_model_b_on_a(model_b_on_a: Callable[[Any], Any]) -> None:
    """Check a student's ``model_b_on_a(model_a)`` (chapter 6, "Reusing Pretrained Layers"): a new
    model for task B that reuses every layer of ``model_a`` but its output layer, with model A's
    weights, the reused layers frozen, and a new ``Dense(1, activation="sigmoid")`` output layer;
    ``model_a`` itself must stay untouched (same weights, same trainable flags, no shared
    variables: training the new model must not change it).

    The reference is :func:`tdnn.transfer.reuse_layers` with ``freeze=True``; the model A used is
    a small ``keras.Sequential`` (Flatten, two hidden Dense layers, a softmax output), so the check
    takes well under a second. Imports Keras when called.
    """
    from tdnn._tf import import_tensorflow

    import_tensorflow()
    import keras

    from tdnn.transfer import reuse_layers, shared_variables, trainable_flags

    name = "model_b_on_a"
    _require_callable(name, model_b_on_a)
    keras.utils.set_random_seed(6)
    dense = keras.layers.Dense
    model_a = keras.Sequential(
        [
            keras.Input(shape=(2, 3)),
            keras.layers.Flatten(name="flatten"),
            dense(5, activation="relu", name="hidden_1"),
            dense(4, activation="relu", name="hidden_2"),
            dense(3, activation="softmax", name="output_a"),
        ],
        name="model_a",
    )
    weights_a = [w.copy() for w in model_a.get_weights()]
    flags_a = trainable_flags(model_a)
    model_b = _call(name, model_b_on_a, model_a)
    if not isinstance(model_b, keras.Model):
        raise AssertionError(f"{name} must return a Keras model, got {type(model_b).__name__}.")
    if shared_variables(model_a, model_b):
        raise AssertionError(
            f"{name}'s model holds model_a's very layers (the same variables): training it would "
            "change model_a too. Reuse copies of the layers."
        )
    if trainable_flags(model_a) != flags_a:
        raise AssertionError(
            f"after {name}, model_a's layers are frozen: freeze the new model's layers and leave "
            "model_a untouched."
        )
    if any(not np.array_equal(a, b) for a, b in zip(weights_a, model_a.get_weights())):
        raise AssertionError(f"{name} changed model_a's weights: leave model_a untouched.")
    reference = reuse_layers(model_a, n_outputs=1, output_activation="sigmoid", freeze=True)
    last = model_b.layers[-1] if model_b.layers else None
    if not (
        isinstance(last, dense)
        and last.units == 1
        and getattr(last.activation, "__name__", "") == "sigmoid"
    ):
        if isinstance(last, dense) and last.units == model_a.layers[-1].units:
            hint = (
                "its last layer is still model A's output layer: task B needs a new output layer, "
                "as the question says."
            )
        else:
            hint = 'its last layer must be a new Dense(1, activation="sigmoid"), as the question says.'
        raise AssertionError(f"{name}'s model: {hint}")
    reused = [layer for layer in model_b.layers[:-1] if layer.weights]
    wanted = [layer for layer in reference.layers[:-1] if layer.weights]
    if len(reused) == len(wanted) + 1 and getattr(reused[-1], "units", None) == model_a.layers[-1].units:
        raise AssertionError(
            f"{name}'s model still holds model A's output layer below the new one: reuse every "
            "layer but model A's output layer."
        )
    if len(reused) != len(wanted):
        raise AssertionError(
            f"{name}'s model reuses {len(reused)} layer(s) with weights below its output layer; "
            f"model_a has {len(wanted)} hidden layers to reuse."
        )
    for mine, ref in zip(reused, wanted):
        mine_w, ref_w = mine.get_weights(), ref.get_weights()
        if len(mine_w) != len(ref_w) or any(
            a.shape != b.shape or not np.allclose(a, b, rtol=0, atol=0) for a, b in zip(mine_w, ref_w)
        ):
            raise AssertionError(
                f"{name}'s reused layer {mine.name!r} does not hold model_a's trained weights "
                "(cloning a model copies its architecture, not its weights)."
            )
    if any(layer.trainable for layer in reused):
        raise AssertionError(
            f"{name}'s reused layers are still trainable: in the first phase of transfer learning "
            "they are frozen, so that the new output layer's large early errors do not wreck them."
        )
    if not last.trainable:
        raise AssertionError(f"{name}'s new output layer is frozen too: it is the layer that must learn task B.")
    if len(model_b.trainable_weights) != len(reference.trainable_weights):
        raise AssertionError(
            f"{name}'s model trains {len(model_b.trainable_weights)} variables; only the new output "
            "layer's should be trained."
        )


def _adam_trajectory(step: Callable[..., Any], grads: np.ndarray, theta0: np.ndarray, **hp: float) -> list[np.ndarray]:
    theta, m, s = theta0.copy(), np.zeros_like(theta0), np.zeros_like(theta0)
    out = []
    for t, g in enumerate(grads, start=1):
        result = _call("adam_step", step, theta, g.copy(), m, s, t, **hp)
        if not (isinstance(result, tuple) and len(result) == 3):
            raise AssertionError("adam_step must return a tuple (theta, m, s).")
        theta, m, s = (np.asarray(r, dtype=np.float64) for r in result)
        out.append(theta)
    return out


def _adam_variant(
    theta0: np.ndarray, grads: np.ndarray, *, bias_correction: bool = True, square: bool = True, sign: float = -1.0
) -> list[np.ndarray]:
    """Common wrong versions of Adam, to recognise a mistake (lr 0.01, default betas, ε 1e-7)."""
    theta, m, s = theta0.copy(), np.zeros_like(theta0), np.zeros_like(theta0)
    out = []
    for t, g in enumerate(grads, start=1):
        m = 0.9 * m + 0.1 * g
        s = 0.999 * s + 0.001 * (g * g if square else g)
        m_hat, s_hat = (m / (1 - 0.9**t), s / (1 - 0.999**t)) if bias_correction else (m, s)
        with np.errstate(invalid="ignore"):
            theta = theta + sign * 0.01 * m_hat / (np.sqrt(s_hat) + 1e-7)
        out.append(theta)
    return out


def check_adam_step(adam_step: Callable[..., Any]) -> None:
    """Check a student's ``adam_step(theta, grad, m, s, t, learning_rate, beta_1, beta_2, epsilon)``.

    One Adam update (Eq. 11-9) with bias correction, ``t`` counting from 1; returns the new
    ``(theta, m, s)``. The reference is :class:`tdnn.optimizers.Adam` over several steps; where ε sits
    (inside or outside the square root, scaled or not by the bias correction) does not matter at
    the tolerance used, since ε only guards against a division by zero.
    """
    _require_callable("adam_step", adam_step)
    rng = np.random.default_rng(7)
    theta0 = rng.normal(size=(3, 2))
    # gradients bounded away from 0, so that where ε sits changes nothing at this tolerance
    grads = rng.choice([-1.0, 1.0], size=(6, 3, 2)) * rng.uniform(0.5, 2.0, size=(6, 3, 2))
    hp = dict(learning_rate=0.01, beta_1=0.9, beta_2=0.999, epsilon=1e-7)
    got = _adam_trajectory(adam_step, grads, theta0, **hp)
    reference = Adam(**hp)
    want, theta = [], theta0.copy()
    for g in grads:
        theta = reference.step(theta, g)
        want.append(theta)
    def same(variant: list[np.ndarray]) -> bool:
        return all(
            a.shape == b.shape and np.allclose(a, b, rtol=1e-5, atol=1e-6, equal_nan=True)
            for a, b in zip(got, variant)
        )

    if same(want):
        return
    if any(a.shape != b.shape for a, b in zip(got, want)):
        hint = f"it returned theta of shape {got[0].shape} for parameters of shape {theta0.shape}."
    elif same(_adam_variant(theta0, grads, sign=+1.0)):
        hint = "the parameters move uphill: check the sign of the update."
    elif same(_adam_variant(theta0, grads, bias_correction=False)):
        hint = "the first steps are off, the later ones less so: look at the bias corrections."
    elif same(_adam_variant(theta0, grads, square=False)):
        hint = "look at what the second moving average accumulates."
    elif not all(np.all(np.isfinite(a)) for a in got):
        hint = "it produced NaN or inf; which step number does the first update use?"
    else:
        hint = (
            "compare with Adam's Eq. 11-9 step by step: the two moving averages, their bias corrections "
            "(which use t), then the update."
        )
    raise AssertionError(f"adam_step's parameters differ from Adam's: {hint}")


def check_one_cycle_lr(one_cycle_lr: Callable[[int, int, float], float]) -> None:
    """Check a student's ``one_cycle_lr(t, total_steps, max_lr)`` against
    :func:`tdnn.schedules.one_cycle_schedule` with its default shape (the book's 1cycle):
    ``start_lr = max_lr / 10``, ``last_steps = total_steps // 10 + 1``, peak at
    ``h = (total_steps - last_steps) // 2``, back to ``start_lr`` at ``2h``, then down to
    ``start_lr / 1000`` at ``total_steps``.
    """
    _require_callable("one_cycle_lr", one_cycle_lr)
    for total_steps, max_lr in ((100, 0.1), (1000, 0.05), (37, 1.0)):
        reference = one_cycle_schedule(total_steps, max_lr)
        for t in range(total_steps + 1):
            got = _as_float("one_cycle_lr", _call("one_cycle_lr", one_cycle_lr, t, total_steps, max_lr))
            want = float(reference(t))
            if math.isclose(got, want, rel_tol=1e-6, abs_tol=1e-12):
                continue
            last_steps = total_steps // 10 + 1
            half = (total_steps - last_steps) // 2
            if t == 0:
                hint = "the schedule does not start at the right learning rate."
            elif t <= half:
                hint = "the warm-up phase (rising to max_lr) is off: where is the peak, and is the rise linear?"
            elif t <= 2 * half:
                hint = "the cool-down phase (back to the starting rate) is off."
            else:
                hint = "the final annihilation phase (the last steps) is off."
            raise AssertionError(
                f"one_cycle_lr(t={t}, total_steps={total_steps}, max_lr={max_lr}) returned {got:.6g}: {hint}"
            )


def check_dropout(dropout_fn: Callable[..., Any]) -> None:
    """Check a student's ``dropout(x, rate, keep, training)`` (chapter 9, "Dropout"): inverted
    dropout as Keras applies it. ``keep`` is a boolean mask of ``x``'s shape (True: the input is
    kept, which happens with probability ``1 − rate``); in training the dropped inputs become 0 and
    the kept ones are rescaled so that each input's expected value is unchanged; at inference
    (``training=False``) the input passes unchanged.

    The reference is :func:`tdnn.regularization.apply_dropout` (tested against Keras), imported
    when called (:mod:`tdnn.regularization` imports TensorFlow).
    """
    from tdnn.regularization import apply_dropout, dropout_mask

    name = "dropout"
    _require_callable(name, dropout_fn)
    rng = np.random.default_rng(9)
    for seed, rate in enumerate((0.2, 0.5, 0.75)):
        x = rng.normal(1.0, 1.0, size=(6, 8))
        keep = dropout_mask(x.shape, rate, seed=seed)
        for training in (True, False):
            x_in = x.copy()
            raw = _call(name, dropout_fn, x_in, rate, keep.copy(), training)
            got = _as_array(name, raw)
            where = f"dropout(x, rate={rate}, keep, training={training})"
            if not np.array_equal(x_in, x):
                raise AssertionError(f"{where} modified its input x: return a new array instead.")
            want = apply_dropout(x, rate, training=training, mask=keep)
            if got.shape == want.shape and np.allclose(got, want, rtol=1e-9, atol=1e-12):
                continue
            if got.shape != x.shape:
                raise AssertionError(f"{where} returned shape {got.shape} for x of shape {x.shape}.")
            if any(t in str(getattr(raw, "dtype", "")) for t in ("float32", "float16")):
                raise AssertionError(f"{where} returned {getattr(raw, 'dtype')} values: compute in float64 with NumPy.")

            def same(variant: np.ndarray) -> bool:
                return bool(np.allclose(got, variant, rtol=1e-9, atol=1e-12))

            if not training:
                if same(x * (1.0 - rate)):
                    hint = (
                        "that is the original paper's scaling at inference; Keras (and the book) "
                        "rescale during training instead: what must inference do then?"
                    )
                elif same(apply_dropout(x, rate, training=True, mask=keep)) or same(x * keep):
                    hint = "dropout is still on at inference (training=False)."
                else:
                    hint = "at inference (training=False) dropout is turned off."
            elif same(x * keep):
                hint = (
                    "the kept inputs are not rescaled: each input's expected value during training "
                    "then differs from its value at inference."
                )
            elif same(x * keep * (1.0 - rate)):
                hint = "the kept inputs shrink; they must make up for the dropped ones."
            elif same(x * keep / rate):
                hint = "the rescaling uses the drop probability; what fraction of the inputs is kept?"
            elif same(np.where(keep, 0.0, x / (1.0 - rate))) or same(np.where(keep, 0.0, x / rate)):
                hint = "the mask marks the inputs to keep (True), not those to drop."
            elif not np.array_equal(got == 0.0, ~keep):
                hint = "the zeros are not where the mask drops inputs: use the given mask keep."
            else:
                hint = (
                    "in training, drop the inputs the mask does not keep and rescale the others so "
                    "that each input's expected value is unchanged."
                )
            raise AssertionError(f"{where}: {hint}")
