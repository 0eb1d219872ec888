"""Reuse Keras' traced training step across models of the same architecture.

On a 2-core CPU, most of a short ``model.fit`` on a few thousand images is not training but
*tracing*: Keras 3 turns the train step (and the evaluation step, for validation) of every new
model into a TensorFlow graph, about half a second to a second each time. A chapter that trains
the same architecture over several seeds pays it once per seed, although only the weights differ.

:func:`on_twin` pays it once per architecture: it keeps a private *twin* of each architecture it
has trained (same layers, same compile settings, its own already-traced step), copies the
model's state into the twin (every variable: weights, batch-norm statistics, dropout seed states,
and the optimizer's step count, learning rate and slots), lets the caller train the twin, and
copies the resulting state back. The model ends exactly as if it had been trained itself: the
same graph runs on the same values, so the histories and weights are bit-identical
(``tests/test_traces.py`` checks that for plain, dropout, batch-norm, frozen-layer, callback and
continued-training runs).

Only plain Keras models qualify (``Sequential`` or functional, every layer a built-in Keras
layer, every compile setting and optimizer serializable Keras objects): a custom layer or
optimizer may keep state or settings that its config does not show, so such a model simply
trains itself (:func:`trace_key` returns ``None``). ``TDNN_REUSE_TRACES=0`` turns reuse off, e.g.
to time the difference.
"""

from __future__ import annotations

import json
import random
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from tdnn._tf import env_flag, import_tensorflow

import_tensorflow()
import keras  # noqa: E402
from keras.src.models.functional import Functional  # noqa: E402

MAX_TWINS = 8
"""How many architectures keep a twin (least recently used first out)."""

_TWINS: OrderedDict[str, keras.Model] = OrderedDict()


class _Unsafe(Exception):
    pass


def enabled() -> bool:
    """Whether trace reuse is on (``TDNN_REUSE_TRACES`` unset or not ``0``)."""
    return env_flag("TDNN_REUSE_TRACES")


def clear_twins() -> None:
    """Forget every twin (their traced steps and weights)."""
    _TWINS.clear()


def twin_count() -> int:
    """How many twins are kept now."""
    return len(_TWINS)


def _canonical(obj: Any) -> Any:
    """The config without what only matters at construction (seeds, initializers)."""
    if isinstance(obj, dict):
        module = obj.get("module")
        if isinstance(module, str) and not module.startswith("keras"):
            raise _Unsafe(module)
        return {
            k: _canonical(v)
            for k, v in obj.items()
            if k != "seed" and not k.endswith("initializer")
        }
    if isinstance(obj, (list, tuple)):
        return [_canonical(v) for v in obj]
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    raise _Unsafe(type(obj).__name__)


def _architecture_key(model: keras.Model) -> tuple[str, list[Any]] | None:
    """The built model's config as a string (names by position, no seeds), and its layers; or None."""
    if not isinstance(model, keras.Model) or type(model) not in (keras.Sequential, Functional):
        return None
    if not model.built:  # its variables do not exist yet
        return None
    layers = list(model._flatten_layers(include_self=False, recursive=True))
    for layer in layers:
        if isinstance(layer, keras.Model):
            if type(layer) not in (keras.Sequential, Functional):
                return None
        elif not type(layer).__module__.startswith("keras."):
            return None
    try:
        text = json.dumps([_canonical(model.get_config()), model.trainable], sort_keys=True)
    except (_Unsafe, TypeError, ValueError, NotImplementedError):
        return None
    return _names_by_position(text, model, layers), layers


def _names_by_position(text: str, model: keras.Model, layers: list[Any]) -> str:
    # quoted names are whole JSON strings, so the order of replacement is irrelevant
    names = dict.fromkeys([model.name, *(layer.name for layer in layers)])
    for i, name in enumerate(names):
        text = text.replace(json.dumps(name), f'"<layer {i}>"')
    return text


def trace_key(model: keras.Model) -> str | None:
    """A string equal for two compiled models whose traced train steps are interchangeable.

    ``None`` when the model does not qualify: not compiled, not a plain ``Sequential`` or
    functional model, a layer or optimizer that is not Keras' own, or settings that do not
    serialize. Layer names are replaced by their position, seeds and initializers are left out
    (the weights are copied, not drawn), and everything else (shapes, units, activations,
    ``trainable`` flags, regularizers, constraints, loss, metrics, optimizer and its settings,
    ``steps_per_execution``) is part of the key.
    """
    if not getattr(model, "compiled", False) or getattr(model, "optimizer", None) is None:
        return None
    if not type(model.optimizer).__module__.startswith("keras."):
        return None
    found = _architecture_key(model)
    if found is None:
        return None
    architecture, layers = found
    try:
        compiled = _canonical(model.get_compile_config())
        optimizer = compiled.get("optimizer")
        if isinstance(optimizer, dict) and isinstance(optimizer.get("config"), dict):
            optimizer["config"].pop("name", None)  # "adam_3": only its variables' prefix
        text = json.dumps([compiled, int(model.steps_per_execution)], sort_keys=True)
    except (_Unsafe, TypeError, ValueError, NotImplementedError):
        return None
    return architecture + " compiled " + _names_by_position(text, model, layers)


def _optimizer_variables(model: keras.Model) -> list[Any]:
    optimizer = model.optimizer
    if not optimizer.built:
        optimizer.build(model.trainable_variables)
    return list(optimizer.variables)


def _same_shapes(a: list[Any], b: list[Any]) -> bool:
    return len(a) == len(b) and all(
        tuple(u.shape) == tuple(v.shape) and u.dtype == v.dtype for u, v in zip(a, b)
    )


def _copy(targets: list[Any], sources: list[Any]) -> None:
    for target, source in zip(targets, sources):
        target.assign(source.value)


def _clone(model: keras.Model) -> keras.Model:
    # cloning draws default seeds from Python's and NumPy's generators: leave them as they were,
    # so that the notebook's later random draws do not depend on whether a twin was made
    states = random.getstate(), np.random.get_state()
    try:
        return keras.models.clone_model(model)
    finally:
        random.setstate(states[0])
        np.random.set_state(states[1])


def _make_twin(model: keras.Model, steps_per_execution: int) -> keras.Model:
    twin = _clone(model)
    twin.compile_from_config(model.get_compile_config())
    twin.steps_per_execution = steps_per_execution
    return twin


def _keep(key: str, twin: keras.Model) -> None:
    """Put ``twin`` in the pool as the most recently used; forget the oldest beyond MAX_TWINS."""
    _TWINS[key] = twin
    _TWINS.move_to_end(key)
    while len(_TWINS) > MAX_TWINS:
        _TWINS.popitem(last=False)


def retrace(model: keras.Model) -> None:
    """Make ``model``'s next training pick its twin from its settings then, as Keras retraces a step.

    Keras traces a model's train step at the first ``fit`` after ``compile`` and keeps it: a layer
    frozen or unfrozen later changes nothing until the model is compiled again (chapter 6 shows
    it). :func:`on_twin` keeps that behaviour (a model keeps the twin it got at its first training
    after ``compile``); call this where Keras would trace again, e.g. after
    ``model.make_train_function(force=True)`` or a change of ``steps_per_execution``.
    """
    model.__dict__.pop("_tdnn_twin", None)


def _twin_for(
    model: keras.Model, steps_per_execution: int | None
) -> tuple[keras.Model, list[Any], list[Any]] | None:
    """The twin of ``model`` with ``model``'s state copied in, and the state lists to copy back."""
    compiled_with = getattr(model, "_compile_config", None)
    stored = model.__dict__.get("_tdnn_twin")
    if stored is not None and stored[0] is compiled_with and stored[1] == steps_per_execution:
        # trained since its last compile: the twin it got then, as Keras keeps the step it traced
        key, twin = stored[2], stored[3]
    else:
        key = trace_key(model)
        if key is None:
            return None
        spe = int(steps_per_execution or model.steps_per_execution)
        key += f" steps_per_execution={spe}"
        twin = _TWINS.get(key)
        if twin is None:
            twin = _make_twin(model, spe)
        # bypass Keras' attribute tracking: this is bookkeeping, not state of the model
        object.__setattr__(
            model, "_tdnn_twin", (compiled_with, steps_per_execution, key, twin)
        )
    _keep(key, twin)
    state = list(model.variables)
    twin_state = list(twin.variables)
    opt_state = _optimizer_variables(model)
    twin_opt_state = _optimizer_variables(twin)
    if type(twin.optimizer) is not type(model.optimizer) or not (
        _same_shapes(state, twin_state) and _same_shapes(opt_state, twin_opt_state)
    ):
        del _TWINS[key]  # e.g. a callback changed the twin's optimizer: make a fresh one
        retrace(model)
        return None
    _copy(twin_state, state)
    _copy(twin_opt_state, opt_state)
    twin.stop_training = False
    return twin, state + opt_state, twin_state + twin_opt_state


def build_compiled_state(model: keras.Model, x: Any, y: Any) -> bool:
    """Create ``model``'s compiled loss, metrics and optimizer variables before ``fit`` traces.

    Without a distribution strategy, Keras 3 (TensorFlow backend) leaves them to the first trace
    of the train step: the accuracy metric's ``total`` and ``count``, say, are created inside it.
    A ``tf.function`` that creates variables is traced a second time, so every model's first
    ``fit`` traced its train step twice (0.1 to 0.6 s each here). This runs Keras' own symbolic
    build (what ``fit`` does under a distribution strategy) on the shapes of one example of ``x``
    and ``y``, nothing computed: the variables start at the same values, and ``fit`` gives the
    same numbers (``tests/test_traces.py``) after a single trace. Returns whether it built anything.
    """
    if not isinstance(model, keras.Model):
        raise TypeError(f"model must be a keras.Model, got {type(model).__name__}")
    build = getattr(model, "_symbolic_build", None)
    if build is None or not getattr(model, "compiled", False) or not model.built:
        return False  # another Keras, or nothing to build against: fit builds as it always did
    parts = [getattr(model, "_compile_metrics", None), getattr(model, "_compile_loss", None), model.optimizer]
    if all(part is None or part.built for part in parts):
        return False
    build(data_batch=(np.asarray(x[:1]), np.asarray(y[:1])))
    return True


@contextmanager
def on_twin(
    model: keras.Model, *, callbacks: Any = (), steps_per_execution: int | None = None
) -> Iterator[keras.Model]:
    """Yield the model to call ``fit`` (or ``evaluate``, ``predict``) on: ``model``'s twin or itself.

    Inside the block the twin holds ``model``'s state; when the block ends (also by an exception)
    the twin's state is copied back into ``model``, including its optimizer's, so that ``model``
    can be evaluated, saved or trained further as usual. ``model`` must be compiled. With reuse
    off, or for a model that does not qualify (:func:`trace_key`), the block gets ``model``.
    Callbacks passed to ``twin.fit`` see the twin as ``self.model``; pass them as ``callbacks``
    too, so that one which changes the optimizer itself (``changes_optimizer = True``, e.g.
    :class:`tdnn.schedules.OneCycleScheduler`, which makes the momentum a variable) keeps the
    model training itself. ``steps_per_execution`` (default: the model's own) sets the twin's:
    batches per call of its traced step, which changes the speed, not the numbers (see
    :func:`tdnn.training.fit`); for loops without per-batch callbacks.
    """
    if not isinstance(model, keras.Model):
        raise TypeError(f"model must be a keras.Model, got {type(model).__name__}")
    reusable = enabled() and not any(getattr(cb, "changes_optimizer", False) for cb in callbacks)
    found = _twin_for(model, steps_per_execution) if reusable else None
    if found is None:
        yield model
        return
    twin, state, twin_state = found
    optimizer_class = type(twin.optimizer)
    try:
        yield twin
    finally:
        if type(twin.optimizer) is not optimizer_class or not _same_shapes(
            twin_state, list(twin.variables) + list(twin.optimizer.variables)
        ):
            _TWINS.pop(model.__dict__.get("_tdnn_twin", (None, None, ""))[2], None)
            retrace(model)
            raise RuntimeError(
                "the twin's optimizer changed during training (a callback replaced or extended "
                "it), so its state cannot be copied back; set TDNN_REUSE_TRACES=0 or train the "
                "model itself"
            )
        _copy(state, twin_state)


def predict(model: keras.Model, x: Any, *, batch_size: int = 1024) -> np.ndarray:
    """``model.predict(x, batch_size=batch_size)``, the same numbers, without its fixed costs.

    Keras' ``predict`` builds a ``tf.data`` pipeline for every call (about 15 ms here) and every
    new model traces its own prediction step; a loop predicting with many models of one
    architecture pays both each time. This feeds the same batches to ``predict_on_batch`` of an
    inference twin (same architecture, its step traced once, the model's weights copied in), or of
    the model itself when it does not qualify (:func:`trace_key`).
    """
    if not isinstance(model, keras.Model):
        raise TypeError(f"model must be a keras.Model, got {type(model).__name__}")
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
    x = np.asarray(x)
    if x.ndim == 0 or len(x) == 0:
        raise ValueError(f"x must hold at least one example, got shape {x.shape}")
    runner = _inference_twin(model) if enabled() else None
    if runner is None:
        runner = model
    outputs = [
        keras.ops.convert_to_numpy(runner.predict_on_batch(x[i : i + batch_size]))
        for i in range(0, len(x), int(batch_size))
    ]
    return np.concatenate(outputs)


def _inference_twin(model: keras.Model) -> keras.Model | None:
    found = _architecture_key(model)
    if found is None:
        return None
    key = "inference " + found[0]
    twin = _TWINS.get(key)
    if twin is None:
        twin = _clone(model)
    _keep(key, twin)
    state, twin_state = list(model.variables), list(twin.variables)
    if not _same_shapes(state, twin_state):
        del _TWINS[key]
        return None
    _copy(twin_state, state)
    return twin
