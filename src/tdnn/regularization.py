"""Regularization (HOML 3rd ed., ch. 11, "Avoiding Overfitting Through Regularization").

NumPy reference math for the chapter's regularizers, tested against Keras, and the helpers the
notebook needs to measure them:

* ℓ1/ℓ2 penalties (:func:`l1_l2_penalty`), exactly what ``keras.regularizers.L1L2`` adds to the
  loss: ``l1 * Σ|w| + l2 * Σw²`` (no factor ½), and a from-scratch Adam with either an ℓ2 penalty
  in the gradient or decoupled weight decay (:func:`adam_trajectory`, Loshchilov & Hutter, 2019),
  which shows why ℓ2 regularization is not weight decay under Adam;
* dropout (Hinton et al., 2012; Srivastava et al., 2014): :func:`dropout_mask`,
  :func:`apply_dropout` (drop each unit with probability ``p`` in training and scale the kept ones
  by ``1/(1-p)``; identity at inference), and alpha dropout for SELU networks
  (:func:`alpha_dropout_params`, :func:`apply_alpha_dropout`; Klambauer et al., 2017);
* MC dropout (Gal & Ghahramani, 2016): :func:`mc_predict`, the :class:`MCDropout` layer, and the
  metrics that measure its benefit, :func:`log_loss`, :func:`expected_calibration_error`,
  :func:`reliability_curve`, :func:`mc_estimate_spread`;
* max-norm: :func:`unit_norms`, the norm of each unit's incoming weight vector;
* early stopping: :class:`WeightHistory`, a callback that keeps each epoch's weights, so that
  ``EarlyStopping(restore_best_weights=True)`` can be checked against the best epoch's weights.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from tdnn._tf import import_tensorflow
from tdnn._validate import check_float, check_int
from tdnn.activations import SELU_ALPHA, SELU_SCALE
from tdnn.optimizers import Adam, AdamW

import_tensorflow()
import keras  # noqa: E402

__all__ = [
    "SELU_ALPHA",
    "SELU_SCALE",
    "CleanTrainingMetrics",
    "MCDropout",
    "WeightHistory",
    "adam_trajectory",
    "alpha_dropout_params",
    "apply_alpha_dropout",
    "apply_dropout",
    "dropout_mask",
    "expected_calibration_error",
    "l1_l2_penalty",
    "log_loss",
    "mc_estimate_spread",
    "mc_predict",
    "reliability_curve",
    "unit_norms",
]


def _check_rate(rate: Any) -> float:
    return check_float("rate", rate, min_value=0.0, max_value=1.0, max_inclusive=False)


def _as_float64(name: str, x: Any) -> np.ndarray:
    try:
        arr = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(
            f"{name} must be an array of numbers, got {type(x).__name__}"
        ) from None
    return arr


# ---------------------------------------------------------------------------------------------
# ℓ1 and ℓ2


def l1_l2_penalty(weights: Any, l1: float = 0.0, l2: float = 0.0) -> float:
    """The ℓ1/ℓ2 penalty Keras adds to the loss, in float64: ``l1·Σ|w| + l2·Σw²``.

    ``keras.regularizers.l1(l1)``, ``l2(l2)`` and ``l1_l2(l1, l2)`` compute this per regularized
    weight tensor (``keras/src/regularizers/regularizers.py``, class ``L1L2``); the model's total
    penalty is the sum over its regularized tensors. Note there is no factor ½ on the ℓ2 term, so
    its gradient is ``2·l2·w``. ``weights`` is one array or a list of arrays.
    """
    l1 = check_float("l1", l1, min_value=0.0)
    l2 = check_float("l2", l2, min_value=0.0)
    if isinstance(weights, (list, tuple)):
        if not weights:
            raise ValueError("weights must hold at least one array")
        arrays = [_as_float64(f"weights[{i}]", w) for i, w in enumerate(weights)]
    else:
        arrays = [_as_float64("weights", weights)]
    total = 0.0
    for a in arrays:
        if not np.all(np.isfinite(a)):
            raise ValueError("weights must be finite")
        total += l1 * float(np.abs(a).sum()) + l2 * float(np.square(a).sum())
    return total


def adam_trajectory(
    data_grad: Callable[[np.ndarray], np.ndarray],
    w0: Any,
    steps: int,
    *,
    learning_rate: float = 1e-3,
    l2: float = 0.0,
    weight_decay: float = 0.0,
    beta_1: float = 0.9,
    beta_2: float = 0.999,
    epsilon: float = 1e-7,
) -> np.ndarray:
    """Weights after each of ``steps`` Adam steps, with an ℓ2 penalty or decoupled weight decay.

    With ``l2 > 0`` the penalty ``l2·Σw²`` is added to the loss, so its gradient ``2·l2·w`` enters
    Adam's moment estimates and is divided by ``√v̂`` like the data gradient ("Adam + ℓ2").
    With ``weight_decay > 0`` the weights are shrunk directly, ``w ← w − η·λ·w``, before the Adam
    step, as ``keras.optimizers.AdamW`` does (Loshchilov & Hutter, 2019, "Decoupled Weight Decay
    Regularization", Algorithm 2; Keras applies the decay with the learning rate ``η``).
    ``data_grad(w)`` returns the gradient of the data loss. Float64; returns an array of shape
    ``(steps + 1, *w0.shape)`` starting with ``w0``.
    """
    if not callable(data_grad):
        raise TypeError("data_grad must be a callable w -> gradient")
    w = _as_float64("w0", w0).copy()
    steps = check_int("steps", steps, min_value=1)
    learning_rate = check_float(
        "learning_rate", learning_rate, min_value=0.0, min_inclusive=False
    )
    l2 = check_float("l2", l2, min_value=0.0)
    weight_decay = check_float("weight_decay", weight_decay, min_value=0.0)
    optimizer: Adam = (
        AdamW(learning_rate, weight_decay, beta_1, beta_2, epsilon)
        if weight_decay
        else Adam(learning_rate, beta_1, beta_2, epsilon)
    )
    out = [w.copy()]
    for _ in range(steps):
        g = _as_float64("data_grad(w)", data_grad(w.copy()))
        if g.shape != w.shape:
            raise ValueError(
                f"data_grad(w) must have the shape of w0 {w.shape}, got {g.shape}"
            )
        w = optimizer.step(w, g + 2.0 * l2 * w)  # AdamW decays w itself before its Adam step
        out.append(w.copy())
    return np.stack(out)


# ---------------------------------------------------------------------------------------------
# Dropout and alpha dropout


def dropout_mask(
    shape: Sequence[int] | int, rate: float, seed: int | None = None
) -> np.ndarray:
    """A boolean *keep* mask: each entry is kept (True) with probability ``1 − rate``."""
    rate = _check_rate(rate)
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    shape = tuple(check_int(f"shape[{i}]", d, min_value=0) for i, d in enumerate(shape))
    rng = np.random.default_rng(seed)
    return rng.random(shape) >= rate


def _dropout_inputs(
    x: Any, rate: float, training: Any, mask: Any, seed: int | None
) -> tuple[np.ndarray, float, np.ndarray | None]:
    """Validated ``(x, rate, keep mask)``; the mask is ``None`` when dropout does nothing
    (inference, or ``rate == 0``), and then ``x`` is a copy to return as is."""
    x = _as_float64("x", x)
    rate = _check_rate(rate)
    if not isinstance(training, bool):
        raise TypeError(f"training must be a bool, got {type(training).__name__}")
    if not training or rate == 0.0:
        return x.copy(), rate, None
    if mask is None:
        mask = dropout_mask(x.shape, rate, seed)
    mask = np.asarray(mask)
    if mask.dtype != bool or mask.shape != x.shape:
        raise ValueError(f"mask must be a boolean array of shape {x.shape}")
    return x, rate, mask


def apply_dropout(
    x: Any,
    rate: float,
    *,
    training: bool = True,
    mask: np.ndarray | None = None,
    seed: int | None = None,
) -> np.ndarray:
    """Dropout as Keras applies it (inverted dropout): ``x·mask/(1 − rate)`` in training, ``x`` else.

    The book: during training each neuron (here each entry of ``x``) is dropped with probability
    ``p = rate`` and the kept ones are divided by the keep probability ``1 − p``, so that each
    input's expected value is unchanged; at inference dropout does nothing. ``mask`` (a boolean
    keep mask of ``x``'s shape) defaults to :func:`dropout_mask` drawn with ``seed``.
    """
    x, rate, mask = _dropout_inputs(x, rate, training, mask, seed)
    if mask is None:
        return x
    return np.where(mask, x / (1.0 - rate), 0.0)


def alpha_dropout_params(rate: float) -> tuple[float, float, float]:
    """Alpha dropout's constants ``(α', a, b)`` (Klambauer et al., 2017, Eq. 8-9).

    Dropped inputs are set to ``α' = −λα`` (SELU's negative saturation value) instead of 0, and the
    result is mapped by ``a·x + b`` with ``a = ((1 − p)(1 + p·α'²))^{−1/2}`` and ``b = −a·α'·p``,
    which keeps the mean 0 and variance 1 of standardized inputs.
    """
    rate = _check_rate(rate)
    alpha_p = -SELU_SCALE * SELU_ALPHA
    a = ((1 - rate) * (1 + rate * alpha_p**2)) ** -0.5
    b = -a * alpha_p * rate
    return alpha_p, a, b


def apply_alpha_dropout(
    x: Any,
    rate: float,
    *,
    training: bool = True,
    mask: np.ndarray | None = None,
    seed: int | None = None,
) -> np.ndarray:
    """Alpha dropout: ``a·(x·mask + α'·(1 − mask)) + b`` in training, ``x`` at inference."""
    x, rate, mask = _dropout_inputs(x, rate, training, mask, seed)
    if mask is None:
        return x
    alpha_p, a, b = alpha_dropout_params(rate)
    return a * np.where(mask, x, alpha_p) + b


# ---------------------------------------------------------------------------------------------
# MC dropout and the metrics that measure it


@keras.saving.register_keras_serializable(package="tdnn")
class MCDropout(keras.layers.Dropout):
    """Dropout that stays active at inference: Monte Carlo dropout as a layer (the book's
    ``class MCDropout(tf.keras.layers.Dropout)``, whose ``call`` always passes ``training=True``).

    Use it in place of ``Dropout`` when the model contains other layers that must stay in inference
    mode (e.g. Batch Normalization), which ``model(x, training=True)`` would switch to training.
    """

    def call(self, inputs: Any, training: Any = None) -> Any:
        return super().call(inputs, training=True)


def _check_x(x: Any) -> np.ndarray:
    x = np.asarray(x)
    if x.ndim < 1 or len(x) == 0:
        raise ValueError("x must be a non-empty batch of inputs")
    return x


def mc_predict(
    model: keras.Model,
    x: Any,
    n_samples: int = 100,
    *,
    batch_size: int | None = None,
    return_samples: bool = False,
) -> tuple[np.ndarray, np.ndarray] | tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Monte Carlo dropout: the mean and standard deviation of ``n_samples`` stochastic predictions.

    The book's ``np.stack([model(X_test, training=True) for sample in range(100)])``: each forward
    pass calls the model with ``training=True``, so every dropout layer draws a new mask, and the
    predicted probabilities are averaged over passes (Gal & Ghahramani, 2016). Returns
    ``(mean, std)``, each of shape ``(len(x), n_classes)``, and the stacked samples
    ``(n_samples, len(x), n_classes)`` too when ``return_samples=True``. ``training=True`` also puts
    Batch Normalization layers in training mode; use :class:`MCDropout` layers for such models.
    Reseed (``keras.utils.set_random_seed``) before the call for reproducible draws.
    """
    if not isinstance(model, keras.Model):
        raise TypeError(f"model must be a keras.Model, got {type(model).__name__}")
    x = _check_x(x)
    n_samples = check_int("n_samples", n_samples, min_value=1)
    if batch_size is not None:
        batch_size = check_int("batch_size", batch_size, min_value=1)
    step = len(x) if batch_size is None else batch_size
    samples = np.stack(
        [
            np.concatenate(
                [
                    keras.ops.convert_to_numpy(model(x[i : i + step], training=True))
                    for i in range(0, len(x), step)
                ]
            )
            for _ in range(n_samples)
        ]
    ).astype(np.float64)
    mean, std = samples.mean(axis=0), samples.std(axis=0)
    return (mean, std, samples) if return_samples else (mean, std)


def _check_probs(probs: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
    probs = _as_float64("probs", probs)
    if probs.ndim != 2 or probs.shape[0] == 0 or probs.shape[1] < 2:
        raise ValueError(
            f"probs must have shape (n_examples, n_classes >= 2), got {probs.shape}"
        )
    if np.any(probs < 0) or not np.all(np.isfinite(probs)):
        raise ValueError("probs must be finite and non-negative")
    if not np.allclose(probs.sum(axis=1), 1.0, atol=1e-3):
        raise ValueError("each row of probs must sum to 1")
    y = np.asarray(y)
    if y.shape != (probs.shape[0],) or not np.issubdtype(y.dtype, np.integer):
        raise ValueError(
            f"y must hold {probs.shape[0]} integer labels, got shape {y.shape}"
        )
    if y.min() < 0 or y.max() >= probs.shape[1]:
        raise ValueError(f"labels in y must lie in [0, {probs.shape[1] - 1}]")
    return probs, y


def log_loss(probs: Any, y: Any, *, eps: float = 1e-12) -> float:
    """Mean negative log-likelihood of the true labels, ``−mean(log p[y])`` (probabilities ≥ ``eps``)."""
    probs, y = _check_probs(probs, y)
    eps = check_float("eps", eps, min_value=0.0, min_inclusive=False, max_value=0.5)
    return float(-np.mean(np.log(np.clip(probs[np.arange(len(y)), y], eps, 1.0))))


def reliability_curve(probs: Any, y: Any, n_bins: int = 10) -> pd.DataFrame:
    """Confidence vs accuracy in ``n_bins`` equal-width confidence bins (a reliability diagram's data).

    The confidence of a prediction is its largest probability; bin ``b`` holds the predictions with
    confidence in ``((b−1)/n_bins, b/n_bins]``. Returns one row per non-empty bin: ``lower``,
    ``upper``, ``count``, mean ``confidence`` and ``accuracy`` (Guo et al., 2017).
    """
    probs, y = _check_probs(probs, y)
    n_bins = check_int("n_bins", n_bins, min_value=1)
    confidence = probs.max(axis=1)
    correct = probs.argmax(axis=1) == y
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    which = np.clip(np.searchsorted(edges, confidence, side="left") - 1, 0, n_bins - 1)
    rows = []
    for b in range(n_bins):
        in_bin = which == b
        if in_bin.any():
            rows.append(
                {
                    "lower": edges[b],
                    "upper": edges[b + 1],
                    "count": int(in_bin.sum()),
                    "confidence": float(confidence[in_bin].mean()),
                    "accuracy": float(correct[in_bin].mean()),
                }
            )
    return pd.DataFrame(rows)


def expected_calibration_error(probs: Any, y: Any, n_bins: int = 10) -> float:
    """ECE: the count-weighted mean gap ``|accuracy − confidence|`` over confidence bins.

    ``Σ_b (n_b / n)·|acc(b) − conf(b)|`` with the bins of :func:`reliability_curve` (Guo et al.,
    2017, "On Calibration of Modern Neural Networks"). 0 for a perfectly calibrated classifier.
    """
    table = reliability_curve(probs, y, n_bins)
    weights = table["count"] / table["count"].sum()
    return float((weights * (table["accuracy"] - table["confidence"]).abs()).sum())


def mc_estimate_spread(
    samples: Any, ns: Sequence[int], *, n_repeats: int = 20, seed: int | None = 0
) -> pd.DataFrame:
    """How many MC samples are enough: the spread of the MC estimate as a function of ``n``.

    ``samples`` are stacked stochastic predictions ``(T, n_examples, n_classes)`` (from
    :func:`mc_predict` with ``return_samples=True``). For each ``n`` in ``ns`` (≤ T), the mean of
    ``n`` samples drawn without replacement is formed ``n_repeats`` times; the result gives, per
    ``n``, the RMS over examples and classes of the standard deviation of those estimates
    (``prob_std``; it falls like ``1/√n`` up to the finite-population correction) and the mean
    fraction of examples whose predicted class differs from the one of the mean of all T samples
    (``class_flips``).
    """
    samples = _as_float64("samples", samples)
    if samples.ndim != 3 or min(samples.shape) == 0:
        raise ValueError(
            f"samples must have shape (T, n_examples, n_classes), got {samples.shape}"
        )
    n_repeats = check_int("n_repeats", n_repeats, min_value=2)
    if isinstance(ns, (int, str)) or not isinstance(ns, Sequence) or not ns:
        raise TypeError("ns must be a non-empty sequence of sample counts")
    total = samples.shape[0]
    ns = [check_int(f"ns[{i}]", n, min_value=1) for i, n in enumerate(ns)]
    if max(ns) > total:
        raise ValueError(
            f"every n in ns must be <= the number of samples ({total}), got {max(ns)}"
        )
    reference = samples.mean(axis=0).argmax(axis=1)
    rng = np.random.default_rng(seed)
    rows = []
    for n in ns:
        estimates = np.stack(
            [
                samples[rng.choice(total, n, replace=False)].mean(axis=0)
                for _ in range(n_repeats)
            ]
        )
        rows.append(
            {
                "n": n,
                "prob_std": float(np.sqrt(np.mean(estimates.var(axis=0, ddof=1)))),
                "class_flips": float(np.mean(estimates.argmax(axis=2) != reference)),
            }
        )
    return pd.DataFrame(rows).set_index("n")


# ---------------------------------------------------------------------------------------------
# Max-norm and early stopping


def unit_norms(kernel: Any, axis: int = 0) -> np.ndarray:
    """The ℓ2 norm of each unit's incoming weight vector, in float64.

    For a ``Dense`` kernel of shape ``(n_inputs, n_units)`` the incoming weights of unit ``j`` are
    the column ``kernel[:, j]``, so the norms are taken over ``axis=0``: the same axis that
    ``keras.constraints.MaxNorm(max_value, axis=0)`` (its default) constrains. For a ``Conv2D``
    kernel ``(h, w, in, out)`` pass ``axis=(0, 1, 2)``.
    """
    kernel = _as_float64("kernel", kernel)
    if kernel.ndim < 2:
        raise ValueError(
            f"kernel must have at least 2 dimensions, got shape {kernel.shape}"
        )
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    for a in axes:
        if not isinstance(a, int) or not -kernel.ndim <= a < kernel.ndim:
            raise ValueError(
                f"axis must be valid for a kernel of {kernel.ndim} dimensions, got {axis!r}"
            )
    return np.sqrt(np.square(kernel).sum(axis=axes))


class WeightHistory(keras.callbacks.Callback):
    """Keeps a copy of the model's weights at the end of every epoch (``weights[epoch]``, 1-based).

    Used to check that ``EarlyStopping(restore_best_weights=True)`` left the model with the weights
    of its best epoch. Meant for small models: it stores every epoch's weights in memory.
    """

    def __init__(self) -> None:
        super().__init__()
        self.weights: dict[int, list[np.ndarray]] = {}

    def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
        self.weights[epoch + 1] = [np.array(w) for w in self.model.get_weights()]

    def matches(self, model: keras.Model, epoch: int) -> bool:
        """True if ``model``'s weights are identical (bit for bit) to those stored after ``epoch``."""
        epoch = check_int("epoch", epoch, min_value=1)
        if epoch not in self.weights:
            raise ValueError(
                f"no weights stored for epoch {epoch}; stored: {sorted(self.weights)}"
            )
        current = model.get_weights()
        stored = self.weights[epoch]
        return len(current) == len(stored) and all(
            a.shape == b.shape and np.array_equal(a, b) for a, b in zip(current, stored)
        )


class CleanTrainingMetrics(keras.callbacks.Callback):
    """Adds the loss and accuracy on ``(x, y)`` *in inference mode* to the logs of every epoch.

    With dropout, the ``loss`` and ``accuracy`` that Keras reports during training are computed
    with dropout active (and averaged over the epoch while the weights change), so they overstate
    the training error; the book notes this when comparing training and validation curves. This
    callback runs the model on ``(x, y)`` after each epoch, dropout off, and logs
    ``<prefix>loss`` (the sparse categorical cross-entropy of the outputs, which must be
    probabilities, without regularization penalties) and ``<prefix>accuracy``. It calls the model
    directly, which is much cheaper than ``model.evaluate`` for small data; with
    ``prefix="val_"`` it can replace ``validation_data``. Put it after any timer so that its work
    is not billed to the epoch (``tdnn.training.fit`` does).
    """

    def __init__(
        self, x: Any, y: Any, *, prefix: str = "clean_", batch_size: int = 2048
    ) -> None:
        super().__init__()
        x = _check_x(x)
        y = np.asarray(y)
        if y.shape != (len(x),) or not np.issubdtype(y.dtype, np.integer):
            raise ValueError(
                f"y must hold {len(x)} integer labels (one per input), got shape {y.shape}"
            )
        if not isinstance(prefix, str) or not prefix:
            raise ValueError("prefix must be a non-empty string")
        self.x, self.y, self.prefix = x, y, prefix
        self.batch_size = check_int("batch_size", batch_size, min_value=1)

    def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
        probs = np.concatenate(
            [
                keras.ops.convert_to_numpy(
                    self.model(self.x[i : i + self.batch_size], training=False)
                )
                for i in range(0, len(self.x), self.batch_size)
            ]
        ).astype(np.float64)
        if logs is not None:
            picked = np.clip(probs[np.arange(len(self.y)), self.y], 1e-12, 1.0)
            logs[self.prefix + "loss"] = float(-np.mean(np.log(picked)))
            logs[self.prefix + "accuracy"] = float(np.mean(probs.argmax(axis=1) == self.y))
