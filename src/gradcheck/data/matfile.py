"""MATLAB/Octave .mat datasets (X and y), with the MAT 5 structure checked before
scipy reads the file (:mod:`gradcheck._mat5`)."""
from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np

from gradcheck._mat5 import check_mat5
from gradcheck.data import reading
from gradcheck.data.arrays import (
    Dataset,
    LoadOptions,
    as_features,
    as_labels,
    class_count,
    split_dataset,
    square_shape,
    to_unit_range,
)
from gradcheck.data.reading import checked_size
from gradcheck.errors import DataError


def load_mat(path: Path, opts: LoadOptions) -> Dataset:
    """A MATLAB/Octave file with ``X`` and ``y``, as in the Coursera ML course (ex3data1.mat).

    Its images are stored column by column (Fortran order), so the dataset gets
    ``image_order='F'``: ``X[i].reshape(20, 20, order='F')`` shows digit ``i`` upright.
    Labels 1..10 with no 0 are MATLAB's digits with 10 for zero; they become 0..9.
    """
    X_raw, y_raw = _read_mat_xy(path)
    X, scale = to_unit_range(as_features(X_raw, f"X in {path}"), opts.input_scale)
    y = as_labels(y_raw, f"y in {path}")
    if len(X) != len(y):
        raise DataError(f"{path} has {len(X)} rows in X but {len(y)} labels in y; give one "
                        f"label per row (X is n_samples x n_features)")
    if y.min() >= 1 and y.max() == 10:
        y[y == 10] = 0  # the course's digits: 10 stands for 0
    elif y.min() >= 1:
        y -= 1  # MATLAB's classes 1..K
    shape = square_shape(X.shape[1])
    return split_dataset(X, y, path.name, class_count(y, f"y in {path}"), shape, "F", opts,
                          input_scale=scale)


def _read_mat_xy(path: Path):
    """Return the variables X and y of a .mat file, refusing ones too large to load."""
    import scipy.io  # only .mat files need scipy's reader; keep the import off the common path

    checked_size(path)
    check_mat5(path, lambda name: name in ("X", "y"), DataError, reading.MAX_FILE_BYTES)
    # whosmat reads only the headers, so sizes are known before anything is loaded
    shapes = {name: shape for name, shape, _ in _mat_call(scipy.io.whosmat, path)}
    missing = [key for key in ("X", "y") if key not in shapes]
    if missing:
        raise DataError(f"{path} has no variable {missing[0]} (it has "
                        f"{', '.join(sorted(shapes)) or 'none'}); save X (n_samples x "
                        f"n_features) and y (n_samples labels) in it")
    declared = 8 * (math.prod(shapes["X"]) + math.prod(shapes["y"]))
    if declared > reading.MAX_FILE_BYTES:
        raise DataError(f"{path} declares {declared} bytes of X and y, over the "
                        f"{reading.MAX_FILE_BYTES}-byte limit; use a smaller subset")
    mat = _mat_call(scipy.io.loadmat, path, variable_names=["X", "y"])
    y = np.asarray(mat["y"])
    # MATLAB has no 1-D arrays: y arrives as a column (n, 1) or a row (1, n)
    return mat["X"], (y.ravel() if y.ndim == 2 and 1 in y.shape else y)


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
