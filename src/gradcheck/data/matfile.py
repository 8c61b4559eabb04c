"""MATLAB/Octave .mat datasets (X and y), with the MAT 5 structure checked before
scipy reads the file."""
from __future__ import annotations

import math
import warnings
import zlib
from pathlib import Path

import numpy as np

from gradcheck.data import reading
from gradcheck.data.arrays import (
    Dataset,
    _as_features,
    _as_labels,
    _class_count,
    _LoadOptions,
    _split_dataset,
    _square_shape,
    _to_unit_range,
)
from gradcheck.data.reading import _checked_size
from gradcheck.errors import DataError


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
    if declared > reading.MAX_FILE_BYTES:
        raise DataError(f"{path} declares {declared} bytes of X and y, over the "
                        f"{reading.MAX_FILE_BYTES}-byte limit; use a smaller subset")
    mat = _mat_call(scipy.io.loadmat, path, variable_names=["X", "y"])
    y = np.asarray(mat["y"])
    # MATLAB has no 1-D arrays: y arrives as a column (n, 1) or a row (1, n)
    return mat["X"], (y.ravel() if y.ndim == 2 and 1 in y.shape else y)


# MAT 5 data types (MATLAB's "MAT-File Format", table 1-1) and their sizes; 8, 10 and 11 are
# reserved, 14 is a matrix, 15 a compressed variable, 16..18 Unicode text.
_MI_INT8, _MI_INT32, _MI_UINT32, _MI_MATRIX, _MI_COMPRESSED = 1, 5, 6, 14, 15
_MI_SIZES = {1: 1, 2: 1, 3: 2, 4: 2, 5: 4, 6: 4, 7: 4, 9: 8, 12: 8, 13: 8, 16: 1, 17: 2, 18: 4}
_MX_NUMERIC = range(6, 16)  # double, single, int8 ... uint64
_MX_NAMES = {1: "a cell array", 2: "a struct", 3: "an object", 4: "text", 5: "a sparse matrix",
             16: "a function handle", 17: "an object"}


def _check_mat5_structure(path: Path) -> None:
    """Check the variables of a MAT 5 file before scipy parses it.

    scipy's compiled reader trusts the file: a data type outside the table, or a
    complex flag without an imaginary part, crashes the interpreter (fuzzed files did).
    So every variable's header (flags, dimensions, name) is checked, and X and y must be
    real numeric matrices whose data has exactly the declared size.  Compressed variables
    are inflated up to :data:`reading.MAX_FILE_BYTES`.  Files that are not MAT 5 (v4, v7.3,
    anything else) are left to scipy's own checks.
    """
    with open(path, "rb") as fh:
        data = fh.read(reading.MAX_FILE_BYTES + 1)
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
                inner = zlib.decompressobj().decompress(data[body:body + nbytes], reading.MAX_FILE_BYTES + 1)
                if len(inner) > reading.MAX_FILE_BYTES:
                    raise ValueError(f"a compressed variable inflates past {reading.MAX_FILE_BYTES} bytes")
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
