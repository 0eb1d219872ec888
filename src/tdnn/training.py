"""A seeded, quiet ``fit`` that returns a tidy history, multi-seed runs and compact result tables.

Keras 3 progress bars write thousands of messages into a notebook, so :func:`fit` always trains with
``verbose=0`` and returns a :class:`pandas.DataFrame` (one row per epoch, with wall time) that
notebooks print or plot.

Timings differ from run to run, so they are formatted with a unit (``format_duration``: ``"  1.23 s"``,
``" 12.34 ms"``) at a fixed width, and the nbval sanitizer (``tests/nbval_sanitize.cfg``) masks the
digits of exactly that pattern.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from tdnn._tf import import_tensorflow
from tdnn._validate import check_choice, check_float, check_int
from tdnn.traces import build_compiled_state, on_twin, retrace

import_tensorflow()
import keras  # noqa: E402

DURATION_UNITS = {"s": 1.0, "ms": 1e3, "µs": 1e6}


def format_duration(seconds: float, unit: str = "s") -> str:
    """Format a wall-clock duration at a fixed width, e.g. ``"  1.23 s"`` or ``" 12.34 ms"``.

    Timings vary between runs; the nbval sanitizer masks the digits of this exact pattern.
    """
    seconds = check_float("seconds", seconds, min_value=0.0)
    check_choice("unit", unit, DURATION_UNITS)
    return f"{seconds * DURATION_UNITS[unit]:6.2f} {unit}"


def format_ratio(ratio: float) -> str:
    """Format a ratio of two timings, e.g. ``" 1.31×"`` (masked by the nbval sanitizer too)."""
    ratio = check_float("ratio", ratio, min_value=0.0)
    return f"{ratio:5.2f}×"


class _EpochTimer(keras.callbacks.Callback):
    def __init__(self) -> None:
        super().__init__()
        self.seconds: list[float] = []
        self._start = 0.0

    def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
        self.seconds.append(time.perf_counter() - self._start)


def _as_xy(name: str, data: Any) -> tuple[Any, Any]:
    if isinstance(data, Sequence) and not isinstance(data, (str, bytes)) and len(data) == 2:
        x, y = data
        n_x, n_y = len(x), len(y)
        if n_x != n_y:
            raise ValueError(f"{name} has {n_x} inputs but {n_y} targets")
        if n_x == 0:
            raise ValueError(f"{name} is empty")
        return x, y
    raise TypeError(f"{name} must be an (x, y) pair such as data.train, got {type(data).__name__}")


SPARSE_LOSSES = ("sparse_categorical_crossentropy", "SparseCategoricalCrossentropy")

#: Batches per call of the compiled train step when :func:`fit` may choose (issue 12: at batch 32
#: about 1.5x faster per epoch on a 2-core CPU; the numbers are identical, see tests).
STEPS_PER_EXECUTION = 32
BATCH_HOOKS = (
    "on_batch_begin",
    "on_batch_end",
    "on_train_batch_begin",
    "on_train_batch_end",
    "on_test_batch_begin",
    "on_test_batch_end",
)


def epoch_steps(n_examples: int, batch_size: int) -> int:
    """Batches in one pass over ``n_examples`` (the last one may be partial): ``ceil(n / b)``.

    :func:`fit` passes it to Keras as ``steps_per_epoch`` (and ``validation_steps``), the number
    Keras would count itself. Named, it saves a ``tf.data`` iterator per epoch (about 11 ms here):
    without it Keras makes a new iterator at the start of every epoch *and* one at the end of the
    previous epoch that it throws away. Once a global seed is set (``setup_notebook``, ``fit``'s
    ``seed``), every iterator of Keras' array pipeline yields the same shuffled order, so the
    batches, and the numbers, are the same either way (tested bit for bit against Keras' ``fit``).
    """
    n_examples = check_int("n_examples", n_examples, min_value=1)
    batch_size = check_int("batch_size", batch_size, min_value=1)
    return -(-n_examples // batch_size)


def sees_every_batch(callback: keras.callbacks.Callback) -> bool:
    """True if ``callback`` overrides a per-batch hook (1cycle, a gradient logger, ...).

    With ``steps_per_execution = k`` Keras calls those hooks once per ``k`` batches, so :func:`fit`
    runs one batch per step whenever such a callback is present, unless the callback says it
    copes with ``k`` batches per call (``handles_steps_per_execution = True``, as
    :class:`tdnn.schedules.LearningRateLogger`).
    """
    if getattr(callback, "handles_steps_per_execution", False):
        return False
    base = keras.callbacks.Callback
    return any(getattr(type(callback), hook, None) is not getattr(base, hook) for hook in BATCH_HOOKS)


def _is_sparse_categorical(loss: Any) -> bool:
    """A loss that takes class indices as labels (and ignores none of them: ``ignore_class``)."""
    if isinstance(loss, str):
        return loss in SPARSE_LOSSES
    if isinstance(loss, keras.losses.SparseCategoricalCrossentropy):
        return loss.get_config().get("ignore_class") is None
    return loss is keras.losses.sparse_categorical_crossentropy


def _n_classes(model: keras.Model) -> int | None:
    try:
        shape = model.outputs[0].shape if model.outputs else None
    except (AttributeError, ValueError):  # a subclassed model that is not built yet
        return None
    return int(shape[-1]) if shape is not None and shape[-1] is not None else None


def _check_labels(name: str, y: Any, n_classes: int | None) -> None:
    """Sparse class labels must be integers in [0, n_classes): say so before TensorFlow does.

    ``n_classes=None`` (a model whose output width is not known yet) checks ``>= 0`` only.
    """
    labels = np.asarray(y)
    if labels.dtype.kind not in "iuf" or labels.size == 0:
        return
    interval = f"[0, {n_classes})" if n_classes is not None else "[0, n_outputs)"
    if labels.dtype.kind == "f" and not np.all(np.isfinite(labels) & (labels == np.round(labels))):
        raise ValueError(f"{name} labels must be whole class indices in {interval}, got non-integers")
    low, high = labels.min(), labels.max()
    if low < 0 or (n_classes is not None and high >= n_classes):
        model = f" for a model with {n_classes} outputs" if n_classes is not None else ""
        raise ValueError(
            f"{name} labels must be class indices in {interval}{model}, got labels from {low:g} to {high:g}"
        )


def make_optimizer(optimizer: str | keras.optimizers.Optimizer, learning_rate: float | None = None) -> Any:
    """A Keras optimizer from a name (``"sgd"``, ``"adam"``, ...) and an optional ``learning_rate``."""
    if isinstance(optimizer, keras.optimizers.Optimizer):
        if learning_rate is not None:
            raise ValueError("learning_rate must be None when optimizer is an Optimizer instance")
        return optimizer
    if not isinstance(optimizer, str):
        raise TypeError(f"optimizer must be a name or a keras Optimizer, got {type(optimizer).__name__}")
    try:
        instance = keras.optimizers.get(optimizer)
    except ValueError:
        raise ValueError(f"optimizer {optimizer!r} is not a Keras optimizer name") from None
    if learning_rate is None:
        return instance
    learning_rate = check_float("learning_rate", learning_rate, min_value=0.0, min_inclusive=False)
    return type(instance)(learning_rate=learning_rate)


def fit(
    model: keras.Model,
    train: tuple[Any, Any],
    *,
    valid: tuple[Any, Any] | None = None,
    epochs: int = 10,
    batch_size: int = 32,
    optimizer: str | keras.optimizers.Optimizer | None = None,
    learning_rate: float | None = None,
    loss: str | Any = "sparse_categorical_crossentropy",
    metrics: str | Sequence[str] = ("accuracy",),
    callbacks: Iterable[keras.callbacks.Callback] = (),
    seed: int | None = None,
    steps_per_execution: int | None = None,
) -> pd.DataFrame:
    """Train quietly (``verbose=0``) and return the history as a DataFrame, one row per epoch.

    Args:
        model: a Keras model. It is compiled here when ``optimizer`` is given or when it is not
            compiled yet (then with plain SGD, the book's default, at ``learning_rate`` or 0.01).
        train, valid: ``(x, y)`` pairs (a :class:`tdnn.data.Split` works).
        epochs, batch_size: as in ``model.fit``.
        optimizer, learning_rate: a Keras optimizer name or instance; ``learning_rate`` only with a name.
        loss, metrics: as in ``model.compile``; ``metrics`` is a name (``"accuracy"``) or a list.
            With a sparse categorical loss (the default), the labels must be class indices in
            ``[0, n_outputs)``: anything else raises ``ValueError`` before training starts.
        seed: if given, reseeds everything before training (shuffling, dropout).
        steps_per_execution: batches per call of the compiled train step (Keras' ``compile``
            argument), used only when ``fit`` compiles the model. ``None`` (the default) chooses
            :data:`STEPS_PER_EXECUTION` unless a callback has per-batch hooks
            (:func:`sees_every_batch`), then 1. It changes the speed, not the numbers: the same
            batches in the same order, the same updates; only per-batch callbacks would see fewer
            calls. A model ``fit`` compiled keeps the setting; when a later ``fit`` call brings a
            per-batch callback, the train step is rebuilt with one batch per step.

    Returns:
        A DataFrame indexed by ``epoch`` (1, 2, ...) with the Keras metrics (``loss``, ``accuracy``,
        ``val_loss``, ...), ``learning_rate`` when a schedule or callback logs it, and ``seconds``
        (wall time of the epoch). Training stops early only if a callback stops it.
    """
    if not isinstance(model, keras.Model):
        raise TypeError(f"model must be a keras.Model, got {type(model).__name__}")
    x, y = _as_xy("train", train)
    validation_data = _as_xy("valid", valid) if valid is not None else None
    epochs = check_int("epochs", epochs, min_value=1)
    batch_size = check_int("batch_size", batch_size, min_value=1)
    callbacks = list(callbacks)
    for cb in callbacks:
        if not isinstance(cb, keras.callbacks.Callback):
            raise TypeError(f"callbacks must hold keras.callbacks.Callback instances, got {type(cb).__name__}")
    if isinstance(metrics, str):
        metrics = [metrics]
    compile_here = optimizer is not None or not getattr(model, "compiled", False) or model.optimizer is None
    if not compile_here and learning_rate is not None:
        raise ValueError("learning_rate needs an optimizer name: the model is already compiled")
    if _is_sparse_categorical(loss if compile_here else model.loss):
        n_classes = _n_classes(model)
        _check_labels("train", y, n_classes)
        if validation_data is not None:
            _check_labels("valid", validation_data[1], n_classes)
    per_batch = any(sees_every_batch(cb) for cb in callbacks)
    if steps_per_execution is None:
        steps_per_execution = 1 if per_batch else STEPS_PER_EXECUTION
    else:
        steps_per_execution = check_int("steps_per_execution", steps_per_execution, min_value=1)
        if not compile_here:
            raise ValueError("steps_per_execution needs an optimizer: the model is already compiled")
    if compile_here:
        opt = make_optimizer(optimizer or "sgd", learning_rate)
        model.compile(
            optimizer=opt, loss=loss, metrics=list(metrics), steps_per_execution=steps_per_execution
        )
        model._tdnn_steps_per_execution = steps_per_execution > 1
    elif per_batch and getattr(model, "_tdnn_steps_per_execution", False):
        # compiled by an earlier fit with several batches per step: one per step again, so that
        # this call's per-batch callbacks see every batch
        model.steps_per_execution = 1
        model._tdnn_steps_per_execution = False
        model.train_function = model.test_function = model.predict_function = None
        retrace(model)
    if seed is not None:
        keras.utils.set_random_seed(check_int("seed", seed, min_value=0))
    timer = _EpochTimer()
    with on_twin(model, callbacks=callbacks) as trained:  # the step traced once per architecture
        build_compiled_state(trained, x, y)  # ... and once, not twice
        history = trained.fit(
            x,
            y,
            validation_data=validation_data,
            epochs=epochs,
            batch_size=batch_size,
            steps_per_epoch=epoch_steps(len(x), batch_size),
            validation_steps=epoch_steps(len(validation_data[0]), batch_size) if validation_data else None,
            # the timer first: its on_epoch_end runs before the user's callbacks, so that their
            # own work (e.g. an extra evaluation pass) is not billed to the epoch
            callbacks=[timer, *callbacks],
            verbose=0,
        )
    frame = pd.DataFrame(history.history)
    frame.index = pd.RangeIndex(1, len(frame) + 1, name="epoch")
    frame["seconds"] = timer.seconds[: len(frame)]
    return frame


def fit_seeds(
    build_model: Callable[[int], keras.Model],
    train: tuple[Any, Any],
    *,
    seeds: Iterable[int],
    **fit_kwargs: Any,
) -> pd.DataFrame:
    """Build and train one model per seed; return all histories stacked with a ``seed`` column.

    ``build_model(seed)`` must return a fresh model; everything is reseeded with ``seed`` first.
    """
    if not callable(build_model):
        raise TypeError("build_model must be a callable taking a seed and returning a model")
    seeds = [check_int("seeds[i]", s, min_value=0) for s in seeds]
    if not seeds:
        raise ValueError("seeds must hold at least one seed")
    frames = []
    for seed in seeds:
        keras.utils.set_random_seed(seed)
        history = fit(build_model(seed), train, seed=seed, **fit_kwargs)
        frames.append(history.reset_index().assign(seed=seed))
    return pd.concat(frames, ignore_index=True)


def results_table(
    histories: Mapping[str, pd.DataFrame],
    *,
    metric: str = "val_accuracy",
    decimals: int = 4,
    timing: bool = True,
) -> pd.DataFrame:
    """One row per run: final and best ``metric``, the epoch of the best, final loss, time per epoch.

    ``histories`` maps a run's label to a :func:`fit` history. Numbers are rounded to ``decimals``;
    the time per epoch is a :func:`format_duration` string (masked by the nbval sanitizer).
    """
    if not isinstance(histories, Mapping) or not histories:
        raise ValueError("histories must be a non-empty mapping of label -> history DataFrame")
    decimals = check_int("decimals", decimals, min_value=0)
    rows = {}
    for label, h in histories.items():
        if not isinstance(h, pd.DataFrame):
            raise TypeError(f"histories[{label!r}] must be a DataFrame returned by tdnn.training.fit")
        if metric not in h.columns:
            raise ValueError(f"metric {metric!r} is not in the history of {label!r}: {list(h.columns)}")
        higher_is_better = "loss" not in metric
        best_epoch = int(h[metric].idxmax() if higher_is_better else h[metric].idxmin())
        row: dict[str, Any] = {
            "epochs": len(h),
            "train loss": round(float(h["loss"].iloc[-1]), decimals) if "loss" in h else np.nan,
            f"final {metric}": round(float(h[metric].iloc[-1]), decimals),
            f"best {metric}": round(float(h[metric].loc[best_epoch]), decimals),
            "best epoch": best_epoch,
        }
        if timing and "seconds" in h:
            row["time/epoch"] = format_duration(float(h["seconds"].mean()))
        rows[label] = row
    return pd.DataFrame.from_dict(rows, orient="index")
