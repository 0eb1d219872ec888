"""Import TensorFlow and Keras quietly.

``TF_CPP_MIN_LOG_LEVEL=3`` silences TensorFlow's C++ logging, but TensorFlow 2.21 also writes a few
absl lines to stderr while it loads, before its logging is initialised (the oneDNN notice and, in the
GPU-capable wheel, "Could not find cuda drivers"). Nothing but the process' file descriptor 2 reaches
them, so :func:`import_tensorflow` points fd 2 at ``/dev/null`` for the duration of the import only.
An import error still raises normally, after stderr is restored.
"""

from __future__ import annotations

import os
import sys
from types import ModuleType

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


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
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)
    return tensorflow
