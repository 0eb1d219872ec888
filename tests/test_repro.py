"""tdnn.repro: profiles, seeding and the notebook set-up."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from tdnn import repro


def test_import_sets_tf_log_level() -> None:
    assert os.environ["TF_CPP_MIN_LOG_LEVEL"] == "3"


def test_profile_pick_and_env(monkeypatch) -> None:
    monkeypatch.delenv("TDNN_PROFILE", raising=False)
    assert repro.current_profile() == repro.Profile("book")
    assert repro.Profile("book").pick(book=1, full=2) == 1
    monkeypatch.setenv("TDNN_PROFILE", "FULL")
    p = repro.current_profile()
    assert p.full and p.pick(book=1, full=2) == 2
    monkeypatch.setenv("TDNN_PROFILE", "huge")
    with pytest.raises(ValueError, match="TDNN_PROFILE"):
        repro.current_profile()
    with pytest.raises(ValueError, match="name"):
        repro.Profile("huge")


def test_seed_everything_makes_keras_init_reproducible() -> None:
    import keras

    def draw() -> np.ndarray:
        layer = keras.layers.Dense(5)
        layer.build((None, 3))
        return layer.kernel.numpy()

    repro.seed_everything(7)
    a, r1 = draw(), np.random.rand()
    repro.seed_everything(7)
    b, r2 = draw(), np.random.rand()
    np.testing.assert_array_equal(a, b)
    assert r1 == r2
    with pytest.raises(ValueError, match="seed"):
        repro.seed_everything(-1)
    with pytest.raises(TypeError, match="seed"):
        repro.seed_everything("42")


def test_setup_notebook_returns_profile_and_styles_plots(monkeypatch) -> None:
    import matplotlib as mpl

    monkeypatch.delenv("TDNN_PROFILE", raising=False)
    profile = repro.setup_notebook(seed=3)
    assert profile.name == "book"
    assert mpl.rcParams["axes.grid"] is True
    with pytest.raises(TypeError, match="seed"):
        repro.setup_notebook(seed=1.5)


def test_tensorflow_import_is_silent() -> None:
    """Importing TensorFlow through tdnn writes nothing to stderr (TF 2.21 prints absl lines otherwise)."""
    code = "import tdnn; tdnn.setup_notebook(); import tensorflow as tf; tf.constant(1.0) + 1.0"
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
