"""Fashion-MNIST, local first and checksum-verified, split the way the book splits it.

The book (ch. 10-11) loads Fashion-MNIST with ``keras.datasets.fashion_mnist.load_data()`` and
keeps the last 5,000 training images for validation: 55,000 train / 5,000 valid / 10,000 test, with
pixel intensities scaled to [0, 1]. :func:`load_fashion_mnist` returns exactly that, but looks for the
files locally first, in this order:

1. ``$TDNN_DATA_DIR`` (if set, it is the only place looked at),
2. ``/usr/share/datasets/fashion-mnist`` (Debian/Ubuntu package ``dataset-fashion-mnist``),
3. the Keras cache (``$KERAS_HOME/datasets/fashion-mnist``, by default ``~/.keras/...``),
4. and only then asks Keras to download the files (needs internet).

Each of the four IDX files is verified by the SHA-256 of its *decompressed* payload: the ``.gz``
bytes differ between sources (Debian re-compressed them), the payloads do not.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import os
import zlib
from pathlib import Path
from typing import NamedTuple

import numpy as np

from tdnn._validate import check_int

CLASS_NAMES: tuple[str, ...] = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)
"""The ten Fashion-MNIST classes, indexed by label (the book's ``class_names``)."""

FILES: dict[str, str] = {
    "train_images": "train-images-idx3-ubyte.gz",
    "train_labels": "train-labels-idx1-ubyte.gz",
    "test_images": "t10k-images-idx3-ubyte.gz",
    "test_labels": "t10k-labels-idx1-ubyte.gz",
}

# SHA-256 of the *decompressed* IDX payloads. Computed once from the Debian package
# dataset-fashion-mnist (0.0~git20200523.55506a9-1) with `zcat FILE | sha256sum`; the upstream
# (Zalando / Keras) files decompress to the same bytes.
FASHION_MNIST_SHA256: dict[str, str] = {
    "train-images-idx3-ubyte.gz": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
    "train-labels-idx1-ubyte.gz": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
    "t10k-images-idx3-ubyte.gz": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
    "t10k-labels-idx1-ubyte.gz": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
}

DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")
ENV_VAR = "TDNN_DATA_DIR"

FIX_HINT = (
    "To fix it, install the data locally with `sudo apt-get install dataset-fashion-mnist` "
    "(Debian/Ubuntu), or download the four Fashion-MNIST .gz files into a folder and set "
    f"{ENV_VAR}=/path/to/that/folder, or run once with internet so that Keras can download them."
)

FIX_HINT_ENV = (
    f"To fix it, put the four original Fashion-MNIST .gz files ({', '.join(FILES.values())}) into "
    f"${ENV_VAR}, or unset {ENV_VAR} to use the Debian/Ubuntu package "
    "(`sudo apt-get install dataset-fashion-mnist`)."
)


def fix_hint() -> str:
    """How to fix a data problem: with ``$TDNN_DATA_DIR`` set, it is the only place looked at."""
    return FIX_HINT_ENV if os.environ.get(ENV_VAR) else FIX_HINT


class DatasetError(RuntimeError):
    """Fashion-MNIST is missing, unreadable or corrupt. The message says how to fix it."""


class Split(NamedTuple):
    """One split: images ``x`` (float32 in [0, 1], shape (n, 28, 28)) and labels ``y`` (uint8)."""

    x: np.ndarray
    y: np.ndarray


class Dataset(NamedTuple):
    """Train/valid/test splits; unpacks like the book: ``(X_train, y_train), (X_valid, y_valid), ...``."""

    train: Split
    valid: Split
    test: Split


def read_idx(path: str | os.PathLike[str]) -> tuple[np.ndarray, bytes]:
    """Parse a gzip-compressed IDX file with NumPy; return ``(array, decompressed_payload)``.

    The IDX format: 2 zero bytes, a type code (0x08 = uint8), the number of dimensions, then one
    big-endian uint32 per dimension, then the data. Raises :class:`DatasetError` for a truncated,
    non-gzip or malformed file.
    """
    path = Path(path)
    try:
        with gzip.open(path, "rb") as f:
            payload = f.read()
    except FileNotFoundError:
        raise DatasetError(f"Fashion-MNIST file {path.name} is missing from {path.parent}. {fix_hint()}")
    except (OSError, EOFError, zlib.error) as exc:
        raise DatasetError(
            f"Fashion-MNIST file {path} is corrupt or truncated ({exc}). "
            f"Delete it and reinstall it. {fix_hint()}"
        ) from None
    if len(payload) < 4 or payload[0] != 0 or payload[1] != 0 or payload[2] != 0x08:
        raise DatasetError(f"{path} is not an unsigned-byte IDX file. {fix_hint()}")
    ndim = payload[3]
    header = 4 + 4 * ndim
    if len(payload) < header:
        raise DatasetError(f"{path} has a truncated IDX header. {fix_hint()}")
    shape = tuple(int(d) for d in np.frombuffer(payload, dtype=">u4", count=ndim, offset=4))
    size = int(np.prod(shape)) if shape else 0
    if len(payload) != header + size:
        raise DatasetError(
            f"{path} holds {len(payload) - header} data bytes but its header announces {size} "
            f"(shape {shape}): the file is truncated or corrupt. {fix_hint()}"
        )
    array = np.frombuffer(payload, dtype=np.uint8, offset=header).reshape(shape)
    return array, payload


def _keras_cache_dir() -> Path:
    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    return Path(home) / "datasets" / "fashion-mnist"


def candidate_dirs() -> list[tuple[str, Path]]:
    """The folders :func:`load_fashion_mnist` looks in, in order, with a label for messages."""
    override = os.environ.get(ENV_VAR)
    if override:
        return [(f"${ENV_VAR}", Path(override))]
    return [("Debian package", DEBIAN_DIR), ("Keras cache", _keras_cache_dir())]


def _has_all_files(directory: Path) -> bool:
    return all((directory / name).is_file() for name in FILES.values())


@functools.lru_cache(maxsize=4)
def _load_raw(directory: str, verify: bool) -> tuple[np.ndarray, ...]:
    arrays = []
    for name in FILES.values():
        array, payload = read_idx(Path(directory) / name)
        if verify:
            digest = hashlib.sha256(payload).hexdigest()
            expected = FASHION_MNIST_SHA256[name]
            if digest != expected:
                raise DatasetError(
                    f"Fashion-MNIST file {Path(directory) / name} failed its checksum "
                    f"(SHA-256 of the decompressed data is {digest[:12]}..., expected "
                    f"{expected[:12]}...): it is corrupt or not the original. {fix_hint()}"
                )
        array.flags.writeable = False
        arrays.append(array)
    return tuple(arrays)


def _download_with_keras() -> Path:
    try:
        import keras

        keras.datasets.fashion_mnist.load_data()
    except Exception as exc:  # network errors come in many types
        # Keep the cause: Keras' message names the URL and the reason ("Connection refused", ...).
        cause = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        raise DatasetError(
            "Fashion-MNIST was not found locally (looked in "
            + ", ".join(str(p) for _, p in candidate_dirs())
            + f") and Keras could not download it ({cause}). {fix_hint()}"
        ) from exc
    return _keras_cache_dir()


def find_data_dir(download: bool = True) -> Path:
    """Return the first folder holding all four files (see the module docstring for the order)."""
    for label, directory in candidate_dirs():
        if _has_all_files(directory):
            return directory
        if label.startswith("$"):
            missing = [n for n in FILES.values() if not (directory / n).is_file()]
            raise DatasetError(
                f"${ENV_VAR} points to {directory}, which lacks {', '.join(missing)}. {fix_hint()}"
            )
    if not download:
        raise DatasetError(
            "Fashion-MNIST was not found in "
            + ", ".join(str(p) for _, p in candidate_dirs())
            + f". {fix_hint()}"
        )
    return _download_with_keras()


def load_fashion_mnist(
    *, n_valid: int = 5000, scale: bool = True, verify: bool = True, download: bool = True
) -> Dataset:
    """Load Fashion-MNIST split as in the book: 55,000 train / 5,000 valid / 10,000 test.

    The validation set is the *last* ``n_valid`` images of the official training set (the book's
    ``X_train_full[-5000:]``). With ``scale=True`` pixels are float32 in [0, 1] (the book's
    ``/ 255.``); labels are uint8. ``verify`` checks the SHA-256 of each decompressed file.

    Raises:
        DatasetError: the files are missing, truncated or corrupt; the message says how to fix it.
    """
    n_valid = check_int("n_valid", n_valid, min_value=0)
    directory = find_data_dir(download=download)
    train_x, train_y, test_x, test_y = _load_raw(str(directory), bool(verify))
    if train_x.shape[0] != train_y.shape[0] or test_x.shape[0] != test_y.shape[0]:
        raise DatasetError(f"Images and labels in {directory} do not have the same length. {fix_hint()}")
    if n_valid >= train_x.shape[0]:
        raise ValueError(f"n_valid must be < {train_x.shape[0]} (the training set size), got {n_valid}")

    def prep(x: np.ndarray) -> np.ndarray:
        if not scale:
            return x.copy()
        out = x.astype(np.float32)  # the book's X / 255., in float32, divided in place:
        np.divide(out, np.float32(255.0), out=out)  # same values, one array fewer to allocate
        return out

    cut = train_x.shape[0] - n_valid
    return Dataset(
        train=Split(prep(train_x[:cut]), train_y[:cut].copy()),
        valid=Split(prep(train_x[cut:]), train_y[cut:].copy()),
        test=Split(prep(test_x), test_y.copy()),
    )


def _check_n(name: str, n: int, split: Split) -> int:
    n = check_int(name, n, min_value=1)
    if n > len(split.y):
        raise ValueError(f"{name} must be <= {len(split.y)} (the split's size), got {n}")
    return n


def _draw(split: Split, n: int, seed: int | None) -> Split:
    if seed is None:
        return Split(split.x[:n], split.y[:n])
    idx = np.sort(np.random.default_rng(seed).choice(len(split.y), n, replace=False))
    return Split(split.x[idx], split.y[idx])


def take(split: Split, n: int, *, seed: int | None = None) -> Split:
    """The first ``n`` examples of ``split`` (``seed=None``), or ``n`` drawn without replacement.

    ``seed`` is a non-negative integer (NumPy's ``default_rng`` seed).
    """
    if not isinstance(split, Split):
        raise TypeError(f"split must be a tdnn.data.Split, got {type(split).__name__}")
    n = _check_n("n", n, split)
    return _draw(split, n, None if seed is None else check_int("seed", seed, min_value=0))


def subset(
    data: Dataset,
    n_train: int,
    n_valid: int | None = None,
    n_test: int | None = None,
    *,
    seed: int | None = None,
) -> Dataset:
    """A smaller :class:`Dataset` for fast experiments: ``n_*`` examples per split (``None`` keeps all).

    Without a ``seed`` it takes the first examples of each split; with one, a seeded random draw.
    """
    if not isinstance(data, Dataset):
        raise TypeError(f"data must be a tdnn.data.Dataset, got {type(data).__name__}")
    if seed is not None:
        seed = check_int("seed", seed, min_value=0)
    sizes = {"n_train": n_train, "n_valid": n_valid, "n_test": n_test}
    for (name, n), split in zip(sizes.items(), data):  # check all before drawing anything
        if n is not None:
            _check_n(name, n, split)

    def pick(split: Split, n: int | None, offset: int) -> Split:
        if n is None:
            return split
        return _draw(split, int(n), None if seed is None else seed + offset)

    return Dataset(pick(data.train, n_train, 0), pick(data.valid, n_valid, 1), pick(data.test, n_test, 2))


def main() -> None:
    """``python -m tdnn.data``: find, verify and summarise the data set (used by ``make``)."""
    directory = find_data_dir()
    data = load_fashion_mnist()
    sizes = " / ".join(f"{len(s.y):,} {n}" for n, s in zip(("train", "valid", "test"), data))
    print(f"Fashion-MNIST OK in {directory}: {sizes} (checksums verified)")



# --- Chapter 6: the transfer-learning tasks A and B -----------------------------------------------


class TransferTasks(NamedTuple):
    """Task A (multi-class, the other classes) and task B (binary, two held-out classes).

    ``a_classes[k]`` is the original Fashion-MNIST label of task A's label ``k``; task B's label is
    1 for ``positive`` and 0 for ``negative`` (both original labels).
    """

    a: Dataset
    b: Dataset
    a_classes: tuple[int, ...]
    positive: int
    negative: int


def _class_label(name: str, value: object) -> int:
    label = check_int(name, value, min_value=0)
    if label >= len(CLASS_NAMES):
        raise ValueError(f"{name} must be a Fashion-MNIST label in 0..{len(CLASS_NAMES) - 1}, got {label}")
    return label


def _pick(
    split: Split, mask: np.ndarray, n: int | None, rng: np.random.Generator | None, name: str
) -> tuple[np.ndarray, np.ndarray]:
    idx = np.flatnonzero(mask)
    if n is not None:
        if n > len(idx):
            raise ValueError(f"{name} must be <= {len(idx)} (the images of its classes), got {n}")
        idx = idx[:n] if rng is None else np.sort(rng.choice(idx, n, replace=False))
    return split.x[idx], split.y[idx]


def transfer_tasks(
    data: Dataset | None = None,
    *,
    positive: int = 6,
    negative: int = 5,
    n_train_b: int = 200,
    n_train_a: int | None = None,
    seed: int | None = None,
) -> TransferTasks:
    """The book's transfer-learning tasks (ch. 11, "Transfer Learning with Keras").

    Task A: the eight classes other than ``positive`` and ``negative``, labels renumbered 0..7 in
    their original order (the book's ``y_A[y_A > 6] -= 2`` for shirt and sandal). Task B: a binary
    task, label 1 for ``positive`` and 0 for ``negative`` (the book's ``(y == 6).astype(float32)``:
    shirt vs sandal), with only ``n_train_b`` labelled training images.

    Each split of A and B is taken from the same split of ``data`` (default:
    :func:`load_fashion_mnist`), so no image is in two splits; validation and test keep every image
    of their classes. Training images are the first ``n_train_b`` (``n_train_a``; ``None`` keeps
    all) of their classes, as in the book, or a random draw with ``seed``.
    """
    positive = _class_label("positive", positive)
    negative = _class_label("negative", negative)
    if positive == negative:
        raise ValueError(f"positive and negative must be different classes, got {positive} twice")
    n_train_b = check_int("n_train_b", n_train_b, min_value=1)
    if n_train_a is not None:
        n_train_a = check_int("n_train_a", n_train_a, min_value=1)
    if seed is not None:
        seed = check_int("seed", seed, min_value=0)
    if data is None:
        data = load_fashion_mnist()
    elif not isinstance(data, Dataset):
        raise TypeError(f"data must be a tdnn.data.Dataset or None, got {type(data).__name__}")
    b_set = (negative, positive)
    a_classes = tuple(c for c in range(len(CLASS_NAMES)) if c not in b_set)
    new_label = np.full(len(CLASS_NAMES), -1, dtype=np.int16)
    new_label[list(a_classes)] = np.arange(len(a_classes))
    rng_a = None if seed is None else np.random.default_rng([seed, 0])
    rng_b = None if seed is None else np.random.default_rng([seed, 1])
    a_splits, b_splits = [], []
    for which, split in zip(("train", "valid", "test"), data):
        in_b = np.isin(split.y, b_set)
        x, y = _pick(split, ~in_b, n_train_a if which == "train" else None, rng_a, "n_train_a")
        a_splits.append(Split(x, new_label[y].astype(np.uint8)))
        x, y = _pick(split, in_b, n_train_b if which == "train" else None, rng_b, "n_train_b")
        b_splits.append(Split(x, (y == positive).astype(np.float32)))
    return TransferTasks(Dataset(*a_splits), Dataset(*b_splits), a_classes, positive, negative)


if __name__ == "__main__":
    main()
