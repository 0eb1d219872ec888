"""The chapter's practical exercise (HOML 3rd ed., ch. 11, exercise 8), as a graded assignment.

The book's exercise trains a deep net (20 hidden layers of 100 neurons) on CIFAR-10: with He
initialization, ELU and Nadam and early stopping (a); with Batch Normalization (b); with SELU and
the changes self-normalization needs (c); with alpha dropout, then MC dropout without retraining
(d); and with 1cycle scheduling (e). ``notebooks/exercises/ex03_deep_net_practice`` adapts it to
Fashion-MNIST. There a student writes small *builder* functions; this module trains and evaluates
what they return, and grades it:

* :func:`train_net` builds the model, trains it with early stopping (restoring the best weights)
  or with the student's callbacks, and returns a :class:`PracticeRun` (accuracy, epochs, time to
  the best epoch, time per epoch). A builder that is still a stub (``...``), returns ``None`` or
  something else than a Keras model, or raises, is *refused*: the run is marked unfinished and a
  message says what to fix, so that the student notebook runs top to bottom while its checks fail.
* :func:`describe_net` reads an architecture back (hidden ``Dense`` widths, their activations and
  initializers, BN and dropout layers, the optimizer); :func:`check_net` and :func:`check_run`
  grade it and give a hint on failure, never the answer.
* :func:`mc_accuracy` evaluates MC dropout (Gal & Ghahramani, 2016) with the student's
  ``mc_predict``; :func:`check_mc_predict`, :func:`check_standardize` and :func:`check_one_cycle`
  grade the small functions of parts (c)-(e).
* :func:`runs_table` is the comparison table the notebook prints.

Every ``check_*`` function returns ``None`` when the answer is right and raises
``AssertionError`` with a hint otherwise (one line per otter test case, as in
:mod:`tdnn.assignments`).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from tdnn._tf import import_tensorflow
from tdnn._validate import check_float, check_int
from tdnn.data import Dataset, Split

import_tensorflow()
import keras  # noqa: E402

__all__ = [
    "HIDDEN_LAYERS",
    "HIDDEN_UNITS",
    "NetSummary",
    "PracticeRun",
    "check_mc_predict",
    "check_net",
    "check_net_shape",
    "check_one_cycle",
    "check_report",
    "check_run",
    "check_standardize",
    "describe_net",
    "initializer_name",
    "mc_accuracy",
    "runs_table",
    "train_net",
]

HIDDEN_LAYERS = 20
HIDDEN_UNITS = 100

_ACTIVATION_LAYERS = {
    "ELU": "elu",
    "ReLU": "relu",
    "LeakyReLU": "leaky_relu",
    "PReLU": "prelu",
    "Softmax": "softmax",
}


# ---------------------------------------------------------------------------------------------
# reading an architecture back


def initializer_name(initializer: Any) -> str:
    """The book's name of a Keras kernel initializer: ``"he_normal"``, ``"lecun_normal"``, ...

    Reads the ``VarianceScaling`` configuration (scale 2 with fan-in is He, scale 1 with fan-in is
    LeCun, scale 1 with the average fan is Glorot: Table 11-1), so that ``"he_normal"`` and
    ``VarianceScaling(2.0, "fan_in", "truncated_normal")`` read the same. Other initializers give
    their snake-case class name (``"random_normal"``, ``"zeros"``, ...).
    """
    if isinstance(initializer, str):
        initializer = keras.initializers.get(initializer)
    if isinstance(initializer, keras.initializers.VarianceScaling):
        scale = float(initializer.scale)
        mode, dist = initializer.mode, initializer.distribution
        family = {(2.0, "fan_in"): "he", (1.0, "fan_in"): "lecun", (1.0, "fan_avg"): "glorot"}
        name = family.get((scale, mode))
        if name is not None:
            return f"{name}_{'uniform' if dist == 'uniform' else 'normal'}"
        return f"variance_scaling(scale={scale:g}, mode={mode}, distribution={dist})"
    if initializer is None:
        return "none"
    cls = type(initializer).__name__
    return "".join("_" + c.lower() if c.isupper() else c for c in cls).lstrip("_")


def _activation_name(activation: Any) -> str:
    if activation is None:
        return "linear"
    if isinstance(activation, str):
        return activation
    name = getattr(activation, "__name__", None)
    if name is None:
        try:
            name = keras.activations.serialize(activation)
        except (TypeError, ValueError):  # pragma: no cover - exotic callables
            name = type(activation).__name__
    return str(name)


def _flat_layers(model: keras.Model) -> list[Any]:
    out: list[Any] = []
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            out += _flat_layers(layer)
        else:
            out.append(layer)
    return out


@dataclass(frozen=True)
class NetSummary:
    """What :func:`describe_net` reads from a model (hidden layers are the ``Dense`` layers but the
    last one, which is the output layer)."""

    hidden_widths: tuple[int, ...]
    hidden_activations: tuple[str, ...]
    hidden_initializers: tuple[str, ...]
    output_units: int | None
    output_activation: str | None
    n_batch_norm: int
    alpha_dropout_rates: tuple[float, ...]
    dropout_rates: tuple[float, ...]
    n_regularized: int
    sequential: bool
    optimizer: str | None


def describe_net(model: keras.Model) -> NetSummary:
    """Read back the architecture of a Fashion-MNIST classifier built for exercise 8.

    A hidden layer's activation is its ``Dense`` activation or, when that is linear (BN placed
    before the activation), the next ``Activation``/``ELU``/... layer's. ``optimizer`` is the class
    name of the optimizer the model was compiled with (``None`` if it is not compiled).
    """
    if not isinstance(model, keras.Model):
        raise TypeError(f"model must be a keras.Model, got {type(model).__name__}")
    layers = _flat_layers(model)
    dense_idx = [i for i, layer in enumerate(layers) if isinstance(layer, keras.layers.Dense)]
    hidden = dense_idx[:-1]
    widths, activations, inits = [], [], []
    for pos, i in enumerate(hidden):
        layer = layers[i]
        widths.append(int(layer.units))
        inits.append(initializer_name(layer.kernel_initializer))
        act = _activation_name(layer.activation)
        if act == "linear":
            end = hidden[pos + 1] if pos + 1 < len(hidden) else dense_idx[-1]
            for nxt in layers[i + 1 : end]:
                if isinstance(nxt, keras.layers.Activation):
                    act = _activation_name(nxt.activation)
                    break
                if type(nxt).__name__ in _ACTIVATION_LAYERS:
                    act = _ACTIVATION_LAYERS[type(nxt).__name__]
                    break
        activations.append(act)
    out = layers[dense_idx[-1]] if dense_idx else None
    optimizer = getattr(model, "optimizer", None)
    return NetSummary(
        hidden_widths=tuple(widths),
        hidden_activations=tuple(activations),
        hidden_initializers=tuple(inits),
        output_units=int(out.units) if out is not None else None,
        output_activation=_activation_name(out.activation) if out is not None else None,
        n_batch_norm=sum(isinstance(x, keras.layers.BatchNormalization) for x in layers),
        alpha_dropout_rates=tuple(
            float(x.rate) for x in layers if isinstance(x, keras.layers.AlphaDropout)
        ),
        dropout_rates=tuple(
            float(x.rate)
            for x in layers
            if isinstance(x, keras.layers.Dropout) and not isinstance(x, keras.layers.AlphaDropout)
        ),
        n_regularized=sum(
            getattr(x, "kernel_regularizer", None) is not None
            or getattr(x, "kernel_constraint", None) is not None
            for x in layers
        ),
        sequential=isinstance(model, keras.Sequential)
        and all(not isinstance(x, keras.Model) for x in model.layers),
        optimizer=type(optimizer).__name__ if optimizer is not None else None,
    )


# ---------------------------------------------------------------------------------------------
# training a student's builder


@dataclass
class PracticeRun:
    """The outcome of :func:`train_net`: a finished run, or the reason it was refused.

    ``best_epoch`` is the epoch whose weights the model ends with (the best validation loss under
    early stopping, the last epoch otherwise); ``seconds`` are wall-clock, ``cpu_seconds`` the
    process' CPU time (all threads), which other programs running at the same time inflate less.
    """

    label: str
    finished: bool = False
    message: str = ""
    model: Any = None
    history: pd.DataFrame | None = None
    epochs: int = 0
    best_epoch: int = 0
    valid_accuracy: float = float("nan")
    seconds: float = float("nan")
    cpu_seconds: float = float("nan")
    seconds_to_best: float = float("nan")
    inputs: Callable[[np.ndarray], np.ndarray] | None = field(default=None, repr=False)

    def _steady(self, column: str) -> float:
        if not self.finished or self.history is None or column not in self.history:
            return float("nan")
        values = self.history[column].to_numpy(dtype=np.float64)
        return float(np.median(values[1:] if len(values) > 1 else values))

    @property
    def seconds_per_epoch(self) -> float:
        """Wall time of one epoch: the median over the epochs after the first (the first also
        builds the training graph, a one-time cost that would hide the cost of an epoch)."""
        return self._steady("seconds")

    @property
    def cpu_seconds_per_epoch(self) -> float:
        """CPU time of one epoch (process time, all threads), the median over the epochs after
        the first, like :attr:`seconds_per_epoch`."""
        return self._steady("cpu_seconds")

    def __str__(self) -> str:
        if not self.finished:
            return f"{self.label}: not run. {self.message}"
        from tdnn.training import format_duration

        return (
            f"{self.label}: valid accuracy {self.valid_accuracy:.3f} at epoch {self.best_epoch} "
            f"of {self.epochs}, {format_duration(self.seconds_to_best)} to the best epoch"
        )


class _EpochTimer(keras.callbacks.Callback):
    """Wall and CPU (process) time of every epoch."""

    def __init__(self) -> None:
        super().__init__()
        self.seconds: list[float] = []
        self.cpu_seconds: list[float] = []
        self._start = (0.0, 0.0)

    def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
        self._start = (time.perf_counter(), time.process_time())

    def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
        self.seconds.append(time.perf_counter() - self._start[0])
        self.cpu_seconds.append(time.process_time() - self._start[1])


def _refuse(label: str, message: str) -> PracticeRun:
    run = PracticeRun(label=label, finished=False, message=message)
    print(str(run))
    return run


def _is_stub(value: Any) -> bool:
    return value is None or value is Ellipsis


def _transform(label: str, inputs: Any, x: np.ndarray, name: str) -> tuple[np.ndarray | None, str]:
    """Apply the student's input transform to ``x``; return ``(x, "")`` or ``(None, message)``."""
    if inputs is None:
        return x, ""
    if not callable(inputs):
        return None, f"inputs must be a function of the images (got {type(inputs).__name__})."
    try:
        out = inputs(x)
    except NotImplementedError:
        return None, f"{name} is not implemented yet: replace the `...` with your code."
    except Exception as exc:  # the student's code raised: say where
        return None, f"{name} raised {type(exc).__name__}: {exc}"
    if _is_stub(out):
        return None, f"{name} returned {out!r}: write the function first (it must return an array)."
    try:
        out = np.asarray(out, dtype=np.float32)
    except (TypeError, ValueError):
        return None, f"{name} must return an array of numbers, got {type(out).__name__}."
    if out.shape != x.shape:
        return None, f"{name} returned shape {out.shape} for images of shape {x.shape}."
    if not np.all(np.isfinite(out)):
        return None, f"{name} returned NaN or inf values (a division by a zero standard deviation?)."
    return out, ""


def _check_split(name: str, split: Any) -> Split:
    if not isinstance(split, tuple) or len(split) != 2:
        raise TypeError(f"{name} must be a tdnn.data.Split (x, y), got {type(split).__name__}")
    return Split(*split)


def train_net(
    build: Any,
    data: Dataset,
    *,
    label: str,
    epochs: int,
    patience: int | None = 5,
    batch_size: int = 32,
    inputs: Callable[[np.ndarray], np.ndarray] | None = None,
    inputs_name: str = "standardize",
    callbacks: Any = (),
    seed: int = 42,
) -> PracticeRun:
    """Build a student's model with ``build()`` and train it on ``data`` (exercise 8 of ch. 11).

    The model ``build()`` returns must be a compiled Keras model with 10 outputs; it is recompiled
    with the same optimizer, the sparse categorical cross-entropy and the accuracy metric (the
    student chooses the optimizer; the loss is not part of the exercise). Training runs for at most
    ``epochs`` epochs at ``batch_size`` with ``EarlyStopping(patience=patience,
    restore_best_weights=True)`` on the validation loss (``patience=None``: no early stopping,
    e.g. under 1cycle, which sets the whole schedule in advance), plus the student's
    ``callbacks``. ``inputs`` (e.g. the student's ``standardize``) transforms the images of every
    split first. ``seed`` reseeds everything before building.

    Student mistakes never raise: a stub or a wrong value gives an unfinished :class:`PracticeRun`
    whose message (also printed) says what to fix. Wrong arguments from the notebook itself
    (``epochs=0``, ...) raise ``ValueError``/``TypeError`` as usual.
    """
    if not isinstance(label, str) or not label:
        raise ValueError("label must be a non-empty string")
    if not isinstance(data, Dataset):
        raise TypeError(f"data must be a tdnn.data.Dataset, got {type(data).__name__}")
    epochs = check_int("epochs", epochs, min_value=1)
    if patience is not None:
        patience = check_int("patience", patience, min_value=1)
    batch_size = check_int("batch_size", batch_size, min_value=1)
    seed = check_int("seed", seed, min_value=0)
    fname = getattr(build, "__name__", "the builder")
    if not callable(build):
        return _refuse(label, f"the builder must be a function; got {type(build).__name__}.")
    train, valid = _check_split("data.train", data.train), _check_split("data.valid", data.valid)
    x_train, msg = _transform(label, inputs, train.x, inputs_name)
    if msg:
        return _refuse(label, msg)
    x_valid, msg = _transform(label, inputs, valid.x, inputs_name)
    if msg:
        return _refuse(label, msg)
    if _is_stub(callbacks):
        return _refuse(label, "callbacks is not set yet: replace the `...` with a list of callbacks.")
    if isinstance(callbacks, keras.callbacks.Callback):
        callbacks = [callbacks]
    if not isinstance(callbacks, Iterable) or isinstance(callbacks, (str, bytes)):
        return _refuse(label, f"callbacks must be a list of Keras callbacks, got {type(callbacks).__name__}.")
    callbacks = list(callbacks)
    for cb in callbacks:
        if not isinstance(cb, keras.callbacks.Callback):
            return _refuse(label, f"callbacks must hold Keras callbacks; got {type(cb).__name__}.")

    keras.utils.set_random_seed(seed)
    try:
        model = build()
    except NotImplementedError:
        return _refuse(label, f"{fname} is not implemented yet: replace the `...` with your code.")
    except Exception as exc:  # the student's code raised: say where, not how to fix it
        return _refuse(label, f"{fname}() raised {type(exc).__name__}: {exc}")
    if _is_stub(model):
        return _refuse(label, f"{fname}() returned {model!r}: it must return a compiled Keras model.")
    if not isinstance(model, keras.Model):
        return _refuse(label, f"{fname}() must return a Keras model, got {type(model).__name__}.")
    optimizer = getattr(model, "optimizer", None)
    if optimizer is None or not isinstance(optimizer, keras.optimizers.Optimizer):
        return _refuse(label, f"{fname}() returned a model that is not compiled: call model.compile(...).")
    try:
        model.compile(
            optimizer=optimizer, loss="sparse_categorical_crossentropy", metrics=["accuracy"]
        )
        n_out = model.outputs[0].shape[-1] if getattr(model, "outputs", None) else None
    except Exception as exc:
        return _refuse(label, f"the model could not be compiled: {type(exc).__name__}: {exc}")
    if n_out != 10:
        return _refuse(label, f"the model must have 10 outputs (one per class), it has {n_out}.")

    timer = _EpochTimer()
    stopper = (
        keras.callbacks.EarlyStopping(patience=patience, restore_best_weights=True)
        if patience is not None
        else None
    )
    all_callbacks = [timer, *([stopper] if stopper else []), *callbacks]
    cpu0, wall0 = time.process_time(), time.perf_counter()
    try:
        history = model.fit(
            x_train,
            train.y,
            validation_data=(x_valid, valid.y),
            epochs=epochs,
            batch_size=batch_size,
            callbacks=all_callbacks,
            verbose=0,
        )
    except Exception as exc:
        return _refuse(label, f"training failed: {type(exc).__name__}: {str(exc)[:300]}")
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    frame = pd.DataFrame(history.history)
    frame.index = pd.RangeIndex(1, len(frame) + 1, name="epoch")
    frame["seconds"] = timer.seconds[: len(frame)]
    frame["cpu_seconds"] = timer.cpu_seconds[: len(frame)]
    n = len(frame)
    best = int(stopper.best_epoch) + 1 if stopper is not None and stopper.best_weights else n
    probs = keras.ops.convert_to_numpy(model.predict(x_valid, batch_size=1024, verbose=0))
    accuracy = float(np.mean(probs.argmax(axis=1) == valid.y))
    run = PracticeRun(
        label=label,
        finished=bool(np.isfinite(frame["loss"]).all()),
        message="" if np.isfinite(frame["loss"]).all() else "the loss became NaN or inf.",
        model=model,
        history=frame,
        epochs=n,
        best_epoch=best,
        valid_accuracy=accuracy,
        seconds=wall,
        cpu_seconds=cpu,
        seconds_to_best=float(frame["seconds"].iloc[:best].sum()),
        inputs=inputs,
    )
    return run


def runs_table(runs: Sequence[PracticeRun]) -> pd.DataFrame:
    """One row per run: validation accuracy (3 decimals), best epoch / epochs run, wall time to the
    best epoch and per epoch, and CPU time per epoch (:func:`tdnn.training.format_duration`, masked
    by the nbval sanitizer); refused runs show "not run". The times per epoch are medians over the
    epochs after the first, which also builds the training graph."""
    from tdnn.training import format_duration

    if isinstance(runs, PracticeRun):
        runs = [runs]
    if not isinstance(runs, Sequence) or not runs:
        raise ValueError("runs must be a non-empty list of PracticeRun")
    rows = {}
    for run in runs:
        if not isinstance(run, PracticeRun):
            raise TypeError(f"runs must hold PracticeRun objects, got {type(run).__name__}")
        if not run.finished:
            rows[run.label] = {
                "valid acc": "not run", "best/epochs": "", "to best": "", "per epoch": "", "CPU/epoch": ""
            }
            continue
        rows[run.label] = {
            "valid acc": f"{run.valid_accuracy:.3f}",
            "best/epochs": f"{run.best_epoch}/{run.epochs}",
            "to best": format_duration(run.seconds_to_best),
            "per epoch": format_duration(run.seconds_per_epoch),
            "CPU/epoch": format_duration(run.cpu_seconds_per_epoch),
        }
    return pd.DataFrame.from_dict(rows, orient="index")


# ---------------------------------------------------------------------------------------------
# MC dropout


def mc_accuracy(
    run: PracticeRun,
    mc_predict: Any,
    split: Split,
    *,
    n_samples: int = 30,
    seed: int = 42,
) -> float:
    """Accuracy of MC dropout (Gal & Ghahramani, 2016) on ``split`` with the student's
    ``mc_predict(model, x, n_samples)``, without retraining the model of ``run``.

    Returns NaN (and prints why) when the run did not finish or ``mc_predict`` is a stub, is
    wrong in shape, or raises, so that the student notebook keeps running.
    """
    n_samples = check_int("n_samples", n_samples, min_value=1)
    split = _check_split("split", split)
    if not isinstance(run, PracticeRun):
        raise TypeError(f"run must be a PracticeRun, got {type(run).__name__}")
    if not run.finished:
        print(f"MC dropout: not evaluated, the run {run.label!r} did not finish.")
        return float("nan")
    if not callable(mc_predict):
        print(f"MC dropout: mc_predict must be a function, got {type(mc_predict).__name__}.")
        return float("nan")
    x = split.x if run.inputs is None else _transform(run.label, run.inputs, split.x, "inputs")[0]
    keras.utils.set_random_seed(seed)
    try:
        probs = mc_predict(run.model, x, n_samples)
    except Exception as exc:
        print(f"MC dropout: mc_predict raised {type(exc).__name__}: {exc}")
        return float("nan")
    if _is_stub(probs):
        print(f"MC dropout: mc_predict returned {probs!r}: write the function first.")
        return float("nan")
    try:
        probs = np.asarray(keras.ops.convert_to_numpy(probs), dtype=np.float64)
    except (TypeError, ValueError):
        print(f"MC dropout: mc_predict must return an array, got {type(probs).__name__}.")
        return float("nan")
    if probs.shape != (len(split.y), 10):
        print(f"MC dropout: mc_predict returned shape {probs.shape}, expected {(len(split.y), 10)}.")
        return float("nan")
    return float(np.mean(probs.argmax(axis=1) == split.y))


class _FakeStochasticModel:
    """A stand-in for a Keras model with dropout: ``model(x, training=True)`` returns the next of
    a fixed sequence of probability arrays, ``training=False`` a different, fixed one."""

    def __init__(self, draws: np.ndarray, deterministic: np.ndarray) -> None:
        self.draws, self.deterministic, self.calls = draws, deterministic, 0

    def __call__(self, x: Any, training: bool = False) -> np.ndarray:
        n = len(x)
        if not training:
            return self.deterministic[:n]
        out = self.draws[self.calls % len(self.draws)][:n]
        self.calls += 1
        return out

    def predict(self, x: Any, **kwargs: Any) -> np.ndarray:
        return self.deterministic[: len(x)]


def check_mc_predict(mc_predict: Any) -> None:
    """Check a student's ``mc_predict(model, x, n_samples)``: the mean of ``n_samples`` predicted
    probability arrays, each from ``model(x, training=True)`` (the book's MC dropout).

    Checked exactly on a stand-in model whose stochastic passes are known.
    """
    if _is_stub(mc_predict) or not callable(mc_predict):
        raise AssertionError("mc_predict must be a function; define it with def.")
    rng = np.random.default_rng(3)
    n_samples, n, k = 7, 5, 10
    draws = rng.dirichlet(np.ones(k), size=(n_samples, n))
    fixed = rng.dirichlet(np.ones(k), size=n)
    model = _FakeStochasticModel(draws, fixed)
    x = np.zeros((n, 28, 28), dtype=np.float32)
    try:
        got = mc_predict(model, x, n_samples)
    except NotImplementedError:
        raise AssertionError("mc_predict is not implemented yet: replace the `...` with your code.") from None
    except Exception as exc:
        raise AssertionError(f"mc_predict raised {type(exc).__name__}: {exc}") from None
    if _is_stub(got):
        raise AssertionError(f"mc_predict returned {got!r}: it must return an array of probabilities.")
    try:
        got = np.asarray(keras.ops.convert_to_numpy(got), dtype=np.float64)
    except (TypeError, ValueError):
        raise AssertionError("mc_predict must return an array of probabilities.") from None
    if got.shape != (n, k):
        hint = (
            "did you return the stacked samples instead of their mean?"
            if got.shape == (n_samples, n, k)
            else "it must return one row of class probabilities per image."
        )
        raise AssertionError(f"mc_predict returned shape {got.shape} for {n} images: {hint}")
    if np.allclose(got, draws.mean(axis=0)):
        return
    if model.calls == 0:
        hint = "the model was never called with training=True, so dropout stayed off."
    elif model.calls != n_samples:
        hint = f"it made {model.calls} stochastic passes for n_samples={n_samples}."
    elif np.allclose(got, fixed):
        hint = "that is the ordinary prediction (dropout off)."
    else:
        hint = "average the predicted probabilities over the stochastic passes."
    raise AssertionError(f"mc_predict's result differs from MC dropout: {hint}")


# ---------------------------------------------------------------------------------------------
# graders


def _hint(prefix: str, message: str) -> AssertionError:
    return AssertionError(f"{prefix}: {message}")


def _built(name: str, build: Any) -> keras.Model:
    if _is_stub(build) or not callable(build):
        raise AssertionError(f"{name} must be a function; define it with def.")
    keras.utils.set_random_seed(0)
    try:
        model = build()
    except NotImplementedError:
        raise AssertionError(f"{name} is not implemented yet: replace the `...` with your code.") from None
    except Exception as exc:
        raise AssertionError(f"{name}() raised {type(exc).__name__}: {exc}") from None
    if not isinstance(model, keras.Model):
        raise AssertionError(f"{name}() must return a Keras model, got {type(model).__name__}.")
    return model


def check_net_shape(build: Any) -> NetSummary:
    """Public check of a builder: 20 hidden ``Dense`` layers of 100 units and a 10-way softmax
    output, compiled. Returns the :class:`NetSummary` (for further checks)."""
    name = getattr(build, "__name__", "the builder")
    summary = describe_net(_built(name, build))
    widths = summary.hidden_widths
    if len(widths) != HIDDEN_LAYERS:
        raise _hint(name, f"the model has {len(widths)} hidden Dense layers; the exercise asks for {HIDDEN_LAYERS}.")
    if any(w != HIDDEN_UNITS for w in widths):
        raise _hint(name, f"every hidden Dense layer must have {HIDDEN_UNITS} units; got widths {sorted(set(widths))}.")
    if summary.output_units != 10 or summary.output_activation != "softmax":
        raise _hint(name, "the output layer must be a Dense layer with one softmax unit per class.")
    if summary.optimizer is None:
        raise _hint(name, "the model must be compiled (model.compile(...)) before it is returned.")
    return summary


def check_net(
    build: Any,
    *,
    activation: str,
    initializers: Iterable[str],
    batch_norm: bool,
    optimizer: str,
    alpha_dropout: float | None = None,
    sequential: bool = False,
) -> None:
    """Hidden check of a builder's recipe: activation, kernel initializer (any of
    ``initializers``), BN layers present (at least one per hidden layer) or absent, alpha dropout
    at ``alpha_dropout`` (or none), no plain dropout, the optimizer class; with ``sequential`` (SELU
    self-normalization), a plain ``keras.Sequential`` stack without regularizers.

    Hints name what is off and where to look, never the value asked for.
    """
    initializers = tuple(initializers)
    if not initializers:
        raise ValueError("initializers must name at least one initializer")
    summary = check_net_shape(build)
    name = getattr(build, "__name__", "the builder")
    acts = set(summary.hidden_activations)
    if acts != {activation}:
        raise _hint(name, f"the hidden layers use {sorted(acts)}; re-read which activation this part asks for.")
    inits = set(summary.hidden_initializers)
    if not inits <= set(initializers):
        raise _hint(
            name,
            f"the hidden layers are initialized with {sorted(inits)}; re-read which initialization "
            "this part asks for (and which goes with its activation, Table 11-1).",
        )
    if batch_norm and summary.n_batch_norm < HIDDEN_LAYERS:
        raise _hint(
            name,
            f"the model has {summary.n_batch_norm} BatchNormalization layers; this part asks for one "
            "per hidden layer.",
        )
    if not batch_norm and summary.n_batch_norm:
        raise _hint(name, "this part asks for a network without Batch Normalization.")
    if summary.dropout_rates:
        raise _hint(name, "plain Dropout layers do not belong here (see which dropout goes with SELU).")
    if alpha_dropout is None and summary.alpha_dropout_rates:
        raise _hint(name, "this part asks for a network without dropout.")
    if alpha_dropout is not None:
        if not summary.alpha_dropout_rates:
            raise _hint(name, "the model has no AlphaDropout layer.")
        if any(not math.isclose(r, alpha_dropout, rel_tol=1e-6) for r in summary.alpha_dropout_rates):
            raise _hint(name, "the AlphaDropout rate is not the one the question gives.")
    if sequential and not summary.sequential:
        raise _hint(name, "self-normalization needs a plain keras.Sequential stack of layers.")
    if sequential and summary.n_regularized:
        raise _hint(name, "self-normalization is broken by weight regularizers and constraints: remove them.")
    if summary.optimizer != optimizer:
        raise _hint(name, f"the model is compiled with {summary.optimizer}; re-read which optimizer the question asks for.")


def check_run(run: Any, *, min_accuracy: float) -> None:
    """Hidden/public check of a :class:`PracticeRun`: it finished, and reached at least
    ``min_accuracy`` on the validation set (a threshold far below what a right answer gets)."""
    min_accuracy = check_float("min_accuracy", min_accuracy, min_value=0.0, max_value=1.0)
    if not isinstance(run, PracticeRun):
        raise AssertionError(f"expected the result of tdnn.practice.train_net, got {type(run).__name__}.")
    if not run.finished:
        raise AssertionError(f"the run {run.label!r} did not finish: {run.message}")
    if not run.valid_accuracy >= min_accuracy:
        raise AssertionError(
            f"the run {run.label!r} finished, but its validation accuracy is far too low for this "
            "network: check the initialization and activation, the learning rate, and the inputs."
        )


def check_report(answer: Any, observed: Any, name: str, *, hint: str) -> None:
    """Hidden check of a "report" answer: a boolean that must agree with the student's own runs
    (``observed``, computed by the test from the same runs), not with a fixed answer."""
    if not isinstance(name, str) or not name:
        raise ValueError("name must be a non-empty string")
    if not isinstance(hint, str) or not hint.strip():
        raise ValueError("hint must be a non-empty string")
    if _is_stub(answer):
        raise AssertionError(f"No answer yet: set {name} to True or False.")
    if not isinstance(answer, (bool, np.bool_)):
        raise AssertionError(f"{name} must be True or False, got {type(answer).__name__}.")
    if bool(answer) != bool(observed):
        raise AssertionError(f"{name} does not match your runs. {hint.strip()}")


def check_standardize(standardize: Any, x_train: np.ndarray) -> None:
    """Check a student's ``standardize(x)``: the training images come out with mean ≈ 0 and
    standard deviation ≈ 1 (over all pixels, or per pixel), finite, same shape; the same fixed
    statistics are applied to any input (it must not re-standardize each input on its own stats)."""
    if _is_stub(standardize) or not callable(standardize):
        raise AssertionError("standardize must be a function; define it with def.")
    x_train = np.asarray(x_train, dtype=np.float32)
    out, msg = _transform("standardize", standardize, x_train, "standardize")
    if msg:
        raise AssertionError(msg)
    out = out.astype(np.float64)
    if abs(out.mean()) > 0.05 or not 0.9 < out.std() < 1.1:
        raise AssertionError(
            "standardize(x_train) should have mean 0 and standard deviation 1; "
            f"it has mean {out.mean():.3g} and std {out.std():.3g}."
        )
    part, msg = _transform("standardize", standardize, x_train[:7], "standardize")
    if msg:
        raise AssertionError(msg)
    if not np.allclose(part, out[:7], atol=1e-4):
        raise AssertionError(
            "standardize gives other values for the same images in a smaller batch: use the "
            "training set's statistics (computed once), not the statistics of its input."
        )


def check_one_cycle(callback: Any, run: Any) -> None:
    """Check part (e)'s callback: a :class:`tdnn.schedules.OneCycleScheduler` whose cycle spans the
    whole training run (``total_steps`` = epochs × batches per epoch)."""
    from tdnn.schedules import OneCycleScheduler

    if _is_stub(callback):
        raise AssertionError("one_cycle is not set yet: create a tdnn.schedules.OneCycleScheduler.")
    if not isinstance(callback, OneCycleScheduler):
        raise AssertionError(f"one_cycle must be a tdnn.schedules.OneCycleScheduler, got {type(callback).__name__}.")
    if not isinstance(run, PracticeRun) or not run.finished:
        raise AssertionError("the 1cycle run did not finish.")
    if callback.step != callback.total_steps:
        raise AssertionError(
            f"the schedule was set for {callback.total_steps} steps, but training took {callback.step}: "
            "total_steps counts batches (steps per epoch × epochs), not epochs or images."
        )
