"""Gradient clipping (HOML ch. 11, "Gradient Clipping"): NumPy reference math, tested against Keras.

Gradient clipping caps the gradients during backpropagation so that they never exceed a threshold
(Pascanu, Mikolov & Bengio, 2013). The book shows the two Keras options on one gradient
``[0.9, 100.0]``:

* ``clipvalue=1.0`` clips every component to ``[-1, 1]``: ``[0.9, 1.0]``; cheap, but the direction
  of the step changes (here by 41.5°: ``[0.9, 1.0]`` is roughly the diagonal);
* ``clipnorm=1.0`` rescales the vector to norm 1 when its norm is larger: ``[0.00899964,
  0.9999595]``; the direction is kept.

How Keras 3 applies them (``keras/src/optimizers/base_optimizer.py``, ``BaseOptimizer._clip_gradients``,
called in ``apply`` after the loss-scale unscaling and gradient accumulation and before weight
decay and the update rule):

* ``clipnorm=c``: **per variable**. Each variable's gradient ``g`` becomes ``g * c / max(‖g‖, c)``,
  with ``‖g‖`` the L2 norm over *all* entries of that tensor (the TensorFlow backend calls
  ``tf.clip_by_norm(g, c)``). Each kernel and each bias is clipped on its own, so the direction of a
  single variable's gradient is kept but the direction of the whole gradient is not.
* ``global_clipnorm=c``: every gradient is multiplied by the same factor
  ``c * min(1 / ‖G‖, 1 / c)``, where ``‖G‖`` is the global norm (the L2 norm of all gradients
  concatenated), like ``tf.clip_by_global_norm``. If ``‖G‖`` is inf or NaN, every gradient becomes
  NaN.
* ``clipvalue=v``: ``ops.clip(g, -v, v)`` elementwise.
* At most one of the three may be set (``ValueError`` otherwise). A value that is 0 or negative
  is **silently ignored** (the code tests ``if self.clipnorm and self.clipnorm > 0``): ``clipnorm=0``
  means no clipping at all. The reference functions here reject such values instead.

``grads`` arguments take either one gradient tensor (an array or a nested list of numbers) or a list
or tuple of per-variable gradients (every item has a ``shape``: NumPy arrays, ``tf.Tensor``,
``keras.Variable``...; ``None`` items are passed through, as Keras skips missing gradients). The
result has the same structure, as NumPy arrays. Floating inputs keep their dtype, so float32
gradients are clipped in float32 like Keras does (their squared norm overflows to inf above about
1.8e19); anything else is computed in float64.

This module imports TensorFlow only inside :func:`train_with_gradient_log` and
:func:`exploding_rnn`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from tdnn._validate import check_float, check_int

Grads = Any  # one array-like, or a list/tuple of array-likes (None allowed)


# ---------------------------------------------------------------------------------------------------
# structure helpers


def _is_gradient_list(grads: Any) -> bool:
    """A list/tuple whose items are all tensors (have a ``shape``) or None, at least one tensor."""
    return (
        isinstance(grads, (list, tuple))
        and len(grads) > 0
        and all(g is None or hasattr(g, "shape") for g in grads)
        and any(g is not None for g in grads)
    )


def _as_float_array(name: str, value: Any) -> np.ndarray:
    try:
        arr = np.asarray(value)
    except ValueError as exc:  # ragged nested lists
        raise ValueError(f"{name} must be an array or a list of arrays: {exc}") from None
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise TypeError(f"{name} must be numeric, got dtype {arr.dtype}")
    if np.issubdtype(arr.dtype, np.complexfloating):
        raise TypeError(f"{name} must be real, got dtype {arr.dtype}")
    if not np.issubdtype(arr.dtype, np.floating):
        arr = arr.astype(np.float64)
    return arr


def _split(name: str, grads: Any) -> tuple[list[np.ndarray | None], bool]:
    """Return (list of arrays or None, is_list) for one tensor or a list of tensors."""
    if grads is None:
        raise TypeError(f"{name} must be an array or a list of arrays, got None")
    if isinstance(grads, (list, tuple)) and len(grads) == 0:
        raise ValueError(f"{name} must not be empty")
    if _is_gradient_list(grads):
        return [None if g is None else _as_float_array(f"{name}[{i}]", g) for i, g in enumerate(grads)], True
    if isinstance(grads, (list, tuple)) and all(g is None for g in grads):
        raise ValueError(f"{name} holds only None gradients")
    return [_as_float_array(name, grads)], False


def _join(arrays: list[np.ndarray | None], is_list: bool) -> Grads:
    return list(arrays) if is_list else arrays[0]


def _positive(name: str, value: Any) -> float:
    return check_float(name, value, min_value=0.0, min_inclusive=False)


# ---------------------------------------------------------------------------------------------------
# the reference math


def global_norm(grads: Grads) -> float:
    """The global L2 norm ``‖G‖ = sqrt(Σ_i ‖g_i‖²)`` of one gradient or of a list of gradients.

    This is the norm ``global_clipnorm`` (and ``tf.clip_by_global_norm``) compares to its threshold:
    the norm of all gradients concatenated into one vector. Returned as a Python float (inf if the
    squared norm overflows in the gradients' dtype, NaN if a gradient holds NaN).
    """
    arrays, _ = _split("grads", grads)
    with np.errstate(over="ignore", invalid="ignore"):
        total = sum(np.sum(np.square(g)) for g in arrays if g is not None)
        return float(np.sqrt(total))


def clip_by_value(grads: Grads, clip_value: float) -> Grads:
    """Clip every gradient component to ``[-clip_value, clip_value]`` (Keras ``clipvalue``).

    HOML ch. 11, "Gradient Clipping": with ``clip_value=1.0`` the gradient ``[0.9, 100.0]``, which
    points almost along the second axis (89.5° from the first), becomes ``[0.9, 1.0]``, which points
    roughly along the diagonal (48° from the first axis, 42° from the second): clipping by value
    may change the direction of the step, here by 41.5°. Equivalent to
    ``tf.clip_by_value(g, -v, v)`` on each tensor.
    """
    clip_value = _positive("clip_value", clip_value)
    arrays, is_list = _split("grads", grads)
    out = [None if g is None else np.clip(g, -clip_value, clip_value).astype(g.dtype, copy=False) for g in arrays]
    return _join(out, is_list)


def _clip_one_by_norm(g: np.ndarray, clip_norm: float) -> np.ndarray:
    with np.errstate(over="ignore", invalid="ignore"):
        norm = np.sqrt(np.sum(np.square(g)))
        c = g.dtype.type(clip_norm)
        return (g * c / np.maximum(norm, c)).astype(g.dtype, copy=False)


def clip_by_norm(grad: Grads, clip_norm: float) -> Grads:
    """Rescale a gradient tensor to L2 norm ``clip_norm`` if it is longer: ``g · c / max(‖g‖, c)``.

    HOML ch. 11, "Gradient Clipping": with ``clip_norm=1.0`` the gradient ``[0.9, 100.0]`` becomes
    ``[0.00899964, 0.9999595]``, i.e. ``g / ‖g‖``: same direction, norm 1. The norm runs over all
    entries of the tensor (like ``tf.clip_by_norm(g, c)`` with ``axes=None``).

    Given a list of per-variable gradients, each one is clipped on its own: this is exactly what
    Keras' ``clipnorm`` does, so it keeps each variable's direction but not the direction of the
    whole gradient (use :func:`clip_by_global_norm` for that). With ``n`` variables it turns the
    whole gradient by less than ``arccos(1/√n)`` (45° for two, 54.7° for three): each gradient
    is multiplied by a factor in (0, 1], and the bound is approached only when one norm grows
    without limit while the others sit at the threshold. It never lengthens the gradient.
    """
    clip_norm = _positive("clip_norm", clip_norm)
    arrays, is_list = _split("grad", grad)
    return _join([None if g is None else _clip_one_by_norm(g, clip_norm) for g in arrays], is_list)


def clip_by_global_norm(grads: Grads, clip_norm: float) -> Grads:
    """Scale all gradients by the same factor so that their global norm is at most ``clip_norm``.

    Keras ``global_clipnorm`` (and ``tf.clip_by_global_norm``, which also returns the norm): with
    ``‖G‖`` the :func:`global_norm`, every tensor is multiplied by ``c · min(1/‖G‖, 1/c)``, i.e.
    ``c / max(‖G‖, c)``. The direction of the whole gradient is kept. As in Keras and TensorFlow,
    an infinite or NaN global norm turns every gradient into NaN (the error is signalled, not
    hidden): clipping cannot rescue gradients that have already overflowed.
    """
    clip_norm = _positive("clip_norm", clip_norm)
    arrays, is_list = _split("grads", grads)
    dtype = np.result_type(*[g.dtype for g in arrays if g is not None])
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        total = sum(np.sum(np.square(g.astype(dtype, copy=False))) for g in arrays if g is not None)
        norm = np.sqrt(dtype.type(total))
        c = dtype.type(clip_norm)
        scale = c * np.minimum(dtype.type(1) / norm, dtype.type(1) / c) + (norm - norm)
        out = [None if g is None else (g * scale).astype(g.dtype, copy=False) for g in arrays]
    return _join(out, is_list)


def clip_like_keras(
    grads: Grads,
    *,
    clipnorm: float | None = None,
    clipvalue: float | None = None,
    global_clipnorm: float | None = None,
) -> Grads:
    """Apply what a Keras 3 optimizer built with these arguments does to ``grads`` before its update.

    Mirrors ``BaseOptimizer._clip_gradients``: ``clipnorm`` clips each tensor by its own norm,
    ``global_clipnorm`` all tensors by their global norm, ``clipvalue`` each component; with none
    set the gradients are returned unchanged (as arrays). Like Keras, at most one may be set.
    Unlike Keras, which silently ignores a value <= 0, such a value raises ``ValueError`` here.
    """
    settings = {"clipnorm": clipnorm, "clipvalue": clipvalue, "global_clipnorm": global_clipnorm}
    given = {k: v for k, v in settings.items() if v is not None}
    if len(given) > 1:
        raise ValueError(f"only one of clipnorm, clipvalue and global_clipnorm can be set, got {given}")
    if clipnorm is not None:
        return clip_by_norm(grads, _positive("clipnorm", clipnorm))
    if global_clipnorm is not None:
        return clip_by_global_norm(grads, _positive("global_clipnorm", global_clipnorm))
    if clipvalue is not None:
        return clip_by_value(grads, _positive("clipvalue", clipvalue))
    arrays, is_list = _split("grads", grads)
    return _join(arrays, is_list)


def optimizer_clipping(optimizer: Any) -> dict[str, float]:
    """The clipping a Keras optimizer actually applies, as ``{name: value}`` (empty if none).

    Reads the public attributes ``clipnorm``, ``global_clipnorm`` and ``clipvalue`` and keeps the
    first one Keras would use (in that order), dropping values that Keras ignores (None, 0 or
    negative). Pass the result to :func:`clip_like_keras` as keyword arguments.
    """
    for name in ("clipnorm", "global_clipnorm", "clipvalue"):
        if not hasattr(optimizer, name):
            raise TypeError(f"optimizer must be a Keras optimizer (it has no {name!r} attribute)")
    for name in ("clipnorm", "global_clipnorm", "clipvalue"):
        value = getattr(optimizer, name)
        if value is not None and float(value) > 0:
            return {name: float(value)}
    return {}


def angle_between(u: Grads, v: Grads) -> float:
    """The angle between two vectors, in degrees (0 = same direction, 180 = opposite).

    Lists of per-variable tensors are flattened and concatenated, so the angle between a full
    gradient and its clipped version measures how much clipping turned the step. Computed as
    ``2·atan2(‖û − v̂‖, ‖û + v̂‖)`` with unit vectors ``û, v̂``, which stays accurate for nearly
    parallel vectors (``arccos`` of the cosine loses half the digits there); the vectors are
    computed in float64 and rescaled by their largest entry first, so tiny or huge vectors work
    too. Raises ``ValueError`` if a vector is empty, zero or not finite, or if the shapes differ.
    """
    a_list, _ = _split("u", u)
    b_list, _ = _split("v", v)
    if len(a_list) != len(b_list):
        raise ValueError(f"u and v must hold the same number of tensors, got {len(a_list)} and {len(b_list)}")
    a_parts, b_parts = [], []
    for i, (a, b) in enumerate(zip(a_list, b_list)):
        if (a is None) != (b is None):
            raise ValueError(f"u and v must have None gradients at the same positions (item {i})")
        if a is None:
            continue
        if a.shape != b.shape:
            raise ValueError(f"u and v must have the same shape, got {a.shape} and {b.shape}")
        a_parts.append(a.astype(np.float64).ravel())
        b_parts.append(b.astype(np.float64).ravel())
    a, b = np.concatenate(a_parts), np.concatenate(b_parts)
    if a.size == 0:
        raise ValueError(f"u and v must hold at least one value, got empty vectors of shape {a.shape}")
    for name, x in (("u", a), ("v", b)):
        if not np.all(np.isfinite(x)):
            raise ValueError(f"{name} must be finite")
    units = []
    for name, x in (("u", a), ("v", b)):
        peak = np.max(np.abs(x))
        if peak == 0:
            raise ValueError(f"{name} must be a non-zero vector (the angle is undefined)")
        x = x / peak  # rescale first: the squared norm of tiny or huge vectors under/overflows
        units.append(x / np.linalg.norm(x))
    ua, ub = units
    return math.degrees(2.0 * math.atan2(float(np.linalg.norm(ua - ub)), float(np.linalg.norm(ua + ub))))


# ---------------------------------------------------------------------------------------------------
# training with a gradient log


def noisy_sine_sequences(
    n_sequences: int, length: int, *, noise: float = 0.1, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """A synthetic forecasting task for RNNs: from ``length`` noisy sine values, predict the next one.

    Each sequence is ``sin(2π f t + φ) + ε`` for ``t = 0 .. length`` with its own frequency
    ``f ~ U(0.05, 0.2)`` cycles per step and phase ``φ ~ U(0, 2π)``, and Gaussian noise
    ``ε ~ N(0, noise²)``, all drawn from ``np.random.default_rng(seed)``. Returns ``x`` of shape
    ``(n_sequences, length, 1)`` (the first ``length`` values) and ``y`` of shape ``(n_sequences, 1)``
    (the next value), as float32. The noise is in the target too, so no model can reach a mean
    squared error below ``noise²`` on average; predicting 0 gives about ``0.5 + noise²``.
    """
    n_sequences = check_int("n_sequences", n_sequences, min_value=1)
    length = check_int("length", length, min_value=1)
    noise = check_float("noise", noise, min_value=0.0)
    seed = check_int("seed", seed, min_value=0)
    rng = np.random.default_rng(seed)
    freq = rng.uniform(0.05, 0.2, (n_sequences, 1))
    phase = rng.uniform(0.0, 2 * np.pi, (n_sequences, 1))
    t = np.arange(length + 1)[None, :]
    series = np.sin(2 * np.pi * freq * t + phase) + noise * rng.standard_normal((n_sequences, length + 1))
    return series[:, :length, None].astype(np.float32), series[:, length:].astype(np.float32)



def exploding_rnn(seed: int = 42, *, length: int = 50, units: int = 32, gain: float = 1.2) -> Any:
    """Chapter 5's recurrent network whose gradients explode: ``SimpleRNN(units)`` + ``Dense(1)``.

    The recurrent kernel is orthogonal times ``gain`` (``keras.initializers.Orthogonal``), so
    all its singular values equal ``gain``. A largest singular value above 1 (the default 1.2) is
    the necessary condition of Pascanu, Mikolov & Bengio (2013, section 2.1) for exploding
    gradients with ``tanh``; it is not sufficient, and training can create it (chapter 5,
    exercise 2). Input shape ``(length, 1)``, as made by :func:`noisy_sine_sequences`; returns a
    ``keras.Sequential``. Seeds Keras with ``keras.utils.set_random_seed(seed)``
    first, so the same seed gives the same weights. Raises ``TypeError``/``ValueError`` naming the
    argument for a non-integer or negative ``seed``, ``length`` or ``units`` < 1, ``gain`` <= 0.
    """
    seed = check_int("seed", seed, min_value=0)
    length = check_int("length", length, min_value=1)
    units = check_int("units", units, min_value=1)
    gain = check_float("gain", gain, min_value=0.0, min_inclusive=False)
    from tdnn._tf import import_tensorflow

    import_tensorflow()
    import keras

    keras.utils.set_random_seed(seed)
    return keras.Sequential(
        [
            keras.Input((length, 1)),
            keras.layers.SimpleRNN(
                units, recurrent_initializer=keras.initializers.Orthogonal(gain=gain, seed=seed)
            ),
            keras.layers.Dense(1),
        ]
    )


def diverged_at(
    log: pd.DataFrame, *, columns: Sequence[str] = ("loss", "grad_norm"), threshold: float | None = None
) -> int | None:
    """The first step at which any of ``columns`` is NaN/inf (or above ``threshold``); None if none.

    ``log`` is a :func:`train_with_gradient_log` table (indexed by step). By default a run has
    diverged when its loss or its raw gradient norm stops being a finite float32 number.
    """
    if not isinstance(log, pd.DataFrame):
        raise TypeError(f"log must be a DataFrame from train_with_gradient_log, got {type(log).__name__}")
    if isinstance(columns, str) or not columns:
        raise ValueError("columns must be a non-empty sequence of column names, e.g. ('loss', 'grad_norm')")
    for column in columns:
        if column not in log.columns:
            raise ValueError(f"columns: {column!r} is not in log: {list(log.columns)}")
    if threshold is not None:
        threshold = check_float("threshold", threshold)
    values = log[list(columns)].to_numpy(dtype=np.float64)
    bad = ~np.isfinite(values)
    if threshold is not None:
        with np.errstate(invalid="ignore"):
            bad |= values > threshold
    hits = np.flatnonzero(bad.any(axis=1))
    return int(log.index[hits[0]]) if hits.size else None


def _batches(x: np.ndarray, y: np.ndarray, batch_size: int, seed: int):  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(seed)
    n = len(x)
    while True:
        order = rng.permutation(n)
        for start in range(0, n - batch_size + 1, batch_size):
            idx = order[start : start + batch_size]
            yield x[idx], y[idx]


def variable_labels(model: Any) -> list[str]:
    """Short, stable labels for ``model.trainable_variables``: ``"<Layer class>.<variable name>"``.

    Keras' own names (``dense_3/kernel``) depend on global counters, so they change from run to
    run; these labels depend only on the architecture. When a layer class occurs more than once,
    the label is prefixed with the layer's index in ``model.layers``: ``"L1.Dense.kernel"``.
    """
    layers = getattr(model, "layers", None)
    if layers is None or not hasattr(model, "trainable_variables"):
        raise TypeError(f"model must be a keras.Model, got {type(model).__name__}")
    classes = [type(layer).__name__ for layer in layers]
    by_id: dict[int, str] = {}
    for i, layer in enumerate(layers):
        cls = classes[i]
        prefix = f"L{i}.{cls}" if classes.count(cls) > 1 else cls
        for v in layer.trainable_variables:
            by_id.setdefault(id(v), f"{prefix}.{v.name}")
    return [by_id.get(id(v), v.name) for v in model.trainable_variables]


def train_with_gradient_log(
    model: Any,
    data: tuple[Any, Any],
    optimizer: Any,
    steps: int,
    *,
    loss: Any = "mse",
    batch_size: int = 32,
    seed: int = 0,
    stop_on_nonfinite: bool = True,
    per_variable: bool = False,
) -> pd.DataFrame:
    """Train ``model`` for ``steps`` mini-batch steps and log the gradient before and after clipping.

    A custom loop (``tf.GradientTape`` + ``optimizer.apply_gradients``), so that the *raw* gradient
    of every step is visible: Keras clips inside ``apply_gradients`` and never reports it.

    Args:
        model: a built ``keras.Model``.
        data: an ``(x, y)`` pair of arrays; each epoch visits a permutation drawn from
            ``np.random.default_rng(seed)`` in batches of ``batch_size`` (the last partial batch
            is dropped, so every batch has the same shape).
        optimizer: a fresh ``keras.optimizers.Optimizer``; its ``clipnorm``, ``global_clipnorm``
            or ``clipvalue`` is applied by Keras itself.
        steps: number of update steps.
        loss: a Keras loss name or callable ``loss(y_true, y_pred)``.
        stop_on_nonfinite: stop after the first step whose loss or gradient norm is NaN/inf (that
            step is the last row); with False, keep going (and watch the NaNs spread).
        per_variable: also log the norm of each variable's raw gradient, in columns
            ``grad_norm[<Layer>.<variable>]`` such as ``grad_norm[SimpleRNN.recurrent_kernel]``
            (prefixed with the layer's index, ``L2.Dense.kernel``, when a layer type repeats).

    Returns:
        A DataFrame indexed by ``step`` (1, 2, ...) with ``loss`` (the batch loss before the
        update), ``grad_norm`` (global norm of the raw gradient), ``clipped_norm`` (global norm of
        the gradient the optimizer applies, computed with :func:`clip_like_keras` from the
        optimizer's settings) and ``angle`` (degrees between the raw and the clipped gradient;
        NaN when undefined), then the per-variable columns if asked for.
    """
    from tdnn._tf import import_tensorflow

    tf = import_tensorflow()
    import keras

    if not isinstance(model, keras.Model):
        raise TypeError(f"model must be a keras.Model, got {type(model).__name__}")
    if not model.built or not model.trainable_variables:
        raise ValueError("model must be built (start it with keras.Input) and have trainable weights")
    if not isinstance(optimizer, keras.optimizers.Optimizer):
        raise TypeError(f"optimizer must be a keras.optimizers.Optimizer, got {type(optimizer).__name__}")
    steps = check_int("steps", steps, min_value=1)
    batch_size = check_int("batch_size", batch_size, min_value=1)
    seed = check_int("seed", seed, min_value=0)
    if not isinstance(data, Sequence) or isinstance(data, (str, bytes)) or len(data) != 2:
        raise TypeError(f"data must be an (x, y) pair of arrays, got {type(data).__name__}")
    x, y = np.asarray(data[0]), np.asarray(data[1])
    if len(x) != len(y):
        raise ValueError(f"data has {len(x)} inputs but {len(y)} targets")
    if len(x) < batch_size:
        raise ValueError(f"batch_size must be <= the number of examples ({len(x)}), got {batch_size}")
    if isinstance(loss, str):
        loss_fn = keras.losses.get(loss)
    elif callable(loss):
        loss_fn = loss
    else:
        raise TypeError("loss must be a Keras loss name or a callable loss(y_true, y_pred)")
    clipping = optimizer_clipping(optimizer)
    variables = model.trainable_variables
    labels = variable_labels(model) if per_variable else []
    if not optimizer.built:
        optimizer.build(variables)

    @tf.function
    def train_step(xb: Any, yb: Any) -> tuple[Any, list[Any]]:
        with tf.GradientTape() as tape:
            value = tf.reduce_mean(loss_fn(yb, model(xb, training=True)))
        grads = tape.gradient(value, variables)
        optimizer.apply_gradients(zip(grads, variables))
        return value, grads

    rows = []
    batches = _batches(x, y, batch_size, seed)
    for step in range(1, steps + 1):
        xb, yb = next(batches)
        value, grads = train_step(tf.constant(xb), tf.constant(yb))
        grads = [np.asarray(g) for g in grads]
        raw_norm = global_norm(grads)
        clipped = clip_like_keras(grads, **clipping)
        clipped_norm = global_norm(clipped)
        try:
            angle = angle_between(grads, clipped)
        except ValueError:
            angle = math.nan
        loss_value = float(value)
        row = {"step": step, "loss": loss_value, "grad_norm": raw_norm, "clipped_norm": clipped_norm, "angle": angle}
        for label, g in zip(labels, grads):
            row[f"grad_norm[{label}]"] = global_norm(g)
        rows.append(row)
        if stop_on_nonfinite and not (math.isfinite(loss_value) and math.isfinite(raw_norm)):
            break
    return pd.DataFrame(rows).set_index("step")


__all__ = [
    "angle_between",
    "clip_by_global_norm",
    "clip_by_norm",
    "clip_by_value",
    "clip_like_keras",
    "diverged_at",
    "exploding_rnn",
    "global_norm",
    "noisy_sine_sequences",
    "optimizer_clipping",
    "train_with_gradient_log",
    "variable_labels",
]
