"""Looking inside a network: per-layer activation statistics, gradient norms and weight changes.

These are the measurements behind the chapter's opening story (HOML ch. 11, "The Vanishing/Exploding
Gradients Problems", after Glorot & Bengio 2010): how the variance of the signal, the saturation of
sigmoid units and the gradients evolve from layer to layer. Measured at initialization they do not
always tell the book's version of it: with the logistic activation and N(0, 1) weights on 100-unit
layers, Var[z] settles at a fixed point in the tens (it cannot exceed fan_in, since σ(z)² < 1),
saturation is highest in the first layer (784 inputs), and the error signal shrinks only by a small
factor because the large weights compensate the small derivatives; the 4⁻³⁰-like collapse of the
gradients happens with Glorot weights instead (chapters 1 and 2; ``tdnn.initializers.mean_field``
gives the prediction). Glorot & Bengio's own sigmoid finding, with their U[-1/√n, 1/√n] "standard
initialization", is the *top* hidden layer saturating early in training.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from tdnn._tf import import_tensorflow
from tdnn._validate import check_float

tf = import_tensorflow()
import keras  # noqa: E402

from tdnn.models import dense_layers  # noqa: E402

SATURATING = {"sigmoid": (0.0, 1.0), "tanh": (-1.0, 1.0)}


def _check_model(model: Any) -> list[keras.layers.Dense]:
    if not isinstance(model, keras.Model):
        raise TypeError(f"model must be a keras.Model, got {type(model).__name__}")
    layers = dense_layers(model)
    if not layers:
        raise ValueError("model has no Dense layers to inspect")
    if not model.built or not model.inputs:
        raise ValueError("model must be built with keras.Input (see tdnn.models.build_mlp)")
    return layers


def _check_x(name: str, x: Any) -> np.ndarray:
    x = np.asarray(x)
    if x.ndim < 2 or x.shape[0] == 0:
        raise ValueError(f"{name} must be a non-empty batch of inputs (first axis = examples), got shape {x.shape}")
    if not np.issubdtype(x.dtype, np.number):
        raise TypeError(f"{name} must be numeric, got dtype {x.dtype}")
    return x.astype(np.float32, copy=False)


def _check_batch(x: Any, y: Any, loss: Any) -> tuple[np.ndarray, np.ndarray, Any]:
    """Validate a labelled batch and the loss (default: sparse categorical cross-entropy)."""
    x = _check_x("x", x)
    y = np.asarray(y)
    if y.ndim == 0 or y.shape[0] != x.shape[0]:
        n_y = y.shape[0] if y.ndim else "a scalar"
        raise ValueError(f"x and y must have the same number of examples, got {x.shape[0]} and {n_y}")
    if loss is None:
        loss = keras.losses.SparseCategoricalCrossentropy()
    elif not callable(loss):
        raise TypeError("loss must be a callable loss(y_true, y_pred) or None")
    return x, y, loss


def _activation_name(layer: keras.layers.Dense) -> str:
    return getattr(layer.activation, "__name__", type(layer.activation).__name__)


def layer_outputs(model: keras.Model, x: Any, *, pre_activation: bool = False) -> list[np.ndarray]:
    """The output of every ``Dense`` layer for the batch ``x``.

    With ``pre_activation=True``, the linear part :math:`z = xW + b` before the activation function
    (computed from each layer's input and weights).
    """
    layers = _check_model(model)
    x = _check_x("x", x)
    inputs = model.inputs[0] if len(model.inputs) == 1 else model.inputs
    tensors = [layer.input for layer in layers] if pre_activation else [layer.output for layer in layers]
    probe = keras.Model(inputs, tensors)
    outputs = [keras.ops.convert_to_numpy(o) for o in probe(x, training=False)]
    if not pre_activation:
        return outputs
    result = []
    for layer, a in zip(layers, outputs):
        z = a.reshape(a.shape[0], -1) @ layer.kernel.numpy()
        if layer.use_bias:
            z = z + layer.bias.numpy()
        result.append(z)
    return result


def activation_stats_by_layer(
    model: keras.Model, x: Any, *, saturation: float = 0.95, pre_activation: bool = False
) -> pd.DataFrame:
    """Mean, standard deviation and variance of each Dense layer's outputs on the batch ``x``.

    With ``pre_activation=True`` the statistics are those of :math:`z = xW + b`, the input of the
    activation function (where the book's "variance of the outputs of each layer" is measured).

    Also reports ``saturated``, the fraction of outputs in the flat tails of a sigmoid or tanh
    (within ``1 - saturation`` of an asymptote: for the logistic function σ(z) > 0.95 means
    σ'(z) < 0.048, a fifth of its maximum 0.25) and ``zero``, the fraction of outputs exactly 0
    (inactive ReLUs). Rows are numbered from the first hidden layer (1) to the output layer.
    """
    saturation = check_float("saturation", saturation, min_value=0.0, max_value=1.0, min_inclusive=False, max_inclusive=False)
    layers = _check_model(model)
    rows = []
    for i, (layer, a) in enumerate(zip(layers, layer_outputs(model, x, pre_activation=pre_activation)), start=1):
        act = _activation_name(layer)
        if act in SATURATING and not pre_activation:
            lo, hi = SATURATING[act]
            margin = (hi - lo) * (1 - saturation) / 2 if act == "tanh" else 1 - saturation
            sat = float(np.mean((a <= lo + margin) | (a >= hi - margin)))
        else:
            sat = np.nan
        rows.append(
            {
                "layer": i,
                "activation": act,
                "mean": float(a.mean()),
                "std": float(a.std()),
                "variance": float(a.var()),
                "saturated": sat,
                "zero": float(np.mean(a == 0)),
            }
        )
    return pd.DataFrame(rows).set_index("layer")


def dead_unit_fraction(model: keras.Model, x: Any) -> pd.Series:
    """Per hidden Dense layer, the fraction of units that output exactly 0 for *every* input in ``x``.

    A unit that is 0 for every input gets no gradient through its activation: a "dead" ReLU.
    """
    layers = _check_model(model)
    outs = layer_outputs(model, x)[:-1]
    if not outs:
        raise ValueError("model has no hidden Dense layer")
    values = [float(np.mean(np.all(a.reshape(a.shape[0], -1) == 0, axis=0))) for a in outs]
    return pd.Series(values, index=pd.Index(range(1, len(values) + 1), name="layer"), name="dead units")


def gradient_norms_by_layer(
    model: keras.Model, x: Any, y: Any, *, loss: Any = None
) -> pd.DataFrame:
    """Norm of the loss gradient w.r.t. each Dense layer's kernel, from one ``tf.GradientTape`` pass.

    ``loss`` defaults to sparse categorical cross-entropy (mean over the batch). Columns:
    ``grad_norm`` (Frobenius norm of ∂L/∂W), ``grad_rms`` (its root mean square, comparable
    between layers of different sizes), ``weight_norm`` and ``ratio`` = grad_norm / weight_norm.
    """
    layers = _check_model(model)
    x, y, loss = _check_batch(x, y, loss)
    kernels = [layer.kernel for layer in layers]
    with tf.GradientTape() as tape:
        value = loss(y, model(x, training=False))
    grads = tape.gradient(value, kernels)
    rows = []
    for i, (g, w) in enumerate(zip(grads, kernels), start=1):
        g = np.zeros(w.shape) if g is None else keras.ops.convert_to_numpy(g).astype(np.float64)
        w = w.numpy()
        gn, wn = float(np.linalg.norm(g)), float(np.linalg.norm(w))
        rows.append(
            {
                "layer": i,
                "grad_norm": gn,
                "grad_rms": float(np.sqrt(np.mean(g**2))),
                "weight_norm": wn,
                "ratio": gn / wn if wn > 0 else np.nan,
            }
        )
    return pd.DataFrame(rows).set_index("layer")


def backprop_signal_by_layer(model: keras.Sequential, x: Any, y: Any, *, loss: Any = None) -> pd.Series:
    """RMS of the error signal :math:`\\delta^{(l)} = \\partial \\mathcal{L} / \\partial z^{(l)}` at each Dense layer.

    This is the gradient as it flows *down* through the network, before it is multiplied by the
    layer's input to give :math:`\\partial \\mathcal{L} / \\partial W^{(l)} = a^{(l-1)\\top} \\delta^{(l)}`:
    it is the quantity that vanishes or explodes layer after layer. Needs a ``keras.Sequential``
    model (such as :func:`tdnn.models.build_mlp`'s); ``loss`` defaults to sparse categorical
    cross-entropy (mean over the batch).
    """
    layers = _check_model(model)
    if not isinstance(model, keras.Sequential):
        raise TypeError(f"model must be a keras.Sequential (layer by layer), got {type(model).__name__}")
    x, y, loss = _check_batch(x, y, loss)
    zs = []
    with tf.GradientTape() as tape:
        h = tf.convert_to_tensor(x)
        for layer in model.layers:
            if isinstance(layer, keras.layers.Dense):
                z = tf.matmul(tf.reshape(h, (tf.shape(h)[0], -1)), layer.kernel)
                if layer.use_bias:
                    z = z + layer.bias
                tape.watch(z)
                zs.append(z)
                h = layer.activation(z)
            else:
                h = layer(h, training=False)
        value = loss(y, h)
    deltas = tape.gradient(value, zs)
    values = [float(np.sqrt(np.mean(keras.ops.convert_to_numpy(d).astype(np.float64) ** 2))) for d in deltas]
    return pd.Series(values, index=pd.Index(range(1, len(layers) + 1), name="layer"), name="delta_rms")


def kernel_snapshot(model: keras.Model) -> list[np.ndarray]:
    """Copies of every Dense kernel, to compare before and after training."""
    return [layer.kernel.numpy() for layer in _check_model(model)]


def relative_weight_change(before: list[np.ndarray], model: keras.Model) -> pd.Series:
    """Per Dense layer, ‖W_after − W_before‖ / ‖W_before‖: how far training moved each layer."""
    layers = _check_model(model)
    if not isinstance(before, (list, tuple)) or len(before) != len(layers):
        raise ValueError(f"before must be the {len(layers)} kernels returned by kernel_snapshot(model)")
    values = []
    for i, (w0, layer) in enumerate(zip(before, layers)):
        w0 = np.asarray(w0)
        w1 = layer.kernel.numpy()
        if w0.shape != w1.shape:
            raise ValueError(f"before[{i}] has shape {w0.shape}, but layer {layer.name} has {w1.shape}")
        values.append(float(np.linalg.norm(w1 - w0) / np.linalg.norm(w0)))
    return pd.Series(values, index=pd.Index(range(1, len(values) + 1), name="layer"), name="relative change")
