"""Transfer learning and pretraining (ch. 11, "Reusing Pretrained Layers").

The book's recipe, as small tested functions:

- :func:`clone_with_weights`: ``clone_model`` + ``set_weights``, so that training the new model
  leaves the original alone (the book's fix for shared layers); :func:`shared_variables` counts the
  variables two models share (the pitfall, made visible).
- :func:`reuse_layers`: ``model_B_on_A`` -- the lower layers of a trained model with a new output
  layer; :func:`set_trainable` freezes/unfreezes them; :func:`trainable_flags` reads the state back
  (for instance after reloading a ``.keras`` file).
- :func:`split_model` and :func:`cached_features`: run frozen lower layers once and train the top on
  the cached outputs (the book's tip for speeding up training with frozen layers).
- :func:`build_autoencoder` and :func:`rotation_task`: unsupervised and self-supervised pretraining.
- :func:`set_layer_weights`: copy NumPy arrays (as another framework would give them) into a
  layer, with an error naming the layer and both shapes on mismatch.
- :func:`error_rate` and :func:`error_ratio`: the figures the book's claim ("a factor of four") is
  made of.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from tdnn._tf import import_tensorflow
from tdnn._validate import check_float, check_int
from tdnn.traces import build_compiled_state, on_twin, predict

import_tensorflow()
import keras  # noqa: E402

__all__ = [
    "build_autoencoder",
    "cached_features",
    "clone_with_weights",
    "compare_on_budgets",
    "draw_labelled",
    "error_rate",
    "error_ratio",
    "fit_epochs",
    "hidden_layer_indices",
    "reuse_layers",
    "reinitialize",
    "reuse_sweep",
    "rotation_task",
    "set_layer_weights",
    "set_trainable",
    "shared_variables",
    "split_model",
    "trainable_flags",
    "transfer_vs_scratch",
]


def _check_model(name: str, model: Any) -> keras.Model:
    if not isinstance(model, keras.Model):
        raise TypeError(f"{name} must be a keras.Model, got {type(model).__name__}")
    return model


def _check_sequential(name: str, model: Any) -> keras.Sequential:
    if not isinstance(model, keras.Sequential):
        raise TypeError(
            f"{name} must be a keras.Sequential model, got {type(model).__name__}"
        )
    return model


def clone_with_weights(model: keras.Model) -> keras.Model:
    """A copy of ``model`` with its own variables: ``clone_model`` + ``set_weights`` (the book's fix).

    ``keras.models.clone_model`` copies the architecture only (new, randomly initialized variables);
    the weights are copied explicitly. Training the copy leaves ``model`` unchanged. The layers'
    ``trainable`` flags are part of the architecture and are cloned too.
    """
    model = _check_model("model", model)
    clone = keras.models.clone_model(model)
    clone.set_weights(model.get_weights())
    return clone


def shared_variables(model_a: keras.Model, model_b: keras.Model) -> int:
    """How many variables ``model_a`` and ``model_b`` share (the same objects, not equal values).

    After ``keras.Sequential(model_A.layers[:-1])`` the new model holds model A's very layers: every
    update of one changes the other.
    """
    a = _check_model("model_a", model_a)
    b = _check_model("model_b", model_b)
    ids_a = {id(v) for v in a.weights}
    return sum(id(v) in ids_a for v in b.weights)


def hidden_layer_indices(model: keras.Sequential) -> list[int]:
    """Indices in ``model.layers`` of the hidden ``Dense`` layers (every ``Dense`` but the last)."""
    model = _check_sequential("model", model)
    dense = [
        i for i, layer in enumerate(model.layers) if isinstance(layer, keras.layers.Dense)
    ]
    if len(dense) < 2:
        raise ValueError(
            f"model must have at least one hidden Dense layer, it has {len(dense)} Dense layer(s)"
        )
    return dense[:-1]


def reuse_layers(
    model: keras.Sequential,
    n_hidden: int | None = None,
    *,
    n_outputs: int = 1,
    output_activation: str | None = "sigmoid",
    clone: bool = True,
    freeze: bool = False,
    seed: int | None = None,
    name: str | None = None,
) -> keras.Sequential:
    """``model_B_on_A``: the layers of ``model`` up to its ``n_hidden``-th hidden layer + a new output.

    The book's ``keras.Sequential(model_A.layers[:-1])`` followed by ``add(Dense(1, "sigmoid"))`` is
    ``reuse_layers(model_A, clone=False)``. With ``clone=True`` (the default) the reused layers are
    those of :func:`clone_with_weights` (model): same weights, own variables, so training the new
    model does not change ``model``. ``n_hidden=None`` reuses every hidden layer; fewer keeps the
    lowest ones (and the layers before them, such as ``Flatten``). ``freeze=True`` makes the reused
    layers non-trainable (:func:`set_trainable`). ``seed`` seeds the new output layer's weights.
    """
    model = _check_sequential("model", model)
    hidden = hidden_layer_indices(model)
    if n_hidden is None:
        n_hidden = len(hidden)
    n_hidden = check_int("n_hidden", n_hidden, min_value=1)
    if n_hidden > len(hidden):
        raise ValueError(
            f"n_hidden must be <= {len(hidden)} (the model's hidden layers), got {n_hidden}"
        )
    n_outputs = check_int("n_outputs", n_outputs, min_value=1)
    if seed is not None:
        keras.utils.set_random_seed(check_int("seed", seed, min_value=0))
    source = clone_with_weights(model) if clone else model
    reused = source.layers[: hidden[n_hidden - 1] + 1]
    new = keras.Sequential(
        [keras.Input(shape=model.input_shape[1:]), *reused],
        name=name or f"{model.name}_reused",
    )
    if freeze:
        set_trainable(new, False, n_layers=len(new.layers))
    new.add(keras.layers.Dense(n_outputs, activation=output_activation, name="new_output"))
    return new


def reinitialize(model: keras.Model, *, seed: int, n_layers: int | None = None) -> None:
    """Draw fresh initial weights, with ``seed``, for the last ``n_layers`` layers (default: all).

    Each variable is re-drawn from its layer's own initializer (``kernel_initializer``,
    ``bias_initializer``), in place: a compiled model can then be trained again from a new start
    without being rebuilt and recompiled, which saves most of the cost of a run on a few hundred
    images. With a stateless optimizer (plain SGD) this is the same as building a fresh model; an
    optimizer with state (momentum, Adam) would carry it over, so :func:`reinitialize` refuses it.
    """
    model = _check_model("model", model)
    seed = check_int("seed", seed, min_value=0)
    layers = (
        model.layers
        if n_layers is None
        else model.layers[
            len(model.layers) - check_int("n_layers", n_layers, min_value=1) :
        ]
    )
    optimizer = getattr(model, "optimizer", None)
    if optimizer is not None and getattr(model, "compiled", False):
        stateful = [
            v
            for v in optimizer.variables
            if "iteration" not in v.path and "learning_rate" not in v.path
        ]
        if stateful:
            raise ValueError(
                f"model's optimizer ({type(optimizer).__name__}) has state ({len(stateful)} variables): "
                "reinitializing the weights would keep it; rebuild and recompile the model instead"
            )
    rng = np.random.default_rng(seed)
    for layer in layers:
        for attr in ("kernel", "bias"):
            variable = getattr(layer, attr, None)
            init = getattr(layer, f"{attr}_initializer", None)
            if variable is None or init is None:
                continue
            # a Keras 3 initializer instance returns the same draw at every call: clone it with a
            # new seed (initializers without randomness, such as Zeros, have no seed)
            init = keras.initializers.get(init)
            config = init.get_config()
            if "seed" in config:
                config["seed"] = int(rng.integers(2**31 - 1))
                init = type(init).from_config(config)
            variable.assign(init(variable.shape, dtype=variable.dtype))


def set_trainable(
    model: keras.Model, trainable: bool, *, n_layers: int | None = None
) -> None:
    """Freeze (``trainable=False``) or unfreeze the first ``n_layers`` layers (default: all but the last).

    As in the book, the flag is set per layer. Keras applies it when the model is **compiled**:
    compile again after changing it (a model compiled before the change keeps training the old set
    of variables, see the notebook).
    """
    model = _check_model("model", model)
    if not isinstance(trainable, (bool, np.bool_)):
        raise TypeError(f"trainable must be a bool, got {type(trainable).__name__}")
    n_total = len(model.layers)
    if n_layers is None:
        n_layers = n_total - 1
    n_layers = check_int("n_layers", n_layers, min_value=0)
    if n_layers > n_total:
        raise ValueError(
            f"n_layers must be <= {n_total} (the model's layers), got {n_layers}"
        )
    for layer in model.layers[:n_layers]:
        layer.trainable = bool(trainable)


def trainable_flags(model: keras.Model) -> dict[str, bool]:
    """``{layer name: trainable}`` for every layer of ``model`` (to check a frozen state, e.g. after loading)."""
    model = _check_model("model", model)
    return {layer.name: bool(layer.trainable) for layer in model.layers}


def split_model(
    model: keras.Sequential, n_layers: int
) -> tuple[keras.Sequential, keras.Sequential]:
    """Split ``model`` after its first ``n_layers`` layers into ``(base, top)``, sharing the layers.

    ``top(base(x))`` equals ``model(x)``. With the base frozen, its outputs for the training set can
    be computed once (:func:`cached_features`) and the top trained on them: the book's tip for
    training faster with frozen layers ("you can train the model using the output of the frozen
    layers as inputs"). Since the layers are shared, training ``top`` updates ``model``'s top layers.
    """
    model = _check_sequential("model", model)
    n_total = len(model.layers)
    n_layers = check_int("n_layers", n_layers, min_value=1)
    if n_layers >= n_total:
        raise ValueError(
            f"n_layers must be < {n_total} (the model's layers), got {n_layers}"
        )
    base = keras.Sequential(
        [keras.Input(shape=model.input_shape[1:]), *model.layers[:n_layers]],
        name=f"{model.name}_base",
    )
    top = keras.Sequential(
        [keras.Input(shape=base.output_shape[1:]), *model.layers[n_layers:]],
        name=f"{model.name}_top",
    )
    return base, top


def cached_features(base: keras.Model, x: Any, *, batch_size: int = 1024) -> np.ndarray:
    """The outputs of the (frozen) ``base`` for ``x``, computed once, as a float32 NumPy array."""
    base = _check_model("base", base)
    batch_size = check_int("batch_size", batch_size, min_value=1)
    x = np.asarray(x)
    if x.ndim < 1 or len(x) == 0:
        raise ValueError("x must hold at least one example")
    return np.asarray(predict(base, x, batch_size=batch_size), dtype=np.float32)


def build_autoencoder(
    hidden_units: Sequence[int] = (100, 50),
    *,
    input_shape: Sequence[int] = (28, 28),
    activation: str = "relu",
    seed: int | None = None,
) -> tuple[keras.Sequential, keras.Sequential]:
    """A stacked autoencoder ``(autoencoder, encoder)`` for unsupervised pretraining (ch. 11, "Unsupervised Pretraining").

    The encoder is ``Flatten -> Dense(hidden_units[0]) -> ... -> Dense(hidden_units[-1])`` (the same
    stack as :func:`tdnn.models.build_mlp` without its output layer); the decoder mirrors it back to
    ``input_shape`` with a sigmoid output (pixels in [0, 1]). Train the autoencoder to reproduce its
    inputs, then reuse the encoder's layers for a classifier (:func:`reuse_layers` on a model built
    with the encoder's layers, or ``keras.Sequential([*encoder.layers, Dense(...)])``).
    """
    if (
        isinstance(hidden_units, (int, str, bytes))
        or not isinstance(hidden_units, Sequence)
        or not hidden_units
    ):
        raise TypeError(
            f"hidden_units must be a non-empty sequence of layer widths, got {hidden_units!r}"
        )
    units = [
        check_int(f"hidden_units[{i}]", u, min_value=1) for i, u in enumerate(hidden_units)
    ]
    shape = tuple(
        check_int(f"input_shape[{i}]", d, min_value=1) for i, d in enumerate(input_shape)
    )
    if not shape:
        raise ValueError("input_shape must have at least one dimension")
    if seed is not None:
        keras.utils.set_random_seed(check_int("seed", seed, min_value=0))
    n_in = int(np.prod(shape))
    encoder = keras.Sequential(
        [keras.Input(shape=shape), keras.layers.Flatten()]
        + [keras.layers.Dense(u, activation=activation) for u in units],
        name="encoder",
    )
    decoder = keras.Sequential(
        [keras.Input(shape=(units[-1],))]
        + [keras.layers.Dense(u, activation=activation) for u in units[-2::-1]]
        + [keras.layers.Dense(n_in, activation="sigmoid"), keras.layers.Reshape(shape)],
        name="decoder",
    )
    autoencoder = keras.Sequential(
        [keras.Input(shape=shape), encoder, decoder], name="autoencoder"
    )
    return autoencoder, encoder


def rotation_task(x: Any, *, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A self-supervised task made from the images themselves: which rotation was applied?

    Each image is rotated by ``k`` quarter turns counter-clockwise (``np.rot90``), ``k`` drawn
    uniformly from {0, 1, 2, 3} with ``seed``; returns ``(rotated images, k)``. Solving it needs
    features of the garments' shapes, learned without a single human label (Gidaris et al., 2018).
    """
    x = np.asarray(x)
    if x.ndim != 3 or x.shape[1] != x.shape[2]:
        raise ValueError(f"x must hold square images, shape (n, h, h), got {x.shape}")
    if len(x) == 0:
        raise ValueError("x must hold at least one image")
    seed = check_int("seed", seed, min_value=0)
    k = np.random.default_rng(seed).integers(0, 4, size=len(x))
    rotated = np.empty_like(x)
    for quarter in range(4):
        sel = k == quarter
        rotated[sel] = np.rot90(x[sel], quarter, axes=(1, 2))
    return rotated, k.astype(np.uint8)


def set_layer_weights(layer: keras.layers.Layer, arrays: Sequence[Any]) -> None:
    """Copy NumPy arrays into ``layer`` (``layer.set_weights``), checking count and shapes first.

    Weights from another framework arrive as plain arrays, often laid out differently: a PyTorch
    ``Linear`` stores its weight as ``(out_features, in_features)``, a Keras ``Dense`` kernel is
    ``(in_features, out_features)``. A mismatch raises a ``ValueError`` naming the layer, the
    variable and both shapes (and hints at a transpose when that would fit).
    """
    if not isinstance(layer, keras.layers.Layer):
        raise TypeError(f"layer must be a Keras layer, got {type(layer).__name__}")
    if isinstance(arrays, (np.ndarray, str, bytes)) or not isinstance(arrays, Sequence):
        raise TypeError(
            f"arrays must be a list of arrays (one per weight of layer {layer.name!r})"
        )
    weights = layer.weights
    if len(arrays) != len(weights):
        raise ValueError(
            f"layer {layer.name!r} has {len(weights)} weights "
            f"({', '.join(f'{w.name} {tuple(w.shape)}' for w in weights)}), got {len(arrays)} arrays"
        )
    converted = []
    for w, a in zip(weights, arrays):
        a = np.asarray(a)
        if not (np.issubdtype(a.dtype, np.floating) or np.issubdtype(a.dtype, np.integer)):
            raise TypeError(
                f"layer {layer.name!r}, weight {w.name!r}: expected numbers, got dtype {a.dtype}"
            )
        expected = tuple(w.shape)
        if a.shape != expected:
            hint = " (its transpose would fit: PyTorch stores Linear weights as (out, in))"
            raise ValueError(
                f"layer {layer.name!r}, weight {w.name!r}: expected shape {expected}, got {a.shape}"
                + (hint if a.ndim == 2 and a.shape[::-1] == expected else "")
            )
        converted.append(a.astype(w.dtype))
    layer.set_weights(converted)


def fit_epochs(
    model: keras.Model,
    train: tuple[Any, Any],
    *,
    epochs: int,
    batch_size: int = 25,
    seed: int = 0,
) -> None:
    """Train a compiled ``model`` for ``epochs`` epochs in **one** ``model.fit`` call.

    Equivalent to ``model.fit(x, y, epochs=epochs, batch_size=batch_size, shuffle=True)`` up to the
    random shuffling: every epoch visits the ``n`` training examples once, in an order drawn with
    NumPy from ``seed``, and ``n`` must be a multiple of ``batch_size`` so that no batch straddles
    two epochs. The epochs' orders are concatenated into one stream and fitted as one Keras epoch:
    on a few hundred images, Keras' fixed cost per epoch (a new data iterator, callbacks) is larger
    than the training itself, so this runs many seeds several times faster. Used for the
    many-seed evaluations of chapter 6; the chapter's first runs use plain ``fit``.
    """
    model = _check_model("model", model)
    if not getattr(model, "compiled", False):
        raise ValueError("model must be compiled first (model.compile(...))")
    if not isinstance(train, Sequence) or len(train) != 2:
        raise TypeError(
            f"train must be an (x, y) pair such as data.train, got {type(train).__name__}"
        )
    x, y = np.asarray(train[0]), np.asarray(train[1])
    if len(x) != len(y) or len(x) == 0:
        raise ValueError(
            f"train must hold as many inputs as targets (at least one), got {len(x)} and {len(y)}"
        )
    epochs = check_int("epochs", epochs, min_value=1)
    batch_size = check_int("batch_size", batch_size, min_value=1)
    seed = check_int("seed", seed, min_value=0)
    if len(x) % batch_size:
        raise ValueError(
            f"batch_size must divide the number of training examples ({len(x)}), got {batch_size}"
        )
    rng = np.random.default_rng(seed)
    order = np.concatenate([rng.permutation(len(x)) for _ in range(epochs)])
    # the step traced once per architecture, 32 batches per call (tdnn.traces)
    with on_twin(model, steps_per_execution=32) as trained:
        build_compiled_state(trained, x, y)  # traced once, not twice
        trained.fit(x[order], y[order], batch_size=batch_size, epochs=1, shuffle=False, verbose=0)


def error_rate(y_true: Any, y_prob: Any, *, threshold: float = 0.5) -> float:
    """The error rate of a binary classifier: the fraction of ``y_prob > threshold`` that is wrong."""
    y_true = np.asarray(y_true).reshape(-1)
    y_prob = np.asarray(y_prob).reshape(-1)
    if y_true.shape != y_prob.shape or y_true.size == 0:
        raise ValueError(
            f"y_true and y_prob must hold the same, non-zero number of values, got {y_true.size} and {y_prob.size}"
        )
    if not isinstance(threshold, numbers.Real) or not 0.0 < float(threshold) < 1.0:
        raise ValueError(f"threshold must be in (0, 1), got {threshold!r}")
    return float(np.mean((y_prob > threshold) != (y_true > 0.5)))


def error_ratio(scratch: Any, transfer: Any) -> np.ndarray:
    """Error rate from scratch divided by error rate with transfer ("a factor of four" is 4).

    Element-wise over seeds; a ratio above 1 means transfer learning helped. A zero transfer error
    gives ``inf`` (and zero over zero ``nan``): report such runs rather than hide them.
    """
    s = np.asarray(scratch, dtype=np.float64)
    t = np.asarray(transfer, dtype=np.float64)
    if s.shape != t.shape:
        raise ValueError(
            f"scratch and transfer must have the same shape, got {s.shape} and {t.shape}"
        )
    if (s < 0).any() or (s > 1).any() or (t < 0).any() or (t > 1).any():
        raise ValueError("error rates must be in [0, 1]")
    with np.errstate(divide="ignore", invalid="ignore"):
        return s / t


def transfer_vs_scratch(
    model_a: keras.Sequential,
    task_b: Callable[[int], tuple[tuple[Any, Any], tuple[Any, Any]]],
    *,
    seeds: Iterable[int],
    epochs: int = 20,
    epochs_frozen: int = 4,
    learning_rate: float = 0.01,
    fine_tune_learning_rate: float = 0.001,
    batch_size: int = 25,
    n_hidden: int | None = None,
    fine_tune: bool = True,
    scratch: bool = True,
) -> pd.DataFrame:
    """Test error rates of model B from scratch and of ``model_B_on_A``, one row per seed.

    ``task_b(seed)`` returns ``(train, test)`` pairs of task B for that seed (e.g. a seeded draw of
    the 200 training images). Both models have ``model_a``'s architecture with a new one-unit
    sigmoid output (binary cross-entropy, plain SGD, ``batch_size``):

    - *scratch*: every weight freshly initialized with the seed, trained ``epochs`` epochs at
      ``learning_rate``;
    - *transfer* (the book's recipe): ``model_a``'s hidden layers (copied, never shared) with a new
      output layer initialized with the seed; ``epochs_frozen`` epochs with the reused layers frozen
      at ``learning_rate`` (run as the top layer trained on cached outputs of the frozen layers,
      which is the same computation: see :func:`split_model`), then ``epochs - epochs_frozen``
      epochs with every layer trainable at the lower ``fine_tune_learning_rate``.

    ``n_hidden`` reuses only the lowest hidden layers of ``model_a`` (both models then have that
    many hidden layers); ``fine_tune=False`` keeps the reused layers frozen for all ``epochs``.
    ``scratch=False`` skips the model trained from scratch (no ``scratch`` column), e.g. when the
    same baseline is shared by several settings of the transfer model (:func:`reuse_sweep`).

    Each model is built and compiled once and re-initialized for every seed (:func:`reinitialize`,
    exact with plain SGD), and trained with :func:`fit_epochs`: many seeds stay cheap.
    """
    model_a = _check_sequential("model_a", model_a)
    if not callable(task_b):
        raise TypeError(
            "task_b must be a callable taking a seed and returning (train, test) pairs"
        )
    seeds = [check_int("seeds[i]", s, min_value=0) for s in seeds]
    if not seeds:
        raise ValueError("seeds must hold at least one seed")
    epochs = check_int("epochs", epochs, min_value=2)
    epochs_frozen = check_int("epochs_frozen", epochs_frozen, min_value=1)
    if epochs_frozen >= epochs:
        raise ValueError(f"epochs_frozen must be < epochs ({epochs}), got {epochs_frozen}")
    learning_rate = check_float(
        "learning_rate", learning_rate, min_value=0.0, min_inclusive=False
    )
    fine_tune_learning_rate = check_float(
        "fine_tune_learning_rate",
        fine_tune_learning_rate,
        min_value=0.0,
        min_inclusive=False,
    )
    loss = "binary_crossentropy"
    if not isinstance(fine_tune, (bool, np.bool_)):
        raise TypeError(f"fine_tune must be a bool, got {type(fine_tune).__name__}")
    if not isinstance(scratch, (bool, np.bool_)):
        raise TypeError(f"scratch must be a bool, got {type(scratch).__name__}")
    with_scratch = bool(scratch)
    frozen_epochs = epochs_frozen if fine_tune else epochs
    if with_scratch:
        scratch = reuse_layers(model_a, n_hidden, name="model_B")
        scratch.compile(
            optimizer=keras.optimizers.SGD(learning_rate=learning_rate), loss=loss
        )
    on_a = reuse_layers(model_a, n_hidden, name="model_B_on_A")
    reused = [w.copy() for w in on_a.get_weights()[:-2]]
    on_a.compile(
        optimizer=keras.optimizers.SGD(learning_rate=fine_tune_learning_rate), loss=loss
    )
    base, top = split_model(on_a, len(on_a.layers) - 1)
    top.compile(optimizer=keras.optimizers.SGD(learning_rate=learning_rate), loss=loss)
    rows = []
    for seed in seeds:
        train, test = task_b(seed)
        x_test, y_test = test
        row: dict[str, float] = {"seed": seed}
        if with_scratch:
            reinitialize(scratch, seed=seed)
            fit_epochs(scratch, train, epochs=epochs, batch_size=batch_size, seed=seed)
            row["scratch"] = error_rate(
                y_test, predict(scratch, x_test)
            )
        on_a.set_weights(reused + on_a.get_weights()[-2:])
        reinitialize(on_a, seed=seed, n_layers=1)
        features = cached_features(base, train[0])
        fit_epochs(
            top,
            (features, train[1]),
            epochs=frozen_epochs,
            batch_size=batch_size,
            seed=seed,
        )
        if fine_tune:
            fit_epochs(
                on_a,
                train,
                epochs=epochs - epochs_frozen,
                batch_size=batch_size,
                seed=seed + 1,
            )
        row["transfer"] = error_rate(
            y_test, predict(on_a, x_test)
        )
        rows.append(row)
    return pd.DataFrame(rows)


def reuse_sweep(
    model_a: keras.Sequential,
    task_b: Callable[[int], tuple[tuple[Any, Any], tuple[Any, Any]]],
    *,
    seeds: Iterable[int],
    n_hidden: Sequence[int] | None = None,
    **kwargs: Any,
) -> pd.DataFrame:
    """How many layers to reuse: ``model_B_on_A``'s test error per number of reused layers and mode.

    The book's advice (ch. 11, "Reusing Pretrained Layers"): the more similar the tasks, the more
    layers to reuse; try freezing all reused layers first, then unfreeze the top ones. For each
    ``k`` in ``n_hidden`` (default: 1 to all of ``model_a``'s hidden layers), the lowest ``k``
    hidden layers of ``model_a`` get a new output layer and are either kept frozen (mode
    ``"frozen"``) or fine-tuned with the book's recipe (mode ``"fine-tuned"``), as in
    :func:`transfer_vs_scratch` (whose other keyword arguments ``kwargs`` passes on, except
    ``n_hidden``, ``fine_tune`` and ``scratch``). No scratch baseline is trained here: compare with
    one from :func:`transfer_vs_scratch`. Returns one row per (``layers``, ``mode``, ``seed``)
    with the test ``error``.
    """
    model_a = _check_sequential("model_a", model_a)
    n_max = len(hidden_layer_indices(model_a))
    if n_hidden is None:
        n_hidden = range(1, n_max + 1)
    if isinstance(n_hidden, (int, str, bytes)) or not isinstance(n_hidden, Iterable):
        raise TypeError(f"n_hidden must be a sequence of layer counts, got {n_hidden!r}")
    counts = [check_int("n_hidden[i]", k, min_value=1) for k in n_hidden]
    if not counts or max(counts) > n_max:
        raise ValueError(
            f"n_hidden must hold counts between 1 and {n_max} (model_a's hidden layers), "
            f"got {counts}"
        )
    clash = {"n_hidden", "fine_tune", "scratch"} & set(kwargs)
    if clash:
        raise TypeError(f"reuse_sweep sets {', '.join(sorted(clash))} itself")
    seeds = list(seeds)
    frames = []
    for k in counts:
        for mode, fine_tune in (("frozen", False), ("fine-tuned", True)):
            r = transfer_vs_scratch(
                model_a,
                task_b,
                seeds=seeds,
                n_hidden=k,
                fine_tune=fine_tune,
                scratch=False,
                **kwargs,
            )
            frames.append(
                pd.DataFrame(
                    {"layers": k, "mode": mode, "seed": r["seed"], "error": r["transfer"]}
                )
            )
    return pd.concat(frames, ignore_index=True)


def draw_labelled(y: Any, n: int, *, seed: int, balanced: bool = False) -> np.ndarray:
    """The (sorted) indices of ``n`` examples to label, drawn from the labels ``y`` with ``seed``.

    The few labels of a label budget (ch. 11, "Unsupervised Pretraining": many unlabelled images,
    few labelled ones). ``balanced=False``: ``n`` examples drawn uniformly
    without replacement; ``balanced=True``: ``n // c`` of each of the ``c`` classes present in
    ``y`` (``n`` must then be a multiple of ``c``), which removes the luck of a draw that misses a
    class -- at 50 labels a uniform draw often has only one or two images of some class. The draw
    depends on ``seed`` and ``n`` only, so every method compared on a budget sees the same labels.
    """
    y = np.asarray(y)
    if y.ndim != 1 or len(y) == 0:
        raise ValueError(f"y must be a non-empty 1-D array of labels, got shape {y.shape}")
    n = check_int("n", n, min_value=1)
    seed = check_int("seed", seed, min_value=0)
    if not isinstance(balanced, (bool, np.bool_)):
        raise TypeError(f"balanced must be a bool, got {type(balanced).__name__}")
    if n > len(y):
        raise ValueError(f"n must be <= {len(y)} (the examples in y), got {n}")
    rng = np.random.default_rng([seed, n])
    if not balanced:
        return np.sort(rng.choice(len(y), n, replace=False))
    classes = np.unique(y)
    if n % len(classes):
        raise ValueError(
            f"n must be a multiple of the number of classes ({len(classes)}) when balanced, got {n}"
        )
    per_class = n // len(classes)
    picks = []
    for c in classes:
        members = np.flatnonzero(y == c)
        if per_class > len(members):
            raise ValueError(
                f"n asks for {per_class} examples of class {c}, which has {len(members)}"
            )
        picks.append(rng.choice(members, per_class, replace=False))
    return np.sort(np.concatenate(picks))


def compare_on_budgets(
    classifiers: Mapping[str, tuple[keras.Model, int | None]],
    train: tuple[Any, Any],
    test: tuple[Any, Any],
    *,
    budgets: Sequence[int],
    seeds: Iterable[int],
    learning_rate: float = 0.05,
    batch_size: int = 25,
    min_epochs: int = 10,
    min_steps: int = 320,
    balanced: bool = False,
) -> pd.DataFrame:
    """Test accuracy of classifiers trained on few labels, per label budget and seed (ch. 11, "Unsupervised Pretraining").

    ``classifiers`` maps a name to ``(model, n_fresh)``: a softmax classifier whose lower layers may
    come from pretraining, and how many of its last layers start fresh for every seed (``None``:
    all of them, i.e. training from scratch). For each budget ``n`` and seed, the model is reset to
    its pretrained weights, its ``n_fresh`` top layers are re-drawn (:func:`reinitialize`), and
    it is trained (plain SGD, sparse categorical cross-entropy, every layer trainable) on ``n``
    labelled examples drawn from ``train`` with the seed (:func:`draw_labelled`, ``balanced``:
    as many of each class), for ``max(min_epochs, min_steps /
    steps per epoch)`` epochs (fewer labels: more epochs, so every budget gets at least
    ``min_steps`` updates). Returns one row per (name, budget, seed) with the test ``accuracy``;
    the models are left with the weights they had on entry.
    """
    if not isinstance(classifiers, Mapping) or not classifiers:
        raise ValueError(
            "classifiers must be a non-empty mapping of name -> (model, n_fresh)"
        )
    x, y = np.asarray(train[0]), np.asarray(train[1])
    x_test, y_test = np.asarray(test[0]), np.asarray(test[1])
    budgets = [check_int("budgets[i]", b, min_value=1) for b in budgets]
    if len(x) != len(y):
        raise ValueError(
            f"train must hold as many inputs as labels, got {len(x)} and {len(y)}"
        )
    if not budgets or max(budgets) > len(x):
        raise ValueError(
            f"budgets must be non-empty and at most {len(x)} (the training examples)"
        )
    seeds = [check_int("seeds[i]", s, min_value=0) for s in seeds]
    if not seeds:
        raise ValueError("seeds must hold at least one seed")
    learning_rate = check_float(
        "learning_rate", learning_rate, min_value=0.0, min_inclusive=False
    )
    batch_size = check_int("batch_size", batch_size, min_value=1)
    min_epochs = check_int("min_epochs", min_epochs, min_value=1)
    min_steps = check_int("min_steps", min_steps, min_value=1)
    prepared = {}
    for name, entry in classifiers.items():
        if not isinstance(entry, tuple) or len(entry) != 2:
            raise TypeError(f"classifiers[{name!r}] must be a (model, n_fresh) pair")
        model, n_fresh = entry
        _check_model(f"classifiers[{name!r}][0]", model)
        model.compile(
            optimizer=keras.optimizers.SGD(learning_rate=learning_rate),
            loss="sparse_categorical_crossentropy",
        )
        prepared[name] = (model, n_fresh, [w.copy() for w in model.get_weights()])
    rows = []
    for n in budgets:
        steps_per_epoch = max(1, n // batch_size)
        epochs = max(min_epochs, -(-min_steps // steps_per_epoch))
        for seed in seeds:
            idx = draw_labelled(y, n, seed=seed, balanced=balanced)
            for name, (model, n_fresh, initial) in prepared.items():
                model.set_weights(initial)
                reinitialize(model, seed=seed, n_layers=n_fresh)
                fit_epochs(
                    model, (x[idx], y[idx]), epochs=epochs, batch_size=batch_size, seed=seed
                )
                pred = np.argmax(predict(model, x_test), axis=1)
                rows.append(
                    {
                        "model": name,
                        "labels": n,
                        "seed": seed,
                        "accuracy": float(np.mean(pred == y_test)),
                    }
                )
    for model, _, initial in prepared.values():
        model.set_weights(initial)  # leave the models as they were given
    return pd.DataFrame(rows)
