"""tdnn: a runnable companion to "Training Deep Neural Networks" (Géron, HOML ch. 11).

Importing :mod:`tdnn` sets ``TF_CPP_MIN_LOG_LEVEL=3`` (unless already set) *before* anything imports
TensorFlow: it is the only setting that silences TensorFlow's C++ log lines, which would otherwise
end up as stderr in the stored notebook outputs.
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from tdnn.repro import Profile, setup_notebook  # noqa: E402

__all__ = ["Profile", "setup_notebook", "__version__"]
__version__ = "0.1.0"
