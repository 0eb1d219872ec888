"""Builders for the chapter's multilayer perceptrons (Fashion-MNIST classifiers and deep stacks)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from tdnn._tf import import_tensorflow
from tdnn._validate import check_choice, check_float, check_int

import_tensorflow()
import keras  # noqa: E402

BN_PLACEMENTS = (None, "before", "after")


def _check_units(hidden_units: Any) -> list[int]:
    is_vector = isinstance(hidden_units, np.ndarray) and hidden_units.ndim == 1
    if not is_vector and (isinstance(hidden_units, (str, bytes)) or not isinstance(hidden_units, Sequence)):
        raise TypeError(
            "hidden_units must be a sequence of layer widths such as (300, 100) or [100] * 20, "
            f"got {hidden_units!r}"
        )
    return [check_int(f"hidden_units[{i}]", u, min_value=1) for i, u in enumerate(hidden_units)]


def _check_activation(name: str, activation: Any) -> Any:
    """A Keras activation name, a callable (function or layer) or None (linear); else raise naming it."""
    if activation is None or (callable(activation) and not isinstance(activation, str)):
        return activation
    if not isinstance(activation, str):
        raise TypeError(
            f"{name} must be a Keras activation name such as 'relu', a callable or None, "
            f"got {type(activation).__name__} {activation!r}"
        )
    try:
        keras.activations.get(activation)
    except ValueError:
        raise ValueError(f"{name} {activation!r} is not a Keras activation name") from None
    return activation


def layer_initializer(initializer: Any, index: int) -> Any:
    """A per-layer copy of ``initializer``, so that no two layers share the same random draw.

    Keras 3 trap: a seeded *or unseeded* initializer instance returns the same values at every call,
    so passing one ``RandomNormal(0, 1)`` instance to 30 layers gives them 30 identical kernels
    (names such as ``"he_normal"`` are safe: Keras creates a new instance per layer). This clones the
    instance from its config: an unseeded one gets a fresh seed from the global RNG (reproducible
    after ``keras.utils.set_random_seed``), a seeded one gets ``seed + index``.
    """
    if isinstance(initializer, str) or not isinstance(initializer, keras.initializers.Initializer):
        return initializer
    config = initializer.get_config()
    if "seed" in config and (config["seed"] is None or isinstance(config["seed"], int)):
        config["seed"] = None if config["seed"] is None else config["seed"] + index
        return type(initializer).from_config(config)
    return initializer


def build_mlp(
    hidden_units: Sequence[int] | np.ndarray = (300, 100),
    *,
    activation: str | Any = "relu",
    kernel_initializer: str | Any = "glorot_uniform",
    batch_norm: str | None = None,
    dropout_rate: float = 0.0,
    input_shape: Sequence[int] = (28, 28),
    n_outputs: int = 10,
    output_activation: str | Any | None = "softmax",
    seed: int | None = None,
    name: str | None = None,
) -> keras.Sequential:
    """The chapter's MLP: ``Input -> Flatten -> [Dense (+BN) (+Dropout)] * len(hidden_units) -> Dense``.

    Args:
        hidden_units: width of each hidden layer (a sequence or a 1-D NumPy array of integers);
            ``(300, 100)`` is the book's Fashion-MNIST MLP, ``[100] * 20`` a deep stack.
        activation: hidden activation (a Keras name such as ``"relu"``, ``"selu"``, ``"sigmoid"``, or a
            callable/layer).
        kernel_initializer: a Keras initializer name or instance (``"he_normal"``, ...). An instance
            is cloned per layer (see :func:`layer_initializer`).
        batch_norm: ``None``; ``"after"`` adds ``BatchNormalization`` after each hidden layer's
            activation (and after ``Flatten``, as in the book's first BN model); ``"before"`` puts BN
            between the linear part and the activation, with ``use_bias=False`` (the BN offset β
            replaces the bias).
        dropout_rate: if > 0, a ``Dropout`` layer after each hidden layer.
        input_shape: shape of one example; 2-D inputs are flattened.
        n_outputs, output_activation: the output layer.
        seed: if given, reseeds everything first (``keras.utils.set_random_seed``) so that the
            initial weights depend only on this seed.
        name: the model's name.
    """
    units = _check_units(hidden_units)
    check_choice("batch_norm", batch_norm, BN_PLACEMENTS)
    dropout_rate = check_float("dropout_rate", dropout_rate, min_value=0.0, max_value=1.0, max_inclusive=False)
    n_outputs = check_int("n_outputs", n_outputs, min_value=1)
    if isinstance(input_shape, int):
        input_shape = (input_shape,)
    input_shape = tuple(check_int(f"input_shape[{i}]", d, min_value=1) for i, d in enumerate(input_shape))
    if not input_shape:
        raise ValueError("input_shape must have at least one dimension")
    _check_activation("activation", activation)
    _check_activation("output_activation", output_activation)
    if isinstance(kernel_initializer, str):
        try:
            keras.initializers.get(kernel_initializer)
        except ValueError:
            raise ValueError(f"kernel_initializer {kernel_initializer!r} is not a Keras initializer name") from None
    if seed is not None:
        keras.utils.set_random_seed(check_int("seed", seed, min_value=0))

    layers: list[Any] = [keras.Input(shape=input_shape)]
    if len(input_shape) > 1:
        layers.append(keras.layers.Flatten())
    if batch_norm == "after":
        layers.append(keras.layers.BatchNormalization())
    for i, n in enumerate(units):
        init = layer_initializer(kernel_initializer, i)
        if batch_norm == "before":
            layers += [
                keras.layers.Dense(n, kernel_initializer=init, use_bias=False),
                keras.layers.BatchNormalization(),
                keras.layers.Activation(activation),
            ]
        else:
            layers.append(keras.layers.Dense(n, activation=activation, kernel_initializer=init))
            if batch_norm == "after":
                layers.append(keras.layers.BatchNormalization())
        if dropout_rate > 0:
            layers.append(keras.layers.Dropout(dropout_rate))
    output_init = layer_initializer(kernel_initializer, len(units))
    layers.append(keras.layers.Dense(n_outputs, activation=output_activation, kernel_initializer=output_init))
    return keras.Sequential(layers, name=name)


def dense_layers(model: keras.Model) -> list[keras.layers.Dense]:
    """The model's ``Dense`` layers, in order (hidden layers first, output layer last)."""
    if not isinstance(model, keras.Model):
        raise TypeError(f"model must be a keras.Model, got {type(model).__name__}")
    return [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]


def count_params(model: keras.Model) -> dict[str, int]:
    """Total, trainable and non-trainable parameter counts (the figures of ``model.summary()``)."""
    if not isinstance(model, keras.Model):
        raise TypeError(f"model must be a keras.Model, got {type(model).__name__}")
    trainable = sum(int(w.numpy().size) for w in model.trainable_weights)
    non_trainable = sum(int(w.numpy().size) for w in model.non_trainable_weights)
    return {"total": trainable + non_trainable, "trainable": trainable, "non_trainable": non_trainable}
