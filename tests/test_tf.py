"""``tdnn._tf``: TensorFlow starts with cheap ``tf.data`` iterators and unchanged results.

Each check runs in a fresh interpreter: what matters is how TensorFlow's runtime was *started*,
which this test process did long ago.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

TRAIN = r"""
import json, sys
import numpy as np
from tdnn._tf import import_tensorflow
tf = import_tensorflow()
import keras
from tensorflow.core.protobuf import config_pb2
from tensorflow.python.eager import context

config = config_pb2.ConfigProto.FromString(context.context().function_call_options.config_proto_serialized)
keras.utils.set_random_seed(3)
rng = np.random.default_rng(0)
x = rng.standard_normal((300, 8)).astype("float32")
y = (x[:, 0] + x[:, 1] > 0).astype("int32")
model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(16, activation="relu"),
                          keras.layers.Dropout(0.3), keras.layers.Dense(2, activation="softmax")])
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"],
              steps_per_execution=4)
history = model.fit(x, y, validation_data=(x[:50], y[:50]), epochs=3, batch_size=32, verbose=0)
predictions = model.predict(x[:40], batch_size=16, verbose=0)

import time
from keras.src.trainers.data_adapters.array_data_adapter import ArrayDataAdapter
dataset = ArrayDataAdapter(np.zeros((3000, 784), "float32"), np.zeros(3000, "int32"),
                           batch_size=64, shuffle=True).get_tf_dataset()
best = float("inf")
for _ in range(25):  # the least disturbed of 25 creations of an iterator
    start = time.perf_counter()
    iter(dataset)
    best = min(best, time.perf_counter() - start)
json.dump({
    "iterator_seconds": best,
    "graphs_optimized": not config.graph_options.rewrite_options.disable_meta_optimizer,
    "history": {k: [float(v).hex() for v in vs] for k, vs in history.history.items()},
    "weights": [float(w.sum()).hex() for w in model.get_weights()],
    "predictions": float(predictions.sum()).hex(),
}, sys.stdout)
"""

def _run(code: str, switch: str) -> str:
    env = dict(os.environ, TDNN_QUICK_ITERATORS=switch)
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


@pytest.fixture(scope="module")
def runs() -> dict[str, dict]:
    """The same training, predictions and iterator timing, with and without quick iterators."""
    return {"quick": json.loads(_run(TRAIN, "1")), "plain": json.loads(_run(TRAIN, "0"))}


def test_quick_iterators_change_no_number_and_keep_graphs_optimized(runs) -> None:
    quick, plain = runs["quick"], runs["plain"]
    assert quick["graphs_optimized"] and plain["graphs_optimized"]  # Grappler still runs on tf.functions
    # training (shuffled batches, dropout, validation at every epoch) and predict: bit for bit
    assert quick["history"] == plain["history"]
    assert quick["weights"] == plain["weights"] and quick["predictions"] == plain["predictions"]


def test_quick_iterators_are_cheaper_to_create(runs) -> None:
    # about 4 ms against 12 ms on the 2-core CPU
    quick, plain = runs["quick"]["iterator_seconds"], runs["plain"]["iterator_seconds"]
    assert quick < 0.6 * plain, (quick, plain)


def test_quick_iterators_leave_a_started_runtime_alone() -> None:
    code = (
        "import tensorflow as tf; tf.constant(1.0) + 1\n"
        "from tdnn._tf import quick_iterators\n"
        "before = tf.config.optimizer.get_experimental_options()\n"
        "print(quick_iterators(tf), tf.config.optimizer.get_experimental_options() == before)"
    )
    assert _run(code, "1").split() == ["False", "True"]


def test_quick_iterators_can_be_turned_off() -> None:
    code = "import tensorflow as tf\nfrom tdnn._tf import quick_iterators\nprint(quick_iterators(tf))"
    assert _run(code, "off").split() == ["False"]
