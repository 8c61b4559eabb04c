"""The structure of a MAT 5 file, checked before ``scipy.io.loadmat`` reads it.

scipy's compiled reader trusts the file: a data type outside the format's table, or a
complex flag without an imaginary part, crashes the interpreter (fuzzed files did), and a
compressed variable of a few hundred kilobytes can inflate to gigabytes.  :func:`check_mat5`
reads every variable's header (flags, dimensions, name) and requires the variables the
caller will load to be real numeric matrices whose data has exactly the declared size, and
at most ``max_bytes`` of it.  Compressed variables are inflated only as far as their headers
and then counted, never held.  Files that are not MAT 5 (v4, v7.3 ...) are left to scipy's
own checks.  Shared by the data loader (X and y) and ``Network.load_mat`` (Theta1, ...).
"""
from __future__ import annotations

import math
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Literal

Order = Literal["little", "big"]

__all__ = ["check_mat5"]

# MAT 5 data types (MATLAB's "MAT-File Format", table 1-1) and their sizes; 8, 10 and 11 are
# reserved, 14 is a matrix, 15 a compressed variable, 16..18 Unicode text.
_MI_INT8, _MI_INT32, _MI_UINT32, _MI_MATRIX, _MI_COMPRESSED = 1, 5, 6, 14, 15
_MI_SIZES = {1: 1, 2: 1, 3: 2, 4: 2, 5: 4, 6: 4, 7: 4, 9: 8, 12: 8, 13: 8, 16: 1, 17: 2, 18: 4}
_MX_NUMERIC = range(6, 16)  # double, single, int8 ... uint64
_MX_NAMES = {1: "a cell array", 2: "a struct", 3: "an object", 4: "text", 5: "a sparse matrix",
             16: "a function handle", 17: "an object"}
# a variable's flags, dimensions (up to 32 of them), name (up to 63 bytes) and data tag
_HEADER_BYTES = 512
_CHUNK = 1 << 20


class _TooLarge(ValueError):
    """The file, or what a compressed variable inflates to, is over the caller's limit."""


def check_mat5(path, wanted: Callable[[str], bool], error: type, max_bytes: int) -> dict:
    """Check a MAT 5 file's structure; return ``{name: dims}`` of the ``wanted`` variables.

    Parameters
    ----------
    path : path-like
    wanted : callable, ``wanted(name) -> bool``
        The variables that will be loaded: each must be a real numeric matrix whose data
        has exactly its declared size.
    error : exception class
        Raised with one sentence naming ``path`` (DataError, ModelFileError).
    max_bytes : int
        The most the file may hold, and the most a compressed variable may inflate to, and
        the most the wanted variables' data may add up to.
    """
    path = Path(path)
    with open(path, "rb") as fh:
        data = fh.read(max_bytes + 1)
    if len(data) < 128 or data[126:128] not in (b"IM", b"MI"):
        return {}
    order: Order = "little" if data[126:128] == b"IM" else "big"
    if int.from_bytes(data[124:126], order) != 0x0100:
        return {}  # v7.3 (HDF5): scipy refuses it with a clear error
    try:
        if len(data) > max_bytes:
            raise _TooLarge(f"it has more than {max_bytes} bytes")
        found = _variables(data, order, path, wanted, error, max_bytes)
    except _TooLarge as exc:
        raise error(f"{path} is too large to read: {exc}; use smaller matrices") from exc
    except (ValueError, zlib.error) as exc:
        raise error(f"{path} is not a valid MAT file ({exc}); save it again from "
                    f"MATLAB/Octave with -v7 or older") from exc
    declared = sum(nbytes for _, nbytes in found.values())
    if declared > max_bytes:
        raise error(f"{path} declares {declared} bytes of {', '.join(found)}, over the "
                    f"{max_bytes}-byte limit; use smaller matrices")
    return {name: dims for name, (dims, _) in found.items()}


def _variables(data: bytes, order: Order, path: Path, wanted, error, max_bytes: int) -> dict:
    """``{name: (dims, data bytes)}`` of the wanted variables, every variable checked."""
    found, pos = {}, 128
    while pos < len(data):
        mdtype, nbytes, body, pos = _tag(data, pos, len(data), order, top=True)
        if mdtype == _MI_COMPRESSED:
            head, inflated = _inflate_head(data[body:body + nbytes], max_bytes)
            mdtype, nbytes, body, _ = _tag(head, 0, inflated, order, top=True)
            if mdtype != _MI_MATRIX:
                raise ValueError(f"a compressed element of data type {mdtype}")
            variable = _variable(head, body, body + nbytes, order, path, wanted, error)
        elif mdtype == _MI_MATRIX:
            variable = _variable(data, body, body + nbytes, order, path, wanted, error)
        else:
            raise ValueError(f"a top-level element of data type {mdtype}")
        if variable is not None:
            found[variable[0]] = variable[1:]
    return found


def _inflate_head(compressed: bytes, max_bytes: int) -> tuple[bytes, int]:
    """The first bytes of a compressed variable, and how many bytes it inflates to in all
    (counted in chunks that are dropped; refused past ``max_bytes``)."""
    stream = zlib.decompressobj()
    head = stream.decompress(compressed, _HEADER_BYTES)
    total = len(head)
    while stream.unconsumed_tail:
        total += len(stream.decompress(stream.unconsumed_tail, _CHUNK))
        if total > max_bytes:
            raise _TooLarge(f"a compressed variable inflates past {max_bytes} bytes")
    total += len(stream.flush())
    return head, total


def _tag(data, pos: int, end: int, order: Order, top: bool = False):
    """Read the tag at ``pos``: ``(data type, byte count, start of data, next tag)``.

    ``end`` is where the enclosing element ends; the tag itself must lie in ``data``.
    """
    if min(end, len(data)) - pos < 8:
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


def _field(data, pos: int, end: int, order: Order, kind: int, what: str):
    """A header sub-element (flags, dimensions, name) of type ``kind``, wholly in ``data``."""
    mdtype, nbytes, body, pos = _tag(data, pos, end, order)
    if mdtype != kind or body + nbytes > len(data):
        raise ValueError(f"a variable without {what}")
    return data[body:body + nbytes], pos


def _variable(data, pos: int, end: int, order: Order, path: Path, wanted, error):
    """Check a matrix element's header; a wanted one must be a real numeric array of its
    declared size.  Returns ``(name, dims, data bytes)`` for a wanted one, else None."""
    flags, pos = _field(data, pos, end, order, _MI_UINT32, "array flags")
    if len(flags) < 4:
        raise ValueError("a variable without array flags")
    flags = int.from_bytes(flags[:4], order)
    mx_class, complex_flag = flags & 0xFF, flags & 0x800
    if not 1 <= mx_class <= 17:
        raise ValueError(f"unknown array class {mx_class}")
    if mx_class in (16, 17):
        raise ValueError(f"it holds {_MX_NAMES[mx_class]}, which gradcheck does not read")
    raw, pos = _field(data, pos, end, order, _MI_INT32, "dimensions")
    if len(raw) % 4 or len(raw) < 8:
        raise ValueError("a variable without dimensions")
    dims = [int.from_bytes(raw[i:i + 4], order, signed=True) for i in range(0, len(raw), 4)]
    if min(dims) < 0:
        raise ValueError(f"negative dimensions {dims}")
    raw, pos = _field(data, pos, end, order, _MI_INT8, "a name")
    name = bytes(raw).decode("latin-1")
    if not wanted(name):
        return None  # scipy reads only the header of variables it is not asked for
    if mx_class not in _MX_NUMERIC:
        raise error(f"{path}: {name} is {_MX_NAMES[mx_class]}, not a numeric matrix; save {name} "
                    f"as a full matrix of numbers")
    if complex_flag:
        raise error(f"{path}: {name} holds complex numbers; save real values")
    mdtype, nbytes, _, _ = _tag(data, pos, end, order)
    if mdtype not in _MI_SIZES or mdtype >= 16 or nbytes != math.prod(dims) * _MI_SIZES[mdtype]:
        raise ValueError(f"{name} declares shape {tuple(dims)} but holds {nbytes} bytes of type {mdtype}")
    return name, tuple(dims), nbytes
