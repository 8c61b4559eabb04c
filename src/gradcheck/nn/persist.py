"""Model and checkpoint files: .npz archives of float vectors plus a JSON header.

A model file is a zip archive (what :func:`numpy.savez` writes) with two members:

``header.npy``
    uint8 bytes of a UTF-8 JSON object: ``format`` ("gradcheck-model"), ``version`` (1),
    the network's ``sizes``, ``hidden`` activation specs, ``output``, ``loss``, ``l2``,
    ``reduction``, ``dtype``, ``allow_unsafe``, and ``metadata`` (optional ``labels``,
    ``image_shape``, ``dataset``).
``theta.npy``
    the flat parameter vector, shape ``(n_params,)``, in the header's dtype.

Files are written to a temporary file and renamed over the target (:func:`atomic_path`),
so a process killed mid-save leaves the old file or the new one.  Reading trusts nothing:
members must be stored uncompressed, so every byte allocated is a byte present on disk;
each ``.npy`` header is parsed and checked (dtype, shape, against the JSON header) before
its data is read; nothing is unpickled.  Any problem raises
:class:`~gradcheck.errors.ModelFileError` with one sentence.
"""
from __future__ import annotations

import json
import math
import numbers
import re
import zipfile
from pathlib import Path

import numpy as np

from gradcheck._files import atomic_path
from gradcheck.errors import ConfigError, GradcheckError, ModelFileError, OutputError
from gradcheck.nn.activations import get_activation
from gradcheck.nn.blocks import mlp_n_params

__all__ = ["MODEL_FORMAT", "CHECKPOINT_FORMAT", "FORMAT_VERSION", "save_model", "load_model",
           "read_header", "write_archive", "read_archive", "network_from_config", "check_metadata"]

MODEL_FORMAT = "gradcheck-model"
CHECKPOINT_FORMAT = "gradcheck-checkpoint"
FORMAT_VERSION = 1

MAX_HEADER_BYTES = 1 << 20       # a header is a few hundred bytes; 1 MiB is generous
MAX_LAYER_WIDTH = 1 << 20
MAX_LAYERS = 64
_MEMBER = re.compile(r"^[A-Za-z0-9_.]{1,64}\.npy$")
_METADATA_KEYS = {"labels", "image_shape", "image_order", "dataset", "data_path", "input_scale"}


# --- writing ----------------------------------------------------------------------------

def write_archive(path, header: dict, arrays: dict) -> Path:
    """Write ``header`` (JSON) and 1-D float ``arrays`` to ``path`` atomically.

    Parameters
    ----------
    path : str or path-like
    header : dict
        JSON-ready; stored as the uint8 member ``header.npy``.
    arrays : dict of str -> ndarray
        Stored uncompressed as ``<name>.npy``.

    Raises
    ------
    OutputError
        The file could not be written (a full disk, an unwritable directory, a path that
        exists and is not a regular file); what was at ``path`` is left as it was.
    """
    text = json.dumps(header, allow_nan=False, separators=(",", ":"))
    members = {"header": np.frombuffer(text.encode("utf-8"), dtype=np.uint8)}
    members.update((name, np.ascontiguousarray(a)) for name, a in arrays.items())
    path = Path(path)
    try:
        with atomic_path(path) as tmp:
            with open(tmp, "wb") as fh:  # a file object: savez would append .npz to a name
                np.savez(fh, **members)  # type: ignore[arg-type]  # numpy's stub lets **kwds bind allow_pickle
    except OSError as exc:
        raise OutputError(f"cannot write {path} ({exc.strerror or exc}); give a path in a "
                          f"writable directory with room for the file.") from exc
    return path


def model_header(net, metadata=None) -> dict:
    """The JSON header of ``net``: its configuration, the format, and checked metadata."""
    config = net.config()
    config["hidden"] = [_exact_spec(a) for a in net.hidden]
    return {"format": MODEL_FORMAT, "version": FORMAT_VERSION, **config,
            "metadata": check_metadata(metadata or {}, net.sizes, "net.save", ConfigError)}


def save_model(net, path, metadata=None) -> Path:
    """Save ``net`` to ``path`` (.npz): theta plus a JSON header; atomic.

    Parameters
    ----------
    net : Network
    path : str or path-like
    metadata : dict, optional
        ``labels`` (list of class names, one per output), ``image_shape`` ((h, w) with
        ``h * w == sizes[0]``), ``image_order`` ("C" or "F"), ``dataset`` (str),
        ``data_path`` (str), ``input_scale`` ([low, high]: inputs are ``(x - low) / (high -
        low)``).  Defaults to ``net.metadata`` if set.

    Raises
    ------
    ModelFileError
        ``net`` has NaN or infinite weights: a file that could not be loaded is never
        written, so nothing at ``path`` is lost to it.
    OutputError
        The file could not be written.
    """
    if metadata is None:
        metadata = getattr(net, "metadata", None)
    bad = int(np.size(net.theta) - np.count_nonzero(np.isfinite(net.theta)))
    if bad:
        raise ModelFileError(f"the network has {bad} NaN or infinite weights, so {path} would be "
                             f"a model that cannot be loaded; it was not written (retrain, or "
                             f"lower the learning rate).")
    return write_archive(path, model_header(net, metadata), {"theta": net.theta})


def _exact_spec(activation) -> str:
    """``activation.spec``, or a full-precision one when ``spec`` rounds a parameter."""
    spec = activation.spec
    if get_activation(spec).params == activation.params:
        return spec
    return ":".join([activation.name, *(repr(float(v)) for v in activation.params.values())])


# --- reading ----------------------------------------------------------------------------

def load_model(path, cls):
    """Load a model saved by :func:`save_model` as a ``cls`` network (with a ``metadata`` dict).

    Raises
    ------
    ModelFileError
        Not a model file, a crafted or damaged one, or one from a newer format version.
    """
    header, arrays = read_archive(path, MODEL_FORMAT, lambda h: {"theta": h["dtype"]})
    net = network_from_config(header, path, cls)
    net.theta[...] = _only_finite(arrays["theta"], path)
    meta = header.get("metadata") or {}
    if not isinstance(meta, dict):
        raise ModelFileError(f"{path}: the header's metadata is not a JSON object; the file is refused.")
    net.metadata = check_metadata(meta, net.sizes, path, ModelFileError)
    return net


def read_header(path, expected_format=MODEL_FORMAT) -> dict:
    """The checked JSON header of a model or checkpoint file, without reading its arrays."""
    return read_archive(path, expected_format, None)[0]


def read_archive(path, expected_format: str, expected_arrays):
    """Read and check an archive written by :func:`write_archive`.

    Parameters
    ----------
    path : str or path-like
    expected_format : str
        ``MODEL_FORMAT`` or ``CHECKPOINT_FORMAT``.
    expected_arrays : callable or None
        ``expected_arrays(header) -> {name: dtype name}``: the members that must (and may)
        be present, each of shape ``(n_params,)``; None reads the header only.

    Returns
    -------
    header : dict
    arrays : dict of str -> ndarray
    """
    path = Path(path)
    with _open_zip(path) as archive:
        members = _members(archive, path)
        header = _read_json_header(archive, members, path, expected_format)
        if expected_arrays is None:
            return header, {}
        n_params = _n_params(header, path)
        wanted = expected_arrays(header)
        extra = sorted(set(members) - {"header", *wanted})
        missing = sorted(set(wanted) - set(members))
        if extra or missing:
            what = f"lacks {missing[0]}.npy" if missing else f"has an unexpected member {extra[0]}.npy"
            raise ModelFileError(f"{path} {what}; it was not written by gradcheck, re-save the model.")
        arrays = {name: _read_vector(archive, members[name], path, name, dtype, n_params)
                  for name, dtype in wanted.items()}
    return header, arrays


class _open_zip:
    """Context manager: a ZipFile, with every way of not being one as ModelFileError."""

    def __init__(self, path: Path):
        self.path = path

    def __enter__(self) -> zipfile.ZipFile:
        if not self.path.is_file():
            what = "does not exist" if not self.path.exists() else "is not a regular file"
            raise ModelFileError(f"{self.path} {what}; give the path of a model saved by gradcheck.")
        try:
            self.archive = zipfile.ZipFile(self.path)
        except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError) as exc:
            raise ModelFileError(f"{self.path} is not a gradcheck model file (not a readable .npz "
                                 f"archive: {exc}); give a file written by Network.save (or gradcheck train).") from exc
        return self.archive

    def __exit__(self, *exc_info):
        self.archive.close()
        # a damaged zip surfaces while reading; anything that is not our own error is one
        error = exc_info[1]
        if error is not None and not isinstance(error, GradcheckError) and isinstance(error, Exception):
            raise ModelFileError(f"{self.path} is damaged ({type(error).__name__}: {error}); "
                                 f"save the model again.") from error
        return False


def _members(archive: zipfile.ZipFile, path: Path) -> dict:
    """``name -> ZipInfo`` for the ``<name>.npy`` members, refusing anything unusual."""
    infos, size = archive.infolist(), path.stat().st_size
    if len(infos) > 32:
        raise ModelFileError(f"{path} has {len(infos)} members, far more than a model file; "
                             f"it was not written by gradcheck.")
    members = {}
    for info in infos:
        if not _MEMBER.match(info.filename) or info.filename[:-4] in members:
            raise ModelFileError(f"{path} has an unexpected member {info.filename!r}; it was not "
                                 f"written by gradcheck.")
        if info.compress_type != zipfile.ZIP_STORED or info.flag_bits & 0x1:
            # stored members bound memory by the file's real size; deflate could expand 1000x
            raise ModelFileError(f"{path} has a compressed or encrypted member {info.filename!r}; "
                                 f"gradcheck writes them uncompressed, re-save the model.")
        if info.file_size > size or info.compress_size != info.file_size:
            raise ModelFileError(f"{path}: member {info.filename!r} declares {info.file_size} bytes, "
                                 f"more than the file holds; the file is truncated or crafted.")
        members[info.filename[:-4]] = info
    if "header" not in members:
        raise ModelFileError(f"{path} has no header.npy, so it is not a gradcheck model file; "
                             f"give a file written by Network.save (or gradcheck train).")
    return members


def _read_npy_prefix(fh, path: Path, name: str):
    """Parse a member's .npy header; return (shape, dtype) without reading the data."""
    try:
        version = np.lib.format.read_magic(fh)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(fh)
        elif version == (2, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(fh)
        else:
            raise ValueError(f"unsupported .npy version {version}")
    except (ValueError, OSError, EOFError, SyntaxError, TypeError) as exc:
        raise ModelFileError(f"{path}: member {name}.npy has a bad array header ({exc}); it was "
                             f"not written by gradcheck.") from exc
    if dtype.hasobject:
        raise ModelFileError(f"{path}: member {name}.npy holds Python objects ({dtype}), which "
                             f"gradcheck never unpickles; the file is refused.")
    return shape, dtype


def _read_member(archive, info, path: Path, name: str, check) -> np.ndarray:
    """Read one member: parse its header, let ``check(shape, dtype)`` refuse it, then read."""
    with archive.open(info) as fh:
        shape, dtype = _read_npy_prefix(fh, path, name)
        check(shape, dtype)
        nbytes = math.prod(shape) * dtype.itemsize
        if nbytes > info.file_size:  # never ask for more than the member declares
            raise ModelFileError(f"{path}: member {name}.npy declares {nbytes} bytes of data in a "
                                 f"{info.file_size}-byte member; the file is truncated or crafted.")
        data = fh.read(nbytes)
    if len(data) != nbytes:
        raise ModelFileError(f"{path}: member {name}.npy is truncated ({len(data)} of {nbytes} "
                             f"bytes); the file is damaged, save it again.")
    return np.frombuffer(data, dtype=dtype).copy()


def _read_json_header(archive, members, path: Path, expected_format: str) -> dict:
    def check(shape, dtype):
        if dtype != np.uint8 or len(shape) != 1 or shape[0] > MAX_HEADER_BYTES:
            raise ModelFileError(f"{path}: header.npy is {dtype} of shape {shape}, not JSON "
                                 f"bytes under {MAX_HEADER_BYTES} bytes; the file is refused.")

    raw = _read_member(archive, members["header"], path, "header", check)
    try:
        header = json.loads(raw.tobytes().decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ModelFileError(f"{path}: header.npy is not valid JSON ({exc}); the file is damaged.") from exc
    if not isinstance(header, dict):
        raise ModelFileError(f"{path}: the header is not a JSON object; the file is refused.")
    _check_format(header, path, expected_format)
    return header


def _check_format(header: dict, path: Path, expected: str) -> None:
    kind, version = header.get("format"), header.get("version")
    if kind != expected:
        hint = ("it is a training checkpoint: resume training from it" if kind == CHECKPOINT_FORMAT
                else "it is a model, not a checkpoint" if kind == MODEL_FORMAT
                else "it was not written by gradcheck")
        raise ModelFileError(f"{path} has format {kind!r}, not {expected!r}; {hint}.",
                             option="resume" if kind == CHECKPOINT_FORMAT else None)
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ModelFileError(f"{path} has format version {version!r}, not a positive integer; "
                             f"the file is damaged.")
    if version > FORMAT_VERSION:
        raise ModelFileError(f"{path} has format version {version}, newer than the {FORMAT_VERSION} "
                             f"this gradcheck reads; upgrade gradcheck.")


def _n_params(header: dict, path: Path) -> int:
    """Parameter count implied by the header's sizes, with sizes bounded first."""
    sizes = header.get("sizes")
    if (not isinstance(sizes, list) or not 2 <= len(sizes) <= MAX_LAYERS
            or not all(isinstance(s, int) and not isinstance(s, bool) and 1 <= s <= MAX_LAYER_WIDTH
                       for s in sizes)):
        raise ModelFileError(f"{path} declares sizes {str(sizes)[:80]}, not 2 to {MAX_LAYERS} "
                             f"layer widths between 1 and {MAX_LAYER_WIDTH}; the file is refused.")
    return mlp_n_params(sizes)


def _read_vector(archive, info, path: Path, name: str, dtype_name, n_params: int) -> np.ndarray:
    """Read a ``(n_params,)`` vector of the header's dtype, checking before allocating."""
    if dtype_name not in ("float32", "float64"):
        raise ModelFileError(f"{path} declares dtype {dtype_name!r}; a model is float32 or "
                             f"float64, the file is refused.")

    def check(shape, dtype):
        if dtype != np.dtype(dtype_name) or shape != (n_params,):
            raise ModelFileError(f"{path}: {name}.npy is {dtype} of shape {shape} but the header "
                                 f"declares {dtype_name} of shape ({n_params},); header and arrays "
                                 f"disagree, the file is refused.")

    return _read_member(archive, info, path, name, check)


def _only_finite(theta: np.ndarray, path: Path) -> np.ndarray:
    if not np.all(np.isfinite(theta)):
        raise ModelFileError(f"{path} holds {int(np.sum(~np.isfinite(theta)))} NaN or infinite "
                             f"weights; it cannot predict anything, retrain the model.")
    return theta


# --- the network from a header --------------------------------------------------------

_CONFIG_TYPES = {"hidden": list, "output": str, "loss": str, "l2": (int, float),
                 "reduction": str, "dtype": str, "allow_unsafe": bool}


def _has_type(value, kind) -> bool:
    # JSON true/false are Python bools, which are ints too: "l2": true is not the number 1
    return isinstance(value, kind) and (kind is bool or not isinstance(value, bool))


def network_from_config(header: dict, path, cls):
    """Build the (freshly initialised) ``cls`` network a header describes; ModelFileError if it can't."""
    for key, kind in _CONFIG_TYPES.items():
        if not _has_type(header.get(key), kind):
            raise ModelFileError(f"{path}: the header's {key!r} is {header.get(key)!r}, not a "
                                 f"valid value; the file is damaged or crafted.")
    _n_params(header, path)
    try:
        net = cls(header["sizes"], hidden=header["hidden"], output=header["output"],
                  loss=header["loss"], l2=header["l2"], reduction=header["reduction"],
                  dtype=header["dtype"], seed=0, allow_unsafe=header["allow_unsafe"])
    except GradcheckError as exc:
        raise ModelFileError(f"{path} describes a network gradcheck cannot build ({exc})") from exc
    except (TypeError, ValueError) as exc:
        raise ModelFileError(f"{path}: the header's network settings are invalid ({exc}); the "
                             f"file is damaged or crafted.") from exc
    return net


def check_metadata(meta, sizes, where, error=ModelFileError) -> dict:
    """Return a checked copy of the optional metadata.

    Keys: ``labels``, ``image_shape``, ``image_order`` ("C" row by row, "F" column by
    column as in MATLAB files), ``dataset`` (its name), ``data_path`` (the absolute path
    of a dataset read from a file or directory) and ``input_scale`` (``[low, high]``, the
    range the training data was scaled from: inputs are ``(x - low) / (high - low)``).
    ``labels`` needs one name per output unit, ``image_shape`` ``(h, w)`` with
    ``h * w == sizes[0]`` and ``input_scale`` two finite numbers with ``low < high``;
    anything else raises ``error`` naming the key.
    """
    def bad(key, why):
        return error(f"{where}: metadata {key!r} {why}.")

    meta = dict(meta)
    if set(meta) - _METADATA_KEYS:
        raise bad(sorted(set(meta) - _METADATA_KEYS)[0], f"is not one of {sorted(_METADATA_KEYS)}")
    labels, shape = meta.get("labels"), meta.get("image_shape")
    if labels is not None:
        if (not isinstance(labels, (list, tuple)) or len(labels) != sizes[-1]
                or not all(isinstance(s, str) for s in labels)):
            raise bad("labels", f"must be a list of {sizes[-1]} class names, one per output")
        meta["labels"] = list(labels)
    if shape is not None:
        if (not isinstance(shape, (list, tuple)) or len(shape) != 2
                or not all(isinstance(d, numbers.Integral) and not isinstance(d, bool) and int(d) > 0
                           for d in shape) or shape[0] * shape[1] != sizes[0]):
            raise bad("image_shape", f"must be [height, width] with height * width == {sizes[0]}")
        meta["image_shape"] = [int(d) for d in shape]
    for key in ("dataset", "data_path"):
        if meta.get(key) is not None and not isinstance(meta[key], str):
            raise bad(key, "must be a string")
    if meta.get("image_order") not in (None, "C", "F"):
        raise bad("image_order", "must be 'C' (row by row) or 'F' (column by column)")
    if meta.get("input_scale") is not None:
        meta["input_scale"] = _input_scale(meta["input_scale"], bad)
    return meta


def _input_scale(scale, bad) -> list[float]:
    """``[low, high]`` as floats, checked: two finite numbers, ``low < high``."""
    if (not isinstance(scale, (list, tuple)) or len(scale) != 2
            or not all(isinstance(v, numbers.Real) and not isinstance(v, bool) and math.isfinite(v)
                       for v in scale) or not scale[0] < scale[1]):
        raise bad("input_scale", "must be [low, high], two finite numbers with low < high")
    return [float(scale[0]), float(scale[1])]
