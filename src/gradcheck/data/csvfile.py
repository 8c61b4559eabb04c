"""CSV datasets: the label in the first column, an optional header row.

The file is read in blocks of lines (:data:`_BLOCK_BYTES` of text at a time) and each block
parsed on its own into a table allocated once, so memory follows the result (a float32
matrix) rather than the text: a 4 MB ``.csv.gz`` can hold 2 GB of CSV.  The first line is a
header when most of its cells are not numbers (``label,pixel0,...``); a first line with a
stray word among numbers is a data row with a bad cell, reported with its line and column,
never silently dropped.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gradcheck.data import reading
from gradcheck.data.arrays import (
    Dataset,
    LoadOptions,
    as_labels,
    class_count,
    first_bad_row,
    split_dataset,
    square_shape,
    to_unit_range,
)
from gradcheck.data.reading import open_data_file, read_at_most
from gradcheck.errors import DataError

_BLOCK_BYTES = 1 << 20
# float32 holds every integer up to 2**24 exactly: pixel tables need no float64 copy
_FLOAT32_EXACT = 2**24


def load_csv(path: Path, opts: LoadOptions) -> Dataset:
    """A CSV file: label in the first column, features after it, optional header row."""
    table = read_csv_table(path)
    if table.n_columns < 2:
        raise DataError(f"{path} has {table.n_columns} column; a dataset CSV needs the label "
                        f"in the first column and at least one feature after it")
    X, scale = to_unit_range(table.features, opts.input_scale)
    y = as_labels(table.labels, f"the label column of {path}", first_line=table.first_line)
    shape = square_shape(X.shape[1])
    return split_dataset(X, y, path.name, class_count(y, f"the label column of {path}"), shape,
                          "C", opts, input_scale=scale, notes=table.notes)


@dataclass
class CsvTable:
    """A parsed CSV: the first column apart, the rest as features.

    ``features`` is float32 when every value is exactly a float32 (integers up to 2**24,
    as pixels are), else float64; ``first_line`` is the file line of row 0; ``notes`` says
    what was skipped.
    """

    labels: np.ndarray
    features: np.ndarray
    first_line: int
    notes: tuple[str, ...] = ()

    @property
    def n_columns(self) -> int:
        return self.features.shape[1] + 1


@dataclass
class _Blocks:
    """The table being filled, block by block: allocated once the first block tells the
    width, for ``capacity`` rows (the file's line count), float32 until a value needs float64."""

    where: str
    capacity: int
    labels: np.ndarray | None = None
    features: np.ndarray | None = None
    rows: int = 0
    first_line: int = 1
    header: str | None = None

    def add(self, lines: list[str], line_no: int) -> None:
        """Parse ``lines`` (the first of them is file line ``line_no``) into the table."""
        if line_no == 1 and lines and is_header(lines[0]):  # only the file's first line
            self.header, lines, line_no = lines[0], lines[1:], line_no + 1
            self.first_line = line_no
        table = _parse_block(lines, line_no, self.where) if lines else None
        if table is None or len(table) == 0:
            return
        if self.features is None or self.labels is None:
            self.labels = np.empty(self.capacity, table.dtype)  # int64 while every label is
            self.features = np.empty((self.capacity, table.shape[1] - 1), np.float32)
        elif table.shape[1] != self.features.shape[1] + 1:
            raise DataError(f"cannot parse {self.where} as CSV (line {line_no} onwards has "
                            f"{table.shape[1]} columns, the lines before "
                            f"{self.features.shape[1] + 1}); give the same number of values "
                            f"on every line")
        self._store(table, self.labels, self.features)

    def _store(self, table: np.ndarray, labels: np.ndarray, stored: np.ndarray) -> None:
        features = table[:, 1:]
        bad = first_bad_row(features) if features.dtype.kind == "f" else None
        if bad is not None:
            raise DataError(f"{self.where} has NaN or infinite values (first at line "
                            f"{self.first_line + self.rows + bad}); fill or drop those samples")
        if stored.dtype == np.float32 and not _float32_exact(features):
            stored = stored.astype(np.float64)  # rare: values float32 would round
        if table.dtype.kind == "f" and labels.dtype.kind != "f":
            labels = labels.astype(np.float64)
        stop = self.rows + len(table)
        labels[self.rows:stop] = table[:, 0]
        stored[self.rows:stop] = features
        self.labels, self.features, self.rows = labels, stored, stop


def read_csv_table(path: Path, where: str | None = None) -> CsvTable:
    """Parse a (possibly gzip-compressed) CSV file of numbers in bounded blocks.

    The file is read twice: once to count its lines, so the table is allocated once at its
    final size, then block by block into it.

    Raises
    ------
    DataError
        Not UTF-8, a cell that is not a number (with its line and column), ragged rows,
        NaN/Inf features, no data rows, more than :data:`~gradcheck.data.reading.MAX_FILE_BYTES`
        of text.
    """
    where = where or str(path)
    blocks, line_no, offset = _Blocks(where, _count_lines(path)), 1, 0
    with open_data_file(path) as (stream, _, _):
        rest = b""
        while True:
            data = read_at_most(stream, _BLOCK_BYTES)
            offset += len(data)
            text = rest + bytes(data)
            cut = len(text) if not data else text.rfind(b"\n") + 1
            lines = _decode(text[:cut], offset - len(data) - len(rest), where, first=line_no == 1)
            rest = text[cut:]
            blocks.add(lines, line_no)
            line_no += len(lines)
            if not data:
                break
    if not blocks.rows or blocks.labels is None or blocks.features is None:
        raise DataError(f"{where} has no data rows; give one sample per line")
    notes = () if blocks.header is None else (
        f"line 1 of {where} was skipped as a header: {blocks.header[:80]!r}",)
    return CsvTable(blocks.labels[:blocks.rows], blocks.features[:blocks.rows], blocks.first_line,
                    notes)


def _count_lines(path: Path) -> int:
    """Lines in the (decompressed) file, refusing more than MAX_FILE_BYTES of text."""
    lines, size, last = 0, 0, b"\n"
    with open_data_file(path) as (stream, _, _):
        while chunk := stream.read(_BLOCK_BYTES):
            size += len(chunk)
            if size > reading.MAX_FILE_BYTES:
                raise DataError(f"{path} decompresses to more than {reading.MAX_FILE_BYTES} "
                                f"bytes; use a smaller file")
            lines += chunk.count(b"\n")
            last = chunk[-1:]
    return lines + (last != b"\n")


def _decode(raw: bytes, offset: int, where: str, first: bool) -> list[str]:
    try:
        text = raw.decode("utf-8-sig" if first else "utf-8")  # -sig: Excel's byte-order mark
    except UnicodeDecodeError as exc:
        raise DataError(f"{where} is not UTF-8 text (bad byte at offset {offset + exc.start}); "
                        f"give a plain-text CSV file") from exc
    return text.splitlines()


def _parse_block(lines: list[str], line_no: int, where: str) -> np.ndarray:
    """One block of lines as a 2-D int64 or float64 array; DataError naming the bad cell."""
    for dtype in (np.int64, np.float64):  # integers first: ~5x faster to parse, exact pixels
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # loadtxt warns on no data; checked by the caller
                return np.loadtxt(lines, delimiter=",", ndmin=2, dtype=dtype)
        except (ValueError, OverflowError) as exc:
            error = exc
    raise DataError(f"cannot parse {where} as CSV ({_first_problem(lines, line_no) or error}); "
                    f"give numbers separated by commas, one sample per line")


def _first_problem(lines: list[str], line_no: int) -> str | None:
    """The first line with a cell that is not a number, or a different number of cells."""
    width = None
    for k, line in enumerate(lines):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        cells = line.split(",")
        for j, cell in enumerate(cells, start=1):
            if not _is_number(cell):
                return f"line {line_no + k}: {cell.strip()[:40]!r} in column {j} is not a number"
        if width is not None and len(cells) != width:
            return f"line {line_no + k} has {len(cells)} values, the lines before {width}"
        width = len(cells)
    return None


def _float32_exact(features: np.ndarray) -> bool:
    """Whether float32 holds every value exactly (integers up to 2**24, as pixels are)."""
    if features.size == 0:
        return True
    if features.dtype.kind in "iu":
        return -_FLOAT32_EXACT <= int(features.min()) and int(features.max()) <= _FLOAT32_EXACT
    with np.errstate(over="ignore", invalid="ignore"):
        return bool(np.array_equal(features.astype(np.float32), features))


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def is_header(line: str) -> bool:
    """Whether a first CSV line is a header: most of its cells are not numbers.

    ``label,pixel0,pixel1`` is a header; ``3,0,x,0`` is a data row with a bad cell.
    """
    cells = line.split(",")
    return sum(not _is_number(cell) for cell in cells) * 2 > len(cells)
