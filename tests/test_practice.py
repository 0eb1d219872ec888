"""tdnn.practice: the training helper and graders of the practical exercise (ch. 11, exercise 8).

The graders accept the right architectures and refuse wrong ones with a hint that never names the
answer; ``train_net`` trains a right builder and refuses every kind of stub without raising.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from tdnn._tf import import_tensorflow

import_tensorflow()
import keras  # noqa: E402

from tdnn.data import Dataset, Split  # noqa: E402
from tdnn.practice import (  # noqa: E402
    HIDDEN_LAYERS,
    PracticeRun,
    check_mc_predict,
    check_net,
    check_net_shape,
    check_one_cycle,
    check_report,
    check_run,
    check_standardize,
    describe_net,
    initializer_name,
    mc_accuracy,
    runs_table,
    train_net,
)
from tdnn.schedules import OneCycleScheduler  # noqa: E402


def make_builder(
    *,
    n_layers: int = HIDDEN_LAYERS,
    units: int = 100,
    activation: str = "elu",
    init: str = "he_normal",
    bn: str | None = None,
    alpha: float | None = None,
    dropout: float | None = None,
    optimizer=lambda: keras.optimizers.Nadam(learning_rate=1e-3),
    compile_: bool = True,
    n_out: int = 10,
    functional: bool = False,
):
    def build():
        layers = [keras.Input(shape=(28, 28)), keras.layers.Flatten()]
        for _ in range(n_layers):
            if bn == "before":
                layers += [
                    keras.layers.Dense(units, kernel_initializer=init, use_bias=False),
                    keras.layers.BatchNormalization(),
                    keras.layers.Activation(activation),
                ]
            else:
                layers.append(keras.layers.Dense(units, activation=activation, kernel_initializer=init))
                if bn == "after":
                    layers.append(keras.layers.BatchNormalization())
        if alpha:
            layers.append(keras.layers.AlphaDropout(alpha))
        if dropout:
            layers.append(keras.layers.Dropout(dropout))
        layers.append(keras.layers.Dense(n_out, activation="softmax"))
        if functional:
            x = inputs = layers[0]
            for layer in layers[1:]:
                x = layer(x)
            model = keras.Model(inputs, x)
        else:
            model = keras.Sequential(layers)
        if compile_:
            model.compile(loss="sparse_categorical_crossentropy", optimizer=optimizer(), metrics=["accuracy"])
        return model

    build.__name__ = "build_net"
    return build


@pytest.fixture(scope="module")
def tiny_data() -> Dataset:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 10, size=320)
    # images whose mean brightness tells the class: learnable in a couple of epochs
    x = (rng.uniform(0, 0.2, size=(320, 28, 28)) + (y / 12.0)[:, None, None]).astype(np.float32)
    return Dataset(Split(x[:256], y[:256]), Split(x[256:], y[256:]), Split(x[:1], y[:1]))


@pytest.fixture(scope="module")
def finished_run(tiny_data) -> PracticeRun:
    return train_net(make_builder(), tiny_data, label="ok", epochs=2, patience=1, batch_size=64, seed=1)


# -------------------------------------------------------------------------------------------
# reading architectures back


@pytest.mark.parametrize(
    "init, name",
    [
        ("he_normal", "he_normal"),
        ("he_uniform", "he_uniform"),
        ("lecun_normal", "lecun_normal"),
        ("glorot_uniform", "glorot_uniform"),
        (keras.initializers.VarianceScaling(2.0, "fan_in", "truncated_normal"), "he_normal"),
        (keras.initializers.VarianceScaling(1.0, "fan_in", "uniform"), "lecun_uniform"),
        (keras.initializers.RandomNormal(), "random_normal"),
        ("zeros", "zeros"),
    ],
)
def test_initializer_name_reads_table_11_1(init, name) -> None:
    assert initializer_name(init) == name


@pytest.mark.parametrize("bn", ["before", "after"])
def test_describe_net_finds_bn_and_the_activation_of_each_hidden_layer(bn) -> None:
    s = describe_net(make_builder(n_layers=3, bn=bn)())
    assert s.hidden_widths == (100, 100, 100)
    assert s.hidden_activations == ("elu",) * 3
    assert s.hidden_initializers == ("he_normal",) * 3
    assert s.n_batch_norm == 3 and s.output_units == 10 and s.output_activation == "softmax"
    assert s.optimizer == "Nadam" and s.sequential


def test_describe_net_reads_dropout_and_model_kind() -> None:
    s = describe_net(make_builder(n_layers=2, activation="selu", init="lecun_normal", alpha=0.1)())
    assert s.alpha_dropout_rates == (0.1,) and s.dropout_rates == ()
    s = describe_net(make_builder(n_layers=2, dropout=0.2, functional=True, compile_=False)())
    assert s.dropout_rates == (0.2,) and not s.sequential and s.optimizer is None


def test_describe_net_refuses_a_non_model() -> None:
    with pytest.raises(TypeError, match="model"):
        describe_net("not a model")


# -------------------------------------------------------------------------------------------
# check_net_shape / check_net


def test_the_right_architectures_pass() -> None:
    check_net(make_builder(), activation="elu", initializers=("he_normal",), batch_norm=False, optimizer="Nadam")
    check_net(make_builder(bn="before"), activation="elu", initializers=("he_normal",), batch_norm=True, optimizer="Nadam")
    check_net(make_builder(bn="after"), activation="elu", initializers=("he_normal",), batch_norm=True, optimizer="Nadam")
    selu = dict(activation="selu", init="lecun_normal")
    check_net(make_builder(**selu), activation="selu", initializers=("lecun_normal",), batch_norm=False, optimizer="Nadam", sequential=True)
    check_net(
        make_builder(**selu, alpha=0.1, optimizer=lambda: keras.optimizers.SGD(momentum=0.9)),
        activation="selu",
        initializers=("lecun_normal",),
        batch_norm=False,
        alpha_dropout=0.1,
        optimizer="SGD",
        sequential=True,
    )


@pytest.mark.parametrize(
    "build, match",
    [
        (lambda: None, "must return a Keras model"),
        (lambda: ..., "must return a Keras model"),
        ("build", "must be a function"),
        (None, "must be a function"),
    ],
)
def test_check_net_shape_refuses_stubs(build, match) -> None:
    with pytest.raises(AssertionError, match=match):
        check_net_shape(build)


def test_check_net_shape_reports_a_stub_that_raises() -> None:
    def build_elu_net():
        raise NotImplementedError

    with pytest.raises(AssertionError, match="not implemented yet"):
        check_net_shape(build_elu_net)

    def broken():
        return 1 / 0

    with pytest.raises(AssertionError, match="ZeroDivisionError"):
        check_net_shape(broken)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(n_layers=19), "19 hidden Dense layers"),
        (dict(units=50), "100 units"),
        (dict(n_out=5), "output layer"),
        (dict(compile_=False), "compiled"),
    ],
)
def test_check_net_shape_names_what_is_off(kwargs, match) -> None:
    with pytest.raises(AssertionError, match=match):
        check_net_shape(make_builder(**kwargs))


ELU_RECIPE = dict(activation="elu", initializers=("he_normal", "he_uniform"), batch_norm=False, optimizer="Nadam")


@pytest.mark.parametrize(
    "kwargs, recipe, match",
    [
        (dict(activation="relu"), ELU_RECIPE, "activation"),
        (dict(init="glorot_uniform"), ELU_RECIPE, "initialization"),
        (dict(bn="after"), ELU_RECIPE, "without Batch Normalization"),
        (dict(), {**ELU_RECIPE, "batch_norm": True}, "BatchNormalization layers"),
        (dict(optimizer=lambda: keras.optimizers.Adam()), ELU_RECIPE, "optimizer"),
        (dict(dropout=0.1), ELU_RECIPE, "Dropout"),
        (dict(alpha=0.1), ELU_RECIPE, "without dropout"),
        (dict(alpha=0.2), {**ELU_RECIPE, "alpha_dropout": 0.1}, "rate"),
        (dict(), {**ELU_RECIPE, "alpha_dropout": 0.1}, "no AlphaDropout"),
        (dict(functional=True), {**ELU_RECIPE, "sequential": True}, "Sequential"),
    ],
)
def test_check_net_hints_without_giving_the_answer(kwargs, recipe, match) -> None:
    with pytest.raises(AssertionError, match=match) as info:
        check_net(make_builder(**kwargs), **recipe)
    message = str(info.value)
    # the hint names what the model has, never what the question wants
    assert "'elu'" not in message and "he_normal" not in message and "he_uniform" not in message
    assert "Nadam" not in message and "0.1" not in message


def test_check_net_needs_initializers() -> None:
    with pytest.raises(ValueError, match="initializers"):
        check_net(make_builder(), activation="elu", initializers=(), batch_norm=False, optimizer="Nadam")


# -------------------------------------------------------------------------------------------
# train_net


def test_train_net_trains_a_right_builder(finished_run) -> None:
    run = finished_run
    assert run.finished and run.message == ""
    assert 1 <= run.best_epoch <= run.epochs <= 2
    assert 0.0 <= run.valid_accuracy <= 1.0
    assert run.seconds > 0 and run.cpu_seconds > 0 and 0 < run.seconds_to_best <= run.seconds
    assert list(run.history.index) == list(range(1, run.epochs + 1))
    assert {"loss", "val_loss", "accuracy", "val_accuracy", "seconds", "cpu_seconds"} <= set(run.history.columns)
    later = run.history.iloc[1:] if run.epochs > 1 else run.history
    assert run.seconds_per_epoch == float(np.median(later["seconds"]))
    assert run.cpu_seconds_per_epoch == float(np.median(later["cpu_seconds"]))
    assert math.isnan(PracticeRun(label="stub").seconds_per_epoch)
    assert "valid accuracy" in str(run) and "epoch" in str(run)


def test_train_net_restores_the_best_epoch(tiny_data) -> None:
    run = train_net(make_builder(n_layers=2), tiny_data, label="x", epochs=3, patience=3, batch_size=64)
    best = int(run.history["val_loss"].idxmin())
    assert run.best_epoch == best


def test_train_net_without_early_stopping_runs_every_epoch_and_calls_callbacks(tiny_data) -> None:
    steps = math.ceil(256 / 64) * 2
    one_cycle = OneCycleScheduler(steps, max_lr=0.05)
    build = make_builder(n_layers=2, optimizer=lambda: keras.optimizers.SGD(momentum=0.9))
    run = train_net(build, tiny_data, label="1cycle", epochs=2, patience=None, batch_size=64, callbacks=[one_cycle])
    assert run.finished and run.epochs == 2 and run.best_epoch == 2
    check_one_cycle(one_cycle, run)
    wrong = OneCycleScheduler(3, max_lr=0.05)  # counted in epochs, not batches
    run2 = train_net(build, tiny_data, label="1cycle", epochs=2, patience=None, batch_size=64, callbacks=wrong)
    with pytest.raises(AssertionError, match="counts batches"):
        check_one_cycle(wrong, run2)


def _raises_not_implemented():
    raise NotImplementedError


def _raises_value_error():
    raise ValueError("boom")


@pytest.mark.parametrize(
    "build, match",
    [
        (lambda: None, "returned None"),
        (lambda: ..., "returned Ellipsis"),
        (_raises_not_implemented, "not implemented yet"),
        (_raises_value_error, "raised ValueError: boom"),
        (42, "must be a function"),
        (lambda: "model", "must return a Keras model"),
        (make_builder(n_layers=1, compile_=False), "not compiled"),
        (make_builder(n_layers=1, n_out=3), "10 outputs"),
    ],
)
def test_train_net_refuses_stubs_without_raising(tiny_data, capsys, build, match) -> None:
    run = train_net(build, tiny_data, label="stub", epochs=1)
    assert not run.finished and match in run.message
    assert match in capsys.readouterr().out
    assert "not run" in str(run)
    with pytest.raises(AssertionError, match="did not finish"):
        check_run(run, min_accuracy=0.5)


@pytest.mark.parametrize(
    "inputs, match",
    [
        (lambda x: None, "returned None"),
        (lambda x: x[:, :10], "returned shape"),
        (lambda x: x / 0.0, "NaN or inf"),
        (lambda x: 1 / 0, "raised ZeroDivisionError"),
        ("standardize", "must be a function"),
    ],
)
def test_train_net_refuses_a_bad_input_transform(tiny_data, inputs, match) -> None:
    with np.errstate(divide="ignore", invalid="ignore"):
        run = train_net(make_builder(n_layers=1), tiny_data, label="c", epochs=1, inputs=inputs)
    assert not run.finished and match in run.message


@pytest.mark.parametrize("callbacks, match", [(..., "not set yet"), (None, "not set yet"), ([1], "Keras callbacks"), (3, "list of Keras")])
def test_train_net_refuses_bad_callbacks(tiny_data, callbacks, match) -> None:
    run = train_net(make_builder(n_layers=1), tiny_data, label="e", epochs=1, callbacks=callbacks)
    assert not run.finished and match in run.message


@pytest.mark.parametrize(
    "kwargs, error",
    [
        (dict(epochs=0), ValueError),
        (dict(epochs=1.5), TypeError),
        (dict(patience=0), ValueError),
        (dict(batch_size=0), ValueError),
        (dict(label=""), ValueError),
        (dict(seed=-1), ValueError),
    ],
)
def test_train_net_validates_the_notebooks_own_arguments(tiny_data, kwargs, error) -> None:
    args = dict(label="x", epochs=1) | kwargs
    with pytest.raises(error):
        train_net(make_builder(n_layers=1), tiny_data, **args)


def test_train_net_needs_a_dataset() -> None:
    with pytest.raises(TypeError, match="data"):
        train_net(make_builder(n_layers=1), ([1], [2]), label="x", epochs=1)


# -------------------------------------------------------------------------------------------
# check_run, check_report, runs_table


def test_check_run(finished_run) -> None:
    check_run(finished_run, min_accuracy=0.0)
    with pytest.raises(AssertionError, match="far too low"):
        check_run(PracticeRun(label="low", finished=True, valid_accuracy=0.1), min_accuracy=0.5)
    with pytest.raises(AssertionError, match="train_net"):
        check_run(None, min_accuracy=0.5)
    with pytest.raises(ValueError, match="min_accuracy"):
        check_run(finished_run, min_accuracy=2.0)


@pytest.mark.parametrize(
    "answer, observed, match",
    [(..., True, "No answer yet"), (None, False, "No answer yet"), ("yes", True, "True or False"), (False, True, "does not match")],
)
def test_check_report_refuses(answer, observed, match) -> None:
    with pytest.raises(AssertionError, match=match):
        check_report(answer, observed, "x", hint="Compare.")


def test_check_report_accepts_numpy_booleans_that_agree() -> None:
    check_report(np.bool_(True), True, "x", hint="h")
    check_report(False, np.bool_(False), "x", hint="h")
    with pytest.raises(ValueError, match="hint"):
        check_report(True, True, "x", hint=" ")


def test_runs_table(finished_run) -> None:
    refused = PracticeRun(label="stub", message="not yet")
    table = runs_table([finished_run, refused])
    assert list(table.index) == ["ok", "stub"]
    assert table.loc["stub", "valid acc"] == "not run"
    assert table.loc["ok", "best/epochs"] == f"{finished_run.best_epoch}/{finished_run.epochs}"
    with pytest.raises(ValueError):
        runs_table([])
    with pytest.raises(TypeError):
        runs_table([1])


# -------------------------------------------------------------------------------------------
# MC dropout


def mc_right(model, x, n_samples):
    return np.mean([np.asarray(model(x, training=True)) for _ in range(n_samples)], axis=0)


def test_check_mc_predict_accepts_the_book_version() -> None:
    check_mc_predict(mc_right)


@pytest.mark.parametrize(
    "fn, match",
    [
        (lambda m, x, n: np.stack([np.asarray(m(x, training=True)) for _ in range(n)]), "stacked samples"),
        (lambda m, x, n: np.mean([np.asarray(m(x)) for _ in range(n)], axis=0), "never called with training=True"),
        (lambda m, x, n: np.mean([np.asarray(m(x, training=True)) for _ in range(n + 1)], axis=0), "stochastic passes"),
        (lambda m, x, n: m.predict(x), "never called"),
        (lambda m, x, n: None, "returned None"),
        (lambda m, x, n: 1 / 0, "ZeroDivisionError"),
        (None, "must be a function"),
    ],
)
def test_check_mc_predict_names_the_mistake(fn, match) -> None:
    with pytest.raises(AssertionError, match=match):
        check_mc_predict(fn)


def test_mc_accuracy(tiny_data, capsys) -> None:
    build = make_builder(n_layers=2, activation="selu", init="lecun_normal", alpha=0.1)
    run = train_net(build, tiny_data, label="d", epochs=1, batch_size=64)
    acc = mc_accuracy(run, mc_right, tiny_data.valid, n_samples=3)
    assert 0.0 <= acc <= 1.0
    assert math.isnan(mc_accuracy(run, lambda m, x, n: None, tiny_data.valid))
    assert math.isnan(mc_accuracy(run, lambda m, x, n: np.zeros((2, 10)), tiny_data.valid))
    assert math.isnan(mc_accuracy(run, "mc", tiny_data.valid))
    assert math.isnan(mc_accuracy(PracticeRun(label="stub"), mc_right, tiny_data.valid))
    assert "did not finish" in capsys.readouterr().out
    with pytest.raises(ValueError):
        mc_accuracy(run, mc_right, tiny_data.valid, n_samples=0)


# -------------------------------------------------------------------------------------------
# standardize


def test_check_standardize(tiny_data) -> None:
    x = tiny_data.train.x
    mean, std = x.mean(), x.std()
    check_standardize(lambda a: (a - mean) / std, x)
    per_pixel_mean, per_pixel_std = x.mean(axis=0), x.std(axis=0)
    check_standardize(lambda a: (a - per_pixel_mean) / per_pixel_std, x)
    with pytest.raises(AssertionError, match="mean 0"):
        check_standardize(lambda a: a, x)
    with pytest.raises(AssertionError, match="training set's statistics"):
        check_standardize(lambda a: (a - a.mean()) / a.std(), x)
    with pytest.raises(AssertionError, match="returned None"):
        check_standardize(lambda a: None, x)
    with pytest.raises(AssertionError, match="must be a function"):
        check_standardize(..., x)
