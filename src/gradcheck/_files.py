"""Atomic file writes: a save either leaves the old file or the complete new one."""
from __future__ import annotations

import contextlib
import errno
import math
import os
import stat
import tempfile
import zipfile
import zlib
from pathlib import Path

# what a kind of file that is not a regular one is called in a message
_KINDS = ((stat.S_ISLNK, "a symbolic link"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a device"),
          (stat.S_ISBLK, "a device"), (stat.S_ISSOCK, "a socket"), (stat.S_ISDIR, "a directory"))


def not_a_regular_file(path) -> str | None:
    """What ``path`` is when it exists and is not a regular file ("a FIFO", "a symbolic
    link" ...), else None.  The link itself is looked at, not what it points to: renaming a
    new file over a link replaces the link, and writing through a FIFO or a device
    (``/dev/null`` for root) is never what a save means."""
    try:
        mode = os.lstat(path).st_mode
    except OSError:
        return None
    return next((name for test, name in _KINDS if test(mode)), None if stat.S_ISREG(mode) else "not a file")


@contextlib.contextmanager
def atomic_path(path):
    """Yield a temporary path beside ``path``; on success fsync it and rename it over ``path``.

    The rename is atomic on POSIX, so a process killed at any moment leaves either the
    previous file or the new one, never a torn one.  On error the temporary file is removed;
    the temporary files of killed saves to the same ``path`` (``.NAME.PID.*.tmp`` of a process
    that no longer runs) are removed by the next save.  A ``path`` that exists and is not a
    regular file (a FIFO, a device, a symbolic link) is refused with an OSError.
    """
    path = Path(path)
    kind = not_a_regular_file(path)
    if kind is not None:
        raise OSError(errno.EINVAL, f"it exists and is {kind}, not a regular file", str(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_temporaries(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp")
    os.close(fd)
    try:
        os.chmod(tmp, _new_file_mode(path))  # mkstemp makes 0600; keep what open() would give
        yield Path(tmp)
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        with contextlib.suppress(OSError):  # persist the rename itself
            dir_fd = os.open(path.parent, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _remove_stale_temporaries(path: Path) -> None:
    """Remove ``.NAME.PID.*.tmp`` beside ``path`` whose process PID is gone (killed mid-save).

    A temporary file of a process still running is left alone: it may be saving right now.
    """
    prefix = f".{path.name}."
    with contextlib.suppress(OSError):
        for entry in os.scandir(path.parent):
            # .NAME.PID.RANDOM.tmp exactly: mkstemp's random part holds no dot, so the save of
            # NAME.77777 (.NAME.77777.PID.RANDOM.tmp) is not mistaken for one of NAME's by PID 77777
            pid, _, random_part = entry.name[len(prefix):].removesuffix(".tmp").partition(".")
            if (entry.name.startswith(prefix) and entry.name.endswith(".tmp") and pid.isdigit()
                    and random_part and "." not in random_part
                    and not _running(int(pid)) and entry.is_file(follow_symlinks=False)):
                with contextlib.suppress(OSError):
                    os.unlink(entry.path)


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, ValueError):  # another user's process; a huge number
        return True
    return True


def _new_file_mode(path: Path) -> int:
    """The mode of the file being replaced, else 0666 less the umask, as ``open()`` creates."""
    try:
        return path.stat().st_mode & 0o7777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def check_writable(path, what: str, error):
    """Refuse, before any work is done, an output ``path`` that could never be written.

    Creates a temporary file in the nearest existing directory on the way to ``path`` (the
    save creates the missing ones; a run refused later must not leave them behind), then
    removes it; ``error`` (an exception class) gets one sentence naming ``what`` when that
    fails, or ``path`` is a directory or anything else that is not a regular file.
    """
    path = Path(path).expanduser()
    if path.is_dir():
        raise error(f"{what} {path} is a directory; give a file name inside it.")
    kind = not_a_regular_file(path)
    if kind is not None:
        raise error(f"{what} {path} exists and is {kind}, not a regular file, and saving would "
                    f"replace it; give the path of a regular file or a new name.")
    existing = path.absolute().parent
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    try:
        if not existing.is_dir():
            raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), str(existing))
        fd, tmp = tempfile.mkstemp(dir=existing, prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp")
        os.close(fd)
        os.unlink(tmp)
    except OSError as exc:
        raise error(f"{what} {path} cannot be written ({exc.strerror or exc}); give a path in a "
                    f"writable directory.") from exc
    return path


def read_numeric_npy(path, error, max_bytes: int):
    """Read a real-valued ``.npy`` array without unpickling or trusting its declared shape.

    The header is parsed first: object, string and complex dtypes are refused, and so is
    a declared size larger than the file (or ``max_bytes``), before anything is allocated.
    Every failure raises ``error`` (an exception class) with one sentence naming ``path``.
    """
    path = Path(path)
    try:
        if not path.is_file():
            what = "does not exist" if not path.exists() else "is not a regular file"
            raise error(f"{path} {what}; give a .npy file written by np.save.")
        with open(path, "rb") as fh:
            return read_npy_stream(fh, path.stat().st_size, str(path), error, max_bytes)
    except OSError as exc:
        raise error(f"cannot read {path} ({exc.strerror or exc}); check the path.") from exc


def read_npy_stream(fh, size: int, where: str, error, max_bytes: int):
    """The array of an open ``.npy`` stream of ``size`` bytes; see :func:`read_numeric_npy`."""
    import numpy as np

    try:
        version = np.lib.format.read_magic(fh)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(fh)
        elif version in ((2, 0), (3, 0)):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(fh)
        else:
            raise ValueError(f"unsupported .npy version {version}")
    except Exception as exc:  # numpy's header parser raises ValueError, SyntaxError, TokenError, ...
        raise error(f"cannot read {where} as a .npy array ({type(exc).__name__}: {exc}); save it "
                    f"with np.save.") from exc
    if dtype.hasobject or dtype.kind not in "biuf" or dtype.fields is not None:
        raise error(f"{where} holds {dtype} values; give an array of real numbers.")
    nbytes = math.prod(shape) * dtype.itemsize
    if any(d < 0 for d in shape) or nbytes > min(size, max_bytes):
        raise error(f"{where} declares shape {shape} ({nbytes} bytes), more data than the file "
                    f"holds or the {max_bytes}-byte limit; the file is truncated or crafted.")
    try:
        data = fh.read(nbytes)
    # zip members: bad CRC, cut deflate stream
    except (OSError, EOFError, ValueError, zipfile.BadZipFile, zlib.error) as exc:
        raise error(f"cannot read {where} ({exc}); the file is damaged, save it again.") from exc
    if len(data) != nbytes:
        raise error(f"{where} is truncated ({len(data)} of {nbytes} bytes of data); save it "
                    f"again with np.save.")
    array = np.frombuffer(data, dtype=dtype)
    return array.reshape(shape, order="F" if fortran else "C").copy()
