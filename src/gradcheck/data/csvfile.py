"""CSV datasets: the label in the first column, an optional header row."""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

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
from gradcheck.data.reading import _read_file_bytes
from gradcheck.errors import DataError


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
