"""IDX files (MNIST's format): the reader and the four-file directories."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from gradcheck.data import reading
from gradcheck.data.arrays import Dataset, as_labels, class_count
from gradcheck.data.reading import (
    DEFLATE_MAX_RATIO,
    count_rest,
    open_data_file,
    read_at_most,
)
from gradcheck.errors import DataError

_IDX_UBYTE = 0x08


def read_idx(path) -> np.ndarray:
    """Read one IDX file of unsigned bytes, raw or gzip-compressed.

    The header is checked against the file's size before anything is allocated, and a gzip
    stream is never read past what its header declares.

    Parameters
    ----------
    path : str or path-like

    Returns
    -------
    ndarray, uint8, shape as declared
        ``(n_images, rows, cols)`` for magic 0x00000803, ``(n_labels,)`` for 0x00000801.

    Raises
    ------
    DataError
        Bad magic number or data type, truncated or over-long file, unreadable gzip.
    """
    path = Path(path)
    with open_data_file(path) as (stream, size, compressed):
        shape = _read_idx_header(stream, path)
        declared, header_bytes = math.prod(shape), 4 + 4 * len(shape)
        if compressed:
            limit = min(reading.MAX_FILE_BYTES, size * DEFLATE_MAX_RATIO)
            if header_bytes + declared > limit:
                raise _idx_size_error(path, shape, declared, None)
        elif header_bytes + declared != size:
            raise _idx_size_error(path, shape, declared, size - header_bytes)
        data = read_at_most(stream, declared + 1)
        if len(data) > declared:
            raise _idx_size_error(path, shape, declared, len(data) + count_rest(stream))
    if len(data) < declared:
        raise _idx_size_error(path, shape, declared, len(data))
    return np.frombuffer(data, dtype=np.uint8).reshape(shape)


# ---------------------------------------------------------------------------------------------
# IDX directories and bounded file reading
# ---------------------------------------------------------------------------------------------

# (part, kind) -> (file-name prefixes, IDX rank)
_IDX_PARTS = {
    ("train", "images"): (("train",), 3),
    ("train", "labels"): (("train",), 1),
    ("test", "images"): (("t10k", "test"), 3),
    ("test", "labels"): (("t10k", "test"), 1),
}


def locate_idx_files(directory: Path):
    """Find the four IDX files, accepting common naming variants.

    Returns
    -------
    found : dict of (part, kind) -> Path
    missing : list of str
        Canonical names of the files not found.
    """
    found, missing = {}, []
    for (part, kind), (prefixes, rank) in _IDX_PARTS.items():
        names = [f"{prefix}-{kind}{sep}idx{rank}-ubyte{gz}"
                 for prefix in prefixes for sep in "-." for gz in ("", ".gz")]
        hit = next((directory / n for n in names if (directory / n).is_file()), None)
        if hit is None:
            missing.append(names[0])
        else:
            found[part, kind] = hit
    return found, missing


def load_idx_dir(directory: Path, name: str, n_classes: int | None = None) -> Dataset:
    """Load the train and test IDX pairs of a directory."""
    found, missing = locate_idx_files(directory)
    if missing:
        raise DataError(f"{directory} lacks {', '.join(missing)} (each may also end in .gz); "
                        f"put the four IDX files of the dataset there")
    X_train, y_train, shape = _read_idx_pair(found["train", "images"], found["train", "labels"])
    X_test, y_test, test_shape = _read_idx_pair(found["test", "images"],
                                                found["test", "labels"])
    if shape != test_shape:
        raise DataError(f"{directory} has {shape} training images but {test_shape} test "
                        f"images; both sets need the same image size")
    if n_classes is None:
        where = f"the labels in {directory}"
        n_classes = class_count(as_labels(np.concatenate([y_train, y_test]), where), where)
    return Dataset(X_train, y_train, X_test, y_test, name, n_classes, shape, "C",
                   input_scale=(0.0, 255.0))


def _read_idx_pair(images_path: Path, labels_path: Path):
    """Read an images file and its labels file.

    Returns
    -------
    X : ndarray, shape (n, rows * cols), float32 in [0, 1]
    y : ndarray, shape (n,), int64
    image_shape : (rows, cols)
    """
    images, labels = read_idx(images_path), read_idx(labels_path)
    for path, array, rank in ((images_path, images, 3), (labels_path, labels, 1)):
        if array.ndim != rank:
            raise DataError(f"{path} has magic 0x000008{array.ndim:02x} ({array.ndim}-D) but "
                            f"needs 0x000008{rank:02x} ({rank}-D); check the file names")
    if len(images) != len(labels):
        raise DataError(f"{images_path} has {len(images)} images but {labels_path} has "
                        f"{len(labels)} labels; use files from the same set")
    if len(images) == 0:
        raise DataError(f"{images_path} holds no images (its header declares 0); use the "
                        f"dataset's complete files")
    X = images.reshape(len(images), -1).astype(np.float32)
    X /= 255
    return X, labels.astype(np.int64), images.shape[1:]


def _read_idx_header(stream, path: Path) -> tuple[int, ...]:
    """Read and check an IDX header; return the declared shape."""
    head = stream.read(4)
    if len(head) < 4:
        raise DataError(f"{path} has {len(head)} bytes, too few for an IDX header; "
                        f"download it again")
    if head[:2] != b"\0\0":
        raise DataError(f"{path} starts with 0x{head.hex()}, not an IDX magic number (0x00000803 "
                        f"for images, 0x00000801 for labels); check that it is an IDX file")
    if head[2] != _IDX_UBYTE:
        raise DataError(f"{path} holds IDX data type 0x{head[2]:02x}; only unsigned bytes "
                        f"(0x08, as in MNIST) are supported")
    ndim = head[3]
    if not 1 <= ndim <= 4:
        raise DataError(f"{path} declares {ndim} dimensions; IDX images have 3 and labels 1")
    dims = stream.read(4 * ndim)
    if len(dims) < 4 * ndim:
        raise DataError(f"{path} ends inside its IDX header; download it again")
    return tuple(int.from_bytes(dims[i:i + 4], "big") for i in range(0, 4 * ndim, 4))


def _idx_size_error(path: Path, shape, declared: int, actual: int | None) -> DataError:
    """The error for an IDX file whose data length disagrees with its header."""
    if actual is None:
        what = "more than its compressed size can hold"
    else:
        what = f"{actual} bytes of data ({'truncated' if actual < declared else 'too long'})"
    return DataError(f"{path} declares shape {shape}, i.e. {declared} bytes of data, but has "
                     f"{what}; download the file again")
