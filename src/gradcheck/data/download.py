"""Fetch the four MNIST files from a list of mirrors, verified by MD5, written atomically.

Private to :mod:`gradcheck.data`, which re-exports :func:`download_mnist` and the constants.
The library never prints: progress goes to a callback ``progress(file_name, done, total)``.
"""
from __future__ import annotations

import hashlib
import http.client
import os
import urllib.request
from pathlib import Path
from types import MappingProxyType

from gradcheck._files import atomic_path
from gradcheck.errors import ConfigError, DataError

__all__ = ["MNIST_FILES", "MNIST_MIRRORS", "MIRROR_ENV_VAR", "download_mnist"]

#: Base URLs tried in order; each must serve the four ``*.gz`` files under it.
MNIST_MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)

#: File name -> MD5 of the gzip file, as published by torchvision.
MNIST_FILES = MappingProxyType({
    "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
    "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
    "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
})

#: Environment variable naming one more mirror, tried before all others.
MIRROR_ENV_VAR = "GRADCHECK_MNIST_MIRROR"

_CHUNK = 1 << 16
# the largest MNIST file is ~9.9 MB; a server sending far more is not serving MNIST
_MAX_DOWNLOAD_BYTES = 64 << 20
# what urlopen and reading its response raise for network trouble, HTTP errors and bad URLs
_FETCH_ERRORS = (OSError, http.client.HTTPException, ValueError)


class _ChecksumMismatch(Exception):
    """A mirror served a file whose MD5 differs from the expected one."""

    def __init__(self, got: str):
        super().__init__(got)
        self.got = got


def download_mnist(dest, *, mirrors=None, files=None, timeout=30.0, progress=None) -> Path:
    """Download the MNIST IDX files into ``dest``, skipping those already there and intact.

    Each file goes to a temporary file in ``dest`` and is renamed over its final name only
    after its MD5 matches, so an interrupted or bad download never leaves a partial file.

    Parameters
    ----------
    dest : str or path-like
        Directory to fill; created if missing.
    mirrors : sequence of str, optional
        Base URLs tried in order (default :data:`MNIST_MIRRORS`).  A URL in the environment
        variable ``GRADCHECK_MNIST_MIRROR`` is tried before them.
    files : mapping of str to str, optional
        File name -> expected MD5 hex digest (default :data:`MNIST_FILES`).
    timeout : float
        Seconds to wait for a connection or for the next bytes of a response.
    progress : callable, optional
        Called as ``progress(file_name, bytes_done, bytes_total)``; ``bytes_total`` is None
        when the server does not send a length.

    Returns
    -------
    pathlib.Path
        ``dest``.

    Raises
    ------
    DataError
        When a file cannot be had intact from any mirror, or ``dest`` cannot be written.
    """
    dest = Path(dest).expanduser()
    files = MNIST_FILES if files is None else files
    urls = _mirror_list(MNIST_MIRRORS if mirrors is None else mirrors)
    try:
        dest.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DataError(f"cannot create the MNIST directory {dest} ({exc}); "
                        f"pass a writable cache_dir") from exc
    for name, md5 in files.items():
        target = dest / name
        if not (target.is_file() and _md5_of(target) == md5):
            _fetch_verified(name, md5, target, urls, timeout, progress)
    return dest


def _mirror_list(mirrors) -> list[str]:
    """Return the base URLs to try, the environment's mirror first, each ending in '/'."""
    if isinstance(mirrors, str):
        raise ConfigError(f"mirrors must be a list of base URLs, got the string {mirrors!r}; "
                          f"wrap it in a list")
    urls = [os.environ[MIRROR_ENV_VAR]] if os.environ.get(MIRROR_ENV_VAR) else []
    urls += list(mirrors)
    if not urls:
        raise ConfigError("no MNIST mirrors to download from; pass mirrors=[...] or set "
                          f"{MIRROR_ENV_VAR}")
    return [url if url.endswith("/") else url + "/" for url in urls]


def _fetch_verified(name, md5, target, urls, timeout, progress) -> None:
    """Fetch ``name`` from the first mirror that serves it with the right MD5."""
    failures, bad_sums = [], []
    for base in urls:
        try:
            _fetch_one(base + name, name, md5, target, timeout, progress)
            return
        except _ChecksumMismatch as exc:
            bad_sums.append(f"got {exc.got} from {base}")
        except _FETCH_ERRORS as exc:
            failures.append(f"{base}: {exc}")
    by_hand = (f"download {name} and any other missing MNIST file by hand into "
               f"{target.parent}, or give load_dataset a directory of IDX files instead")
    if bad_sums:
        raise DataError(f"{name} failed its checksum on every mirror that served it (expected "
                        f"MD5 {md5}, {'; '.join(bad_sums)}); {by_hand}", option="name_or_path")
    raise DataError(f"could not download {name} from any of {len(urls)} mirror(s) "
                    f"({'; '.join(failures)}); {by_hand}", option="name_or_path")


def _fetch_one(url, name, md5, target, timeout, progress) -> None:
    """Stream ``url`` into a temporary file and rename it to ``target`` if its MD5 matches."""
    with urllib.request.urlopen(url, timeout=timeout) as response:
        total = _content_length(response)
        if total is not None and total > _MAX_DOWNLOAD_BYTES:
            raise ValueError(f"the server announces {total} bytes, more than any MNIST file")
        digest = hashlib.md5(usedforsecurity=False)
        # atomic_path removes the temporary file if anything below raises
        with atomic_path(target) as tmp, open(tmp, "wb") as out:
            done = _report(progress, name, 0, total)
            while chunk := response.read(_CHUNK):
                done = _report(progress, name, done + len(chunk), total)
                if done > _MAX_DOWNLOAD_BYTES:
                    raise ValueError(f"the server sent more than {_MAX_DOWNLOAD_BYTES} bytes")
                digest.update(chunk)
                out.write(chunk)
            out.flush()
            if digest.hexdigest() != md5:
                raise _ChecksumMismatch(digest.hexdigest())


def _content_length(response) -> int | None:
    """Return the announced body length, or None when absent or unreadable."""
    value = response.headers.get("Content-Length")
    return int(value) if value is not None and value.strip().isdigit() else None


def _report(progress, name, done, total) -> int:
    """Pass progress to the callback, if any, and return ``done``."""
    if progress is not None:
        progress(name, done, total)
    return done


def _md5_of(path: Path) -> str:
    """Return the MD5 hex digest of a file, read in chunks."""
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()
