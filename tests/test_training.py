"""tdnn.training: the quiet, seeded fit wrapper and the result tables."""

from __future__ import annotations

import keras
import numpy as np
import pandas as pd
import pytest

from tdnn.models import build_mlp
from tdnn.training import (
    STEPS_PER_EXECUTION,
    epoch_steps,
    fit,
    fit_seeds,
    format_duration,
    format_ratio,
    make_optimizer,
    results_table,
)


def _toy(n: int = 256, seed: int = 0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 8)).astype("float32")
    y = (x[:, 0] + x[:, 1] > 0).astype("uint8")
    return x, y


def test_fit_returns_a_tidy_history_and_learns(capsys) -> None:
    x, y = _toy()
    model = build_mlp((16,), input_shape=(8,), n_outputs=2, seed=0)
    h = fit(model, (x, y), valid=(x[:64], y[:64]), epochs=5, batch_size=32, optimizer="sgd", learning_rate=0.1)
    assert list(h.index) == [1, 2, 3, 4, 5] and h.index.name == "epoch"
    assert {"loss", "accuracy", "val_loss", "val_accuracy", "seconds"} <= set(h.columns)
    assert (h["seconds"] > 0).all()
    assert h["loss"].iloc[-1] < h["loss"].iloc[0]
    assert h["accuracy"].iloc[-1] > 0.8
    assert capsys.readouterr().out == ""  # verbose=0: no progress bar


def test_fit_is_deterministic_with_a_seed() -> None:
    x, y = _toy()
    runs = [
        fit(build_mlp((16,), input_shape=(8,), n_outputs=2, seed=1, dropout_rate=0.2), (x, y), epochs=3,
            optimizer="adam", seed=5)
        for _ in range(2)
    ]
    pd.testing.assert_frame_equal(runs[0].drop(columns="seconds"), runs[1].drop(columns="seconds"))


def test_fit_uses_existing_compile_and_defaults_to_sgd() -> None:
    x, y = _toy()
    model = build_mlp((4,), input_shape=(8,), n_outputs=2, seed=0)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.01), loss="sparse_categorical_crossentropy")
    fit(model, (x, y), epochs=1)
    assert isinstance(model.optimizer, keras.optimizers.Adam)
    fresh = build_mlp((4,), input_shape=(8,), n_outputs=2, seed=0)
    fit(fresh, (x, y), epochs=1)
    assert isinstance(fresh.optimizer, keras.optimizers.SGD)


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        ({"train": [1, 2, 3]}, TypeError, "train"),
        ({"valid": (np.zeros((3, 8)), np.zeros(2))}, ValueError, "valid has 3 inputs but 2 targets"),
        ({"epochs": 0}, ValueError, "epochs"),
        ({"batch_size": 1.5}, TypeError, "batch_size"),
        ({"optimizer": "sgdd"}, ValueError, "optimizer"),
        ({"optimizer": "sgd", "learning_rate": -1.0}, ValueError, "learning_rate"),
        ({"callbacks": ["early"]}, TypeError, "callbacks"),
    ],
)
def test_fit_bad_arguments(kwargs, exc, match) -> None:
    x, y = _toy(32)
    args = {"train": (x, y), **kwargs}
    with pytest.raises(exc, match=match):
        fit(build_mlp((4,), input_shape=(8,), n_outputs=2), **args)
    with pytest.raises(TypeError, match="model"):
        fit("model", (x, y))


def test_fit_accepts_a_single_metric_name() -> None:
    x, y = _toy(64)
    h = fit(build_mlp((4,), input_shape=(8,), n_outputs=2, seed=0), (x, y), valid=(x, y), epochs=1,
            metrics="accuracy")
    assert {"accuracy", "val_accuracy"} <= set(h.columns)  # not 'a', 'c', 'c', ...


@pytest.mark.parametrize(
    "labels, where, match",
    [
        (np.full(32, 2), "train", r"^train labels must be class indices in \[0, 2\).*from 2 to 2"),
        (np.full(32, -1), "valid", r"^valid labels must be class indices in \[0, 2\).*from -1 to -1"),
        (np.full(32, 0.5), "train", r"^train labels must be whole class indices"),
    ],
)
def test_fit_refuses_out_of_range_labels_before_training(labels, where, match) -> None:
    x, y = _toy(32)
    model = build_mlp((4,), input_shape=(8,), n_outputs=2, seed=0)
    data = {"train": (x, labels if where == "train" else y), "valid": (x, labels if where == "valid" else y)}
    with pytest.raises(ValueError, match=match):
        fit(model, data["train"], valid=data["valid"], epochs=1)
    assert not model.compiled  # refused before anything ran
    model.compile(optimizer="sgd", loss=keras.losses.SparseCategoricalCrossentropy())
    with pytest.raises(ValueError, match=match):  # the loss of an already compiled model counts too
        fit(model, data["train"], valid=data["valid"], epochs=1)
    assert model.optimizer.iterations.numpy() == 0


def test_fit_refuses_negative_labels_even_before_the_model_is_built() -> None:
    x, y = _toy(32)
    model = keras.Sequential([keras.layers.Dense(2, activation="softmax")])  # no Input: not built
    with pytest.raises(ValueError, match=r"^train labels must be class indices in \[0, n_outputs\)"):
        fit(model, (x, y.astype("int64") - 1), epochs=1)
    assert list(fit(model, (x, y), epochs=1).index) == [1]


def test_fit_checks_labels_only_for_sparse_categorical_losses() -> None:
    x, _ = _toy(32)
    targets = np.linspace(-3.0, 3.0, 32).astype("float32")  # regression targets, not class indices
    model = build_mlp((4,), input_shape=(8,), n_outputs=1, output_activation=None, seed=0)
    h = fit(model, (x, targets), epochs=1, loss="mse", metrics=())
    assert list(h.index) == [1]


def test_make_optimizer() -> None:
    opt = make_optimizer("adam", 0.005)
    assert isinstance(opt, keras.optimizers.Adam)
    assert float(opt.learning_rate) == pytest.approx(0.005)
    with pytest.raises(ValueError, match="learning_rate"):
        make_optimizer(keras.optimizers.SGD(), 0.1)
    with pytest.raises(TypeError, match="optimizer"):
        make_optimizer(3)


def test_fit_seeds_and_results_table() -> None:
    x, y = _toy()
    runs = fit_seeds(lambda s: build_mlp((8,), input_shape=(8,), n_outputs=2), (x, y), seeds=[0, 1],
                     valid=(x, y), epochs=2, optimizer="sgd", learning_rate=0.1)
    assert sorted(runs["seed"].unique()) == [0, 1] and len(runs) == 4
    histories = {f"seed {s}": g.set_index("epoch") for s, g in runs.groupby("seed")}
    table = results_table(histories)
    assert list(table.index) == ["seed 0", "seed 1"]
    assert {"final val_accuracy", "best val_accuracy", "best epoch", "time/epoch"} <= set(table.columns)
    assert table["time/epoch"].str.fullmatch(r" *\d+\.\d\d s").all()
    with pytest.raises(ValueError, match="metric"):
        results_table(histories, metric="val_auc")
    with pytest.raises(ValueError, match="histories"):
        results_table({})
    with pytest.raises(ValueError, match="seeds"):
        fit_seeds(lambda s: None, (x, y), seeds=[])


def test_formatters_match_the_nbval_sanitizer() -> None:
    import re

    from conftest import ROOT

    cfg = (ROOT / "tests" / "nbval_sanitize.cfg").read_text()
    patterns = re.findall(r"^regex: (.*)$", cfg, re.M)
    samples = [format_duration(1.2345), format_duration(0.0123, "ms"), format_duration(123.4), format_ratio(1.314)]
    assert samples == ["  1.23 s", " 12.30 ms", "123.40 s", " 1.31×"]
    for s in samples:
        assert any(re.search(p, s) for p in patterns), s
    with pytest.raises(ValueError, match="unit"):
        format_duration(1.0, "h")
    with pytest.raises(ValueError, match="seconds"):
        format_duration(-1.0)


def test_sanitizer_masks_timings_of_any_magnitude_alike() -> None:
    """nbval must see '  9.99 ms' and ' 10.01 ms' (and a table column of them) as the same output."""
    import re

    from conftest import ROOT

    pairs = re.findall(r"^regex: (.*)$\n^replace: (.*)$", (ROOT / "tests" / "nbval_sanitize.cfg").read_text(), re.M)

    def sanitize(s: str) -> str:
        for regex, replace in pairs:
            s = re.sub(regex, replace, s)
        return s

    a = pd.DataFrame({"t": [format_duration(0.00999, "ms"), format_ratio(1.5)]}).to_string()
    b = pd.DataFrame({"t": [format_duration(0.01001, "ms"), format_ratio(12.5)]}).to_string()
    assert a != b and sanitize(a) == sanitize(b)
    assert sanitize("accuracy 0.8123") == "accuracy 0.8123"  # other numbers are never masked


def test_epoch_time_excludes_the_users_callbacks() -> None:
    import time as _time

    class Slow(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            _time.sleep(1.0)  # far longer than an epoch of 64 examples, even on a loaded machine

    x, y = _toy(64)
    h = fit(build_mlp((4,), input_shape=(8,), n_outputs=2, seed=0), (x, y), epochs=2, callbacks=[Slow()])
    assert (h["seconds"].iloc[1:] < 1.0).all()


# --- steps_per_execution (issue 12) -------------------------------------------------------------------


class _BatchCounter(keras.callbacks.Callback):
    def __init__(self) -> None:
        super().__init__()
        self.batches: list[int] = []

    def on_train_batch_end(self, batch, logs=None) -> None:
        self.batches.append(batch)


class _EpochOnly(keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None) -> None:
        pass


def test_sees_every_batch_detects_per_batch_hooks() -> None:
    from tdnn.schedules import OneCycleScheduler
    from tdnn.training import sees_every_batch

    assert sees_every_batch(_BatchCounter())
    assert sees_every_batch(OneCycleScheduler(100, max_lr=0.1))
    assert sees_every_batch(keras.callbacks.TerminateOnNaN())
    assert not sees_every_batch(_EpochOnly())
    assert not sees_every_batch(keras.callbacks.EarlyStopping())


def test_several_steps_per_execution_change_the_speed_not_the_numbers() -> None:
    x, y = _toy(n=400)

    def run(spe):
        model = build_mlp((16,), input_shape=(8,), n_outputs=2, seed=3, batch_norm="after", dropout_rate=0.2)
        h = fit(model, (x, y), valid=(x[:96], y[:96]), epochs=2, batch_size=32, optimizer="adam",
                seed=7, steps_per_execution=spe)
        return model, h

    auto_model, auto = run(None)
    assert auto_model.steps_per_execution == 32  # 13 batches per epoch: one call per epoch
    one_model, one = run(1)
    assert one_model.steps_per_execution == 1
    pd.testing.assert_frame_equal(auto.drop(columns="seconds"), one.drop(columns="seconds"))
    for a, b in zip(auto_model.get_weights(), one_model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_per_batch_callbacks_still_see_every_batch() -> None:
    x, y = _toy(n=320)  # 10 batches of 32
    counter = _BatchCounter()
    model = build_mlp((16,), input_shape=(8,), n_outputs=2, seed=0)
    fit(model, (x, y), epochs=2, batch_size=32, optimizer="sgd", callbacks=[counter])
    assert counter.batches == list(range(10)) * 2
    assert model.steps_per_execution == 1
    # a model compiled by fit with several batches per step, then trained again with a per-batch
    # callback (and no new optimizer): back to one batch per step
    model = build_mlp((16,), input_shape=(8,), n_outputs=2, seed=0)
    fit(model, (x, y), epochs=1, batch_size=32, optimizer="sgd")
    assert model.steps_per_execution == 32
    counter = _BatchCounter()
    fit(model, (x, y), epochs=1, batch_size=32, callbacks=[counter])
    assert counter.batches == list(range(10)) and model.steps_per_execution == 1


def test_a_model_compiled_by_the_caller_keeps_its_steps_per_execution() -> None:
    x, y = _toy()
    model = build_mlp((16,), input_shape=(8,), n_outputs=2, seed=0)
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    fit(model, (x, y), epochs=1)
    assert model.steps_per_execution == 1
    with pytest.raises(ValueError, match="steps_per_execution"):
        fit(model, (x, y), epochs=1, steps_per_execution=4)
    with pytest.raises(ValueError, match="steps_per_execution"):
        fit(build_mlp((4,), input_shape=(8,), n_outputs=2), (x, y), optimizer="sgd", steps_per_execution=0)
    with pytest.raises(TypeError, match="steps_per_execution"):
        fit(build_mlp((4,), input_shape=(8,), n_outputs=2), (x, y), optimizer="sgd", steps_per_execution=2.0)


@pytest.mark.parametrize("spe", [None, 1])
def test_naming_the_epoch_steps_changes_no_number(spe) -> None:
    # fit passes steps_per_epoch and validation_steps (one data iterator per epoch instead of two);
    # Keras' own fit without them must give the same history and weights, bit for bit, also with
    # a partial last batch, dropout and batch norm. This holds because, with a global seed, every
    # iterator of Keras' array pipeline repeats the same shuffled order: if a Keras release starts
    # reshuffling per iterator, this test fails, and epoch_steps must go.
    x, y = _toy(n=400)  # 12.5 batches of 32
    valid = (x[:90], y[:90])

    def model():
        return build_mlp((16,), input_shape=(8,), n_outputs=2, seed=3, batch_norm="after", dropout_rate=0.2)

    ours = model()
    h = fit(ours, (x, y), valid=valid, epochs=3, batch_size=32, optimizer="adam", seed=7, steps_per_execution=spe)
    plain = model()
    plain.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"],
                  steps_per_execution=spe or STEPS_PER_EXECUTION)
    keras.utils.set_random_seed(7)
    k = plain.fit(x, y, validation_data=valid, epochs=3, batch_size=32, verbose=0).history
    pd.testing.assert_frame_equal(
        h.drop(columns="seconds"), pd.DataFrame(k, index=h.index)[list(h.columns.drop("seconds"))]
    )
    for a, b in zip(ours.get_weights(), plain.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_epoch_steps_counts_the_partial_last_batch() -> None:
    assert epoch_steps(400, 32) == 13 and epoch_steps(384, 32) == 12 and epoch_steps(1, 32) == 1
    with pytest.raises(ValueError, match="n_examples"):
        epoch_steps(0, 32)
    with pytest.raises(TypeError, match="batch_size"):
        epoch_steps(10, 2.5)
