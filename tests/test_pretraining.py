"""tdnn.pretraining: autoencoder and rotation pretraining, classifiers on encoders, linear probes."""

from __future__ import annotations

import numpy as np
import pytest

from tdnn._tf import import_tensorflow

import_tensorflow()
import keras  # noqa: E402

from tdnn.models import build_mlp  # noqa: E402
from tdnn.pretraining import (  # noqa: E402
    classifier_on,
    linear_probe,
    pretrain_autoencoder,
    pretrain_rotation,
    probe_accuracy,
    probe_on_budgets,
    standardize,
)
from tdnn.transfer import (  # noqa: E402
    compare_on_budgets,
    draw_labelled,
    rotation_task,
    shared_variables,
)


@pytest.fixture
def images():
    """60 tiny 'images': class 0 bright on the left half, class 1 on the top half, class 2 noise."""
    rng = np.random.default_rng(0)
    x = rng.random((60, 6, 6)).astype("float32") * 0.3
    y = np.repeat(np.arange(3), 20).astype("uint8")
    x[y == 0, :, :3] += 0.6
    x[y == 1, :3, :] += 0.6
    return np.clip(x, 0, 1), y


def test_pretrain_autoencoder_trains_the_encoder_and_is_seeded(images) -> None:
    x, _ = images
    ae_0, enc_0 = pretrain_autoencoder(x, (8, 4), epochs=1, learning_rate=1e-9, seed=0)
    ae, enc = pretrain_autoencoder(
        x, (8, 4), epochs=30, batch_size=10, learning_rate=0.01, seed=0
    )
    assert enc.output_shape == (None, 4) and ae.output_shape == (None, 6, 6)
    assert shared_variables(ae, enc) == len(enc.weights)
    assert ae.evaluate(x, x, verbose=0) < ae_0.evaluate(x, x, verbose=0)
    assert not all(
        np.allclose(a, b) for a, b in zip(enc_0.get_weights(), enc.get_weights())
    )
    _, again = pretrain_autoencoder(
        x, (8, 4), epochs=30, batch_size=10, learning_rate=0.01, seed=0
    )
    for a, b in zip(enc.get_weights(), again.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)  # seeded
    _, denoising = pretrain_autoencoder(x, (8, 4), epochs=2, noise=0.2, seed=0)
    assert denoising.output_shape == (None, 4)


def test_pretrain_autoencoder_bad_arguments(images) -> None:
    x, _ = images
    with pytest.raises(ValueError, match="noise"):
        pretrain_autoencoder(x, (4,), noise=-0.1)
    with pytest.raises(ValueError, match="epochs"):
        pretrain_autoencoder(x, (4,), epochs=0)
    with pytest.raises(ValueError, match="learning_rate"):
        pretrain_autoencoder(x, (4,), learning_rate=0.0)
    with pytest.raises(TypeError, match="x"):
        pretrain_autoencoder(np.zeros((3, 4, 4), dtype="uint8"), (4,))
    with pytest.raises(ValueError, match="x"):
        pretrain_autoencoder(np.zeros((0, 4, 4), dtype="float32"), (4,))
    with pytest.raises(TypeError, match="hidden_units"):
        pretrain_autoencoder(x, 4)


def test_pretrain_rotation_returns_the_trained_hidden_layers(images) -> None:
    x, _ = images
    net, enc = pretrain_rotation(
        x, (16,), epochs=40, batch_size=10, learning_rate=0.01, seed=1
    )
    _, untrained = pretrain_rotation(x, (16,), epochs=1, learning_rate=1e-12, seed=1)
    assert not np.allclose(enc.get_weights()[0], untrained.get_weights()[0])
    assert net.output_shape == (None, 4) and shared_variables(net, enc) == len(enc.weights)
    rotated, k = rotation_task(x, seed=1)
    assert net.evaluate(rotated, k, verbose=0)[1] > 0.5  # far above chance (0.25)
    assert enc.output_shape == (None, 16)
    assert [type(layer).__name__ for layer in enc.layers] == ["Flatten", "Dense"]
    with pytest.raises(ValueError, match="square"):
        pretrain_rotation(np.zeros((3, 4, 5), dtype="float32"))
    with pytest.raises(ValueError, match="batch_size"):
        pretrain_rotation(x, batch_size=0)


def test_classifier_on_copies_the_encoder(images) -> None:
    x, _ = images
    _, enc = pretrain_autoencoder(x, (8, 4), epochs=1, seed=0)
    clf = classifier_on(enc, 3)
    assert clf.output_shape == (None, 3)
    assert shared_variables(enc, clf) == 0
    for a, b in zip(enc.get_weights(), clf.get_weights()[:-2]):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="n_classes"):
        classifier_on(enc, 1)
    with pytest.raises(TypeError, match="encoder"):
        classifier_on("encoder", 3)


def test_standardize_uses_the_reference_statistics() -> None:
    rng = np.random.default_rng(0)
    ref = rng.normal(3.0, 2.0, (500, 4))
    ref[:, 3] = 1.0  # a constant (dead) feature
    z = standardize(ref, ref)
    np.testing.assert_allclose(z[:, :3].mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(z[:, :3].std(axis=0), 1.0, rtol=1e-3)
    np.testing.assert_array_equal(z[:, 3], 0.0)
    expected = (5 - ref[:, 0].mean()) / (ref[:, 0].std() + 1e-3)
    np.testing.assert_allclose(standardize([[5.0, 0, 0, 1]], ref)[0, 0], expected)
    with pytest.raises(ValueError, match="columns"):
        standardize(ref[:, :2], ref)
    with pytest.raises(ValueError, match="eps"):
        standardize(ref, ref, eps=0.0)


def test_linear_probe_separates_separable_classes_and_is_deterministic() -> None:
    rng = np.random.default_rng(1)
    centers = np.array([[3.0, 0.0], [0.0, 3.0], [-3.0, -3.0]])
    y = np.repeat(np.arange(3), 30)
    x = centers[y] + rng.normal(0, 0.5, (90, 2))
    w = linear_probe(x, y, n_classes=3)
    assert probe_accuracy(w, x, y) == 1.0
    w2 = linear_probe(x, y, n_classes=3)
    np.testing.assert_array_equal(
        w[0], w2[0]
    )  # no seed: a convex problem from zero weights
    # the gradient at the end is small: the probe has (nearly) converged
    w_long = linear_probe(x, y, n_classes=3, steps=2000)
    assert np.abs(w_long[0] - linear_probe(x, y, n_classes=3, steps=2500)[0]).max() < 1e-4
    # a stronger L2 penalty gives smaller weights
    assert np.linalg.norm(linear_probe(x, y, n_classes=3, l2=1.0)[0]) < np.linalg.norm(w[0])


def test_linear_probe_bad_arguments() -> None:
    x = np.zeros((4, 2))
    with pytest.raises(ValueError, match="labels"):
        linear_probe(x, np.array([0, 1, 2]), n_classes=3)
    with pytest.raises(ValueError, match="labels"):
        linear_probe(x, np.array([0, 1, 2, 3]), n_classes=3)
    with pytest.raises(ValueError, match="labels"):
        linear_probe(x, np.array([0.0, 1, 2, 1]), n_classes=3)
    with pytest.raises(ValueError, match="features"):
        linear_probe(np.zeros(4), np.array([0, 1, 2, 1]), n_classes=3)
    with pytest.raises(ValueError, match="momentum"):
        linear_probe(x, np.array([0, 1, 2, 1]), n_classes=3, momentum=1.0)
    with pytest.raises(ValueError, match="n_classes"):
        linear_probe(x, np.array([0, 0, 0, 0]), n_classes=1)
    with pytest.raises(ValueError, match="features"):
        probe_accuracy((np.zeros((3, 2)), np.zeros(2)), x, np.zeros(4))


def test_draw_labelled_balanced_and_uniform() -> None:
    y = np.repeat(np.arange(5), 40)
    idx = draw_labelled(y, 25, seed=3, balanced=True)
    assert len(np.unique(idx)) == 25 and np.all(np.diff(idx) > 0)
    np.testing.assert_array_equal(np.bincount(y[idx]), [5] * 5)
    np.testing.assert_array_equal(idx, draw_labelled(y, 25, seed=3, balanced=True))
    assert not np.array_equal(idx, draw_labelled(y, 25, seed=4, balanced=True))
    uniform = draw_labelled(y, 25, seed=3)
    assert len(np.unique(uniform)) == 25
    with pytest.raises(ValueError, match="multiple"):
        draw_labelled(y, 24, seed=0, balanced=True)
    with pytest.raises(ValueError, match="n must be <="):
        draw_labelled(y, 201, seed=0)
    with pytest.raises(ValueError, match="class"):
        draw_labelled(np.array([0] * 10 + [1] * 2), 6, seed=0, balanced=True)
    with pytest.raises(TypeError, match="balanced"):
        draw_labelled(y, 5, seed=0, balanced="yes")
    with pytest.raises(ValueError, match="y"):
        draw_labelled(np.zeros((3, 2)), 1, seed=0)


def test_compare_on_budgets_and_probes_share_the_draws(images, monkeypatch) -> None:
    x, y = images
    seen = []
    import tdnn.pretraining
    import tdnn.transfer

    original = tdnn.transfer.draw_labelled

    def spy(y_, n, **kwargs):
        idx = original(y_, n, **kwargs)
        seen.append((n, kwargs["seed"], tuple(idx)))
        return idx

    monkeypatch.setattr(tdnn.transfer, "draw_labelled", spy)
    monkeypatch.setattr(tdnn.pretraining, "draw_labelled", spy)
    model = build_mlp((5,), input_shape=(6, 6), n_outputs=3, seed=0)
    r = compare_on_budgets(
        {"scratch": (model, None)},
        (x, y),
        (x, y),
        budgets=[6, 12],
        seeds=[0, 1],
        balanced=True,
        min_steps=4,
        min_epochs=1,
        batch_size=3,
    )
    assert list(r.columns) == ["model", "labels", "seed", "accuracy"] and len(r) == 4
    assert r.accuracy.between(0, 1).all()
    fx = x.reshape(len(x), -1)
    p = probe_on_budgets(
        {"pixels": (fx, fx)}, y, y, budgets=[6, 12], seeds=[0, 1], steps=20
    )
    assert list(p.columns) == ["model", "labels", "seed", "accuracy"] and len(p) == 4
    assert seen[:4] == seen[4:]  # the probes saw the same labelled examples
    with pytest.raises(ValueError, match="features"):
        probe_on_budgets({}, y, y, budgets=[6], seeds=[0])
    with pytest.raises(ValueError, match="rows"):
        probe_on_budgets({"p": (fx[:5], fx)}, y, y, budgets=[6], seeds=[0])
    with pytest.raises(TypeError, match="pair"):
        probe_on_budgets({"p": fx}, y, y, budgets=[6], seeds=[0])
    with pytest.raises(ValueError, match="budgets"):
        compare_on_budgets({"s": (model, None)}, (x, y), (x, y), budgets=[61], seeds=[0])
    with pytest.raises(ValueError, match="train"):
        compare_on_budgets({"s": (model, None)}, (x, y[:5]), (x, y), budgets=[6], seeds=[0])
    with pytest.raises(TypeError, match="pair"):
        compare_on_budgets({"s": model}, (x, y), (x, y), budgets=[6], seeds=[0])


def test_compare_on_budgets_resets_the_pretrained_layers(images) -> None:
    """Each (budget, seed) run starts from the pretrained weights, not from the previous run."""
    x, y = images
    _, enc = pretrain_autoencoder(x, (8,), epochs=1, seed=0)
    clf = classifier_on(enc, 3)
    before = clf.get_weights()
    kwargs = dict(budgets=[6], balanced=True, min_steps=4, min_epochs=1, batch_size=3)
    twice = compare_on_budgets({"ae": (clf, 1)}, (x, y), (x, y), seeds=[0, 0], **kwargs)
    assert twice.accuracy.iloc[0] == twice.accuracy.iloc[1]
    for a, b in zip(before, clf.get_weights()):
        np.testing.assert_array_equal(a, b)  # left with the weights it was given
    again = compare_on_budgets({"ae": (clf, 1)}, (x, y), (x, y), seeds=[0], **kwargs)
    assert again.accuracy.iloc[0] == twice.accuracy.iloc[0]
