"""The NumPy-only modules of tdnn import without TensorFlow or Keras.

Students read these modules as reference implementations (the book's equations in NumPy), and the
assignments' checks run them; importing one must stay fast and must not start TensorFlow. Each
module is imported in a fresh interpreter, so what an earlier test imported cannot hide a change.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

TF_FREE = [
    "tdnn",
    "tdnn.activations",
    "tdnn.assignments",
    "tdnn.batchnorm",
    "tdnn.claims",
    "tdnn.clipping",
    "tdnn.data",
    "tdnn.guidelines",
    "tdnn.initializers",
    "tdnn.optimizers",
    "tdnn.plotting",
    "tdnn.repro",
    "tdnn.schedules",
]


@pytest.mark.parametrize("module", TF_FREE)
def test_module_imports_without_tensorflow(module: str) -> None:
    code = f"import sys, {module}; print(sorted({{'tensorflow', 'keras'}} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", f"importing {module} loads {out.stdout.strip()}"


def test_the_check_can_fail() -> None:
    code = "import sys, tdnn.training; print(sorted({'tensorflow', 'keras'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() != "[]"
