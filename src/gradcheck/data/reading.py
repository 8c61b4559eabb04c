"""Reading data files within limits: size caps, gzip/zip bombs, partial reads."""
from __future__ import annotations

import contextlib
import gzip
import stat
import zlib
from pathlib import Path

from gradcheck.errors import DataError

__all__ = ["MAX_FILE_BYTES"]

#: Largest data file (or decompressed gzip stream) that will be read.
MAX_FILE_BYTES = 2 << 30

# deflate cannot expand data by more than ~1032:1, so a gzip file's size bounds its content
DEFLATE_MAX_RATIO = 1032
_CHUNK = 1 << 20


@contextlib.contextmanager
def open_data_file(path: Path):
    """Yield (binary stream, file size, compressed) for a raw or gzip file.

    Read errors, including those of a corrupt gzip stream, become DataError.
    """
    size = checked_size(path)
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


def checked_size(path: Path) -> int:
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


def read_at_most(stream, n: int) -> bytearray:
    """Read up to ``n`` bytes in chunks, so memory follows the data actually present."""
    buf = bytearray()
    while len(buf) < n and (chunk := stream.read(min(_CHUNK, n - len(buf)))):
        buf += chunk
    return buf


def count_rest(stream) -> int:
    """Count the bytes left in a stream, stopping past :data:`MAX_FILE_BYTES`."""
    total = 0
    while total <= MAX_FILE_BYTES and (chunk := stream.read(_CHUNK)):
        total += len(chunk)
    return total
