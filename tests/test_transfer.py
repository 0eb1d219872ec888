"""tdnn.transfer: reuse, clone, freeze, cached features, weight import, and the seed-by-seed evaluation."""

from __future__ import annotations

import numpy as np
import pytest

from tdnn._tf import import_tensorflow

import_tensorflow()
import keras  # noqa: E402

from tdnn.models import build_mlp  # noqa: E402
from tdnn.transfer import (  # noqa: E402
    build_autoencoder,
    cached_features,
    clone_with_weights,
    error_rate,
    error_ratio,
    fit_epochs,
    hidden_layer_indices,
    reinitialize,
    reuse_sweep,
    reuse_layers,
    rotation_task,
    set_layer_weights,
    set_trainable,
    shared_variables,
    split_model,
    trainable_flags,
    transfer_vs_scratch,
)


@pytest.fixture
def model_a():
    return build_mlp((6, 5, 4), n_outputs=3, input_shape=(4, 4), seed=1, name="A")


@pytest.fixture
def binary_data():
    rng = np.random.default_rng(0)
    x = rng.random((40, 4, 4)).astype("float32")
    y = (x.mean(axis=(1, 2)) > 0.5).astype("float32")
    return x, y


def _sgd(model, lr=0.1):
    model.compile(
        optimizer=keras.optimizers.SGD(learning_rate=lr), loss="binary_crossentropy"
    )


def test_sequential_of_layers_shares_variables_clone_does_not(model_a) -> None:
    shared = keras.Sequential(model_a.layers[:-1])
    shared.build((None, 4, 4))
    assert shared_variables(model_a, shared) == 6
    clone = clone_with_weights(model_a)
    assert shared_variables(model_a, clone) == 0
    for w, c in zip(model_a.get_weights(), clone.get_weights()):
        np.testing.assert_array_equal(w, c)


def test_reuse_layers_clones_and_adds_a_new_output(model_a, binary_data) -> None:
    before = model_a.get_weights()
    b = reuse_layers(model_a, seed=0)
    assert shared_variables(model_a, b) == 0
    assert b.layers[-1].units == 1 and b.output_shape == (None, 1)
    for w, c in zip(before[:-2], b.get_weights()[:-2]):
        np.testing.assert_array_equal(w, c)
    _sgd(b)
    b.fit(*binary_data, epochs=2, verbose=0)
    for w, c in zip(before, model_a.get_weights()):
        np.testing.assert_array_equal(w, c)  # model A untouched


def test_reuse_layers_without_clone_shares(model_a) -> None:
    b = reuse_layers(model_a, clone=False)
    assert shared_variables(model_a, b) == 6


@pytest.mark.parametrize("n_hidden, n_dense", [(1, 2), (2, 3), (3, 4)])
def test_reuse_fewer_layers(model_a, n_hidden, n_dense) -> None:
    b = reuse_layers(model_a, n_hidden, n_outputs=2, output_activation="softmax")
    assert sum(isinstance(layer, keras.layers.Dense) for layer in b.layers) == n_dense
    assert b.output_shape == (None, 2)


def test_reuse_layers_bad_arguments(model_a) -> None:
    with pytest.raises(ValueError, match="n_hidden"):
        reuse_layers(model_a, 4)
    with pytest.raises(ValueError, match="n_hidden"):
        reuse_layers(model_a, 0)
    with pytest.raises(TypeError, match="model"):
        reuse_layers("model_A")
    with pytest.raises(TypeError, match="n_outputs"):
        reuse_layers(model_a, n_outputs=1.5)


def test_hidden_layer_indices(model_a) -> None:
    assert hidden_layer_indices(model_a) == [1, 2, 3]  # after Flatten
    with pytest.raises(ValueError, match="hidden"):
        hidden_layer_indices(build_mlp((), input_shape=(3,), n_outputs=1))


def test_freeze_then_train_changes_only_the_top(model_a, binary_data) -> None:
    b = reuse_layers(model_a, freeze=True, seed=0)
    assert list(trainable_flags(b).values()) == [False, False, False, False, True]
    _sgd(b)
    before = b.get_weights()
    b.fit(*binary_data, epochs=2, verbose=0)
    after = b.get_weights()
    assert all(np.array_equal(x, y) for x, y in zip(before[:-2], after[:-2]))
    assert not np.array_equal(before[-2], after[-2])


def test_unfreezing_needs_a_recompile(model_a, binary_data) -> None:
    b = reuse_layers(model_a, freeze=True, seed=0)
    _sgd(b)
    b.fit(*binary_data, epochs=1, verbose=0)
    set_trainable(b, True)
    before = b.get_weights()
    b.fit(*binary_data, epochs=1, verbose=0)
    assert np.array_equal(before[0], b.get_weights()[0])  # not recompiled: still frozen
    _sgd(b)
    b.fit(*binary_data, epochs=1, verbose=0)
    assert not np.array_equal(before[0], b.get_weights()[0])


def test_set_trainable_bad_arguments(model_a) -> None:
    with pytest.raises(TypeError, match="trainable"):
        set_trainable(model_a, 1)
    with pytest.raises(ValueError, match="n_layers"):
        set_trainable(model_a, False, n_layers=9)
    set_trainable(model_a, False, n_layers=2)
    assert list(trainable_flags(model_a).values()) == [False, False, True, True, True]


def test_frozen_state_survives_keras_file(model_a, tmp_path) -> None:
    b = reuse_layers(model_a, freeze=True, seed=0)
    path = tmp_path / "b.keras"
    b.save(path)
    loaded = keras.models.load_model(path)
    assert list(trainable_flags(loaded).values()) == list(trainable_flags(b).values())
    assert len(loaded.trainable_weights) == 2


def test_split_model_composes_to_the_model(model_a) -> None:
    x = np.random.default_rng(1).random((7, 4, 4)).astype("float32")
    base, top = split_model(model_a, 3)
    assert shared_variables(model_a, base) + shared_variables(model_a, top) == len(
        model_a.weights
    )
    np.testing.assert_allclose(top(base(x)), model_a(x), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(cached_features(base, x), base(x), rtol=1e-6, atol=1e-6)
    with pytest.raises(ValueError, match="n_layers"):
        split_model(model_a, len(model_a.layers))
    with pytest.raises(ValueError, match="x"):
        cached_features(base, np.zeros((0, 4, 4)))


def test_training_the_top_on_cached_features_equals_training_with_frozen_layers(
    model_a, binary_data
) -> None:
    frozen = reuse_layers(model_a, freeze=True, seed=0)
    cached = clone_with_weights(frozen)
    base, top = split_model(cached, len(cached.layers) - 1)
    _sgd(frozen)
    _sgd(top)
    fit_epochs(frozen, binary_data, epochs=3, batch_size=8, seed=5)
    fit_epochs(
        top,
        (cached_features(base, binary_data[0]), binary_data[1]),
        epochs=3,
        batch_size=8,
        seed=5,
    )
    np.testing.assert_allclose(frozen(binary_data[0]), cached(binary_data[0]), atol=1e-5)


def test_fit_epochs_matches_keras_fit_without_shuffling(model_a, binary_data) -> None:
    """With one epoch, fit_epochs is model.fit on the permuted data."""
    m1, m2 = reuse_layers(model_a, seed=0), reuse_layers(model_a, seed=0)
    _sgd(m1)
    _sgd(m2)
    fit_epochs(m1, binary_data, epochs=1, batch_size=8, seed=3)
    order = np.random.default_rng(3).permutation(40)
    m2.fit(
        binary_data[0][order], binary_data[1][order], batch_size=8, shuffle=False, verbose=0
    )
    for a, b in zip(m1.get_weights(), m2.get_weights()):
        np.testing.assert_allclose(a, b, atol=1e-6)


def test_fit_epochs_bad_arguments(model_a, binary_data) -> None:
    b = reuse_layers(model_a)
    with pytest.raises(ValueError, match="compiled"):
        fit_epochs(b, binary_data, epochs=1)
    _sgd(b)
    with pytest.raises(ValueError, match="batch_size"):
        fit_epochs(b, binary_data, epochs=1, batch_size=7)
    with pytest.raises(ValueError, match="epochs"):
        fit_epochs(b, binary_data, epochs=0, batch_size=8)
    with pytest.raises(ValueError, match="train"):
        fit_epochs(b, (binary_data[0], binary_data[1][:3]), epochs=1)


def test_reinitialize_is_seeded_and_changes_weights(model_a) -> None:
    b = reuse_layers(model_a)
    _sgd(b)
    reinitialize(b, seed=1)
    w1 = b.get_weights()
    reinitialize(b, seed=2)
    w2 = b.get_weights()
    reinitialize(b, seed=1)
    w3 = b.get_weights()
    assert all(np.array_equal(x, y) for x, y in zip(w1, w3))
    assert not np.array_equal(w1[0], w2[0])
    np.testing.assert_array_equal(w1[1], 0.0)  # biases start at zero
    # only the last layer
    before = b.get_weights()
    reinitialize(b, seed=9, n_layers=1)
    after = b.get_weights()
    assert all(np.array_equal(x, y) for x, y in zip(before[:-2], after[:-2]))
    assert not np.array_equal(before[-2], after[-2])


def test_reinitialize_refuses_a_stateful_optimizer(model_a, binary_data) -> None:
    b = reuse_layers(model_a)
    b.compile(optimizer="adam", loss="binary_crossentropy")
    b.fit(*binary_data, epochs=1, verbose=0)
    with pytest.raises(ValueError, match="state"):
        reinitialize(b, seed=0)


def test_set_layer_weights_copies_and_explains_mismatches() -> None:
    layer = keras.layers.Dense(3, name="fc")
    layer.build((None, 5))
    kernel = np.arange(15, dtype="float64").reshape(5, 3)
    set_layer_weights(layer, [kernel, np.ones(3)])
    np.testing.assert_array_equal(layer.kernel.numpy(), kernel.astype("float32"))
    with pytest.raises(
        ValueError, match=r"layer 'fc'.*expected shape \(5, 3\), got \(3, 5\).*transpose"
    ):
        set_layer_weights(layer, [kernel.T, np.ones(3)])
    with pytest.raises(ValueError, match=r"layer 'fc'.*expected shape \(3,\), got \(4,\)"):
        set_layer_weights(layer, [kernel, np.ones(4)])
    with pytest.raises(ValueError, match="has 2 weights"):
        set_layer_weights(layer, [kernel])
    with pytest.raises(TypeError, match="arrays"):
        set_layer_weights(layer, kernel)
    with pytest.raises(TypeError, match="layer"):
        set_layer_weights("fc", [kernel, np.ones(3)])


def test_error_rate_and_ratio() -> None:
    assert error_rate([1, 0, 1, 0], [0.9, 0.2, 0.4, 0.6]) == 0.5
    assert error_rate(np.array([[1.0], [0.0]]), np.array([[0.7], [0.1]])) == 0.0
    np.testing.assert_allclose(error_ratio([0.028, 0.02], [0.007, 0.04]), [4.0, 0.5])
    assert np.isinf(error_ratio([0.01], [0.0]))[0]
    with pytest.raises(ValueError, match="same"):
        error_rate([1, 0], [0.5])
    with pytest.raises(ValueError, match="threshold"):
        error_rate([1], [0.5], threshold=1.0)
    with pytest.raises(ValueError, match="shape"):
        error_ratio([0.1, 0.2], [0.1])
    with pytest.raises(ValueError, match="rates"):
        error_ratio([1.5], [0.1])


def test_rotation_task_rotates_by_the_returned_quarter_turns() -> None:
    x = np.random.default_rng(0).random((50, 6, 6))
    rotated, k = rotation_task(x, seed=3)
    assert set(np.unique(k)) <= {0, 1, 2, 3} and len(np.unique(k)) == 4
    for image, r, q in zip(x, rotated, k):
        np.testing.assert_array_equal(np.rot90(image, int(q)), r)
    with pytest.raises(ValueError, match="square"):
        rotation_task(np.zeros((3, 4, 5)))


def test_autoencoder_shapes_and_shared_encoder() -> None:
    autoencoder, encoder = build_autoencoder((8, 4), input_shape=(4, 4), seed=0)
    x = np.random.default_rng(0).random((3, 4, 4)).astype("float32")
    assert autoencoder(x).shape == (3, 4, 4)
    assert encoder(x).shape == (3, 4)
    assert shared_variables(autoencoder, encoder) == len(encoder.weights)
    with pytest.raises(TypeError, match="hidden_units"):
        build_autoencoder(8)


def test_transfer_vs_scratch_one_row_per_seed(model_a, binary_data) -> None:
    x, y = binary_data
    model_a_before = model_a.get_weights()

    def task_b(seed):
        idx = np.random.default_rng(seed).permutation(40)
        return (x[idx[:25]], y[idx[:25]]), (x[idx[25:]], y[idx[25:]])

    r1 = transfer_vs_scratch(
        model_a, task_b, seeds=[0, 1], epochs=3, epochs_frozen=1, batch_size=5
    )
    r2 = transfer_vs_scratch(
        model_a, task_b, seeds=[0, 1], epochs=3, epochs_frozen=1, batch_size=5
    )
    assert list(r1.columns) == ["seed", "scratch", "transfer"] and list(r1.seed) == [0, 1]
    assert (
        ((r1[["scratch", "transfer"]] >= 0) & (r1[["scratch", "transfer"]] <= 1))
        .all()
        .all()
    )
    np.testing.assert_array_equal(r1.to_numpy(), r2.to_numpy())  # reproducible
    assert all(np.array_equal(a, b) for a, b in zip(model_a_before, model_a.get_weights()))
    with pytest.raises(ValueError, match="epochs_frozen"):
        transfer_vs_scratch(model_a, task_b, seeds=[0], epochs=3, epochs_frozen=3)
    with pytest.raises(ValueError, match="seeds"):
        transfer_vs_scratch(model_a, task_b, seeds=[])


@pytest.fixture
def fit_log(monkeypatch) -> list[tuple[str, int]]:
    """(model name, epochs) of every ``fit_epochs`` call ``tdnn.transfer`` makes, in order."""
    seen: list[tuple[str, int]] = []
    original = fit_epochs

    def spy(model, train, **kwargs):
        seen.append((model.name, kwargs["epochs"]))
        original(model, train, **kwargs)

    monkeypatch.setattr("tdnn.transfer.fit_epochs", spy)
    return seen


@pytest.fixture
def fixed_task_b(binary_data):
    x, y = binary_data
    return lambda seed: ((x[:25], y[:25]), (x[25:], y[25:]))


def test_transfer_vs_scratch_frozen_keeps_the_reused_layers(model_a, fixed_task_b, fit_log) -> None:
    task_b, seen = fixed_task_b, fit_log
    r = transfer_vs_scratch(
        model_a,
        task_b,
        seeds=[0],
        epochs=3,
        epochs_frozen=1,
        batch_size=5,
        n_hidden=1,
        fine_tune=False,
    )
    assert len(r) == 1
    assert seen == [("model_B", 3), ("model_B_on_A_top", 3)]  # no fine-tuning phase
    seen.clear()
    transfer_vs_scratch(model_a, task_b, seeds=[0], epochs=3, epochs_frozen=1, batch_size=5)
    assert seen == [("model_B", 3), ("model_B_on_A_top", 1), ("model_B_on_A", 2)]
    with pytest.raises(TypeError, match="fine_tune"):
        transfer_vs_scratch(model_a, task_b, seeds=[0], fine_tune="no")


def test_transfer_vs_scratch_without_scratch_trains_only_the_transfer_model(
    model_a, fixed_task_b, fit_log
) -> None:
    task_b, seen = fixed_task_b, fit_log
    kwargs = dict(seeds=[0, 1], epochs=3, epochs_frozen=1, batch_size=5)
    full = transfer_vs_scratch(model_a, task_b, **kwargs)
    seen.clear()
    only = transfer_vs_scratch(model_a, task_b, scratch=False, **kwargs)
    assert "model_B" not in [name for name, _ in seen] and list(only.columns) == ["seed", "transfer"]
    np.testing.assert_array_equal(only.transfer, full.transfer)  # same transfer runs
    with pytest.raises(TypeError, match="scratch"):
        transfer_vs_scratch(model_a, task_b, seeds=[0], scratch=1)


def test_reuse_sweep_rows_match_single_runs(model_a, binary_data) -> None:
    x, y = binary_data

    def task_b(seed):
        idx = np.random.default_rng(seed).permutation(40)
        return (x[idx[:25]], y[idx[:25]]), (x[idx[25:]], y[idx[25:]])

    kwargs = dict(epochs=3, epochs_frozen=1, batch_size=5)
    sweep = reuse_sweep(model_a, task_b, seeds=[0, 1], **kwargs)
    assert list(sweep.columns) == ["layers", "mode", "seed", "error"]
    assert len(sweep) == 3 * 2 * 2  # 3 hidden layers x 2 modes x 2 seeds
    assert sorted(sweep.layers.unique()) == [1, 2, 3]
    assert set(sweep["mode"]) == {"frozen", "fine-tuned"}
    one = transfer_vs_scratch(
        model_a, task_b, seeds=[0, 1], n_hidden=2, fine_tune=False, **kwargs
    )
    got = sweep.query("layers == 2 and mode == 'frozen'").error.to_numpy()
    np.testing.assert_array_equal(got, one.transfer.to_numpy())
    assert len(reuse_sweep(model_a, task_b, seeds=[0], n_hidden=[1], **kwargs)) == 2


def test_reuse_sweep_bad_arguments(model_a, binary_data) -> None:
    def task_b(seed):
        return binary_data, binary_data

    with pytest.raises(ValueError, match="n_hidden"):
        reuse_sweep(model_a, task_b, seeds=[0], n_hidden=[4])
    with pytest.raises(ValueError, match="n_hidden"):
        reuse_sweep(model_a, task_b, seeds=[0], n_hidden=[])
    with pytest.raises(ValueError, match="n_hidden"):
        reuse_sweep(model_a, task_b, seeds=[0], n_hidden=[0])
    with pytest.raises(TypeError, match="n_hidden"):
        reuse_sweep(model_a, task_b, seeds=[0], n_hidden=2)
    with pytest.raises(TypeError, match="fine_tune"):
        reuse_sweep(model_a, task_b, seeds=[0], fine_tune=True)
    with pytest.raises(TypeError, match="model_a"):
        reuse_sweep("A", task_b, seeds=[0])
