"""tdnn.traces: a twin's traced step gives bit-identical training, and only when it is safe."""

from __future__ import annotations

import random

import numpy as np
import pytest

from tdnn.models import build_mlp
from tdnn.repro import setup_notebook

setup_notebook()
import keras  # noqa: E402

from tdnn import traces  # noqa: E402
from tdnn.schedules import LearningRateLogger, OneCycleScheduler  # noqa: E402
from tdnn.training import fit  # noqa: E402

RNG = np.random.default_rng(0)
X = RNG.random((192, 8, 8), dtype=np.float32)
Y = RNG.integers(0, 3, 192)
VALID = (X[:64], Y[:64])


@pytest.fixture(autouse=True)
def fresh_pool(monkeypatch):
    monkeypatch.setenv("TDNN_REUSE_TRACES", "1")
    traces.clear_twins()
    yield
    traces.clear_twins()


def small(seed, **kwargs):
    return build_mlp((16, 16), input_shape=(8, 8), n_outputs=3, seed=seed, **kwargs)


def frozen(seed):
    model = small(seed)
    model.layers[1].trainable = False
    return model


CASES = {
    "SGD": (small, lambda: keras.optimizers.SGD(learning_rate=0.05, momentum=0.9), list),
    "dropout, Adam": (
        lambda s: small(s, dropout_rate=0.3),
        lambda: keras.optimizers.Adam(learning_rate=0.01),
        list,
    ),
    "batch norm": (
        lambda s: small(s, batch_norm="after"),
        lambda: keras.optimizers.Nadam(learning_rate=0.01),
        list,
    ),
    "frozen layer": (frozen, lambda: keras.optimizers.SGD(learning_rate=0.1), list),
    "per-batch logger, plateau": (
        small,
        lambda: keras.optimizers.SGD(learning_rate=0.1),
        lambda: [
            LearningRateLogger(),
            keras.callbacks.ReduceLROnPlateau(monitor="val_loss", patience=0, factor=0.5),
        ],
    ),
    "early stopping, best weights": (
        small,
        lambda: keras.optimizers.Adam(learning_rate=0.05),
        lambda: [
            keras.callbacks.EarlyStopping(
                monitor="val_loss", patience=1, restore_best_weights=True
            )
        ],
    ),
}


def run(case, seed):
    build, make_optimizer, make_callbacks = CASES[case]
    model = build(seed)
    first = fit(model, (X, Y), valid=VALID, epochs=4, batch_size=16,
                optimizer=make_optimizer(), callbacks=make_callbacks(), seed=seed)  # fmt: skip
    again = fit(model, (X, Y), epochs=2, batch_size=16, seed=seed + 10)  # continue training
    state = [v.value.numpy() for v in model.variables] + [
        v.value.numpy() for v in model.optimizer.variables
    ]
    return [h.drop(columns="seconds") for h in (first, again)], state


@pytest.mark.parametrize("case", sorted(CASES))
def test_training_on_a_twin_is_bit_identical(case, monkeypatch):
    results = {}
    for flag in ("0", "1"):
        monkeypatch.setenv("TDNN_REUSE_TRACES", flag)
        results[flag] = [run(case, seed) for seed in (0, 1)]  # seed 1 reuses seed 0's twin
    assert traces.twin_count() >= 1
    for (h_off, s_off), (h_on, s_on) in zip(results["0"], results["1"]):
        for a, b in zip(h_off, h_on):
            assert a.equals(b), f"{case}: histories differ\n{a}\n{b}"
        assert len(s_off) == len(s_on)
        for a, b in zip(s_off, s_on):
            np.testing.assert_array_equal(a, b, err_msg=case)


def test_the_twin_is_traced_once_and_reused():
    fit(small(0), (X, Y), epochs=1, batch_size=16, optimizer="sgd", seed=0)
    assert traces.twin_count() == 1
    (twin,) = traces._TWINS.values()
    step = twin.train_function
    assert step is not None
    model = small(1)
    fit(model, (X, Y), epochs=1, batch_size=16, optimizer="sgd", seed=1)
    assert traces.twin_count() == 1 and twin.train_function is step
    assert model.train_function is None  # the model itself traced nothing


def test_reuse_off_trains_the_model_itself(monkeypatch):
    monkeypatch.setenv("TDNN_REUSE_TRACES", "0")
    model = small(0)
    fit(model, (X, Y), epochs=1, batch_size=16, optimizer="sgd", seed=0)
    assert traces.twin_count() == 0 and model.train_function is not None


def compiled(model, optimizer=None, **kwargs):
    model.compile(optimizer=optimizer or keras.optimizers.SGD(learning_rate=0.1, momentum=0.9),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"], **kwargs)  # fmt: skip
    return model


def test_key_ignores_seeds_and_names_only():
    key = traces.trace_key(compiled(small(0)))
    assert key is not None
    assert traces.trace_key(compiled(small(7))) == key  # other seed, other auto-names
    different = {
        "activation": compiled(small(0, activation="tanh")),
        "units": compiled(build_mlp((16, 8), input_shape=(8, 8), n_outputs=3, seed=0)),
        "trainable": compiled(frozen(0)),
        "momentum": compiled(small(0), keras.optimizers.SGD(learning_rate=0.1, momentum=0.5)),
        "optimizer": compiled(small(0), keras.optimizers.Adam(learning_rate=0.1)),
        "steps per execution": compiled(small(0), steps_per_execution=4),
    }
    for what, model in different.items():
        assert traces.trace_key(model) not in (None, key), what


class Scaled(keras.layers.Layer):
    def __init__(self, factor, **kwargs):
        super().__init__(**kwargs)
        self.factor = factor  # not in get_config: a twin could not know it

    def call(self, x):
        return x * self.factor


def test_models_that_do_not_qualify_train_themselves():
    custom = compiled(keras.Sequential([keras.Input((8, 8)), keras.layers.Flatten(),
                                        Scaled(2.0), keras.layers.Dense(3)]))  # fmt: skip
    assert traces.trace_key(custom) is None
    assert traces.trace_key(small(0)) is None  # not compiled
    unbuilt = compiled(keras.Sequential([keras.layers.Dense(3)]))  # no Input: no variables yet
    assert traces.trace_key(unbuilt) is None

    class Sub(keras.Model):
        def __init__(self):
            super().__init__()
            self.dense = keras.layers.Dense(3)

        def call(self, x):
            return self.dense(keras.ops.reshape(x, (-1, 64)))

    assert traces.trace_key(compiled(Sub())) is None
    fit(custom, (X, Y), epochs=1, batch_size=16, seed=0)
    assert traces.twin_count() == 0 and custom.train_function is not None


def test_one_cycle_keeps_the_model_training_itself():
    model = small(0)
    fit(model, (X, Y), epochs=1, batch_size=16, seed=0,
        optimizer=keras.optimizers.SGD(learning_rate=0.01, momentum=0.9),
        callbacks=[OneCycleScheduler(12, max_lr=0.1)])  # fmt: skip
    assert traces.twin_count() == 0 and model.train_function is not None


def test_making_a_twin_leaves_the_global_generators_alone():
    model = compiled(small(0, dropout_rate=0.2))
    random.seed(3)
    np.random.seed(3)
    expected = random.random(), np.random.random()
    random.seed(3)
    np.random.seed(3)
    with traces.on_twin(model) as twin:
        assert twin is not model
    assert (random.random(), np.random.random()) == expected


def test_a_changed_optimizer_is_an_error_not_a_silent_copy():
    model = compiled(small(0))
    with pytest.raises(RuntimeError, match="optimizer changed"):
        with traces.on_twin(model) as twin:
            twin.optimizer.__class__ = type("Other", (keras.optimizers.SGD,), {})
    assert traces.twin_count() == 0


def test_on_twin_checks_its_argument():
    with pytest.raises(TypeError, match="model must be a keras.Model"):
        with traces.on_twin("model"):
            pass


def unfrozen_without_recompiling(seed):
    model = frozen(seed)
    fit(model, (X, Y), epochs=1, batch_size=16, optimizer="sgd", seed=seed)
    before = model.layers[1].kernel.value.numpy()
    model.layers[1].trainable = True  # no compile: Keras keeps the step it traced
    fit(model, (X, Y), epochs=1, batch_size=16, seed=seed)
    stale = np.array_equal(before, model.layers[1].kernel.value.numpy())
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    fit(model, (X, Y), epochs=1, batch_size=16, seed=seed)
    return stale, [v.value.numpy() for v in model.variables]


def test_a_model_keeps_the_step_of_its_last_compile_as_keras_does(monkeypatch):
    results = {}
    for flag in ("0", "1"):
        monkeypatch.setenv("TDNN_REUSE_TRACES", flag)
        results[flag] = [unfrozen_without_recompiling(seed) for seed in (0, 1)]
    for (stale_off, off), (stale_on, on) in zip(results["0"], results["1"]):
        assert stale_off and stale_on  # the unfrozen layer did not train before recompiling
        for a, b in zip(off, on):
            np.testing.assert_array_equal(a, b)
    assert traces.twin_count() == 2  # frozen, and unfrozen after recompiling


def test_retrace_forgets_the_models_twin():
    model = compiled(small(0))
    with traces.on_twin(model) as first:
        pass
    model.layers[1].trainable = False
    with traces.on_twin(model) as same:
        assert same is first  # not recompiled: the same step
    traces.retrace(model)
    with traces.on_twin(model) as other:
        assert other is not first


PREDICT_MODELS = {
    "compiled": lambda: compiled(small(0)),
    "not compiled": lambda: small(1),
    "batch norm": lambda: small(2, batch_norm="after"),
    "dropout": lambda: small(3, dropout_rate=0.5),
    "custom layer": lambda: keras.Sequential(
        [keras.Input((8, 8)), keras.layers.Flatten(), Scaled(2.0), keras.layers.Dense(3)]
    ),
}


@pytest.mark.parametrize("name", sorted(PREDICT_MODELS))
def test_predict_gives_keras_predict_numbers(name):
    model = PREDICT_MODELS[name]()
    x = RNG.random((150, 8, 8), dtype=np.float32)
    for batch_size in (64, 1024):  # 150 = 64 + 64 + 22: a last, shorter batch too
        expected = model.predict(x, batch_size=batch_size, verbose=0)
        np.testing.assert_array_equal(traces.predict(model, x, batch_size=batch_size), expected)
    assert traces.twin_count() == (0 if name == "custom layer" else 1)


def test_predict_reuses_one_inference_twin_per_architecture():
    x = RNG.random((10, 8, 8), dtype=np.float32)
    models = [small(seed) for seed in range(3)]
    predictions = [traces.predict(model, x) for model in models]
    assert traces.twin_count() == 1
    for model, p in zip(models, predictions):
        np.testing.assert_array_equal(p, model.predict(x, verbose=0))
        assert model.predict_function is not None  # traced by that check, not by traces.predict


def test_predict_checks_its_arguments():
    with pytest.raises(TypeError, match="model must be a keras.Model"):
        traces.predict("model", X)
    with pytest.raises(ValueError, match="batch_size must be a positive int"):
        traces.predict(small(0), X, batch_size=0)
    with pytest.raises(ValueError, match="x must hold at least one example"):
        traces.predict(small(0), X[:0])


@pytest.fixture
def count_traces(monkeypatch):
    """How many times Keras traced a train step (any model) since the fixture started."""
    from keras.src.backend.tensorflow.trainer import TensorFlowTrainer

    counts = {"train": 0}
    original = TensorFlowTrainer.train_step

    def counting(self, data):
        counts["train"] += 1  # runs only while a step is being traced
        return original(self, data)

    monkeypatch.setattr(TensorFlowTrainer, "train_step", counting)
    return counts


def _keras_fit(model, prebuild):
    compiled(model, steps_per_execution=4)
    if prebuild:
        assert traces.build_compiled_state(model, X, Y)
        assert not traces.build_compiled_state(model, X, Y)  # nothing left to build
    keras.utils.set_random_seed(5)
    history = model.fit(X, Y, validation_data=VALID, epochs=3, batch_size=16, verbose=0)
    return history.history, [v.value.numpy() for v in model.variables + model.optimizer.variables]


def test_building_the_compiled_state_first_traces_the_step_once_same_numbers(count_traces):
    plain = _keras_fit(small(0, dropout_rate=0.2), prebuild=False)
    assert count_traces["train"] == 2  # Keras creates the metrics' variables in the first trace
    count_traces["train"] = 0
    built = _keras_fit(small(0, dropout_rate=0.2), prebuild=True)
    assert count_traces["train"] == 1
    assert plain[0] == built[0]
    for a, b in zip(plain[1], built[1], strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("reuse", ["0", "1"])
def test_fit_traces_a_new_architecture_once(count_traces, monkeypatch, reuse):
    monkeypatch.setenv("TDNN_REUSE_TRACES", reuse)
    fit(small(0), (X, Y), valid=VALID, epochs=2, batch_size=16, optimizer="adam", seed=0)
    assert count_traces["train"] == 1


def test_build_compiled_state_checks_its_model():
    with pytest.raises(TypeError, match="model"):
        traces.build_compiled_state("not a model", X, Y)
    assert not traces.build_compiled_state(small(0), X, Y)  # not compiled: fit builds it as usual
