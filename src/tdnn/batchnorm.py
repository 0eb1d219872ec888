"""Batch Normalization (Ioffe & Szegedy, 2015; HOML ch. 11, "Batch Normalization", Eq. 11-4) in NumPy.

Equation 11-4, for a mini-batch :math:`B` of :math:`m_B` examples, feature by feature:

1. :math:`\\mu_B = \\frac{1}{m_B}\\sum_i x^{(i)}`
2. :math:`\\sigma_B^2 = \\frac{1}{m_B}\\sum_i (x^{(i)} - \\mu_B)^2` (the *biased*, population variance)
3. :math:`\\hat{x}^{(i)} = (x^{(i)} - \\mu_B) / \\sqrt{\\sigma_B^2 + \\varepsilon}`
4. :math:`z^{(i)} = \\gamma \\otimes \\hat{x}^{(i)} + \\beta`

At inference time the batch statistics are replaced by moving averages updated at every training
step: :math:`\\hat{v} \\leftarrow \\hat{v} \\times \\text{momentum} + v \\times (1 - \\text{momentum})`.

Checked against the installed Keras 3 source (``keras/src/layers/normalization/batch_normalization.py``):
the layer computes the batch moments with ``ops.moments`` (``tf.nn.moments`` on the TensorFlow
backend), which returns the biased variance (divide by :math:`m_B`), and feeds that *same* biased
variance into the moving variance. (PyTorch, by contrast, uses the unbiased variance for its running
variance.) This module matches Keras: the tests compare it with ``keras.layers.BatchNormalization``.

The NumPy part imports no TensorFlow. :func:`fold_batchnorm`, :func:`bn_variables` and
:func:`predict_latency` work on Keras models and import Keras inside the function.
"""

from __future__ import annotations

import numbers
import statistics
import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from tdnn._validate import check_choice, check_float, check_int

Axis = int | Sequence[int]

__all__ = [
    "BatchNormReference",
    "batch_moments",
    "batch_norm",
    "batch_norm_train",
    "bn_variables",
    "compare_latency",
    "fold_batchnorm",
    "moving_average",
    "moving_average_path",
    "predict_latency",
]


# ----------------------------------------------------------------------------------------------
# argument checks
# ----------------------------------------------------------------------------------------------
def _check_x(name: str, x: Any) -> np.ndarray:
    if isinstance(x, (str, bytes)):
        raise TypeError(f"{name} must be a numeric array, got {type(x).__name__}")
    x = np.asarray(x)
    if not (np.issubdtype(x.dtype, np.floating) or np.issubdtype(x.dtype, np.integer)) or x.dtype == bool:
        raise TypeError(f"{name} must be a numeric array, got dtype {x.dtype}")
    if x.ndim < 2:
        raise ValueError(f"{name} must have a batch axis and at least one feature axis, got shape {x.shape}")
    if x.shape[0] == 0:
        raise ValueError(f"{name} must hold at least one example, got shape {x.shape}")
    x = x.astype(np.float64)  # the reference computes in float64
    if not np.all(np.isfinite(x)):
        raise ValueError(f"{name} must be finite (no NaN or inf)")
    return x


def _normalize_axis(axis: Any, ndim: int) -> tuple[int, ...]:
    """The feature axes as sorted non-negative ints; the batch axis 0 may not be one of them."""
    if isinstance(axis, (bool, np.bool_)):
        raise TypeError(f"axis must be an int or a sequence of ints, got {axis!r}")
    if isinstance(axis, numbers.Integral):
        axes = [int(axis)]
    elif isinstance(axis, Sequence) and not isinstance(axis, (str, bytes)) and len(axis) > 0:
        axes = [check_int(f"axis[{i}]", a) for i, a in enumerate(axis)]
    else:
        raise TypeError(f"axis must be an int or a non-empty sequence of ints, got {axis!r}")
    out = []
    for a in axes:
        if not -ndim <= a < ndim:
            raise ValueError(f"axis {a} is out of range for inputs with {ndim} dimensions")
        a = a % ndim
        if a == 0:
            raise ValueError("axis must not include 0, the batch axis: BN averages over the batch")
        out.append(a)
    if len(set(out)) != len(out):
        raise ValueError(f"axis must not repeat an axis, got {axis!r}")
    return tuple(sorted(out))


def _param_shape(x: np.ndarray, axes: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(x.shape[a] for a in axes)


def _broadcast(param: np.ndarray, x: np.ndarray, axes: tuple[int, ...]) -> np.ndarray:
    """Reshape a parameter of shape ``x.shape[axes]`` so that it broadcasts against ``x``."""
    shape = [1] * x.ndim
    for a in axes:
        shape[a] = x.shape[a]
    return np.reshape(param, shape)


def _check_param(name: str, value: Any, shape: tuple[int, ...]) -> np.ndarray:
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return np.full(shape, float(value))
    arr = np.asarray(value, dtype=np.float64)
    if arr.shape != shape:
        raise ValueError(f"{name} must have shape {shape} (the feature axes of x), got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite")
    return arr


def _check_momentum(momentum: Any) -> float:
    return check_float("momentum", momentum, min_value=0.0, max_value=1.0)


def _check_epsilon(epsilon: Any) -> float:
    return check_float("epsilon", epsilon, min_value=0.0)


# ----------------------------------------------------------------------------------------------
# pure functions
# ----------------------------------------------------------------------------------------------
def batch_moments(x: Any, *, axis: Axis = -1) -> tuple[np.ndarray, np.ndarray]:
    """Steps 1-2 of Eq. 11-4: the batch mean :math:`\\mu_B` and *biased* variance :math:`\\sigma_B^2`.

    Statistics are computed over every axis except the feature ``axis`` (an int, as in Keras, or a
    sequence of ints such as ``(1, 2)``: one statistic per pixel of 28×28 images). Returns two
    arrays of shape ``x.shape[axis]``.
    """
    x = _check_x("x", x)
    axes = _normalize_axis(axis, x.ndim)
    reduce = tuple(a for a in range(x.ndim) if a not in axes)
    mean = x.mean(axis=reduce)
    variance = ((x - x.mean(axis=reduce, keepdims=True)) ** 2).mean(axis=reduce)
    return mean, variance


def batch_norm(
    x: Any,
    mean: Any,
    variance: Any,
    gamma: Any = 1.0,
    beta: Any = 0.0,
    *,
    axis: Axis = -1,
    epsilon: float = 1e-3,
) -> np.ndarray:
    """Steps 3-4 of Eq. 11-4 with given statistics: :math:`z = \\gamma \\otimes (x - \\mu)/\\sqrt{\\sigma^2 + \\varepsilon} + \\beta`.

    With the batch statistics this is training mode; with the moving averages, inference mode.
    ``mean``, ``variance``, ``gamma`` and ``beta`` have shape ``x.shape[axis]`` (scalars broadcast).
    ``epsilon`` defaults to Keras' 1e-3 (the paper and the book's text use a tiny ε such as 1e-5).
    """
    x = _check_x("x", x)
    axes = _normalize_axis(axis, x.ndim)
    shape = _param_shape(x, axes)
    epsilon = _check_epsilon(epsilon)
    mean = _check_param("mean", mean, shape)
    variance = _check_param("variance", variance, shape)
    if np.any(variance < 0):
        raise ValueError("variance must be >= 0")
    if epsilon == 0 and np.any(variance == 0):
        raise ValueError("epsilon must be > 0 when a feature has zero variance (division by zero)")
    gamma = _check_param("gamma", gamma, shape)
    beta = _check_param("beta", beta, shape)
    x_hat = (x - _broadcast(mean, x, axes)) / np.sqrt(_broadcast(variance, x, axes) + epsilon)
    return _broadcast(gamma, x, axes) * x_hat + _broadcast(beta, x, axes)


def batch_norm_train(
    x: Any, gamma: Any = 1.0, beta: Any = 0.0, *, axis: Axis = -1, epsilon: float = 1e-3
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Eq. 11-4 in training mode: normalize with the batch's own statistics.

    Returns ``(z, mu_B, sigma2_B)`` so that the caller can update the moving averages.
    """
    mean, variance = batch_moments(x, axis=axis)
    z = batch_norm(x, mean, variance, gamma, beta, axis=axis, epsilon=epsilon)
    return z, mean, variance


def moving_average(moving: Any, value: Any, momentum: float = 0.99) -> np.ndarray:
    """One update of a BN moving statistic: :math:`\\hat{v} \\leftarrow \\hat{v}\\,\\text{momentum} + v\\,(1 - \\text{momentum})`."""
    momentum = _check_momentum(momentum)
    moving = np.asarray(moving, dtype=np.float64)
    value = np.asarray(value, dtype=np.float64)
    try:
        np.broadcast_shapes(moving.shape, value.shape)
    except ValueError:
        raise ValueError(f"moving and value must have compatible shapes, got {moving.shape} and {value.shape}") from None
    return moving * momentum + value * (1.0 - momentum)


def moving_average_path(values: Any, momentum: float = 0.99, initial: Any = 0.0) -> np.ndarray:
    """The moving average after each of the steps ``values[0], values[1], ...`` (Keras' BN update).

    ``values`` has one row per training step (e.g. the batch means ``mu_B``); the result has the same
    shape: row ``t`` is the moving average after ``t + 1`` updates, starting from ``initial`` (Keras
    starts the moving mean at 0 and the moving variance at 1). For a constant value :math:`v` the
    moving average after :math:`N` steps is :math:`v + (\\hat{v}_0 - v)\\,\\text{momentum}^N`: it covers
    95 % of the way in :math:`\\ln 0.05 / \\ln(\\text{momentum})` steps (29 for 0.9, 299 for 0.99).
    """
    momentum = _check_momentum(momentum)
    values = np.asarray(values, dtype=np.float64)
    if values.ndim == 0 or values.shape[0] == 0:
        raise ValueError("values must hold at least one step (first axis = steps)")
    current = np.broadcast_to(np.asarray(initial, dtype=np.float64), values.shape[1:]).copy()
    out = np.empty_like(values)
    for t, v in enumerate(values):
        current = current * momentum + v * (1.0 - momentum)
        out[t] = current
    return out


# ----------------------------------------------------------------------------------------------
# a small stateful layer
# ----------------------------------------------------------------------------------------------
class BatchNormReference:
    """A NumPy Batch Normalization layer that behaves like ``keras.layers.BatchNormalization``.

    ``bn(x, training=True)`` normalizes with the batch statistics (Eq. 11-4) and updates
    ``moving_mean``/``moving_variance`` with the *biased* batch variance, as Keras does;
    ``bn(x, training=False)`` (the default, as in Keras) uses the moving averages and changes nothing.
    The parameters are created on the first call, with Keras' initial values (γ=1, β=0, moving mean
    0, moving variance 1), unless given. ``axis`` may also be a sequence such as ``(1, 2)``, which
    Keras 3 no longer accepts (it casts ``axis`` to ``int``).

    ``gamma`` and ``beta`` are trained by backpropagation in a real network; here they are plain
    arrays you can set.
    """

    def __init__(
        self,
        *,
        axis: Axis = -1,
        momentum: float = 0.99,
        epsilon: float = 1e-3,
        gamma: Any = None,
        beta: Any = None,
        moving_mean: Any = None,
        moving_variance: Any = None,
    ) -> None:
        if not isinstance(axis, numbers.Integral) or isinstance(axis, bool):
            if isinstance(axis, Sequence) and not isinstance(axis, (str, bytes)) and len(axis) > 0:
                axis = tuple(check_int(f"axis[{i}]", a) for i, a in enumerate(axis))
            else:
                raise TypeError(f"axis must be an int or a non-empty sequence of ints, got {axis!r}")
        self.axis = axis
        self.momentum = _check_momentum(momentum)
        self.epsilon = _check_epsilon(epsilon)
        self._init = {"gamma": gamma, "beta": beta, "moving_mean": moving_mean, "moving_variance": moving_variance}
        self.gamma: np.ndarray | None = None
        self.beta: np.ndarray | None = None
        self.moving_mean: np.ndarray | None = None
        self.moving_variance: np.ndarray | None = None
        self.steps = 0

    @classmethod
    def from_keras(cls, layer: Any) -> BatchNormReference:
        """A reference layer with the hyperparameters and current variables of a built Keras BN layer."""
        needed = ("axis", "momentum", "epsilon", "moving_mean", "moving_variance", "gamma", "beta")
        if not all(hasattr(layer, a) for a in needed) or getattr(layer, "moving_mean", None) is None:
            raise TypeError("layer must be a built keras.layers.BatchNormalization")
        if getattr(layer, "renorm", False):
            raise ValueError("layer uses batch renormalization (renorm=True), which this reference does not model")

        def value(v: Any) -> Any:
            return None if v is None else _to_numpy(v)

        return cls(
            axis=int(layer.axis),
            momentum=float(layer.momentum),
            epsilon=float(layer.epsilon),
            gamma=1.0 if layer.gamma is None else value(layer.gamma),
            beta=0.0 if layer.beta is None else value(layer.beta),
            moving_mean=value(layer.moving_mean),
            moving_variance=value(layer.moving_variance),
        )

    @property
    def built(self) -> bool:
        """True once the parameters exist (after the first call)."""
        return self.gamma is not None

    def build(self, x: np.ndarray) -> None:
        """Create γ, β and the moving statistics for inputs shaped like ``x``."""
        axes = _normalize_axis(self.axis, x.ndim)
        shape = _param_shape(x, axes)
        defaults = {"gamma": 1.0, "beta": 0.0, "moving_mean": 0.0, "moving_variance": 1.0}
        for name, default in defaults.items():
            given = self._init[name]
            setattr(self, name, _check_param(name, default if given is None else given, shape).copy())
        if np.any(self.moving_variance < 0):
            raise ValueError("moving_variance must be >= 0")
        self._shape = shape
        self._ndim = x.ndim

    def __call__(self, x: Any, training: bool = False) -> np.ndarray:
        """Normalize ``x``: batch statistics and a moving-average update if ``training``, else moving stats."""
        if not isinstance(training, (bool, np.bool_)):
            raise TypeError(f"training must be True or False, got {training!r}")
        x = _check_x("x", x)
        if not self.built:
            self.build(x)
        axes = _normalize_axis(self.axis, x.ndim)
        if x.ndim != self._ndim or _param_shape(x, axes) != self._shape:
            raise ValueError(f"x has feature shape {_param_shape(x, axes)}, but this layer was built for {self._shape}")
        if training:
            z, mean, variance = batch_norm_train(x, self.gamma, self.beta, axis=axes, epsilon=self.epsilon)
            self.moving_mean = moving_average(self.moving_mean, mean, self.momentum)
            self.moving_variance = moving_average(self.moving_variance, variance, self.momentum)
            self.steps += 1
            return z
        return batch_norm(
            x, self.moving_mean, self.moving_variance, self.gamma, self.beta, axis=axes, epsilon=self.epsilon
        )

    def __repr__(self) -> str:
        shape = getattr(self, "_shape", None)
        return (
            f"BatchNormReference(axis={self.axis!r}, momentum={self.momentum}, epsilon={self.epsilon}, "
            f"features={shape}, steps={self.steps})"
        )


# ----------------------------------------------------------------------------------------------
# Keras helpers (Keras is imported inside the functions)
# ----------------------------------------------------------------------------------------------
def _to_numpy(v: Any) -> np.ndarray:
    """A Keras variable or tensor (or array) as a float64 NumPy array."""
    return np.asarray(v.numpy() if hasattr(v, "numpy") else v, dtype=np.float64)


def _keras() -> Any:
    from tdnn._tf import import_tensorflow

    import_tensorflow()
    import keras

    return keras


def bn_variables(layer: Any) -> Any:
    """The variables of a built ``BatchNormalization`` layer as a table (HOML: "the BN layer's variables").

    One row per variable (``gamma``, ``beta``, ``moving_mean``, ``moving_variance``) with its shape,
    number of values, whether it is trainable, and how it is updated (backpropagation, or the moving
    average during training). Layer names are left out: they depend on global counters.
    """
    keras = _keras()
    import pandas as pd

    if not isinstance(layer, keras.layers.BatchNormalization):
        raise TypeError(f"layer must be a keras.layers.BatchNormalization, got {type(layer).__name__}")
    if not layer.built:
        raise ValueError("layer must be built (add it to a model with keras.Input, or call it once)")
    rows = []
    for w in layer.weights:
        rows.append(
            {
                "variable": w.name,
                "shape": tuple(int(d) for d in w.shape),
                "values": int(np.prod(w.shape)),
                "trainable": bool(w.trainable),
                "updated by": "backpropagation" if w.trainable else "moving average (training mode)",
            }
        )
    return pd.DataFrame(rows).set_index("variable")


def _is_linear(keras: Any, dense: Any) -> bool:
    return dense.activation in (keras.activations.linear, None)


def _bn_affine(keras: Any, bn: Any, units: int) -> tuple[np.ndarray, np.ndarray]:
    """Inference-mode BN as ``x * scale + shift`` (float64)."""
    if int(bn.axis) not in (-1, len(bn.input.shape) - 1):
        raise ValueError(
            f"cannot fold a BatchNormalization with axis={bn.axis}: only BN over the last axis (features) "
            "can be folded into a Dense layer"
        )
    if getattr(bn, "renorm", False):
        raise ValueError("cannot fold a BatchNormalization with renorm=True")
    gamma = np.ones(units) if bn.gamma is None else _to_numpy(bn.gamma)
    beta = np.zeros(units) if bn.beta is None else _to_numpy(bn.beta)
    mean = _to_numpy(bn.moving_mean)
    var = _to_numpy(bn.moving_variance)
    scale = gamma / np.sqrt(var + float(bn.epsilon))
    return scale, beta - mean * scale


def fold_batchnorm(model: Any) -> Any:
    """A copy of a Sequential model for inference, with every BN layer folded into a ``Dense`` layer.

    At inference BN is an affine map per feature, :math:`z = x\\,s + t` with
    :math:`s = \\gamma/\\sqrt{\\hat\\sigma^2 + \\varepsilon}` and :math:`t = \\beta - \\hat\\mu\\, s`
    (moving mean :math:`\\hat\\mu`, moving variance :math:`\\hat\\sigma^2`). Two layouts fold exactly:

    * **BN after a linear Dense** (``Dense(use_bias=False) -> BN -> Activation``, the book's "BN
      before the activation", ``build_mlp(batch_norm="before")``): the Dense becomes
      :math:`x (W s) + (b s + t)` (column ``j`` of ``W`` scaled by :math:`s_j`).
    * **BN directly followed by a Dense** (``Flatten -> BN -> Dense``, or BN after an activation and
      before the next Dense, ``build_mlp(batch_norm="after")``): the next Dense absorbs it,
      :math:`(x s + t) W + b = x (\\operatorname{diag}(s) W) + (t W + b)`.

    Consecutive BN layers are composed, and a linear Dense followed by an ``Activation`` layer
    becomes one Dense with that activation (so ``build_mlp(batch_norm="before")`` folds into exactly
    the layout of ``build_mlp(batch_norm=None)``). Anything else raises ``ValueError`` naming the
    layer: a BN after a nonlinearity with no Dense right after it (e.g. the last layer, or followed
    by Dropout or an Activation), or a BN over an axis other than the last. Training-mode behaviour
    is not preserved (the folded model has no batch statistics): use it for inference only.

    Returns a new, built ``keras.Sequential`` whose predictions equal ``model``'s in inference mode
    (to float32 rounding) with fewer layers; ``model`` is not modified.
    """
    keras = _keras()
    if not isinstance(model, keras.Sequential):
        raise TypeError(f"model must be a keras.Sequential, got {type(model).__name__}")
    if not model.built or not model.inputs:
        raise ValueError("model must be built (create it with keras.Input, e.g. tdnn.models.build_mlp)")
    layers = list(model.layers)
    if not any(isinstance(layer, keras.layers.BatchNormalization) for layer in layers):
        raise ValueError("model has no BatchNormalization layer to fold")

    # Each entry: ["dense", config, W, b, is_linear] (numpy, float64) or ["layer", original layer].
    plan: list[list[Any]] = []
    pending: tuple[np.ndarray, np.ndarray] | None = None  # a BN affine waiting for the next Dense
    for i, layer in enumerate(layers):
        where = f"layer {i} ({type(layer).__name__})"
        if isinstance(layer, keras.layers.BatchNormalization):
            units = int(layer.moving_mean.shape[0])
            scale, shift = _bn_affine(keras, layer, units)
            if pending is not None:  # BN -> BN: compose the two affine maps
                s0, t0 = pending
                pending = (s0 * scale, t0 * scale + shift)
                continue
            prev = plan[-1] if plan else None
            if prev is not None and prev[0] == "dense" and prev[4]:
                prev[2] = prev[2] * scale  # scale the kernel's columns
                prev[3] = prev[3] * scale + shift
                continue
            nxt = layers[i + 1] if i + 1 < len(layers) else None
            if isinstance(nxt, (keras.layers.Dense, keras.layers.BatchNormalization)):
                pending = (scale, shift)
                continue
            before = "the input" if prev is None else f"{type(layers[i - 1]).__name__}"
            after = "nothing (it is the last layer)" if nxt is None else type(nxt).__name__
            raise ValueError(
                f"cannot fold the BatchNormalization at {where}: it follows {before} (not a Dense layer "
                f"without activation) and is followed by {after} (not a Dense layer), so there is no "
                "linear layer to absorb it. Put BN between a Dense(use_bias=False) and its activation "
                "(build_mlp(batch_norm='before')), or directly before a Dense layer."
            )
        if pending is not None and not isinstance(layer, keras.layers.Dense):  # pragma: no cover - guarded above
            raise ValueError(f"cannot fold a BatchNormalization into {where}")
        if isinstance(layer, keras.layers.Activation) and plan and plan[-1][0] == "dense" and plan[-1][4]:
            # Dense(linear) -> Activation: one Dense with that activation (same maths, one layer less)
            plan[-1][1] = {**plan[-1][1], "activation": layer.get_config()["activation"]}
            plan[-1][4] = False
            continue
        if isinstance(layer, keras.layers.Dense):
            if len(layer.input.shape) != 2:
                if pending is not None:
                    raise ValueError(f"cannot fold a BatchNormalization into {where}: its input is not 2-D")
                plan.append(["layer", layer])
                continue
            config = layer.get_config()
            kernel = _to_numpy(layer.kernel)
            bias = _to_numpy(layer.bias) if layer.use_bias else np.zeros(kernel.shape[1])
            if pending is not None:
                s, t = pending
                bias = t @ kernel + bias
                kernel = s[:, None] * kernel
                pending = None
            plan.append(["dense", config, kernel, bias, _is_linear(keras, layer)])
        else:
            plan.append(["layer", layer])

    new_layers: list[Any] = [keras.Input(shape=model.inputs[0].shape[1:], dtype=model.inputs[0].dtype)]
    weights: list[tuple[Any, list[np.ndarray]]] = []
    for entry in plan:
        if entry[0] == "dense":
            config = dict(entry[1])
            config["use_bias"] = True
            new = keras.layers.Dense.from_config(config)
            weights.append((new, [entry[2].astype(np.float32), entry[3].astype(np.float32)]))
        else:
            old = entry[1]
            new = type(old).from_config(old.get_config())
            if old.weights:
                weights.append((new, list(old.get_weights())))
        new_layers.append(new)
    folded = keras.Sequential(new_layers, name=f"{model.name}_folded")
    for layer, values in weights:
        layer.set_weights(values)
    return folded


def _runner(keras: Any, model: Any, x: np.ndarray, method: str) -> Any:
    if not isinstance(model, keras.Model):
        raise TypeError(f"model must be a keras.Model, got {type(model).__name__}")
    if method == "call":
        return lambda: model(x, training=False)
    if method == "predict":
        return lambda: model.predict(x, batch_size=len(x), verbose=0)
    from tdnn._tf import import_tensorflow

    tf = import_tensorflow()
    compiled = tf.function(lambda batch: model(batch, training=False), reduce_retracing=True)
    x_tensor = tf.constant(x)
    return lambda: compiled(x_tensor).numpy()


def compare_latency(
    models: Mapping[str, Any], x: Any, *, repeats: int = 15, warmup: int = 3, method: str = "compiled"
) -> dict[str, float]:
    """Median wall-clock seconds of one inference pass over the batch ``x``, for each model.

    The models are timed in turn, round after round (``repeats`` rounds after ``warmup`` untimed
    ones), so that a change in the machine's load affects them all alike; the median of each model's
    runs is returned. ``method``: ``"compiled"`` times a ``tf.function``-compiled
    ``model(x, training=False)`` (graph mode, no data handling); ``"call"`` the eager call (per-layer
    Python overhead shows); ``"predict"`` ``model.predict(x, batch_size=len(x), verbose=0)`` (adds
    Keras' data-handling overhead). Print the results with ``tdnn.training.format_duration``: they
    vary from run to run.
    """
    keras = _keras()
    if not isinstance(models, Mapping) or not models:
        raise ValueError("models must be a non-empty mapping of label -> keras.Model")
    repeats = check_int("repeats", repeats, min_value=1)
    warmup = check_int("warmup", warmup, min_value=0)
    check_choice("method", method, ("call", "predict", "compiled"))
    x = _check_x("x", x).astype(np.float32, copy=False)
    runners = {}
    for label, model in models.items():
        if not isinstance(model, keras.Model):
            raise TypeError(f"models[{label!r}] must be a keras.Model, got {type(model).__name__}")
        runners[label] = _runner(keras, model, x, method)
    for _ in range(warmup):
        for run in runners.values():
            run()
    times: dict[str, list[float]] = {label: [] for label in runners}
    for _ in range(repeats):
        for label, run in runners.items():
            start = time.perf_counter()
            run()
            times[label].append(time.perf_counter() - start)
    return {label: float(statistics.median(t)) for label, t in times.items()}


def predict_latency(
    model: Any, x: Any, *, repeats: int = 7, warmup: int = 2, method: str = "compiled"
) -> float:
    """Median wall-clock seconds for one inference pass of ``model`` over the batch ``x``.

    ``method`` is ``"compiled"``, ``"call"`` or ``"predict"``, as in :func:`compare_latency` (use that
    one to compare models fairly under a changing load).
    """
    keras = _keras()
    if not isinstance(model, keras.Model):
        raise TypeError(f"model must be a keras.Model, got {type(model).__name__}")
    return compare_latency({"model": model}, x, repeats=repeats, warmup=warmup, method=method)["model"]
