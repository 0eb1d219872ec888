"""tdnn.data: the book's split from verified local files, and clear errors for bad data."""

from __future__ import annotations

import gzip
import hashlib
import shutil
import struct

import numpy as np
import pytest

from tdnn import data
from tdnn.data import FILES, DatasetError, Dataset, Split


def _have_real_data() -> bool:
    return data.DEBIAN_DIR.joinpath(FILES["train_images"]).is_file()


needs_real_data = pytest.mark.skipif(
    not _have_real_data(), reason="Fashion-MNIST not installed (apt-get install dataset-fashion-mnist)"
)


def write_idx(path, array: np.ndarray) -> bytes:
    """Write ``array`` (uint8) as a gzip IDX file; return the decompressed payload."""
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    payload = header + array.astype(np.uint8).tobytes()
    with gzip.open(path, "wb") as f:
        f.write(payload)
    return payload


@pytest.fixture
def fake_dir(tmp_path, monkeypatch):
    """A folder of small, valid fake Fashion-MNIST files, with the checksums patched to match them."""
    rng = np.random.default_rng(0)
    arrays = {
        FILES["train_images"]: rng.integers(0, 256, (30, 28, 28), dtype=np.uint8),
        FILES["train_labels"]: np.arange(30, dtype=np.uint8) % 10,
        FILES["test_images"]: rng.integers(0, 256, (10, 28, 28), dtype=np.uint8),
        FILES["test_labels"]: np.arange(10, dtype=np.uint8),
    }
    sums = {name: hashlib.sha256(write_idx(tmp_path / name, a)).hexdigest() for name, a in arrays.items()}
    monkeypatch.setattr(data, "FASHION_MNIST_SHA256", sums)
    monkeypatch.setenv("TDNN_DATA_DIR", str(tmp_path))
    data._load_raw.cache_clear()
    yield tmp_path, arrays
    data._load_raw.cache_clear()


@needs_real_data
def test_book_split_shapes_dtypes_and_balance(monkeypatch) -> None:
    monkeypatch.delenv("TDNN_DATA_DIR", raising=False)
    (x_train, y_train), (x_valid, y_valid), (x_test, y_test) = data.load_fashion_mnist()
    assert x_train.shape == (55_000, 28, 28) and x_valid.shape == (5_000, 28, 28) and x_test.shape == (10_000, 28, 28)
    assert x_train.dtype == np.float32 and y_train.dtype == np.uint8
    assert 0.0 == x_train.min() and x_train.max() == 1.0
    # the test set is exactly balanced; the train+valid split of the 60k is balanced overall
    assert np.all(np.bincount(y_test, minlength=10) == 1_000)
    assert np.all(np.bincount(np.concatenate([y_train, y_valid]), minlength=10) == 6_000)
    assert len(data.CLASS_NAMES) == 10 and data.CLASS_NAMES[9] == "Ankle boot"
    # the book: the first training image is an ankle boot (label 9) and it is also the
    # first image of the official training set
    assert y_train[0] == 9


@needs_real_data
def test_unscaled_pixels_are_uint8(monkeypatch) -> None:
    monkeypatch.delenv("TDNN_DATA_DIR", raising=False)
    d = data.load_fashion_mnist(scale=False)
    assert d.train.x.dtype == np.uint8 and d.train.x.max() == 255


def test_env_var_override_is_used_and_split(fake_dir) -> None:
    _, arrays = fake_dir
    d = data.load_fashion_mnist(n_valid=5)
    assert isinstance(d, Dataset)
    assert d.train.x.shape == (25, 28, 28) and d.valid.x.shape == (5, 28, 28) and d.test.x.shape == (10, 28, 28)
    np.testing.assert_array_equal(d.valid.y, arrays[FILES["train_labels"]][25:])
    np.testing.assert_allclose(d.train.x[0], arrays[FILES["train_images"]][0] / 255.0, rtol=1e-6)
    # bit for bit the book's float32 X / 255. (the 19,600 random pixels take all 256 values)
    raw = arrays[FILES["train_images"]][:25]
    assert len(np.unique(raw)) == 256
    assert d.train.x.tobytes() == (raw.astype(np.float32) / np.float32(255.0)).tobytes()


def test_env_var_dir_missing_files(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("TDNN_DATA_DIR", str(tmp_path / "nowhere"))
    with pytest.raises(DatasetError, match="TDNN_DATA_DIR.*apt-get install dataset-fashion-mnist"):
        data.load_fashion_mnist(download=False)


def _env_var_dir_errors(monkeypatch, *folders):
    """The data errors with $TDNN_DATA_DIR set to each folder in turn."""
    messages = []
    for directory in folders:
        monkeypatch.setenv("TDNN_DATA_DIR", str(directory))
        data._load_raw.cache_clear()
        with pytest.raises(DatasetError) as info:
            data.load_fashion_mnist()
        messages.append(str(info.value))
    return messages


def test_with_the_env_var_set_the_hint_does_not_advise_setting_it(tmp_path, monkeypatch, fake_dir) -> None:
    folder, _ = fake_dir
    (folder / FILES["test_labels"]).write_bytes(b"not gzip")
    missing, corrupt = _env_var_dir_errors(monkeypatch, tmp_path / "nowhere", folder)
    assert "lacks" in missing and "corrupt" in corrupt
    for message in (missing, corrupt):
        assert "$TDNN_DATA_DIR" in message and "unset TDNN_DATA_DIR" in message
        assert "set TDNN_DATA_DIR=" not in message and "internet" not in message


def test_without_the_env_var_the_hint_offers_every_fix(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("TDNN_DATA_DIR", raising=False)
    monkeypatch.setattr(data, "DEBIAN_DIR", tmp_path / "no-debian")
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "no-keras"))
    with pytest.raises(DatasetError) as info:
        data.load_fashion_mnist(download=False)
    assert "set TDNN_DATA_DIR=" in str(info.value) and "internet" in str(info.value)


def test_a_failed_download_keeps_its_cause(tmp_path, monkeypatch) -> None:
    import urllib.error

    from keras.src.utils import file_utils

    def refuse(url, *args, **kwargs):
        raise urllib.error.URLError(ConnectionRefusedError(111, "Connection refused"))

    monkeypatch.delenv("TDNN_DATA_DIR", raising=False)
    monkeypatch.setattr(data, "DEBIAN_DIR", tmp_path / "no-debian")
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "no-keras"))
    monkeypatch.setattr(file_utils, "urlretrieve", refuse)  # what Keras calls to download
    with pytest.raises(DatasetError) as info:
        data.load_fashion_mnist()
    message = str(info.value)
    assert "Connection refused" in message
    assert "https://storage.googleapis.com/" in message  # the URL Keras tried
    assert "apt-get install dataset-fashion-mnist" in message
    assert info.value.__cause__ is not None  # the traceback keeps the original error too


def test_missing_everywhere_without_download(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("TDNN_DATA_DIR", raising=False)
    monkeypatch.setattr(data, "DEBIAN_DIR", tmp_path / "no-debian")
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "no-keras"))
    with pytest.raises(DatasetError, match="not found.*apt-get install dataset-fashion-mnist"):
        data.load_fashion_mnist(download=False)


def test_truncated_file(fake_dir) -> None:
    path = fake_dir[0] / FILES["test_images"]
    raw = gzip.decompress(path.read_bytes())
    with gzip.open(path, "wb") as f:
        f.write(raw[:-100])
    with pytest.raises(DatasetError, match="truncated.*t10k-images"):
        data.load_fashion_mnist(n_valid=5)


def test_truncated_gzip_stream(fake_dir) -> None:
    path = fake_dir[0] / FILES["train_labels"]
    path.write_bytes(path.read_bytes()[:20])
    with pytest.raises(DatasetError, match="corrupt or truncated"):
        data.load_fashion_mnist(n_valid=5)


def test_byte_flipped_file_fails_checksum(fake_dir) -> None:
    path = fake_dir[0] / FILES["train_images"]
    raw = bytearray(gzip.decompress(path.read_bytes()))
    raw[1000] ^= 0xFF
    with gzip.open(path, "wb") as f:
        f.write(bytes(raw))
    with pytest.raises(DatasetError, match="failed its checksum"):
        data.load_fashion_mnist(n_valid=5)
    data._load_raw.cache_clear()
    assert data.load_fashion_mnist(n_valid=5, verify=False).train.x.shape == (25, 28, 28)


@needs_real_data
def test_byte_flipped_copy_of_real_data_fails(tmp_path, monkeypatch) -> None:
    for name in FILES.values():
        shutil.copy(data.DEBIAN_DIR / name, tmp_path / name)
    path = tmp_path / FILES["train_labels"]
    raw = bytearray(gzip.decompress(path.read_bytes()))
    raw[-1] ^= 0x01
    with gzip.open(path, "wb") as f:
        f.write(bytes(raw))
    monkeypatch.setenv("TDNN_DATA_DIR", str(tmp_path))
    with pytest.raises(DatasetError, match="train-labels.*checksum"):
        data.load_fashion_mnist()


def test_not_an_idx_file(tmp_path) -> None:
    path = tmp_path / "x.gz"
    with gzip.open(path, "wb") as f:
        f.write(b"hello world")
    with pytest.raises(DatasetError, match="not an unsigned-byte IDX"):
        data.read_idx(path)


def test_bad_n_valid(fake_dir) -> None:
    with pytest.raises(ValueError, match="n_valid"):
        data.load_fashion_mnist(n_valid=30)
    with pytest.raises(TypeError, match="n_valid"):
        data.load_fashion_mnist(n_valid=2.5)


def _toy() -> Dataset:
    x = np.arange(100 * 4, dtype=np.float32).reshape(100, 2, 2)
    y = (np.arange(100) % 10).astype(np.uint8)
    return Dataset(Split(x, y), Split(x[:20], y[:20]), Split(x[:30], y[:30]))


def test_subset_first_and_seeded() -> None:
    d = _toy()
    s = data.subset(d, 10, 5)
    assert len(s.train.y) == 10 and len(s.valid.y) == 5 and len(s.test.y) == 30
    np.testing.assert_array_equal(s.train.y, d.train.y[:10])
    a, b = data.subset(d, 10, seed=1), data.subset(d, 10, seed=1)
    np.testing.assert_array_equal(a.train.x, b.train.x)
    assert not np.array_equal(a.train.y, d.train.y[:10]) or not np.array_equal(a.train.x, d.train.x[:10])
    assert len(np.unique(a.train.x[:, 0, 0])) == 10  # drawn without replacement


def test_subset_bad_input() -> None:
    d = _toy()
    with pytest.raises(ValueError, match="^n_train must be <= 100"):
        data.subset(d, 1000)
    with pytest.raises(ValueError, match="^n_train must be >= 1, got 0"):
        data.subset(d, 0)
    with pytest.raises(ValueError, match="^n_valid must be <= 20"):
        data.subset(d, 10, 21)
    with pytest.raises(TypeError, match="^n_test must be an integer"):
        data.subset(d, 10, n_test=2.5)
    with pytest.raises(ValueError, match="^seed must be >= 0, got -1"):
        data.subset(d, 10, seed=-1)
    with pytest.raises(ValueError, match="^seed must be >= 0, got -1"):
        data.take(d.train, 5, seed=-1)
    with pytest.raises(TypeError, match="^seed must be an integer"):
        data.take(d.train, 5, seed="1")
    with pytest.raises(TypeError, match="data must be"):
        data.subset((1, 2), 10)
    with pytest.raises(TypeError, match="split must be"):
        data.take([1, 2], 1)
    with pytest.raises(ValueError, match="n must be >= 1"):
        data.take(d.train, 0)
