"""Import TensorFlow and Keras quietly.

``TF_CPP_MIN_LOG_LEVEL=3`` silences TensorFlow's C++ logging, but TensorFlow 2.21 also writes a few
absl lines to stderr while it loads, before its logging is initialised (the oneDNN notice and, in the
GPU-capable wheel, "Could not find cuda drivers"). Nothing but the process' file descriptor 2 reaches
them, so :func:`import_tensorflow` points fd 2 at ``/dev/null`` for the duration of the import only.
An import error still raises normally, after stderr is restored.

It also makes the ``tf.data`` iterators that Keras creates for every epoch (of ``fit``, of the
validation inside ``fit``, of ``evaluate`` and ``predict``) about three times cheaper to create
(:func:`quick_iterators`), without changing a value they produce or how the compiled training step
is optimized.
"""

from __future__ import annotations

import os
import sys
from types import ModuleType

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def env_flag(name: str) -> bool:
    """Whether the switch ``name`` is on: unset, or anything but ``0``/``false``/``no``/``off``."""
    return os.environ.get(name, "1").strip().lower() not in ("0", "false", "no", "off")


QUICK_ITERATORS_ENV = "TDNN_QUICK_ITERATORS"
"""Set it to ``0`` to leave TensorFlow's runtime configuration alone (see :func:`quick_iterators`)."""


def quick_iterators(tf: ModuleType) -> bool:
    """Start TensorFlow's eager runtime with Grappler off, then turn Grappler back on for graphs.

    Keras 3 builds a ``tf.data`` pipeline for in-memory arrays and creates a new iterator of it at
    every epoch, for training and again for validation. Creating one instantiates the pipeline's
    functions, and the runtime runs TensorFlow's graph optimizer (Grappler) over them each time:
    about 8 of the ~12 ms an iterator costs on a 2-core CPU, paid thousands of times over the book.
    That runtime takes its options once, when the eager context starts. So this function starts
    the context with ``disable_meta_optimizer=True`` and at once sets it back to ``False``: a
    ``tf.function`` (Keras' compiled train, test and predict steps) reads the options at every
    call and is optimized as before, while the iterators' functions, which only gather the
    batches, are not. The batches are the same values either way (``tests/test_tf.py``).

    Does nothing and returns ``False`` if the context has already started (TensorFlow was used
    before ``tdnn`` imported it) or if ``TDNN_QUICK_ITERATORS=0``; returns ``True`` otherwise.
    """
    if not env_flag(QUICK_ITERATORS_ENV):
        return False
    from tensorflow.python.eager import context

    if context.context()._context_handle is not None:  # already started: options are fixed
        return False
    options = tf.config.optimizer.get_experimental_options()
    tf.config.optimizer.set_experimental_options({"disable_meta_optimizer": True})
    try:
        context.ensure_initialized()
    finally:
        tf.config.optimizer.set_experimental_options(
            {"disable_meta_optimizer": bool(options.get("disable_meta_optimizer", False))}
        )
    return True


def import_tensorflow() -> ModuleType:
    """Return the ``tensorflow`` module, importing it (and Keras) with stderr silenced if needed."""
    if "tensorflow" in sys.modules and "keras" in sys.modules:
        return sys.modules["tensorflow"]
    try:
        sys.stderr.flush()
    except (AttributeError, ValueError):  # pragma: no cover - closed or replaced stderr
        pass
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        import keras  # noqa: F401
        import tensorflow

        quick_iterators(tensorflow)
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)
    return tensorflow
