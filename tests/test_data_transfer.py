"""tdnn.data.transfer_tasks: the book's tasks A and B (class sets, sizes, label mapping, no leakage)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tdnn import data
from tdnn.data import Dataset, Split, TransferTasks, transfer_tasks


def fake_dataset(n_train=300, n_valid=60, n_test=100, seed=0) -> Dataset:
    """Images whose first pixel encodes (split, index), so leakage and mapping are traceable."""
    rng = np.random.default_rng(seed)
    splits = []
    for code, n in enumerate((n_train, n_valid, n_test)):
        x = rng.random((n, 28, 28)).astype(np.float32)
        x[:, 0, 0] = code
        x[:, 0, 1] = np.arange(n)
        y = (np.arange(n) % 10).astype(np.uint8)
        rng.shuffle(y)
        splits.append(Split(x, y))
    return Dataset(*splits)


def _origin(split: Split) -> set[tuple[int, int]]:
    return {(int(a), int(b)) for a, b in split.x[:, 0, :2]}


def test_book_tasks_class_sets_mapping_and_sizes() -> None:
    ds = fake_dataset()
    t = transfer_tasks(ds, n_train_b=20)
    assert isinstance(t, TransferTasks)
    assert t.a_classes == (0, 1, 2, 3, 4, 7, 8, 9) and (t.positive, t.negative) == (6, 5)
    for full, a, b in zip(ds, t.a, t.b):
        # every A image keeps its original class through the mapping; no B class in A
        index = {(int(p), int(q)): y for (p, q), y in zip(full.x[:, 0, :2], full.y)}
        original_a = np.array([index[(int(p), int(q))] for p, q in a.x[:, 0, :2]])
        np.testing.assert_array_equal(np.array(t.a_classes)[a.y], original_a)
        assert not np.isin(original_a, [5, 6]).any()
        original_b = np.array([index[(int(p), int(q))] for p, q in b.x[:, 0, :2]])
        assert set(np.unique(original_b)) <= {5, 6}
        np.testing.assert_array_equal(b.y, (original_b == 6).astype(np.float32))
        assert b.y.dtype == np.float32 and a.y.dtype == np.uint8
    # sizes: A keeps all its images, B keeps 20 for training and all of valid/test
    assert len(t.a.train.y) == int(np.isin(ds.train.y, t.a_classes).sum())
    assert len(t.b.train.y) == 20
    assert len(t.b.valid.y) == int(np.isin(ds.valid.y, [5, 6]).sum())
    assert len(t.b.test.y) == int(np.isin(ds.test.y, [5, 6]).sum())


def test_no_leakage_between_splits_or_tasks() -> None:
    t = transfer_tasks(fake_dataset(), n_train_b=20, seed=3)
    origins = [_origin(s) for s in (*t.a, *t.b)]
    for split_code, group in enumerate(zip(t.a, t.b)):
        for s in group:
            assert {p for p, _ in _origin(s)} == {split_code}  # from the same split of data
    for i in range(len(origins)):
        for j in range(i + 1, len(origins)):
            assert not origins[i] & origins[j]


def test_first_images_without_seed_and_seeded_draw() -> None:
    ds = fake_dataset()
    first = transfer_tasks(ds, n_train_b=10, n_train_a=15)
    in_b = np.flatnonzero(np.isin(ds.train.y, [5, 6]))[:10]
    np.testing.assert_array_equal(first.b.train.x, ds.train.x[in_b])
    assert len(first.a.train.y) == 15
    s1 = transfer_tasks(ds, n_train_b=10, n_train_a=15, seed=1)
    s1_again = transfer_tasks(ds, n_train_b=10, n_train_a=15, seed=1)
    s2 = transfer_tasks(ds, n_train_b=10, n_train_a=15, seed=2)
    np.testing.assert_array_equal(s1.b.train.x, s1_again.b.train.x)
    assert not np.array_equal(s1.b.train.x, s2.b.train.x)


@settings(max_examples=25, deadline=None)
@given(pair=st.lists(st.integers(0, 9), min_size=2, max_size=2, unique=True))
def test_any_pair_of_classes(pair) -> None:
    positive, negative = pair
    ds = fake_dataset(seed=1)
    t = transfer_tasks(ds, positive=positive, negative=negative, n_train_b=5)
    assert t.a_classes == tuple(c for c in range(10) if c not in pair)
    assert sorted(t.a.test.y.tolist()) == sorted(
        t.a_classes.index(c) for c in ds.test.y if c not in pair
    )
    assert t.b.test.y.sum() == (ds.test.y == positive).sum()


def test_bad_arguments() -> None:
    ds = fake_dataset()
    with pytest.raises(ValueError, match="different"):
        transfer_tasks(ds, positive=3, negative=3)
    with pytest.raises(ValueError, match="positive"):
        transfer_tasks(ds, positive=10)
    with pytest.raises(TypeError, match="negative"):
        transfer_tasks(ds, negative=5.0)
    with pytest.raises(ValueError, match="n_train_b"):
        transfer_tasks(ds, n_train_b=0)
    with pytest.raises(ValueError, match="n_train_b must be <="):
        transfer_tasks(ds, n_train_b=10_000)
    with pytest.raises(ValueError, match="n_train_a must be <="):
        transfer_tasks(ds, n_train_a=10_000)
    with pytest.raises(TypeError, match="data"):
        transfer_tasks((ds.train, ds.valid, ds.test))


def _have_real_data() -> bool:
    return data.DEBIAN_DIR.joinpath(data.FILES["train_images"]).is_file()


@pytest.mark.skipif(not _have_real_data(), reason="Fashion-MNIST not installed")
def test_book_task_b_on_the_real_data(monkeypatch) -> None:
    monkeypatch.delenv("TDNN_DATA_DIR", raising=False)
    t = transfer_tasks()
    assert [len(s.y) for s in t.b] == [
        200,
        970,
        2000,
    ]  # shirts and sandals: 1,000 each in test
    assert t.b.test.y.sum() == 1000
    assert len(t.a.test.y) == 8000 and np.bincount(t.a.test.y).tolist() == [1000] * 8
