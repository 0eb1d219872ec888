"""Pretraining without labels (ch. 11, "Unsupervised Pretraining", "Pretraining on an Auxiliary Task").

When labels are few but unlabelled images are many, the book suggests training the lower layers
on a task that needs no human labels, then reusing them for the real task:

- :func:`pretrain_autoencoder`: an autoencoder learns to reproduce its inputs (optionally from
  corrupted copies: a *denoising* autoencoder); its encoder is the pretrained part.
- :func:`pretrain_rotation`: a self-supervised auxiliary task made from the images themselves
  (which quarter turn was applied? :func:`tdnn.transfer.rotation_task`); its hidden layers are the
  pretrained part.
- :func:`classifier_on`: a softmax classifier on top of a copy of the pretrained layers, to be
  fine-tuned on the few labels (:func:`tdnn.transfer.compare_on_budgets`).
- :func:`linear_probe` and :func:`probe_on_budgets`: the pretrained layers frozen and only a
  softmax regression trained on their (cached) outputs -- a convex problem, solved here in NumPy
  float64, so that its answer depends on the features and the labels only.

The label draws are those of :func:`tdnn.transfer.draw_labelled`, shared with
:func:`tdnn.transfer.compare_on_budgets`, so that every method of a comparison sees the same labels
for a given budget and seed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from tdnn._tf import import_tensorflow
from tdnn._validate import check_float, check_int
from tdnn.traces import build_compiled_state, on_twin
from tdnn.training import epoch_steps
from tdnn.transfer import (
    build_autoencoder,
    clone_with_weights,
    draw_labelled,
    rotation_task,
)

import_tensorflow()
import keras  # noqa: E402

__all__ = [
    "classifier_on",
    "linear_probe",
    "pretrain_autoencoder",
    "pretrain_rotation",
    "probe_accuracy",
    "probe_on_budgets",
    "standardize",
]


def _check_images(name: str, x: Any) -> np.ndarray:
    x = np.asarray(x)
    if x.ndim < 2 or len(x) == 0:
        raise ValueError(
            f"{name} must hold at least one example, shape (n, ...), got {x.shape}"
        )
    if not np.issubdtype(x.dtype, np.floating):
        raise TypeError(f"{name} must hold floating-point pixels, got dtype {x.dtype}")
    return x


def _fit_quietly(
    model: keras.Model,
    x: np.ndarray,
    y: np.ndarray,
    *,
    epochs: int,
    batch_size: int,
    seed: int,
) -> None:
    keras.utils.set_random_seed(seed)
    # the step traced once per architecture, 32 batches per call (tdnn.traces)
    with on_twin(model, steps_per_execution=32) as trained:
        build_compiled_state(trained, x, y)  # traced once, not twice
        trained.fit(
            x,
            y,
            epochs=epochs,
            batch_size=batch_size,
            steps_per_epoch=epoch_steps(len(x), batch_size),  # one data iterator per epoch, not two
            shuffle=True,
            verbose=0,
        )


def pretrain_autoencoder(
    x: Any,
    hidden_units: Sequence[int] = (100, 50),
    *,
    epochs: int = 5,
    batch_size: int = 128,
    learning_rate: float = 1e-3,
    noise: float = 0.0,
    seed: int = 0,
) -> tuple[keras.Sequential, keras.Sequential]:
    """Train an autoencoder on the unlabelled images ``x``; return ``(autoencoder, encoder)``.

    The autoencoder (:func:`tdnn.transfer.build_autoencoder`) minimizes the mean squared
    reconstruction error :math:`\\frac{1}{n}\\sum_i \\lVert \\mathbf x_i - g(f(\\mathbf x_i))\\rVert^2`
    (averaged over pixels too) with Adam at ``learning_rate``. With ``noise > 0`` it is a
    *denoising* autoencoder: its inputs are copies of ``x`` with Gaussian noise of standard
    deviation ``noise`` (clipped to [0, 1], drawn once with ``seed``), its targets the clean
    images. The encoder ``f`` (``Flatten`` and the ``hidden_units`` layers, shared with the
    autoencoder) is what a classifier reuses (:func:`classifier_on`).
    """
    x = _check_images("x", x)
    epochs = check_int("epochs", epochs, min_value=1)
    batch_size = check_int("batch_size", batch_size, min_value=1)
    learning_rate = check_float(
        "learning_rate", learning_rate, min_value=0.0, min_inclusive=False
    )
    noise = check_float("noise", noise, min_value=0.0)
    seed = check_int("seed", seed, min_value=0)
    autoencoder, encoder = build_autoencoder(
        hidden_units, input_shape=x.shape[1:], seed=seed
    )
    autoencoder.compile(
        optimizer=keras.optimizers.Adam(learning_rate=learning_rate), loss="mse"
    )
    inputs = x
    if noise > 0:
        rng = np.random.default_rng(seed)
        inputs = np.clip(x + rng.normal(0.0, noise, x.shape), 0.0, 1.0).astype(x.dtype)
    _fit_quietly(autoencoder, inputs, x, epochs=epochs, batch_size=batch_size, seed=seed)
    return autoencoder, encoder


def pretrain_rotation(
    x: Any,
    hidden_units: Sequence[int] = (100, 50),
    *,
    epochs: int = 5,
    batch_size: int = 128,
    learning_rate: float = 1e-3,
    seed: int = 0,
) -> tuple[keras.Sequential, keras.Sequential]:
    """Train an MLP to tell which quarter turn rotated each image of ``x``: ``(network, encoder)``.

    The book's "Pretraining on an Auxiliary Task": the labels of the auxiliary task are made from
    the data itself (:func:`tdnn.transfer.rotation_task`: each image rotated by 0, 90, 180 or 270
    degrees, the network predicts which), so it needs no human labels. The network is
    ``Flatten -> hidden_units (ReLU) -> Dense(4, softmax)``, trained with Adam (sparse categorical
    cross-entropy, compiled with an ``accuracy`` metric); the returned encoder holds its
    ``Flatten`` and hidden layers (shared with the network), without the rotation output layer.
    """
    x = _check_images("x", x)
    epochs = check_int("epochs", epochs, min_value=1)
    batch_size = check_int("batch_size", batch_size, min_value=1)
    learning_rate = check_float(
        "learning_rate", learning_rate, min_value=0.0, min_inclusive=False
    )
    seed = check_int("seed", seed, min_value=0)
    rotated, quarter_turns = rotation_task(x, seed=seed)
    # the encoder has the same layers as an autoencoder's: reuse its builder
    _, encoder = build_autoencoder(hidden_units, input_shape=x.shape[1:], seed=seed)
    network = keras.Sequential(
        [
            keras.Input(shape=x.shape[1:]),
            *encoder.layers,
            keras.layers.Dense(4, activation="softmax", name="rotation"),
        ],
        name="rotation_net",
    )
    network.compile(
        optimizer=keras.optimizers.Adam(learning_rate=learning_rate),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    _fit_quietly(
        network, rotated, quarter_turns, epochs=epochs, batch_size=batch_size, seed=seed
    )
    return network, encoder


def classifier_on(
    encoder: keras.Sequential, n_classes: int, *, name: str | None = None
) -> keras.Sequential:
    """A softmax classifier: a **copy** of ``encoder``'s layers (own variables) + a new output layer.

    The pretrained encoder itself is left alone (:func:`tdnn.transfer.clone_with_weights`), so it
    can serve several classifiers and the linear probe. With ``n_fresh=1`` in
    :func:`tdnn.transfer.compare_on_budgets`, only the new output layer is re-drawn for each seed.
    """
    if not isinstance(encoder, keras.Sequential):
        raise TypeError(
            f"encoder must be a keras.Sequential model, got {type(encoder).__name__}"
        )
    n_classes = check_int("n_classes", n_classes, min_value=2)
    copy = clone_with_weights(encoder)
    return keras.Sequential(
        [
            keras.Input(shape=encoder.input_shape[1:]),
            *copy.layers,
            keras.layers.Dense(n_classes, activation="softmax", name="new_output"),
        ],
        name=name or f"{encoder.name}_classifier",
    )


def standardize(features: Any, reference: Any, *, eps: float = 1e-3) -> np.ndarray:
    """``(features - mean) / (std + eps)``, with the per-feature mean and std of ``reference``.

    The statistics come from the unlabelled set (``reference``), not from the few labelled
    examples; a constant feature (a dead ReLU) becomes 0 instead of a division by zero.
    """
    f = np.asarray(features, dtype=np.float64)
    r = np.asarray(reference, dtype=np.float64)
    if f.ndim != 2 or r.ndim != 2 or f.shape[1] != r.shape[1] or len(r) == 0:
        raise ValueError(
            "features and reference must be 2-D with the same number of columns, "
            f"got {f.shape} and {r.shape}"
        )
    eps = check_float("eps", eps, min_value=0.0, min_inclusive=False)
    return (f - r.mean(axis=0)) / (r.std(axis=0) + eps)


def linear_probe(
    features: Any,
    labels: Any,
    *,
    n_classes: int,
    l2: float = 1e-2,
    steps: int = 300,
    learning_rate: float = 0.1,
    momentum: float = 0.9,
) -> tuple[np.ndarray, np.ndarray]:
    """Softmax regression on fixed features, in NumPy float64; returns ``(W, b)``.

    Minimizes the cross-entropy of :math:`\\operatorname{softmax}(\\mathbf z \\mathbf W + \\mathbf b)`
    plus :math:`\\frac{\\lambda}{2}\\lVert\\mathbf W\\rVert^2` (``l2``) by full-batch gradient descent
    with momentum (``steps`` steps from zero weights). The problem is convex: no initialization,
    no seed. It is the *linear probe* of pretrained features: the pretrained layers are frozen and
    only this output layer is trained (the book's first phase of transfer learning, run to the end).
    """
    x = np.asarray(features, dtype=np.float64)
    y = np.asarray(labels)
    if x.ndim != 2 or len(x) == 0:
        raise ValueError(f"features must be a non-empty 2-D array, got shape {x.shape}")
    if y.shape != (len(x),):
        raise ValueError(
            f"labels must hold one class index per row of features ({len(x)}), got shape {y.shape}"
        )
    n_classes = check_int("n_classes", n_classes, min_value=2)
    if not np.issubdtype(y.dtype, np.integer) or y.min() < 0 or y.max() >= n_classes:
        raise ValueError(f"labels must be integers in [0, {n_classes})")
    l2 = check_float("l2", l2, min_value=0.0)
    steps = check_int("steps", steps, min_value=1)
    learning_rate = check_float(
        "learning_rate", learning_rate, min_value=0.0, min_inclusive=False
    )
    momentum = check_float(
        "momentum", momentum, min_value=0.0, max_value=1.0, max_inclusive=False
    )
    one_hot = np.eye(n_classes)[y]
    w = np.zeros((x.shape[1], n_classes))
    b = np.zeros(n_classes)
    vw, vb = np.zeros_like(w), np.zeros_like(b)
    for _ in range(steps):
        z = x @ w + b
        z -= z.max(axis=1, keepdims=True)
        p = np.exp(z)
        p /= p.sum(axis=1, keepdims=True)
        g = (p - one_hot) / len(x)
        vw = momentum * vw - learning_rate * (x.T @ g + l2 * w)
        vb = momentum * vb - learning_rate * g.sum(axis=0)
        w += vw
        b += vb
    return w, b


def probe_accuracy(
    weights: tuple[np.ndarray, np.ndarray], features: Any, labels: Any
) -> float:
    """Accuracy of a :func:`linear_probe` ``(W, b)`` on ``features`` with true ``labels``."""
    w, b = weights
    x = np.asarray(features, dtype=np.float64)
    y = np.asarray(labels)
    if x.ndim != 2 or x.shape[1] != w.shape[0] or len(x) != len(y) or len(x) == 0:
        raise ValueError(
            f"features must have shape (n, {w.shape[0]}) with one label per row, "
            f"got {x.shape} and {y.shape}"
        )
    return float(np.mean(np.argmax(x @ w + b, axis=1) == y))


def probe_on_budgets(
    features: Mapping[str, tuple[Any, Any]],
    y_train: Any,
    y_test: Any,
    *,
    budgets: Sequence[int],
    seeds: Iterable[int],
    balanced: bool = True,
    **probe_kwargs: Any,
) -> pd.DataFrame:
    """Test accuracy of linear probes trained on few labels, per feature set, budget and seed.

    ``features`` maps a name to ``(train features, test features)`` (e.g. a frozen encoder's
    cached, standardized outputs, or the raw pixels); for each budget ``n`` and seed, the ``n``
    labelled examples are those :func:`tdnn.transfer.draw_labelled` draws (the same as in
    :func:`tdnn.transfer.compare_on_budgets` with the same ``balanced``), and a
    :func:`linear_probe` (``probe_kwargs``) is trained on their features. Returns one row per
    (``model``, ``labels``, ``seed``) with the test ``accuracy``, like ``compare_on_budgets``.
    """
    if not isinstance(features, Mapping) or not features:
        raise ValueError(
            "features must be a non-empty mapping of name -> (train, test) features"
        )
    y_train, y_test = np.asarray(y_train), np.asarray(y_test)
    n_classes = int(max(y_train.max(), y_test.max())) + 1
    checked = {}
    for name, pair in features.items():
        if not isinstance(pair, tuple) or len(pair) != 2:
            raise TypeError(f"features[{name!r}] must be a (train, test) pair")
        f_train, f_test = np.asarray(pair[0]), np.asarray(pair[1])
        if len(f_train) != len(y_train) or len(f_test) != len(y_test):
            raise ValueError(
                f"features[{name!r}] must have one row per label: {len(y_train)} train and "
                f"{len(y_test)} test rows, got {len(f_train)} and {len(f_test)}"
            )
        checked[name] = (f_train, f_test)
    budgets = [check_int("budgets[i]", n, min_value=1) for n in budgets]
    seeds = [check_int("seeds[i]", s, min_value=0) for s in seeds]
    if not budgets or not seeds:
        raise ValueError("budgets and seeds must each hold at least one value")
    rows = []
    for n in budgets:
        for seed in seeds:
            idx = draw_labelled(y_train, n, seed=seed, balanced=balanced)
            for name, (f_train, f_test) in checked.items():
                weights = linear_probe(
                    f_train[idx], y_train[idx], n_classes=n_classes, **probe_kwargs
                )
                rows.append(
                    {
                        "model": name,
                        "labels": n,
                        "seed": seed,
                        "accuracy": probe_accuracy(weights, f_test, y_test),
                    }
                )
    return pd.DataFrame(rows)
