"""tdnn.models: the chapter's MLP builder."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from tdnn.models import build_mlp, count_params, dense_layers


def test_book_mlp_shape_and_params() -> None:
    model = build_mlp((300, 100))
    assert model.output_shape == (None, 10)
    # the book's 784-300-100-10 classifier: 235,500 + 30,100 + 1,010 = 266,610 parameters
    assert count_params(model) == {"total": 266_610, "trainable": 266_610, "non_trainable": 0}
    assert [layer.units for layer in dense_layers(model)] == [300, 100, 10]


def test_bn_after_matches_the_book_summary() -> None:
    model = build_mlp((300, 100), batch_norm="after")
    assert count_params(model) == {"total": 271_346, "trainable": 268_978, "non_trainable": 2_368}


def test_bn_before_drops_the_bias_and_moves_the_activation() -> None:
    model = build_mlp((300, 100), activation="elu", batch_norm="before")
    hidden = dense_layers(model)[:-1]
    assert all(not layer.use_bias for layer in hidden)
    kinds = [type(layer).__name__ for layer in model.layers]
    assert kinds[:4] == ["Flatten", "Dense", "BatchNormalization", "Activation"]


def test_dropout_and_initializer_and_seed() -> None:
    m1 = build_mlp((20,), dropout_rate=0.2, kernel_initializer="he_normal", input_shape=(8,), seed=1)
    m2 = build_mlp((20,), dropout_rate=0.2, kernel_initializer="he_normal", input_shape=(8,), seed=1)
    assert any(isinstance(layer, keras.layers.Dropout) for layer in m1.layers)
    assert not any(isinstance(layer, keras.layers.Flatten) for layer in m1.layers)
    np.testing.assert_array_equal(m1.layers[0].kernel.numpy(), m2.layers[0].kernel.numpy())
    std = float(np.std(build_mlp((2000,), kernel_initializer="he_normal", input_shape=(500,), seed=0).layers[0].kernel.numpy()))
    assert abs(std - np.sqrt(2 / 500)) < 0.003


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        ({"hidden_units": 100}, TypeError, "hidden_units"),
        ({"hidden_units": [100, 0]}, ValueError, r"hidden_units\[1\]"),
        ({"activation": "sigmoyd"}, ValueError, "^activation 'sigmoyd' is not a Keras activation"),
        ({"activation": 42}, TypeError, "^activation must be a Keras activation name.*got int 42"),
        ({"output_activation": "softmaxx"}, ValueError, "^output_activation 'softmaxx' is not a Keras"),
        ({"output_activation": 1.0}, TypeError, "^output_activation must be a Keras activation name"),
        ({"hidden_units": np.array([[10, 10]])}, TypeError, "hidden_units"),
        ({"hidden_units": np.array([10.0])}, TypeError, r"hidden_units\[0\] must be an integer"),
        ({"kernel_initializer": "he_nromal"}, ValueError, "kernel_initializer"),
        ({"batch_norm": "middle"}, ValueError, "batch_norm"),
        ({"dropout_rate": 1.0}, ValueError, "dropout_rate"),
        ({"n_outputs": 0}, ValueError, "n_outputs"),
        ({"input_shape": (28, -1)}, ValueError, "input_shape"),
    ],
)
def test_bad_arguments(kwargs, exc, match) -> None:
    with pytest.raises(exc, match=match):
        build_mlp(**kwargs)


def test_hidden_units_from_numpy_and_activations_as_callables() -> None:
    model = build_mlp(np.array([7, 5]), activation=keras.activations.elu, output_activation=None,
                      input_shape=(3,))
    assert [layer.units for layer in dense_layers(model)] == [7, 5, 10]
    assert dense_layers(model)[0].activation is keras.activations.elu
    model = build_mlp(np.full(2, 4, dtype=np.int64), input_shape=(3,), batch_norm="before")
    assert [layer.units for layer in dense_layers(model)] == [4, 4, 10]


def test_dense_layers_and_count_params_reject_non_models() -> None:
    with pytest.raises(TypeError, match="model"):
        dense_layers("model")
    with pytest.raises(TypeError, match="model"):
        count_params(None)


@pytest.mark.parametrize("seed", [None, 5])
def test_an_initializer_instance_gives_each_layer_its_own_weights(seed) -> None:
    init = keras.initializers.RandomNormal(0.0, 1.0, seed=seed)
    model = build_mlp([10] * 3, kernel_initializer=init, input_shape=(10,), seed=0)
    kernels = [layer.kernel.numpy() for layer in dense_layers(model)[:3]]
    assert not np.array_equal(kernels[0], kernels[1]) and not np.array_equal(kernels[1], kernels[2])
    again = build_mlp([10] * 3, kernel_initializer=init, input_shape=(10,), seed=0)
    np.testing.assert_array_equal(kernels[2], dense_layers(again)[2].kernel.numpy())
    # the trap being avoided: Keras reuses one draw for every call of the same instance
    np.testing.assert_array_equal(np.asarray(init((10, 10))), np.asarray(init((10, 10))))
